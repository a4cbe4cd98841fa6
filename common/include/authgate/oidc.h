// OpenID Connect relying-party protocol pieces, with no I/O: discovery, token and
// userinfo response parsing, PKCE/state/nonce, request builders, and the flow-state record
// kept (sealed, in the browser) between the redirect to the IdP and the callback.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "authgate/jose.h"
#include "authgate/ports.h"
#include "authgate/result.h"

namespace authgate::oidc {

constexpr std::size_t kMaxDocumentBytes =
    256 * std::size_t{1024}; // discovery, token, userinfo answers
// The largest ID and refresh tokens a session keeps (sealed into its record); the callback
// refuses larger ones with token_too_large.
constexpr std::size_t kMaxIdTokenBytes = 16 * std::size_t{1024};
constexpr std::size_t kMaxRefreshTokenBytes = 8 * std::size_t{1024};

// ---- Discovery ----

struct ProviderMetadata {
    std::string issuer;
    std::string authorization_endpoint;
    std::string token_endpoint;
    std::string jwks_uri;
    std::string userinfo_endpoint;    // empty when not offered
    std::string end_session_endpoint; // empty when not offered
    std::string revocation_endpoint;  // empty when not offered
    std::vector<std::string> id_token_signing_alg_values_supported;
    std::vector<std::string> code_challenge_methods_supported;
    // RFC 9207: authorization responses carry iss (then a callback without it is refused).
    bool authorization_response_iss_parameter_supported = false;
};

// An endpoint URL the gate may talk to: https, or http to a loopback host (127.0.0.1,
// [::1], localhost) for local test IdPs; a host is required; no userinfo, fragment,
// whitespace or control characters.
bool is_allowed_endpoint(std::string_view url);

// The provider's /.well-known/openid-configuration. `issuer` must equal expected_issuer
// exactly; authorization, token and jwks endpoints are required; every endpoint present
// must pass is_allowed_endpoint.
Result<ProviderMetadata> parse_discovery(std::string_view json, std::string_view expected_issuer);

// ---- Token and userinfo responses ----

struct TokenResponse {
    std::string access_token;
    std::string token_type;
    std::string id_token;        // empty when absent (refresh answers may omit it)
    std::string refresh_token;   // empty when absent
    std::string scope;           // empty when absent
    std::int64_t expires_in = 0; // seconds; 0 when absent
    // An OAuth error answer (RFC 6749 5.2): error is set and the token fields are empty.
    std::string error;
    std::string error_description;
    bool is_error() const { return !error.empty(); }
};

// A success needs access_token and a Bearer token_type; an answer with "error" is returned
// as a value (is_error()). Anything else (not JSON, wrong types) fails.
Result<TokenResponse> parse_token_response(std::string_view json);

// The userinfo answer (a JSON object) as claims; its sub must equal the ID token's.
Result<jose::Claims> parse_userinfo(std::string_view json, std::string_view expected_sub);

// ---- PKCE, state and nonce ----

// 32 random bytes, base64url: 43 characters from the unreserved set.
std::string new_pkce_verifier(Random& random);
// RFC 7636: 43..128 characters of [A-Za-z0-9-._~].
bool is_valid_pkce_verifier(std::string_view verifier);
// BASE64URL(SHA256(verifier)).
std::string pkce_challenge_s256(std::string_view verifier);
// 256 random bits, base64url.
std::string new_state(Random& random);
std::string new_nonce(Random& random);

// ---- Request builders ----

using Params = std::vector<std::pair<std::string, std::string>>;

struct AuthorizationRequest {
    std::string client_id;
    std::string redirect_uri;
    std::string scope = "openid";
    std::string state;
    std::string nonce;
    std::string code_challenge; // S256
    Params extra;               // prompt, login_hint, acr_values, ...; never replaces the above
};

// The endpoint with the request's query appended ('?' or '&' as the endpoint needs).
std::string authorization_url(std::string_view endpoint, const AuthorizationRequest& request);

enum class ClientAuth { client_secret_basic, client_secret_post };

struct Client {
    std::string client_id;
    std::string client_secret;
    ClientAuth auth = ClientAuth::client_secret_basic;
};

// POST requests to the token endpoint (form body, Accept: application/json, and for
// client_secret_basic an Authorization header with the form-encoded id and secret).
HttpRequest authorization_code_request(std::string_view token_endpoint, const Client& client,
                                       std::string_view code, std::string_view redirect_uri,
                                       std::string_view code_verifier);
HttpRequest refresh_token_request(std::string_view token_endpoint, const Client& client,
                                  std::string_view refresh_token, std::string_view scope = {});

struct EndSessionRequest {
    std::string id_token_hint;
    std::string post_logout_redirect_uri;
    std::string state;
    std::string client_id;
};
// RP-initiated logout URL; empty fields are left out.
std::string end_session_url(std::string_view endpoint, const EndSessionRequest& request);

// ---- Flow state ----

// What the callback needs from the redirect that started the flow. It travels sealed in the
// browser's flow cookie (never in the store), found again by the hash of its state.
struct FlowState {
    std::string state_hash; // sha256(state), 32 raw bytes
    std::string provider;
    std::string nonce;
    std::string pkce_verifier;
    std::string rd; // local return path, already validated
    Millis created_ms = 0;
};

// The flows of one browser, newest first: at most kMaxFlows, and their encoding at most
// kMaxFlowBytes, so the sealed cookie stays well under 4 KB even with a 2 KB rd.
constexpr std::size_t kMaxFlows = 3;
constexpr std::size_t kMaxFlowBytes = 2500;
constexpr Millis kFlowTtl = 600'000;

// Versioned binary encoding of a flow list; decode rejects unknown versions, more than
// kMaxFlows entries and any malformed input.
std::string encode_flows(const std::vector<FlowState>& flows);
Result<std::vector<FlowState>> decode_flows(std::string_view data);
// Puts `fresh` first and drops the oldest flows (and any that expired at `now`) until the
// list fits the limits above.
void add_flow(std::vector<FlowState>& flows, FlowState fresh, Millis now);
// The flow of `state` that is still fresh at `now` (index into flows), or none.
std::optional<std::size_t> find_flow(const std::vector<FlowState>& flows, std::string_view state,
                                     Millis now);

} // namespace authgate::oidc
