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
    internal,
};

// snake_case name, e.g. "session_expired".
std::string_view error_name(Error e) noexcept;

// The one place where an error becomes an HTTP status.
int http_status(Error e) noexcept;

// A short human sentence for pages and JSON messages.
std::string_view error_message(Error e) noexcept;

} // namespace authgate
