// GET {prefix}callback/{provider}: the IdP sends the browser back with a code (or an
// error). The flow state comes sealed from the browser's flow cookie and works once; the
// code is exchanged, the ID token verified, the claims admitted as an identity, and the
// sign-in completed as every sign-in is (signin::complete_sign_in). One step per file:
// callback_flow, callback_exchange, callback_verify, callback_admit.
#include "answer/responses.h"
#include "authgate/http.h"
#include "sso/callback_steps.h"
#include "sso/flows.h"
#include "sso/provider_state.h"

namespace authgate::sso {

Decision refused(const GateConfig& cfg, Error e, std::string notice) {
    auto d = answer::error_page(cfg, e, true);
    d.notice = std::move(notice);
    return d;
}

std::string printable(std::string_view v, std::size_t max) {
    std::string out;
    for (char c : v.substr(0, max)) {
        out.push_back(static_cast<unsigned char>(c) < 0x20 || c == 0x7f ? ' ' : c);
    }
    return out;
}

namespace {

// The identity's sign-in, answered for this callback.
Task<Decision> sign_in(const CallbackContext& cx, signin::ProvenIdentity who, Millis now) {
    const auto& cfg = cx.cfg;
    signin::ProvenIdentity recorded = who;
    auto done = co_await signin::complete_sign_in(cx.ports, cfg, cx.req, std::move(who));
    switch (done.status) {
    case signin::SignInStatus::signed_in:
        if (!co_await record_user(cx, recorded, now)) {
            co_return answer::error_page(cfg, Error::store_unavailable);
        }
        done.answer.headers.push_back({"Cache-Control", "no-store"});
        co_return std::move(done.answer);
    case signin::SignInStatus::next_factor: co_return std::move(done.answer);
    case signin::SignInStatus::refused:
        co_return refused(cfg, Error::forbidden,
                          "user \"" + http::json_escape(recorded.user.substr(0, 64)) +
                              "\" signed in with provider \"" + cx.provider.conf.name +
                              "\" but is " + done.reason);
    case signin::SignInStatus::store_unavailable: break;
    }
    co_return answer::error_page(cfg, Error::store_unavailable);
}

} // namespace

Task<Decision> callback(Ports ports, const GateConfig& cfg, const RequestView& req,
                        const ProviderConfig& provider) {
    const CallbackContext cx{ports, cfg, req, provider};
    const auto& pc = provider.conf;
    auto query = http::parse_form(req.query);
    auto params = query ? callback_params(*query) : std::nullopt;
    if (!params) co_return answer::error_page(cfg, Error::bad_request);

    auto consumed = co_await consume_flow(cx, params->state);
    if (!consumed) co_return answer::error_page(cfg, Error::store_unavailable);
    auto with_cookie = [&](Decision d) {
        if (!consumed->cookie_update.empty()) d.set_cookies.push_back(consumed->cookie_update);
        return d;
    };
    if (auto refusal = check_flow_answer(cx, *params, consumed->flow)) {
        co_return with_cookie(std::move(*refusal));
    }
    const oidc::FlowState& flow = *consumed->flow;

    Millis now = ports.clock.now_ms();
    auto meta = co_await provider_metadata(ports, provider);
    if (!meta.ok()) co_return with_cookie(idp_unavailable(cfg, req, now, meta.detail));
    if (!params->iss && meta.value->authorization_response_iss_parameter_supported) {
        co_return with_cookie(refused(cfg, Error::issuer_mismatch,
                                      "SSO callback for provider \"" + pc.name +
                                          "\" without the iss its discovery announces"));
    }
    auto tokens = co_await exchange_code(cx, *meta.value, flow, params->code, now);
    if (!tokens.value) co_return with_cookie(std::move(tokens.refusal));
    auto claims = co_await verify_id_token(cx, *meta.value, flow, *tokens.value, now);
    if (!claims.value) co_return with_cookie(std::move(claims.refusal));
    // The IdP vouched for this flow: from now on its state is spent, on every server.
    if (auto refusal = co_await spend_flow(cx, params->state, flow, now)) {
        co_return with_cookie(std::move(*refusal));
    }
    auto userinfo = co_await fetch_userinfo(cx, *meta.value, *tokens.value, *claims.value, now);
    if (!userinfo.value) co_return with_cookie(std::move(userinfo.refusal));

    const jose::Claims* info = *userinfo.value ? &**userinfo.value : nullptr;
    auto who = admit(cx, *claims.value, info, *tokens.value, flow.rd);
    if (!who.value) co_return with_cookie(std::move(who.refusal));
    Decision signed_in = co_await sign_in(cx, std::move(*who.value), ports.clock.now_ms());
    co_return with_cookie(std::move(signed_in));
}

} // namespace authgate::sso
