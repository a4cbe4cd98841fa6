// Callback steps that check what the provider vouches for: the ID token (issuer, audience,
// the flow's nonce, times; keys rotated at the IdP are fetched again) and userinfo.
#include "authgate/http.h"
#include "sso/callback_steps.h"
#include "sso/flows.h"
#include "sso/provider_state.h"

namespace authgate::sso {

Task<Step<jose::Claims>> verify_id_token(const CallbackContext& cx,
                                         const oidc::ProviderMetadata& meta,
                                         const oidc::FlowState& flow,
                                         const oidc::TokenResponse& tokens, Millis now) {
    using Out = Step<jose::Claims>;
    const auto& pc = cx.provider.conf;
    jose::Expectations expect;
    expect.issuer = meta.issuer;
    expect.audience = pc.client_id;
    expect.nonce = flow.nonce;
    expect.skew_ms = pc.skew;
    expect.require_iat = true;
    auto algs = provider_algs(cx.provider);
    auto verified = co_await verify_with_rotation<jose::Token>(
        cx.ports, cx.provider, meta, [&](const jose::KeySet& keys, Millis at) {
            return jose::verify_id_token(tokens.id_token, keys, algs, expect, at);
        });
    if (!verified) {
        if (verified.error() == Error::idp_unreachable) {
            co_return Out::refuse(idp_unavailable(cx.cfg, cx.req, now, verified.detail()));
        }
        co_return Out::refuse(
            refused(cx.cfg, verified.error(),
                    "provider \"" + pc.name + "\" ID token rejected: " + verified.detail()));
    }
    co_return Out{std::move(verified->claims), {}};
}

Task<Step<std::optional<jose::Claims>>> fetch_userinfo(const CallbackContext& cx,
                                                       const oidc::ProviderMetadata& meta,
                                                       const oidc::TokenResponse& tokens,
                                                       const jose::Claims& id_token, Millis now) {
    using Out = Step<std::optional<jose::Claims>>;
    const auto& pc = cx.provider.conf;
    if (!pc.userinfo || meta.userinfo_endpoint.empty())
        co_return Out{std::optional<jose::Claims>{}, {}};
    HttpRequest ui;
    ui.url = meta.userinfo_endpoint;
    ui.ca_file = pc.ca_file;
    ui.timeout_ms = pc.timeout;
    ui.headers = {{"Authorization", "Bearer " + tokens.access_token},
                  {"Accept", "application/json"}};
    HttpResponse answer = co_await cx.ports.http.fetch(ui);
    std::string failure = http_failure(answer, "userinfo");
    if (!answer.ok() || answer.status >= 500) {
        co_return Out::refuse(
            idp_unavailable(cx.cfg, cx.req, now, "provider \"" + pc.name + "\" " + failure));
    }
    if (!failure.empty()) {
        co_return Out::refuse(
            refused(cx.cfg, Error::idp_error, "provider \"" + pc.name + "\" " + failure));
    }
    auto parsed = oidc::parse_userinfo(answer.body, id_token.sub().value_or(""));
    if (!parsed) {
        co_return Out::refuse(
            refused(cx.cfg, Error::token_invalid,
                    "provider \"" + pc.name + "\" userinfo rejected: " + parsed.error()));
    }
    co_return Out{std::optional<jose::Claims>(std::move(*parsed)), {}};
}

} // namespace authgate::sso
