// Every sign-in ends in signin::complete_sign_in: password and SSO sign-ins rotate the
// session, join the user's index and its cap, refuse disabled accounts the same way, and
// the further-factor hook is consulted before any session exists.
#include "support/sso_world.h"

#include <regex>

#include "authgate/gate.h"
#include "authgate/http.h"
#include "authgate/session.h"
#include "authgate/store_keys.h"
#include "authgate/users.h"
#include "signin/sign_in.h"

using namespace authgate;
using namespace authgate::testing;

namespace {

SigningKey* g_key = nullptr;

// One provider ("corp") and run-time users in a durable store: alice, and dave disabled.
struct World : SsoWorld {
    explicit World(const std::vector<std::pair<std::string, std::string>>& more = {})
        : SsoWorld(*g_key, "", more) {
        store.durable_ = true;
        add_user("alice", false);
        add_user("dave", true);
    }
    void add_user(const std::string& name, bool disabled) {
        User u;
        u.name = name;
        u.password_hash = *hash_password(name + "-pass", random, PasswordCost{1024, 1, 1});
        u.email = name + "@example.com";
        u.groups = {"staff"};
        u.disabled = disabled;
        assert_true(run(store.hash_set(user_record_key(name), user_to_fields(u))).ok());
    }
};

// method and uri: literals (the view keeps pointing at them).
RequestView request(std::string_view method, std::string_view uri, const Browser& b,
                    std::string& cookie_header) {
    RequestView v;
    v.method = method;
    v.uri = uri;
    v.path = v.uri.substr(0, v.uri.find('?'));
    v.accept = "text/html";
    v.host = "app.example.com";
    cookie_header = b.cookie_header();
    if (!cookie_header.empty()) v.cookie_headers.push_back(cookie_header);
    return v;
}

Decision with_password(World& w, Browser& b, const std::string& user) {
    auto page = get(w, b, "/_authgate/login?rd=/app");
    assert_int_equal(page.status, 200);
    std::smatch m;
    static const std::regex re("name=\"csrf\" value=\"([^\"]+)\"");
    assert_true(std::regex_search(page.body, m, re));
    std::string cookies;
    RequestView v = request("POST", "/_authgate/login", b, cookies);
    std::string body = "username=" + user + "&password=" + user +
                       "-pass&rd=%2Fapp&csrf=" + http::percent_encode(m[1].str());
    v.body = body;
    auto d = run(handle_endpoint(w.ports(), w.cfg, v));
    b.take(d);
    return d;
}

Decision with_sso(World& w, Browser& b, const std::string& user) {
    return sign_in(w, b, {{"preferred_username", user}, {"sub", "sub-" + user}});
}

using SignIn = Decision (*)(World&, Browser&, const std::string&);
constexpr std::pair<SignIn, const char*> kSignIns[] = {{with_password, "pwd"},
                                                       {with_sso, "sso:corp"}};

std::string session_cookie(const Browser& b) {
    for (const auto& c : b.cookies) {
        if (c.starts_with("authgate_session=")) return c;
    }
    return {};
}

std::vector<std::string> sessions_of(World& w, const std::string& user) {
    return run(w.store.index_members(user_sessions_key(user), w.clock.now_ms())).value;
}

std::size_t session_records(const MemoryStore& store) {
    std::size_t n = 0;
    for (const auto& [k, v] : store.entries()) n += is_session_key(k) ? 1 : 0;
    return n;
}

void both_sign_ins_rotate_the_session_and_index_it(void**) {
    for (auto [sign_in_with, method] : kSignIns) {
        World w;
        Browser b;
        auto first = sign_in_with(w, b, "alice");
        assert_int_equal(first.status, 303);
        assert_string_equal(first.location.c_str(), "/app");
        std::string old_cookie = session_cookie(b);
        assert_false(old_cookie.empty());
        auto old_keys = sessions_of(w, "alice");
        assert_int_equal(old_keys.size(), 1);

        // Signing in again from the same browser: a new id, the old session gone.
        auto again = sign_in_with(w, b, "alice");
        assert_int_equal(again.status, 303);
        assert_true(session_cookie(b) != old_cookie && !session_cookie(b).empty());
        assert_int_equal(session_records(w.store), 1);
        auto keys = sessions_of(w, "alice");
        assert_int_equal(keys.size(), 1);
        assert_true(keys[0] != old_keys[0]);
        auto record = run(w.store.get(keys[0]));
        auto s = decode_session(*record.value);
        assert_true(s.ok());
        assert_true((s->methods == std::vector<std::string>{method}));
        assert_false(s->csrf.empty());
        assert_true(get(w, b, "/app", false).allowed());
    }
}

void both_sign_ins_apply_the_cap(void**) {
    for (auto [sign_in_with, method] : kSignIns) {
        World w(std::vector<std::pair<std::string, std::string>>{
            {"authgate_max_sessions_per_user", "1"}});
        Browser first, second;
        assert_int_equal(sign_in_with(w, first, "alice").status, 303);
        assert_int_equal(sign_in_with(w, second, "alice").status, 303);
        assert_int_equal(sessions_of(w, "alice").size(), 1);
        assert_int_equal(session_records(w.store), 1);
        assert_false(get(w, first, "/app", false).allowed());
        assert_true(get(w, second, "/app", false).allowed());
        (void)method;
    }
}

void both_sign_ins_refuse_a_disabled_account(void**) {
    World w;
    Browser b;
    auto by_password = with_password(w, b, "dave");
    assert_int_equal(by_password.status, 401); // as for a wrong password
    assert_int_equal(static_cast<int>(by_password.error), static_cast<int>(Error::bad_credentials));
    auto by_sso = with_sso(w, b, "dave");
    assert_int_equal(by_sso.status, 403);
    assert_int_equal(static_cast<int>(by_sso.error), static_cast<int>(Error::forbidden));
    assert_true(by_sso.notice.find("is disabled") != std::string::npos);
    assert_int_equal(session_records(w.store), 0);
    assert_true(sessions_of(w, "dave").empty());
}

// The further-factor hook as the MFA step would use it: it sees the proven identity and
// the account, and may answer with the next step instead of a session.
struct HookCall {
    int calls = 0;
    std::string method;
    bool had_account = false;
    bool take_over = false;
};
HookCall g_hook;

Task<signin::FactorStep> recording_hook(Ports, const GateConfig&, const RequestView&,
                                        const signin::ProvenIdentity& who, const User* account) {
    ++g_hook.calls;
    g_hook.method = who.method;
    g_hook.had_account = account != nullptr;
    signin::FactorStep step;
    if (g_hook.take_over) {
        Decision d;
        d.status = 303;
        d.location = "/_authgate/mfa";
        step.next = std::move(d);
    }
    co_return step;
}

signin::ProvenIdentity proven(const std::string& user, const std::string& method) {
    signin::ProvenIdentity who;
    who.user = user;
    who.method = method;
    who.source = method == "pwd" ? "store" : "sso";
    who.proof = method;
    who.rd = "/app?x=1";
    return who;
}

void further_factor_hook_is_consulted_before_any_session(void**) {
    World w;
    Browser b;
    assert_int_equal(with_password(w, b, "alice").status, 303);
    std::string old_key = sessions_of(w, "alice").at(0);
    std::string cookies;
    RequestView req = request("GET", "/_authgate/callback/corp", b, cookies);

    g_hook = HookCall{};
    g_hook.take_over = true;
    auto held = run(
        signin::complete_sign_in(w.ports(), w.cfg, req, proven("alice", "pwd"), recording_hook));
    assert_int_equal(g_hook.calls, 1);
    assert_string_equal(g_hook.method.c_str(), "pwd");
    assert_true(g_hook.had_account); // read by complete_sign_in: the proof gave none
    assert_true(held.status == signin::SignInStatus::next_factor);
    assert_string_equal(held.answer.location.c_str(), "/_authgate/mfa");
    assert_true(held.answer.set_cookies.empty());
    // No session started, and the browser's session is still the old one.
    assert_true((sessions_of(w, "alice") == std::vector<std::string>{old_key}));
    assert_int_equal(session_records(w.store), 1);

    g_hook = HookCall{};
    auto done = run(signin::complete_sign_in(w.ports(), w.cfg, req, proven("sso-user", "sso:corp"),
                                             recording_hook));
    assert_int_equal(g_hook.calls, 1);
    assert_false(g_hook.had_account); // an SSO user without a record
    assert_true(done.status == signin::SignInStatus::signed_in);
    assert_string_equal(done.answer.location.c_str(), "/app?x=1");
    assert_int_equal(done.answer.set_cookies.size(), 1);
    assert_true((sessions_of(w, "sso-user") == std::vector<std::string>{done.store_key}));
    // The browser's old session (alice's) ended: no fixation across users either.
    assert_true(sessions_of(w, "alice").empty());
    assert_false(run(w.store.get(old_key)).value.has_value());

    // The default hook: one proof suffices today.
    auto step = run(signin::further_factor(w.ports(), w.cfg, req, proven("alice", "pwd"), nullptr));
    assert_false(step.next.has_value());
}

void accounts_gone_or_disabled_are_refused(void**) {
    World w;
    Browser b;
    std::string cookies;
    RequestView req = request("GET", "/_authgate/login", b, cookies);
    auto gone = run(signin::complete_sign_in(w.ports(), w.cfg, req, proven("nobody", "pwd")));
    assert_true(gone.status == signin::SignInStatus::refused);
    assert_string_equal(gone.reason.c_str(), "no such user");
    auto disabled = run(signin::complete_sign_in(w.ports(), w.cfg, req, proven("dave", "sso:x")));
    assert_true(disabled.status == signin::SignInStatus::refused);
    assert_string_equal(disabled.reason.c_str(), "disabled");
    // An account handed over by the proof is checked too, without another read.
    auto who = proven("erin", "pwd");
    User erin;
    erin.name = "erin";
    erin.disabled = true;
    who.account = erin;
    auto handed = run(signin::complete_sign_in(w.ports(), w.cfg, req, who));
    assert_true(handed.status == signin::SignInStatus::refused);
    assert_int_equal(session_records(w.store), 0);

    w.store.down = true;
    auto down = run(signin::complete_sign_in(w.ports(), w.cfg, req, proven("alice", "pwd")));
    assert_true(down.status == signin::SignInStatus::store_unavailable);
}

void extra_indexes_are_written_or_nothing_stays(void**) {
    World w;
    Browser b;
    std::string cookies;
    RequestView req = request("GET", "/_authgate/callback/corp", b, cookies);
    auto who = proven("sso-user", "sso:corp");
    who.indexes = {sid_index_key("corp", "sid-1")};
    auto done = run(signin::complete_sign_in(w.ports(), w.cfg, req, who));
    assert_true(done.status == signin::SignInStatus::signed_in);
    auto by_sid =
        run(w.store.index_members(sid_index_key("corp", "sid-1"), w.clock.now_ms())).value;
    assert_true((by_sid == std::vector<std::string>{done.store_key}));

    // Back-channel logout could not find it: the session must not outlive the sign-in.
    World failing;
    failing.store.failing_index_prefix = "o:";
    auto refused = run(signin::complete_sign_in(failing.ports(), failing.cfg, req, who));
    assert_true(refused.status == signin::SignInStatus::store_unavailable);
    assert_int_equal(session_records(failing.store), 0);
}

} // namespace

int main() {
    SigningKey key = new_rsa_key("k1");
    g_key = &key;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(both_sign_ins_rotate_the_session_and_index_it),
        cmocka_unit_test(both_sign_ins_apply_the_cap),
        cmocka_unit_test(both_sign_ins_refuse_a_disabled_account),
        cmocka_unit_test(further_factor_hook_is_consulted_before_any_session),
        cmocka_unit_test(accounts_gone_or_disabled_are_refused),
        cmocka_unit_test(extra_indexes_are_written_or_nothing_stays),
    };
    return cmocka_run_group_tests(tests, nullptr, nullptr);
}
