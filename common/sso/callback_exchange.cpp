// Callback step: the authorization code for the provider's tokens (with the flow's PKCE
// verifier), and what the answer must hold before its ID token is looked at.
#include "authgate/http.h"
#include "sso/callback_steps.h"
#include "sso/flows.h"

namespace authgate::sso {

namespace {

// Whatever the callback accepts, sealed (nonce, tag, base64url, key id), fits a session.
static_assert((oidc::kMaxIdTokenBytes + oidc::kMaxRefreshTokenBytes + 29) * 4 / 3 + 256 <
              kMaxSealedTokensBytes);

HttpRequest token_request(const CallbackContext& cx, const oidc::ProviderMetadata& meta,
                          const oidc::FlowState& flow, std::string_view code) {
    const auto& pc = cx.provider.conf;
    oidc::Client client{pc.client_id, cx.provider.client_secret,
                        pc.auth_method == config::OidcProvider::AuthMethod::client_secret_post
                            ? oidc::ClientAuth::client_secret_post
                            : oidc::ClientAuth::client_secret_basic};
    HttpRequest r = oidc::authorization_code_request(
        meta.token_endpoint, client, code, redirect_uri(cx.cfg, cx.provider), flow.pkce_verifier);
    r.ca_file = pc.ca_file;
    r.timeout_ms = pc.timeout;
    return r;
}

} // namespace

Task<Step<oidc::TokenResponse>> exchange_code(const CallbackContext& cx,
                                              const oidc::ProviderMetadata& meta,
                                              const oidc::FlowState& flow, std::string_view code,
                                              Millis now) {
    using Out = Step<oidc::TokenResponse>;
    const auto& cfg = cx.cfg;
    const auto& pc = cx.provider.conf;
    HttpResponse answer = co_await cx.ports.http.fetch(token_request(cx, meta, flow, code));
    if (!answer.ok() || answer.status >= 500) {
        co_return Out::refuse(idp_unavailable(
            cfg, cx.req, now,
            "provider \"" + pc.name + "\" token endpoint: " +
                (answer.ok() ? "HTTP status " + std::to_string(answer.status) : answer.error)));
    }
    auto tokens = oidc::parse_token_response(answer.body);
    if (!tokens) {
        co_return Out::refuse(refused(cfg, Error::idp_error,
                                      "provider \"" + pc.name + "\" token answer (HTTP " +
                                          std::to_string(answer.status) + "): " + tokens.error()));
    }
    if (tokens->is_error()) {
        co_return Out::refuse(refused(cfg, Error::idp_error,
                                      "provider \"" + pc.name + "\" refused the code: " +
                                          http::json_escape(printable(tokens->error, 64))));
    }
    if (tokens->id_token.empty()) {
        co_return Out::refuse(refused(cfg, Error::token_invalid,
                                      "provider \"" + pc.name + "\" answered without an ID token"));
    }
    // One limit for what a session carries: larger tokens would not survive being sealed
    // into the session record.
    if (tokens->id_token.size() > oidc::kMaxIdTokenBytes ||
        tokens->refresh_token.size() > oidc::kMaxRefreshTokenBytes) {
        co_return Out::refuse(
            refused(cfg, Error::token_too_large,
                    "provider \"" + pc.name + "\" ID token of " +
                        std::to_string(tokens->id_token.size()) + " bytes (or refresh token of " +
                        std::to_string(tokens->refresh_token.size()) + ") over the limit"));
    }
    co_return Out{std::move(*tokens), {}};
}

} // namespace authgate::sso
