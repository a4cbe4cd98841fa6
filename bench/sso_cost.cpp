// CPU cost of SSO in the core, without the IdP's round trips (scripted answers, memory
// store): ID-token verification alone, and a whole callback (flow state consumed, token
// answer parsed, ID token verified, claims mapped, session started). Not a test: run by
// bench/sso, which prints these beside the bearer-token throughput.
#include "support/sso_world.h"

#include <chrono>
#include <cstdio>

#include "authgate/jose.h"

using namespace authgate;
using namespace authgate::testing;

namespace {

template <class F> double micros_per_op(int n, F&& op) {
    auto t0 = std::chrono::steady_clock::now();
    for (int i = 0; i < n; ++i) op(i);
    auto t1 = std::chrono::steady_clock::now();
    return std::chrono::duration<double, std::micro>(t1 - t0).count() / n;
}

} // namespace

// --mint DIR ISSUER AUDIENCE: writes DIR/jwks.json and DIR/token (an access token valid for
// an hour, scope "read") for the bearer throughput run.
int mint(const char* dir, const char* issuer, const char* audience) {
    SigningKey key = new_rsa_key("bench");
    auto now = std::chrono::duration_cast<std::chrono::seconds>(
                   std::chrono::system_clock::now().time_since_epoch())
                   .count();
    nlohmann::json claims = {{"iss", issuer},   {"aud", audience}, {"sub", "bench"},
                             {"scope", "read"}, {"iat", now},      {"exp", now + 3600}};
    std::string base(dir);
    std::FILE* jwks = std::fopen((base + "/jwks.json").c_str(), "w");
    std::FILE* token = std::fopen((base + "/token").c_str(), "w");
    if (jwks == nullptr || token == nullptr) return 1;
    std::fputs(jwks_of({&key}).c_str(), jwks);
    std::fputs(sign_jwt(key, claims.dump()).c_str(), token);
    std::fclose(jwks);
    std::fclose(token);
    return 0;
}

int main(int argc, char** argv) {
    if (argc == 5 && std::string_view(argv[1]) == "--mint") return mint(argv[2], argv[3], argv[4]);
    int n = argc > 1 ? std::atoi(argv[1]) : 2000;
    SigningKey key = new_rsa_key("k1");
    SsoWorld w(key);
    auto keys = jose::KeySet::parse(jwks_of({&key}));
    jose::Expectations expect;
    expect.issuer = kIssuer;
    expect.audience = "gate";
    expect.nonce = "n-1";
    std::string token = sign_jwt(key, claims_for("n-1", w.clock.now_ms()).dump());
    const jose::Alg algs[] = {jose::Alg::rs256};
    double verify = micros_per_op(n, [&](int) {
        auto r = jose::verify_id_token(token, *keys, algs, expect, w.clock.now_ms());
        if (!r) std::abort();
    });

    // Whole flows: the redirect is timed apart from the callback.
    double start_us = 0, callback_us = 0;
    for (int i = 0; i < n; ++i) {
        Browser b;
        auto t0 = std::chrono::steady_clock::now();
        auto start = get(w, b, "/_authgate/sso/corp?rd=/app");
        auto t1 = std::chrono::steady_clock::now();
        std::string state = query_param(start.location, "state");
        nlohmann::json answer = {
            {"access_token", "at"},
            {"token_type", "Bearer"},
            {"expires_in", 300},
            {"id_token",
             sign_jwt(key,
                      claims_for(query_param(start.location, "nonce"), w.clock.now_ms()).dump())}};
        w.http.routes[std::string(kIssuer) + "/token"] = {200, "application/json", answer.dump()};
        auto t2 = std::chrono::steady_clock::now();
        auto done = get(w, b, "/_authgate/callback/corp?code=c&state=" + state);
        auto t3 = std::chrono::steady_clock::now();
        if (done.status != 303) std::abort();
        start_us += std::chrono::duration<double, std::micro>(t1 - t0).count();
        callback_us += std::chrono::duration<double, std::micro>(t3 - t2).count();
        w.http.requests.clear();
    }
    std::printf("id_token_verify_rs256_us %.1f\n", verify);
    std::printf("sso_redirect_us %.1f\n", start_us / n);
    std::printf("sso_callback_us %.1f\n", callback_us / n);
    return 0;
}
