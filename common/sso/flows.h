// The SSO endpoints under the gate's prefix, one file each.
#pragma once

#include "authgate/gate.h"

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
    bool ended = false;      // the IdP refused: the session was ended
    bool refreshed = false;  // new tokens stored
    std::string notice;
};
// Refreshes the session's IdP tokens when due (single flight across servers).
Task<RefreshResult> refresh_if_due(Ports ports, const GateConfig& cfg, const std::string& key,
                                   Session& s);

// "<scheme>://<host>" of the request; empty when the request has no Host.
std::string request_origin(const GateConfig& cfg, const RequestView& req);
std::string redirect_uri(const GateConfig& cfg, const RequestView& req,
                         const ProviderConfig& provider);
// Store key of a flow: f:<base64url(sha256(state))>.
std::string flow_key(std::string_view state);
// The flow cookie's binding as recorded in the flow state.
std::string binding_of(std::string_view cookie_value);

// A 502 page (JSON for API clients) for an unusable IdP, with the reason in the log.
Decision idp_unavailable(const GateConfig& cfg, const RequestView& req, Millis now,
                         std::string detail);

} // namespace authgate::sso
