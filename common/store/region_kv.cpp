// RegionKv: the hash table, LRU list and lock of a shared region (see authgate/region_kv.h;
// layout in region_layout.h, allocator in region_buddy.h).
#include "authgate/region_kv.h"

#include <cerrno>
#include <csignal>
#include <cstring>
#include <new>

#include "region_buddy.h"
#include "region_layout.h"

namespace authgate {

namespace {

using region::Entry;
using region::Header;
using region::kUnit;

// Expected bytes per entry (a session's block): a full region's chains stay about 1 long.
constexpr std::size_t kBytesPerBucket = 512;
constexpr std::size_t kMinBuckets = 64;
constexpr Millis kSweepInterval = 1000;

Header& header_of(void* base) { return *static_cast<Header*>(base); }

// Eight bytes per step (a session key is 46 bytes: byte-wise FNV was most of a fetch),
// then a final mix; seeded per region (Header::hash_seed). Keys built from what a client
// sends are digests anyway (store_keys.cpp); the seed is the second line.
std::uint64_t hash_of(std::string_view key, std::uint64_t seed) {
    constexpr std::uint64_t kMul = 0x9e3779b97f4a7c15ull;
    std::uint64_t h = (seed ^ key.size()) * kMul;
    std::size_t i = 0;
    for (; i + 8 <= key.size(); i += 8) {
        std::uint64_t w;
        std::memcpy(&w, key.data() + i, 8);
        h = ((h ^ w) * kMul);
        h ^= h >> 29;
    }
    std::uint64_t tail = 0;
    if (i < key.size()) std::memcpy(&tail, key.data() + i, key.size() - i);
    h = (h ^ tail) * kMul;
    h ^= h >> 33;
    h *= 0xff51afd7ed558ccdull;
    return h ^ (h >> 33);
}

// The table's operations on one region, under its lock.
class Table {
  public:
    explicit Table(unsigned char* base)
        : base_(base), h_(*reinterpret_cast<Header*>(base)), buddy_(base, h_) {}

    void format() {
        std::memset(base_ + h_.buckets_off, 0, h_.bucket_count * sizeof(std::uint64_t));
        buddy_.format();
        h_.lru_head = h_.lru_tail = 0;
        h_.entries = 0;
        h_.next_sweep_ms = 0;
        h_.evicting_logged = 0;
    }

    Entry& at(std::uint64_t off) { return *reinterpret_cast<Entry*>(base_ + off); }
    std::string_view key_of(const Entry& e) const {
        return {reinterpret_cast<const char*>(&e + 1), e.key_len};
    }
    std::string_view value_of(const Entry& e) const {
        return {reinterpret_cast<const char*>(&e + 1) + e.key_len, e.value_len};
    }

    std::uint64_t find(std::string_view key, std::uint64_t hash) {
        for (std::uint64_t off = bucket(hash); off != 0; off = at(off).bucket_next) {
            const Entry& e = at(off);
            if (e.hash == hash && key_of(e) == key) return off;
        }
        return 0;
    }

    void touch(std::uint64_t off) {
        if (h_.lru_head == off) return;
        lru_unlink(off);
        lru_push(off);
    }

    void erase(std::uint64_t off) {
        Entry& e = at(off);
        std::uint64_t* link = &bucket(e.hash);
        while (*link != off) link = &at(*link).bucket_next;
        *link = e.bucket_next;
        lru_unlink(off);
        buddy_.release(off);
        --h_.entries;
    }

    // Frees every expired entry but `keep`.
    void sweep(Millis now, std::uint64_t keep) {
        for (std::uint64_t off = h_.lru_tail; off != 0;) {
            std::uint64_t towards_head = at(off).lru_prev;
            if (off != keep && at(off).expires_ms <= now) erase(off);
            off = towards_head;
        }
    }

    // A block of `bytes`: expired entries are reclaimed first (a full sweep at most once a
    // second), then the least recently used are evicted. `keep` (the entry to be replaced)
    // goes last: only once everything else is gone, which leaves the heap empty.
    std::uint64_t allocate(std::size_t bytes, Millis now, std::uint64_t& keep,
                           const RegionLog& log) {
        std::uint64_t off = buddy_.allocate(bytes);
        // (A clock set back must not postpone the next sweep for as long.)
        if (off == 0 && (now >= h_.next_sweep_ms || h_.next_sweep_ms > now + kSweepInterval)) {
            h_.next_sweep_ms = now + kSweepInterval;
            sweep(now, keep);
            off = buddy_.allocate(bytes);
        }
        if (keep != 0) touch(keep);
        while (off == 0 && h_.lru_tail != 0) {
            std::uint64_t victim = h_.lru_tail;
            if (victim == keep) keep = 0; // the last one left
            if (at(victim).expires_ms > now && h_.evicting_logged == 0) {
                h_.evicting_logged = 1;
                if (log) log(RegionEvent::evicting, h_.region_bytes);
            }
            erase(victim);
            off = buddy_.allocate(bytes);
        }
        return off;
    }

    void link(std::uint64_t off, std::uint64_t hash) {
        Entry& e = at(off);
        std::uint64_t& head = bucket(hash);
        e.bucket_next = head;
        head = off;
        lru_push(off);
        ++h_.entries;
    }

  private:
    std::uint64_t& bucket(std::uint64_t hash) {
        auto* buckets = reinterpret_cast<std::uint64_t*>(base_ + h_.buckets_off);
        return buckets[hash & (h_.bucket_count - 1)];
    }
    void lru_unlink(std::uint64_t off) {
        Entry& e = at(off);
        if (e.lru_prev != 0) {
            at(e.lru_prev).lru_next = e.lru_next;
        } else {
            h_.lru_head = e.lru_next;
        }
        if (e.lru_next != 0) {
            at(e.lru_next).lru_prev = e.lru_prev;
        } else {
            h_.lru_tail = e.lru_prev;
        }
    }
    void lru_push(std::uint64_t off) {
        Entry& e = at(off);
        e.lru_prev = 0;
        e.lru_next = h_.lru_head;
        if (h_.lru_head != 0) at(h_.lru_head).lru_prev = off;
        h_.lru_head = off;
        if (h_.lru_tail == 0) h_.lru_tail = off;
    }

    unsigned char* base_;
    Header& h_;
    region::Buddy buddy_;
};

// The holder's signal mask from before lock() (block_signals): one lock per thread at a time.
thread_local sigset_t t_saved_mask;

bool make_mutex(pthread_mutex_t* mutex) {
    pthread_mutexattr_t attr;
    if (pthread_mutexattr_init(&attr) != 0) return false;
    bool ok = pthread_mutexattr_setpshared(&attr, PTHREAD_PROCESS_SHARED) == 0 &&
              pthread_mutexattr_setrobust(&attr, PTHREAD_MUTEX_ROBUST) == 0 &&
              pthread_mutex_init(mutex, &attr) == 0;
    pthread_mutexattr_destroy(&attr);
    return ok;
}

} // namespace

bool RegionKv::init(void* base, std::size_t bytes, std::uint64_t seed) noexcept {
    if (base == nullptr || bytes < kMinBytes || reinterpret_cast<std::uintptr_t>(base) % 8 != 0) {
        return false;
    }
    auto* raw = static_cast<unsigned char*>(base);
    std::memset(raw, 0, sizeof(Header));
    auto* h = new (raw) Header{};
    h->version = region::kLayoutVersion;
    h->header_bytes = sizeof(Header);
    h->region_bytes = bytes;
    h->hash_seed = seed;

    std::size_t head = region::round_up(sizeof(Header), kUnit);
    std::size_t buckets = kMinBuckets;
    while (buckets * 2 * kBytesPerBucket <= bytes) buckets *= 2;
    h->buckets_off = head;
    h->bucket_count = buckets;
    h->meta_off = head + buckets * sizeof(std::uint64_t);
    // Heap units and their meta bytes share what is left.
    std::size_t units = (bytes - h->meta_off) / (kUnit + 1);
    for (;; --units) {
        std::size_t heap_off = region::round_up(h->meta_off + units, kUnit);
        if (heap_off + units * kUnit <= bytes) {
            h->heap_off = heap_off;
            break;
        }
    }
    h->heap_bytes = units * kUnit;
    unsigned order = 0;
    while (order + 1 < region::kOrders && (kUnit << (order + 1)) <= h->heap_bytes) ++order;
    h->max_order = order;

    if (!make_mutex(&h->mutex)) return false;
    Table(raw).format();
    __atomic_store_n(&h->magic, region::kMagic, __ATOMIC_RELEASE);
    return true;
}

bool RegionKv::attachable(const void* base, std::size_t bytes) noexcept {
    if (base == nullptr || bytes < kMinBytes) return false;
    const auto& h = *static_cast<const Header*>(base);
    return __atomic_load_n(&h.magic, __ATOMIC_ACQUIRE) == region::kMagic &&
           h.version == region::kLayoutVersion && h.header_bytes == sizeof(Header) &&
           h.region_bytes == bytes && h.heap_off + h.heap_bytes <= bytes &&
           h.max_order < region::kOrders && (h.bucket_count & (h.bucket_count - 1)) == 0;
}

RegionKv::RegionKv(void* base, std::size_t bytes, const Clock& clock, RegionLog log,
                   bool block_signals)
    : base_(static_cast<unsigned char*>(base)), clock_(clock), log_(std::move(log)),
      block_signals_(block_signals) {
    (void)bytes;
    max_entry_ = (kUnit << header_of(base_).max_order) - sizeof(Entry);
}

bool RegionKv::lock() {
    Header& h = header_of(base_);
    if (block_signals_) {
        sigset_t all;
        sigfillset(&all);
        pthread_sigmask(SIG_BLOCK, &all, &t_saved_mask);
    }
    int rc = pthread_mutex_lock(&h.mutex);
    if (rc == 0) return true;
    if (rc == EOWNERDEAD) {
        // The holder died mid-operation: nothing in the table can be trusted.
        Table(base_).format();
        pthread_mutex_consistent(&h.mutex);
        if (log_) log_(RegionEvent::owner_died, h.region_bytes);
        return true;
    }
    if (block_signals_) pthread_sigmask(SIG_SETMASK, &t_saved_mask, nullptr);
    if (log_) log_(RegionEvent::lock_failed, static_cast<std::size_t>(rc));
    return false;
}

void RegionKv::unlock() noexcept {
    pthread_mutex_unlock(&header_of(base_).mutex);
    if (block_signals_) pthread_sigmask(SIG_SETMASK, &t_saved_mask, nullptr);
}

LockedKv::Fetched RegionKv::fetch(std::string_view key) {
    Table t(base_);
    std::uint64_t off = t.find(key, hash_of(key, header_of(base_).hash_seed));
    if (off == 0) return {};
    if (t.at(off).expires_ms <= clock_.now_ms()) {
        t.erase(off);
        return {};
    }
    t.touch(off);
    return {Fetched::State::present, t.value_of(t.at(off))};
}

bool RegionKv::put(std::string_view key, std::string_view value, Millis expires_at_ms) {
    if (key.size() + value.size() > max_entry_) return false;
    Table t(base_);
    std::uint64_t hash = hash_of(key, header_of(base_).hash_seed);
    std::uint64_t old = t.find(key, hash);
    std::uint64_t off =
        t.allocate(sizeof(Entry) + key.size() + value.size(), clock_.now_ms(), old, log_);
    if (off == 0) return false;
    if (old != 0) t.erase(old);
    Entry& e = t.at(off);
    e.expires_ms = expires_at_ms;
    e.hash = hash;
    e.key_len = static_cast<std::uint32_t>(key.size());
    e.value_len = static_cast<std::uint32_t>(value.size());
    auto* data = reinterpret_cast<char*>(&e + 1);
    std::memcpy(data, key.data(), key.size());
    std::memcpy(data + key.size(), value.data(), value.size());
    t.link(off, hash);
    return true;
}

bool RegionKv::remove(std::string_view key) {
    Table t(base_);
    std::uint64_t off = t.find(key, hash_of(key, header_of(base_).hash_seed));
    if (off == 0) return false;
    t.erase(off);
    return true;
}

void RegionKv::refused(KvRefusal why, std::size_t bytes) noexcept {
    if (!log_) return;
    log_(why == KvRefusal::index_full ? RegionEvent::refused_index_full
                                      : RegionEvent::refused_too_large,
         bytes);
}

std::size_t RegionKv::entries() const noexcept { return header_of(base_).entries; }
std::size_t RegionKv::free_bytes() const noexcept { return header_of(base_).free_bytes; }
std::size_t RegionKv::capacity() const noexcept { return header_of(base_).heap_bytes; }

} // namespace authgate
