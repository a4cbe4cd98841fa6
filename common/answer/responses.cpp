#include "answer/responses.h"

#include <ctime>

#include "authgate/http.h"

namespace authgate::answer {

namespace {

void add_page_headers(Decision& d) {
    d.headers.push_back({"Cache-Control", "no-store"});
    d.headers.push_back({"X-Content-Type-Options", "nosniff"});
    d.headers.push_back({"X-Frame-Options", "DENY"});
    d.headers.push_back({"Referrer-Policy", "no-referrer"});
    d.headers.push_back({"Content-Security-Policy",
                         "default-src 'none'; style-src 'unsafe-inline'; img-src 'self' data:; "
                         "form-action 'self'; frame-ancestors 'none'; base-uri 'none'"});
}

std::string same_site_text(config::SameSite s) {
    switch (s) {
    case config::SameSite::strict: return "Strict";
    case config::SameSite::none: return "None";
    case config::SameSite::lax: break;
    }
    return "Lax";
}

http::SetCookie base_cookie(const GateConfig& cfg, const RequestView& req, std::string name) {
    http::SetCookie c;
    c.name = std::move(name);
    c.secure = cookies_secure(cfg, req);
    c.domain = cfg.cookie_domain;
    c.same_site = same_site_text(cfg.cookie_samesite);
    return c;
}

} // namespace

bool cookies_secure(const GateConfig& cfg, const RequestView& req) {
    switch (cfg.cookie_secure) {
    case config::CookieSecure::on: return true;
    case config::CookieSecure::off: return false;
    case config::CookieSecure::auto_: break;
    }
    return req.tls;
}

const std::string& session_cookie_name(const GateConfig& cfg, const RequestView& req) {
    return cookies_secure(cfg, req) && cfg.cookie_domain.empty() ? cfg.host_cookie_name
                                                                 : cfg.cookie_name;
}

// The CSRF cookie never carries a Domain, so it is host-only (and __Host-) under TLS.
const std::string& csrf_cookie_name(const GateConfig& cfg, const RequestView& req) {
    return cookies_secure(cfg, req) ? cfg.host_csrf_cookie_name : cfg.csrf_cookie_name;
}

std::string set_session_cookie(const GateConfig& cfg, const RequestView& req,
                               std::string_view value, Millis max_age_ms) {
    auto c = base_cookie(cfg, req, session_cookie_name(cfg, req));
    c.value = std::string(value);
    c.max_age = std::max<Millis>(max_age_ms / 1000, 1);
    return http::format_set_cookie(c);
}

std::string clear_session_cookie(const GateConfig& cfg, const RequestView& req) {
    auto c = base_cookie(cfg, req, session_cookie_name(cfg, req));
    c.max_age = 0;
    return http::format_set_cookie(c);
}

std::string set_csrf_cookie(const GateConfig& cfg, const RequestView& req, std::string_view value) {
    auto c = base_cookie(cfg, req, csrf_cookie_name(cfg, req));
    c.domain.clear();
    c.value = std::string(value);
    c.max_age = 3600;
    return http::format_set_cookie(c);
}

std::string clear_csrf_cookie(const GateConfig& cfg, const RequestView& req) {
    auto c = base_cookie(cfg, req, csrf_cookie_name(cfg, req));
    c.domain.clear();
    c.max_age = 0;
    return http::format_set_cookie(c);
}

// The SSO flow cookie binds a sign-in started here to the callback. Lax whatever the
// session cookie's SameSite: the IdP's redirect back is a cross-site top-level GET.
const std::string& flow_cookie_name(const GateConfig& cfg, const RequestView& req) {
    return cookies_secure(cfg, req) ? cfg.host_flow_cookie_name : cfg.flow_cookie_name;
}

std::string set_flow_cookie(const GateConfig& cfg, const RequestView& req, std::string_view value) {
    auto c = base_cookie(cfg, req, flow_cookie_name(cfg, req));
    c.domain.clear();
    c.same_site = "Lax";
    c.value = std::string(value);
    c.max_age = 600;
    return http::format_set_cookie(c);
}

std::string clear_flow_cookie(const GateConfig& cfg, const RequestView& req) {
    auto c = base_cookie(cfg, req, flow_cookie_name(cfg, req));
    c.domain.clear();
    c.same_site = "Lax";
    c.max_age = 0;
    return http::format_set_cookie(c);
}

std::string login_url(const GateConfig& cfg, std::string_view rd) {
    std::string url = cfg.prefix + "login";
    if (!rd.empty() && rd != "/") {
        url += "?rd=";
        url += http::percent_encode(rd);
    }
    return url;
}

Decision page(int status, std::string body) {
    Decision d;
    d.status = status;
    d.content_type = "text/html; charset=utf-8";
    d.body = std::move(body);
    add_page_headers(d);
    return d;
}

Decision error_page(const GateConfig& cfg, Error e, bool offer_login) {
    int status = http_status(e);
    std::string status_text = std::to_string(status);
    std::string title = status == 403   ? "Access denied"
                        : status == 404 ? "Not found"
                        : status == 503 ? "Service unavailable"
                        : status >= 500 ? "Something went wrong"
                                        : "Request not accepted";
    std::string login = offer_login ? login_url(cfg, "") : "";
    auto d = page(status, cfg.templates->error.render({{"status", status_text},
                                                       {"title", title},
                                                       {"message", error_message(e)},
                                                       {"login_url", login},
                                                       {"prefix", cfg.prefix}}));
    d.error = e;
    return d;
}

std::string iso8601(Millis t) {
    std::time_t secs = static_cast<std::time_t>(t / 1000);
    std::tm tm{};
    gmtime_r(&secs, &tm);
    char buf[32];
    std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
    return buf;
}

Decision json(int status, std::string body) {
    Decision d;
    d.status = status;
    d.content_type = "application/json";
    d.body = std::move(body);
    d.headers.push_back({"Cache-Control", "no-store"});
    d.headers.push_back({"X-Content-Type-Options", "nosniff"});
    return d;
}

Decision json_error(const RequestView& req, Millis now, Error e, std::string_view message) {
    std::string body = R"({"success":false,"data":null,"errors":[{"code":")";
    body += error_name(e);
    body += R"(","message":")";
    body += http::json_escape(message.empty() ? error_message(e) : message);
    body += R"("}],"metadata":{"timestamp":")";
    body += iso8601(now);
    body += R"(","request_id":")";
    body += http::json_escape(req.request_id);
    body += "\"}}\n";
    auto d = json(http_status(e), std::move(body));
    d.error = e;
    return d;
}

Decision redirect(int status, std::string location) {
    Decision d;
    d.status = status;
    d.location = std::move(location);
    d.headers.push_back({"Cache-Control", "no-store"});
    return d;
}

bool answers_as_api(const RequestView& req) {
    return req.subrequest || http::is_api_client(req.accept, req.x_requested_with);
}

Decision unauthenticated(const GateConfig& cfg, const RequestView& req, Millis now, Error why,
                         bool clear_cookie) {
    Decision d;
    if (answers_as_api(req)) {
        d = json_error(req, now, why);
        d.status = 401;
        d.headers.push_back(
            {"WWW-Authenticate", "Cookie realm=\"authgate\", login=\"" + cfg.prefix + "login\""});
    } else {
        d = redirect(302, login_url(cfg, http::safe_return_path(req.uri)));
    }
    d.error = why;
    if (clear_cookie) d.set_cookies.push_back(clear_session_cookie(cfg, req));
    return d;
}

Decision forbidden(const GateConfig& cfg, const RequestView& req, Millis now) {
    if (answers_as_api(req)) {
        return json_error(req, now, Error::forbidden);
    }
    return error_page(cfg, Error::forbidden);
}

} // namespace authgate::answer
