// The Connection a request's RedisStore sends through: each encoded command is queued on
// the worker's hiredis connection, and the request is parked until Redis answers or the
// command's timer fires (then the connection is dropped: replies are ordered).
#include "ngx_http_authgate_redis.h"

#include "hiredis_reply.h"

namespace authgate::ngx {

namespace {

void on_command_timeout(ngx_event_t* ev) noexcept {
    auto* cmd = static_cast<RedisCommand*>(ev->data);
    RedisRequestStore* owner = cmd->owner;
    RedisClient* client = cmd->client;
    if (owner != nullptr) cmd->result->reset();
    cmd->owner = nullptr; // hiredis still owns cmd; its callback frees it
    client->fail("command timed out");
    if (owner != nullptr) owner->completed();
}

} // namespace

void redis_on_reply(redisAsyncContext* ac, void* reply, void* priv) noexcept {
    auto* cmd = static_cast<RedisCommand*>(priv);
    auto* r = static_cast<redisReply*>(reply);
    if (r != nullptr && hiredis::is_readonly_error(*r)) {
        cmd->client->demoted(ac); // a failed-over master: find the new one
    }
    if (cmd->timer.timer_set) ngx_del_timer(&cmd->timer);
    RedisRequestStore* owner = cmd->owner;
    if (owner != nullptr) {
        try {
            // hiredis has parsed the reply already: only its shape is copied.
            if (r != nullptr) hiredis::copy_reply(*r, cmd->result->emplace());
        } catch (...) { // out of memory copying the reply: the flow sees "unavailable"
            cmd->result->reset();
        }
    }
    delete cmd;
    if (owner != nullptr) owner->completed();
}

bool RedisRequestStore::Awaiter::await_suspend(std::coroutine_handle<> h) {
    auto* cmd = new RedisCommand();
    cmd->owner = &store;
    cmd->result = &result;
    cmd->client = &store.client_;
    if (!store.client_.send(cmd, command)) {
        delete cmd;
        result.reset();
        return false; // resume at once with "unavailable"
    }
    cmd->timer.handler = on_command_timeout;
    cmd->timer.data = cmd;
    cmd->timer.log = store.client_.log();
    ngx_add_timer(&cmd->timer, static_cast<ngx_msec_t>(store.client_.endpoint().command_timeout));
    store.pending_ = cmd;
    store.parking_.park(h);
    return true;
}

Task<std::optional<redis::Reply>> RedisRequestStore::call(std::string command) {
    // A named awaiter: g++ 12 may destroy a temporary in a co_await expression twice.
    Awaiter awaiter{*this, std::move(command), std::nullopt};
    std::optional<redis::Reply> reply = co_await awaiter;
    co_return reply;
}

void RedisRequestStore::completed() {
    pending_ = nullptr;
    parking_.resume();
}

RedisRequestStore::~RedisRequestStore() {
    if (pending_ == nullptr) return;
    // The request is going away while Redis has not answered: stop waiting.
    pending_->owner = nullptr;
    if (pending_->timer.timer_set) ngx_del_timer(&pending_->timer);
    pending_ = nullptr;
}

} // namespace authgate::ngx
