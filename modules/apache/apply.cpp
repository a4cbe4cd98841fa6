// Applying the core's answers to an Apache request: client-sent identity and gate cookies
// removed, identity headers and environment variables set, responses sent.
#include "request_state.h"

#include <array>

#include "authgate/http.h"

namespace authgate::apache {

namespace {

// Identity values go into a header: control characters become spaces (the core's rule).
std::string header_safe(std::string_view v) {
    std::string out(v.size(), ' ');
    http::copy_header_safe(out.data(), v);
    return out;
}

std::string joined(const std::vector<std::string>& items) {
    std::string out;
    for (const auto& g : items) {
        if (!out.empty()) out += ',';
        out += g;
    }
    return out;
}

void set_env(request_rec* r, const char* name, std::string_view value) {
    apr_table_set(r->subprocess_env, name, apr_pstrmemdup(r->pool, value.data(), value.size()));
}

} // namespace

// apr tables fold case only: X_Auth_User would pass an apr_table_unset("X-Auth-User"), so
// every entry's name is compared the core's way ('_' equals '-').
void strip_client_identity(request_rec* r, const GateConfig& cfg) {
    const apr_array_header_t* arr = apr_table_elts(r->headers_in);
    const auto* elts = reinterpret_cast<const apr_table_entry_t*>(arr->elts);
    std::vector<std::string> drop;
    std::vector<std::string> cookies;
    bool cookies_change = false;
    for (int i = 0; i < arr->nelts; ++i) {
        if (elts[i].key == nullptr) continue;
        std::string_view key = elts[i].key;
        std::string_view value = elts[i].val != nullptr ? elts[i].val : "";
        if (cfg.protects_header(key)) {
            drop.emplace_back(key);
        } else if (http::same_header_name(key, "cookie")) {
            if (!cfg.may_hold_gate_cookie(value)) {
                cookies.emplace_back(value);
                continue;
            }
            auto stripped = http::strip_cookies(value, cfg.gate_cookies);
            cookies_change |= stripped.has_value();
            if (!stripped) {
                cookies.emplace_back(value);
            } else if (!stripped->empty()) {
                cookies.push_back(std::move(*stripped));
            }
        }
    }
    for (const auto& name : drop) apr_table_unset(r->headers_in, name.c_str());
    if (!cookies_change) return;
    apr_table_unset(r->headers_in, "Cookie");
    for (const auto& c : cookies) {
        apr_table_addn(r->headers_in, "Cookie", apr_pstrmemdup(r->pool, c.data(), c.size()));
    }
}

void apply_allow(request_rec* r, const GateConfig& cfg, const Decision& d) {
    const Identity& id = *d.identity;
    const auto& names = cfg.identity_headers;
    std::string groups = joined(id.groups);
    std::string roles = joined(id.roles);
    const std::array<std::pair<const std::string*, const std::string*>, 5> headers = {{
        {&names.user, &id.user},
        {&names.email, &id.email},
        {&names.name, &id.name},
        {&names.groups, &groups},
        {&names.roles, &roles},
    }};
    for (std::size_t i = 0; i < headers.size(); ++i) {
        const auto& [name, value] = headers[i];
        if (name->empty()) continue;
        // The user and groups headers are always sent; email, name and roles when known.
        if (value->empty() && (i == 1 || i == 2 || i == 4)) continue;
        apr_table_set(r->headers_in, name->c_str(),
                      apr_pstrdup(r->pool, header_safe(*value).c_str()));
    }
    // Rate-limit headers, for the client (a subrequest's would not reach it).
    if (r->main == nullptr) {
        for (const auto& h : d.headers) {
            apr_table_addn(r->err_headers_out, apr_pstrdup(r->pool, h.name.c_str()),
                           apr_pstrdup(r->pool, h.value.c_str()));
        }
    }
    r->user = apr_pstrdup(r->pool, id.user.c_str());
    r->ap_auth_type = const_cast<char*>(kAuthType);
    set_env(r, "REMOTE_USER", id.user);
    set_env(r, "AUTHGATE_USER", id.user);
    set_env(r, "AUTHGATE_EMAIL", id.email);
    set_env(r, "AUTHGATE_NAME", id.name);
    set_env(r, "AUTHGATE_GROUPS", groups);
    set_env(r, "AUTHGATE_ROLES", roles);
}

void set_status_env(request_rec* r, const Decision& d) {
    set_env(r, "AUTHGATE_STATUS", error_name(d.error));
}

int send_decision(request_rec* r, const Decision& d, bool from_handler) {
    // A subrequest's or an ErrorDocument's answer is its status alone: its headers would
    // land in the response the client gets for the parent (err_headers_out is shared).
    if (!from_handler && (r->main != nullptr || is_error_redirect(r))) return d.status;
    for (const auto& c : d.set_cookies) {
        apr_table_addn(r->err_headers_out, "Set-Cookie", apr_pstrdup(r->pool, c.c_str()));
    }
    for (const auto& h : d.headers) {
        apr_table_addn(r->err_headers_out, apr_pstrdup(r->pool, h.name.c_str()),
                       apr_pstrdup(r->pool, h.value.c_str()));
    }
    if (!d.location.empty()) {
        apr_table_set(r->err_headers_out, "Location", apr_pstrdup(r->pool, d.location.c_str()));
    }
    if (d.body.empty() && !from_handler) return d.status; // Apache writes its own short body
    if (!from_handler) ap_run_insert_filter(r); // the filters a handler would get (mod_headers)
    r->status = d.status;
    if (!d.content_type.empty())
        ap_set_content_type(r, apr_pstrdup(r->pool, d.content_type.c_str()));
    ap_set_content_length(r, static_cast<apr_off_t>(d.body.size()));
    if (!r->header_only && !d.body.empty())
        ap_rwrite(d.body.data(), static_cast<int>(d.body.size()), r);
    return from_handler ? OK : DONE;
}

void log_notice(request_rec* r, const Decision& d) {
    if (d.notice.empty()) return;
    ap_log_rerror(APLOG_MARK, APLOG_NOTICE, 0, r, "authgate: %s", d.notice.c_str());
}

} // namespace authgate::apache
