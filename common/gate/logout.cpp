// GET/POST {prefix}logout: ends the session on the server and in the browser.
#include "gate/endpoints.h"

#include "authgate/http.h"
#include "authgate/session.h"
#include "gate/responses.h"
#include "gate/session_lookup.h"

namespace authgate::gate {

// POST everywhere=1 also ends the user's sessions on every other device and server.
Task<Decision> logout(Ports ports, const GateConfig& cfg, const RequestView& req) {
    auto params = http::parse_form(req.method == "POST" ? req.body : req.query);
    std::string_view rd;
    bool everywhere = false;
    if (params) {
        rd = http::param(*params, "rd").value_or("");
        everywhere = req.method == "POST" && http::param(*params, "everywhere") == "1";
    }
    std::string notice;
    for (auto v : http::cookie_values(req.cookie_headers, session_cookie_name(cfg, req))) {
        auto id = parse_session_cookie(v, *cfg.keys);
        if (!id) continue;
        std::string key = session_store_key(*id);
        if (everywhere) {
            auto record = co_await ports.store.get(key);
            if (!record.ok()) co_return error_page(cfg, Error::store_unavailable);
            auto s = decode_session(record.value.value_or(""));
            if (s) {
                auto ended = co_await revoke_user_sessions(ports.store, s->user,
                                                           ports.clock.now_ms());
                if (!ended.ok()) co_return error_page(cfg, Error::store_unavailable);
                notice = "user \"" + s->user + "\" signed out everywhere (" +
                         std::to_string(ended.value) + " sessions)";
            }
        }
        auto removed = co_await end_session(ports.store, key);
        if (!removed.ok()) co_return error_page(cfg, Error::store_unavailable);
    }

    Decision d = !rd.empty() && http::is_safe_return_path(rd)
                     ? redirect(303, std::string(rd))
                     : page(200, cfg.templates->signed_out.render(
                                     {{"login_url", login_url(cfg, "")}, {"prefix", cfg.prefix}}));
    d.set_cookies.push_back(clear_session_cookie(cfg, req));
    d.notice = std::move(notice);
    co_return d;
}

Task<Decision> health(Ports ports, const GateConfig&, const RequestView&) {
    auto probe = co_await ports.store.get("health");
    bool ok = probe.ok();
    std::string body = R"({"status":")";
    body += ok ? "ok" : "unavailable";
    body += R"(","store":{"backend":")";
    body += ports.store.kind();
    body += R"(","status":")";
    body += ok ? "ok" : "unavailable";
    body += "\"}}\n";
    co_return json(ok ? 200 : 503, std::move(body));
}

} // namespace authgate::gate
