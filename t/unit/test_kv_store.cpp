// KvStore (the Store over a locked key -> (value, expiry) cache) on a model of Apache's
// socache shmcb: every operation, expiry on a manual clock, lost CAS races, index order and
// expiry, corrupt and oversized values, short keys, the rate-limit step, and 8 threads
// through one mutex.
#include "support/socache_model.h"
#include "support/sso_world.h"

#include <atomic>
#include <mutex>
#include <set>
#include <thread>

#include "authgate/gate.h"
#include "authgate/kv_store.h"
#include "authgate/store_keys.h"

using namespace authgate;
using namespace authgate::testing;

namespace {

constexpr Millis kNow = 1'700'000'000'000;

struct Kv {
    ManualClock clock{kNow};
    SocacheModel cache;
    KvStore store{cache, clock};
    explicit Kv(std::size_t subcaches = 4, std::size_t bytes = 4096)
        : cache(clock, subcaches, bytes) {}
    ~Kv() { assert_int_equal(cache.unlocked_calls.load(), 0); }
};

std::string value_of(Store& s, std::string_view key) {
    auto r = run(s.get(key));
    assert_true(r.ok());
    return r.value.value_or("<absent>");
}

// An entry as KvStore writes it: version 1, the expiry (8 bytes, little endian), the payload.
std::string entry_bytes(Millis expires_ms, const std::string& payload) {
    std::string out(1, '\x01');
    for (int i = 0; i < 8; ++i) out.push_back(static_cast<char>((expires_ms >> (8 * i)) & 0xff));
    return out + payload;
}

// The same checks against the test MemoryStore and KvStore: both follow the Store contract.
void conformance(Store& s, ManualClock& clock) {
    assert_string_equal(value_of(s, "s:one").c_str(), "<absent>");
    assert_true(run(s.set("s:one", "v1", 1000)).value);
    assert_string_equal(value_of(s, "s:one").c_str(), "v1");
    assert_true(run(s.set("s:one", "v2", 1000)).value);
    assert_string_equal(value_of(s, "s:one").c_str(), "v2");

    assert_false(run(s.set_if_absent("s:one", "other", 1000)).value);
    assert_true(run(s.set_if_absent("fu:state", "1", 1000)).value);
    assert_string_equal(value_of(s, "fu:state").c_str(), "1");

    assert_false(run(s.compare_and_set("s:one", "v1", "v3", 1000)).value);
    assert_true(run(s.compare_and_set("s:one", "v2", "v3", 1000)).value);
    assert_false(run(s.compare_and_set("s:none", "", "x", 1000)).value);
    assert_string_equal(value_of(s, "s:none").c_str(), "<absent>");

    assert_int_equal(run(s.incr("rl:a", 5, 1000)).value, 5);
    assert_int_equal(run(s.incr("rl:a", -2, 1000)).value, 3);
    assert_string_equal(value_of(s, "rl:a").c_str(), "3");

    assert_true(run(s.del("s:one")).value);
    assert_false(run(s.del("s:one")).value);

    Millis now = clock.now_ms();
    assert_true(run(s.index_add("u:{a}:sessions", "s:2", now + 200, now)).ok());
    assert_true(run(s.index_add("u:{a}:sessions", "s:1", now + 100, now)).ok());
    auto members = run(s.index_members("u:{a}:sessions", now)).value;
    assert_int_equal(members.size(), 2);
    assert_string_equal(members[0].c_str(), "s:1");
    assert_true(run(s.index_remove("u:{a}:sessions", "s:1")).ok());
    assert_int_equal(run(s.index_members("u:{a}:sessions", now)).value.size(), 1);

    assert_true(run(s.hash_set("u:{a}", {{"email", "a@x"}, {"name", "A"}})).value);
    assert_true(run(s.hash_set("u:{a}", {{"name", "B"}})).value);
    auto fields = run(s.hash_get("u:{a}")).value;
    assert_true(fields.has_value());
    assert_int_equal(fields->size(), 2);
    assert_string_equal((*fields)[1].second.c_str(), "B");
    assert_false(run(s.hash_get("u:{b}")).value.has_value());

    clock.advance(1000);
    assert_string_equal(value_of(s, "fu:state").c_str(), "<absent>");
    assert_string_equal(value_of(s, "rl:a").c_str(), "<absent>");
    assert_int_equal(run(s.index_members("u:{a}:sessions", clock.now_ms())).value.size(), 0);
    assert_true(run(s.hash_get("u:{a}")).value.has_value()); // hashes do not expire
}

void memory_store_and_kv_store_agree(void**) {
    ManualClock clock(kNow);
    MemoryStore memory(clock);
    conformance(memory, clock);
    Kv kv;
    conformance(kv.store, kv.clock);
    assert_string_equal(sv_to_string(kv.store.kind()).c_str(), "shm"); // as nginx's, in /health
    // What MemoryStore does not model: equals_now, answered inline under the lock.
    run(kv.store.set("s:x", "record", 1000));
    assert_true(*kv.store.equals_now("s:x", "record"));
    assert_false(*kv.store.equals_now("s:x", "recorD"));
    assert_false(*kv.store.equals_now("s:x", "record+"));
    assert_false(*kv.store.equals_now("s:gone", "record"));
}

void entries_expire_on_the_store_clock(void**) {
    Kv kv;
    run(kv.store.set("s:a", "v", 1000));
    kv.clock.advance(999);
    assert_string_equal(value_of(kv.store, "s:a").c_str(), "v");
    assert_true(*kv.store.equals_now("s:a", "v"));
    kv.clock.advance(1);
    assert_string_equal(value_of(kv.store, "s:a").c_str(), "<absent>");
    assert_false(*kv.store.equals_now("s:a", "v"));
    assert_false(run(kv.store.del("s:a")).value);
    assert_false(run(kv.store.compare_and_set("s:a", "v", "w", 1000)).value);
    assert_true(run(kv.store.set_if_absent("s:a", "new", 1000)).value);

    // A counter keeps its first window; after it a new one starts.
    assert_int_equal(run(kv.store.incr("c:1", 1, 1000)).value, 1);
    kv.clock.advance(600);
    assert_int_equal(run(kv.store.incr("c:1", 1, 1000)).value, 2);
    kv.clock.advance(400);
    assert_int_equal(run(kv.store.incr("c:1", 1, 1000)).value, 1);

    run(kv.store.hash_set("u:{a}", {{"k", "v"}}));
    kv.clock.advance(Millis{100} * 365 * 24 * 3600 * 1000);
    assert_true(run(kv.store.hash_get("u:{a}")).value.has_value());
}

// The CAS loses to any write or delete between the caller's read and its write.
void a_write_between_read_and_cas_wins(void**) {
    Kv kv;
    KvStore other_process(kv.cache, kv.clock);
    run(kv.store.set("s:a", "A", 1000));
    std::string seen = value_of(kv.store, "s:a");
    run(other_process.set("s:a", "B", 1000));
    assert_false(run(kv.store.compare_and_set("s:a", seen, "C", 1000)).value);
    assert_string_equal(value_of(kv.store, "s:a").c_str(), "B");

    seen = value_of(kv.store, "s:a");
    run(other_process.del("s:a"));
    assert_false(run(kv.store.compare_and_set("s:a", seen, "C", 1000)).value);
    assert_string_equal(value_of(kv.store, "s:a").c_str(), "<absent>"); // not revived
    assert_true(run(other_process.set_if_absent("s:a", "D", 1000)).value);
    assert_false(run(kv.store.set_if_absent("s:a", "E", 1000)).value);
}

void index_members_by_expiry_and_the_index_lives_with_the_last(void**) {
    Kv kv;
    Millis now = kv.clock.now_ms();
    std::string index = user_sessions_key("alice");
    run(kv.store.index_add(index, "late", now + 300, now));
    run(kv.store.index_add(index, "early", now + 100, now));
    run(kv.store.index_add(index, "middle", now + 200, now));
    auto m = run(kv.store.index_members(index, now)).value;
    assert_int_equal(m.size(), 3);
    assert_string_equal(m[0].c_str(), "early");
    assert_string_equal(m[1].c_str(), "middle");
    assert_string_equal(m[2].c_str(), "late");
    // Re-adding moves a member; a member already expired at now is not listed.
    run(kv.store.index_add(index, "early", now + 400, now));
    m = run(kv.store.index_members(index, now + 250)).value;
    assert_int_equal(m.size(), 2);
    assert_string_equal(m[0].c_str(), "late");
    assert_string_equal(m[1].c_str(), "early");
    // The entry itself expires with its last member.
    kv.clock.advance(399);
    assert_int_equal(run(kv.store.index_members(index, now)).value.size(), 3);
    kv.clock.advance(1);
    assert_int_equal(run(kv.store.index_members(index, now)).value.size(), 0);
    // Removing the last member removes the entry.
    now = kv.clock.now_ms();
    run(kv.store.index_add(index, "only", now + 100, now));
    assert_int_equal(kv.cache.live_entries(), 1);
    assert_true(run(kv.store.index_remove(index, "only")).value);
    assert_int_equal(kv.cache.live_entries(), 0);
    // Adding a member that has already expired adds nothing.
    assert_true(run(kv.store.index_add(index, "stale", now - 1, now)).value);
    assert_int_equal(kv.cache.live_entries(), 0);
}

void corrupt_values_are_absent(void**) {
    Kv kv;
    std::string good = entry_bytes(KvStore::kNeverExpires, "payload");
    const std::vector<std::string> broken = {
        "",                                    // empty
        "\x01\x02\x03",                        // truncated header
        "\x02" + std::string(8, '\x7f') + "x", // unknown version
    };
    for (const auto& raw : broken) {
        kv.cache.plant(KvStore::cache_key("s:k"), raw);
        assert_string_equal(value_of(kv.store, "s:k").c_str(), "<absent>");
        assert_false(*kv.store.equals_now("s:k", ""));
        assert_false(run(kv.store.del("s:k")).value);
        assert_false(run(kv.store.compare_and_set("s:k", "", "x", 1000)).value);
        kv.cache.plant(KvStore::cache_key("c:k"), raw);
        assert_int_equal(run(kv.store.incr("c:k", 7, 1000)).value, 7);
        kv.cache.plant(KvStore::cache_key("m:k"), raw);
        assert_true(run(kv.store.set_if_absent("m:k", "1", 1000)).value);
    }
    kv.cache.plant(KvStore::cache_key("s:k"), good);
    assert_string_equal(value_of(kv.store, "s:k").c_str(), "payload");

    // A valid entry whose payload is not an index or a hash record.
    kv.cache.plant(KvStore::cache_key("i:k"), good);
    assert_int_equal(run(kv.store.index_members("i:k", kNow)).value.size(), 0);
    assert_true(run(kv.store.index_add("i:k", "s:1", kNow + 10, kNow)).value); // starts over
    assert_int_equal(run(kv.store.index_members("i:k", kNow)).value.size(), 1);
    kv.cache.plant(KvStore::cache_key("u:{k}"), good);
    auto h = run(kv.store.hash_get("u:{k}"));
    assert_true(h.ok());
    assert_false(h.value.has_value());
    // An index cut short in the middle of its members lists none of them.
    std::string index = encode_index({{kNow + 10, "s:1"}, {kNow + 20, "s:2"}});
    std::string cut = entry_bytes(KvStore::kNeverExpires, index.substr(0, index.size() - 2));
    kv.cache.plant(KvStore::cache_key("i:cut"), cut);
    assert_int_equal(run(kv.store.index_members("i:cut", kNow)).value.size(), 0);
    // A counter whose text is not a number counts from 0, as in the shm store.
    run(kv.store.set("c:text", "abc", 1000));
    assert_int_equal(run(kv.store.incr("c:text", 2, 1000)).value, 2);
    run(kv.store.set("c:max", std::to_string(INT64_MAX), 1000));
    assert_false(run(kv.store.incr("c:max", 1, 1000)).ok()); // overflow: refused
    assert_string_equal(value_of(kv.store, "c:max").c_str(), std::to_string(INT64_MAX).c_str());
}

void oversized_entries_are_refused_and_the_old_one_stays(void**) {
    Kv kv(4, 4096);
    run(kv.store.set("s:big", "old", 1000));
    auto refused = run(kv.store.set("s:big", std::string(4096, 'x'), 1000));
    assert_false(refused.ok()); // as the shm store answers for a full zone
    assert_false(refused.value);
    assert_string_equal(value_of(kv.store, "s:big").c_str(), "old");
    assert_int_equal(kv.cache.refusals.size(), 1);
    assert_int_equal(static_cast<int>(kv.cache.refusals[0].first),
                     static_cast<int>(KvRefusal::too_large));
    assert_false(run(kv.store.compare_and_set("s:big", "old", std::string(5000, 'x'), 1000)).ok());
    assert_false(run(kv.store.set_if_absent("s:new", std::string(5000, 'x'), 1000)).ok());
    assert_string_equal(value_of(kv.store, "s:big").c_str(), "old");
    // The largest entry that fits: the cache key, the 9-byte header and the value.
    std::string key = "s:fit";
    std::size_t room = 4096 - KvStore::cache_key(key).size() - 9;
    assert_true(run(kv.store.set(key, std::string(room, 'y'), 1000)).value);
    assert_false(run(kv.store.set(key, std::string(room + 1, 'y'), 1000)).ok());
    assert_int_equal(value_of(kv.store, key).size(), room);
    // Keys over 64 KiB, as in the shm store.
    assert_false(run(kv.store.set(std::string(64 * 1024 + 1, 'k'), "v", 1000)).ok());
    assert_int_equal(kv.cache.refused_under_lock.load(), 0);

    // An index or a hash record that would grow over the entry limit keeps its old value.
    Millis now = kv.clock.now_ms();
    std::string member(200, 'm');
    int added = 0;
    while (run(kv.store.index_add("i:grow", member + std::to_string(added), now + 100, now)).ok())
        ++added;
    assert_true(added > 10);
    assert_int_equal(run(kv.store.index_members("i:grow", now)).value.size(), added);
    assert_true(run(kv.store.hash_set("u:{h}", {{"a", "1"}})).value);
    assert_false(run(kv.store.hash_set("u:{h}", {{"b", std::string(4096, 'z')}})).ok());
    auto kept = run(kv.store.hash_get("u:{h}"));
    assert_true(kept.value.has_value());
    assert_int_equal(kept.value.value_or(Store::Fields{}).size(), 1);
    assert_int_equal(kv.cache.refused_under_lock.load(), 0);
}

void a_full_index_refuses_instead_of_forgetting(void**) {
    Kv kv(1, 512 * 1024);
    Millis now = kv.clock.now_ms();
    // Filled through index_add up to the last member (faster than 4,096 adds under TSan).
    IndexEntries entries;
    for (std::size_t i = 0; i + 1 < kMaxIndexMembers; ++i) {
        entries.emplace_back(now + 10'000 + static_cast<Millis>(i), "s:" + std::to_string(i));
    }
    kv.cache.plant(KvStore::cache_key("i:full"), entry_bytes(now + 20'000, encode_index(entries)));
    assert_true(run(kv.store.index_add("i:full", "s:last", now + 20'000, now)).ok());
    assert_int_equal(run(kv.store.index_members("i:full", now)).value.size(), kMaxIndexMembers);
    kv.cache.refusals.clear();
    assert_false(run(kv.store.index_add("i:full", "s:late", now + 90'000, now)).ok());
    assert_int_equal(static_cast<int>(kv.cache.refusals.at(0).first),
                     static_cast<int>(KvRefusal::index_full));
    auto members = run(kv.store.index_members("i:full", now)).value;
    assert_int_equal(members.size(), kMaxIndexMembers);
    assert_string_equal(members.front().c_str(), "s:0");
    assert_string_equal(members.back().c_str(), "s:last");
    // Once the first member expires, there is room again.
    kv.clock.advance(10'001);
    assert_true(run(kv.store.index_add("i:full", "s:late", now + 90'000, kv.clock.now_ms())).ok());
}

// Every key maps to a distinct cache key of at least 4 bytes, short ones included.
void cache_keys_are_long_enough_and_distinct(void**) {
    const std::string alphabet = std::string("a\xff", 2) + std::string(1, '\0') + "\x01\x02";
    std::vector<std::string> keys = {""};
    for (int len = 1; len <= 3; ++len) {
        std::vector<std::string> longer;
        for (const auto& k : keys) {
            if (k.size() + 1 != static_cast<std::size_t>(len)) continue;
            for (char c : alphabet) longer.push_back(k + c);
        }
        keys.insert(keys.end(), longer.begin(), longer.end());
    }
    std::set<std::string> seen;
    for (const auto& k : keys) {
        std::string ck = KvStore::cache_key(k);
        assert_true(ck.size() >= 4);
        assert_true(seen.insert(ck).second);
    }
    assert_int_equal(seen.size(), 1 + 5 + 25 + 125);

    Kv kv;
    for (std::string_view k : std::vector<std::string_view>{"", "a", "ab", {"a\0\x01", 3}}) {
        assert_true(run(kv.store.set(k, "v:" + std::string(k), 1000)).value);
    }
    assert_string_equal(value_of(kv.store, "ab").c_str(), "v:ab");
    assert_string_equal(value_of(kv.store, "").c_str(), "v:");
    assert_int_equal(kv.cache.live_entries(), 4);
}

// The hash byte spreads session keys over the subcaches (shmcb: 500 keys with a shared
// prefix kept 110 of them).
void session_keys_spread_over_subcaches(void**) {
    Kv kv(32, 64 * 1024);
    for (int i = 0; i < 3200; ++i) {
        std::string key = "s:" + std::string(40, 'A') + std::to_string(i);
        assert_true(run(kv.store.set(key, "r", 100'000)).value);
    }
    for (std::size_t n : kv.cache.ring_sizes()) {
        assert_true(n > 50);
        assert_true(n < 150);
    }
}

// Pins socache's eviction, which KvStore cannot change: in a full subcache the oldest
// write goes first even when it was just read (the nginx zone evicts the least recently
// used).
void a_full_subcache_evicts_the_oldest_write_even_if_read(void**) {
    Kv kv(1, 1024);
    run(kv.store.set("s:first", std::string(300, 'a'), 10'000));
    run(kv.store.set("s:second", std::string(300, 'b'), 10'000));
    run(kv.store.set("s:third", std::string(300, 'c'), 10'000));
    assert_int_equal(value_of(kv.store, "s:first").size(), 300);
    run(kv.store.set("s:fourth", std::string(300, 'd'), 10'000));
    assert_string_equal(value_of(kv.store, "s:first").c_str(), "<absent>");
    assert_int_equal(value_of(kv.store, "s:second").size(), 300);
}

// Pins the other side of it: rewrites keep their old bytes until they scroll out, so an
// entry that is never rewritten leaves a subcache after enough writes to other keys, even
// when the live data is tiny. An entry's life in shmcb is bounded by the write volume in
// its subcache, not only by the cache's size.
void rewrites_of_other_keys_scroll_an_old_entry_out(void**) {
    Kv kv(1, 1024);
    run(kv.store.set("s:old", std::string(100, 'a'), 10'000));
    int writes = 0;
    while (value_of(kv.store, "s:old") != "<absent>") {
        run(kv.store.incr("c:busy", 1, 10'000));
        ++writes;
        assert_true(writes < 100);
    }
    assert_int_equal(kv.cache.live_entries(), 1); // only the counter is left
}

void an_unusable_cache_answers_unavailable(void**) {
    Kv kv;
    run(kv.store.set("s:a", "v", 1000));
    kv.cache.lock_fails = true;
    assert_false(run(kv.store.get("s:a")).ok());
    assert_false(kv.store.equals_now("s:a", "v").has_value());
    assert_false(run(kv.store.set("s:a", "w", 1000)).ok());
    assert_false(run(kv.store.del("s:a")).ok());
    assert_false(run(kv.store.incr("c:a", 1, 1000)).ok());
    assert_false(run(kv.store.index_add("i:a", "m", kNow + 10, kNow)).ok());
    assert_false(run(kv.store.index_members("i:a", kNow)).ok());
    assert_false(run(kv.store.hash_get("u:{a}")).ok());
    kv.cache.lock_fails = false;
    // A read that fails decides nothing: no marker is created, no logout reported.
    kv.cache.fetch_fails = true;
    assert_false(run(kv.store.set_if_absent("fu:x", "1", 1000)).ok());
    assert_false(run(kv.store.compare_and_set("s:a", "v", "w", 1000)).ok());
    assert_false(run(kv.store.del("s:a")).ok());
    assert_false(kv.store.equals_now("s:a", "v").has_value());
    assert_false(run(kv.store.hash_set("u:{a}", {{"k", "v"}})).ok());
    kv.cache.fetch_fails = false;
    assert_string_equal(value_of(kv.store, "s:a").c_str(), "v");
    assert_string_equal(value_of(kv.store, "fu:x").c_str(), "<absent>");
}

// Rate limits: one TAT per key, stepped under the lock.
limit::Verdict limited(Store& s, std::string_view key, const limit::Rule& rule, Millis now) {
    auto inline_reply = s.rate_limit_now(key, rule, now);
    assert_true(inline_reply.has_value());
    assert_true(inline_reply->ok());
    return inline_reply->value;
}

std::string tat_text(Millis now_ms, limit::Micros ahead_us) {
    return limit::encode_tat(now_ms * 1000 + ahead_us);
}

void a_burst_passes_exactly_then_refills_one_per_interval(void**) {
    Kv kv;
    const limit::Rule rule{.interval_us = 1'000'000, .burst = 3};
    for (std::int64_t i = 0; i < 3; ++i) {
        auto v = limited(kv.store, "r:z:a", rule, kNow);
        assert_true(v.allowed);
        assert_int_equal(v.limit, 3);
        assert_int_equal(v.remaining, 2 - i);
        assert_int_equal(v.retry_after_ms, 0);
        assert_int_equal(v.reset_ms, 1000 * (i + 1));
    }
    assert_string_equal(value_of(kv.store, "r:z:a").c_str(), tat_text(kNow, 3'000'000).c_str());
    auto refused = limited(kv.store, "r:z:a", rule, kNow);
    assert_false(refused.allowed);
    assert_int_equal(refused.remaining, 0);
    assert_int_equal(refused.retry_after_ms, 1000);
    assert_int_equal(refused.reset_ms, 3000);
    // 400 ms later: still refused, the wait shorter by as much; the refusals wrote nothing.
    kv.clock.advance(400);
    refused = limited(kv.store, "r:z:a", rule, kv.clock.now_ms());
    assert_false(refused.allowed);
    assert_int_equal(refused.retry_after_ms, 600);
    assert_int_equal(refused.reset_ms, 2600);
    assert_string_equal(value_of(kv.store, "r:z:a").c_str(), tat_text(kNow, 3'000'000).c_str());
    // One interval after the burst: exactly one more.
    kv.clock.advance(600);
    auto again = limited(kv.store, "r:z:a", rule, kv.clock.now_ms());
    assert_true(again.allowed);
    assert_int_equal(again.remaining, 0);
    assert_int_equal(again.reset_ms, 3000);
    assert_false(limited(kv.store, "r:z:a", rule, kv.clock.now_ms()).allowed);
    // Other keys count on their own.
    assert_int_equal(limited(kv.store, "r:z:b", rule, kv.clock.now_ms()).remaining, 2);
}

void a_rate_limit_entry_lives_until_its_burst_is_back(void**) {
    Kv kv;
    const limit::Rule rule{.interval_us = 1'000'000, .burst = 2};
    limited(kv.store, "r:z:a", rule, kNow);
    limited(kv.store, "r:z:a", rule, kNow);
    assert_false(limited(kv.store, "r:z:a", rule, kNow).allowed);
    kv.clock.advance(999);
    // A refusal does not extend it: the entry still ends 2000 ms after the last pass.
    assert_false(limited(kv.store, "r:z:a", rule, kv.clock.now_ms()).allowed);
    kv.clock.advance(1000);
    assert_string_equal(value_of(kv.store, "r:z:a").c_str(), tat_text(kNow, 2'000'000).c_str());
    kv.clock.advance(1);
    assert_string_equal(value_of(kv.store, "r:z:a").c_str(), "<absent>");
    assert_int_equal(limited(kv.store, "r:z:a", rule, kv.clock.now_ms()).remaining, 1);

    // Sub-millisecond intervals round the waits up, never to 0.
    Millis now = kv.clock.now_ms();
    const limit::Rule fast{.interval_us = 1500, .burst = 1};
    auto first = limited(kv.store, "r:f:a", fast, now);
    assert_true(first.allowed);
    assert_int_equal(first.reset_ms, 2);
    auto second = limited(kv.store, "r:f:a", fast, now);
    assert_false(second.allowed);
    assert_int_equal(second.retry_after_ms, 2);

    // A TAT that does not decode counts as none; one far ahead (a clock that went back) is
    // held to one window.
    kv.cache.plant(KvStore::cache_key("r:z:bad"), entry_bytes(now + 60'000, "12x"));
    assert_int_equal(limited(kv.store, "r:z:bad", rule, now).remaining, 1);
    kv.cache.plant(KvStore::cache_key("r:z:ahead"),
                   entry_bytes(now + 3'600'000, tat_text(now, 3'600'000'000)));
    auto ahead = limited(kv.store, "r:z:ahead", rule, now);
    assert_false(ahead.allowed);
    assert_int_equal(ahead.retry_after_ms, 1000);
    assert_int_equal(ahead.reset_ms, 2000);
}

void a_rate_limit_without_the_lock_or_the_write_is_unavailable(void**) {
    Kv kv;
    const limit::Rule rule{.interval_us = 1'000'000, .burst = 2};
    kv.cache.lock_fails = true;
    auto no_lock = kv.store.rate_limit_now("r:z:a", rule, kNow);
    assert_true(no_lock.has_value());
    assert_false(no_lock->ok());
    assert_false(run(kv.store.rate_limit("r:z:a", rule, kNow)).ok()); // no CAS fallback
    kv.cache.lock_fails = false;
    kv.cache.fetch_fails = true;
    assert_false(kv.store.rate_limit_now("r:z:a", rule, kNow)->ok());
    kv.cache.fetch_fails = false;
    assert_string_equal(value_of(kv.store, "r:z:a").c_str(), "<absent>");
    // An entry the cache cannot take: refused, and nothing counted.
    std::string key = "r:z:" + std::string(kv.cache.max_entry(), 'k');
    assert_false(kv.store.rate_limit_now(key, rule, kNow)->ok());
    assert_int_equal(kv.cache.refusals.size(), 1);
    assert_int_equal(kv.cache.live_entries(), 0);
    // Through rate_limit, the answer is the same step.
    auto v = run(kv.store.rate_limit("r:z:a", rule, kNow));
    assert_true(v.ok());
    assert_true(v.value.allowed);
    assert_int_equal(v.value.remaining, 1);
}

// A call on a worker thread: the store completes inline (no cmocka asserts off the main
// thread).
template <class T> T inline_result(Task<T> task) {
    task.start();
    if (!task.done()) std::abort();
    return task.result();
}

void eight_threads_count_exactly(void**) {
    Kv kv(8, 4 * 1024 * 1024); // no entry scrolls out: every marker stays
    constexpr int kThreads = 8;
    constexpr int kRounds = 2000;
    std::atomic<int> failures{0};
    std::atomic<int> markers_won{0};
    std::vector<std::thread> threads;
    for (int t = 0; t < kThreads; ++t) {
        threads.emplace_back([&, t] {
            for (int i = 0; i < kRounds; ++i) {
                if (!inline_result(kv.store.incr("c:hits", 1, 60'000)).ok()) ++failures;
                // A read-modify-write that retries when it loses, as the session touch does.
                for (;;) {
                    auto seen = inline_result(kv.store.get("c:cas"));
                    std::string current = seen.value.value_or("0");
                    std::string next = std::to_string(std::stoll(current) + 1);
                    auto swapped =
                        seen.value ? inline_result(
                                         kv.store.compare_and_set("c:cas", current, next, 60'000))
                                   : inline_result(kv.store.set_if_absent("c:cas", next, 60'000));
                    if (!swapped.ok()) ++failures;
                    if (swapped.value || !swapped.ok()) break;
                }
                if (i % 100 == 0) {
                    auto won = inline_result(
                        kv.store.set_if_absent("fu:" + std::to_string(i), "1", 60'000));
                    markers_won += won.value ? 1 : 0;
                }
            }
            Millis now = kv.clock.now_ms();
            auto added = inline_result(
                kv.store.index_add("u:{t}:sessions", "s:" + std::to_string(t), now + 1000, now));
            if (!added.ok()) ++failures;
        });
    }
    for (auto& th : threads) th.join();
    assert_int_equal(failures.load(), 0);
    assert_string_equal(value_of(kv.store, "c:hits").c_str(),
                        std::to_string(kThreads * kRounds).c_str());
    assert_string_equal(value_of(kv.store, "c:cas").c_str(),
                        std::to_string(kThreads * kRounds).c_str());
    assert_int_equal(markers_won.load(), kRounds / 100); // each marker created once
    auto members = run(kv.store.index_members("u:{t}:sessions", kv.clock.now_ms())).value;
    assert_int_equal(members.size(), kThreads);
}

// 8 threads, one key, a frozen clock: exactly the burst passes.
void eight_threads_pass_exactly_one_burst(void**) {
    Kv kv(8, 64 * 1024);
    const limit::Rule rule{.interval_us = 60'000'000, .burst = 500};
    constexpr int kThreads = 8, kRounds = 200;
    std::atomic<int> allowed{0}, failures{0};
    std::vector<std::thread> threads;
    for (int t = 0; t < kThreads; ++t) {
        threads.emplace_back([&] {
            for (int i = 0; i < kRounds; ++i) {
                auto r = inline_result(kv.store.rate_limit("r:z:hot", rule, kNow));
                if (!r.ok()) ++failures;
                if (r.value.allowed) ++allowed;
            }
        });
    }
    for (auto& th : threads) th.join();
    assert_int_equal(failures.load(), 0);
    assert_int_equal(allowed.load(), 500);
    assert_string_equal(value_of(kv.store, "r:z:hot").c_str(),
                        tat_text(kNow, 500 * rule.interval_us).c_str());
}

// A request through the gate with the given ports (SsoWorld's get() uses its MemoryStore).
Decision request_via(SsoWorld& w, Ports ports, Browser& b, const std::string& uri, bool endpoint) {
    std::string header = b.cookie_header();
    RequestView v;
    v.method = "GET";
    v.uri = uri;
    auto q = uri.find('?');
    v.path = std::string_view(uri).substr(0, q);
    v.query = q == std::string::npos ? std::string_view{} : std::string_view(uri).substr(q + 1);
    v.accept = "text/html";
    v.host = "app.example.com";
    if (!header.empty()) v.cookie_headers.push_back(header);
    auto d = endpoint ? run(handle_endpoint(ports, w.cfg, v)) : run(check_access(ports, w.cfg, v));
    b.take(d);
    return d;
}

// The gate's own flows run unchanged on KvStore: an SSO sign-in (used-state marker,
// session record, indexes), the hot path, a refused replay and a revocation.
void a_sign_in_and_a_revocation_run_on_the_kv_store(void**) {
    SigningKey key = new_rsa_key("k1");
    SsoWorld w(key);
    SocacheModel cache(w.clock, 32, 16 * 1024);
    KvStore kv(cache, w.clock);
    Ports ports{kv, w.clock, w.random, w.offload, w.http, w.providers};
    Browser b;
    auto start = request_via(w, ports, b, "/_authgate/sso/corp?rd=/app", true);
    assert_int_equal(start.status, 302);
    std::string state = query_param(start.location, "state");
    std::string nonce = query_param(start.location, "nonce");
    nlohmann::json extra = {{"preferred_username", "alice"}, {"sub", "sub-alice"}};
    nlohmann::json token = {
        {"access_token", "at"},
        {"token_type", "Bearer"},
        {"expires_in", 300},
        {"id_token", sign_jwt(key, claims_for(nonce, w.clock.now_ms(), extra).dump())}};
    w.http.routes[std::string(kIssuer) + "/token"] = {200, "application/json", token.dump()};
    std::string callback = "/_authgate/callback/corp?code=c1&state=" + state;
    Browser before_callback = b;
    assert_int_equal(request_via(w, ports, b, callback, true).status, 303);
    assert_int_equal(w.store.size(), 0); // everything went through KvStore
    assert_true(request_via(w, ports, b, "/app", false).allowed());
    assert_true(request_via(w, ports, b, "/app", false).allowed());
    auto sessions = run(kv.index_members(user_sessions_key("alice"), w.clock.now_ms())).value;
    assert_int_equal(sessions.size(), 1);

    assert_int_not_equal(request_via(w, ports, before_callback, callback, true).status, 303);
    assert_true(run(kv.del(sessions[0])).value);
    auto after = request_via(w, ports, b, "/app", false);
    assert_false(after.allowed());
    assert_int_equal(after.status, 302);
    assert_int_equal(cache.unlocked_calls.load(), 0);
}

} // namespace

int main() {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(memory_store_and_kv_store_agree),
        cmocka_unit_test(entries_expire_on_the_store_clock),
        cmocka_unit_test(a_write_between_read_and_cas_wins),
        cmocka_unit_test(index_members_by_expiry_and_the_index_lives_with_the_last),
        cmocka_unit_test(corrupt_values_are_absent),
        cmocka_unit_test(oversized_entries_are_refused_and_the_old_one_stays),
        cmocka_unit_test(a_full_index_refuses_instead_of_forgetting),
        cmocka_unit_test(cache_keys_are_long_enough_and_distinct),
        cmocka_unit_test(session_keys_spread_over_subcaches),
        cmocka_unit_test(a_full_subcache_evicts_the_oldest_write_even_if_read),
        cmocka_unit_test(rewrites_of_other_keys_scroll_an_old_entry_out),
        cmocka_unit_test(an_unusable_cache_answers_unavailable),
        cmocka_unit_test(a_burst_passes_exactly_then_refills_one_per_interval),
        cmocka_unit_test(a_rate_limit_entry_lives_until_its_burst_is_back),
        cmocka_unit_test(a_rate_limit_without_the_lock_or_the_write_is_unavailable),
        cmocka_unit_test(eight_threads_count_exactly),
        cmocka_unit_test(eight_threads_pass_exactly_one_burst),
        cmocka_unit_test(a_sign_in_and_a_revocation_run_on_the_kv_store),
    };
    return cmocka_run_group_tests(tests, nullptr, nullptr);
}
