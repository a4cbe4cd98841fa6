// The Store a request sees when the store is Redis: each call is one command (or Lua
// script) on the worker's connection, and the request is parked until Redis answers or
// the command's timer fires.
#include "ngx_http_authgate_redis.h"
#include "ngx_http_authgate_request.h"

#include <openssl/sha.h>

#include "authgate/redis_scripts.h"
#include "authgate/store_keys.h"

namespace authgate::ngx {

namespace {

// Session writes are announced atomically with the write (authgate/redis_scripts.h).
using redis_scripts::kNotAnnounced;

const RedisScript& set_announce_script() {
    static const RedisScript script{std::string(redis_scripts::kSetAnnounce)};
    return script;
}

const RedisScript& compare_and_set_script() {
    static const RedisScript script{std::string(redis_scripts::kCompareAndSet)};
    return script;
}

const RedisScript& del_announce_script() {
    static const RedisScript script{std::string(redis_scripts::kDelAnnounce)};
    return script;
}

const RedisScript& incr_script() {
    static const RedisScript script{std::string(redis_scripts::kIncr)};
    return script;
}

const RedisScript& index_add_script() {
    static const RedisScript script{std::string(redis_scripts::kIndexAdd)};
    return script;
}

void on_command_timeout(ngx_event_t* ev) noexcept {
    auto* cmd = static_cast<RedisCommand*>(ev->data);
    RedisRequestStore* owner = cmd->owner;
    RedisClient* client = cmd->client;
    if (owner != nullptr) cmd->result->ok = false;
    cmd->owner = nullptr; // hiredis still owns cmd; its callback frees it
    client->fail("command timed out");
    if (owner != nullptr) owner->completed();
}

} // namespace

RedisScript::RedisScript(std::string source) : text(std::move(source)) {
    unsigned char d[SHA_DIGEST_LENGTH];
    SHA1(reinterpret_cast<const unsigned char*>(text.data()), text.size(), d);
    static constexpr char kHex[] = "0123456789abcdef";
    for (unsigned char b : d) {
        sha1 += kHex[b >> 4];
        sha1 += kHex[b & 15];
    }
}

bool RedisRequestStore::Awaiter::await_suspend(std::coroutine_handle<> h) {
    auto* cmd = new RedisCommand();
    cmd->owner = &store;
    cmd->result = &result;
    cmd->client = &store.client_;
    if (!store.client_.send(cmd, argv)) {
        delete cmd;
        result.ok = false;
        return false; // resume at once with "unavailable"
    }
    ngx_http_request_t* r = store.state_.r;
    cmd->timer.handler = on_command_timeout;
    cmd->timer.data = cmd;
    cmd->timer.log = r->connection->log;
    ngx_add_timer(&cmd->timer, static_cast<ngx_msec_t>(store.client_.endpoint().command_timeout));
    store.pending_ = cmd;
    store.state_.park(h);
    return true;
}

RedisRequestStore::Awaiter RedisRequestStore::command(std::vector<std::string> argv) {
    return Awaiter{*this, std::move(argv), {}};
}

void RedisRequestStore::completed() {
    pending_ = nullptr;
    ngx_connection_t* c = state_.r->connection;
    state_.wake();
    ngx_http_run_posted_requests(c);
}

RedisRequestStore::~RedisRequestStore() {
    if (pending_ == nullptr) return;
    // The request is going away while Redis has not answered: stop waiting.
    pending_->owner = nullptr;
    if (pending_->timer.timer_set) ngx_del_timer(&pending_->timer);
    pending_ = nullptr;
}

Task<StoreReply<std::optional<std::string>>> RedisRequestStore::get(std::string_view k) {
    std::vector<std::string> argv = {"GET", key(k)};
    RedisResult r = co_await command(std::move(argv));
    using Reply = StoreReply<std::optional<std::string>>;
    if (r.ok && r.type == REDIS_REPLY_NIL) co_return Reply{StoreStatus::ok, std::nullopt};
    if (r.ok && r.type == REDIS_REPLY_STRING) co_return Reply{StoreStatus::ok, std::move(r.str)};
    co_return Reply{StoreStatus::unavailable, std::nullopt};
}

Task<StoreReply<bool>> RedisRequestStore::set(std::string_view k, std::string value,
                                              Millis ttl_ms) {
    if (is_session_key(k)) {
        // This worker's entry goes now (and any read in flight is not cached); every
        // other worker hears of it from the script's PUBLISH.
        if (SessionCache* cache = client_.cache()) cache->invalidate(k);
        std::vector<std::string> keys = {key(k)};
        std::vector<std::string> args = {std::move(value),
                                         std::to_string(std::max<Millis>(ttl_ms, 1)),
                                         client_.channel(), std::string(k)};
        RedisResult r = co_await eval(set_announce_script(), std::move(keys), std::move(args));
        bool ok = r.ok && r.type == REDIS_REPLY_INTEGER;
        if (ok && r.integer >= kNotAnnounced) client_.not_announced();
        co_return StoreReply<bool>{ok ? StoreStatus::ok : StoreStatus::unavailable, ok};
    }
    std::vector<std::string> argv = {"SET", key(k), std::move(value), "PX",
                                     std::to_string(std::max<Millis>(ttl_ms, 1))};
    RedisResult r = co_await command(std::move(argv));
    bool ok = r.ok && r.type == REDIS_REPLY_STATUS;
    co_return StoreReply<bool>{ok ? StoreStatus::ok : StoreStatus::unavailable, ok};
}

Task<StoreReply<bool>> RedisRequestStore::compare_and_set(std::string_view k,
                                                          std::string_view expected,
                                                          std::string value, Millis ttl_ms) {
    std::vector<std::string> keys = {key(k)};
    std::vector<std::string> args = {std::string(expected), std::move(value),
                                     std::to_string(std::max<Millis>(ttl_ms, 1))};
    bool session = is_session_key(k);
    if (session) {
        // As set(): this worker's entry goes now, the others hear of it from the PUBLISH.
        if (SessionCache* cache = client_.cache()) cache->invalidate(k);
        args.push_back(client_.channel());
        args.emplace_back(k);
    }
    RedisResult r = co_await eval(compare_and_set_script(), std::move(keys), std::move(args));
    if (!r.ok || r.type != REDIS_REPLY_INTEGER) {
        co_return StoreReply<bool>{StoreStatus::unavailable, false};
    }
    if (session && r.integer >= 1 + kNotAnnounced) client_.not_announced();
    co_return StoreReply<bool>{StoreStatus::ok, r.integer > 0};
}

Task<StoreReply<bool>> RedisRequestStore::set_if_absent(std::string_view k, std::string value,
                                                        Millis ttl_ms) {
    std::vector<std::string> argv = {
        "SET", key(k), std::move(value), "PX", std::to_string(std::max<Millis>(ttl_ms, 1)), "NX"};
    RedisResult r = co_await command(std::move(argv));
    if (r.ok && r.type == REDIS_REPLY_STATUS) co_return StoreReply<bool>{StoreStatus::ok, true};
    if (r.ok && r.type == REDIS_REPLY_NIL) co_return StoreReply<bool>{StoreStatus::ok, false};
    co_return StoreReply<bool>{StoreStatus::unavailable, false};
}

Task<StoreReply<bool>> RedisRequestStore::del(std::string_view k) {
    RedisResult r;
    if (is_session_key(k)) {
        if (SessionCache* cache = client_.cache()) cache->invalidate(k);
        std::vector<std::string> keys = {key(k)};
        std::vector<std::string> args = {client_.channel(), std::string(k)};
        r = co_await eval(del_announce_script(), std::move(keys), std::move(args));
        if (r.ok && r.type == REDIS_REPLY_INTEGER && r.integer >= kNotAnnounced) {
            client_.not_announced();
            r.integer -= kNotAnnounced;
        }
    } else {
        std::vector<std::string> argv = {"DEL", key(k)};
        r = co_await command(std::move(argv));
    }
    if (r.ok && r.type == REDIS_REPLY_INTEGER) {
        co_return StoreReply<bool>{StoreStatus::ok, r.integer > 0};
    }
    co_return StoreReply<bool>{StoreStatus::unavailable, false};
}

Task<RedisResult> RedisRequestStore::eval(const RedisScript& script, std::vector<std::string> keys,
                                          std::vector<std::string> args) {
    std::vector<std::string> argv = {"EVALSHA", script.sha1, std::to_string(keys.size())};
    argv.insert(argv.end(), keys.begin(), keys.end());
    argv.insert(argv.end(), args.begin(), args.end());
    std::vector<std::string> first = argv;
    RedisResult r = co_await command(std::move(first));
    if (r.ok && r.type == REDIS_REPLY_ERROR && r.str.starts_with("NOSCRIPT")) {
        argv[0] = "EVAL";
        argv[1] = script.text;
        r = co_await command(std::move(argv));
    }
    co_return r;
}

Task<StoreReply<std::int64_t>> RedisRequestStore::incr(std::string_view k, std::int64_t delta,
                                                       Millis ttl_ms) {
    std::vector<std::string> keys = {key(k)};
    std::vector<std::string> args = {std::to_string(delta), std::to_string(ttl_ms)};
    RedisResult r = co_await eval(incr_script(), std::move(keys), std::move(args));
    if (r.ok && r.type == REDIS_REPLY_INTEGER) {
        co_return StoreReply<std::int64_t>{StoreStatus::ok, r.integer};
    }
    co_return StoreReply<std::int64_t>{StoreStatus::unavailable, 0};
}

Task<StoreReply<bool>> RedisRequestStore::index_add(std::string_view index, std::string_view member,
                                                    Millis expires_at_ms, Millis now_ms) {
    std::vector<std::string> keys = {key(index)};
    std::vector<std::string> args = {std::to_string(expires_at_ms), std::string(member),
                                     std::to_string(now_ms)};
    RedisResult r = co_await eval(index_add_script(), std::move(keys), std::move(args));
    bool ok = r.ok && r.type == REDIS_REPLY_INTEGER;
    co_return StoreReply<bool>{ok ? StoreStatus::ok : StoreStatus::unavailable, ok};
}

Task<StoreReply<bool>> RedisRequestStore::index_remove(std::string_view index,
                                                       std::string_view member) {
    std::vector<std::string> argv = {"ZREM", key(index), std::string(member)};
    RedisResult r = co_await command(std::move(argv));
    bool ok = r.ok && r.type == REDIS_REPLY_INTEGER;
    co_return StoreReply<bool>{ok ? StoreStatus::ok : StoreStatus::unavailable, ok};
}

Task<StoreReply<std::vector<std::string>>> RedisRequestStore::index_members(std::string_view index,
                                                                            Millis now_ms) {
    std::vector<std::string> argv = {"ZRANGEBYSCORE", key(index), "(" + std::to_string(now_ms),
                                     "+inf"};
    RedisResult r = co_await command(std::move(argv));
    using Reply = StoreReply<std::vector<std::string>>;
    if (r.ok && r.type == REDIS_REPLY_ARRAY)
        co_return Reply{StoreStatus::ok, std::move(r.elements)};
    co_return Reply{StoreStatus::unavailable, {}};
}

Task<StoreReply<bool>> RedisRequestStore::hash_set(std::string_view k, Fields fields) {
    std::vector<std::string> argv = {"HSET", key(k)};
    for (auto& [name, value] : fields) {
        argv.push_back(std::move(name));
        argv.push_back(std::move(value));
    }
    RedisResult r = co_await command(std::move(argv));
    bool ok = r.ok && r.type == REDIS_REPLY_INTEGER;
    co_return StoreReply<bool>{ok ? StoreStatus::ok : StoreStatus::unavailable, ok};
}

Task<StoreReply<std::optional<Store::Fields>>> RedisRequestStore::hash_get(std::string_view k) {
    using Reply = StoreReply<std::optional<Fields>>;
    std::vector<std::string> argv = {"HGETALL", key(k)};
    RedisResult r = co_await command(std::move(argv));
    if (!r.ok || r.type != REDIS_REPLY_ARRAY || r.elements.size() % 2 != 0) {
        co_return Reply{StoreStatus::unavailable, std::nullopt};
    }
    if (r.elements.empty()) co_return Reply{StoreStatus::ok, std::nullopt};
    Fields f;
    for (std::size_t i = 0; i + 1 < r.elements.size(); i += 2) {
        f.emplace_back(std::move(r.elements[i]), std::move(r.elements[i + 1]));
    }
    co_return Reply{StoreStatus::ok, std::move(f)};
}

} // namespace authgate::ngx
