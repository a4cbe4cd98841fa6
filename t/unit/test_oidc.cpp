// OIDC protocol pieces: discovery, token/userinfo answers, PKCE, request builders and the
// flow-state codec.
#include "support/support.h"

#include <nlohmann/json.hpp>

#include "authgate/crypto.h"
#include "authgate/http.h"
#include "authgate/oidc.h"

using namespace authgate;
using namespace authgate::oidc;
using authgate::testing::CountingRandom;

namespace {

constexpr const char* kIssuer = "https://idp.example.com/realms/main";

std::string discovery(const std::string& issuer = kIssuer,
                      const std::string& token = "https://idp.example.com/token",
                      const std::string& extra = "") {
    return R"({"issuer":")" + issuer +
           R"(","authorization_endpoint":"https://idp.example.com/auth?tenant=x",
              "token_endpoint":")" +
           token + R"(",
              "jwks_uri":"https://idp.example.com/certs",
              "userinfo_endpoint":"https://idp.example.com/userinfo",
              "id_token_signing_alg_values_supported":["RS256","ES256"],
              "code_challenge_methods_supported":["plain","S256"],
              "response_types_supported":["code"])" +
           extra + "}";
}

void discovery_accepts_a_good_document(void**) {
    auto m = parse_discovery(discovery(), kIssuer);
    assert_true(m.ok());
    assert_true(m->issuer == kIssuer && m->token_endpoint == "https://idp.example.com/token");
    assert_true(m->authorization_endpoint == "https://idp.example.com/auth?tenant=x");
    assert_true(m->userinfo_endpoint == "https://idp.example.com/userinfo");
    assert_true(m->end_session_endpoint.empty() && m->revocation_endpoint.empty());
    assert_true(m->id_token_signing_alg_values_supported ==
                std::vector<std::string>({"RS256", "ES256"}));
    assert_true(m->code_challenge_methods_supported.size() == 2);
    auto with_logout =
        parse_discovery(discovery(kIssuer, "https://idp.example.com/token",
                                  R"(,"end_session_endpoint":"https://idp.example.com/logout",
                      "revocation_endpoint":"https://idp.example.com/revoke")"),
                        kIssuer);
    assert_true(with_logout.ok());
    assert_true(with_logout->end_session_endpoint == "https://idp.example.com/logout");
    // A local test IdP over http on loopback.
    std::string local = "http://127.0.0.1:9000";
    std::string doc = R"({"issuer":")" + local + R"(","authorization_endpoint":")" + local +
                      R"(/auth","token_endpoint":"http://localhost:9000/token",)" +
                      R"("jwks_uri":"http://[::1]:9000/jwks"})";
    assert_true(parse_discovery(doc, local).ok());
}

void discovery_rejections(void**) {
    // Issuer must match exactly.
    auto r = parse_discovery(discovery(), "https://idp.example.com/realms/main/");
    assert_false(r.ok());
    assert_non_null(strstr(r.error().c_str(), "issuer"));
    assert_false(parse_discovery(discovery("https://evil.example.com"), kIssuer).ok());
    // http to a non-loopback host.
    assert_false(parse_discovery(discovery(kIssuer, "http://idp.example.com/token"), kIssuer).ok());
    assert_false(
        parse_discovery(discovery(kIssuer, "http://localhost.evil.com/token"), kIssuer).ok());
    assert_false(
        parse_discovery(discovery(kIssuer, "http://127.0.0.1@evil.com/token"), kIssuer).ok());
    assert_false(
        parse_discovery(discovery("http://idp.example.com"), "http://idp.example.com").ok());
    assert_false(
        parse_discovery(discovery(kIssuer, "https://idp.example.com/token",
                                  R"(,"end_session_endpoint":"http://idp.example.com/logout")"),
                        kIssuer)
            .ok());
    // Missing required endpoints.
    for (const char* name : {"authorization_endpoint", "token_endpoint", "jwks_uri"}) {
        auto j = nlohmann::json::parse(discovery());
        j.erase(name);
        std::string doc = j.dump();
        assert_false(parse_discovery(doc, kIssuer).ok());
    }
    // Malformed JSON and wrong types.
    for (const std::string& bad :
         {std::string(), std::string("{"), std::string("[]"), std::string("null"),
          std::string(R"({"issuer":7})"), discovery().substr(0, 40),
          discovery(kIssuer, "https://idp.example.com/token",
                    R"(,"code_challenge_methods_supported":"S256")"),
          discovery(kIssuer, "https://idp.example.com/token", R"(,"userinfo_endpoint":["x"])")}) {
        assert_false(parse_discovery(bad, kIssuer).ok());
    }
}

void endpoint_rules(void**) {
    assert_true(is_allowed_endpoint("https://idp.example.com"));
    assert_true(is_allowed_endpoint("HTTPS://idp.example.com:8443/a?b=c"));
    assert_true(is_allowed_endpoint("http://LOCALHOST:8080/x"));
    assert_true(is_allowed_endpoint("http://[::1]/x"));
    for (const char* bad :
         {"", "idp.example.com", "ftp://idp.example.com", "https://", "https:///path",
          "https://:443/", "https://a:b@idp.example.com/", "https://idp.example.com/#frag",
          "https://idp.example.com/ x", "https://idp.example.com:99999999/",
          "https://idp.example.com:x/", "https://[::1/", "http://127.0.0.2/", "http://[::2]/",
          "https://idp.example.com\\@evil/", "javascript:alert(1)"}) {
        if (is_allowed_endpoint(bad)) fail_msg("accepted %s", bad);
    }
}

void token_response_success_and_error(void**) {
    auto ok = parse_token_response(R"({"access_token":"at","token_type":"bearer",
        "id_token":"a.b.c","refresh_token":"rt","expires_in":300,"scope":"openid email"})");
    assert_true(ok.ok());
    assert_false(ok->is_error());
    assert_true(ok->access_token == "at" && ok->id_token == "a.b.c" && ok->refresh_token == "rt");
    assert_true(ok->expires_in == 300 && ok->scope == "openid email");
    auto str_exp = parse_token_response(R"({"access_token":"at","token_type":"Bearer",
        "expires_in":"3600"})");
    assert_true(str_exp.ok() && str_exp->expires_in == 3600 && str_exp->id_token.empty());

    auto err =
        parse_token_response(R"({"error":"invalid_grant","error_description":"code expired"})");
    assert_true(err.ok());
    assert_true(err->is_error() && err->error == "invalid_grant" &&
                err->error_description == "code expired" && err->access_token.empty());

    for (const char* bad :
         {"", "{", "[]", "\"x\"", R"({"token_type":"Bearer"})", R"({"access_token":"at"})",
          R"({"access_token":"at","token_type":"mac"})",
          R"({"access_token":5,"token_type":"Bearer"})",
          R"({"access_token":"at","token_type":"Bearer","expires_in":-1})",
          R"({"access_token":"at","token_type":"Bearer","expires_in":"12a"})",
          R"({"access_token":"at","token_type":"Bearer","id_token":{}})", R"({"error":7})",
          R"({"error":""})", R"({"error":"invalid_grant","error_description":[]})"}) {
        if (parse_token_response(bad).ok()) fail_msg("accepted %s", bad);
    }
}

void userinfo_sub_must_match(void**) {
    auto u = parse_userinfo(R"({"sub":"u1","email":"a@example.com","groups":["g"]})", "u1");
    assert_true(u.ok());
    assert_true(u->email() == "a@example.com");
    assert_false(parse_userinfo(R"({"sub":"u2"})", "u1").ok());
    assert_false(parse_userinfo(R"({"email":"x"})", "u1").ok());
    assert_false(parse_userinfo(R"({"sub":"u1"})", "").ok());
    assert_false(parse_userinfo("{", "u1").ok());
    assert_false(parse_userinfo("[]", "u1").ok());
}

void pkce_state_nonce(void**) {
    CountingRandom random;
    std::string v = new_pkce_verifier(random);
    assert_int_equal(v.size(), 43);
    assert_true(is_valid_pkce_verifier(v));
    // Expected value from `openssl dgst -sha256 -binary | base64`, made url-safe, unpadded.
    assert_string_equal(pkce_challenge_s256("dBjftJeZ4CVP-mJ92K9TEqJ3wT6ruVn1wmxW3xVJXHo").c_str(),
                        "qddwmT7DIFsY5yNZaA_q60fgk8kfireHiSbS9KmeL0I");
    assert_false(is_valid_pkce_verifier(std::string(42, 'a')));
    assert_false(is_valid_pkce_verifier(std::string(129, 'a')));
    assert_false(is_valid_pkce_verifier(std::string(43, 'a') + "+"));
    assert_true(is_valid_pkce_verifier(std::string(128, '~')));
    std::string s1 = new_state(random);
    std::string s2 = new_state(random);
    std::string n = new_nonce(random);
    assert_true(s1.size() >= 22 && s1 != s2 && n != s1); // >= 128 bits
    assert_true(crypto::base64url_decode(s1).has_value());
}

void authorization_url_encoding(void**) {
    AuthorizationRequest req;
    req.client_id = "my client";
    req.redirect_uri = "https://app.example.com/_authgate/callback/kc";
    req.scope = "openid email profile";
    req.state = "st";
    req.nonce = "no";
    req.code_challenge = "ch";
    req.extra = {{"prompt", "login"}, {"state", "evil"}, {"login_hint", "a&b=c"}};
    std::string url = authorization_url("https://idp.example.com/auth", req);
    assert_string_equal(url.c_str(),
                        "https://idp.example.com/auth?response_type=code&client_id=my%20client"
                        "&redirect_uri=https%3A%2F%2Fapp.example.com%2F_authgate%2Fcallback%2Fkc"
                        "&scope=openid%20email%20profile&state=st&nonce=no&code_challenge=ch"
                        "&code_challenge_method=S256&prompt=login&login_hint=a%26b%3Dc");
    std::string with_query = authorization_url("https://idp.example.com/auth?tenant=x", req);
    assert_true(with_query.rfind("https://idp.example.com/auth?tenant=x&response_type=code", 0) ==
                0);
    std::string trailing = authorization_url("https://idp.example.com/auth?", req);
    assert_true(trailing.rfind("https://idp.example.com/auth?response_type=code", 0) == 0);
    // The query round-trips through the form parser.
    auto params = http::parse_form(url.substr(url.find('?') + 1));
    assert_true(params.has_value());
    assert_true(http::param(*params, "client_id") == "my client");
    assert_true(http::param(*params, "state") == "st");
    assert_true(http::param(*params, "login_hint") == "a&b=c");
}

std::string header(const HttpRequest& r, std::string_view name) {
    for (const auto& [n, v] : r.headers) {
        if (n == name) return v;
    }
    return {};
}

void token_requests(void**) {
    Client basic{"client:id", "s3cr+t/é", ClientAuth::client_secret_basic};
    HttpRequest r = authorization_code_request("https://idp.example.com/token", basic, "the code",
                                               "https://app.example.com/cb", "verifier");
    assert_string_equal(r.method.c_str(), "POST");
    assert_string_equal(r.url.c_str(), "https://idp.example.com/token");
    assert_string_equal(header(r, "Content-Type").c_str(), "application/x-www-form-urlencoded");
    assert_string_equal(r.body.c_str(),
                        "grant_type=authorization_code&code=the%20code"
                        "&redirect_uri=https%3A%2F%2Fapp.example.com%2Fcb&code_verifier=verifier");
    std::string auth = header(r, "Authorization");
    assert_true(auth.rfind("Basic ", 0) == 0);
    auto decoded = crypto::base64_decode(auth.substr(6));
    assert_true(decoded.has_value());
    assert_string_equal(decoded->c_str(), "client%3Aid:s3cr%2Bt%2F%C3%A9");

    Client post{"cid", "sec ret", ClientAuth::client_secret_post};
    HttpRequest p = refresh_token_request("https://idp.example.com/token", post, "rt", "openid");
    assert_true(header(p, "Authorization").empty());
    assert_string_equal(p.body.c_str(), "grant_type=refresh_token&refresh_token=rt&scope=openid"
                                        "&client_id=cid&client_secret=sec%20ret");
}

void end_session(void**) {
    EndSessionRequest req;
    req.id_token_hint = "a.b.c";
    req.post_logout_redirect_uri = "https://app.example.com/bye";
    req.client_id = "cid";
    assert_string_equal(end_session_url("https://idp.example.com/logout?x=1", req).c_str(),
                        "https://idp.example.com/logout?x=1&id_token_hint=a.b.c"
                        "&post_logout_redirect_uri=https%3A%2F%2Fapp.example.com%2Fbye"
                        "&client_id=cid");
    assert_string_equal(end_session_url("https://idp.example.com/logout", {}).c_str(),
                        "https://idp.example.com/logout");
}

FlowState sample_flow(std::string_view state = "state-1", Millis created = 1'700'000'000'000) {
    FlowState s;
    auto digest = crypto::sha256(state);
    s.state_hash.assign(reinterpret_cast<const char*>(digest.data()), digest.size());
    s.provider = "keycloak";
    s.nonce = "nonce-value";
    s.pkce_verifier = std::string(43, 'v');
    s.rd = "/app/page?x=1";
    s.created_ms = created;
    return s;
}

void flow_state_codec(void**) {
    std::vector<FlowState> flows{sample_flow("a"), sample_flow("b")};
    std::string enc = encode_flows(flows);
    auto back = decode_flows(enc);
    assert_true(back.ok());
    assert_int_equal(back->size(), 2);
    const FlowState& f = (*back)[1];
    assert_true(f.state_hash == flows[1].state_hash && f.provider == "keycloak" &&
                f.nonce == "nonce-value" && f.pkce_verifier == std::string(43, 'v') &&
                f.rd == "/app/page?x=1" && f.created_ms == 1'700'000'000'000);
    assert_true(decode_flows(encode_flows({})).ok());

    for (std::size_t n = 0; n < enc.size(); ++n) {
        assert_false(decode_flows(enc.substr(0, n)).ok()); // every truncation
    }
    assert_false(decode_flows(enc + "x").ok());
    std::string v1 = enc;
    v1[0] = 1; // the store record of earlier versions
    auto r = decode_flows(v1);
    assert_false(r.ok());
    assert_non_null(strstr(r.error().c_str(), "version"));
    std::vector<FlowState> four(4, sample_flow());
    assert_false(decode_flows(encode_flows(four)).ok());
    FlowState no_provider = sample_flow();
    no_provider.provider.clear();
    assert_false(decode_flows(encode_flows({no_provider})).ok());
    FlowState bad_verifier = sample_flow();
    bad_verifier.pkce_verifier = "short";
    assert_false(decode_flows(encode_flows({bad_verifier})).ok());
    FlowState bad_hash = sample_flow();
    bad_hash.state_hash = "short";
    assert_false(decode_flows(encode_flows({bad_hash})).ok());
    assert_false(decode_flows(enc.substr(0, 1) + std::string(10, '\xff')).ok());
}

void flow_list_keeps_recent_flows_within_limits(void**) {
    constexpr Millis t0 = 1'700'000'000'000;
    std::vector<FlowState> flows;
    for (int i = 0; i < 5; ++i)
        add_flow(flows, sample_flow("s" + std::to_string(i), t0 + i), t0 + i);
    assert_int_equal(flows.size(), kMaxFlows);
    // Newest first; the oldest were dropped.
    assert_true(find_flow(flows, "s4", t0 + 10) == std::optional<std::size_t>(0));
    assert_true(find_flow(flows, "s2", t0 + 10) == std::optional<std::size_t>(2));
    assert_false(find_flow(flows, "s1", t0 + 10).has_value());
    assert_false(find_flow(flows, "", t0 + 10).has_value());
    assert_false(find_flow(flows, "s4x", t0 + 10).has_value());
    // A flow lives 10 minutes, and never before it was made.
    assert_false(find_flow(flows, "s4", t0 + 4 + kFlowTtl).has_value());
    assert_true(find_flow(flows, "s4", t0 + 3 + kFlowTtl).has_value());
    assert_false(find_flow(flows, "s4", t0).has_value());

    // A 2 KB return path: the list shrinks so that its encoding stays within the budget.
    for (int i = 0; i < 3; ++i) {
        FlowState big = sample_flow("big" + std::to_string(i), t0 + 20 + i);
        big.rd = "/" + std::string(2047, 'r');
        add_flow(flows, std::move(big), t0 + 20 + i);
        assert_true(encode_flows(flows).size() <= kMaxFlowBytes);
        assert_true(find_flow(flows, "big" + std::to_string(i), t0 + 30).has_value());
    }
    assert_int_equal(flows.size(), 1);
    // Expired flows are dropped when a new one is added.
    add_flow(flows, sample_flow("late", t0 + kFlowTtl + 100), t0 + kFlowTtl + 100);
    assert_int_equal(flows.size(), 1);
}

} // namespace

int main() {
    const CMUnitTest tests[] = {
        cmocka_unit_test(discovery_accepts_a_good_document),
        cmocka_unit_test(discovery_rejections),
        cmocka_unit_test(endpoint_rules),
        cmocka_unit_test(token_response_success_and_error),
        cmocka_unit_test(userinfo_sub_must_match),
        cmocka_unit_test(pkce_state_nonce),
        cmocka_unit_test(authorization_url_encoding),
        cmocka_unit_test(token_requests),
        cmocka_unit_test(end_session),
        cmocka_unit_test(flow_state_codec),
        cmocka_unit_test(flow_list_keeps_recent_flows_within_limits),
    };
    return cmocka_run_group_tests(tests, nullptr, nullptr);
}
