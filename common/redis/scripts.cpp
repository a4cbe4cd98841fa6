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

} // namespace authgate::redis
