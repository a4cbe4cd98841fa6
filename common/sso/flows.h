// The SSO endpoints under the gate's prefix, one file each.
#pragma once

#include "authgate/gate.h"
#include "authgate/oidc.h"

namespace authgate::sso {

// GET {prefix}sso/{provider}?rd=PATH — also the IdP-initiated entry point
// (?iss=ISSUER&target_link_uri=URL[&login_hint=...]).
Task<Decision> start(Ports ports, const GateConfig& cfg, const RequestView& req,
                     const ProviderConfig& provider);
// GET {prefix}callback/{provider}?code=...&state=... (or ?error=...).
Task<Decision> callback(Ports ports, const GateConfig& cfg, const RequestView& req,
                        const ProviderConfig& provider);
// POST {prefix}backchannel-logout/{provider} with logout_token.
Task<Decision> backchannel_logout(Ports ports, const GateConfig& cfg, const RequestView& req,
                                  const ProviderConfig& provider);

// The access check of an authgate_bearer location.
Task<Decision> check_bearer(Ports ports, const GateConfig& cfg, const RequestView& req);

struct RefreshResult {
    bool ended = false;     // the IdP refused: the session was ended
    bool refreshed = false; // new tokens stored
    std::string notice;
};
// Refreshes the session's IdP tokens when due (single flight across servers).
Task<RefreshResult> refresh_if_due(Ports ports, const GateConfig& cfg, const std::string& key,
                                   Session& s);

// The redirect to the IdP that starts a code flow for `rd` (PKCE S256, state, nonce),
// with the flow sealed into the browser's flow cookie: nothing is written to the store.
// /sso/ and, with authgate_default_provider, a protected page send browsers here.
Task<Decision> redirect_to_idp(Ports ports, const GateConfig& cfg, const RequestView& req,
                               const ProviderConfig& provider, std::string rd,
                               oidc::Params extra = {});

// "<scheme>://<host>[:port]" this site is reached at: authgate_public_origin, else the origin
// of the provider's redirect_uri=; empty when neither is configured. Never the Host header.
std::string public_origin(const GateConfig& cfg, const ProviderConfig* provider);
// The provider's redirect_uri=, else public origin + prefix + "callback/" + name.
std::string redirect_uri(const GateConfig& cfg, const ProviderConfig& provider);

// The flows sealed in the request's flow cookies (unreadable cookies count as none).
std::vector<oidc::FlowState> read_flows(const GateConfig& cfg, const RequestView& req);
// The Set-Cookie header that stores `flows` (or clears the cookie when there are none).
std::string flow_cookie(const GateConfig& cfg, const RequestView& req, Random& random,
                        const std::vector<oidc::FlowState>& flows);
// Store key of the marker of a consumed state: fu:<base64url(sha256(state))>.
std::string used_state_key(std::string_view state);

// A 502 page (JSON for API clients) for an unusable IdP, with the reason in the log.
Decision idp_unavailable(const GateConfig& cfg, const RequestView& req, Millis now,
                         std::string detail);

} // namespace authgate::sso
