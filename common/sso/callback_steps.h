// The protocol steps of GET {prefix}callback/{provider}, in the order callback() runs
// them: consume the flow, check the IdP's answer, exchange the code, verify the ID token,
// spend the flow, fetch userinfo, admit the claims as an identity (then complete_sign_in).
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "authgate/gate.h"
#include "authgate/http.h"
#include "authgate/jose.h"
#include "authgate/oidc.h"
#include "signin/sign_in.h"

namespace authgate::sso {

struct CallbackContext {
    Ports ports;
    const GateConfig& cfg;
    const RequestView& req;
    const ProviderConfig& provider;
};

// A step's value, or the answer that ends the callback.
template <class T> struct Step {
    std::optional<T> value;
    Decision refusal;
    static Step refuse(Decision d) { return Step{std::nullopt, std::move(d)}; }
};

// An error page offering to sign in again, with the reason in the log.
Decision refused(const GateConfig& cfg, Error e, std::string notice);
// The IdP's own words, shortened and stripped of control bytes.
std::string printable(std::string_view v, std::size_t max);

// The callback's query parameters; nullopt for a malformed or oversized query (400).
struct CallbackParams {
    std::string_view state;
    std::string_view code;
    std::string_view error;
    std::string_view error_description;
    std::optional<std::string_view> iss;
};
std::optional<CallbackParams> callback_params(const http::Params& query);

// The browser's flow for `state`, taken out of its flow cookie (cookie_update then keeps
// the others); no flow when none matches or its state was spent already.
struct ConsumedFlow {
    std::optional<oidc::FlowState> flow;
    std::string cookie_update; // empty: the cookie stays as it was
};
// nullopt when the store cannot say whether the state was spent.
Task<std::optional<ConsumedFlow>> consume_flow(const CallbackContext& cx, std::string_view state);
// The checks of the IdP's answer against the consumed flow, before any outbound call:
// issuer (RFC 9207), the IdP's error, state, provider, code.
std::optional<Decision> check_flow_answer(const CallbackContext& cx, const CallbackParams& params,
                                          const std::optional<oidc::FlowState>& flow);
// Marks the state spent on every server once the IdP vouched for the flow.
Task<std::optional<Decision>> spend_flow(const CallbackContext& cx, std::string_view state,
                                         const oidc::FlowState& flow, Millis now);

Task<Step<oidc::TokenResponse>> exchange_code(const CallbackContext& cx,
                                              const oidc::ProviderMetadata& meta,
                                              const oidc::FlowState& flow, std::string_view code,
                                              Millis now);
Task<Step<jose::Claims>> verify_id_token(const CallbackContext& cx,
                                         const oidc::ProviderMetadata& meta,
                                         const oidc::FlowState& flow,
                                         const oidc::TokenResponse& tokens, Millis now);
// nullopt inside: userinfo not configured or not offered.
Task<Step<std::optional<jose::Claims>>> fetch_userinfo(const CallbackContext& cx,
                                                       const oidc::ProviderMetadata& meta,
                                                       const oidc::TokenResponse& tokens,
                                                       const jose::Claims& id_token, Millis now);

// The verified claims as the identity to sign in: claim mapping, the provider's allowed
// domains and groups, the tokens the session keeps, the back-channel logout indexes.
Step<signin::ProvenIdentity> admit(const CallbackContext& cx, const jose::Claims& id_token,
                                   const jose::Claims* userinfo, const oidc::TokenResponse& tokens,
                                   std::string rd);
// Just-in-time user record when users live in a durable store; false: store unavailable.
Task<bool> record_user(const CallbackContext& cx, const signin::ProvenIdentity& who, Millis now);

} // namespace authgate::sso
