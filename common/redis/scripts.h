// The Lua scripts of the Redis store, run with EVALSHA (EVAL when Redis answers NOSCRIPT)
// by every client (the nginx module, authgatectl). Writes of session records are announced
// from inside the script, atomically with the write: the channel and the payload are the
// last two ARGV. An ACL user without the channel permission still writes; the script then
// adds kNotAnnounced to its result.
#pragma once

#include <string>
#include <string_view>

namespace authgate::redis {

inline constexpr long long kNotAnnounced = 2;

struct Script {
    std::string_view text;
    std::string sha1; // hex, what EVALSHA names it by
    explicit Script(std::string_view source);
};

// ARGV: value, ttl_ms, channel, payload. 1 (or 3: written, not announced).
const Script& set_announce_script();
// Replaces the value only while it equals ARGV[1]: 0 when it changed or is gone (nothing
// written, nothing announced). ARGV: expected, value, ttl_ms[, channel, payload].
const Script& compare_and_set_script();
// ARGV: channel, payload. The number of keys removed (+ kNotAnnounced).
const Script& del_announce_script();
// Adds delta and sets the expiry only when the counter is created. ARGV: delta, ttl_ms.
const Script& incr_script();
// Adds a member (score = its expiry), drops expired ones, and keeps the index alive as
// long as its latest member. ARGV: expires_at_ms, member, now_ms.
const Script& index_add_script();
// One GCRA step (limit::gcra, the same arithmetic) on the TAT in KEYS[1], on the server's
// clock (TIME), so that every server counts on one clock. ARGV: interval_us, burst.
// {allowed (0/1), remaining, retry_after_ms, reset_ms, limit}; the new TAT (decimal
// microseconds) is stored for reset_ms only when allowed.
const Script& rate_limit_script();

} // namespace authgate::redis
