#include "redis/scripts.h"

#include <openssl/sha.h>

namespace authgate::redis {

Script::Script(std::string_view source) : text(source) {
    unsigned char d[SHA_DIGEST_LENGTH];
    SHA1(reinterpret_cast<const unsigned char*>(text.data()), text.size(), d);
    static constexpr char kHex[] = "0123456789abcdef";
    for (unsigned char b : d) {
        sha1 += kHex[b >> 4];
        sha1 += kHex[b & 15];
    }
}

const Script& set_announce_script() {
    static const Script script{"redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2]) "
                               "local p = redis.pcall('PUBLISH', ARGV[3], ARGV[4]) "
                               "if type(p) == 'table' and p.err then return 3 end "
                               "return 1"};
    return script;
}

const Script& compare_and_set_script() {
    static const Script script{"if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end "
                               "redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3]) "
                               "if ARGV[4] == nil then return 1 end "
                               "local p = redis.pcall('PUBLISH', ARGV[4], ARGV[5]) "
                               "if type(p) == 'table' and p.err then return 3 end "
                               "return 1"};
    return script;
}

const Script& del_announce_script() {
    static const Script script{"local n = redis.call('DEL', KEYS[1]) "
                               "local p = redis.pcall('PUBLISH', ARGV[1], ARGV[2]) "
                               "if type(p) == 'table' and p.err then return n + 2 end "
                               "return n"};
    return script;
}

const Script& incr_script() {
    static const Script script{
        "local v = redis.call('INCRBY', KEYS[1], ARGV[1]) "
        "if v == tonumber(ARGV[1]) then redis.call('PEXPIRE', KEYS[1], ARGV[2]) end "
        "return v"};
    return script;
}

const Script& index_add_script() {
    static const Script script{
        "redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[3]) "
        "redis.call('ZADD', KEYS[1], ARGV[1], ARGV[2]) "
        "local keep = tonumber(ARGV[1]) - tonumber(ARGV[3]) "
        "if redis.call('PTTL', KEYS[1]) < keep then redis.call('PEXPIRE', KEYS[1], keep) end "
        "return 1"};
    return script;
}

// Lua numbers are doubles: exact for these integers (microseconds since 1970 stay under
// 2^53 until the year 2255); values go to Redis as '%d' text, never as numbers. A stored
// value that is not plain decimal (as decode_tat reads it) counts as no TAT.
const Script& rate_limit_script() {
    static const Script script{
        "local interval = math.max(tonumber(ARGV[1]), 1) "
        "local burst = math.max(tonumber(ARGV[2]), 1) "
        "local window = burst * interval "
        "local t = redis.call('TIME') "
        "local now = tonumber(t[1]) * 1000000 + tonumber(t[2]) "
        "local tat = now "
        "local s = redis.call('GET', KEYS[1]) "
        "if s and #s <= 18 and string.match(s, '^%d+$') then tat = tonumber(s) end "
        "if tat < now then tat = now elseif tat > now + window then tat = now + window end "
        "local function ceil_ms(us) "
        "  if us <= 0 then return 0 end "
        "  return math.floor((us + 999) / 1000) "
        "end "
        "local new_tat = tat + interval "
        "local allow_at = new_tat - window "
        "if now < allow_at then "
        "  return {0, 0, math.max(ceil_ms(allow_at - now), 1), ceil_ms(tat - now), burst} "
        "end "
        "local remaining = math.min(math.floor((now - allow_at) / interval), burst - 1) "
        "local reset = ceil_ms(new_tat - now) "
        "redis.call('SET', KEYS[1], string.format('%d', new_tat), 'PX', "
        "           string.format('%d', math.max(reset, 1))) "
        "return {1, remaining, 0, reset, burst}"};
    return script;
}

} // namespace authgate::redis
