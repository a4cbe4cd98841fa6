// authgate_bearer locations: an "Authorization: Bearer <JWT>" from the configured provider,
// verified against its JWKS (signature, iss, aud, exp, scopes) and told apart from the
// provider's ID tokens (jose::AccessTokenRules); no session is involved.
#include "authgate/client_address.h"
#include "limit/request_limits.h"
#include "sso/flows.h"

#include <algorithm>

#include "answer/responses.h"
#include "authgate/crypto.h"
#include "authgate/http.h"
#include "sso/identity.h"
#include "sso/provider_state.h"
#include "users/user_check.h"

namespace authgate::sso {

namespace {

// RFC 6750 section 3: no error code when the request had no token at all.
Decision bearer_refusal(const GateConfig& cfg, const RequestView& req, Millis now, Error e,
                        std::string_view code, std::string_view description) {
    auto d = answer::json_error(req, now, e, description);
    std::string challenge = "Bearer realm=\"authgate\"";
    if (!code.empty()) {
        challenge += ", error=\"" + std::string(code) + "\"";
        if (!description.empty())
            challenge += ", error_description=\"" + std::string(description) + "\"";
    }
    if (e == Error::insufficient_scope) {
        std::string scopes;
        for (const auto& s : cfg.bearer_scopes) scopes += (scopes.empty() ? "" : " ") + s;
        challenge += ", scope=\"" + scopes + "\"";
    }
    d.headers.push_back({"WWW-Authenticate", std::move(challenge)});
    return d;
}

std::string_view bearer_token(std::string_view authorization) {
    constexpr std::string_view kScheme = "bearer ";
    if (authorization.size() <= kScheme.size()) return {};
    for (std::size_t i = 0; i < kScheme.size(); ++i) {
        char c = authorization[i];
        if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
        if (c != kScheme[i]) return {};
    }
    std::string_view token = authorization.substr(kScheme.size());
    while (!token.empty() && token.front() == ' ') token.remove_prefix(1);
    while (!token.empty() && token.back() == ' ') token.remove_suffix(1);
    return token;
}

// The answer for a verified (or refused) token: identity and authorization, or a challenge.
Decision admit(const GateConfig& cfg, const RequestView& req, const ProviderConfig& p, Millis now,
               const jose::Checked<jose::Token>& checked);

// A token of a user disabled in the users file or the store (issue 8, item 7) is refused.
Task<Decision> current_user_only(Ports ports, const GateConfig& cfg, const RequestView& req,
                                 Millis now, Decision d) {
    if (!d.allowed()) co_return d;
    auto user = co_await check_user(ports, cfg, d.identity->user, "bearer");
    if (user == UserCheck::store_unavailable) {
        co_return answer::json_error(req, now, Error::store_unavailable);
    }
    if (user == UserCheck::refused) {
        auto refused = bearer_refusal(cfg, req, now, Error::token_invalid, "invalid_token",
                                      "The token's user is disabled.");
        refused.notice = "bearer token of disabled user \"" +
                         http::json_escape(d.identity->user.substr(0, 64)) + "\" refused";
        co_return refused;
    }
    co_return d;
}

} // namespace

Task<Decision> check_bearer(Ports ports, const GateConfig& cfg, const RequestView& req) {
    const ProviderConfig& p = *cfg.bearer_provider;
    Millis now = ports.clock.now_ms();
    std::string_view token = bearer_token(req.authorization);
    if (token.empty()) {
        co_return bearer_refusal(cfg, req, now, Error::no_session, "", "");
    }
    if (token.size() > jose::kMaxTokenBytes) {
        co_return bearer_refusal(cfg, req, now, Error::token_invalid, "invalid_token",
                                 "The access token is too large.");
    }
    auto meta = co_await provider_metadata(ports, p);
    if (!meta.ok()) co_return idp_unavailable(cfg, req, now, meta.detail);
    // Keys past their hour are fetched again here, which also forgets cached tokens.
    auto keys = co_await provider_keys(ports, p, *meta.value, false);
    if (!keys.ok()) co_return idp_unavailable(cfg, req, now, keys.detail);

    jose::Expectations expect;
    expect.issuer = meta.value->issuer;
    expect.audience = cfg.bearer_audience;
    expect.skew_ms = p.conf.skew;
    expect.check_azp = false;
    jose::AccessTokenRules kind;
    kind.client_id = p.conf.client_id;
    kind.client_audience = cfg.bearer_audience_explicit && cfg.bearer_audience == p.conf.client_id;
    auto algs = provider_algs(p);

    // A token this process verified before: the signature holds under the same keys, the
    // claims (expiry, audience, scopes of this location) are checked again.
    VerifiedTokens& verified = ports.providers.state(p).verified;
    std::string digest;
    {
        auto d = crypto::sha256(token);
        digest.assign(reinterpret_cast<const char*>(d.data()), d.size());
    }
    if (auto hit = verified.find(digest, now)) {
        jose::Checked<jose::Token> cached = std::move(*hit);
        auto valid = jose::validate_access_token(*cached, expect, kind, cfg.bearer_scopes, now);
        if (!valid) cached = valid.rejection();
        co_return co_await current_user_only(ports, cfg, req, now, admit(cfg, req, p, now, cached));
    }
    // A token not verified before costs a signature check (and maybe a JWKS fetch): one
    // client may not make the gate do that at will.
    std::string client_storage;
    auto refused =
        co_await gate::anonymous_limit(ports, cfg, req, client_address(cfg, req, client_storage));
    if (refused) co_return std::move(*refused);
    std::uint64_t generation = verified.generation();
    auto checked = co_await verify_with_rotation<jose::Token>(
        ports, p, *meta.value, [&](const jose::KeySet& set, Millis at) {
            return jose::verify_access_token(token, set, algs, expect, kind, cfg.bearer_scopes, at);
        });
    if (!checked && checked.error() == Error::idp_unreachable) {
        co_return idp_unavailable(cfg, req, now, checked.detail());
    }
    if (checked) {
        Millis exp = checked->claims.time_ms("exp").value_or(0);
        verified.put(std::move(digest), *checked, exp + p.conf.skew, generation);
    }
    co_return co_await current_user_only(ports, cfg, req, now, admit(cfg, req, p, now, checked));
}

namespace {

Decision admit(const GateConfig& cfg, const RequestView& req, const ProviderConfig& p, Millis now,
               const jose::Checked<jose::Token>& checked) {
    if (!checked) {
        bool scope = checked.error() == Error::insufficient_scope;
        auto d = bearer_refusal(
            cfg, req, now, checked.error(), scope ? "insufficient_scope" : "invalid_token",
            scope ? "The access token lacks a required scope." : error_message(checked.error()));
        d.notice = "bearer token refused: " + checked.detail();
        return d;
    }
    Session s;
    auto mapped = map_identity(p, checked->claims, nullptr, s);
    if (mapped.error != Error::ok) {
        auto d = bearer_refusal(cfg, req, now, Error::forbidden, "insufficient_scope",
                                "The token's subject is not admitted here.");
        d.notice = "bearer token refused: " + mapped.reason;
        return d;
    }
    return authorize(
        cfg, req,
        admit_identity(Identity{std::move(s.user), std::move(s.email), std::move(s.name),
                                std::move(s.groups), std::move(s.roles)}),
        now);
}

} // namespace

} // namespace authgate::sso
