// Regression (issue 8, item 3): a logout while a request awaits the store or the IdP
// used to be undone by the request's write-back (idle touch, SSO refresh), reviving the
// session outside every index. Interleavings run on a store and an IdP that answer when
// the test says so.
#include "support/deferred.h"
#include "support/sso_world.h"

#include <nlohmann/json.hpp>

#include "authgate/gate.h"
#include "authgate/session.h"
#include "authgate/store_keys.h"
#include "sso/identity.h"

using namespace authgate;
using namespace authgate::testing;
using nlohmann::json;

namespace {

SigningKey* g_key = nullptr;

struct Fixture : SsoWorld {
    DeferredStore slow_store{store};
    DeferredHttp slow_http{http};
    explicit Fixture(const std::string& provider_args = "") : SsoWorld(*g_key, provider_args) {}
    Ports slow_ports() { return Ports{slow_store, clock, random, offload, slow_http, providers}; }

    std::string only_session_key() {
        auto sessions = run(list_user_sessions(store, "alice", clock.now_ms()));
        assert_int_equal(sessions.value.size(), 1);
        return sessions.value[0].store_key;
    }
    std::size_t session_records() const {
        std::size_t n = 0;
        for (const auto& [k, v] : store.entries()) n += is_session_key(k) ? 1 : 0;
        return n;
    }
    // Everything of alice's in the store: session records and index entries.
    void assert_nothing_left() {
        assert_int_equal(session_records(), 0);
        Millis now = clock.now_ms();
        assert_int_equal(run(store.index_members(user_sessions_key("alice"), now)).value.size(), 0);
        assert_int_equal(
            run(store.index_members(sid_index_key("corp", "idp-session-1"), now)).value.size(), 0);
        assert_int_equal(run(store.index_members(sub_index_key("corp", "sub-1"), now)).value.size(),
                         0);
    }
};

RequestView page_request(const Browser& b, std::string& header) {
    header = b.cookie_header();
    RequestView v;
    v.method = "GET";
    v.uri = "/app";
    v.path = "/app";
    v.accept = "text/html";
    v.host = "app.example.com";
    v.cookie_headers.push_back(header);
    return v;
}

// The token endpoint answers with a rotated refresh token (and no ID token).
void rotate_to(Fixture& f, const std::string& refresh_token) {
    f.http.routes[std::string(kIssuer) + "/token"] = {200, "application/json",
                                                      json{{"access_token", "at2"},
                                                           {"token_type", "Bearer"},
                                                           {"expires_in", 300},
                                                           {"refresh_token", refresh_token}}
                                                          .dump()};
}

std::string stored_refresh_token(Fixture& f, const std::string& key) {
    auto record = run(f.store.get(key));
    assert_true(record.value.has_value());
    auto s = decode_session(*record.value);
    assert_true(s.ok());
    auto tokens = sso::open_tokens(*f.cfg.keys, *s);
    assert_true(tokens.has_value());
    return tokens->refresh_token;
}

void touch_loses_to_logout(void**) {
    Fixture f;
    Browser b;
    assert_int_equal(sign_in(f, b).status, 303);
    std::string key = f.only_session_key();
    f.clock.advance(120'000); // the next request writes its idle time back
    f.slow_store.held = {"set", "compare_and_set"};
    std::string header;
    RequestView v = page_request(b, header);
    auto task = check_access(f.slow_ports(), f.cfg, v);
    task.start();
    assert_false(task.done());
    assert_int_equal(f.slow_store.holds.waiting(), 1); // the touch waits
    assert_true(run(end_session(f.store, key)).value); // logout meanwhile
    f.slow_store.holds.release();
    assert_true(task.done());
    assert_false(task.result().allowed());
    f.assert_nothing_left();
    assert_false(get(f, b, "/app", false).allowed());
}

void touch_that_loses_to_another_touch_reads_again(void**) {
    Fixture f;
    Browser b;
    assert_int_equal(sign_in(f, b).status, 303);
    std::string key = f.only_session_key();
    f.clock.advance(120'000);
    f.slow_store.held = {"compare_and_set"};
    std::string header;
    RequestView v = page_request(b, header);
    auto task = check_access(f.slow_ports(), f.cfg, v);
    task.start();
    assert_int_equal(f.slow_store.holds.waiting(), 1);
    f.clock.advance(5'000);
    assert_true(get(f, b, "/app", false).allowed()); // another request touches first
    f.slow_store.held.clear();
    f.slow_store.holds.release();
    assert_true(task.done());
    assert_true(task.result().allowed());
    assert_int_equal(f.session_records(), 1);
}

void refresh_that_loses_to_a_touch_keeps_the_rotated_token(void**) {
    Fixture f("refresh=on");
    Browser b;
    assert_int_equal(sign_in(f, b, json::object(), nullptr, "rt-1").status, 303);
    std::string key = f.only_session_key();
    rotate_to(f, "rt-2");
    f.clock.advance(290'000); // refresh due
    f.slow_http.held = true;
    std::string header;
    RequestView v = page_request(b, header);
    auto task = check_access(f.slow_ports(), f.cfg, v);
    task.start();
    f.slow_http.release_until("/token");
    assert_int_equal(f.slow_http.holds.waiting(), 1); // the refresh waits for the IdP
    assert_false(task.done());
    f.clock.advance(70'000);
    auto during = get(f, b, "/app", false); // touches; the refresh lock makes it pass
    assert_true(during.allowed());
    auto touched = decode_session(*run(f.store.get(key)).value);
    Millis touched_at = touched->last_seen_ms;
    assert_int_equal(touched_at, f.clock.now_ms());
    f.slow_http.held = false;
    while (f.slow_http.holds.waiting() > 0) f.slow_http.holds.release();
    assert_true(task.done());
    assert_true(task.result().allowed());
    assert_string_equal(stored_refresh_token(f, key).c_str(), "rt-2");
    auto after = decode_session(*run(f.store.get(key)).value);
    assert_int_equal(after->last_seen_ms, touched_at); // the touch was kept too
    assert_true(after->sso_refresh_at_ms > f.clock.now_ms());
}

void refresh_that_loses_to_logout_ends_the_session(void**) {
    Fixture f("refresh=on");
    Browser b;
    assert_int_equal(sign_in(f, b, json::object(), nullptr, "rt-1").status, 303);
    std::string key = f.only_session_key();
    rotate_to(f, "rt-2");
    f.clock.advance(290'000);
    f.slow_http.held = true;
    std::string header;
    RequestView v = page_request(b, header);
    auto task = check_access(f.slow_ports(), f.cfg, v);
    task.start();
    f.slow_http.release_until("/token");
    assert_int_equal(f.slow_http.holds.waiting(), 1);
    assert_true(run(end_session(f.store, key)).value); // logout while the IdP is slow
    f.slow_http.held = false;
    while (f.slow_http.holds.waiting() > 0) f.slow_http.holds.release();
    assert_true(task.done());
    auto d = task.result();
    assert_false(d.allowed());
    f.assert_nothing_left();
    assert_false(get(f, b, "/app", false).allowed());
}

void refresh_after_logout_before_the_lock_does_not_call_the_idp(void**) {
    Fixture f("refresh=on");
    Browser b;
    assert_int_equal(sign_in(f, b, json::object(), nullptr, "rt-1").status, 303);
    std::string key = f.only_session_key();
    rotate_to(f, "rt-2");
    f.clock.advance(290'000);
    f.slow_store.held = {"set_if_absent"}; // the refresh lock
    std::string header;
    RequestView v = page_request(b, header);
    auto task = check_access(f.slow_ports(), f.cfg, v);
    task.start();
    assert_int_equal(f.slow_store.holds.waiting(), 1);
    std::size_t token_calls = f.fetches("/token");
    assert_true(run(end_session(f.store, key)).value);
    f.slow_store.holds.release();
    assert_true(task.done());
    assert_false(task.result().allowed());
    assert_int_equal(f.fetches("/token"), token_calls);
    f.assert_nothing_left();
}

} // namespace

int main() {
    SigningKey key = new_rsa_key("k1");
    g_key = &key;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(touch_loses_to_logout),
        cmocka_unit_test(touch_that_loses_to_another_touch_reads_again),
        cmocka_unit_test(refresh_that_loses_to_a_touch_keeps_the_rotated_token),
        cmocka_unit_test(refresh_that_loses_to_logout_ends_the_session),
        cmocka_unit_test(refresh_after_logout_before_the_lock_does_not_call_the_idp),
    };
    return cmocka_run_group_tests(tests, nullptr, nullptr);
}
