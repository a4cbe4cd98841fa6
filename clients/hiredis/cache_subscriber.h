// CacheSubscriber: the session cache's subscription for adapters whose processes may run a
// thread of their own (Apache httpd's children). One thread per process owns two blocking
// hiredis connections to the master BlockingRedis uses (the same Sentinel discovery): one
// SUBSCRIBEd to the core's channels (redis::CacheSubscription decides what each message
// does to the cache), one that publishes the beats the core asks for at every tick. The
// thread waits in poll(2) on both and on an eventfd, so stop() wakes it at once.
//
// - Any error or disconnect, a subscription not confirmed within the connect timeout, or a
//   master found demoted: the cache is told lost() at once, both connections are closed and
//   the thread reconnects after a backoff (kSubscribeFirstBackoff, doubling up to
//   kSubscribeMaxBackoff; reset once a subscription is confirmed).
// - The thread touches only the cache (its own mutex), the shared beat board (atomics) and
//   BlockingRedis's master lookup (its own mutex); never a request's memory.
// - stop() returns within the time a connect and its handshake may take (connect timeout
//   plus the command timeout per handshake command) when it catches the thread there, and
//   at once otherwise.
#pragma once

#include <atomic>
#include <functional>
#include <memory>
#include <string>
#include <thread>

#include "authgate/cache_subscription.h"
#include "authgate/result.h"
#include "blocking_redis.h"

namespace authgate::hiredis {

inline constexpr Millis kSubscribeFirstBackoff = 50;
inline constexpr Millis kSubscribeMaxBackoff = 500; // a returning Redis is used again within ~0.5 s

class CacheSubscriber {
  public:
    enum class Event {
        lost, // the subscription is gone (detail: why); once per incident
        back, // confirmed again after a loss
    };
    // Called on the subscriber's thread; must not throw.
    using Log = std::function<void(Event, const std::string& detail)>;

    // Everything must outlive the subscriber; `clock` is the one the cache's readers use.
    CacheSubscriber(BlockingRedis& redis, SessionCache& cache, redis::BeatBoard& board,
                    const Clock& clock, Log log = {});
    ~CacheSubscriber();
    CacheSubscriber(const CacheSubscriber&) = delete;
    CacheSubscriber& operator=(const CacheSubscriber&) = delete;

    // Starts the thread (every signal blocked in it: the server's handlers run elsewhere).
    Result<void> start();
    // Wakes the thread, joins it and leaves the cache lost(). Idempotent.
    void stop() noexcept;

    struct Connection; // one connection of the thread (cache_subscriber.cpp)

  private:
    void run() noexcept;
    // One pair of connections, from connect to loss (or stop); returns why it ended.
    std::string serve();
    // Sleeps `ms`; false when stop() was called.
    bool pause(Millis ms) const;
    void report(Event event, const std::string& detail) noexcept;

    BlockingRedis& redis_;
    redis::CacheSubscription subscription_;
    const Clock& clock_;
    Log log_;
    int wake_fd_ = -1;
    std::atomic<bool> stopping_{false};
    bool lost_logged_ = false;
    std::thread thread_;
};

} // namespace authgate::hiredis
