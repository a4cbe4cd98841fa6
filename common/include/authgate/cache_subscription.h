// What a process's subscription to the store's announcements means to its SessionCache,
// with no I/O: which channels to SUBSCRIBE to, what each message on them does to the cache,
// and when to publish a heartbeat. Every adapter that runs a session cache over Redis
// (nginx's event loop, Apache's subscriber thread) feeds it the replies of its subscribed
// connection and asks it at every tick whether to beat.
//
// The cache is trusted only while a beat published at most the live window ago came back
// through the process's own subscription: every announcement published before the beat has
// then been delivered (Redis delivers in order), and a lost or silently stalled
// subscription stops the cache within the window (fail safe). What costs Redis is only the
// PUBLISH of the beats, so they are shared and made on demand:
// - the processes of one server subscribe to one beat channel, named by an id in a page
//   they share (BeatBoard, mapped before the fork); a beat reaches all of them;
// - on its tick a process publishes only if its cache was consulted within the cache's
//   max age (traffic relies on it: an entry lives no longer, so beating longer would keep
//   nothing usable) and no process of the server published within the beat interval (a
//   compare-and-swap on the shared page elects that interval's publisher).
// So a busy server publishes at most one beat per interval whatever its number of
// processes, and one idle for longer than the max age publishes nothing. After such a
// pause, the first lookups go to Redis (as they would anyway: every entry has expired)
// until the beat they caused comes back, one interval later.
#pragma once

#include <atomic>
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "authgate/ports.h"
#include "authgate/redis.h"
#include "authgate/session_cache.h"

namespace authgate::redis {

// The revocation guarantee is 100 ms: a process serves cached sessions only while a beat
// published at most kSessionCacheLiveWindow ago came back (the rest is margin for a cached
// clock, such as nginx's, as old as the current event-loop turn). A tick every
// kSessionCacheBeat; at most kSessionCacheEntries sessions per process (~0.5 KB each).
inline constexpr Millis kSessionCacheBeat = 20;
inline constexpr Millis kSessionCacheLiveWindow = 60;
inline constexpr std::size_t kSessionCacheEntries = 10000;
// A little under the tick, so that timer jitter does not skip every other interval.
inline constexpr Millis kSessionCacheBeatInterval = kSessionCacheBeat - 2;

// The cache's limits for a session_cache max age.
inline SessionCache::Limits session_cache_limits(Millis max_age) {
    return SessionCache::Limits{max_age, kSessionCacheEntries, kSessionCacheLiveWindow};
}

// One page shared by the processes of a server (mapped before they fork): the id names the
// server's beat channel; last_beat_ms elects, per interval, the one process that publishes.
struct BeatBoard {
    std::atomic<Millis> last_beat_ms{0};
    char id[17] = {}; // 16 hex digits
};
// Processes share the page: its atomics must not hide a lock in one process's memory.
static_assert(std::atomic<Millis>::is_always_lock_free);

// Fills board.id with 16 random hex digits.
void make_beat_id(BeatBoard& board, Random& random);

class CacheSubscription {
  public:
    // The board must outlive the subscription.
    CacheSubscription(SessionCache& cache, const Keyspace& keyspace, BeatBoard& board);

    const std::string& channel() const noexcept { return channel_; }
    const std::string& beat_channel() const noexcept { return beat_channel_; }
    // What a new subscribed connection sends first.
    std::vector<std::string> subscribe_command() const;

    // One reply read on the subscribed connection: announcements and beats go to the
    // cache; true when it confirmed the subscription (the beat channel, confirmed last).
    bool on_reply(const Reply& reply, Millis now);
    bool confirmed() const noexcept { return confirmed_; }
    // The subscription is gone (or was never confirmed): the cache stops and is emptied.
    void lost();

    // At every tick (every kSessionCacheBeat): the PUBLISH to send now, if any, already
    // formatted (RESP); valid until the next tick (one buffer, reused: a beat allocates
    // nothing once it has grown).
    std::optional<std::string_view> tick(Millis now);

  private:
    SessionCache& cache_;
    BeatBoard& board_;
    std::string channel_;      // <prefix>invalidate
    std::string beat_channel_; // <prefix>invalidate:<server id>
    std::string beat_command_; // the latest beat's PUBLISH
    bool confirmed_ = false;
    Millis last_demand_ms_ = -(Millis{1} << 40); // the cache's latest lookup, at a tick
};

} // namespace authgate::redis
