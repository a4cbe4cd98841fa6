// The connection half of the Redis store (the protocol is the core's, authgate/redis.h):
// one pipelined hiredis connection per worker attached to nginx's event loop (never
// blocking it), Sentinel discovery, per-command timeouts, reconnect with backoff, the
// session cache's subscription, and a per-request Connection that parks the request
// (through RedisParking, implemented by the request layer) while Redis answers.
#pragma once

#include "ngx_http_authgate_nginx.h"

#include <hiredis/async.h>
#include <hiredis/hiredis.h>

#include <atomic>
#include <coroutine>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "authgate/cache_subscription.h"
#include "authgate/ports.h"
#include "authgate/redis.h"
#include "authgate/session_cache.h"
#include "authgate/store_plan.h"

namespace authgate::ngx {

// The session cache's subscription and heartbeats follow the core's rules
// (authgate/cache_subscription.h): the workers of one server share one beat channel through
// a page mapped before the fork (redis::BeatBoard), ticks every redis::kSessionCacheBeat.
using RedisBeatBoard = redis::BeatBoard;

// Decided by the core at configuration time (no DNS at run time), plus the beat board.
using RedisAddress = config::ServerAddress;
struct RedisEndpoint : config::RedisPlan {
    RedisBeatBoard* beats = nullptr; // shared by this server's workers (redis_share_beats)
};

// Maps the server's RedisBeatBoard at configuration time (unmapped with the cycle).
bool redis_share_beats(ngx_conf_t* cf, RedisEndpoint& endpoint);

Millis redis_now_ms();

// Shared by the Redis files.
inline constexpr Millis kRedisFirstBackoff = 50;
inline constexpr Millis kRedisMaxBackoff = 500; // a returning Redis is used again within ~0.5 s
int redis_send_argv(redisAsyncContext* ac, redisCallbackFn* fn, void* priv,
                    const std::vector<std::string>& argv);
void redis_on_reply(redisAsyncContext* ac, void* reply, void* priv) noexcept;

struct RedisCommand;

class RedisClient {
  public:
    // `cache` (may be null) is kept in step with every worker's session writes through a
    // second, subscribed connection; it must outlive the client.
    RedisClient(RedisEndpoint endpoint, ngx_log_t* log, SessionCache* cache);
    ~RedisClient();
    RedisClient(const RedisClient&) = delete;
    RedisClient& operator=(const RedisClient&) = delete;

    void start();
    bool usable() const { return master_.ac != nullptr; }
    const RedisEndpoint& endpoint() const { return ep_; }
    const redis::Keyspace& keyspace() const { return keyspace_; }
    SessionCache* cache() const { return cache_; }
    ngx_log_t* log() const { return log_; }
    // A session write could not be announced (ACL without channel permission): logged once.
    void not_announced();
    // Queues an encoded command; false when there is no connection (cmd not taken).
    bool send(RedisCommand* cmd, const std::string& command);
    // Drops the connection (replies are ordered: a stuck head blocks the rest).
    void fail(const char* why);
    // The server answered READONLY: it is no longer the master. Safe inside callbacks.
    void demoted(redisAsyncContext* ac);

    // One hiredis connection attached to nginx's event loop.
    struct Link {
        RedisClient* owner = nullptr;
        bool sentinel = false;
        bool subscriber = false;
        redisAsyncContext* ac = nullptr;
        ngx_connection_t* conn = nullptr;
    };

  private:
    void connect();
    void discover();
    void next_sentinel();
    void open_master();
    bool open(Link& link, const RedisAddress& address);
    void close(Link& link);
    void schedule_reconnect();
    void mark_up();
    void log_down(const char* why);
    static void on_connect(const redisAsyncContext* ac, int status);
    static void on_disconnect(const redisAsyncContext* ac, int status);
    static void on_auth_reply(redisAsyncContext* ac, void* reply, void* priv);
    static void on_ready_reply(redisAsyncContext* ac, void* reply, void* priv);
    static void on_sentinel_reply(redisAsyncContext* ac, void* reply, void* priv);
    static void on_event(ngx_event_t* ev);
    static void on_reconnect_timer(ngx_event_t* ev);
    static void on_discover_event(ngx_event_t* ev);
    void post_discover();
    static void on_connect_timer(ngx_event_t* ev);
    // The subscription that keeps the session cache honest.
    static void on_tick(ngx_event_t* ev);
    static void on_subscription(redisAsyncContext* ac, void* reply, void* priv);
    void open_subscription();
    void subscription_lost(const char* why);
    void send_auth(Link& link);

    RedisEndpoint ep_;
    redis::Keyspace keyspace_;
    ngx_log_t* log_;
    Link master_;
    Link sentinel_;
    RedisAddress current_;     // the master in use
    bool have_master_ = false; // sentinel mode: current_ is known
    std::size_t sentinel_index_ = 0;
    std::size_t sentinels_tried_ = 0;
    bool connected_ = false;
    bool down_logged_ = false;
    bool exiting_ = false;
    Millis backoff_ = 0;
    ngx_event_t reconnect_ev_{};
    ngx_event_t connect_timer_{};
    ngx_event_t discover_ev_{}; // posted: runs once hiredis has freed the old sentinel link

    SessionCache* cache_;
    std::string channel_;                          // <prefix>invalidate
    std::unique_ptr<RedisBeatBoard> own_beats_;    // when no board is shared (tests of one process)
    std::optional<redis::CacheSubscription> feed_; // with a cache: what the subscription means
    redis::Reply sub_reply_;                       // the latest reply read on sub_
    Link sub_;
    bool sub_logged_ = false;
    bool publish_logged_ = false;
    Millis sub_opened_ = 0;
    Millis sub_retry_at_ = 0;
    Millis sub_backoff_ = 0;
    ngx_event_t tick_ev_{}; // heartbeats and subscription supervision
};

// How a request waits for Redis, implemented by the request layer: the Redis files never
// see the request state.
class RedisParking {
  public:
    // The flow suspends at `h` until resume().
    virtual void park(std::coroutine_handle<> h) = 0;
    // The reply (or the command's timeout) came: resume the flow now.
    virtual void resume() noexcept = 0;

  protected:
    ~RedisParking() = default;
};

// The Connection the core's RedisStore uses for one request: each command is queued on
// the worker's connection and the request is parked until Redis answers or the
// command's timer fires.
class RedisRequestStore final : public redis::Connection {
  public:
    RedisRequestStore(RedisClient& client, RedisParking& parking)
        : client_(client), parking_(parking), store_(*this, client.keyspace(), client.cache()) {}
    ~RedisRequestStore() override;
    Store& store() { return store_; }

    Task<std::optional<redis::Reply>> call(std::string command) override;
    void not_announced() noexcept override { client_.not_announced(); }
    void completed();

    struct Awaiter;

  private:
    RedisClient& client_;
    RedisParking& parking_;
    RedisCommand* pending_ = nullptr;
    redis::RedisStore store_;
};

// A command in flight. hiredis owns it until its callback runs; the request side
// detaches (owner = nullptr) when it stops waiting.
struct RedisCommand {
    RedisRequestStore* owner = nullptr;
    std::optional<redis::Reply>* result = nullptr;
    ngx_event_t timer{};
    RedisClient* client = nullptr;
};

struct RedisRequestStore::Awaiter {
    RedisRequestStore& store;
    std::string command;
    std::optional<redis::Reply> result;

    bool await_ready() const noexcept { return !store.client_.usable(); }
    bool await_suspend(std::coroutine_handle<> h);
    std::optional<redis::Reply> await_resume() { return std::move(result); }
};

} // namespace authgate::ngx
