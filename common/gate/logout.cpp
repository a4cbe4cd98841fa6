// GET/POST {prefix}logout: ends the session on the server and in the browser.
#include "gate/endpoints.h"

#include "authgate/http.h"
#include "authgate/session.h"
#include "gate/responses.h"
#include "gate/session_lookup.h"
#include "authgate/oidc.h"
#include "sso/flows.h"
#include "sso/identity.h"
#include "sso/provider_state.h"

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
    // RP-initiated logout: a session from a provider with rp_logout also ends at the IdP.
    const ProviderConfig* rp = nullptr;
    std::string id_token_hint;
    for (auto v : http::cookie_values(req.cookie_headers, session_cookie_name(cfg, req))) {
        auto id = parse_session_cookie(v, *cfg.keys);
        if (!id) continue;
        std::string key = session_store_key(*id);
        if (everywhere || !cfg.providers.empty()) {
            auto record = co_await ports.store.get(key);
            if (!record.ok()) co_return error_page(cfg, Error::store_unavailable);
            auto s = decode_session(record.value.value_or(""));
            if (s && !s->sso_provider.empty()) {
                const ProviderConfig* p = cfg.find_provider(s->sso_provider);
                if (p != nullptr && p->conf.rp_logout) {
                    rp = p;
                    if (auto tokens = sso::open_tokens(*cfg.keys, *s)) {
                        id_token_hint = std::move(tokens->id_token);
                    }
                }
            }
            if (s && everywhere) {
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

    if (rp != nullptr) {
        auto meta = co_await sso::provider_metadata(ports, *rp);
        if (meta.ok() && !meta.value->end_session_endpoint.empty()) {
            oidc::EndSessionRequest es;
            es.id_token_hint = std::move(id_token_hint);
            es.client_id = rp->conf.client_id;
            std::string origin = sso::public_origin(cfg, rp);
            if (!origin.empty()) es.post_logout_redirect_uri = origin + cfg.prefix + "logout";
            Decision d = redirect(303, oidc::end_session_url(meta.value->end_session_endpoint, es));
            d.set_cookies.push_back(clear_session_cookie(cfg, req));
            d.notice = notice.empty() ? "signed out at provider \"" + rp->conf.name + "\""
                                      : std::move(notice);
            co_return d;
        }
        // The IdP is unreachable or has no end_session_endpoint: the local logout stands.
        if (!meta.ok()) notice += (notice.empty() ? "" : "; ") + meta.detail;
    }

    Decision d = !rd.empty() && http::is_safe_return_path(rd)
                     ? redirect(303, std::string(rd))
                     : page(200, cfg.templates->signed_out.render(
                                     {{"login_url", login_url(cfg, "")}, {"prefix", cfg.prefix}}));
    d.set_cookies.push_back(clear_session_cookie(cfg, req));
    d.notice = std::move(notice);
    co_return d;
}

// The store is probed; providers report what this worker knows of them (fetching their
// documents here would let anyone make the gate call the IdPs).
Task<Decision> health(Ports ports, const GateConfig& cfg, const RequestView&) {
    auto probe = co_await ports.store.get("health");
    bool ok = probe.ok();
    Millis now = ports.clock.now_ms();
    std::string body = R"({"status":")";
    body += ok ? "ok" : "unavailable";
    body += R"(","store":{"backend":")";
    body += ports.store.kind();
    body += R"(","status":")";
    body += ok ? "ok" : "unavailable";
    body += "\"}";
    if (!cfg.providers.empty()) {
        body += R"(,"providers":[)";
        for (std::size_t i = 0; i < cfg.providers.size(); ++i) {
            const auto& p = *cfg.providers[i];
            const sso::ProviderRuntime& rt = ports.providers.state(p);
            std::string_view discovery = rt.metadata ? (now < rt.metadata_expires_ms ? "ok" : "stale")
                                         : rt.metadata_retry_ms != 0 ? "failed"
                                                                     : "not_fetched";
            if (i > 0) body += ',';
            body += R"({"name":")" + http::json_escape(p.conf.name) + R"(","issuer":")" +
                    http::json_escape(p.conf.issuer) + R"(","discovery":")" +
                    std::string(discovery) + R"(","keys":)" +
                    std::to_string(rt.keys ? rt.keys->size() : 0) + "}";
        }
        body += "]";
    }
    body += "}\n";
    co_return json(ok ? 200 : 503, std::move(body));
}

} // namespace authgate::gate
