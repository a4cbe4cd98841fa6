// SSO flows in the core with a memory store, a manual clock and a scripted HTTP client:
// discovery and JWKS caching, the redirect and callback, admission rules, key rotation,
// just-in-time user records, refresh single flight, back-channel index, bearer tokens.
#include "support/sso_world.h"

#include <nlohmann/json.hpp>

#include <coroutine>
#include <memory>
#include <utility>

#include "authgate/gate.h"
#include "authgate/http.h"
#include "authgate/oidc.h"
#include "authgate/session.h"
#include "authgate/store_keys.h"

using namespace authgate;
using namespace authgate::testing;
using nlohmann::json;

namespace {

SigningKey* g_key = nullptr;
SigningKey* g_key2 = nullptr;

// Tests name the world "f" (fixture); the signing key is the file's first key.
struct Fixture : SsoWorld {
    explicit Fixture(const std::string& provider_args = "",
                     const std::vector<std::pair<std::string, std::string>>& more = {})
        : SsoWorld(*g_key, provider_args, more) {}
};

void redirect_carries_pkce_state_nonce_and_seals_the_flow(void**) {
    Fixture f;
    Browser b;
    auto d = get(f, b, "/_authgate/sso/corp?rd=/app/x");
    assert_int_equal(d.status, 302);
    assert_true(d.location.starts_with(std::string(kIssuer) + "/auth?"));
    assert_string_equal(query_param(d.location, "redirect_uri").c_str(),
                        "https://app.example.com/_authgate/callback/corp");
    assert_string_equal(query_param(d.location, "code_challenge_method").c_str(), "S256");
    assert_string_equal(query_param(d.location, "scope").c_str(), "openid email profile");
    assert_int_equal(b.cookies.size(), 1);
    assert_true(b.cookies[0].starts_with("authgate_flow=v1."));
    // Neither the nonce nor anything else is readable in the cookie, and nothing is stored.
    assert_null(strstr(b.cookies[0].c_str(), query_param(d.location, "nonce").c_str()));
    assert_int_equal(f.store.size(), 0);
    // A second flow from the same browser joins the first in the cookie.
    auto again = get(f, b, "/_authgate/sso/corp");
    assert_int_equal(again.set_cookies.size(), 1);
    assert_true(b.cookies[0].size() > 200);
    assert_int_equal(f.store.size(), 0);
    assert_int_equal(f.fetches("/.well-known/openid-configuration"), 1); // cached
}

void callback_starts_an_indexed_session(void**) {
    Fixture f;
    Browser b;
    auto d = sign_in(f, b);
    assert_int_equal(d.status, 303);
    assert_string_equal(d.location.c_str(), "/app");
    // The token request carried the PKCE verifier and client_secret_basic.
    const HttpRequest* found = nullptr;
    for (const auto& r : f.http.requests) {
        if (r.url.ends_with("/token")) found = &r;
    }
    assert_non_null(found);
    if (found == nullptr) return; // (assert_non_null ends the test; the analyzer can't tell)
    const HttpRequest& token = *found;
    assert_string_equal(token.method.c_str(), "POST");
    assert_non_null(strstr(token.body.c_str(), "code_verifier="));
    bool basic = false;
    for (const auto& [k, v] : token.headers)
        basic |= k == "Authorization" && v.starts_with("Basic ");
    assert_true(basic);
    auto access = get(f, b, "/app", false);
    assert_true(access.allowed());
    assert_string_equal(access.identity->user.c_str(), "alice");
    assert_int_equal(access.identity->groups.size(), 2);
    auto members = run(f.store.index_members("o:{corp}:sid:idp-session-1", f.clock.now_ms()));
    assert_int_equal(members.value.size(), 1);
    auto listed = run(list_user_sessions(f.store, "alice", f.clock.now_ms()));
    assert_int_equal(listed.value.size(), 1);
    assert_string_equal(listed.value[0].session.methods[0].c_str(), "sso:corp");
    assert_string_equal(listed.value[0].session.sso_sub.c_str(), "sub-1");
}

void flow_state_is_single_use_and_browser_bound(void**) {
    Fixture f;
    Browser b;
    auto start = get(f, b, "/_authgate/sso/corp");
    std::string state = query_param(start.location, "state");
    Browser attacker; // without the victim's flow cookie
    auto stolen = get(f, attacker, "/_authgate/callback/corp?code=c&state=" + state);
    assert_int_equal(stolen.status, 400);
    assert_true(stolen.error == Error::state_mismatch);
    assert_int_equal(f.fetches("/token"), 0);
    assert_int_equal(f.store.size(), 0); // an unauthenticated callback writes nothing

    // Two flows in parallel tabs; each callback finds its own.
    auto second = get(f, b, "/_authgate/sso/corp?rd=/second");
    json token = {
        {"access_token", "at"},
        {"token_type", "Bearer"},
        {"expires_in", 300},
        {"id_token",
         sign_jwt(*g_key,
                  claims_for(query_param(start.location, "nonce"), f.clock.now_ms()).dump())}};
    f.http.routes[std::string(kIssuer) + "/token"] = {200, "application/json", token.dump()};
    // A flow cookie changed by one character no longer opens.
    Browser tampered = b;
    char& middle = tampered.cookies[0][tampered.cookies[0].size() / 2];
    middle = middle == 'A' ? 'B' : 'A';
    auto forged = get(f, tampered, "/_authgate/callback/corp?code=c&state=" + state);
    assert_true(forged.error == Error::state_mismatch);
    assert_int_equal(f.fetches("/token"), 0);
    Browser replay = b; // the request as it was, flow cookie included
    auto done = get(f, b, "/_authgate/callback/corp?code=c&state=" + state);
    assert_int_equal(done.status, 303);
    assert_string_equal(done.location.c_str(), "/");
    // Replayed with the cookie it had: the used-marker refuses it.
    auto again = get(f, replay, "/_authgate/callback/corp?code=c&state=" + state);
    assert_int_equal(again.status, 400);
    assert_true(again.error == Error::state_mismatch);
    // The second tab's flow is still in the cookie (its nonce differs: the token is refused
    // by nonce, not by a missing flow).
    auto other =
        get(f, b, "/_authgate/callback/corp?code=c&state=" + query_param(second.location, "state"));
    assert_true(other.error == Error::nonce_mismatch);
    // Past ten minutes a flow is gone.
    Browser late;
    auto old = get(f, late, "/_authgate/sso/corp");
    f.clock.advance(600'001);
    auto expired =
        get(f, late, "/_authgate/callback/corp?code=c&state=" + query_param(old.location, "state"));
    assert_true(expired.error == Error::state_mismatch);
}

void idp_error_text_needs_a_consumed_flow(void**) {
    Fixture f;
    Browser b;
    auto forged =
        get(f, b, "/_authgate/callback/corp?error=access_denied&error_description=Call+evil");
    assert_int_equal(forged.status, 401);
    assert_null(strstr(forged.body.c_str(), "evil"));
    auto start = get(f, b, "/_authgate/sso/corp");
    auto real = get(f, b,
                    "/_authgate/callback/corp?error=access_denied&error_description=Call+evil"
                    "&state=" +
                        query_param(start.location, "state"));
    assert_non_null(strstr(real.body.c_str(), "Call evil"));
    // The flow was consumed: the cookie is cleared.
    assert_true(b.cookies.empty());
}

void unknown_kid_refetches_jwks_at_most_once_a_second(void**) {
    Fixture f;
    Browser b;
    assert_int_equal(sign_in(f, b).status, 303);
    assert_int_equal(f.fetches("/jwks"), 1);
    // The IdP rotates: the new key signs, the JWKS publishes it.
    f.http.routes[std::string(kIssuer) + "/jwks"] = {200, "application/json", jwks_of({g_key2})};
    f.clock.advance(1500);
    Browser b2;
    assert_int_equal(sign_in(f, b2, json::object(), g_key2).status, 303);
    assert_int_equal(f.fetches("/jwks"), 2);
    // Tokens under yet another unknown kid within the second: no new fetch, refused.
    SigningKey stranger = new_rsa_key("stranger");
    Browser b3;
    auto d = sign_in(f, b3, json::object(), &stranger);
    assert_int_equal(d.status, 401);
    assert_true(d.error == Error::token_unknown_key);
    assert_int_equal(f.fetches("/jwks"), 2);
}

void admission_rules(void**) {
    Fixture f("allowed_domains=example.com allowed_groups=staff");
    Browser ok;
    assert_int_equal(sign_in(f, ok).status, 303);
    Browser unverified;
    auto d = sign_in(f, unverified, {{"email_verified", false}});
    assert_int_equal(d.status, 403);
    Browser other_domain;
    assert_int_equal(sign_in(f, other_domain, {{"email", "x@evil.example"}}).status, 403);
    Browser no_group;
    assert_int_equal(sign_in(f, no_group, {{"groups", json::array({"guests"})}}).status, 403);
}

// role_map=: IdP groups become the session's roles; what they permit is the config's.
void role_map_gives_roles_from_groups(void**) {
    Fixture f("role_map=admins:operator,staff:reader,team:x:operator",
              {{"authgate_role", "reader permissions=docs:read"},
               {"authgate_role", "operator permissions=users:manage inherits=reader"},
               {"authgate_require", "permission:users:manage"}});
    Browser admin;
    assert_int_equal(sign_in(f, admin).status, 303); // groups admins, staff
    auto allowed = get(f, admin, "/app", false);
    assert_true(allowed.allowed());
    assert_true((allowed.identity->roles == std::vector<std::string>{"operator", "reader"}));
    assert_string_equal(allowed.identity->header_roles.c_str(), "operator,reader");

    Browser staff;
    assert_int_equal(sign_in(f, staff, {{"groups", json::array({"staff"})}}).status, 303);
    auto denied = get(f, staff, "/app", false);
    assert_int_equal(denied.status, 403);
    assert_true(denied.error == Error::forbidden);

    // A group with ":" in it maps by the last ":"; unmapped groups give nothing.
    Browser team;
    assert_int_equal(sign_in(f, team, {{"groups", json::array({"team:x", "guests"})}}).status, 303);
    auto mapped = get(f, team, "/app", false);
    assert_true(mapped.allowed());
    assert_true((mapped.identity->roles == std::vector<std::string>{"operator"}));
    // A claim named like a role is no role: only role_map gives roles.
    Browser claimed;
    assert_int_equal(
        sign_in(f, claimed, {{"groups", json::array()}, {"roles", json::array({"operator"})}})
            .status,
        303);
    assert_int_equal(get(f, claimed, "/app", false).status, 403);
}

void unverified_email_never_names_the_user(void**) {
    Fixture f("claim_user=email,sub");
    Browser verified;
    assert_int_equal(sign_in(f, verified).status, 303);
    assert_string_equal(get(f, verified, "/app", false).identity->user.c_str(),
                        "alice@example.com");
    Browser unverified;
    assert_int_equal(sign_in(f, unverified, {{"email_verified", false}}).status, 303);
    assert_string_equal(get(f, unverified, "/app", false).identity->user.c_str(), "sub-1");
}

void discovery_failure_is_a_502_and_paced(void**) {
    Fixture f;
    f.http.routes.erase(std::string(kIssuer) + "/.well-known/openid-configuration");
    Browser b;
    auto d = get(f, b, "/_authgate/sso/corp");
    assert_int_equal(d.status, 502);
    assert_true(d.error == Error::idp_unreachable);
    assert_non_null(strstr(d.notice.c_str(), "discovery"));
    get(f, b, "/_authgate/sso/corp");
    assert_int_equal(f.fetches("/.well-known/openid-configuration"), 1); // paced
    f.clock.advance(6000);
    get(f, b, "/_authgate/sso/corp");
    assert_int_equal(f.fetches("/.well-known/openid-configuration"), 2);
}

void jit_user_records_only_for_sso_users(void**) {
    Fixture f;
    f.store.durable_ = true;
    Browser b;
    assert_int_equal(sign_in(f, b).status, 303);
    auto rec = run(f.store.hash_get(user_record_key("alice")));
    assert_true(rec.value.has_value());
    bool sso = false;
    for (const auto& [k, v] : *rec.value) sso |= k == "source" && v == "sso:corp";
    assert_true(sso);
    // A password user of the same name keeps its record untouched.
    run(f.store.hash_set(user_record_key("bob"), {{"password", "hash"}, {"email", "b@x"}}));
    Browser b2;
    assert_int_equal(sign_in(f, b2, {{"preferred_username", "bob"}}).status, 303);
    auto bob = run(f.store.hash_get(user_record_key("bob")));
    for (const auto& [k, v] : *bob.value) assert_true(k != "source");
}

void disabled_users_stay_out(void**) {
    Fixture f;
    f.store.durable_ = true;
    run(f.store.hash_set(user_record_key("alice"), {{"source", "sso:corp"}, {"disabled", "1"}}));
    Browser b;
    auto d = sign_in(f, b);
    assert_int_equal(d.status, 403);
    assert_non_null(strstr(d.notice.c_str(), "disabled"));
    assert_int_equal(run(list_user_sessions(f.store, "alice", f.clock.now_ms())).value.size(), 0);
    Browser bob;
    assert_int_equal(sign_in(f, bob, {{"preferred_username", "bob"}}).status, 303);
}

void refresh_is_single_flight_and_refusal_ends_the_session(void**) {
    Fixture f("refresh=on");
    Browser b;
    assert_int_equal(sign_in(f, b, json::object(), nullptr, "rt-1").status, 303);
    f.http.routes[std::string(kIssuer) + "/token"] = {200, "application/json",
                                                      json{{"access_token", "at2"},
                                                           {"token_type", "Bearer"},
                                                           {"expires_in", 300},
                                                           {"refresh_token", "rt-2"}}
                                                          .dump()};
    std::size_t before = f.fetches("/token");
    f.clock.advance(290'000); // due (refresh 30 s before the 300 s token lapses)
    assert_true(get(f, b, "/app", false).allowed());
    assert_int_equal(f.fetches("/token"), before + 1);
    assert_non_null(strstr(f.http.requests.back().body.c_str(), "refresh_token=rt-1"));
    assert_true(get(f, b, "/app", false).allowed());
    assert_int_equal(f.fetches("/token"), before + 1); // not due again yet
    // Another server holds the lock: no second refresh, the request passes.
    f.clock.advance(280'000);
    auto sessions = run(list_user_sessions(f.store, "alice", f.clock.now_ms()));
    run(f.store.set("r:" + sessions.value[0].store_key, "1", 30'000));
    assert_true(get(f, b, "/app", false).allowed());
    assert_int_equal(f.fetches("/token"), before + 1);
    // The IdP refuses: the session ends.
    f.clock.advance(31'000);
    f.http.routes[std::string(kIssuer) + "/token"] = {400, "application/json",
                                                      json{{"error", "invalid_grant"}}.dump()};
    auto ended = get(f, b, "/app", false);
    assert_false(ended.allowed());
    assert_int_equal(ended.status, 302);
    assert_non_null(strstr(f.http.requests.back().body.c_str(), "refresh_token=rt-2"));
    assert_int_equal(run(list_user_sessions(f.store, "alice", f.clock.now_ms())).value.size(), 0);
}

void refreshed_id_token_must_name_the_same_user(void**) {
    Fixture f("refresh=on");
    Browser same, other;
    assert_int_equal(sign_in(f, same, json::object(), nullptr, "rt-a").status, 303);
    f.clock.advance(290'000);
    Millis now = f.clock.now_ms();
    json refreshed = {{"iss", kIssuer},
                      {"aud", "gate"},
                      {"sub", "sub-1"},
                      {"iat", now / 1000},
                      {"exp", now / 1000 + 300}};
    f.http.routes[std::string(kIssuer) + "/token"] = {
        200, "application/json",
        json{{"access_token", "at2"},
             {"token_type", "Bearer"},
             {"expires_in", 300},
             {"id_token", sign_jwt(*g_key, refreshed.dump())}}
            .dump()};
    assert_true(get(f, same, "/app", false).allowed());

    assert_int_equal(sign_in(f, other, {{"preferred_username", "bob"}}, nullptr, "rt-b").status,
                     303);
    f.clock.advance(290'000);
    now = f.clock.now_ms();
    refreshed["sub"] = "someone-else";
    refreshed["iat"] = now / 1000;
    refreshed["exp"] = now / 1000 + 300;
    f.http.routes[std::string(kIssuer) + "/token"] = {
        200, "application/json",
        json{{"access_token", "at3"},
             {"token_type", "Bearer"},
             {"expires_in", 300},
             {"id_token", sign_jwt(*g_key, refreshed.dump())}}
            .dump()};
    auto d = get(f, other, "/app", false);
    assert_false(d.allowed());
    assert_non_null(strstr(d.notice.c_str(), "another subject"));
}

// A sign-in whose back-channel index entry cannot be written leaves no session behind
// (it would escape back-channel logout).
void failed_idp_index_leaves_no_session(void**) {
    Fixture f;
    f.store.failing_index_prefix = "o:{corp}:sid:";
    Browser b;
    auto d = sign_in(f, b);
    assert_int_equal(d.status, http_status(Error::store_unavailable));
    for (const auto& [key, entry] : f.store.entries()) {
        assert_false(key.starts_with("s:"));
    }
    assert_int_equal(run(list_user_sessions(f.store, "alice", f.clock.now_ms())).value.size(), 0);
}

// A refresh answered with tokens over the callback's size limit ends the session (the
// old refresh token may be spent already) instead of storing what later decodes fail on.
void refresh_with_oversized_tokens_ends_the_session(void**) {
    Fixture f("refresh=on");
    Browser b;
    assert_int_equal(sign_in(f, b, json::object(), nullptr, "rt-1").status, 303);
    f.http.routes[std::string(kIssuer) + "/token"] = {
        200, "application/json",
        json{{"access_token", "at2"},
             {"token_type", "Bearer"},
             {"expires_in", 300},
             {"refresh_token", std::string(oidc::kMaxRefreshTokenBytes + 1, 'r')}}
            .dump()};
    f.clock.advance(290'000);
    auto d = get(f, b, "/app", false);
    assert_false(d.allowed());
    assert_int_equal(d.status, 302);
    assert_non_null(strstr(d.notice.c_str(), "size limit"));
    assert_int_equal(run(list_user_sessions(f.store, "alice", f.clock.now_ms())).value.size(), 0);
}

void bearer_tokens(void**) {
    Fixture f("", {{"authgate_bearer", "corp audience=https://api scopes=read"}});
    Browser b;
    RequestView v;
    v.method = "GET";
    v.uri = v.path = "/api";
    Millis now = f.clock.now_ms();
    json c = {{"iss", kIssuer},        {"aud", "https://api"}, {"sub", "svc"},
              {"scope", "read write"}, {"iat", now / 1000},    {"exp", now / 1000 + 60}};
    std::string header = "Bearer " + sign_jwt(*g_key, c.dump());
    v.authorization = header;
    auto ok = run(check_access(f.ports(), f.cfg, v));
    assert_true(ok.allowed());
    assert_string_equal(ok.identity->user.c_str(), "svc");
    // Verified once: the same token passes again from the worker's cache, until it expires.
    assert_true(run(check_access(f.ports(), f.cfg, v)).allowed());
    f.clock.advance(61'000 + 60'000); // past exp and the 60 s skew
    auto expired = run(check_access(f.ports(), f.cfg, v));
    assert_int_equal(expired.status, 401);
    assert_true(expired.error == Error::token_expired);
    now = f.clock.now_ms();
    c["iat"] = now / 1000;
    c["exp"] = now / 1000 + 600;
    header = "Bearer " + sign_jwt(*g_key, c.dump());
    v.authorization = header;
    assert_true(run(check_access(f.ports(), f.cfg, v)).allowed());
    // The IdP withdraws the key; a token under an unknown kid makes the worker re-fetch,
    // and the cached verification under the old keys is gone with them.
    f.http.routes[std::string(kIssuer) + "/jwks"] = {200, "application/json", jwks_of({g_key2})};
    f.clock.advance(1500);
    std::string other = "Bearer " + sign_jwt(*g_key2, c.dump());
    v.authorization = other;
    assert_true(run(check_access(f.ports(), f.cfg, v)).allowed());
    v.authorization = header;
    auto withdrawn = run(check_access(f.ports(), f.cfg, v));
    assert_int_equal(withdrawn.status, 401);
    c["scope"] = "write";
    std::string narrow = "Bearer " + sign_jwt(*g_key2, c.dump());
    v.authorization = narrow;
    auto scope = run(check_access(f.ports(), f.cfg, v));
    assert_int_equal(scope.status, 403);
    v.authorization = "";
    auto none = run(check_access(f.ports(), f.cfg, v));
    assert_int_equal(none.status, 401);
    bool challenge = false;
    for (const auto& h : none.headers) {
        challenge |= h.name == "WWW-Authenticate" && h.value == "Bearer realm=\"authgate\"";
    }
    assert_true(challenge);
}

// A session cached by the worker (Redis session cache) never opens a bearer location.
void cached_sessions_do_not_open_bearer_locations(void**) {
    Fixture f("", {{"authgate_bearer", "corp audience=https://api"}});
    Browser b;
    assert_int_equal(sign_in(f, b).status, 303);
    GateConfig plain = f.cfg; // a session location beside the API location
    plain.bearer_provider = nullptr;
    SessionCache cache(SessionCache::Limits{60'000, 1000, 80});
    cache.subscribed(f.clock.now_ms());
    cache.heartbeat(f.clock.now_ms());
    Ports p = f.ports();
    p.sessions = &cache;
    RequestView v;
    v.method = "GET";
    v.uri = v.path = "/api";
    std::string header = b.cookie_header();
    v.cookie_headers.push_back(header);
    assert_true(run(check_access(p, plain, v)).allowed()); // cached now
    assert_true(check_access_cached(p, plain, v).has_value());
    assert_false(check_access_cached(p, f.cfg, v).has_value());
    auto api = run(check_access(p, f.cfg, v));
    assert_int_equal(api.status, 401);
}

// An IdP whose answers the test releases one by one (the nginx adapter's thread pool).
class HeldHttpClient final : public HttpClient {
  public:
    explicit HeldHttpClient(FakeHttpClient& answers) : answers_(answers) {}
    Task<HttpResponse> fetch(const HttpRequest& request) override {
        auto call = std::make_shared<Call>();
        call->request = &request;
        held_.push_back(call);
        co_await Hold{call.get()};
        co_return std::move(call->response);
    }
    std::size_t held() const { return held_.size(); }
    // Answers the oldest held call from the scripted routes and resumes its flow.
    void release() {
        auto call = held_.front();
        held_.erase(held_.begin());
        call->response = run(answers_.fetch(*call->request));
        call->flow.resume();
    }

  private:
    struct Call {
        const HttpRequest* request = nullptr;
        HttpResponse response;
        std::coroutine_handle<> flow;
    };
    // Trivially destructible: GCC 12 may destroy a co_await temporary twice.
    struct Hold {
        Call* call;
        bool await_ready() const noexcept { return false; }
        void await_suspend(std::coroutine_handle<> h) noexcept { call->flow = h; }
        void await_resume() const noexcept {}
    };
    FakeHttpClient& answers_;
    std::vector<std::shared_ptr<Call>> held_;
};

// A request's parking as the adapter does it: wake() only records, the "event loop"
// (the test) resumes later.
struct TestParking final : Parking {
    std::coroutine_handle<> parked;
    bool woken = false;
    void park(std::coroutine_handle<> h) override { parked = h; }
    void wake() noexcept override { woken = true; }
    void run_posted() {
        assert_true(woken);
        woken = false;
        std::exchange(parked, {}).resume();
    }
};

// Regression (issue 8): concurrent requests each fetched discovery and the JWKS.
void concurrent_requests_share_one_fetch(void**) {
    Fixture f("", {{"authgate_bearer", "corp audience=https://api"}});
    HeldHttpClient idp(f.http);
    Millis now = f.clock.now_ms();
    json c = {{"iss", kIssuer}, {"aud", "https://api"}, {"sub", "svc"}, {"exp", now / 1000 + 60}};
    std::string header = "Bearer " + sign_jwt(*g_key, c.dump());
    RequestView v;
    v.method = "GET";
    v.uri = v.path = "/api";
    v.authorization = header;
    TestParking pa, pb, pc;
    auto ports = [&](TestParking& p) {
        return Ports{f.store, f.clock, f.random, f.offload, idp, f.providers, nullptr, &p};
    };
    Task<Decision> a = check_access(ports(pa), f.cfg, v);
    Task<Decision> b = check_access(ports(pb), f.cfg, v);
    Task<Decision> c2 = check_access(ports(pc), f.cfg, v);
    a.start(); // fetches discovery
    b.start(); // waits for it
    c2.start();
    assert_int_equal(idp.held(), 1);
    assert_true(pb.parked && pc.parked);
    idp.release(); // discovery answered: a goes on to the JWKS, b and c are woken, not run
    assert_true(pb.woken && pc.woken);
    assert_int_equal(idp.held(), 1);
    pb.run_posted(); // b finds the document, then waits for the JWKS in flight
    pc.run_posted();
    assert_int_equal(idp.held(), 1);
    idp.release();
    assert_true(a.done());
    assert_false(b.done());
    pb.run_posted();
    pc.run_posted();
    assert_true(b.done() && c2.done());
    assert_true(a.result().allowed() && b.result().allowed() && c2.result().allowed());
    assert_int_equal(f.fetches("/.well-known/openid-configuration"), 1);
    assert_int_equal(f.fetches("/jwks"), 1);
}

// Flows at once on one loop, each way (store and IdP answering inline, oldest or newest
// first): two bearer requests share one discovery and one JWKS fetch (the second waits,
// parked, and is resumed from the loop), while a signed-in browser's page request reads
// the store in between.
void flows_at_once_share_one_fetch(void**) {
    Fixture f("", {{"authgate_bearer", "corp audience=https://api"}});
    Browser browser;
    assert_int_equal(sign_in(f, browser).status, 303);
    sso::ProviderRegistry fresh; // these requests fetch discovery and keys themselves
    GateConfig page_cfg = f.cfg;
    page_cfg.bearer_provider = nullptr;
    Millis now = f.clock.now_ms();
    json c = {{"iss", kIssuer}, {"aud", "https://api"}, {"sub", "svc"}, {"exp", now / 1000 + 60}};
    std::string bearer = "Bearer " + sign_jwt(*g_key, c.dump());
    RequestView api;
    api.method = "GET";
    api.uri = api.path = "/api";
    api.authorization = bearer;
    std::string cookies = browser.cookie_header();
    RequestView page;
    page.method = "GET";
    page.uri = page.path = "/app";
    page.accept = "text/html";
    page.cookie_headers.push_back(cookies);
    std::size_t discovery_before = f.fetches("/.well-known/openid-configuration");
    std::size_t jwks_before = f.fetches("/jwks");
    LoopParking pa, pb, pc;
    auto ports = [&](LoopParking& p) {
        return Ports{f.store, f.clock, f.random, f.offload, f.http, fresh, nullptr, &p};
    };
    Task<Decision> a = check_access(ports(pa), f.cfg, api);
    Task<Decision> b = check_access(ports(pb), f.cfg, api);
    Task<Decision> p = check_access(ports(pc), page_cfg, page);
    Task<Decision>* all[] = {&a, &b, &p};
    std::size_t completed_before = completions().completed();
    assert_true(run_all<Decision>(all));
    bool deferred = completions().mode != Completion::inline_now;
    assert_int_equal(completions().completed() > completed_before, deferred);
    assert_true(a.result().allowed() && b.result().allowed());
    auto d = p.result();
    assert_true(d.allowed());
    assert_string_equal(d.identity->user.c_str(), "alice");
    assert_int_equal(f.fetches("/.well-known/openid-configuration") - discovery_before, 1);
    assert_int_equal(f.fetches("/jwks") - jwks_before, 1);
}

// Regression (issue 8): with no keys cached, a failing JWKS was fetched on every request.
void failed_jwks_backs_off(void**) {
    Fixture f("", {{"authgate_bearer", "corp audience=https://api"}});
    auto jwks = f.http.routes[std::string(kIssuer) + "/jwks"];
    f.http.routes[std::string(kIssuer) + "/jwks"] = {500, "application/json", "{}"};
    Millis now = f.clock.now_ms();
    json c = {{"iss", kIssuer}, {"aud", "https://api"}, {"sub", "svc"}, {"exp", now / 1000 + 600}};
    std::string header = "Bearer " + sign_jwt(*g_key, c.dump());
    RequestView v;
    v.method = "GET";
    v.uri = v.path = "/api";
    v.authorization = header;
    for (int i = 0; i < 5; ++i) {
        assert_int_equal(run(check_access(f.ports(), f.cfg, v)).status, 502);
        f.clock.advance(900);
    }
    assert_int_equal(f.fetches("/jwks"), 1);
    f.http.routes[std::string(kIssuer) + "/jwks"] = jwks;
    f.clock.advance(1000); // 5.5 s after the failure
    assert_true(run(check_access(f.ports(), f.cfg, v)).allowed());
    assert_int_equal(f.fetches("/jwks"), 2);
}

} // namespace

int main() {
    SigningKey k1 = new_rsa_key("k1"), k2 = new_rsa_key("k2");
    g_key = &k1;
    g_key2 = &k2;
    const CMUnitTest tests[] = {
        cmocka_unit_test(redirect_carries_pkce_state_nonce_and_seals_the_flow),
        cmocka_unit_test(idp_error_text_needs_a_consumed_flow),
        cmocka_unit_test(callback_starts_an_indexed_session),
        cmocka_unit_test(flow_state_is_single_use_and_browser_bound),
        cmocka_unit_test(unknown_kid_refetches_jwks_at_most_once_a_second),
        cmocka_unit_test(admission_rules),
        cmocka_unit_test(unverified_email_never_names_the_user),
        cmocka_unit_test(role_map_gives_roles_from_groups),
        cmocka_unit_test(discovery_failure_is_a_502_and_paced),
        cmocka_unit_test(jit_user_records_only_for_sso_users),
        cmocka_unit_test(disabled_users_stay_out),
        cmocka_unit_test(refresh_is_single_flight_and_refusal_ends_the_session),
        cmocka_unit_test(refreshed_id_token_must_name_the_same_user),
        cmocka_unit_test(failed_idp_index_leaves_no_session),
        cmocka_unit_test(refresh_with_oversized_tokens_ends_the_session),
        cmocka_unit_test(bearer_tokens),
        cmocka_unit_test(concurrent_requests_share_one_fetch),
        cmocka_unit_test(flows_at_once_share_one_fetch),
        cmocka_unit_test(failed_jwks_backs_off),
        cmocka_unit_test(cached_sessions_do_not_open_bearer_locations),
    };
    // Every flow here runs with the store and the IdP completing inline and deferred.
    return run_each_way("sso", tests, sizeof tests / sizeof tests[0]);
}
