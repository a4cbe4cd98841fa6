// Keeping an SSO session's IdP tokens fresh: when the refresh time has come, one request
// (across every worker and server: a lock in the store) uses the refresh token; the others
// go on with the session as it is. A refused refresh ends the session.
#include "sso/flows.h"

#include "authgate/http.h"
#include "authgate/keys.h"
#include "authgate/oidc.h"
#include "sso/identity.h"
#include "sso/provider_state.h"

namespace authgate::sso {

namespace {

constexpr Millis kLockTtl = 30'000;
constexpr Millis kRetryAfterFailure = 30'000;

} // namespace

Task<RefreshResult> refresh_if_due(Ports ports, const GateConfig& cfg, const std::string& key,
                                   Session& s) {
    RefreshResult out;
    Millis now = ports.clock.now_ms();
    if (s.sso_refresh_at_ms == 0 || now < s.sso_refresh_at_ms) co_return out;
    const ProviderConfig* p = cfg.find_provider(s.sso_provider);
    if (p == nullptr || !p->conf.refresh) co_return out;

    // Single flight: a rotating refresh token must never be used twice.
    std::string lock = "r:" + key;
    auto acquired = co_await ports.store.set_if_absent(lock, "1", kLockTtl);
    if (!acquired.ok() || !acquired.value) co_return out;

    auto tokens = open_tokens(*cfg.keys, s);
    auto meta = co_await provider_metadata(ports, *p);
    if (!tokens || tokens->refresh_token.empty() || !meta.ok()) {
        out.notice = !meta.ok() ? meta.detail : "session has no usable refresh token";
        co_return out;  // the lock's expiry paces the next attempt
    }
    oidc::Client client{p->conf.client_id, p->client_secret,
                        p->conf.auth_method == config::OidcProvider::AuthMethod::client_secret_post
                            ? oidc::ClientAuth::client_secret_post
                            : oidc::ClientAuth::client_secret_basic};
    HttpRequest request = oidc::refresh_token_request(meta.value->token_endpoint, client,
                                                      tokens->refresh_token);
    request.ca_file = p->conf.ca_file;
    request.timeout_ms = p->conf.timeout;
    HttpResponse answer = co_await ports.http.fetch(request);
    auto parsed = answer.ok() ? oidc::parse_token_response(answer.body)
                              : Result<oidc::TokenResponse>(fail(answer.error));
    if (!parsed) {
        out.notice = "provider \"" + p->conf.name + "\" refresh failed: " + parsed.error();
        co_return out;  // transport trouble: try again after the lock expires
    }
    if (parsed->is_error()) {
        // invalid_grant and friends: the IdP ended this grant; so does the gate.
        out.ended = true;
        out.notice = "provider \"" + p->conf.name + "\" refused the refresh (" +
                     http::json_escape(parsed->error.substr(0, 64)) + "); session ended";
        co_await end_session(ports.store, key);
        co_await ports.store.del(lock);
        co_return out;
    }
    if (!parsed->id_token.empty()) {
        // OIDC Core 12.2: a refreshed ID token is verified and must name the same user.
        jose::Expectations expect;
        expect.issuer = meta.value->issuer;
        expect.audience = p->conf.client_id;
        expect.skew_ms = p->conf.skew;
        expect.require_iat = true;
        auto algs = provider_algs(*p);
        auto checked = co_await verify_with_rotation<jose::Token>(
            ports, *p, *meta.value, [&](const jose::KeySet& keys, Millis at) {
                return jose::verify_id_token(parsed->id_token, keys, algs, expect, at);
            });
        if (!checked || checked->claims.sub().value_or("") != s.sso_sub) {
            out.ended = true;
            out.notice = "provider \"" + p->conf.name + "\" refresh returned an unacceptable ID token (" +
                         (checked ? std::string("another subject") : checked.detail()) +
                         "); session ended";
            co_await end_session(ports.store, key);
            co_await ports.store.del(lock);
            co_return out;
        }
    }
    std::string id_token = parsed->id_token.empty() ? tokens->id_token : parsed->id_token;
    std::string refresh_token =
        parsed->refresh_token.empty() ? tokens->refresh_token : parsed->refresh_token;
    now = ports.clock.now_ms();
    Millis lifetime = parsed->expires_in > 0 ? parsed->expires_in * 1000 : kRetryAfterFailure * 10;
    s.sso_tokens = seal_tokens(*cfg.keys, ports.random, s, id_token, refresh_token);
    s.sso_refresh_at_ms =
        now + std::max<Millis>(lifetime - std::min<Millis>(lifetime / 5, 30'000), 1'000);
    auto saved = co_await ports.store.set(key, encode_session(s), session_ttl(s, now, cfg.idle_timeout));
    co_await ports.store.del(lock);
    if (!saved.ok()) out.notice = "refreshed tokens could not be stored";
    out.refreshed = saved.ok();
    co_return out;
}

} // namespace authgate::sso
