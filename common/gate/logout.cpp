// GET/POST {prefix}logout: ends the session on the server and in the browser.
#include "gate/endpoints.h"

#include "answer/responses.h"
#include "authgate/crypto.h"
#include "authgate/http.h"
#include "authgate/oidc.h"
#include "authgate/session.h"
#include "gate/session_lookup.h"
#include "sso/flows.h"
#include "sso/identity.h"
#include "sso/provider_state.h"

namespace authgate::gate {

namespace {

// A session cookie of this request whose record is live: the one a sign-out would end.
struct LiveSession {
    std::string key;
    Session session;
};

Task<StoreReply<std::vector<LiveSession>>> live_sessions(Ports ports, const GateConfig& cfg,
                                                         const RequestView& req) {
    StoreReply<std::vector<LiveSession>> out;
    for (auto v : http::cookie_values(req.cookie_headers, answer::session_cookie_name(cfg, req))) {
        auto id = parse_session_cookie(v, *cfg.keys);
        if (!id) continue;
        std::string key = session_store_key(*id);
        auto record = co_await ports.store.get(key);
        if (!record.ok()) {
            out.status = record.status;
            co_return out;
        }
        auto s = decode_session(record.value.value_or(""));
        if (!s ||
            session_state(*s, ports.clock.now_ms(), cfg.idle_timeout) != SessionState::valid) {
            continue;
        }
        out.value.push_back(LiveSession{std::move(key), std::move(*s)});
    }
    co_return out;
}

Decision signed_out(const GateConfig& cfg, const RequestView& req, std::string_view rd) {
    Decision d = !rd.empty() && http::is_safe_return_path(rd)
                     ? answer::redirect(303, std::string(rd))
                     : answer::page(200, cfg.templates->signed_out.render(
                                             {{"login_url", answer::login_url(cfg, "")},
                                              {"prefix", cfg.prefix}}));
    d.set_cookies.push_back(answer::clear_session_cookie(cfg, req));
    return d;
}

// GET with a live session: a form that posts the session's CSRF token back. A link or a
// cross-site navigation alone ends nothing.
Decision confirmation(const GateConfig& cfg, const Session& s, std::string_view rd) {
    std::string safe_rd = !rd.empty() && http::is_safe_return_path(rd) ? std::string(rd) : "";
    return answer::page(200, cfg.templates->logout.render({{"action", cfg.prefix + "logout"},
                                                           {"csrf", s.csrf},
                                                           {"rd", safe_rd},
                                                           {"user", s.user},
                                                           {"prefix", cfg.prefix}}));
}

Decision refused(const GateConfig& cfg) {
    auto d =
        answer::page(403, cfg.templates->error.render(
                              {{"status", "403"},
                               {"title", "Sign-out not confirmed"},
                               {"message", "This sign-out request did not come from this site's "
                                           "sign-out page. Nothing was ended."},
                               {"login_url", ""},
                               {"prefix", cfg.prefix}}));
    d.error = Error::csrf_mismatch;
    d.notice = "sign-out refused: CSRF token missing or wrong";
    return d;
}

} // namespace

// GET shows a confirmation (or, without a live session, the signed-out page); POST with
// the session's CSRF token ends it, and with everywhere=1 every session of the user on
// every device and server.
Task<Decision> logout(Ports ports, const GateConfig& cfg, const RequestView& req) {
    bool post = req.method == "POST";
    auto params = http::parse_form(post ? req.body : req.query);
    std::string_view rd;
    std::string_view token;
    bool everywhere = false;
    if (params) {
        rd = http::param(*params, "rd").value_or("");
        token = http::param(*params, "csrf").value_or("");
        everywhere = post && http::param(*params, "everywhere") == "1";
    }
    auto live = co_await live_sessions(ports, cfg, req);
    if (!live.ok()) co_return answer::error_page(cfg, Error::store_unavailable);
    if (live.value.empty()) co_return signed_out(cfg, req, rd);
    if (!post) co_return confirmation(cfg, live.value.front().session, rd);

    std::vector<const LiveSession*> confirmed;
    for (const auto& l : live.value) {
        if (!l.session.csrf.empty() && crypto::constant_time_equal(token, l.session.csrf)) {
            confirmed.push_back(&l);
        }
    }
    if (confirmed.empty()) co_return refused(cfg);

    std::string notice;
    // RP-initiated logout: a session from a provider with rp_logout also ends at the IdP.
    const ProviderConfig* rp = nullptr;
    std::string id_token_hint;
    for (const LiveSession* l : confirmed) {
        const Session& s = l->session;
        if (!s.sso_provider.empty()) {
            const ProviderConfig* p = cfg.find_provider(s.sso_provider);
            if (p != nullptr && p->conf.rp_logout) {
                rp = p;
                if (auto tokens = sso::open_tokens(*cfg.keys, s)) {
                    id_token_hint = std::move(tokens->id_token);
                }
            }
        }
        if (everywhere) {
            auto ended = co_await revoke_user_sessions(ports.store, s.user, ports.clock.now_ms());
            if (!ended.ok()) co_return answer::error_page(cfg, Error::store_unavailable);
            notice = "user \"" + s.user + "\" signed out everywhere (" +
                     std::to_string(ended.value) + " sessions)";
        }
        auto removed = co_await end_session(ports.store, l->key);
        if (!removed.ok()) co_return answer::error_page(cfg, Error::store_unavailable);
    }

    if (rp != nullptr) {
        auto meta = co_await sso::provider_metadata(ports, *rp);
        if (meta.ok() && !meta.value->end_session_endpoint.empty()) {
            oidc::EndSessionRequest es;
            es.id_token_hint = std::move(id_token_hint);
            es.client_id = rp->conf.client_id;
            std::string origin = sso::public_origin(cfg, rp);
            if (!origin.empty()) es.post_logout_redirect_uri = origin + cfg.prefix + "logout";
            Decision d =
                answer::redirect(303, oidc::end_session_url(meta.value->end_session_endpoint, es));
            d.set_cookies.push_back(answer::clear_session_cookie(cfg, req));
            d.notice = notice.empty() ? "signed out at provider \"" + rp->conf.name + "\""
                                      : std::move(notice);
            co_return d;
        }
        // The IdP is unreachable or has no end_session_endpoint: the local logout stands.
        if (!meta.ok()) notice += (notice.empty() ? "" : "; ") + meta.detail;
    }

    Decision d = signed_out(cfg, req, rd);
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
            sso::ProviderRuntime& rt = ports.providers.state(p);
            std::lock_guard lock(rt.mutex);
            std::string_view discovery = rt.metadata
                                             ? (now < rt.metadata_expires_ms ? "ok" : "stale")
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
    co_return answer::json(ok ? 200 : 503, std::move(body));
}

} // namespace authgate::gate
