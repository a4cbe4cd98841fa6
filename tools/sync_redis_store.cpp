#include "sync_redis_store.h"

#include <hiredis/hiredis.h>

#include <fstream>
#include <sstream>

#include "authgate/redis_scripts.h"
#include "authgate/store_keys.h"

namespace authgate::tools {

struct SyncRedisStore::Reply {
    bool ok = false; // an answer came (possibly an error reply)
    int type = 0;
    long long integer = 0;
    std::string str;
    std::vector<std::string> elements;
};

namespace {

Result<std::string> read_password(const std::string& path) {
    std::ifstream in(path);
    if (!in) return fail("cannot read password_file \"" + path + "\"");
    std::string line;
    std::getline(in, line);
    while (!line.empty() && (line.back() == '\r' || line.back() == ' ')) line.pop_back();
    if (line.empty()) return fail("password_file \"" + path + "\" is empty");
    return line;
}

} // namespace

SyncRedisStore::~SyncRedisStore() { redisFree(c_); }

Result<std::unique_ptr<SyncRedisStore>> SyncRedisStore::connect(const config::RedisSettings& s) {
    if (!s.master_name.empty()) return fail("sentinel addresses are not supported here");
    timeval tv{static_cast<time_t>(s.connect_timeout / 1000),
               static_cast<suseconds_t>((s.connect_timeout % 1000) * 1000)};
    redisContext* c = s.unix_path.empty() ? redisConnectWithTimeout(s.host.c_str(), s.port, tv)
                                          : redisConnectUnixWithTimeout(s.unix_path.c_str(), tv);
    if (c == nullptr) return fail("cannot connect to redis");
    std::unique_ptr<SyncRedisStore> store(new SyncRedisStore(c, s.prefix));
    if (c->err != 0) return fail(std::string("cannot connect to redis: ") + c->errstr);
    timeval ctv{static_cast<time_t>(s.command_timeout / 1000 + 1), 0};
    redisSetTimeout(c, ctv);
    if (!s.password_file.empty()) {
        auto pw = read_password(s.password_file);
        if (!pw) return fail(pw.error());
        std::vector<std::string> auth = {"AUTH"};
        if (!s.user.empty()) auth.push_back(s.user);
        auth.push_back(*pw);
        Reply r = store->command(auth);
        if (!r.ok || r.type == REDIS_REPLY_ERROR) return fail("redis refused AUTH: " + r.str);
    }
    if (s.db != 0) {
        Reply r = store->command({"SELECT", std::to_string(s.db)});
        if (!r.ok || r.type == REDIS_REPLY_ERROR) return fail("redis refused SELECT: " + r.str);
    }
    return store;
}

SyncRedisStore::Reply SyncRedisStore::command(const std::vector<std::string>& argv) {
    std::vector<const char*> ptrs;
    std::vector<size_t> lens;
    for (const auto& a : argv) {
        ptrs.push_back(a.data());
        lens.push_back(a.size());
    }
    Reply out;
    auto* r = static_cast<redisReply*>(
        redisCommandArgv(c_, static_cast<int>(argv.size()), ptrs.data(), lens.data()));
    if (r == nullptr) return out;
    out.ok = true;
    out.type = r->type;
    out.integer = r->integer;
    if (r->str != nullptr) out.str.assign(r->str, r->len);
    if (r->type == REDIS_REPLY_ARRAY) {
        for (size_t i = 0; i < r->elements; ++i) {
            const redisReply* e = r->element[i];
            if (e != nullptr && e->str != nullptr) out.elements.emplace_back(e->str, e->len);
        }
    }
    freeReplyObject(r);
    return out;
}

SyncRedisStore::Reply SyncRedisStore::script(std::string_view text, std::string_view k,
                                             std::vector<std::string> args) {
    std::vector<std::string> argv = {"EVAL", std::string(text), "1", key(k)};
    argv.insert(argv.end(), args.begin(), args.end());
    return command(argv);
}

Task<StoreReply<std::optional<std::string>>> SyncRedisStore::get(std::string_view k) {
    using R = StoreReply<std::optional<std::string>>;
    Reply r = command({"GET", key(k)});
    if (r.ok && r.type == REDIS_REPLY_NIL) co_return R{StoreStatus::ok, std::nullopt};
    if (r.ok && r.type == REDIS_REPLY_STRING) co_return R{StoreStatus::ok, std::move(r.str)};
    co_return R{StoreStatus::unavailable, std::nullopt};
}

Task<StoreReply<bool>> SyncRedisStore::set(std::string_view k, std::string value, Millis ttl_ms) {
    std::string ttl = std::to_string(std::max<Millis>(ttl_ms, 1));
    if (is_session_key(k)) {
        Reply r = script(redis_scripts::kSetAnnounce, k,
                         {std::move(value), ttl, prefix_ + "invalidate", std::string(k)});
        bool ok = r.ok && r.type == REDIS_REPLY_INTEGER;
        if (ok && r.integer >= redis_scripts::kNotAnnounced) all_announced_ = false;
        co_return StoreReply<bool>{ok ? StoreStatus::ok : StoreStatus::unavailable, ok};
    }
    Reply r = command({"SET", key(k), std::move(value), "PX", ttl});
    bool ok = r.ok && r.type == REDIS_REPLY_STATUS;
    co_return StoreReply<bool>{ok ? StoreStatus::ok : StoreStatus::unavailable, ok};
}

Task<StoreReply<bool>> SyncRedisStore::set_if_absent(std::string_view k, std::string value,
                                                     Millis ttl_ms) {
    Reply r = command(
        {"SET", key(k), std::move(value), "PX", std::to_string(std::max<Millis>(ttl_ms, 1)), "NX"});
    if (r.ok && r.type == REDIS_REPLY_STATUS) co_return StoreReply<bool>{StoreStatus::ok, true};
    if (r.ok && r.type == REDIS_REPLY_NIL) co_return StoreReply<bool>{StoreStatus::ok, false};
    co_return StoreReply<bool>{StoreStatus::unavailable, false};
}

Task<StoreReply<bool>> SyncRedisStore::compare_and_set(std::string_view k,
                                                       std::string_view expected, std::string value,
                                                       Millis ttl_ms) {
    std::vector<std::string> args = {std::string(expected), std::move(value),
                                     std::to_string(std::max<Millis>(ttl_ms, 1))};
    bool session = is_session_key(k);
    if (session) {
        args.push_back(prefix_ + "invalidate");
        args.emplace_back(k);
    }
    Reply r = script(redis_scripts::kCompareAndSet, k, std::move(args));
    if (!r.ok || r.type != REDIS_REPLY_INTEGER) {
        co_return StoreReply<bool>{StoreStatus::unavailable, false};
    }
    if (session && r.integer >= 1 + redis_scripts::kNotAnnounced) all_announced_ = false;
    co_return StoreReply<bool>{StoreStatus::ok, r.integer > 0};
}

Task<StoreReply<bool>> SyncRedisStore::del(std::string_view k) {
    Reply r;
    if (is_session_key(k)) {
        r = script(redis_scripts::kDelAnnounce, k, {prefix_ + "invalidate", std::string(k)});
        if (r.ok && r.type == REDIS_REPLY_INTEGER && r.integer >= redis_scripts::kNotAnnounced) {
            all_announced_ = false;
            r.integer -= redis_scripts::kNotAnnounced;
        }
    } else {
        r = command({"DEL", key(k)});
    }
    if (r.ok && r.type == REDIS_REPLY_INTEGER) {
        co_return StoreReply<bool>{StoreStatus::ok, r.integer > 0};
    }
    co_return StoreReply<bool>{StoreStatus::unavailable, false};
}

Task<StoreReply<std::int64_t>> SyncRedisStore::incr(std::string_view k, std::int64_t delta,
                                                    Millis ttl_ms) {
    Reply r = script(redis_scripts::kIncr, k, {std::to_string(delta), std::to_string(ttl_ms)});
    if (r.ok && r.type == REDIS_REPLY_INTEGER) {
        co_return StoreReply<std::int64_t>{StoreStatus::ok, r.integer};
    }
    co_return StoreReply<std::int64_t>{StoreStatus::unavailable, 0};
}

Task<StoreReply<bool>> SyncRedisStore::index_add(std::string_view index, std::string_view member,
                                                 Millis expires_at_ms, Millis now_ms) {
    Reply r = script(redis_scripts::kIndexAdd, index,
                     {std::to_string(expires_at_ms), std::string(member), std::to_string(now_ms)});
    bool ok = r.ok && r.type == REDIS_REPLY_INTEGER;
    co_return StoreReply<bool>{ok ? StoreStatus::ok : StoreStatus::unavailable, ok};
}

Task<StoreReply<bool>> SyncRedisStore::index_remove(std::string_view index,
                                                    std::string_view member) {
    Reply r = command({"ZREM", key(index), std::string(member)});
    bool ok = r.ok && r.type == REDIS_REPLY_INTEGER;
    co_return StoreReply<bool>{ok ? StoreStatus::ok : StoreStatus::unavailable, ok};
}

Task<StoreReply<std::vector<std::string>>> SyncRedisStore::index_members(std::string_view index,
                                                                         Millis now_ms) {
    using R = StoreReply<std::vector<std::string>>;
    Reply r = command({"ZRANGEBYSCORE", key(index), "(" + std::to_string(now_ms), "+inf"});
    R out{StoreStatus::unavailable, {}};
    if (r.ok && r.type == REDIS_REPLY_ARRAY) out = R{StoreStatus::ok, std::move(r.elements)};
    co_return out;
}

Task<StoreReply<bool>> SyncRedisStore::hash_set(std::string_view k, Fields fields) {
    std::vector<std::string> argv = {"HSET", key(k)};
    for (auto& [name, value] : fields) {
        argv.push_back(std::move(name));
        argv.push_back(std::move(value));
    }
    Reply r = command(argv);
    bool ok = r.ok && r.type == REDIS_REPLY_INTEGER;
    co_return StoreReply<bool>{ok ? StoreStatus::ok : StoreStatus::unavailable, ok};
}

Task<StoreReply<std::optional<Store::Fields>>> SyncRedisStore::hash_get(std::string_view k) {
    using R = StoreReply<std::optional<Fields>>;
    Reply r = command({"HGETALL", key(k)});
    if (!r.ok || r.type != REDIS_REPLY_ARRAY || r.elements.size() % 2 != 0) {
        co_return R{StoreStatus::unavailable, std::nullopt};
    }
    if (r.elements.empty()) co_return R{StoreStatus::ok, std::nullopt};
    Fields f;
    for (std::size_t i = 0; i + 1 < r.elements.size(); i += 2) {
        f.emplace_back(std::move(r.elements[i]), std::move(r.elements[i + 1]));
    }
    co_return R{StoreStatus::ok, std::move(f)};
}

StoreReply<bool> SyncRedisStore::remove_record(std::string_view k) {
    Reply r = command({"DEL", key(k)});
    if (r.ok && r.type == REDIS_REPLY_INTEGER) return {StoreStatus::ok, r.integer > 0};
    return {StoreStatus::unavailable, false};
}

} // namespace authgate::tools
