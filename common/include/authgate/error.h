// Stable error names shared by logs, $authgate_status, JSON errors and tests.
#pragma once

#include <string_view>

namespace authgate {

enum class Error {
    ok,
    no_session,
    session_invalid,
    session_expired,
    forbidden,
    bad_credentials,
    csrf_mismatch,
    bad_request,
    not_found,
    method_not_allowed,
    payload_too_large,
    store_unavailable,
    rate_limited,    // a limit zone refused the request (429 + Retry-After)
    address_blocked, // the client address is on the block list (403)
    // Tokens (ID, logout, bearer access tokens) and the OIDC flow.
    token_invalid,   // malformed, bad signature, not yet valid, missing claims
    token_too_large, // an ID or refresh token over the size a session can keep
    token_expired,
    token_unknown_key,     // kid not in the key set: re-fetch the JWKS, then retry once
    token_alg_not_allowed, // alg outside the allow-list or not the one pinned to the key
    issuer_mismatch,
    audience_mismatch, // aud lacks the client id, or azp is wrong or missing
    nonce_mismatch,
    state_mismatch, // callback without a matching flow state
    insufficient_scope,
    idp_error,       // the IdP answered with an OAuth error
    idp_unreachable, // no usable answer from the IdP (transport, status, bad body)
    internal,
};

// snake_case name, e.g. "session_expired".
std::string_view error_name(Error e) noexcept;

// The one place where an error becomes an HTTP status.
int http_status(Error e) noexcept;

// A short human sentence for pages and JSON messages.
std::string_view error_message(Error e) noexcept;

} // namespace authgate
