// RegionKv (the LockedKv over a shared memory region): put/fetch/remove and expiry, the
// header check on attach, two mappings at different addresses, LRU eviction only when
// full, an allocator that gives everything back after random churn, threads and forked
// processes sharing it, and recovery when a lock holder is killed.
#include "support/support.h"

#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <csignal>
#include <cstring>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "authgate/kv_store.h"
#include "authgate/region_kv.h"

using namespace authgate;
using namespace authgate::testing;

namespace {

constexpr Millis kNow = 1'700'000'000'000;
constexpr Millis kLater = kNow + 60'000;
constexpr std::size_t kKiB = 1024;

// An anonymous shared mapping, as the Apache module makes one before forking.
class Mapping {
  public:
    explicit Mapping(std::size_t bytes) : bytes_(bytes) {
        void* p = mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
        assert_true(p != MAP_FAILED);
        base_ = p;
    }
    ~Mapping() { munmap(base_, bytes_); }
    Mapping(const Mapping&) = delete;
    Mapping& operator=(const Mapping&) = delete;
    void* base() const { return base_; }
    std::size_t bytes() const { return bytes_; }

  private:
    void* base_;
    std::size_t bytes_;
};

struct Events {
    std::atomic<int> owner_died{0};
    std::atomic<int> evicting{0};
    std::atomic<int> refused{0};
    RegionLog hook() {
        return [this](RegionEvent e, std::size_t) {
            if (e == RegionEvent::owner_died) ++owner_died;
            if (e == RegionEvent::evicting) ++evicting;
            if (e == RegionEvent::refused_too_large || e == RegionEvent::refused_index_full) {
                ++refused;
            }
        };
    }
};

struct Region {
    Mapping map;
    ManualClock clock{kNow};
    Events events;
    RegionKv kv;
    explicit Region(std::size_t bytes = 256 * kKiB)
        : map(bytes), kv((assert_true(RegionKv::init(map.base(), bytes)), map.base()), bytes, clock,
                         events.hook()) {}
};

std::string fetched(RegionKv& kv, std::string_view key) {
    assert_true(kv.lock());
    auto f = kv.fetch(key);
    std::string out =
        f.state == LockedKv::Fetched::State::present ? std::string(f.value) : "<absent>";
    kv.unlock();
    return out;
}

bool stored(RegionKv& kv, std::string_view key, std::string_view value, Millis expires = kLater) {
    assert_true(kv.lock());
    bool ok = kv.put(key, value, expires);
    kv.unlock();
    return ok;
}

bool removed(RegionKv& kv, std::string_view key) {
    assert_true(kv.lock());
    bool ok = kv.remove(key);
    kv.unlock();
    return ok;
}

std::size_t entries_of(RegionKv& kv) {
    assert_true(kv.lock());
    std::size_t n = kv.entries();
    kv.unlock();
    return n;
}

void put_fetch_remove_and_expiry(void**) {
    Region r;
    assert_string_equal(fetched(r.kv, "k:one").c_str(), "<absent>");
    assert_true(stored(r.kv, "k:one", "v1"));
    assert_true(stored(r.kv, "k:two", "v2"));
    assert_string_equal(fetched(r.kv, "k:one").c_str(), "v1");
    assert_true(stored(r.kv, "k:one", std::string(3000, 'x'))); // replaced, larger
    assert_int_equal(fetched(r.kv, "k:one").size(), 3000);
    assert_true(stored(r.kv, "k:one", "small"));
    assert_string_equal(fetched(r.kv, "k:one").c_str(), "small");
    assert_int_equal(entries_of(r.kv), 2);
    assert_true(removed(r.kv, "k:one"));
    assert_false(removed(r.kv, "k:one"));
    assert_string_equal(fetched(r.kv, "k:one").c_str(), "<absent>");
    assert_string_equal(fetched(r.kv, "k:two").c_str(), "v2");
    // Binary keys, an empty value.
    std::string binary("\0\x01\xff\0", 4);
    assert_true(stored(r.kv, binary, ""));
    assert_string_equal(fetched(r.kv, binary).c_str(), "");
    assert_string_equal(fetched(r.kv, std::string("\0\x01\xff\x01", 4)).c_str(), "<absent>");

    // Expiry on the clock: gone at expires_at_ms, and removed when fetched.
    assert_true(stored(r.kv, "k:exp", "v", kNow + 100));
    r.clock.advance(99);
    assert_string_equal(fetched(r.kv, "k:exp").c_str(), "v");
    r.clock.advance(1);
    std::size_t before = entries_of(r.kv);
    assert_string_equal(fetched(r.kv, "k:exp").c_str(), "<absent>");
    assert_int_equal(entries_of(r.kv), before - 1);

    // The largest entry fits; one byte more is refused and the old value stays.
    std::size_t room = r.kv.max_entry() - 5;
    assert_true(stored(r.kv, "k:big", std::string(room, 'b')));
    assert_false(stored(r.kv, "k:big", std::string(room + 1, 'b')));
    assert_int_equal(fetched(r.kv, "k:big").size(), room);
    assert_true(r.kv.max_entry() >= 64 * kKiB); // the heap's largest power of two, less a header
}

// KvStore over the region: the Store operations, and refusals reported through the hook.
void kv_store_runs_on_the_region(void**) {
    Region r;
    KvStore store(r.kv, r.clock);
    assert_true(run(store.set("s:a", "A", 1000)).value);
    assert_true(run(store.compare_and_set("s:a", "A", "B", 1000)).value);
    assert_false(run(store.set_if_absent("s:a", "C", 1000)).value);
    assert_string_equal(run(store.get("s:a")).value.value_or("").c_str(), "B");
    assert_int_equal(run(store.incr("c:n", 3, 1000)).value, 3);
    assert_true(run(store.index_add("u:{a}:sessions", "s:a", kNow + 500, kNow)).ok());
    assert_int_equal(run(store.index_members("u:{a}:sessions", kNow)).value.size(), 1);
    assert_true(run(store.hash_set("u:{a}", {{"name", "A"}})).value);
    assert_true(run(store.del("s:a")).value);
    r.clock.advance(1000);
    assert_false(run(store.get("c:n")).value.has_value());
    assert_true(run(store.hash_get("u:{a}")).value.has_value());
    assert_false(run(store.set("s:huge", std::string(r.kv.max_entry(), 'x'), 1000)).ok());
    assert_int_equal(r.events.refused.load(), 1);
}

void attach_checks_the_header(void**) {
    Mapping map(64 * kKiB);
    assert_false(RegionKv::attachable(map.base(), map.bytes())); // zeroed: never formatted
    std::memset(map.base(), 0xa5, map.bytes());
    assert_false(RegionKv::attachable(map.base(), map.bytes()));
    assert_false(RegionKv::init(map.base(), RegionKv::kMinBytes - 1));
    assert_true(RegionKv::init(map.base(), map.bytes()));
    assert_true(RegionKv::attachable(map.base(), map.bytes()));
    assert_false(RegionKv::attachable(map.base(), map.bytes() - 4096)); // another size
    // Another layout version.
    auto* words = static_cast<std::uint32_t*>(map.base());
    ++words[2];
    assert_false(RegionKv::attachable(map.base(), map.bytes()));
    --words[2];
    assert_true(RegionKv::attachable(map.base(), map.bytes()));
    auto* magic = static_cast<std::uint64_t*>(map.base());
    *magic ^= 1;
    assert_false(RegionKv::attachable(map.base(), map.bytes()));
}

// The same memory mapped twice at different addresses: what one mapping writes, the other
// reads, so nothing in the region depends on where it is mapped.
void two_mappings_at_different_addresses_share_it(void**) {
    constexpr std::size_t kBytes = 128 * kKiB;
    int fd = memfd_create("authgate-region-test", 0);
    assert_true(fd >= 0);
    assert_int_equal(ftruncate(fd, kBytes), 0);
    void* a = mmap(nullptr, kBytes, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    void* b = mmap(nullptr, kBytes, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    close(fd);
    assert_true(a != MAP_FAILED && b != MAP_FAILED && a != b);
    ManualClock clock(kNow);
    assert_true(RegionKv::init(a, kBytes, 0x9c1f52e07ab3d468ull)); // both read the seed
    assert_true(RegionKv::attachable(b, kBytes));
    RegionKv kv_a(a, kBytes, clock, nullptr);
    RegionKv kv_b(b, kBytes, clock, nullptr);
    for (int i = 0; i < 50; ++i) {
        assert_true(stored(kv_a, "k:" + std::to_string(i), "v" + std::to_string(i)));
    }
    assert_true(removed(kv_b, "k:7"));
    assert_true(stored(kv_b, "k:b", "from b"));
    for (int i = 0; i < 50; ++i) {
        std::string want = i == 7 ? "<absent>" : "v" + std::to_string(i);
        assert_string_equal(fetched(kv_b, "k:" + std::to_string(i)).c_str(), want.c_str());
    }
    assert_string_equal(fetched(kv_a, "k:b").c_str(), "from b");
    munmap(a, kBytes);
    munmap(b, kBytes);
}

// Eviction only when an allocation fails, least recently used first (a fetch counts as a
// use); expired entries go before anything live.
void a_full_region_evicts_the_least_recently_used(void**) {
    Region r(64 * kKiB);
    std::string value(400, 'v'); // one 512-byte block each
    int n = 0;
    while (r.events.evicting.load() == 0) {
        assert_true(stored(r.kv, "k:" + std::to_string(n), value));
        if (n == 5) assert_int_equal(fetched(r.kv, "k:0").size(), 400); // k:0 used again
        ++n;
        assert_true(n < 1000);
    }
    int capacity = n - 1; // the store before the write that evicted
    assert_true(capacity > 50);
    assert_int_equal(fetched(r.kv, "k:0").size(), 400);            // recently used: kept
    assert_string_equal(fetched(r.kv, "k:1").c_str(), "<absent>"); // the coldest went
    for (int i = n - 20; i < n; ++i)
        assert_int_equal(fetched(r.kv, "k:" + std::to_string(i)).size(), 400);
    assert_int_equal(r.events.evicting.load(), 1); // said once

    // Expired entries are reclaimed before live ones are evicted.
    std::size_t live = entries_of(r.kv);
    Region e(64 * kKiB);
    for (int i = 0; i < static_cast<int>(live); ++i) {
        Millis expires = i % 2 == 0 ? kNow + 10 : kLater;
        assert_true(stored(e.kv, "k:" + std::to_string(i), value, expires));
    }
    e.clock.advance(10);
    for (int i = 0; i < static_cast<int>(live) / 2 - 2; ++i) {
        assert_true(stored(e.kv, "new:" + std::to_string(i), value));
    }
    for (int i = 1; i < static_cast<int>(live); i += 2) {
        assert_int_equal(fetched(e.kv, "k:" + std::to_string(i)).size(), 400);
    }
    assert_int_equal(e.events.evicting.load(), 0);
}

// Random sizes, replacements and removals, then everything removed: the allocator has
// merged every block back (the whole capacity free, the largest entry fits again).
void random_churn_gives_everything_back(void**) {
    Region r(512 * kKiB);
    assert_true(r.kv.lock());
    std::size_t capacity = r.kv.capacity();
    assert_int_equal(r.kv.free_bytes(), capacity);
    r.kv.unlock();
    std::mt19937 rng(42);
    std::uniform_int_distribution<int> key_of(0, 499);
    std::uniform_int_distribution<std::size_t> small(0, 700);
    std::uniform_int_distribution<std::size_t> large(0, 20'000);
    std::uniform_int_distribution<int> action(0, 9);
    for (int round = 0; round < 20'000; ++round) {
        std::string key = "k:" + std::to_string(key_of(rng));
        int a = action(rng);
        if (a < 2) {
            removed(r.kv, key);
        } else {
            std::size_t size = a == 9 ? large(rng) : small(rng);
            Millis expires = a == 8 ? r.clock.now_ms() + 5 : kLater + 1'000'000;
            assert_true(stored(r.kv, key, std::string(size, static_cast<char>('a' + a)), expires));
        }
        if (round % 1000 == 0) r.clock.advance(10);
    }
    for (int i = 0; i < 500; ++i) removed(r.kv, "k:" + std::to_string(i));
    assert_true(r.kv.lock());
    assert_int_equal(r.kv.entries(), 0);
    assert_int_equal(r.kv.free_bytes(), capacity);
    r.kv.unlock();
    assert_true(stored(r.kv, "k:max", std::string(r.kv.max_entry() - 5, 'm')));
}

// A value as its key predicts it, so a reader can tell a torn or mixed-up entry.
std::string value_for(const std::string& key, std::size_t size) {
    std::string v = key + "|";
    while (v.size() < size) v += key;
    return v.substr(0, std::max(size, key.size() + 1));
}

// A call on a worker thread: the store completes inline (no cmocka asserts off the main
// thread).
template <class T> T inline_result(Task<T> task) {
    task.start();
    if (!task.done()) std::abort();
    return task.result();
}

void threads_hammer_it(void**) {
    Region r(128 * kKiB); // small: eviction runs all the time
    KvStore store(r.kv, r.clock);
    constexpr int kThreads = 8;
    constexpr int kRounds = 3000;
    std::atomic<int> bad{0};
    std::vector<std::thread> threads;
    threads.reserve(kThreads);
    for (int t = 0; t < kThreads; ++t) {
        threads.emplace_back([&, t] {
            std::mt19937 rng(static_cast<unsigned>(t));
            for (int i = 0; i < kRounds; ++i) {
                std::string key = "k:" + std::to_string(rng() % 300);
                std::size_t size = 10 + rng() % 1500;
                if (!r.kv.lock()) {
                    ++bad;
                    continue;
                }
                switch (rng() % 4) {
                case 0:
                    if (!r.kv.put(key, value_for(key, size), kLater)) ++bad;
                    break;
                case 1: r.kv.remove(key); break;
                default: {
                    auto f = r.kv.fetch(key);
                    std::string got(f.value);
                    if (f.state == LockedKv::Fetched::State::present &&
                        got != value_for(key, got.size())) {
                        ++bad;
                    }
                }
                }
                r.kv.unlock();
                if (!inline_result(store.incr("c:hits", 1, 600'000)).ok()) ++bad;
            }
        });
    }
    for (auto& th : threads) th.join();
    assert_int_equal(bad.load(), 0);
    // The counter is one small entry, touched every round: never the least recently used.
    assert_string_equal(run(store.get("c:hits")).value.value_or("").c_str(),
                        std::to_string(kThreads * kRounds).c_str());
}

// A child process writes, the parent reads; then both write at once.
void a_forked_child_writes_what_the_parent_reads(void**) {
    Region r;
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        bool ok = true;
        for (int i = 0; i < 200; ++i) {
            std::string key = "child:" + std::to_string(i);
            if (!r.kv.lock()) _exit(2);
            ok = ok && r.kv.put(key, value_for(key, 100), kLater);
            r.kv.unlock();
        }
        _exit(ok ? 0 : 1);
    }
    for (int i = 0; i < 200; ++i) {
        std::string key = "parent:" + std::to_string(i);
        assert_true(stored(r.kv, key, value_for(key, 100)));
    }
    int status = 0;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
    for (int i = 0; i < 200; ++i) {
        for (const char* who : {"child:", "parent:"}) {
            std::string key = who + std::to_string(i);
            assert_string_equal(fetched(r.kv, key).c_str(), value_for(key, 100).c_str());
        }
    }
}

// A process killed while it holds the lock (in the middle of a write, as far as anyone
// knows): the next lock() empties the table, says so, and the store works on.
void a_holder_killed_with_the_lock_is_recovered_from(void**) {
    Region r;
    KvStore store(r.kv, r.clock);
    for (int i = 0; i < 20; ++i) assert_true(stored(r.kv, "k:" + std::to_string(i), "before"));
    int ready[2];
    assert_int_equal(pipe(ready), 0);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        close(ready[0]);
        if (!r.kv.lock()) _exit(2);
        r.kv.put("k:half", "written", kLater);
        char c = 'x';
        if (write(ready[1], &c, 1) != 1) _exit(3);
        for (;;) pause(); // holds the lock until killed
    }
    close(ready[1]);
    char c = 0;
    assert_int_equal(read(ready[0], &c, 1), 1);
    close(ready[0]);
    kill(pid, SIGKILL);
    int status = 0;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFSIGNALED(status));

    assert_int_equal(r.events.owner_died.load(), 0);
    assert_true(r.kv.lock());
    assert_int_equal(r.events.owner_died.load(), 1);
    assert_int_equal(r.kv.entries(), 0);
    assert_int_equal(r.kv.free_bytes(), r.kv.capacity());
    r.kv.unlock();
    assert_string_equal(fetched(r.kv, "k:0").c_str(), "<absent>");
    assert_string_equal(fetched(r.kv, "k:half").c_str(), "<absent>");
    assert_true(run(store.set("s:after", "works", 1000)).value);
    assert_string_equal(run(store.get("s:after")).value.value_or("").c_str(), "works");
    assert_int_equal(r.events.owner_died.load(), 1); // once
}

// With block_signals, a SIGTERM that arrives while the lock is held waits for unlock():
// the process dies after its write, not in the middle of it, and nothing is lost.
void a_signal_waits_until_the_lock_is_released(void**) {
    Mapping map(64 * kKiB);
    ManualClock clock(kNow);
    Events events;
    assert_true(RegionKv::init(map.base(), map.bytes()));
    RegionKv kv(map.base(), map.bytes(), clock, events.hook(), true);
    assert_true(stored(kv, "k:before", "kept"));
    int ready[2];
    assert_int_equal(pipe(ready), 0);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        close(ready[0]);
        if (!kv.lock()) _exit(2);
        char c = 'x';
        if (write(ready[1], &c, 1) != 1) _exit(3);
        sigset_t pending;
        do {
            sigpending(&pending);
        } while (sigismember(&pending, SIGTERM) == 0);
        kv.put("k:during", "finished", kLater);
        kv.unlock(); // SIGTERM is delivered here
        _exit(4);
    }
    close(ready[1]);
    char c = 0;
    assert_int_equal(read(ready[0], &c, 1), 1);
    close(ready[0]);
    kill(pid, SIGTERM);
    int status = 0;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFSIGNALED(status));
    assert_int_equal(WTERMSIG(status), SIGTERM);
    assert_string_equal(fetched(kv, "k:during").c_str(), "finished");
    assert_string_equal(fetched(kv, "k:before").c_str(), "kept");
    assert_int_equal(events.owner_died.load(), 0);
    // And the caller's own mask is back as it was.
    sigset_t now;
    pthread_sigmask(SIG_BLOCK, nullptr, &now);
    assert_int_equal(sigismember(&now, SIGTERM), 0);
}

} // namespace

int main() {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(put_fetch_remove_and_expiry),
        cmocka_unit_test(kv_store_runs_on_the_region),
        cmocka_unit_test(attach_checks_the_header),
        cmocka_unit_test(two_mappings_at_different_addresses_share_it),
        cmocka_unit_test(a_full_region_evicts_the_least_recently_used),
        cmocka_unit_test(random_churn_gives_everything_back),
        cmocka_unit_test(threads_hammer_it),
        cmocka_unit_test(a_forked_child_writes_what_the_parent_reads),
        cmocka_unit_test(a_holder_killed_with_the_lock_is_recovered_from),
        cmocka_unit_test(a_signal_waits_until_the_lock_is_released),
    };
    return cmocka_run_group_tests(tests, nullptr, nullptr);
}
