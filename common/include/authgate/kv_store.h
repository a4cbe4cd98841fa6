// The whole Store over a plain shared cache of key -> (value, expiry) behind one lock: the
// adapter supplies LockedKv (Apache: RegionKv over a shared memory region, region_kv.h),
// the core does the rest.
//
// Every Store operation is one critical section (lock, read, decide, write, unlock), so
// compare_and_set, set_if_absent, incr, rate_limit and the index and hash read-modify-writes are
// atomic across every process and thread that shares the cache. The semantics are the nginx
// shared-memory store's (limits, refusals, a counter keeping its window, indexes and
// hashes as one value each); see kv_store.cpp for what a cache like socache would not give.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include "authgate/ports.h"

namespace authgate {

// Why a write was refused (told to the adapter for its log).
enum class KvRefusal {
    too_large,  // the entry is over the cache's max_entry() or the store's record limit
    index_full, // the index already holds kMaxIndexMembers live members
};

// What KvStore needs from the cache. Keys are binary and at least 4 bytes long; their first
// byte is a hash byte (a cache that shards by it, as socache shmcb does, spreads evenly).
class LockedKv {
  public:
    struct Fetched {
        enum class State { present, absent, failed };
        State state = State::absent;
        std::string_view value; // present: valid until the next call or unlock()
    };

    virtual ~LockedKv() = default;
    // One lock shared by every process and thread using the cache; false: not taken (the
    // operation then answers unavailable).
    virtual bool lock() = 0;
    virtual void unlock() noexcept = 0;

    // The calls below are made only between lock() and unlock().
    virtual Fetched fetch(std::string_view key) = 0;
    // Stores (replacing) the entry until expires_at_ms (Unix time). KvStore never passes an
    // entry over max_entry(); false means nothing was stored.
    virtual bool put(std::string_view key, std::string_view value, Millis expires_at_ms) = 0;
    // Whether an entry was removed.
    virtual bool remove(std::string_view key) = 0;

    // The largest key.size() + value.size() that put() always accepts.
    virtual std::size_t max_entry() const noexcept = 0;
    // Called outside the lock after a write was refused; `bytes` is the entry's size.
    virtual void refused(KvRefusal /*why*/, std::size_t /*bytes*/) noexcept {}
};

class KvStore final : public Store {
  public:
    // Both must outlive the store. The store holds no mutable state of its own: one
    // instance may serve every thread.
    KvStore(LockedKv& kv, const Clock& clock) : kv_(kv), clock_(clock) {}
    // The embedded shared-memory store, reported as such by /health on every server.
    std::string_view kind() const noexcept override { return "shm"; }

    Task<StoreReply<std::optional<std::string>>> get(std::string_view key) override;
    std::optional<bool> equals_now(std::string_view key, std::string_view expected) override;
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
    // One critical section: the TAT read, the GCRA step, its write (rate_limit, the base
    // class's, answers from here). Expiry is on the caller's now_ms, the step's clock.
    std::optional<StoreReply<limit::Verdict>>
    rate_limit_now(std::string_view key, const limit::Rule& rule, Millis now_ms) override;

    // The cache key for a store key: a hash byte, the key, and for keys under 3 bytes a
    // padding that keeps the mapping one-to-one. Exposed for tests and adapters' logs.
    static std::string cache_key(std::string_view key);
    // The expiry given to hash records, which never expire (year ~144,000; in microseconds
    // it still fits an int64).
    static constexpr Millis kNeverExpires = Millis{1} << 52;

  private:
    StoreReply<std::optional<std::string>> read_now(std::string_view key);
    StoreReply<bool> write_now(std::string_view key, std::string_view value, Millis ttl_ms,
                               std::optional<std::string_view> expected, bool only_if_absent);
    StoreReply<bool> remove_now(std::string_view key);
    StoreReply<std::int64_t> incr_now(std::string_view key, std::int64_t delta, Millis ttl_ms);
    StoreReply<bool> update_index(std::string_view index, std::string_view member,
                                  Millis expires_at_ms, bool remove, Millis now_ms);
    StoreReply<std::vector<std::string>> members_now(std::string_view index, Millis now_ms);
    StoreReply<bool> hash_set_now(std::string_view key, Fields fields);
    StoreReply<std::optional<Fields>> hash_get_now(std::string_view key);

    LockedKv& kv_;
    const Clock& clock_;
};

} // namespace authgate
