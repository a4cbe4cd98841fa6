#include "ngx_http_authgate_redis.h"

#include <charconv>
#include <stdexcept>

namespace authgate::ngx {

// ---- connection ------------------------------------------------------------------

namespace {

using Link = RedisClient::Link;

Link* link_of(const redisAsyncContext* ac) { return static_cast<Link*>(ac->data); }

// Level-triggered: hiredis reads at most 16 KiB per call.
void ev_add_read(void* p) {
    auto* l = static_cast<Link*>(p);
    if (l->conn && !l->conn->read->active) {
        ngx_add_event(l->conn->read, NGX_READ_EVENT, NGX_LEVEL_EVENT);
    }
}

void ev_del_read(void* p) {
    auto* l = static_cast<Link*>(p);
    if (l->conn && l->conn->read->active) ngx_del_event(l->conn->read, NGX_READ_EVENT, 0);
}

void ev_add_write(void* p) {
    auto* l = static_cast<Link*>(p);
    if (l->conn && !l->conn->write->active) {
        ngx_add_event(l->conn->write, NGX_WRITE_EVENT, NGX_LEVEL_EVENT);
    }
}

void ev_del_write(void* p) {
    auto* l = static_cast<Link*>(p);
    if (l->conn && l->conn->write->active) ngx_del_event(l->conn->write, NGX_WRITE_EVENT, 0);
}

// hiredis closes the socket itself: release the nginx side only.
void ev_cleanup(void* p) {
    auto* l = static_cast<Link*>(p);
    ngx_connection_t* c = std::exchange(l->conn, nullptr);
    if (c == nullptr) return;
    for (ngx_event_t* ev : {c->read, c->write}) {
        if (ev->active) {
            ngx_del_event(ev, ev->write ? NGX_WRITE_EVENT : NGX_READ_EVENT, NGX_CLOSE_EVENT);
        }
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

} // namespace

static std::vector<const char*> arg_pointers(const std::vector<std::string>& args,
                                             std::vector<size_t>& lens) {
    std::vector<const char*> argv;
    argv.reserve(args.size());
    lens.clear();
    for (const auto& a : args) {
        argv.push_back(a.data());
        lens.push_back(a.size());
    }
    return argv;
}

int redis_send_argv(redisAsyncContext* ac, redisCallbackFn* fn, void* priv,
                    const std::vector<std::string>& args) {
    std::vector<size_t> lens;
    auto argv = arg_pointers(args, lens);
    return redisAsyncCommandArgv(ac, fn, priv, static_cast<int>(argv.size()), argv.data(),
                                 lens.data());
}

RedisClient::RedisClient(RedisEndpoint endpoint, ngx_log_t* log, SessionCache* cache)
    : ep_(std::move(endpoint)), log_(log), cache_(cache) {
    master_.owner = this;
    sentinel_.owner = this;
    sentinel_.sentinel = true;
    sub_.owner = this;
    sub_.subscriber = true;
    keyspace_.prefix = ep_.prefix;
    channel_ = keyspace_.channel();
    RedisBeatBoard* beats = ep_.beats;
    if (beats == nullptr) {
        own_beats_ = std::make_unique<RedisBeatBoard>();
        OpensslRandom random;
        redis::make_beat_id(*own_beats_, random);
        beats = own_beats_.get();
    }
    if (cache_ != nullptr) feed_.emplace(*cache_, keyspace_, *beats);
    tick_ev_.handler = on_tick;
    for (ngx_event_t* ev : {&reconnect_ev_, &connect_timer_, &discover_ev_, &tick_ev_}) {
        ev->data = this;
        ev->log = log_;
        ev->cancelable = 1; // never hold up a graceful shutdown
    }
    reconnect_ev_.handler = on_reconnect_timer;
    connect_timer_.handler = on_connect_timer;
    discover_ev_.handler = on_discover_event;
    if (ep_.master_name.empty()) {
        current_ = ep_.address;
        have_master_ = true;
    }
}

RedisClient::~RedisClient() {
    exiting_ = true;
    if (tick_ev_.timer_set) ngx_del_timer(&tick_ev_);
    close(sub_);
    if (reconnect_ev_.timer_set) ngx_del_timer(&reconnect_ev_);
    if (connect_timer_.timer_set) ngx_del_timer(&connect_timer_);
    if (discover_ev_.posted) {
        ngx_delete_posted_event(&discover_ev_);
    }
    close(sentinel_);
    close(master_);
}

void RedisClient::start() {
    connect();
    if (cache_ != nullptr)
        ngx_add_timer(&tick_ev_, static_cast<ngx_msec_t>(redis::kSessionCacheBeat));
}

void RedisClient::log_down(const char* why) {
    if (down_logged_) return;
    ngx_log_error(NGX_LOG_ERR, log_, 0,
                  "authgate: redis %s unavailable (%s); the gate fails closed until it returns",
                  ep_.display.c_str(), why);
    down_logged_ = true;
}

// Null the link first: redisAsyncFree runs the pending callbacks synchronously.
void RedisClient::close(Link& link) {
    if (link.ac == nullptr) return;
    redisAsyncContext* ac = std::exchange(link.ac, nullptr);
    redisAsyncFree(ac);
}

bool RedisClient::open(Link& link, const RedisAddress& address) {
    redisAsyncContext* ac = address.unix_path.empty()
                                ? redisAsyncConnect(address.ip.c_str(), address.port)
                                : redisAsyncConnectUnix(address.unix_path.c_str());
    if (ac == nullptr || ac->err) {
        log_down(ac ? ac->errstr : "out of memory");
        if (ac != nullptr) redisAsyncFree(ac);
        return false;
    }
    link.conn = ngx_get_connection(ac->c.fd, log_);
    if (link.conn == nullptr) {
        log_down("no free nginx connection");
        redisAsyncFree(ac);
        return false;
    }
    link.ac = ac;
    ac->data = &link;
    ngx_connection_t* c = link.conn;
    c->data = &link;
    c->log = log_;
    c->read->log = log_;
    c->write->log = log_;
    c->read->handler = on_event;
    c->write->handler = on_event;
    ac->ev.data = &link;
    ac->ev.addRead = ev_add_read;
    ac->ev.delRead = ev_del_read;
    ac->ev.addWrite = ev_add_write;
    ac->ev.delWrite = ev_del_write;
    ac->ev.cleanup = ev_cleanup;
    redisAsyncSetConnectCallback(ac, on_connect);
    redisAsyncSetDisconnectCallback(ac, on_disconnect);
    if (link.subscriber) return true; // supervised by the tick
    if (connect_timer_.timer_set) ngx_del_timer(&connect_timer_);
    ngx_add_timer(&connect_timer_, static_cast<ngx_msec_t>(ep_.connect_timeout));
    return true;
}

void RedisClient::connect() {
    if (exiting_ || master_.ac != nullptr || sentinel_.ac != nullptr) return;
    if (have_master_) {
        open_master();
    } else {
        sentinels_tried_ = 0;
        discover();
    }
}

// Asks the next sentinel where the master is.
void RedisClient::discover() {
    if (exiting_) return;
    if (sentinels_tried_ >= ep_.sentinels.size()) {
        log_down("no sentinel knows the master");
        schedule_reconnect();
        return;
    }
    const RedisAddress& s = ep_.sentinels[sentinel_index_++ % ep_.sentinels.size()];
    ++sentinels_tried_;
    if (!open(sentinel_, s)) {
        discover();
        return;
    }
    std::vector<std::string> q = {"SENTINEL", "get-master-addr-by-name", ep_.master_name};
    if (redis_send_argv(sentinel_.ac, on_sentinel_reply, nullptr, q) != REDIS_OK) {
        close(sentinel_);
        discover();
    }
}

void RedisClient::next_sentinel() {
    // Inside a callback of the sentinel link: let hiredis drop it, then ask the next one
    // from a posted event (the link's nginx connection is released only after the callback).
    if (sentinel_.ac != nullptr) {
        redisAsyncContext* ac = std::exchange(sentinel_.ac, nullptr);
        redisAsyncDisconnect(ac);
    }
    post_discover();
}

void RedisClient::post_discover() {
    if (!discover_ev_.posted) {
        ngx_post_event(&discover_ev_, &ngx_posted_events);
    }
}

void RedisClient::on_discover_event(ngx_event_t* ev) {
    auto* self = static_cast<RedisClient*>(ev->data);
    if (self->sentinel_.ac == nullptr && self->sentinel_.conn == nullptr) self->discover();
}

void RedisClient::open_master() {
    if (!open(master_, current_)) {
        if (!ep_.master_name.empty()) have_master_ = false;
        schedule_reconnect();
        return;
    }
    // Queued ahead of any request's command on this connection.
    send_auth(master_);
    if (ep_.db != 0)
        redis_send_argv(master_.ac, on_auth_reply, nullptr, {"SELECT", std::to_string(ep_.db)});
    // The link counts as up once this last handshake reply is good: PING, or ROLE (must
    // say "master") with Sentinel.
    if (ep_.master_name.empty()) {
        redis_send_argv(master_.ac, on_ready_reply, nullptr, {"PING"});
    } else {
        redis_send_argv(master_.ac, on_ready_reply, nullptr, {"ROLE"});
    }
}

void RedisClient::schedule_reconnect() {
    if (exiting_ || reconnect_ev_.timer_set) return;
    backoff_ = backoff_ == 0 ? kRedisFirstBackoff : std::min(backoff_ * 2, kRedisMaxBackoff);
    ngx_add_timer(&reconnect_ev_, static_cast<ngx_msec_t>(backoff_));
}

void RedisClient::mark_up() {
    connected_ = true;
    backoff_ = 0;
    if (connect_timer_.timer_set) ngx_del_timer(&connect_timer_);
    if (down_logged_) {
        ngx_log_error(NGX_LOG_NOTICE, log_, 0, "authgate: redis %s is available again (%s)",
                      ep_.display.c_str(), current_.display().c_str());
        down_logged_ = false;
    }
}

void RedisClient::fail(const char* why) {
    log_down(why);
    connected_ = false;
    subscription_lost(nullptr);
    if (connect_timer_.timer_set) ngx_del_timer(&connect_timer_);
    close(master_);
    if (!ep_.master_name.empty()) have_master_ = false; // ask the sentinels again
    schedule_reconnect();
}

void RedisClient::demoted(redisAsyncContext* ac) {
    if (master_.ac != ac) return;
    log_down("the server is no longer the master");
    if (!ep_.master_name.empty()) have_master_ = false;
    redisAsyncDisconnect(ac); // on_disconnect schedules the reconnect
}

bool RedisClient::send(RedisCommand* cmd, const std::string& command) {
    if (master_.ac == nullptr) return false;
    return redisAsyncFormattedCommand(master_.ac, redis_on_reply, cmd, command.data(),
                                      command.size()) == REDIS_OK;
}

void RedisClient::on_connect(const redisAsyncContext* ac, int status) {
    Link* link = link_of(ac);
    RedisClient* self = link->owner;
    if (link->ac != ac) return;
    if (status == REDIS_OK) return; // up once the handshake is answered (on_ready_reply)
    // hiredis frees the context after this callback.
    link->ac = nullptr;
    if (link->subscriber) {
        self->subscription_lost(ac->errstr[0] ? ac->errstr : "connect failed");
        return;
    }
    if (self->connect_timer_.timer_set) ngx_del_timer(&self->connect_timer_);
    if (link->sentinel) {
        self->post_discover();
        return;
    }
    self->subscription_lost(nullptr);
    self->connected_ = false;
    self->log_down(ac->errstr[0] ? ac->errstr : "connect failed");
    if (!self->ep_.master_name.empty()) self->have_master_ = false;
    self->schedule_reconnect();
}

void RedisClient::on_disconnect(const redisAsyncContext* ac, int status) {
    Link* link = link_of(ac);
    RedisClient* self = link->owner;
    if (link->ac != ac) return; // we dropped it ourselves
    link->ac = nullptr;
    if (link->sentinel) return;
    if (link->subscriber) {
        self->subscription_lost(status == REDIS_OK ? "connection closed" : ac->errstr);
        return;
    }
    self->subscription_lost(nullptr);
    self->connected_ = false;
    self->log_down(status == REDIS_OK ? "connection closed" : ac->errstr);
    if (!self->ep_.master_name.empty()) self->have_master_ = false;
    self->schedule_reconnect();
}

void RedisClient::on_auth_reply(redisAsyncContext* ac, void* reply, void*) {
    auto* r = static_cast<redisReply*>(reply);
    if (r == nullptr || r->type != REDIS_REPLY_ERROR) return;
    RedisClient* self = link_of(ac)->owner;
    if (!self->down_logged_) { // once per incident, like every other outage
        ngx_log_error(NGX_LOG_ERR, self->log_, 0,
                      "authgate: redis %s rejected the login: %*s; the gate fails closed",
                      self->ep_.display.c_str(), static_cast<size_t>(r->len), r->str);
        self->down_logged_ = true;
    }
    // Inside a callback: let hiredis disconnect once its callbacks are done.
    redisAsyncDisconnect(ac);
}

// The end of the handshake. With Sentinel, only a server that says it is the master is used.
void RedisClient::on_ready_reply(redisAsyncContext* ac, void* reply, void*) {
    auto* r = static_cast<redisReply*>(reply);
    Link* link = link_of(ac);
    RedisClient* self = link->owner;
    if (r == nullptr || link->ac != ac) return;
    if (r->type == REDIS_REPLY_ERROR) { // e.g. NOAUTH: Redis wants a password we lack
        if (!self->down_logged_) {
            ngx_log_error(NGX_LOG_ERR, self->log_, 0,
                          "authgate: redis %s refused the connection: %*s; the gate fails closed",
                          self->ep_.display.c_str(), static_cast<size_t>(r->len), r->str);
            self->down_logged_ = true;
        }
        redisAsyncDisconnect(ac);
        return;
    }
    if (self->ep_.master_name.empty()) {
        self->mark_up();
        return;
    }
    bool master = r->type == REDIS_REPLY_ARRAY && r->elements > 0 && r->element[0]->str &&
                  std::string_view(r->element[0]->str, r->element[0]->len) == "master";
    if (master) {
        self->mark_up();
        return;
    }
    self->demoted(ac);
}

void RedisClient::on_sentinel_reply(redisAsyncContext* ac, void* reply, void*) {
    auto* r = static_cast<redisReply*>(reply);
    Link* link = link_of(ac);
    RedisClient* self = link->owner;
    if (r == nullptr || link->ac != ac) return;
    if (r->type == REDIS_REPLY_ARRAY && r->elements == 2 && r->element[0]->str &&
        r->element[1]->str) {
        RedisAddress found;
        found.ip.assign(r->element[0]->str, r->element[0]->len);
        found.port = std::atoi(r->element[1]->str);
        if (found.port > 0) {
            self->current_ = found;
            self->have_master_ = true;
            redisAsyncContext* s = std::exchange(link->ac, nullptr);
            redisAsyncDisconnect(s);
            self->open_master();
            return;
        }
    }
    self->next_sentinel();
}

void RedisClient::on_reconnect_timer(ngx_event_t* ev) {
    static_cast<RedisClient*>(ev->data)->connect();
}

void RedisClient::on_connect_timer(ngx_event_t* ev) {
    auto* self = static_cast<RedisClient*>(ev->data);
    if (self->sentinel_.ac != nullptr) {
        self->close(self->sentinel_);
        self->discover();
        return;
    }
    if (!self->connected_ && self->master_.ac != nullptr) self->fail("connect timed out");
}

void RedisClient::on_event(ngx_event_t* ev) {
    auto* c = static_cast<ngx_connection_t*>(ev->data);
    auto* link = static_cast<Link*>(c->data);
    if (link->ac == nullptr) return;
    // hiredis may free the context inside these calls: touch nothing afterwards.
    if (ev->write) {
        redisAsyncHandleWrite(link->ac);
    } else {
        redisAsyncHandleRead(link->ac);
    }
}

void RedisClient::send_auth(Link& link) {
    if (ep_.password.empty()) return;
    std::vector<std::string> auth = {"AUTH"};
    if (!ep_.user.empty()) auth.push_back(ep_.user);
    auth.push_back(ep_.password);
    redis_send_argv(link.ac, on_auth_reply, nullptr, auth);
}

} // namespace authgate::ngx
