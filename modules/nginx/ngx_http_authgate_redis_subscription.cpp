// The subscription that keeps the session cache honest, and its heartbeat.
//
// A worker's cache is trusted only while a beat published at most the live window ago came
// back through the worker's own subscription: every announcement published before the
// beat has then been delivered (Redis delivers in order), and a lost or silently stalled
// subscription stops the cache within the window (fail safe). What costs Redis is only
// the PUBLISH of the beats, so they are shared and made on demand:
// - the workers of one server subscribe to one beat channel, named by an id in a page
//   they share (RedisBeatBoard, mapped before the fork); a beat reaches all of them;
// - on its tick a worker publishes only if its cache was consulted within the cache's
//   max age (traffic relies on it: an entry lives no longer, so beating longer would keep
//   nothing usable) and no worker of the server published within the beat interval (a
//   compare-and-swap on the shared page elects that interval's publisher).
// So a busy server publishes at most one beat per interval whatever its number of
// workers, and one idle for longer than the max age publishes nothing. After such a
// pause, the first lookups go to Redis (as they would anyway: every entry has expired)
// until the beat they caused comes back, one interval later.
#include "ngx_http_authgate_redis.h"

#include "hiredis_reply.h"

#include <openssl/rand.h>
#include <sys/mman.h>

#include <new>

namespace authgate::ngx {

namespace {

// Processes share the page: its atomics must not hide a lock in one process's memory.
static_assert(std::atomic<Millis>::is_always_lock_free);

// A little under the tick, so that timer jitter does not skip every other interval.
constexpr Millis kBeatInterval = kSessionCacheBeat - 2;

RedisClient::Link* link_of(const redisAsyncContext* ac) {
    return static_cast<RedisClient::Link*>(ac->data);
}

void unmap_beats(void* data) noexcept { munmap(data, sizeof(RedisBeatBoard)); }

} // namespace

Millis redis_now_ms() {
    ngx_time_t* tp = ngx_timeofday();
    return static_cast<Millis>(tp->sec) * 1000 + static_cast<Millis>(tp->msec);
}

bool redis_beat_id(char (&id)[17]) {
    unsigned char token[8];
    if (RAND_bytes(token, sizeof token) != 1) return false;
    static constexpr char kHex[] = "0123456789abcdef";
    for (std::size_t i = 0; i < sizeof token; ++i) {
        id[2 * i] = kHex[token[i] >> 4];
        id[2 * i + 1] = kHex[token[i] & 15];
    }
    id[16] = '\0';
    return true;
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
    if (!redis_beat_id(board->id)) return false;
    endpoint.beats = board;
    return true;
}

// Every kSessionCacheBeat: (re)subscribes while the command link is up, gives up on a
// subscription that is not confirmed within the connect timeout, and beats if needed.
void RedisClient::on_tick(ngx_event_t* ev) {
    auto* self = static_cast<RedisClient*>(ev->data);
    if (self->exiting_) return;
    Millis now = redis_now_ms();
    if (self->cache_->take_demand()) self->last_demand_ms_ = now;
    bool wanted = now - self->last_demand_ms_ <= self->cache_->limits().max_age;
    if (self->connected_ && self->master_.ac != nullptr) {
        if (self->sub_.ac == nullptr) {
            if (now >= self->sub_retry_at_) self->open_subscription();
        } else if (!self->sub_confirmed_ && now - self->sub_opened_ > self->ep_.connect_timeout) {
            self->subscription_lost("subscribe timed out");
        }
        if (wanted && self->sub_confirmed_) self->beat(now);
    }
    ngx_add_timer(ev, static_cast<ngx_msec_t>(kSessionCacheBeat));
}

// Fire and forget: a stalled Redis simply stops confirming.
void RedisClient::beat(Millis now) {
    Millis last = beats_->last_beat_ms.load(std::memory_order_relaxed);
    if (now - last < kBeatInterval && now >= last) return; // another worker's beat covers us
    if (!beats_->last_beat_ms.compare_exchange_strong(last, now)) return;
    if (master_.ac == nullptr) return;
    redis::format_beat(beat_channel_, now, beat_command_);
    redisAsyncFormattedCommand(master_.ac, nullptr, nullptr, beat_command_.data(),
                               beat_command_.size());
}

void RedisClient::open_subscription() {
    sub_opened_ = redis_now_ms();
    if (!open(sub_, current_)) {
        subscription_lost("connect failed");
        return;
    }
    send_auth(sub_);
    redis_send_argv(sub_.ac, on_subscription, nullptr, {"SUBSCRIBE", channel_, beat_channel_});
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
    if (cache_ == nullptr) return;
    cache_->lost();
    sub_confirmed_ = false;
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
    if (r == nullptr || link->ac != ac || self->cache_ == nullptr) return;
    hiredis::copy_reply(*r, self->sub_reply_);
    redis::Message m = redis::decode_message(self->sub_reply_);
    if (m.kind == redis::Message::Kind::message) {
        if (m.channel == self->channel_) {
            self->cache_->invalidate(m.payload);
        } else if (m.channel == self->beat_channel_) {
            if (auto sent = redis::parse_beat(m.payload)) self->cache_->heartbeat(*sent);
        }
        return;
    }
    // Both channels are confirmed in order; the heartbeat channel comes last.
    if (m.kind == redis::Message::Kind::subscribed && m.channel == self->beat_channel_) {
        self->sub_confirmed_ = true;
        self->sub_backoff_ = 0;
        self->cache_->subscribed(redis_now_ms());
        if (self->sub_logged_) {
            ngx_log_error(NGX_LOG_NOTICE, self->log_, 0,
                          "authgate: redis %s session cache subscription is back",
                          self->ep_.display.c_str());
            self->sub_logged_ = false;
        }
    }
}

} // namespace authgate::ngx
