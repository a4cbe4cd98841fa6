// The Lua scripts every Redis client of the store runs (the nginx module and authgatectl),
// so that writes of session records are announced the same way: the channel and the
// payload (the store key without the prefix) are the last two ARGV. An ACL user without
// the channel permission still writes; the script then adds kNotAnnounced to its result.
#pragma once

#include <string_view>

namespace authgate::redis_scripts {

inline constexpr long long kNotAnnounced = 2;

// ARGV: value, ttl_ms, channel, payload. 1 (or 3: written, not announced).
inline constexpr std::string_view kSetAnnounce =
    "redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2]) "
    "local p = redis.pcall('PUBLISH', ARGV[3], ARGV[4]) "
    "if type(p) == 'table' and p.err then return 3 end "
    "return 1";

// Replaces the value only while it equals ARGV[1]: 0 when it changed or is gone (nothing
// written, nothing announced). ARGV: expected, value, ttl_ms[, channel, payload].
inline constexpr std::string_view kCompareAndSet =
    "if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end "
    "redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3]) "
    "if ARGV[4] == nil then return 1 end "
    "local p = redis.pcall('PUBLISH', ARGV[4], ARGV[5]) "
    "if type(p) == 'table' and p.err then return 3 end "
    "return 1";

// ARGV: channel, payload. The number of keys removed (+ kNotAnnounced).
inline constexpr std::string_view kDelAnnounce =
    "local n = redis.call('DEL', KEYS[1]) "
    "local p = redis.pcall('PUBLISH', ARGV[1], ARGV[2]) "
    "if type(p) == 'table' and p.err then return n + 2 end "
    "return n";

// Adds delta and sets the expiry only when the counter is created. ARGV: delta, ttl_ms.
inline constexpr std::string_view kIncr =
    "local v = redis.call('INCRBY', KEYS[1], ARGV[1]) "
    "if v == tonumber(ARGV[1]) then redis.call('PEXPIRE', KEYS[1], ARGV[2]) end "
    "return v";

// Adds a member (score = its expiry), drops expired ones, and keeps the index alive as
// long as its latest member. ARGV: expires_at_ms, member, now_ms.
inline constexpr std::string_view kIndexAdd =
    "redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[3]) "
    "redis.call('ZADD', KEYS[1], ARGV[1], ARGV[2]) "
    "local keep = tonumber(ARGV[1]) - tonumber(ARGV[3]) "
    "if redis.call('PTTL', KEYS[1]) < keep then redis.call('PEXPIRE', KEYS[1], keep) end "
    "return 1";

} // namespace authgate::redis_scripts
