// Store::rate_limit's default (common/limit/store_limit.cpp) over a store that cannot answer
// inline: interleaved requests on one key each counted once (the get / compare-and-set loop
// retries when it loses), a loop that keeps losing ends unavailable; and MemoryStore's inline
// step, which the other unit tests use.
#include "support/deferred.h"
#include "support/support.h"

#include <algorithm>
#include <vector>

using namespace authgate;
using namespace authgate::testing;

namespace {

constexpr Millis kNow = 1'700'000'000'000;
constexpr limit::Micros kNowUs = kNow * 1000;
constexpr std::string_view kKey = "r:z:k";

struct Fixture {
    ManualClock clock{kNow};
    MemoryStore memory{clock};
    DeferredStore store{memory}; // no rate_limit_now: rate_limit takes the loop
};

std::string stored(MemoryStore& m) {
    auto r = run(m.get(kKey));
    assert_true(r.ok());
    return r.value.value_or("<absent>");
}

limit::Verdict finished(Task<StoreReply<limit::Verdict>>& t) {
    assert_true(t.done());
    auto r = t.result();
    assert_true(r.ok());
    return r.value;
}

// Both read "no entry", both try to create it: the second loses, reads the first one's TAT
// and counts on top of it.
void two_requests_creating_the_entry_are_both_counted(void**) {
    Fixture f;
    f.store.held = {"set_if_absent", "compare_and_set"};
    const limit::Rule rule{.interval_us = 1'000'000, .burst = 5};
    auto a = f.store.rate_limit(kKey, rule, kNow);
    auto b = f.store.rate_limit(kKey, rule, kNow);
    a.start();
    b.start();
    assert_int_equal(f.store.holds.waiting(), 2); // both read, both wait to write
    f.store.holds.release();
    limit::Verdict va = finished(a);
    assert_true(va.allowed);
    assert_int_equal(va.remaining, 4);
    f.store.holds.release(); // b's create loses; it reads a's TAT and waits on the CAS
    assert_false(b.done());
    assert_int_equal(f.store.holds.waiting(), 1);
    f.store.holds.release();
    limit::Verdict vb = finished(b);
    assert_true(vb.allowed);
    assert_int_equal(vb.remaining, 3); // a lost update would say 4
    assert_int_equal(vb.reset_ms, 2000);
    assert_string_equal(stored(f.memory).c_str(), limit::encode_tat(kNowUs + 2'000'000).c_str());
}

// On an existing entry both compare against the same TAT; the loser steps again, and when
// that step refuses it writes nothing.
void a_lost_compare_and_set_steps_again(void**) {
    Fixture f;
    const limit::Rule rule{.interval_us = 1'000'000, .burst = 3};
    assert_true(run(f.store.rate_limit(kKey, rule, kNow)).value.allowed); // 2 left
    f.store.held = {"compare_and_set"};
    auto a = f.store.rate_limit(kKey, rule, kNow);
    auto b = f.store.rate_limit(kKey, rule, kNow);
    auto c = f.store.rate_limit(kKey, rule, kNow);
    a.start();
    b.start();
    c.start();
    assert_int_equal(f.store.holds.waiting(), 3);
    f.store.holds.release(); // a wins
    assert_int_equal(finished(a).remaining, 1);
    f.store.holds.release(); // b loses, reads again, waits
    f.store.holds.release(); // c loses, reads again, waits
    assert_int_equal(f.store.holds.waiting(), 2);
    f.store.holds.release(); // b wins: the last of the burst
    limit::Verdict vb = finished(b);
    assert_true(vb.allowed);
    assert_int_equal(vb.remaining, 0);
    f.store.holds.release(); // c loses again, reads the full TAT: refused, nothing written
    limit::Verdict vc = finished(c);
    assert_false(vc.allowed);
    assert_int_equal(vc.retry_after_ms, 1000);
    assert_int_equal(vc.reset_ms, 3000);
    assert_int_equal(f.store.holds.waiting(), 0);
    assert_string_equal(stored(f.memory).c_str(), limit::encode_tat(kNowUs + 3'000'000).c_str());
}

// Another writer changes the TAT before every compare: after kMaxAttempts (16) lost races
// the request is answered unavailable, and the loop has written nothing of its own.
void a_loop_that_keeps_losing_is_unavailable(void**) {
    Fixture f;
    const limit::Rule rule{.interval_us = 1'000'000, .burst = 100};
    assert_true(run(f.store.rate_limit(kKey, rule, kNow)).value.allowed);
    f.store.held = {"compare_and_set"};
    auto t = f.store.rate_limit(kKey, rule, kNow);
    t.start();
    int attempts = 0;
    std::string last;
    while (!t.done()) {
        assert_int_equal(f.store.holds.waiting(), 1);
        ++attempts;
        last = limit::encode_tat(kNowUs + 1'000'000 + attempts);
        assert_true(run(f.memory.set(kKey, last, 60'000)).value);
        f.store.holds.release();
    }
    assert_int_equal(attempts, 16);
    assert_false(t.result().ok());
    assert_string_equal(stored(f.memory).c_str(), last.c_str());
}

// Six requests through the loop with every store call completing later, in both orders:
// exactly the burst of four passes.
void deferred_completions_count_exactly(void**) {
    for (Completion mode : {Completion::deferred_oldest_first, Completion::deferred_newest_first}) {
        Fixture f;
        completions().mode = mode;
        const limit::Rule rule{.interval_us = 1'000'000, .burst = 4};
        std::vector<Task<StoreReply<limit::Verdict>>> tasks;
        for (int i = 0; i < 6; ++i) tasks.push_back(f.store.rate_limit(kKey, rule, kNow));
        for (auto& t : tasks) t.start();
        while (completions().step()) {}
        completions().mode = Completion::inline_now;
        int allowed = 0;
        std::vector<std::int64_t> remaining;
        for (auto& t : tasks) {
            limit::Verdict v = finished(t);
            if (v.allowed) {
                ++allowed;
                remaining.push_back(v.remaining);
            }
        }
        assert_int_equal(allowed, 4);
        std::sort(remaining.begin(), remaining.end());
        for (std::size_t i = 0; i < remaining.size(); ++i) {
            assert_int_equal(remaining[i], static_cast<std::int64_t>(i)); // 0, 1, 2, 3: no twins
        }
        assert_string_equal(stored(f.memory).c_str(),
                            limit::encode_tat(kNowUs + 4'000'000).c_str());
    }
}

void an_unreachable_store_is_unavailable(void**) {
    Fixture f;
    f.memory.down = true;
    const limit::Rule rule{.interval_us = 1'000'000, .burst = 2};
    assert_false(run(f.store.rate_limit(kKey, rule, kNow)).ok());
    auto now = f.memory.rate_limit_now(kKey, rule, kNow);
    assert_true(now.has_value());
    assert_false(now->ok());
}

// MemoryStore answers inline with the same step; its entry expires on the manual clock.
void the_memory_store_steps_inline(void**) {
    Fixture f;
    const limit::Rule rule{.interval_us = 500'000, .burst = 2};
    auto first = f.memory.rate_limit_now(kKey, rule, kNow);
    assert_true(first.has_value());
    assert_int_equal(first->value.remaining, 1);
    assert_int_equal(first->value.reset_ms, 500);
    assert_int_equal(run(f.memory.rate_limit(kKey, rule, kNow)).value.remaining, 0);
    auto refused = f.memory.rate_limit_now(kKey, rule, kNow);
    assert_false(refused->value.allowed);
    assert_int_equal(refused->value.retry_after_ms, 500);
    assert_int_equal(refused->value.reset_ms, 1000);
    assert_string_equal(stored(f.memory).c_str(), limit::encode_tat(kNowUs + 1'000'000).c_str());
    f.clock.advance(999);
    assert_int_equal(f.memory.size(), 1);
    f.clock.advance(1);
    assert_string_equal(stored(f.memory).c_str(), "<absent>");
}

} // namespace

int main() {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(two_requests_creating_the_entry_are_both_counted),
        cmocka_unit_test(a_lost_compare_and_set_steps_again),
        cmocka_unit_test(a_loop_that_keeps_losing_is_unavailable),
        cmocka_unit_test(deferred_completions_count_exactly),
        cmocka_unit_test(an_unreachable_store_is_unavailable),
        cmocka_unit_test(the_memory_store_steps_inline),
    };
    return cmocka_run_group_tests(tests, nullptr, nullptr);
}
