// What the core sees of an HTTP request, and what it answers.
#pragma once

#include <cstddef>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "authgate/error.h"
#include "authgate/inline_vector.h"

namespace authgate {

// Borrowed views into the server's request; valid while the flow runs.
struct RequestView {
    std::string_view method; // "GET"
    std::string_view uri;    // as sent: path + "?" + query
    std::string_view path;   // decoded, normalised path (no query)
    std::string_view query;  // raw query string without "?"
    InlineVector<std::string_view, 4> cookie_headers;
    std::string_view accept;
    std::string_view x_requested_with;
    std::string_view content_type;
    std::string_view authorization;
    std::string_view body;        // form body for POST endpoints
    std::string_view host;        // Host header as sent (validated by the server)
    std::string_view client_addr; // the socket peer (after nginx's realip, if used)
    // X-Forwarded-For and Forwarded as sent, each header line apart; read only where
    // authgate_trusted_proxies names the peer (adapters fill them only then).
    InlineVector<std::string_view, 2> forwarded_for;
    InlineVector<std::string_view, 2> forwarded;
    // The value of each authgate_limit of the location, in order, whose zone is keyed by a
    // variable (nginx: $name; Apache: the environment variable); empty for other zones.
    InlineVector<std::string_view, 2> limit_variables;
    std::string_view request_id;
    bool tls = false;
    // A server subrequest (SSI include, auth_request, mirror): answered like an API client
    // (401/403, never a redirect or a page), as the client never sees it directly.
    bool subrequest = false;
};

struct Header {
    std::string name;
    std::string value;
};

struct Identity {
    std::string user;
    std::string email;
    std::string name;
    std::vector<std::string> groups;
    // Role names as resolved at sign-in (users file, store record, SSO role_map); what
    // they permit is decided from the current configuration at each request.
    std::vector<std::string> roles;
};
// An identity once admitted: immutable, shared by a decision with whatever holds it (the
// memo of decoded sessions, the session cache, a users-file entry) instead of copied, and
// carrying its identity-header values, made once (control bytes as spaces, groups joined
// with ','), so an adapter can point its headers at them for the request's lifetime.
struct AdmittedIdentity : Identity {
    std::string header_user;
    std::string header_email;
    std::string header_name;
    std::string header_groups;
    std::string header_roles;
};
using SharedIdentity = std::shared_ptr<const AdmittedIdentity>;
SharedIdentity admit_identity(Identity who);

// The core's answer. allow: let the request through with identity; otherwise the
// adapter sends status, headers, cookies and body as given.
struct Decision {
    enum class Kind { allow, respond };
    Kind kind = Kind::respond;
    Error error = Error::ok; // becomes $authgate_status
    int status = 200;
    SharedIdentity identity; // allow only (never null then)
    std::string location;    // redirects
    std::vector<std::string> set_cookies;
    std::vector<Header> headers;
    std::string content_type;
    std::string body;
    std::string notice; // a line for the server's log (no secrets), empty when none

    bool allowed() const noexcept { return kind == Kind::allow; }
};

// The largest request body the endpoints read (sign-in forms). Adapters refuse a larger one
// (declared or received, or one the server spooled to a file) with body_too_large() before
// any flow runs.
inline constexpr std::size_t kMaxEndpointBody = std::size_t{16} * 1024;
bool body_fits(std::size_t length) noexcept;
Decision body_too_large();

} // namespace authgate
