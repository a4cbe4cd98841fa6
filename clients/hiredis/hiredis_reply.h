// A reply hiredis has parsed, copied into the core's redis::Reply: the one conversion that
// the nginx adapter (async hiredis), BlockingRedis and tools share.
#pragma once

#include <cstddef>

#include "authgate/redis.h"

struct redisReply;

namespace authgate::hiredis {

// Arrays nested deeper than this are kept without their elements (as the nginx adapter
// always did; hiredis itself refuses nesting beyond 7).
inline constexpr std::size_t kMaxReplyDepth = 8;

// Replaces `out` with the shape and contents of `reply` (may throw std::bad_alloc).
void copy_reply(const redisReply& reply, redis::Reply& out);

// An error reply "READONLY ...": the server was a master and is now a replica.
bool is_readonly_error(const redisReply& reply) noexcept;

} // namespace authgate::hiredis
