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
// Touches by other requests may win the conditional write a few times; the rotated
// refresh token must still be stored.
constexpr int kStoreAttempts = 4;

struct Current {
    StoreStatus status = StoreStatus::ok;
    std::string raw;                // the record as read (the expected value of the write)
    std::optional<Session> session; // nullopt: the session ended
};

Task<Current> read_current(Store& store, const std::string& key, const Session& s) {
    auto record = co_await store.get(key);
    if (!record.ok()) co_return Current{StoreStatus::unavailable, {}, std::nullopt};
    if (!record.value) co_return Current{};
    auto decoded = decode_session(*record.value);
    // Another record under the same key would be a different session: treated as ended.
    if (!decoded || decoded->sso_provider != s.sso_provider || decoded->sso_sub != s.sso_sub) {
        co_return Current{};
    }
    co_return Current{StoreStatus::ok, std::move(*record.value), std::move(*decoded)};
}

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

    // The record as it is now, not as the request first read it: a logout meanwhile
    // ends the refresh here, and a refresh by another worker is not redone.
    auto current = co_await read_current(ports.store, key, s);
    if (current.status != StoreStatus::ok || !current.session) {
        co_await ports.store.del(lock);
        if (current.status != StoreStatus::ok) {
            out.notice = "session store unavailable during the refresh";
        } else {
            out.ended = true;
            out.notice = "session ended before its refresh";
        }
        co_return out;
    }
    if (current.session->sso_refresh_at_ms != s.sso_refresh_at_ms) {
        co_await ports.store.del(lock);
        s = std::move(*current.session);
        co_return out; // refreshed meanwhile
    }
    auto tokens = open_tokens(*cfg.keys, s);
    auto meta = co_await provider_metadata(ports, *p);
    if (!tokens || tokens->refresh_token.empty() || !meta.ok()) {
        out.notice = !meta.ok() ? meta.detail : "session has no usable refresh token";
        co_return out; // the lock's expiry paces the next attempt
    }
    oidc::Client client{p->conf.client_id, p->client_secret,
                        p->conf.auth_method == config::OidcProvider::AuthMethod::client_secret_post
                            ? oidc::ClientAuth::client_secret_post
                            : oidc::ClientAuth::client_secret_basic};
    HttpRequest request =
        oidc::refresh_token_request(meta.value->token_endpoint, client, tokens->refresh_token);
    request.ca_file = p->conf.ca_file;
    request.timeout_ms = p->conf.timeout;
    HttpResponse answer = co_await ports.http.fetch(request);
    auto parsed = answer.ok() ? oidc::parse_token_response(answer.body)
                              : Result<oidc::TokenResponse>(fail(answer.error));
    if (!parsed) {
        out.notice = "provider \"" + p->conf.name + "\" refresh failed: " + parsed.error();
        co_return out; // transport trouble: try again after the lock expires
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
    if (parsed->id_token.size() > oidc::kMaxIdTokenBytes ||
        parsed->refresh_token.size() > oidc::kMaxRefreshTokenBytes) {
        // Tokens the session cannot keep (the callback's limit): the old refresh token may
        // already be spent, so the session ends rather than going on with it.
        out.ended = true;
        out.notice = "provider \"" + p->conf.name +
                     "\" refresh returned tokens over the size "
                     "limit; session ended";
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
            out.notice =
                "provider \"" + p->conf.name + "\" refresh returned an unacceptable ID token (" +
                (checked ? std::string("another subject") : checked.detail()) + "); session ended";
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
    std::string sealed = seal_tokens(*cfg.keys, ports.random, s, id_token, refresh_token);
    Millis refresh_at =
        now + std::max<Millis>(lifetime - std::min<Millis>(lifetime / 5, 30'000), 1'000);
    // Conditional write: the tokens go onto the record as it is then (a touch meanwhile
    // is kept); a session ended meanwhile stays ended and the new tokens go with it.
    for (int attempt = 0; attempt < kStoreAttempts; ++attempt) {
        Session updated = *current.session;
        updated.sso_tokens = sealed;
        updated.sso_refresh_at_ms = refresh_at;
        now = ports.clock.now_ms();
        auto saved = co_await ports.store.compare_and_set(
            key, current.raw, encode_session(updated), session_ttl(updated, now, cfg.idle_timeout));
        if (!saved.ok()) break;
        if (saved.value) {
            s = std::move(updated);
            out.refreshed = true;
            break;
        }
        current = co_await read_current(ports.store, key, s);
        if (current.status != StoreStatus::ok) break;
        if (!current.session) {
            out.ended = true;
            out.notice = "provider \"" + p->conf.name + "\": the session ended during its refresh";
            break;
        }
    }
    co_await ports.store.del(lock);
    if (!out.refreshed && !out.ended) out.notice = "refreshed tokens could not be stored";
    co_return out;
}

} // namespace authgate::sso
