// A model of Apache's socache shmcb behind a real mutex, for KvStore tests (see below).
#pragma once

#include <algorithm>
#include <atomic>
#include <functional>
#include <iterator>
#include <list>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "authgate/kv_store.h"

namespace authgate::testing {

// Behaves like socache shmcb: the key's first byte picks a subcache; each subcache is a
// ring of entries in write order within a byte budget, where removed and replaced entries
// keep their bytes until they reach the head; a write first drops the key's old entry,
// reclaims removed or expired entries at the head, then evicts the oldest entries (live or
// not) until the new one fits; an entry over the budget or a key under 4 bytes is refused;
// expiry follows the manual clock. fetch copies the value into one buffer, scribbled over
// at unlock so that a view kept past the lock shows. Counts calls made without the lock.
class SocacheModel final : public LockedKv {
  public:
    static constexpr Millis kPlantedExpiry = Millis{1} << 50; // plant(): far future

    explicit SocacheModel(const Clock& clock, std::size_t subcaches = 4,
                          std::size_t subcache_bytes = 4096)
        : clock_(clock), rings_(subcaches), budget_(subcache_bytes) {}

    bool lock_fails = false;
    bool fetch_fails = false;
    std::atomic<int> unlocked_calls{0};
    std::atomic<int> refused_under_lock{0};
    std::vector<std::pair<KvRefusal, std::size_t>> refusals;

    bool lock() override {
        if (lock_fails) return false;
        mutex_.lock();
        owner_ = std::this_thread::get_id();
        return true;
    }
    void unlock() noexcept override {
        std::fill(buffer_.begin(), buffer_.end(), 'X');
        owner_ = std::thread::id();
        mutex_.unlock();
    }
    Fetched fetch(std::string_view key) override {
        check_held();
        if (fetch_fails) return {Fetched::State::failed, {}};
        Ring& ring = ring_of(key);
        auto it = ring.live.find(key);
        if (it == ring.live.end()) return {};
        if (it->second->expires_ms <= clock_.now_ms()) {
            drop(ring, it);
            return {};
        }
        buffer_ = it->second->value;
        return {Fetched::State::present, buffer_};
    }
    bool put(std::string_view key, std::string_view value, Millis expires_ms) override {
        check_held();
        if (key.size() < 4) return false;
        Ring& ring = ring_of(key);
        if (auto it = ring.live.find(key); it != ring.live.end()) drop(ring, it); // first
        std::size_t size = key.size() + value.size();
        if (size > budget_) return false;
        append(ring, key, std::string(value), expires_ms);
        return true;
    }
    bool remove(std::string_view key) override {
        check_held();
        Ring& ring = ring_of(key);
        auto it = ring.live.find(key);
        if (it == ring.live.end()) return false;
        drop(ring, it);
        return true;
    }
    std::size_t max_entry() const noexcept override { return budget_; }
    void refused(KvRefusal why, std::size_t bytes) noexcept override {
        if (held()) ++refused_under_lock;
        refusals.emplace_back(why, bytes);
    }

    // Test access, outside any operation.
    void plant(std::string_view key, std::string value) {
        Ring& ring = ring_of(key);
        if (auto it = ring.live.find(key); it != ring.live.end()) drop(ring, it);
        append(ring, key, std::move(value), kPlantedExpiry);
    }
    std::size_t live_entries() const {
        std::size_t n = 0;
        for (const auto& ring : rings_) {
            for (const auto& [key, item] : ring.live) n += item->expires_ms > clock_.now_ms();
        }
        return n;
    }
    std::vector<std::size_t> ring_sizes() const {
        std::vector<std::size_t> out;
        for (const auto& ring : rings_) out.push_back(ring.live.size());
        return out;
    }

  private:
    struct Item {
        std::string key, value;
        Millis expires_ms;
        bool removed;
    };
    struct Ring {
        std::list<Item> items; // oldest first, removed ones included
        std::map<std::string, std::list<Item>::iterator, std::less<>> live;
        std::size_t used = 0;
    };
    using Live = std::map<std::string, std::list<Item>::iterator, std::less<>>::iterator;

    Ring& ring_of(std::string_view key) {
        auto first = static_cast<unsigned char>(key.empty() ? 0 : key[0]);
        return rings_[first % rings_.size()];
    }
    static void drop(Ring& ring, Live it) {
        it->second->removed = true;
        ring.live.erase(it);
    }
    void pop_oldest(Ring& ring) {
        Item& oldest = ring.items.front();
        ring.used -= oldest.key.size() + oldest.value.size();
        if (!oldest.removed) ring.live.erase(oldest.key);
        ring.items.pop_front();
    }
    void append(Ring& ring, std::string_view key, std::string value, Millis expires_ms) {
        Millis now = clock_.now_ms();
        while (!ring.items.empty() &&
               (ring.items.front().removed || ring.items.front().expires_ms <= now)) {
            pop_oldest(ring);
        }
        std::size_t size = key.size() + value.size();
        while (!ring.items.empty() && ring.used + size > budget_) pop_oldest(ring);
        ring.items.push_back({std::string(key), std::move(value), expires_ms, false});
        ring.used += size;
        ring.live[std::string(key)] = std::prev(ring.items.end());
    }
    bool held() const { return owner_.load() == std::this_thread::get_id(); }
    void check_held() {
        if (!held()) ++unlocked_calls;
    }

    const Clock& clock_;
    std::vector<Ring> rings_;
    std::size_t budget_;
    std::mutex mutex_;
    std::atomic<std::thread::id> owner_;
    std::string buffer_;
};

} // namespace authgate::testing
