// The shared store in Redis: one pipelined hiredis connection per worker, attached to
// nginx's event loop (never blocking it), with per-command timeouts, reconnect with
// backoff, and a per-request Store that parks the request while Redis answers.
#pragma once

#include "ngx_http_authgate_nginx.h"

#include <hiredis/async.h>
#include <hiredis/hiredis.h>

#include <coroutine>
#include <string>
#include <vector>

#include "authgate/ports.h"
#include "authgate/session_cache.h"
#include "authgate/store_plan.h"

namespace authgate::ngx {

class RequestState;

// The session cache: each worker publishes a heartbeat on its own channel every
// kSessionCacheBeat and serves cached sessions only while one came back through its
// subscription within kSessionCacheLiveWindow, so an announcement is never missed for
// longer than that (the revocation guarantee is 100 ms; the rest is margin for nginx's
// cached clock, as old as the current event-loop turn). At most kSessionCacheEntries
// sessions per worker (~0.5 KB each).
inline constexpr Millis kSessionCacheBeat = 20;
inline constexpr Millis kSessionCacheLiveWindow = 60;
inline constexpr std::size_t kSessionCacheEntries = 10000;

// Decided by the core at configuration time (no DNS at run time).
using RedisAddress = config::ServerAddress;
using RedisEndpoint = config::RedisPlan;

// What a command came back with.
struct RedisResult {
    bool ok = false; // false: no answer (down, timeout, protocol error)
    int type = 0;    // REDIS_REPLY_*
    long long integer = 0;
    std::string str;                   // string, status or error text
    std::vector<std::string> elements; // array replies (strings)
};

// A Lua script run with EVALSHA, loaded with EVAL when Redis answers NOSCRIPT.
struct RedisScript {
    std::string text;
    std::string sha1;
    explicit RedisScript(std::string source);
};

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
    SessionCache* cache() const { return cache_; }
    // The channel that announces changed or ended sessions (payload: store key).
    const std::string& channel() const { return channel_; }
    // A session write could not be announced (ACL without channel permission): logged once.
    void not_announced();
    // Queues a command; false when there is no connection (cmd not taken).
    bool send(RedisCommand* cmd, const std::vector<std::string>& argv);
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

    RedisEndpoint ep_;
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
    std::string channel_;      // <prefix>invalidate
    std::string beat_channel_; // <prefix>invalidate:<random>, this worker's heartbeats
    Link sub_;
    bool sub_confirmed_ = false;
    bool sub_logged_ = false;
    bool publish_logged_ = false;
    Millis sub_opened_ = 0;
    Millis sub_retry_at_ = 0;
    Millis sub_backoff_ = 0;
    ngx_event_t tick_ev_{}; // heartbeats and subscription supervision
};

// The Store a flow sees for one request backed by Redis.
class RedisRequestStore final : public Store {
  public:
    RedisRequestStore(RedisClient& client, RequestState& state) : client_(client), state_(state) {}
    ~RedisRequestStore() override;
    std::string_view kind() const noexcept override { return "redis"; }
    bool durable() const noexcept override { return true; }

    Task<StoreReply<std::optional<std::string>>> get(std::string_view key) override;
    Task<StoreReply<bool>> set(std::string_view key, std::string value, Millis ttl_ms) override;
    Task<StoreReply<bool>> set_if_absent(std::string_view key, std::string value,
                                         Millis ttl_ms) override;
    Task<StoreReply<bool>> compare_and_set(std::string_view key, std::string_view expected,
                                           std::string value, Millis ttl_ms) override;
    Task<StoreReply<bool>> del(std::string_view key) override;
    Task<StoreReply<std::int64_t>> incr(std::string_view key, std::int64_t delta,
                                        Millis ttl_ms) override;
    Task<StoreReply<bool>> index_add(std::string_view index, std::string_view member,
                                     Millis expires_at_ms, Millis now_ms) override;
    Task<StoreReply<bool>> index_remove(std::string_view index, std::string_view member) override;
    Task<StoreReply<std::vector<std::string>>> index_members(std::string_view index,
                                                             Millis now_ms) override;
    Task<StoreReply<bool>> hash_set(std::string_view key, Fields fields) override;
    Task<StoreReply<std::optional<Fields>>> hash_get(std::string_view key) override;

    struct Awaiter;
    Awaiter command(std::vector<std::string> argv);
    void completed();

  private:
    std::string key(std::string_view k) const { return client_.endpoint().prefix + std::string(k); }
    Task<RedisResult> eval(const RedisScript& script, std::vector<std::string> keys,
                           std::vector<std::string> args);

    RedisClient& client_;
    RequestState& state_;
    RedisCommand* pending_ = nullptr;
};

// A command in flight. hiredis owns it until its callback runs; the request side
// detaches (owner = nullptr) when it stops waiting.
struct RedisCommand {
    RedisRequestStore* owner = nullptr;
    RedisResult* result = nullptr;
    ngx_event_t timer{};
    RedisClient* client = nullptr;
};

struct RedisRequestStore::Awaiter {
    RedisRequestStore& store;
    std::vector<std::string> argv;
    RedisResult result;

    bool await_ready() const noexcept { return !store.client_.usable(); }
    bool await_suspend(std::coroutine_handle<> h);
    RedisResult await_resume() { return std::move(result); }
};

} // namespace authgate::ngx
