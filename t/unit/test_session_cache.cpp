// The per-worker session-lookup cache: liveness window, generation rule for in-flight
// reads, max age, bounded size (LRU), invalidation by store key, with a manual clock.
#include "support/support.h"

#include "authgate/session_cache.h"

using namespace authgate;

namespace {

constexpr Millis kT0 = 1'700'000'000'000;

Session session_of(const char* user) {
    Session s;
    s.user = user;
    s.created_ms = kT0;
    s.last_seen_ms = kT0;
    s.expires_ms = kT0 + 3'600'000;
    return s;
}

SessionCache::Limits limits(std::size_t entries = 4) {
    return SessionCache::Limits{1000, entries, 80};
}

bool found(SessionCache& c, std::string_view cookie, Millis now) {
    return static_cast<bool>(c.find(cookie, now));
}

// Subscribed at `now`, with a heartbeat just back.
void make_live(SessionCache& c, Millis now) {
    c.subscribed(now);
    c.heartbeat(now);
}

bool put(SessionCache& c, std::string_view cookie, std::string_view key, Millis now,
         const char* user = "alice") {
    auto t = c.begin_fill(now);
    if (!t) return false;
    return c.fill(*t, cookie, key, SessionId{}, session_of(user), now);
}

void unusable_until_subscribed_and_confirmed(void**) {
    SessionCache c(limits());
    assert_false(c.usable(kT0));
    assert_false(c.begin_fill(kT0).has_value());
    c.subscribed(kT0);
    assert_false(c.usable(kT0)); // no heartbeat through the new subscription yet
    c.heartbeat(kT0 - 1);        // sent before it: proves nothing
    assert_false(c.usable(kT0));
    c.heartbeat(kT0 + 5);
    assert_true(c.usable(kT0 + 5));
    assert_true(put(c, "cookie-a", "s:a", kT0 + 5));
    assert_true(found(c, "cookie-a", kT0 + 6));
}

void stale_heartbeat_stops_serving(void**) {
    SessionCache c(limits());
    make_live(c, kT0);
    assert_true(put(c, "cookie-a", "s:a", kT0));
    assert_true(found(c, "cookie-a", kT0 + 80));
    // No heartbeat came back for longer than the window: a silently dead link.
    assert_false(found(c, "cookie-a", kT0 + 81));
    assert_false(c.begin_fill(kT0 + 81).has_value());
    c.heartbeat(kT0 + 70); // a late one, sent while it still counted
    assert_true(found(c, "cookie-a", kT0 + 100));
}

// The wall clock going back neither extends an entry's life nor the proof of liveness.
void a_clock_going_back_proves_nothing(void**) {
    SessionCache c(limits());
    make_live(c, kT0);
    assert_true(put(c, "cookie-a", "s:a", kT0));
    Millis back = kT0 - 10'000;
    assert_false(c.usable(back));
    assert_false(found(c, "cookie-a", back));
    c.heartbeat(back); // sent "before" the subscription: off until the clock catches up
    assert_false(c.usable(back + 1));
    c.subscribed(back); // or the subscription is renewed
    c.heartbeat(back);
    assert_true(c.usable(back + 1));
    assert_false(found(c, "cookie-a", back + 1)); // inserted "in the future": dropped
    assert_int_equal(c.size(), 0);
}

void losing_the_subscription_flushes(void**) {
    SessionCache c(limits());
    make_live(c, kT0);
    assert_true(put(c, "cookie-a", "s:a", kT0));
    auto in_flight = c.begin_fill(kT0);
    c.lost();
    assert_int_equal(c.size(), 0);
    assert_false(c.usable(kT0));
    // Re-subscribed: the read started before the loss must not land.
    make_live(c, kT0 + 10);
    assert_false(c.fill(*in_flight, "cookie-b", "s:b", SessionId{}, session_of("bob"), kT0 + 10));
    assert_false(found(c, "cookie-a", kT0 + 10));
    assert_true(put(c, "cookie-b", "s:b", kT0 + 10));
}

void in_flight_read_is_not_inserted_after_an_invalidation(void**) {
    SessionCache c(limits());
    make_live(c, kT0);
    auto t = c.begin_fill(kT0);
    assert_true(t.has_value());
    c.invalidate("s:other"); // any announcement while the read was in flight
    assert_false(c.fill(*t, "cookie-a", "s:a", SessionId{}, session_of("alice"), kT0 + 1));
    assert_int_equal(c.size(), 0);
    auto again = c.begin_fill(kT0 + 1);
    assert_true(c.fill(*again, "cookie-a", "s:a", SessionId{}, session_of("alice"), kT0 + 1));
}

void invalidation_drops_by_store_key(void**) {
    SessionCache c(limits());
    make_live(c, kT0);
    assert_true(put(c, "cookie-a", "s:a", kT0));
    assert_true(put(c, "cookie-b", "s:b", kT0, "bob"));
    c.invalidate("s:a");
    assert_false(found(c, "cookie-a", kT0));
    assert_true(put(c, "cookie-a", "s:a", kT0));
    c.find("cookie-a", kT0).invalidate(); // by the entry's own key (ASan)
    assert_false(found(c, "cookie-a", kT0));
    auto b = c.find("cookie-b", kT0);
    assert_true(static_cast<bool>(b));
    assert_string_equal(b->session.user.c_str(), "bob");
    assert_string_equal(b->store_key.c_str(), "s:b");
}

void entries_expire_after_max_age(void**) {
    SessionCache c(limits());
    make_live(c, kT0);
    assert_true(put(c, "cookie-a", "s:a", kT0));
    for (Millis t = kT0 + 50; t < kT0 + 1000; t += 50) c.heartbeat(t);
    assert_true(found(c, "cookie-a", kT0 + 999));
    c.heartbeat(kT0 + 1000);
    assert_false(found(c, "cookie-a", kT0 + 1000));
    assert_int_equal(c.size(), 0);
}

void size_is_bounded_least_recently_used_first(void**) {
    SessionCache c(limits(3));
    make_live(c, kT0);
    assert_true(put(c, "c1", "s:1", kT0));
    assert_true(put(c, "c2", "s:2", kT0));
    assert_true(put(c, "c3", "s:3", kT0));
    assert_true(found(c, "c1", kT0)); // c2 is now the least recently used
    assert_true(put(c, "c4", "s:4", kT0));
    assert_int_equal(c.size(), 3);
    assert_false(found(c, "c2", kT0));
    assert_true(found(c, "c1", kT0));
    assert_true(found(c, "c3", kT0));
    assert_true(found(c, "c4", kT0));
    c.invalidate("s:2"); // already evicted: harmless
    assert_int_equal(c.size(), 3);
}

void same_session_under_a_new_cookie_replaces_the_entry(void**) {
    SessionCache c(limits());
    make_live(c, kT0);
    assert_true(put(c, "old-cookie", "s:a", kT0));
    assert_true(put(c, "new-cookie", "s:a", kT0));
    assert_int_equal(c.size(), 1);
    assert_false(found(c, "old-cookie", kT0));
    c.invalidate("s:a");
    assert_false(found(c, "new-cookie", kT0));
}

void lookups_match_whole_values_only(void**) {
    SessionCache c(limits());
    make_live(c, kT0);
    assert_true(put(c, "cookie-abc", "s:a", kT0));
    assert_false(found(c, "cookie-ab", kT0));
    assert_false(found(c, "cookie-abcd", kT0));
    assert_false(found(c, "cookie-abd", kT0));
    assert_false(found(c, "", kT0));
}

void zero_entries_disables(void**) {
    SessionCache c(limits(0));
    make_live(c, kT0);
    assert_false(c.begin_fill(kT0).has_value());
    assert_int_equal(c.size(), 0);
}

} // namespace

int main() {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(unusable_until_subscribed_and_confirmed),
        cmocka_unit_test(stale_heartbeat_stops_serving),
        cmocka_unit_test(a_clock_going_back_proves_nothing),
        cmocka_unit_test(losing_the_subscription_flushes),
        cmocka_unit_test(in_flight_read_is_not_inserted_after_an_invalidation),
        cmocka_unit_test(invalidation_drops_by_store_key),
        cmocka_unit_test(entries_expire_after_max_age),
        cmocka_unit_test(size_is_bounded_least_recently_used_first),
        cmocka_unit_test(same_session_under_a_new_cookie_replaces_the_entry),
        cmocka_unit_test(lookups_match_whole_values_only),
        cmocka_unit_test(zero_entries_disables),
    };
    return cmocka_run_group_tests(tests, nullptr, nullptr);
}
