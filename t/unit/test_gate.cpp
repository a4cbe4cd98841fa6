// Gate flows end to end in the core: sign-in, access, expiry, rotation, CSRF, logout,
// authorization and store failure, with a memory store and a manual clock.
#include "support/support.h"

#include <regex>

#include "authgate/gate.h"
#include "authgate/http.h"
#include "authgate/store_keys.h"
#include "authgate/users.h"

using namespace authgate;
using namespace authgate::testing;

namespace {

struct Fixture {
    ManualClock clock;
    MemoryStore store{clock};
    CountingRandom random;
    InlineOffloader offload;
    FakeHttpClient http;
    sso::ProviderRegistry providers;
    ResourceCache cache;
    GateConfig cfg;
    UserStatusCache user_status;
    bool with_user_status = false;

    Ports ports() {
        return Ports{store,   clock,   random,
                     offload, http,    providers,
                     nullptr, nullptr, with_user_status ? &user_status : nullptr};
    }
};

std::string hash_of(const char* password) {
    CountingRandom r;
    return *hash_password(password, r, PasswordCost{1024, 1, 1});
}

Fixture* make(std::vector<std::pair<std::string_view, std::string_view>> directives = {}) {
    auto* f = new Fixture();
    static const std::string users = "alice:" + hash_of("alice-pass") +
                                     ":alice@example.com:Alice A:admins,staff:\n"
                                     "bob:" +
                                     hash_of("bob-pass") +
                                     ":bob@example.com:Bob::\n"
                                     "carol:" +
                                     hash_of("carol-pass") + ":c@x:Carol::disabled\n";
    FileReader read = [](const std::string& path) -> Result<std::string> {
        if (path == "/keys") return test_key_file();
        if (path == "/users") return users;
        return fail("no such file " + path);
    };
    config::Settings s;
    std::vector<std::pair<std::string_view, std::string_view>> all = {
        {"authgate", "on"}, {"authgate_key_file", "/keys"}, {"authgate_users_file", "/users"}};
    all.insert(all.end(), directives.begin(), directives.end());
    for (auto [name, value] : all) {
        std::vector<std::string_view> args;
        std::string_view rest = value;
        while (!rest.empty()) {
            auto sp = rest.find(' ');
            args.push_back(rest.substr(0, sp));
            rest = sp == std::string_view::npos ? std::string_view{} : rest.substr(sp + 1);
        }
        assert_true(config::find_directive(name)->apply(s, args).ok());
    }
    config::apply_defaults(s);
    auto g = resolve(s, f->cache, read);
    if (!g) fail_msg("%s", g.error().c_str());
    f->cfg = std::move(*g);
    return f;
}

struct Req {
    std::string method = "GET", uri = "/app/page?x=1", path = "/app/page", query, body,
                accept = "text/html";
    std::vector<std::string> cookies;
    RequestView view() const {
        RequestView v;
        v.method = method;
        v.uri = uri;
        v.path = path;
        v.query = query;
        v.body = body;
        v.accept = accept;
        for (const auto& c : cookies) v.cookie_headers.push_back(c);
        return v;
    }
};

std::string cookie_pair(const Decision& d, std::string_view name) {
    for (const auto& c : d.set_cookies) {
        if (c.starts_with(std::string(name) + "=")) return c.substr(0, c.find(';'));
    }
    return {};
}

std::string csrf_from(const Decision& d) {
    std::smatch m;
    static const std::regex re("name=\"csrf\" value=\"([^\"]+)\"");
    assert_true(std::regex_search(d.body, m, re));
    return m[1];
}

// Returns the "authgate_session=..." pair after a sign-in (empty on failure).
std::string sign_in(Fixture& f, const char* user, const char* password, Decision* out = nullptr,
                    const std::string& extra_cookie = "") {
    Req get;
    get.method = "GET";
    get.path = "/_authgate/login";
    get.uri = "/_authgate/login?rd=/app";
    get.query = "rd=/app";
    auto page = run(handle_endpoint(f.ports(), f.cfg, get.view()));
    assert_int_equal(page.status, 200);
    std::string csrf_cookie = cookie_pair(page, "authgate_csrf");
    assert_false(csrf_cookie.empty());

    Req post;
    post.method = "POST";
    post.path = "/_authgate/login";
    post.uri = "/_authgate/login";
    post.body = std::string("username=") + user + "&password=" + password +
                "&rd=%2Fapp%3Fa%3D1&csrf=" + http::percent_encode(csrf_from(page));
    post.cookies = {csrf_cookie + (extra_cookie.empty() ? "" : "; " + extra_cookie)};
    auto d = run(handle_endpoint(f.ports(), f.cfg, post.view()));
    if (out) *out = d;
    return cookie_pair(d, "authgate_session");
}

std::size_t session_records(const MemoryStore& store) {
    std::size_t n = 0;
    for (const auto& [k, v] : store.entries()) n += k.starts_with("s:") ? 1 : 0;
    return n;
}

Decision access(Fixture& f, const std::string& cookie, std::string accept = "text/html") {
    Req r;
    r.accept = std::move(accept);
    if (!cookie.empty()) r.cookies = {"theme=dark; " + cookie};
    return run(check_access(f.ports(), f.cfg, r.view()));
}

void sign_in_then_access(void**) {
    std::unique_ptr<Fixture> f(make());
    Decision login;
    std::string cookie = sign_in(*f, "alice", "alice-pass", &login);
    assert_int_equal(login.status, 303);
    assert_string_equal(login.location.c_str(), "/app?a=1");
    assert_false(cookie.empty());
    bool http_only = false;
    for (const auto& c : login.set_cookies) {
        if (c.starts_with("authgate_session=")) {
            http_only = c.find("HttpOnly") != std::string::npos &&
                        c.find("SameSite=Lax") != std::string::npos &&
                        c.find("Secure") == std::string::npos;
        }
    }
    assert_true(http_only);
    assert_int_equal(session_records(f->store), 1);

    auto d = access(*f, cookie);
    assert_true(d.allowed());
    assert_string_equal(d.identity->user.c_str(), "alice");
    assert_string_equal(d.identity->email.c_str(), "alice@example.com");
    assert_true((d.identity->groups == std::vector<std::string>{"admins", "staff"}));
}

void no_session_redirects_browsers_and_401s_apis(void**) {
    std::unique_ptr<Fixture> f(make());
    auto d = access(*f, "");
    assert_false(d.allowed());
    assert_int_equal(d.status, 302);
    assert_string_equal(d.location.c_str(), "/_authgate/login?rd=/app/page%3Fx%3D1");
    assert_int_equal((int)d.error, (int)Error::no_session);

    auto api = access(*f, "", "application/json");
    assert_int_equal(api.status, 401);
    assert_true(api.body.find("\"code\":\"no_session\"") != std::string::npos);
    bool www = false;
    for (const auto& h : api.headers) www |= h.name == "WWW-Authenticate";
    assert_true(www);
}

void wrong_password_unknown_and_disabled_users_fail_alike(void**) {
    std::unique_ptr<Fixture> f(make());
    for (auto [u, p] : {std::pair{"alice", "wrong"},
                        {"nobody", "alice-pass"},
                        {"carol", "carol-pass"},
                        {"", ""}}) {
        Decision d;
        assert_true(sign_in(*f, u, p, &d).empty());
        assert_int_equal(d.status, 401);
        assert_true(d.body.find("Invalid username or password") != std::string::npos);
    }
    assert_int_equal(f->store.size(), 0);
}

void csrf_is_required(void**) {
    std::unique_ptr<Fixture> f(make());
    Req post;
    post.method = "POST";
    post.path = "/_authgate/login";
    post.body = "username=alice&password=alice-pass&csrf=forged";
    auto d = run(handle_endpoint(f->ports(), f->cfg, post.view()));
    assert_int_equal(d.status, 403);
    assert_true(cookie_pair(d, "authgate_session").empty());
    assert_int_equal(f->store.size(), 0);
}

void idle_timeout_and_lifetime(void**) {
    std::unique_ptr<Fixture> f(
        make({{"authgate_idle_timeout", "10s"}, {"authgate_session_lifetime", "30s"}}));
    std::string cookie = sign_in(*f, "bob", "bob-pass");
    for (int i = 0; i < 5; ++i) { // active use keeps it alive past the idle timeout
        f->clock.advance(5000);
        assert_true(access(*f, cookie).allowed());
    }
    f->clock.advance(11'000); // idle too long
    auto d = access(*f, cookie);
    assert_false(d.allowed());
    assert_int_equal((int)d.error, (int)Error::session_expired);

    cookie = sign_in(*f, "bob", "bob-pass");
    for (int i = 0; i < 5; ++i) {
        f->clock.advance(5000);
        assert_true(access(*f, cookie).allowed());
    }
    f->clock.advance(5000); // 30 s after sign-in: lifetime over despite activity
    assert_false(access(*f, cookie).allowed());
}

void session_id_rotates_at_sign_in(void**) {
    std::unique_ptr<Fixture> f(make());
    std::string first = sign_in(*f, "bob", "bob-pass");
    std::string second = sign_in(*f, "alice", "alice-pass", nullptr, first);
    assert_false(second.empty());
    assert_true(first != second);
    assert_false(access(*f, first).allowed()); // the old session is gone
    assert_true(access(*f, second).allowed());
    assert_int_equal(session_records(f->store), 1);
    auto bob = run(list_user_sessions(f->store, "bob", f->clock.now_ms()));
    assert_int_equal(bob.value.size(), 0); // the rotated-out session left bob's index
}

void tampered_cookies_are_rejected(void**) {
    std::unique_ptr<Fixture> f(make());
    std::string cookie = sign_in(*f, "alice", "alice-pass");
    std::string tampered = cookie;
    tampered[tampered.size() - 5] ^= 1;
    for (const std::string& c :
         {tampered, cookie.substr(0, cookie.size() - 3), std::string("authgate_session="),
          std::string("authgate_session=x")}) {
        auto d = access(*f, c);
        assert_false(d.allowed());
        assert_int_equal((int)d.error, (int)Error::session_invalid);
        assert_true(d.set_cookies.at(0).find("Max-Age=0") != std::string::npos);
    }
}

// With a session cache (Redis with pub/sub), a hit answers without the store; an
// invalidation, the session's own expiry and a tampered cookie still count.
void cached_lookups_skip_the_store_until_invalidated(void**) {
    std::unique_ptr<Fixture> f(make({{"authgate_idle_timeout", "10m"}}));
    SessionCache cache(SessionCache::Limits{1000, 16, 80});
    auto cached = [&](const std::string& cookie) {
        Req r;
        r.cookies = {cookie};
        Ports p = f->ports();
        p.sessions = &cache;
        return run(check_access(p, f->cfg, r.view()));
    };
    std::string cookie = sign_in(*f, "alice", "alice-pass");
    cache.subscribed(f->clock.now_ms());
    cache.heartbeat(f->clock.now_ms());
    assert_true(cached(cookie).allowed()); // a miss: read from the store, then cached
    assert_int_equal(cache.size(), 1);
    f->store.down = true;
    auto hit = cached(cookie);
    assert_true(hit.allowed());
    assert_string_equal(hit.identity->user.c_str(), "alice");
    auto inline_check = [&](const std::string& c) {
        Req r;
        r.cookies = {"theme=dark; " + c};
        Ports p = f->ports();
        p.sessions = &cache;
        return check_access_cached(p, f->cfg, r.view());
    };
    auto fast = inline_check(cookie); // the same answer without a coroutine
    assert_true(fast.has_value() && fast->allowed());
    assert_string_equal(fast->identity->email.c_str(), "alice@example.com");
    std::string tampered = cookie;
    tampered[tampered.size() - 2] ^= 1;
    assert_false(inline_check(tampered).has_value());
    assert_false(cached(tampered).allowed()); // not a cached value: goes to the store
    // Announced write (logout on another server): the store decides again.
    std::string key = cache.find(cookie.substr(cookie.find('=') + 1), f->clock.now_ms())->store_key;
    cache.invalidate(key);
    assert_false(inline_check(cookie).has_value());
    assert_int_equal((int)cached(cookie).error, (int)Error::store_unavailable);
    f->store.down = false;
    assert_true(cached(cookie).allowed());
    // Past max age the entry is not served (the store is asked again).
    f->clock.advance(1000);
    cache.heartbeat(f->clock.now_ms());
    f->store.down = true;
    assert_int_equal((int)cached(cookie).error, (int)Error::store_unavailable);
    // The subscription is lost: nothing is served from the cache.
    f->store.down = false;
    assert_true(cached(cookie).allowed());
    cache.lost();
    f->store.down = true;
    assert_false(cached(cookie).allowed());
    // A reload whose users file disables alice: the entry's memo of her file entry belongs
    // to the old file, so a hit is checked against the new one and refused.
    f->store.down = false;
    cache.subscribed(f->clock.now_ms());
    cache.heartbeat(f->clock.now_ms());
    assert_true(cached(cookie).allowed());
    assert_true(inline_check(cookie).has_value()); // a hit: the memo now holds her entry
    static const std::string disabled =
        "alice:" + hash_of("alice-pass") + ":alice@example.com:Alice A:admins,staff:disabled\n";
    auto db = UserDb::parse(disabled);
    assert_true(db.ok());
    f->cfg.users = std::make_shared<const UserDb>(std::move(*db));
    assert_false(inline_check(cookie).has_value());
    assert_false(cached(cookie).allowed());
}

// Regression (issue 8, timing reveals user names): the decoy hash verified for unknown users
// copied an arbitrary user's cost; it must have the default cost whatever the file holds.
void decoy_hash_has_the_default_cost(void**) {
    std::unique_ptr<Fixture> f(make()); // every user in this file has m=1024,t=1,p=1
    assert_true(f->cfg.decoy_hash.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"));
    assert_false(verify_password(f->cfg.decoy_hash, ""));
}

void logout_revokes_on_the_server(void**) {
    std::unique_ptr<Fixture> f(make());
    std::string cookie = sign_in(*f, "alice", "alice-pass");
    Req r;
    r.path = "/_authgate/logout";
    r.cookies = {cookie};
    // GET: a confirmation form with the session's token; nothing ends.
    auto confirm = run(handle_endpoint(f->ports(), f->cfg, r.view()));
    assert_int_equal(confirm.status, 200);
    assert_true(confirm.set_cookies.empty());
    assert_true(access(*f, cookie).allowed());
    std::string token = csrf_from(confirm);
    // POST without the token or with a wrong one: 403, nothing ends.
    r.method = "POST";
    for (const std::string& body :
         {std::string(), std::string("csrf=x"), std::string("everywhere=1")}) {
        r.body = body;
        auto refused = run(handle_endpoint(f->ports(), f->cfg, r.view()));
        assert_int_equal(refused.status, 403);
        assert_true(access(*f, cookie).allowed());
    }
    r.body = "csrf=" + http::percent_encode(token);
    auto d = run(handle_endpoint(f->ports(), f->cfg, r.view()));
    assert_int_equal(d.status, 200);
    assert_true(cookie_pair(d, "authgate_session") == "authgate_session=");
    assert_false(access(*f, cookie).allowed());
    assert_int_equal(f->store.size(), 0); // record and index entry both gone
}

void user_index_lists_and_revokes(void**) {
    std::unique_ptr<Fixture> f(make());
    std::string a1 = sign_in(*f, "alice", "alice-pass");
    std::string a2 = sign_in(*f, "alice", "alice-pass");
    std::string b1 = sign_in(*f, "bob", "bob-pass");
    auto listed = run(list_user_sessions(f->store, "alice", f->clock.now_ms()));
    assert_true(listed.ok());
    assert_int_equal(listed.value.size(), 2);
    assert_string_equal(listed.value[0].session.user.c_str(), "alice");
    assert_true(f->store.entries().contains("u:{alice}:sessions"));

    auto revoked = run(revoke_user_sessions(f->store, "alice", f->clock.now_ms()));
    assert_true(revoked.ok());
    assert_int_equal(revoked.value, 2);
    assert_false(access(*f, a1).allowed());
    assert_false(access(*f, a2).allowed());
    assert_true(access(*f, b1).allowed()); // other users keep theirs
    assert_int_equal(run(list_user_sessions(f->store, "alice", f->clock.now_ms())).value.size(), 0);

    f->store.down = true;
    assert_false(run(revoke_user_sessions(f->store, "bob", f->clock.now_ms())).ok());
}

void index_entries_expire_with_their_sessions(void**) {
    std::unique_ptr<Fixture> f(make({{"authgate_session_lifetime", "1m"}}));
    sign_in(*f, "bob", "bob-pass");
    f->clock.advance(30'000);
    sign_in(*f, "bob", "bob-pass");
    assert_int_equal(run(list_user_sessions(f->store, "bob", f->clock.now_ms())).value.size(), 2);
    f->clock.advance(31'000); // the first reached its lifetime
    assert_int_equal(run(list_user_sessions(f->store, "bob", f->clock.now_ms())).value.size(), 1);
    f->clock.advance(30'000); // both gone, and the index record with them
    assert_false(f->store.entries().contains("u:{bob}:sessions") &&
                 f->store.entries().at("u:{bob}:sessions").second > f->clock.now_ms());
}

void run_time_users_sign_in_from_a_durable_store(void**) {
    std::unique_ptr<Fixture> f(make());
    User dave;
    dave.name = "dave";
    dave.password_hash = hash_of("dave-pass");
    dave.email = "dave@example.com";
    dave.groups = {"ops"};
    assert_true(run(f->store.hash_set(user_record_key("dave"), user_to_fields(dave))).ok());
    assert_true(sign_in(*f, "dave", "dave-pass").empty()); // not durable: not consulted

    f->store.durable_ = true;
    std::string cookie = sign_in(*f, "dave", "dave-pass");
    assert_false(cookie.empty());
    auto d = access(*f, cookie);
    assert_true(d.allowed());
    assert_true((d.identity->groups == std::vector<std::string>{"ops"}));
    assert_true(sign_in(*f, "dave", "wrong").empty());
    assert_false(sign_in(*f, "alice", "alice-pass").empty()); // the users file still works

    assert_true(run(f->store.hash_set(user_record_key("dave"), {{"disabled", "1"}})).ok());
    assert_true(sign_in(*f, "dave", "dave-pass").empty());
    auto fields = run(f->store.hash_get(user_record_key("dave")));
    assert_true(fields.value.has_value());
    assert_true(user_from_fields("dave", *fields.value)->disabled);
    assert_false(user_from_fields("x", {{"password", "plain"}}).ok());
}

void require_rules(void**) {
    std::unique_ptr<Fixture> admins(make({{"authgate_require", "any group:admins user:bob"}}));
    assert_true(access(*admins, sign_in(*admins, "alice", "alice-pass")).allowed());
    assert_true(access(*admins, sign_in(*admins, "bob", "bob-pass")).allowed());

    std::unique_ptr<Fixture> both(make({{"authgate_require", "all group:admins group:staff"}}));
    assert_true(access(*both, sign_in(*both, "alice", "alice-pass")).allowed());
    auto denied = access(*both, sign_in(*both, "bob", "bob-pass"));
    assert_false(denied.allowed());
    assert_int_equal(denied.status, 403);

    std::unique_ptr<Fixture> lines(
        make({{"authgate_require", "group:staff"}, {"authgate_require", "user:bob"}}));
    assert_false(access(*lines, sign_in(*lines, "alice", "alice-pass")).allowed());
}

// Sessions keep role names; what a role permits comes from the configuration in force, so
// a new configuration (a reload) changes decisions for sessions that already exist.
void role_permissions_come_from_the_current_config(void**) {
    auto roles = [](std::string_view editor) {
        return std::vector<std::pair<std::string_view, std::string_view>>{
            {"authgate_role", "viewer permissions=docs:read"},
            {"authgate_role", editor},
            {"authgate_require", "permission:docs:write"}};
    };
    std::unique_ptr<Fixture> f(make(roles("editor permissions=docs:write inherits=viewer")));
    f->store.durable_ = true;
    User dave;
    dave.name = "dave";
    dave.password_hash = hash_of("dave-pass");
    dave.roles = {"editor"};
    assert_true(run(f->store.hash_set(user_record_key("dave"), user_to_fields(dave))).ok());
    std::string cookie = sign_in(*f, "dave", "dave-pass");
    assert_false(cookie.empty());
    auto allowed = access(*f, cookie);
    assert_true(allowed.allowed());
    assert_true((allowed.identity->roles == std::vector<std::string>{"editor"}));
    auto alice = access(*f, sign_in(*f, "alice", "alice-pass")); // no roles in the file
    assert_int_equal(alice.status, 403);

    // The same session under a configuration where editor lost docs:write.
    std::unique_ptr<Fixture> reloaded(make(roles("editor permissions=docs:read inherits=viewer")));
    f->cfg = reloaded->cfg;
    auto denied = access(*f, cookie);
    assert_false(denied.allowed());
    assert_int_equal(denied.status, 403); // signed in: forbidden, not a sign-in redirect
    assert_true(denied.location.empty());
}

void store_down_fails_closed(void**) {
    std::unique_ptr<Fixture> f(make());
    std::string cookie = sign_in(*f, "alice", "alice-pass");
    f->store.down = true;
    auto d = access(*f, cookie);
    assert_false(d.allowed());
    assert_int_equal(d.status, 503);
    Decision login;
    f->store.down = false;
    Req get;
    get.path = "/_authgate/login";
    auto page = run(handle_endpoint(f->ports(), f->cfg, get.view()));
    f->store.down = true;
    Req post;
    post.method = "POST";
    post.path = "/_authgate/login";
    post.body = "username=alice&password=alice-pass&csrf=" + http::percent_encode(csrf_from(page));
    post.cookies = {cookie_pair(page, "authgate_csrf")};
    auto failed = run(handle_endpoint(f->ports(), f->cfg, post.view()));
    assert_int_equal(failed.status, 503);
    assert_true(cookie_pair(failed, "authgate_session").empty());
}

void open_redirect_through_login_lands_locally(void**) {
    std::unique_ptr<Fixture> f(make());
    Req get;
    get.path = "/_authgate/login";
    auto page = run(handle_endpoint(f->ports(), f->cfg, get.view()));
    for (const char* rd :
         {"%2F%2Fevil.com", "https%3A%2F%2Fevil.com", "%2F%5Cevil.com", "%2F%252F%252Fevil.com"}) {
        Req post;
        post.method = "POST";
        post.path = "/_authgate/login";
        post.body = std::string("username=bob&password=bob-pass&rd=") + rd +
                    "&csrf=" + http::percent_encode(csrf_from(page));
        post.cookies = {cookie_pair(page, "authgate_csrf")};
        auto d = run(handle_endpoint(f->ports(), f->cfg, post.view()));
        assert_int_equal(d.status, 303);
        assert_string_equal(d.location.c_str(), "/");
    }
}

void endpoint_routing(void**) {
    std::unique_ptr<Fixture> f(make());
    Req r;
    r.path = "/_authgate/nope";
    assert_int_equal(run(handle_endpoint(f->ports(), f->cfg, r.view())).status, 404);
    r.path = "/_authgate/login";
    r.method = "PUT";
    assert_int_equal(run(handle_endpoint(f->ports(), f->cfg, r.view())).status, 405);
    r.path = "/_authgate/health";
    r.method = "GET";
    auto h = run(handle_endpoint(f->ports(), f->cfg, r.view()));
    assert_int_equal(h.status, 200);
    assert_true(h.body.find("\"status\":\"ok\"") != std::string::npos);
    f->store.down = true;
    assert_int_equal(run(handle_endpoint(f->ports(), f->cfg, r.view())).status, 503);
}

void login_page_escapes_reflected_values(void**) {
    std::unique_ptr<Fixture> f(make());
    Req r;
    r.path = "/_authgate/login";
    r.query = "rd=/x%22%3E%3Cscript%3Ealert(1)%3C/script%3E";
    auto d = run(handle_endpoint(f->ports(), f->cfg, r.view()));
    assert_int_equal(d.status, 200);
    assert_true(d.body.find("<script>") == std::string::npos);
    assert_true(d.body.find("&quot;&gt;&lt;script&gt;") != std::string::npos);
}

// Issue 8, item 8: a sign-in beyond the cap ends the oldest sessions, record and index.
void sessions_beyond_the_cap_end_oldest_first(void**) {
    std::unique_ptr<Fixture> f(make({{"authgate_max_sessions_per_user", "2"}}));
    std::vector<std::string> cookies;
    for (int i = 0; i < 4; ++i) {
        cookies.push_back(sign_in(*f, "alice", "alice-pass"));
        f->clock.advance(1000);
    }
    assert_false(access(*f, cookies[0]).allowed());
    assert_false(access(*f, cookies[1]).allowed());
    assert_true(access(*f, cookies[2]).allowed());
    assert_true(access(*f, cookies[3]).allowed());
    assert_int_equal(session_records(f->store), 2);
    auto members = run(f->store.index_members(user_sessions_key("alice"), f->clock.now_ms()));
    assert_int_equal(members.value.size(), 2);
    assert_int_equal(run(revoke_user_sessions(f->store, "alice", f->clock.now_ms())).value, 2);
    assert_false(access(*f, cookies[3]).allowed());
}

// Issue 8, item 7: run-time users disabled or deleted in the store lose their sessions
// within UserStatusCache::kMaxAge (at once without a cache).
void store_users_disabled_or_deleted_lose_sessions(void**) {
    std::unique_ptr<Fixture> f(make());
    f->store.durable_ = true;
    f->with_user_status = true;
    for (const char* name : {"erin", "frank"}) {
        User u;
        u.name = name;
        u.password_hash = hash_of("pw");
        run(f->store.hash_set(user_record_key(name), user_to_fields(u)));
    }
    std::string erin = sign_in(*f, "erin", "pw");
    std::string frank = sign_in(*f, "frank", "pw");
    assert_true(access(*f, erin).allowed());
    assert_true(access(*f, frank).allowed());
    run(f->store.hash_set(user_record_key("erin"), {{"disabled", "1"}}));
    run(f->store.del(user_record_key("frank")));
    f->clock.advance(UserStatusCache::kMaxAge - 1000);
    assert_true(access(*f, erin).allowed()); // the status read 29 s ago still holds
    f->clock.advance(1000);
    assert_false(access(*f, erin).allowed());
    assert_false(access(*f, frank).allowed());
    assert_int_equal(session_records(f->store), 0); // ended, not only refused
    // Enabled again: the session stays ended.
    run(f->store.hash_set(user_record_key("erin"), {{"disabled", "0"}}));
    assert_false(access(*f, erin).allowed());
    // Without a cache the record is read on every check.
    f->with_user_status = false;
    std::string again = sign_in(*f, "erin", "pw");
    assert_true(access(*f, again).allowed());
    run(f->store.hash_set(user_record_key("erin"), {{"disabled", "1"}}));
    assert_false(access(*f, again).allowed());
}

// Issue 8, item 7: users-file sessions take the file's current groups; a file user
// disabled there loses a session of any source.
void users_file_is_current_for_every_session(void**) {
    std::unique_ptr<Fixture> f(make());
    std::string alice = sign_in(*f, "alice", "alice-pass");
    auto d = access(*f, alice);
    assert_true(d.allowed());
    assert_int_equal(d.identity->groups.size(), 2);
    // A reload: the same sessions, another users file.
    static const std::string reloaded = "alice:" + hash_of("alice-pass") +
                                        ":alice@example.com:Alice New:ops:\n"
                                        "bob:" +
                                        hash_of("bob-pass") + ":bob@example.com:Bob::disabled\n";
    auto db = UserDb::parse(reloaded);
    assert_true(db.ok());
    Session sso;
    sso.user = "bob";
    sso.source = "sso";
    Millis now = f->clock.now_ms();
    sso.created_ms = sso.auth_time_ms = sso.last_seen_ms = now;
    sso.expires_ms = now + 3'600'000;
    SessionId id = new_session_id(f->random);
    run(f->store.set(session_store_key(id), encode_session(sso), 3'600'000));
    std::string bob = "authgate_session=" + session_cookie_value(id, *f->cfg.keys);
    assert_true(access(*f, bob).allowed());
    f->cfg.users = std::make_shared<const UserDb>(std::move(*db));
    d = access(*f, alice);
    assert_true(d.allowed());
    assert_int_equal(d.identity->groups.size(), 1);
    assert_string_equal(d.identity->groups[0].c_str(), "ops");
    assert_string_equal(d.identity->name.c_str(), "Alice New");
    assert_false(access(*f, bob).allowed()); // an SSO session of a user the file disabled
}

} // namespace

int main() {
    const CMUnitTest tests[] = {
        cmocka_unit_test(sign_in_then_access),
        cmocka_unit_test(no_session_redirects_browsers_and_401s_apis),
        cmocka_unit_test(wrong_password_unknown_and_disabled_users_fail_alike),
        cmocka_unit_test(csrf_is_required),
        cmocka_unit_test(idle_timeout_and_lifetime),
        cmocka_unit_test(session_id_rotates_at_sign_in),
        cmocka_unit_test(tampered_cookies_are_rejected),
        cmocka_unit_test(decoy_hash_has_the_default_cost),
        cmocka_unit_test(logout_revokes_on_the_server),
        cmocka_unit_test(cached_lookups_skip_the_store_until_invalidated),
        cmocka_unit_test(require_rules),
        cmocka_unit_test(role_permissions_come_from_the_current_config),
        cmocka_unit_test(run_time_users_sign_in_from_a_durable_store),
        cmocka_unit_test(user_index_lists_and_revokes),
        cmocka_unit_test(index_entries_expire_with_their_sessions),
        cmocka_unit_test(store_down_fails_closed),
        cmocka_unit_test(open_redirect_through_login_lands_locally),
        cmocka_unit_test(endpoint_routing),
        cmocka_unit_test(login_page_escapes_reflected_values),
        cmocka_unit_test(sessions_beyond_the_cap_end_oldest_first),
        cmocka_unit_test(store_users_disabled_or_deleted_lose_sessions),
        cmocka_unit_test(users_file_is_current_for_every_session),
    };
    // Every flow here runs with the store completing inline and deferred.
    return run_each_way("gate", tests, sizeof tests / sizeof tests[0]);
}
