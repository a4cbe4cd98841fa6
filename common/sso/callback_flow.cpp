// Callback steps around the browser's flow: its parameters, consuming the flow from the
// flow cookie, checking the IdP's answer against it, and spending its state once verified.
// A state works once: the marker of a spent state is read when the flow is consumed and
// written only once the IdP's answer is verified.
#include "answer/responses.h"
#include "authgate/http.h"
#include "sso/callback_steps.h"
#include "sso/flows.h"

namespace authgate::sso {

namespace {

constexpr std::size_t kMaxParam = 4096;

// The IdP's own words only after a flow of this browser was consumed: anyone can link to
// the callback with an error text of their choosing.
Decision idp_error_page(const CallbackContext& cx, const CallbackParams& params,
                        const std::optional<oidc::FlowState>& flow) {
    const auto& cfg = cx.cfg;
    const auto& pc = cx.provider.conf;
    std::string message(error_message(Error::idp_error));
    if (flow && flow->provider == pc.name) {
        std::string description = printable(params.error_description, 300);
        message = "The identity provider did not sign you in (" + printable(params.error, 64) +
                  ")" + (description.empty() ? "." : ": " + description);
    }
    Decision d = answer::page(
        http_status(Error::idp_error),
        cfg.templates->error.render({{"status", std::to_string(http_status(Error::idp_error))},
                                     {"title", "Sign-in failed"},
                                     {"message", message},
                                     {"login_url", answer::login_url(cfg, flow ? flow->rd : "")},
                                     {"prefix", cfg.prefix}}));
    d.error = Error::idp_error;
    d.notice = "provider \"" + pc.name +
               "\" answered error=" + http::json_escape(printable(params.error, 64)) +
               (flow ? "" : " (no flow)");
    return d;
}

} // namespace

std::optional<CallbackParams> callback_params(const http::Params& query) {
    CallbackParams p;
    p.state = http::param(query, "state").value_or("");
    p.code = http::param(query, "code").value_or("");
    p.error = http::param(query, "error").value_or("");
    p.error_description = http::param(query, "error_description").value_or("");
    p.iss = http::param(query, "iss");
    if (p.state.size() > kMaxParam || p.code.size() > kMaxParam) return std::nullopt;
    return p;
}

Task<std::optional<ConsumedFlow>> consume_flow(const CallbackContext& cx, std::string_view state) {
    ConsumedFlow out;
    auto flows = read_flows(cx.cfg, cx.req);
    auto i = oidc::find_flow(flows, state, cx.ports.clock.now_ms());
    if (!i) co_return out;
    out.flow = std::move(flows[*i]);
    flows.erase(flows.begin() + static_cast<std::ptrdiff_t>(*i));
    auto used = co_await cx.ports.store.get(used_state_key(state));
    if (!used.ok()) co_return std::nullopt;
    if (used.value) out.flow.reset();
    // Every answer to a consumed (or replayed) flow drops it from the cookie.
    out.cookie_update = flow_cookie(cx.cfg, cx.req, cx.ports.random, flows);
    co_return out;
}

std::optional<Decision> check_flow_answer(const CallbackContext& cx, const CallbackParams& params,
                                          const std::optional<oidc::FlowState>& flow) {
    const auto& pc = cx.provider.conf;
    // RFC 9207: an authorization response naming another issuer is a mix-up.
    if (flow && params.iss && *params.iss != pc.issuer) {
        return refused(cx.cfg, Error::issuer_mismatch,
                       "SSO callback for provider \"" + pc.name + "\" with another issuer in iss");
    }
    if (!params.error.empty()) return idp_error_page(cx, params, flow);
    if (!flow) {
        return refused(cx.cfg, Error::state_mismatch,
                       params.state.empty()
                           ? "SSO callback without state"
                           : "SSO callback with an unknown, expired or used state");
    }
    if (flow->provider != pc.name) {
        return refused(cx.cfg, Error::state_mismatch, "SSO callback state of another provider");
    }
    if (params.code.empty())
        return refused(cx.cfg, Error::bad_request, "SSO callback without code");
    return std::nullopt;
}

Task<std::optional<Decision>> spend_flow(const CallbackContext& cx, std::string_view state,
                                         const oidc::FlowState& flow, Millis now) {
    Millis left = oidc::kFlowTtl - (now - flow.created_ms);
    auto marked = co_await cx.ports.store.set_if_absent(used_state_key(state), "1",
                                                        std::max<Millis>(left, 1000));
    if (!marked.ok()) co_return answer::error_page(cx.cfg, Error::store_unavailable);
    if (!marked.value) {
        co_return refused(cx.cfg, Error::state_mismatch,
                          "SSO callback with a state used meanwhile");
    }
    co_return std::nullopt;
}

} // namespace authgate::sso
