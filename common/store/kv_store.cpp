// KvStore: the Store over a locked key -> (value, expiry) cache, written once for every
// adapter whose embedded store is such a cache (Apache: RegionKv, region_kv.h).
//
// Entry format in the cache: version byte (1), the expiry in Unix ms (8 bytes, little
// endian), the payload. The expiry is kept in the value because the cache cannot report
// it (a counter keeps its window) and because the store's own Clock decides what is live.
// Indexes and hash records are the payload encodings of store_keys.h (versioned,
// length-prefixed), one value each, as in the nginx shared-memory store. Anything that
// does not decode is absent, never a crash.
//
// Same rules as the shared-memory store: keys over 64 KiB and values over kMaxRecordBytes
// are refused with unavailable, and so is an entry over the cache's max_entry() (the shm
// store's "does not fit in the zone"); a refused update leaves the previous entry as it
// was (nothing is written: socache shmcb drops the old entry before it tries the new one,
// so the size is checked here, before put). A full index refuses instead of forgetting.
//
// RegionKv behaves as the nginx zone does (LRU eviction only when full, a failed put keeps
// the old entry, kept across restarts). The store was first written for socache shmcb,
// and still works over such a cache (the unit tests run it on a model of one); what that
// kind of cache cannot give, compared with the nginx zone:
// - Eviction is per subcache and by age of the write, not least recently used: reading a
//   session does not protect it. Replaced and removed entries keep their bytes until they
//   reach the head of the subcache's ring, so an entry that is not rewritten (a user
//   record, an index between sign-ins, an idle session, a used-state or jti marker) is
//   pushed out once about one subcache's data area has been written to its subcache,
//   however little of it is live: an entry's life is bounded by write volume, where the
//   nginx zone evicts only when its memory is full. A marker pushed out early lets its
//   state or jti be accepted again. The hash byte spreads keys so the churn is even;
//   only a larger cache makes this rarer.
// - The nginx store has no per-class key budgets to mirror: its protection against
//   anonymous clients is that they write nothing to any store (the flow state lives in
//   the sealed cookie, the login CSRF token is a MAC'd cookie, the used-state and jti
//   markers are written only after an IdP-signed answer verified). A budget could not be
//   kept inside one socache anyway (one eviction order per subcache, no accounting by
//   class); it would take a second cache instance.
// - The largest entry is one subcache's data area (a 512 KB cache: about 14 KB; 10 MB: 72 KB),
//   so a large index or user record is refused sooner than in nginx.
// - A graceful restart empties the cache: every session ends (nginx keeps its zone).
#include "authgate/kv_store.h"

#include <charconv>

#include "authgate/crypto.h"
#include "authgate/store_keys.h"

namespace authgate {

namespace {

constexpr std::uint8_t kEntryVersion = 1;
constexpr std::size_t kEntryHeader = 9; // version + 8-byte expiry
constexpr std::size_t kMaxKey = std::size_t{64} * 1024;

using State = LockedKv::Fetched::State;

std::uint8_t hash_byte(std::string_view key) {
    std::uint32_t h = 2166136261u; // FNV-1a
    for (unsigned char c : key) h = (h ^ c) * 16777619u;
    return static_cast<std::uint8_t>(h ^ (h >> 8) ^ (h >> 16) ^ (h >> 24));
}

std::string encode_entry(Millis expires_ms, std::string_view payload) {
    std::string out;
    out.reserve(kEntryHeader + payload.size());
    out.push_back(static_cast<char>(kEntryVersion));
    auto bits = static_cast<std::uint64_t>(expires_ms);
    for (int i = 0; i < 8; ++i) out.push_back(static_cast<char>((bits >> (8 * i)) & 0xff));
    out.append(payload);
    return out;
}

struct Entry {
    Millis expires_ms = 0;
    std::string_view payload;
};

std::optional<Entry> decode_entry(std::string_view raw) {
    if (raw.size() < kEntryHeader || static_cast<std::uint8_t>(raw[0]) != kEntryVersion) {
        return std::nullopt;
    }
    std::uint64_t bits = 0;
    for (int i = 0; i < 8; ++i) {
        bits |= std::uint64_t{static_cast<unsigned char>(raw[1 + i])} << (8 * i);
    }
    return Entry{static_cast<Millis>(bits), raw.substr(kEntryHeader)};
}

// The live entry at a key, or none (absent, expired or unreadable); failed: the cache
// could not be read, so the operation must not decide anything.
struct Live {
    bool failed = false;
    std::optional<Entry> entry;
};

// One critical section. Unlocks on every path (exceptions included), then reports a
// refusal to the adapter, outside the lock.
class Locked {
  public:
    explicit Locked(LockedKv& kv) : kv_(kv), held_(kv.lock()) {}
    ~Locked() {
        if (held_) kv_.unlock();
        if (refusal_) kv_.refused(*refusal_, refused_bytes_);
    }
    Locked(const Locked&) = delete;
    Locked& operator=(const Locked&) = delete;
    explicit operator bool() const { return held_; }

    // The view stays valid until the next call on the cache.
    Live read(std::string_view cache_key, Millis now) {
        LockedKv::Fetched f = kv_.fetch(cache_key);
        if (f.state == State::failed) return {true, std::nullopt};
        if (f.state == State::absent) return {};
        std::optional<Entry> e = decode_entry(f.value);
        if (!e || e->expires_ms <= now) return {};
        return {false, e};
    }

    StoreReply<bool> write(std::string_view cache_key, Millis expires_ms,
                           std::string_view payload) {
        std::size_t bytes = cache_key.size() + kEntryHeader + payload.size();
        bool key_too_long = cache_key.size() > kMaxKey + 1; // + the hash byte
        if (key_too_long || payload.size() > kMaxRecordBytes || bytes > kv_.max_entry()) {
            refuse(KvRefusal::too_large, bytes);
            return {StoreStatus::unavailable, false};
        }
        bool stored = kv_.put(cache_key, encode_entry(expires_ms, payload), expires_ms);
        return {stored ? StoreStatus::ok : StoreStatus::unavailable, stored};
    }

    bool erase(std::string_view cache_key) { return kv_.remove(cache_key); }

    void refuse(KvRefusal why, std::size_t bytes) {
        refusal_ = why;
        refused_bytes_ = bytes;
    }

  private:
    LockedKv& kv_;
    bool held_;
    std::optional<KvRefusal> refusal_;
    std::size_t refused_bytes_ = 0;
};

constexpr StoreReply<bool> kUnavailable{StoreStatus::unavailable, false};

// Checked before locking, like the shm store's fits().
bool acceptable(LockedKv& kv, std::string_view key, std::string_view value) {
    if (key.size() <= kMaxKey && value.size() <= kMaxRecordBytes) return true;
    kv.refused(KvRefusal::too_large, key.size() + value.size());
    return false;
}

} // namespace

std::string KvStore::cache_key(std::string_view key) {
    std::string out;
    if (key.size() >= 3) {
        out.reserve(1 + key.size());
        out.push_back(static_cast<char>(hash_byte(key)));
        out.append(key);
        return out;
    }
    // Short keys become 3 bytes (the key, zeros, its length) behind a flipped hash byte: a
    // longer key's cache key always starts with the unflipped hash of the rest, so the
    // two kinds never meet.
    char rest[3] = {0, 0, static_cast<char>(key.size())};
    key.copy(rest, key.size());
    std::string_view padded(rest, sizeof rest);
    out.push_back(static_cast<char>(hash_byte(padded) ^ 0x80));
    out.append(padded);
    return out;
}

StoreReply<std::optional<std::string>> KvStore::read_now(std::string_view key) {
    using Reply = StoreReply<std::optional<std::string>>;
    std::string ck = cache_key(key);
    Locked z(kv_);
    if (!z) return Reply{StoreStatus::unavailable, std::nullopt};
    Live live = z.read(ck, clock_.now_ms());
    if (live.failed) return Reply{StoreStatus::unavailable, std::nullopt};
    if (!live.entry) return Reply{};
    return Reply{StoreStatus::ok, std::string(live.entry->payload)};
}

// Under the lock like get, so every process sees a logout at once; compared in place.
std::optional<bool> KvStore::equals_now(std::string_view key, std::string_view expected) {
    std::string ck = cache_key(key);
    Locked z(kv_);
    if (!z) return std::nullopt;
    Live live = z.read(ck, clock_.now_ms());
    if (live.failed) return std::nullopt;
    if (!live.entry) return false;
    return crypto::constant_time_equal(live.entry->payload, expected);
}

// set (no condition), set_if_absent (only_if_absent) and compare_and_set (expected): the
// condition is read and the write made in one critical section.
StoreReply<bool> KvStore::write_now(std::string_view key, std::string_view value, Millis ttl_ms,
                                    std::optional<std::string_view> expected, bool only_if_absent) {
    if (!acceptable(kv_, key, value)) return kUnavailable;
    std::string ck = cache_key(key);
    Locked z(kv_);
    if (!z) return kUnavailable;
    Millis now = clock_.now_ms();
    if (expected || only_if_absent) {
        Live live = z.read(ck, now);
        if (live.failed) return kUnavailable;
        if (only_if_absent && live.entry) return {StoreStatus::ok, false};
        if (expected && (!live.entry || live.entry->payload != *expected)) {
            return {StoreStatus::ok, false};
        }
    }
    return z.write(ck, now + ttl_ms, value);
}

StoreReply<bool> KvStore::remove_now(std::string_view key) {
    std::string ck = cache_key(key);
    Locked z(kv_);
    if (!z) return kUnavailable;
    Live live = z.read(ck, clock_.now_ms());
    if (live.failed) return kUnavailable;
    if (!live.entry) return {StoreStatus::ok, false};
    // Found a moment ago under the same lock: a failed removal must not pass for a logout.
    if (!z.erase(ck)) return kUnavailable;
    return {StoreStatus::ok, true};
}

StoreReply<std::int64_t> KvStore::incr_now(std::string_view key, std::int64_t delta,
                                           Millis ttl_ms) {
    constexpr StoreReply<std::int64_t> kFailed{StoreStatus::unavailable, 0};
    std::string ck = cache_key(key);
    Locked z(kv_);
    if (!z) return kFailed;
    Millis now = clock_.now_ms();
    Live live = z.read(ck, now);
    if (live.failed) return kFailed;
    std::int64_t value = delta;
    Millis expires = now + ttl_ms;
    if (live.entry) {
        // As in the shm store: unparsable text counts from 0; a counter keeps its window.
        std::string_view stored = live.entry->payload;
        std::int64_t current = 0;
        std::from_chars(stored.data(), stored.data() + stored.size(), current);
        if (__builtin_add_overflow(current, delta, &value)) return kFailed;
        expires = live.entry->expires_ms;
    }
    char digits[24];
    auto end = std::to_chars(digits, digits + sizeof digits, value).ptr;
    std::string_view text(digits, static_cast<std::size_t>(end - digits));
    if (!z.write(ck, expires, text).value) return kFailed;
    return {StoreStatus::ok, value};
}

StoreReply<bool> KvStore::update_index(std::string_view index, std::string_view member,
                                       Millis expires_at_ms, bool remove, Millis now_ms) {
    std::string ck = cache_key(index);
    Locked z(kv_);
    if (!z) return kUnavailable;
    Live live = z.read(ck, clock_.now_ms());
    if (live.failed) return kUnavailable;
    std::optional<std::string_view> current;
    if (live.entry) current = live.entry->payload;
    IndexUpdate u = update_index_record(current, member, expires_at_ms, remove, now_ms);
    switch (u.outcome) {
    case IndexUpdate::Outcome::erase:
        if (live.entry && !z.erase(ck)) return kUnavailable;
        return {StoreStatus::ok, true};
    case IndexUpdate::Outcome::full: z.refuse(KvRefusal::index_full, 0); return kUnavailable;
    case IndexUpdate::Outcome::write: break;
    }
    return z.write(ck, u.expires_ms, u.value);
}

std::optional<StoreReply<limit::Verdict>>
KvStore::rate_limit_now(std::string_view key, const limit::Rule& rule, Millis now_ms) {
    using Reply = StoreReply<limit::Verdict>;
    const Reply failed{StoreStatus::unavailable, {}};
    std::string ck = cache_key(key);
    Locked z(kv_);
    if (!z) return failed;
    Live live = z.read(ck, now_ms);
    if (live.failed) return failed;
    std::optional<limit::Micros> tat;
    if (live.entry) tat = limit::decode_tat(live.entry->payload); // unreadable: none
    limit::Step step = limit::gcra(tat, rule, now_ms * 1000);
    if (step.write && !z.write(ck, now_ms + step.ttl_ms, limit::encode_tat(step.tat_us)).value) {
        return failed;
    }
    return Reply{StoreStatus::ok, step.verdict};
}

StoreReply<std::vector<std::string>> KvStore::members_now(std::string_view index, Millis now_ms) {
    using Reply = StoreReply<std::vector<std::string>>;
    std::string ck = cache_key(index);
    IndexEntries entries;
    {
        Locked z(kv_);
        if (!z) return Reply{StoreStatus::unavailable, {}};
        Live live = z.read(ck, clock_.now_ms());
        if (live.failed) return Reply{StoreStatus::unavailable, {}};
        if (live.entry && !decode_index(live.entry->payload, entries)) entries.clear();
    }
    sort_index(entries);
    std::vector<std::string> out;
    for (auto& [expires, member] : entries) {
        if (expires > now_ms) out.push_back(std::move(member));
    }
    return Reply{StoreStatus::ok, std::move(out)};
}

// Hash records never expire (but, as in the shm store, a full cache may evict them:
// durable records belong in Redis).
StoreReply<bool> KvStore::hash_set_now(std::string_view key, Fields fields) {
    std::string ck = cache_key(key);
    Locked z(kv_);
    if (!z) return kUnavailable;
    Live live = z.read(ck, clock_.now_ms());
    if (live.failed) return kUnavailable;
    std::optional<std::string_view> current;
    if (live.entry) current = live.entry->payload;
    std::optional<std::string> value = merged_record(current, std::move(fields));
    if (!value) {
        z.refuse(KvRefusal::too_large, kMaxRecordBytes);
        return kUnavailable;
    }
    return z.write(ck, kNeverExpires, *value);
}

StoreReply<std::optional<Store::Fields>> KvStore::hash_get_now(std::string_view key) {
    using Reply = StoreReply<std::optional<Fields>>;
    std::string ck = cache_key(key);
    Locked z(kv_);
    if (!z) return Reply{StoreStatus::unavailable, std::nullopt};
    Live live = z.read(ck, clock_.now_ms());
    if (live.failed) return Reply{StoreStatus::unavailable, std::nullopt};
    Fields fields;
    if (!live.entry || !decode_fields(live.entry->payload, fields)) return Reply{};
    return Reply{StoreStatus::ok, std::move(fields)};
}

} // namespace authgate
