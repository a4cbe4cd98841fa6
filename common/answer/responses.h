// Building blocks of the gate's answers: pages, JSON errors, redirects and cookies.
#pragma once

#include <string>
#include <string_view>

#include "authgate/config.h"
#include "authgate/request.h"
#include "authgate/templates.h"

namespace authgate::answer {

bool cookies_secure(const GateConfig& cfg, const RequestView& req);
// Effective names: "__Host-" prefixed when secure and host-only.
const std::string& session_cookie_name(const GateConfig& cfg, const RequestView& req);
const std::string& csrf_cookie_name(const GateConfig& cfg, const RequestView& req);

std::string set_session_cookie(const GateConfig& cfg, const RequestView& req,
                               std::string_view value, Millis max_age_ms);
std::string clear_session_cookie(const GateConfig& cfg, const RequestView& req);
std::string set_csrf_cookie(const GateConfig& cfg, const RequestView& req, std::string_view value);
std::string clear_csrf_cookie(const GateConfig& cfg, const RequestView& req);

const std::string& flow_cookie_name(const GateConfig& cfg, const RequestView& req);
std::string set_flow_cookie(const GateConfig& cfg, const RequestView& req, std::string_view value);
std::string clear_flow_cookie(const GateConfig& cfg, const RequestView& req);

std::string login_url(const GateConfig& cfg, std::string_view rd);

// An HTML page with the gate's security headers.
Decision page(int status, std::string body);
Decision error_page(const GateConfig& cfg, Error e, bool offer_login = false);
// {"success":false,"data":null,"errors":[...],"metadata":{...}}
Decision json_error(const RequestView& req, Millis now, Error e, std::string_view message = {});
Decision json(int status, std::string body);
Decision redirect(int status, std::string location);

// API clients (JSON, XHR) and subrequests get status codes, never redirects or pages.
bool answers_as_api(const RequestView& req);

// The answer for a request without a usable session: 302 to the sign-in page for
// browsers, 401 + WWW-Authenticate + JSON for API clients (the default provider is
// check_access's, which sends browsers straight to the IdP).
Decision unauthenticated(const GateConfig& cfg, const RequestView& req, Millis now, Error why,
                         bool clear_cookie);
// 403 for an authenticated user that fails authgate_require.
Decision forbidden(const GateConfig& cfg, const RequestView& req, Millis now);

std::string iso8601(Millis t);

} // namespace authgate::answer
