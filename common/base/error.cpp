// The error table: every Error's stable name, HTTP status and sentence, in one place.
#include "authgate/error.h"

#include <array>

namespace authgate {

namespace {

struct ErrorInfo {
    Error error;
    std::string_view name;
    int status;
    std::string_view message;
};

constexpr std::array<ErrorInfo, 27> kErrors = {{
    {Error::ok, "allowed", 200, "Allowed."},
    {Error::no_session, "no_session", 401, "Sign-in required."},
    {Error::session_invalid, "session_invalid", 401,
     "Your session is not valid. Please sign in again."},
    {Error::session_expired, "session_expired", 401,
     "Your session has expired. Please sign in again."},
    {Error::forbidden, "forbidden", 403, "You do not have access to this page."},
    {Error::bad_credentials, "bad_credentials", 401, "Invalid username or password."},
    {Error::csrf_mismatch, "csrf_mismatch", 403,
     "The sign-in form has expired or was not sent by this site. Please try again."},
    {Error::bad_request, "bad_request", 400, "The request is malformed."},
    {Error::not_found, "not_found", 404, "There is nothing here."},
    {Error::method_not_allowed, "method_not_allowed", 405, "This method is not allowed here."},
    {Error::payload_too_large, "payload_too_large", 413, "The request body is too large."},
    {Error::store_unavailable, "store_unavailable", 503,
     "The sign-in service is temporarily unavailable. Please try again shortly."},
    {Error::rate_limited, "rate_limited", 429, "Too many requests. Please try again later."},
    {Error::address_blocked, "address_blocked", 403,
     "Requests from your network address are blocked."},
    {Error::token_invalid, "token_invalid", 401, "The sign-in token is not valid."},
    {Error::token_too_large, "token_too_large", 401,
     "The identity provider's sign-in token is too large for this site."},
    {Error::token_expired, "token_expired", 401, "The sign-in token has expired."},
    {Error::token_unknown_key, "token_unknown_key", 401,
     "The sign-in token was signed with a key this site does not know."},
    {Error::token_alg_not_allowed, "token_alg_not_allowed", 401,
     "The sign-in token uses a signature algorithm this site does not accept."},
    {Error::issuer_mismatch, "issuer_mismatch", 401,
     "The sign-in token was not issued by the expected identity provider."},
    {Error::audience_mismatch, "audience_mismatch", 401,
     "The sign-in token was not issued for this site."},
    {Error::nonce_mismatch, "nonce_mismatch", 401,
     "The sign-in response does not belong to this sign-in attempt. Please try again."},
    {Error::state_mismatch, "state_mismatch", 400,
     "This sign-in attempt has expired or was not started here. Please try again."},
    {Error::insufficient_scope, "insufficient_scope", 403,
     "The access token lacks a required scope."},
    {Error::idp_error, "idp_error", 401,
     "The identity provider answered with an error and did not complete the sign-in."},
    {Error::idp_unreachable, "idp_unreachable", 502,
     "The identity provider could not be reached. Please try again shortly."},
    {Error::internal, "internal", 500, "An internal error occurred."},
}};

// The table is in enum order: a lookup is an index, and a missing or misplaced row is a
// build error.
constexpr bool in_enum_order() {
    for (std::size_t i = 0; i < kErrors.size(); ++i) {
        if (static_cast<std::size_t>(kErrors[i].error) != i) return false;
    }
    return static_cast<std::size_t>(Error::internal) + 1 == kErrors.size();
}
static_assert(in_enum_order(), "kErrors must list every Error once, in enum order");

const ErrorInfo& info(Error e) noexcept {
    auto i = static_cast<std::size_t>(e);
    return i < kErrors.size() ? kErrors[i] : kErrors.back();
}

} // namespace

std::string_view error_name(Error e) noexcept { return info(e).name; }

int http_status(Error e) noexcept { return info(e).status; }

std::string_view error_message(Error e) noexcept { return info(e).message; }

} // namespace authgate
