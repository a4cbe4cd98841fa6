// A per-worker cache of session lookups in front of a shared store whose session writes
// are announced to every worker (Redis pub/sub). Pure: the adapter feeds it the
// announcements, the state of its subscription and the time; it never does I/O.
//
// Rules (each has a unit test):
// - Entries are served only while the subscription is live AND a heartbeat that went
//   through it was published at most `live_window` ago, so an announcement is never
//   missed for longer than that without the cache noticing (a silently dead link).
// - Losing the subscription empties the cache; after re-subscribing it fills again only
//   from lookups started after the subscription was confirmed.
// - A lookup started before any invalidation or flush (generation counter) is not
//   inserted: its answer may predate the write that was announced.
// - Each entry lives at most `max_age` (the flow also re-checks the session's own
//   expiry on every hit); at most `max_entries` entries, least recently used evicted.
// - Entries are keyed by the exact cookie value that passed MAC verification, compared
//   in constant time, so a hit proves what the MAC check proved.
//
// One per process, shared by its flows whatever thread they run on: every call takes one
// mutex (uncontended on nginx's single event loop: 55 instructions per hit, bench/locks);
// a Hit keeps it while the caller reads the entry.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <list>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>

#include "authgate/ports.h"
#include "authgate/request.h"
#include "authgate/session.h"

namespace authgate {

class UserDb; // the users file (users/), held here, never looked into
struct User;

class SessionCache {
  public:
    struct Limits {
        Millis max_age = 1000;
        std::size_t max_entries = 10000;
        Millis live_window = 60;
    };

    struct Entry {
        std::string cookie;    // the verified cookie value (map key)
        std::string store_key; // s:<hash>, as announced
        SessionId id;
        Session session;
        SharedIdentity identity; // session's identity fields, shared with decisions
        Millis inserted_ms = 0;
        Millis expires_ms = 0; // inserted + max_age (not served before inserted either)
        // The users file the entry's user was last looked up in, and what it held for them
        // (held, so the file's entries outlive the pointer): a hit then skips the lookup.
        // Written by the holder of a Hit only, under the cache's lock.
        mutable std::shared_ptr<const UserDb> users;
        mutable const User* in_file = nullptr;
    };

    // A lookup in progress: which generation its store read started in.
    struct Ticket {
        std::uint64_t generation = 0;
    };

    explicit SessionCache(Limits limits);
    SessionCache(const SessionCache&) = delete;
    SessionCache& operator=(const SessionCache&) = delete;

    // The subscription is confirmed at `now`: announcements are delivered from here on.
    void subscribed(Millis now);
    // The subscription (or the store connection) is gone: announcements may be missed.
    void lost();
    // A heartbeat published at `sent_ms` came back through the subscription: every
    // announcement published before it has been delivered.
    void heartbeat(Millis sent_ms);
    bool usable(Millis now) const;
    // Whether find() or begin_fill() ran since the previous call: traffic relies on the
    // cache (the adapter keeps the heartbeat going only then).
    bool take_demand() noexcept { return demand_.exchange(false, std::memory_order_relaxed); }

    // A found entry; the cache stays locked while the Hit lives (no other call of this
    // cache, no await meanwhile).
    class Hit {
      public:
        explicit operator bool() const noexcept { return entry_ != nullptr; }
        const Entry& operator*() const noexcept { return *entry_; }
        const Entry* operator->() const noexcept { return entry_; }
        // Drops the entry (the store decides instead) and unlocks.
        void invalidate();

      private:
        friend class SessionCache;
        std::unique_lock<std::mutex> lock_;
        SessionCache* cache_ = nullptr;
        const Entry* entry_ = nullptr;
    };

    // Empty on a miss, an expired entry, or while the cache is not usable.
    Hit find(std::string_view cookie, Millis now);
    // Call before reading the store; nullopt when the answer must not be cached.
    std::optional<Ticket> begin_fill(Millis now) const;
    // Inserts what the store answered; false when the ticket is stale or the cache is
    // not usable (nothing inserted).
    bool fill(const Ticket& ticket, std::string_view cookie, std::string_view store_key,
              const SessionId& id, const Session& session, Millis now);
    // A session was changed or ended (announced, or written by this worker).
    void invalidate(std::string_view store_key);
    void clear();

    std::size_t size() const;
    std::uint64_t generation() const;
    const Limits& limits() const { return limits_; }

  private:
    struct Hash {
        std::size_t operator()(std::string_view s) const noexcept;
    };
    struct ConstantTimeEqual {
        bool operator()(std::string_view a, std::string_view b) const noexcept;
    };
    using List = std::list<Entry>;

    bool usable_locked(Millis now) const;
    void invalidate_locked(std::string_view store_key);
    void clear_locked();
    void erase(List::iterator it);

    mutable std::mutex mutex_;

    Limits limits_;
    bool live_ = false;
    mutable std::atomic<bool> demand_{false};
    Millis subscribed_ms_ = 0;
    bool confirmed_ = false;  // a heartbeat came back through the current subscription
    Millis confirmed_ms_ = 0; // send time of the latest heartbeat that came back
    std::uint64_t generation_ = 1;
    List lru_; // most recently used first
    std::unordered_map<std::string_view, List::iterator, Hash, ConstantTimeEqual> by_cookie_;
    std::unordered_map<std::string_view, List::iterator> by_key_;
};

} // namespace authgate
