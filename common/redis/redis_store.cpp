// Each Store operation once, in Redis terms: the command (or Lua script with its KEYS and
// ARGV), and how its reply becomes the Store's answer. No I/O: the Connection sends.
#include "authgate/redis.h"

#include "authgate/session_cache.h"
#include "redis/scripts.h"

namespace authgate::redis {

struct RedisStore::Call {
    const Script* script = nullptr; // argv then holds KEYS and ARGV, after a key count of 1
    std::vector<std::string> argv;  // the command, or the script's key and arguments
};

namespace {

using Type = Reply::Type;
using Maybe = std::optional<Reply>;

std::string ttl_arg(Millis ttl_ms) { return std::to_string(std::max<Millis>(ttl_ms, 1)); }

bool is(const Maybe& r, Type t) { return r && r->is(t); }

StoreReply<bool> ok_if(bool ok) { return {ok ? StoreStatus::ok : StoreStatus::unavailable, ok}; }

// Built outside the coroutines: g++ 12 miscompiles braced lists of strings inside them.
template <class... A> RedisStore::Call make(const Script* script, A&&... args) {
    RedisStore::Call c;
    c.script = script;
    c.argv.reserve(sizeof...(args));
    (c.argv.emplace_back(std::forward<A>(args)), ...);
    return c;
}

// The rate-limit script's {allowed, remaining, retry_after_ms, reset_ms, limit}; nullopt for
// anything else (another script under the same name, a broken reply).
std::optional<limit::Verdict> verdict_of(const Maybe& r, std::int64_t burst) {
    if (!is(r, Type::array) || r->elements.size() != 5) return std::nullopt;
    for (const Reply& e : r->elements) {
        if (!e.is(Type::integer) || e.integer < 0) return std::nullopt;
    }
    const auto& e = r->elements;
    limit::Verdict v;
    v.allowed = e[0].integer == 1;
    v.remaining = e[1].integer;
    v.retry_after_ms = e[2].integer;
    v.reset_ms = e[3].integer;
    v.limit = e[4].integer;
    bool consistent =
        e[0].integer <= 1 && v.limit == burst && v.remaining < burst &&
        (v.allowed ? v.retry_after_ms == 0 : v.retry_after_ms >= 1 && v.remaining == 0);
    if (!consistent) return std::nullopt;
    return v;
}

} // namespace

Task<std::optional<Reply>> RedisStore::run(Call call) {
    if (call.script == nullptr) {
        Maybe reply = co_await conn_.call(format_command(call.argv));
        co_return reply;
    }
    std::vector<std::string> argv;
    argv.reserve(call.argv.size() + 3);
    argv.emplace_back("EVALSHA");
    argv.push_back(call.script->sha1);
    argv.emplace_back("1");
    for (auto& a : call.argv) argv.push_back(std::move(a));
    Maybe r = co_await conn_.call(format_command(argv));
    if (r && r->is(Type::error) && r->str.starts_with("NOSCRIPT")) {
        argv[0] = "EVAL";
        argv[1] = std::string(call.script->text);
        r = co_await conn_.call(format_command(argv));
    }
    co_return r;
}

// This process's cache entry goes now (and a read in flight is not cached); every other
// process hears of the write from the script's PUBLISH.
void RedisStore::local_write(std::string_view key) {
    if (cache_ != nullptr) cache_->invalidate(key);
}

Task<StoreReply<std::optional<std::string>>> RedisStore::get(std::string_view key) {
    using R = StoreReply<std::optional<std::string>>;
    Maybe r = co_await run(make(nullptr, "GET", ks_.prefix + std::string(key)));
    if (is(r, Type::nil)) co_return R{StoreStatus::ok, std::nullopt};
    if (is(r, Type::string)) co_return R{StoreStatus::ok, std::move(r->str)};
    co_return R{StoreStatus::unavailable, std::nullopt};
}

Task<StoreReply<bool>> RedisStore::set(std::string_view key, std::string value, Millis ttl_ms) {
    std::string k = ks_.prefix + std::string(key);
    if (!announces(key)) {
        Maybe r = co_await run(
            make(nullptr, "SET", std::move(k), std::move(value), "PX", ttl_arg(ttl_ms)));
        co_return ok_if(is(r, Type::status));
    }
    local_write(key);
    Maybe r = co_await run(make(&set_announce_script(), std::move(k), std::move(value),
                                ttl_arg(ttl_ms), ks_.channel(), std::string(key)));
    bool ok = is(r, Type::integer);
    if (ok && r->integer >= kNotAnnounced) conn_.not_announced();
    co_return ok_if(ok);
}

Task<StoreReply<bool>> RedisStore::set_if_absent(std::string_view key, std::string value,
                                                 Millis ttl_ms) {
    Maybe r = co_await run(make(nullptr, "SET", ks_.prefix + std::string(key), std::move(value),
                                "PX", ttl_arg(ttl_ms), "NX"));
    if (is(r, Type::status)) co_return StoreReply<bool>{StoreStatus::ok, true};
    if (is(r, Type::nil)) co_return StoreReply<bool>{StoreStatus::ok, false};
    co_return StoreReply<bool>{StoreStatus::unavailable, false};
}

Task<StoreReply<bool>> RedisStore::compare_and_set(std::string_view key, std::string_view expected,
                                                   std::string value, Millis ttl_ms) {
    Call call = make(&compare_and_set_script(), ks_.prefix + std::string(key),
                     std::string(expected), std::move(value), ttl_arg(ttl_ms));
    bool announced = announces(key);
    if (announced) {
        local_write(key);
        call.argv.push_back(ks_.channel());
        call.argv.emplace_back(key);
    }
    Maybe r = co_await run(std::move(call));
    if (!is(r, Type::integer)) co_return StoreReply<bool>{StoreStatus::unavailable, false};
    if (announced && r->integer >= 1 + kNotAnnounced) conn_.not_announced();
    co_return StoreReply<bool>{StoreStatus::ok, r->integer > 0};
}

Task<StoreReply<bool>> RedisStore::del(std::string_view key) {
    std::string k = ks_.prefix + std::string(key);
    Maybe r;
    if (announces(key)) {
        local_write(key);
        r = co_await run(
            make(&del_announce_script(), std::move(k), ks_.channel(), std::string(key)));
        if (is(r, Type::integer) && r->integer >= kNotAnnounced) {
            conn_.not_announced();
            r->integer -= kNotAnnounced;
        }
    } else {
        r = co_await run(make(nullptr, "DEL", std::move(k)));
    }
    if (is(r, Type::integer)) co_return StoreReply<bool>{StoreStatus::ok, r->integer > 0};
    co_return StoreReply<bool>{StoreStatus::unavailable, false};
}

Task<StoreReply<std::int64_t>> RedisStore::incr(std::string_view key, std::int64_t delta,
                                                Millis ttl_ms) {
    Maybe r = co_await run(make(&incr_script(), ks_.prefix + std::string(key),
                                std::to_string(delta), std::to_string(ttl_ms)));
    if (is(r, Type::integer)) co_return StoreReply<std::int64_t>{StoreStatus::ok, r->integer};
    co_return StoreReply<std::int64_t>{StoreStatus::unavailable, 0};
}

Task<StoreReply<bool>> RedisStore::index_add(std::string_view index, std::string_view member,
                                             Millis expires_at_ms, Millis now_ms) {
    Maybe r = co_await run(make(&index_add_script(), ks_.prefix + std::string(index),
                                std::to_string(expires_at_ms), std::string(member),
                                std::to_string(now_ms)));
    co_return ok_if(is(r, Type::integer));
}

Task<StoreReply<bool>> RedisStore::index_remove(std::string_view index, std::string_view member) {
    Maybe r =
        co_await run(make(nullptr, "ZREM", ks_.prefix + std::string(index), std::string(member)));
    co_return ok_if(is(r, Type::integer));
}

Task<StoreReply<std::vector<std::string>>> RedisStore::index_members(std::string_view index,
                                                                     Millis now_ms) {
    using R = StoreReply<std::vector<std::string>>;
    Maybe r = co_await run(make(nullptr, "ZRANGEBYSCORE", ks_.prefix + std::string(index),
                                "(" + std::to_string(now_ms), "+inf"));
    if (!is(r, Type::array)) co_return R{StoreStatus::unavailable, {}};
    std::vector<std::string> members;
    members.reserve(r->elements.size());
    for (Reply& e : r->elements) {
        if (!e.is(Type::string)) co_return R{StoreStatus::unavailable, {}};
        members.push_back(std::move(e.str));
    }
    co_return R{StoreStatus::ok, std::move(members)};
}

Task<StoreReply<bool>> RedisStore::hash_set(std::string_view key, Fields fields) {
    Call call = make(nullptr, "HSET", ks_.prefix + std::string(key));
    call.argv.reserve(2 + 2 * fields.size());
    for (auto& [name, value] : fields) {
        call.argv.push_back(std::move(name));
        call.argv.push_back(std::move(value));
    }
    Maybe r = co_await run(std::move(call));
    co_return ok_if(is(r, Type::integer));
}

Task<StoreReply<std::optional<Store::Fields>>> RedisStore::hash_get(std::string_view key) {
    using R = StoreReply<std::optional<Fields>>;
    Maybe r = co_await run(make(nullptr, "HGETALL", ks_.prefix + std::string(key)));
    if (!is(r, Type::array) || r->elements.size() % 2 != 0) {
        co_return R{StoreStatus::unavailable, std::nullopt};
    }
    if (r->elements.empty()) co_return R{StoreStatus::ok, std::nullopt};
    Fields f;
    f.reserve(r->elements.size() / 2);
    for (std::size_t i = 0; i + 1 < r->elements.size(); i += 2) {
        Reply& name = r->elements[i];
        Reply& value = r->elements[i + 1];
        if (!name.is(Type::string) || !value.is(Type::string)) {
            co_return R{StoreStatus::unavailable, std::nullopt};
        }
        f.emplace_back(std::move(name.str), std::move(value.str));
    }
    co_return R{StoreStatus::ok, std::move(f)};
}

Task<StoreReply<limit::Verdict>> RedisStore::rate_limit(std::string_view key, limit::Rule rule,
                                                        Millis /*now_ms*/) {
    using R = StoreReply<limit::Verdict>;
    std::int64_t burst = std::max<std::int64_t>(rule.burst, 1);
    Maybe r = co_await run(make(&rate_limit_script(), ks_.prefix + std::string(key),
                                std::to_string(std::max<limit::Micros>(rule.interval_us, 1)),
                                std::to_string(burst)));
    std::optional<limit::Verdict> v = verdict_of(r, burst);
    if (!v) co_return R{StoreStatus::unavailable, {}};
    co_return R{StoreStatus::ok, *v};
}

} // namespace authgate::redis
