#include "authgate/error.h"

namespace authgate {

std::string_view error_name(Error e) noexcept {
    switch (e) {
    case Error::ok: return "allowed";
    case Error::no_session: return "no_session";
    case Error::session_invalid: return "session_invalid";
    case Error::session_expired: return "session_expired";
    case Error::forbidden: return "forbidden";
    case Error::bad_credentials: return "bad_credentials";
    case Error::csrf_mismatch: return "csrf_mismatch";
    case Error::bad_request: return "bad_request";
    case Error::not_found: return "not_found";
    case Error::method_not_allowed: return "method_not_allowed";
    case Error::payload_too_large: return "payload_too_large";
    case Error::store_unavailable: return "store_unavailable";
    case Error::token_invalid: return "token_invalid";
    case Error::token_expired: return "token_expired";
    case Error::token_too_large: return "token_too_large";
    case Error::token_unknown_key: return "token_unknown_key";
    case Error::token_alg_not_allowed: return "token_alg_not_allowed";
    case Error::issuer_mismatch: return "issuer_mismatch";
    case Error::audience_mismatch: return "audience_mismatch";
    case Error::nonce_mismatch: return "nonce_mismatch";
    case Error::state_mismatch: return "state_mismatch";
    case Error::insufficient_scope: return "insufficient_scope";
    case Error::idp_error: return "idp_error";
    case Error::idp_unreachable: return "idp_unreachable";
    case Error::internal: return "internal";
    }
    return "internal";
}

int http_status(Error e) noexcept {
    switch (e) {
    case Error::ok: return 200;
    case Error::no_session:
    case Error::session_invalid:
    case Error::session_expired:
    case Error::bad_credentials: return 401;
    case Error::forbidden:
    case Error::csrf_mismatch: return 403;
    case Error::bad_request: return 400;
    case Error::not_found: return 404;
    case Error::method_not_allowed: return 405;
    case Error::payload_too_large: return 413;
    case Error::store_unavailable: return 503;
    case Error::token_invalid:
    case Error::token_too_large:
    case Error::token_expired:
    case Error::token_unknown_key:
    case Error::token_alg_not_allowed:
    case Error::issuer_mismatch:
    case Error::audience_mismatch:
    case Error::nonce_mismatch:
    case Error::idp_error: return 401;
    case Error::state_mismatch: return 400;
    case Error::insufficient_scope: return 403;
    case Error::idp_unreachable: return 502;
    case Error::internal: return 500;
    }
    return 500;
}

std::string_view error_message(Error e) noexcept {
    switch (e) {
    case Error::ok: return "Allowed.";
    case Error::no_session: return "Sign-in required.";
    case Error::session_invalid: return "Your session is not valid. Please sign in again.";
    case Error::session_expired: return "Your session has expired. Please sign in again.";
    case Error::forbidden: return "You do not have access to this page.";
    case Error::bad_credentials: return "Invalid username or password.";
    case Error::csrf_mismatch:
        return "The sign-in form has expired or was not sent by this site. Please try again.";
    case Error::bad_request: return "The request is malformed.";
    case Error::not_found: return "There is nothing here.";
    case Error::method_not_allowed: return "This method is not allowed here.";
    case Error::payload_too_large: return "The request body is too large.";
    case Error::store_unavailable:
        return "The sign-in service is temporarily unavailable. Please try again shortly.";
    case Error::token_invalid: return "The sign-in token is not valid.";
    case Error::token_expired: return "The sign-in token has expired.";
    case Error::token_too_large:
        return "The identity provider's sign-in token is too large for this site.";
    case Error::token_unknown_key:
        return "The sign-in token was signed with a key this site does not know.";
    case Error::token_alg_not_allowed:
        return "The sign-in token uses a signature algorithm this site does not accept.";
    case Error::issuer_mismatch:
        return "The sign-in token was not issued by the expected identity provider.";
    case Error::audience_mismatch: return "The sign-in token was not issued for this site.";
    case Error::nonce_mismatch:
        return "The sign-in response does not belong to this sign-in attempt. Please try again.";
    case Error::state_mismatch:
        return "This sign-in attempt has expired or was not started here. Please try again.";
    case Error::insufficient_scope: return "The access token lacks a required scope.";
    case Error::idp_error:
        return "The identity provider answered with an error and did not complete the sign-in.";
    case Error::idp_unreachable:
        return "The identity provider could not be reached. Please try again shortly.";
    case Error::internal: return "An internal error occurred.";
    }
    return "An internal error occurred.";
}

} // namespace authgate
