#include "ngx_http_authgate_redis.h"
#include "ngx_http_authgate_request.h"

#include <openssl/sha.h>

namespace authgate::ngx {

namespace {

constexpr Millis kFirstBackoff = 50;
constexpr Millis kMaxBackoff = 500;  // a returning Redis is used again within ~0.5 s

// Adds delta and sets the expiry only when the counter is created.
const RedisScript& incr_script() {
    static const RedisScript script(
        "local v = redis.call('INCRBY', KEYS[1], ARGV[1]) "
        "if v == tonumber(ARGV[1]) then redis.call('PEXPIRE', KEYS[1], ARGV[2]) end "
        "return v");
    return script;
}

// Adds a member (score = its expiry), drops expired ones, and keeps the index alive as
// long as its latest member. ARGV: expires_at_ms, member, now_ms.
const RedisScript& index_add_script() {
    static const RedisScript script(
        "redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[3]) "
        "redis.call('ZADD', KEYS[1], ARGV[1], ARGV[2]) "
        "local keep = tonumber(ARGV[1]) - tonumber(ARGV[3]) "
        "if redis.call('PTTL', KEYS[1]) < keep then redis.call('PEXPIRE', KEYS[1], keep) end "
        "return 1");
    return script;
}

void copy_reply(const redisReply* reply, RedisResult& out) {
    if (reply == nullptr) {
        out.ok = false;
        return;
    }
    out.ok = true;
    out.type = reply->type;
    out.integer = reply->integer;
    if (reply->str != nullptr) out.str.assign(reply->str, reply->len);
    if (reply->type == REDIS_REPLY_ARRAY) {
        for (size_t i = 0; i < reply->elements; ++i) {
            const redisReply* e = reply->element[i];
            if (e != nullptr && e->str != nullptr) out.elements.emplace_back(e->str, e->len);
        }
    }
}

void on_reply(redisAsyncContext*, void* reply, void* priv) noexcept {
    auto* cmd = static_cast<RedisCommand*>(priv);
    if (cmd->timer.timer_set) ngx_del_timer(&cmd->timer);
    RedisRequestStore* owner = cmd->owner;
    if (owner != nullptr) copy_reply(static_cast<redisReply*>(reply), *cmd->result);
    delete cmd;
    if (owner != nullptr) owner->completed(nullptr);
}

void on_command_timeout(ngx_event_t* ev) noexcept {
    auto* cmd = static_cast<RedisCommand*>(ev->data);
    RedisRequestStore* owner = cmd->owner;
    RedisClient* client = cmd->client;
    if (owner != nullptr) cmd->result->ok = false;
    cmd->owner = nullptr;  // hiredis still owns cmd; its callback frees it
    client->fail("command timed out");
    if (owner != nullptr) owner->completed(nullptr);
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

// ---- connection ------------------------------------------------------------------

RedisClient::RedisClient(RedisEndpoint endpoint, ngx_log_t* log)
    : ep_(std::move(endpoint)), log_(log) {
    for (ngx_event_t* ev : {&reconnect_ev_, &connect_timer_}) {
        ev->data = this;
        ev->log = log_;
        ev->cancelable = 1;  // never hold up a graceful shutdown
    }
    reconnect_ev_.handler = on_reconnect_timer;
    connect_timer_.handler = on_connect_timer;
}

RedisClient::~RedisClient() {
    exiting_ = true;
    if (reconnect_ev_.timer_set) ngx_del_timer(&reconnect_ev_);
    if (connect_timer_.timer_set) ngx_del_timer(&connect_timer_);
    if (ac_ != nullptr) {
        redisAsyncContext* ac = std::exchange(ac_, nullptr);
        redisAsyncFree(ac);
    }
}

void RedisClient::start() { connect(); }

void RedisClient::connect() {
    if (exiting_ || ac_ != nullptr) return;
    redisAsyncContext* ac = ep_.unix_path.empty()
                                ? redisAsyncConnect(ep_.ip.c_str(), ep_.port)
                                : redisAsyncConnectUnix(ep_.unix_path.c_str());
    if (ac == nullptr || ac->err) {
        if (!down_logged_) {
            ngx_log_error(NGX_LOG_ERR, log_, 0,
                          "authgate: redis %s unavailable (%s); the gate fails closed until it "
                          "returns",
                          ep_.display.c_str(), ac ? ac->errstr : "out of memory");
            down_logged_ = true;
        }
        if (ac != nullptr) redisAsyncFree(ac);
        schedule_reconnect();
        return;
    }
    ac_ = ac;
    ac->data = this;
    attach();
    redisAsyncSetConnectCallback(ac, on_connect);
    redisAsyncSetDisconnectCallback(ac, on_disconnect);
    // Queued ahead of any request's command on this connection.
    if (!ep_.password.empty()) {
        std::vector<const char*> argv = {"AUTH"};
        std::vector<size_t> lens = {4};
        if (!ep_.user.empty()) {
            argv.push_back(ep_.user.c_str());
            lens.push_back(ep_.user.size());
        }
        argv.push_back(ep_.password.c_str());
        lens.push_back(ep_.password.size());
        redisAsyncCommandArgv(ac, on_auth_reply, nullptr, static_cast<int>(argv.size()),
                              argv.data(), lens.data());
    }
    if (ep_.db != 0) {
        std::string db = std::to_string(ep_.db);
        const char* argv[] = {"SELECT", db.c_str()};
        size_t lens[] = {6, db.size()};
        redisAsyncCommandArgv(ac, on_auth_reply, nullptr, 2, argv, lens);
    }
    ngx_add_timer(&connect_timer_, static_cast<ngx_msec_t>(ep_.connect_timeout));
}

void RedisClient::schedule_reconnect() {
    if (exiting_ || reconnect_ev_.timer_set) return;
    backoff_ = backoff_ == 0 ? kFirstBackoff : std::min(backoff_ * 2, kMaxBackoff);
    ngx_add_timer(&reconnect_ev_, static_cast<ngx_msec_t>(backoff_));
}

void RedisClient::mark_up() {
    connected_ = true;
    backoff_ = 0;
    if (connect_timer_.timer_set) ngx_del_timer(&connect_timer_);
    if (down_logged_) {
        ngx_log_error(NGX_LOG_NOTICE, log_, 0, "authgate: redis %s is available again",
                      ep_.display.c_str());
        down_logged_ = false;
    }
}

void RedisClient::fail(const char* why) {
    if (!down_logged_) {
        ngx_log_error(NGX_LOG_ERR, log_, 0,
                      "authgate: redis %s unavailable (%s); the gate fails closed until it "
                      "returns",
                      ep_.display.c_str(), why);
        down_logged_ = true;
    }
    connected_ = false;
    if (connect_timer_.timer_set) ngx_del_timer(&connect_timer_);
    if (ac_ != nullptr) {
        // Null first: redisAsyncFree runs the pending callbacks synchronously.
        redisAsyncContext* ac = std::exchange(ac_, nullptr);
        redisAsyncFree(ac);
    }
    schedule_reconnect();
}

bool RedisClient::send(RedisCommand* cmd, const std::vector<std::string>& args) {
    if (ac_ == nullptr) return false;
    std::vector<const char*> argv;
    std::vector<size_t> lens;
    argv.reserve(args.size());
    lens.reserve(args.size());
    for (const auto& a : args) {
        argv.push_back(a.data());
        lens.push_back(a.size());
    }
    return redisAsyncCommandArgv(ac_, on_reply, cmd, static_cast<int>(argv.size()), argv.data(),
                                 lens.data()) == REDIS_OK;
}

void RedisClient::on_connect(const redisAsyncContext* ac, int status) {
    auto* self = static_cast<RedisClient*>(ac->data);
    if (self->ac_ != ac) return;
    if (status == REDIS_OK) {
        self->mark_up();
        return;
    }
    // hiredis frees the context after this callback.
    self->ac_ = nullptr;
    self->connected_ = false;
    if (!self->down_logged_) {
        ngx_log_error(NGX_LOG_ERR, self->log_, 0,
                      "authgate: redis %s unavailable (%s); the gate fails closed until it "
                      "returns",
                      self->ep_.display.c_str(), ac->errstr[0] ? ac->errstr : "connect failed");
        self->down_logged_ = true;
    }
    if (self->connect_timer_.timer_set) ngx_del_timer(&self->connect_timer_);
    self->schedule_reconnect();
}

void RedisClient::on_disconnect(const redisAsyncContext* ac, int status) {
    auto* self = static_cast<RedisClient*>(ac->data);
    if (self->ac_ != ac) return;  // we dropped it ourselves
    self->ac_ = nullptr;
    self->connected_ = false;
    if (!self->down_logged_) {
        ngx_log_error(NGX_LOG_ERR, self->log_, 0,
                      "authgate: redis %s unavailable (%s); the gate fails closed until it "
                      "returns",
                      self->ep_.display.c_str(),
                      status == REDIS_OK ? "connection closed" : ac->errstr);
        self->down_logged_ = true;
    }
    self->schedule_reconnect();
}

void RedisClient::on_auth_reply(redisAsyncContext* ac, void* reply, void*) {
    auto* r = static_cast<redisReply*>(reply);
    if (r == nullptr || r->type != REDIS_REPLY_ERROR) return;
    auto* self = static_cast<RedisClient*>(ac->data);
    ngx_log_error(NGX_LOG_ERR, self->log_, 0, "authgate: redis %s rejected the login: %*s",
                  self->ep_.display.c_str(), static_cast<size_t>(r->len), r->str);
    // Inside a callback: let hiredis disconnect once its callbacks are done.
    self->down_logged_ = true;
    redisAsyncDisconnect(ac);
}

void RedisClient::on_reconnect_timer(ngx_event_t* ev) {
    static_cast<RedisClient*>(ev->data)->connect();
}

void RedisClient::on_connect_timer(ngx_event_t* ev) {
    auto* self = static_cast<RedisClient*>(ev->data);
    if (!self->connected_ && self->ac_ != nullptr) self->fail("connect timed out");
}

// ---- hiredis <-> nginx event loop ------------------------------------------------

void RedisClient::attach() {
    conn_ = ngx_get_connection(ac_->c.fd, log_);
    if (conn_ == nullptr) {
        fail("no free nginx connection");
        return;
    }
    conn_->data = this;
    conn_->log = log_;
    conn_->read->log = log_;
    conn_->write->log = log_;
    conn_->read->handler = on_event;
    conn_->write->handler = on_event;
    ac_->ev.data = this;
    ac_->ev.addRead = ev_add_read;
    ac_->ev.delRead = ev_del_read;
    ac_->ev.addWrite = ev_add_write;
    ac_->ev.delWrite = ev_del_write;
    ac_->ev.cleanup = ev_cleanup;
}

void RedisClient::on_event(ngx_event_t* ev) {
    auto* c = static_cast<ngx_connection_t*>(ev->data);
    auto* self = static_cast<RedisClient*>(c->data);
    if (self->ac_ == nullptr) return;
    // hiredis may free the context inside these calls: touch nothing afterwards.
    if (ev->write) {
        redisAsyncHandleWrite(self->ac_);
    } else {
        redisAsyncHandleRead(self->ac_);
    }
}

// Level-triggered: hiredis reads at most 16 KiB per call.
void RedisClient::ev_add_read(void* p) {
    auto* self = static_cast<RedisClient*>(p);
    if (self->conn_ && !self->conn_->read->active) {
        ngx_add_event(self->conn_->read, NGX_READ_EVENT, NGX_LEVEL_EVENT);
    }
}

void RedisClient::ev_del_read(void* p) {
    auto* self = static_cast<RedisClient*>(p);
    if (self->conn_ && self->conn_->read->active) {
        ngx_del_event(self->conn_->read, NGX_READ_EVENT, 0);
    }
}

void RedisClient::ev_add_write(void* p) {
    auto* self = static_cast<RedisClient*>(p);
    if (self->conn_ && !self->conn_->write->active) {
        ngx_add_event(self->conn_->write, NGX_WRITE_EVENT, NGX_LEVEL_EVENT);
    }
}

void RedisClient::ev_del_write(void* p) {
    auto* self = static_cast<RedisClient*>(p);
    if (self->conn_ && self->conn_->write->active) {
        ngx_del_event(self->conn_->write, NGX_WRITE_EVENT, 0);
    }
}

// hiredis closes the socket itself: release the nginx side only.
void RedisClient::ev_cleanup(void* p) {
    auto* self = static_cast<RedisClient*>(p);
    ngx_connection_t* c = std::exchange(self->conn_, nullptr);
    if (c == nullptr) return;
    for (ngx_event_t* ev : {c->read, c->write}) {
        if (ev->active) ngx_del_event(ev, ev->write ? NGX_WRITE_EVENT : NGX_READ_EVENT, NGX_CLOSE_EVENT);
        if (ev->posted) {
            ngx_delete_posted_event(ev);
        }
        if (ev->timer_set) {
            ngx_del_timer(ev);
        }
    }
    ngx_free_connection(c);
    c->fd = static_cast<ngx_socket_t>(-1);
}

// ---- per-request store -----------------------------------------------------------

bool RedisRequestStore::Awaiter::await_suspend(std::coroutine_handle<> h) {
    auto* cmd = new RedisCommand();
    cmd->owner = &store;
    cmd->result = &result;
    cmd->client = &store.client_;
    if (!store.client_.send(cmd, argv)) {
        delete cmd;
        result.ok = false;
        return false;  // resume at once with "unavailable"
    }
    ngx_http_request_t* r = store.state_.r;
    cmd->timer.handler = on_command_timeout;
    cmd->timer.data = cmd;
    cmd->timer.log = r->connection->log;
    ngx_add_timer(&cmd->timer,
                  static_cast<ngx_msec_t>(store.client_.endpoint().command_timeout));
    store.pending_ = cmd;
    store.state_.park(h);
    return true;
}

RedisRequestStore::Awaiter RedisRequestStore::command(std::vector<std::string> argv) {
    return Awaiter{*this, std::move(argv), {}};
}

void RedisRequestStore::completed(RedisCommand*) {
    pending_ = nullptr;
    ngx_http_request_t* r = state_.r;
    ngx_connection_t* c = r->connection;
    r->write_event_handler(r);
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
    std::vector<std::string> argv = {"SET", key(k), std::move(value), "PX",
                                     std::to_string(std::max<Millis>(ttl_ms, 1))};
    RedisResult r = co_await command(std::move(argv));
    bool ok = r.ok && r.type == REDIS_REPLY_STATUS;
    co_return StoreReply<bool>{ok ? StoreStatus::ok : StoreStatus::unavailable, ok};
}

Task<StoreReply<bool>> RedisRequestStore::set_if_absent(std::string_view k, std::string value,
                                                        Millis ttl_ms) {
    std::vector<std::string> argv = {"SET", key(k), std::move(value), "PX",
                                     std::to_string(std::max<Millis>(ttl_ms, 1)), "NX"};
    RedisResult r = co_await command(std::move(argv));
    if (r.ok && r.type == REDIS_REPLY_STATUS) co_return StoreReply<bool>{StoreStatus::ok, true};
    if (r.ok && r.type == REDIS_REPLY_NIL) co_return StoreReply<bool>{StoreStatus::ok, false};
    co_return StoreReply<bool>{StoreStatus::unavailable, false};
}

Task<StoreReply<bool>> RedisRequestStore::del(std::string_view k) {
    std::vector<std::string> argv = {"DEL", key(k)};
    RedisResult r = co_await command(std::move(argv));
    if (r.ok && r.type == REDIS_REPLY_INTEGER) {
        co_return StoreReply<bool>{StoreStatus::ok, r.integer > 0};
    }
    co_return StoreReply<bool>{StoreStatus::unavailable, false};
}

Task<RedisResult> RedisRequestStore::eval(const RedisScript& script,
                                          std::vector<std::string> keys,
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

Task<StoreReply<bool>> RedisRequestStore::index_add(std::string_view index,
                                                    std::string_view member,
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

Task<StoreReply<std::vector<std::string>>> RedisRequestStore::index_members(
    std::string_view index, Millis now_ms) {
    std::vector<std::string> argv = {"ZRANGEBYSCORE", key(index), "(" + std::to_string(now_ms),
                                     "+inf"};
    RedisResult r = co_await command(std::move(argv));
    using Reply = StoreReply<std::vector<std::string>>;
    if (r.ok && r.type == REDIS_REPLY_ARRAY) co_return Reply{StoreStatus::ok, std::move(r.elements)};
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
