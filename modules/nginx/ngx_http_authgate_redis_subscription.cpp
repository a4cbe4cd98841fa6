// The subscription that keeps the session cache honest, and its heartbeat, on nginx's
// event loop. What the messages mean, and when to beat, is the core's
// (authgate/cache_subscription.h: redis::CacheSubscription); the workers of one server share
// its BeatBoard, mapped here before they fork.
#include "ngx_http_authgate_redis.h"

#include "hiredis_reply.h"

#include <sys/mman.h>

#include <new>

namespace authgate::ngx {

namespace {

RedisClient::Link* link_of(const redisAsyncContext* ac) {
    return static_cast<RedisClient::Link*>(ac->data);
}

void unmap_beats(void* data) noexcept { munmap(data, sizeof(RedisBeatBoard)); }

} // namespace

Millis redis_now_ms() {
    ngx_time_t* tp = ngx_timeofday();
    return static_cast<Millis>(tp->sec) * 1000 + static_cast<Millis>(tp->msec);
}

bool redis_share_beats(ngx_conf_t* cf, RedisEndpoint& endpoint) {
    void* page = mmap(nullptr, sizeof(RedisBeatBoard), PROT_READ | PROT_WRITE,
                      MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (page == MAP_FAILED) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, ngx_errno, "authgate: cannot map the beat board");
        return false;
    }
    ngx_pool_cleanup_t* cln = ngx_pool_cleanup_add(cf->pool, 0);
    if (cln == nullptr) {
        munmap(page, sizeof(RedisBeatBoard));
        return false;
    }
    cln->handler = unmap_beats;
    cln->data = page;
    auto* board = new (page) RedisBeatBoard();
    OpensslRandom random;
    redis::make_beat_id(*board, random);
    endpoint.beats = board;
    return true;
}

// Every kSessionCacheBeat: (re)subscribes while the command link is up, gives up on a
// subscription that is not confirmed within the connect timeout, and beats if the core
// says so (fire and forget: a stalled Redis simply stops confirming).
void RedisClient::on_tick(ngx_event_t* ev) {
    auto* self = static_cast<RedisClient*>(ev->data);
    if (self->exiting_) return;
    Millis now = redis_now_ms();
    std::optional<std::string_view> beat = self->feed_->tick(now);
    if (self->connected_ && self->master_.ac != nullptr) {
        if (self->sub_.ac == nullptr) {
            if (now >= self->sub_retry_at_) self->open_subscription();
        } else if (!self->feed_->confirmed() &&
                   now - self->sub_opened_ > self->ep_.connect_timeout) {
            self->subscription_lost("subscribe timed out");
        }
        if (beat) {
            redisAsyncFormattedCommand(self->master_.ac, nullptr, nullptr, beat->data(),
                                       beat->size());
        }
    }
    ngx_add_timer(ev, static_cast<ngx_msec_t>(redis::kSessionCacheBeat));
}

void RedisClient::open_subscription() {
    sub_opened_ = redis_now_ms();
    if (!open(sub_, current_)) {
        subscription_lost("connect failed");
        return;
    }
    send_auth(sub_);
    redis_send_argv(sub_.ac, on_subscription, nullptr, feed_->subscribe_command());
}

void RedisClient::not_announced() {
    if (publish_logged_) return;
    ngx_log_error(NGX_LOG_ERR, log_, 0,
                  "authgate: redis %s refused PUBLISH on \"%s\": session caches of other "
                  "servers are not told of sign-outs (grant the ACL user &%s*)",
                  ep_.display.c_str(), channel_.c_str(), channel_.c_str());
    publish_logged_ = true;
}

// The cache stops serving at once and is emptied: announcements may be missed until the
// subscription is confirmed again. `why` null: the command link went down (logged there).
void RedisClient::subscription_lost(const char* why) {
    if (!feed_) return;
    feed_->lost();
    close(sub_);
    sub_backoff_ =
        sub_backoff_ == 0 ? kRedisFirstBackoff : std::min(sub_backoff_ * 2, kRedisMaxBackoff);
    sub_retry_at_ = redis_now_ms() + sub_backoff_;
    if (why != nullptr && !sub_logged_ && !down_logged_) {
        ngx_log_error(NGX_LOG_WARN, log_, 0,
                      "authgate: redis %s session cache subscription lost (%s); cached "
                      "sessions are not used until it is back",
                      ep_.display.c_str(), why);
        sub_logged_ = true;
    }
}

void RedisClient::on_subscription(redisAsyncContext* ac, void* reply, void*) {
    auto* r = static_cast<redisReply*>(reply);
    Link* link = link_of(ac);
    RedisClient* self = link->owner;
    if (r == nullptr || link->ac != ac || !self->feed_) return;
    redis::Reply& copy = self->sub_reply_; // reused: its buffers stay
    hiredis::copy_reply(*r, copy);
    if (!self->feed_->on_reply(copy, redis_now_ms())) return;
    self->sub_backoff_ = 0;
    if (self->sub_logged_) {
        ngx_log_error(NGX_LOG_NOTICE, self->log_, 0,
                      "authgate: redis %s session cache subscription is back",
                      self->ep_.display.c_str());
        self->sub_logged_ = false;
    }
}

} // namespace authgate::ngx
