// The access check for protected locations.
#include "answer/responses.h"
#include "authgate/client_address.h"
#include "authgate/gate.h"
#include "authgate/http.h"
#include "authgate/users.h"
#include "authz/require.h"
#include "gate/session_lookup.h"
#include "limit/request_limits.h"
#include "sso/flows.h"

#include <array>
#include <string>
#include <vector>

namespace authgate {

namespace {

// No usable session: with a default provider a browser goes straight to the IdP (the flow
// cookie is set on this very redirect); otherwise the sign-in page or a 401.
Task<Decision> sign_in_required(Ports ports, const GateConfig& cfg, const RequestView& req,
                                Millis now, Error why, bool clear_cookie) {
    if (cfg.default_provider == nullptr || http::is_api_client(req.accept, req.x_requested_with)) {
        co_return answer::unauthenticated(cfg, req, now, why, clear_cookie);
    }
    auto d = co_await sso::redirect_to_idp(ports, cfg, req, *cfg.default_provider,
                                           http::safe_return_path(req.uri));
    if (d.status == 302) d.error = why;
    if (clear_cookie) d.set_cookies.push_back(answer::clear_session_cookie(cfg, req));
    co_return d;
}

SharedIdentity admitted_identity(Session& s) {
    return admit_identity(Identity{std::move(s.user), std::move(s.email), std::move(s.name),
                                   std::move(s.groups), std::move(s.roles)});
}

void deny(const GateConfig& cfg, const RequestView& req, const std::string& user, Millis now,
          Decision& d) {
    d = answer::forbidden(cfg, req, now);
    d.notice = "access denied to user \"" + user + "\" by authgate_require";
}

bool has_user_zones(const GateConfig& cfg) {
    for (const auto& l : cfg.limits) {
        if (l.zone->key == config::LimitZone::Key::user) return true;
    }
    return false;
}

Task<Decision> decide_access(Ports ports, const GateConfig& cfg, const RequestView& req) {
    if (cfg.bearer_provider != nullptr) {
        Decision bearer = co_await sso::check_bearer(ports, cfg, req);
        co_return bearer;
    }
    auto found = co_await gate::lookup_session(ports, cfg, req);
    Millis now = ports.clock.now_ms();
    if (found.error == Error::store_unavailable) {
        auto d = answer::answers_as_api(req)
                     ? answer::json_error(req, now, Error::store_unavailable)
                     : answer::error_page(cfg, Error::store_unavailable);
        d.headers.push_back({"Retry-After", "5"});
        co_return d;
    }
    if (found.error != Error::ok) {
        co_return co_await sign_in_required(ports, cfg, req, now, found.error, found.had_cookie);
    }
    Session& s = found.session;
    if (s.sso_refresh_at_ms != 0 && now >= s.sso_refresh_at_ms) {
        auto refreshed = co_await sso::refresh_if_due(ports, cfg, session_store_key(found.id), s);
        if (refreshed.ended) {
            auto d = co_await sign_in_required(ports, cfg, req, now, Error::session_expired, true);
            d.notice = std::move(refreshed.notice);
            co_return d;
        }
        if (!refreshed.notice.empty()) {
            auto d = authorize(cfg, req, admitted_identity(s), now);
            d.notice = std::move(refreshed.notice);
            co_return d;
        }
    }
    co_return authorize(cfg, req, admitted_identity(s), now);
}

} // namespace

// The block list first; then the location's limits: those not keyed by the user before the
// session lookup, the user's once it is known.
Task<Decision> check_access(Ports ports, const GateConfig& cfg, const RequestView& req) {
    std::string client_storage;
    std::string_view client = client_address(cfg, req, client_storage);
    auto blocked = co_await gate::check_blocked(ports, cfg, req, client);
    if (blocked) co_return std::move(*blocked);
    if (cfg.limits.empty()) {
        Decision d = co_await decide_access(ports, cfg, req);
        co_return d;
    }
    // One flow waits for one store call at a time (an adapter parks one continuation per
    // request), so the zones are counted first, then the session is looked up.
    gate::LimitOutcome outcome = co_await gate::run_limits(ports, cfg, req, client, nullptr,
                                                           gate::LimitPhase::before_identity);
    Decision d = co_await decide_access(ports, cfg, req);
    if (has_user_zones(cfg)) {
        const Identity* who = d.allowed() ? d.identity.get() : nullptr;
        auto later = co_await gate::run_limits(ports, cfg, req, client, who,
                                               gate::LimitPhase::with_identity);
        gate::combine(outcome, std::move(later));
    }
    gate::apply_limits(cfg, req, ports.clock.now_ms(), outcome, d);
    co_return d;
}

bool check_access_cached(InlinePorts ports, const GateConfig& cfg, const RequestView& req,
                         std::optional<Decision>& out) {
    // Bearer locations never take a session, cached or not.
    if (cfg.bearer_provider != nullptr) return false;
    Millis now = ports.clock.now_ms();
    // Without a cache, only a store that answers inline can (durable ones never do).
    if (ports.sessions == nullptr && (ports.store == nullptr || ports.store->durable())) {
        return false;
    }
    // At most a few session cookies, without allocating.
    std::array<std::string_view, 4> values;
    std::size_t n =
        http::cookie_values(req.cookie_headers, answer::session_cookie_name(cfg, req), values);
    if (n == 0) return false;
    auto sent = std::span(values.data(), n);
    std::string client_storage;
    std::string_view client;
    if (ports.blocks != nullptr || !cfg.limits.empty()) {
        client = client_address(cfg, req, client_storage);
        auto blocked = gate::blocked_now(ports, client, now);
        if (!blocked) return false;
        if (*blocked) {
            out.emplace(gate::blocked_answer(cfg, req, now, client));
            return true;
        }
    }
    if (ports.sessions != nullptr) {
        // One lock of the cache (find) per hit; it is held until the identity is copied.
        auto hit = gate::cached_session(ports, cfg, sent, now);
        if (!hit) return false;
        authorize(cfg, req, hit->identity, now, out.emplace());
    } else {
        const SharedIdentity* who = gate::unchanged_identity(ports, cfg, sent, now);
        if (who == nullptr) return false;
        authorize(cfg, req, *who, now, out.emplace());
    }
    if (cfg.limits.empty()) return true;
    // Limits count only where every zone's store answers inline (shared memory); the
    // adapter gives a complete view to limited locations, so a 429 is answered from here.
    const Identity* who = out->allowed() ? out->identity.get() : nullptr;
    gate::LimitOutcome outcome;
    if (!gate::run_limits_now(ports, cfg, req, client, who, outcome)) {
        out.reset();
        return false;
    }
    gate::apply_limits(cfg, req, now, outcome, *out);
    return true;
}

std::optional<Decision> check_access_cached(InlinePorts ports, const GateConfig& cfg,
                                            const RequestView& req) {
    std::optional<Decision> out;
    check_access_cached(ports, cfg, req, out);
    return out;
}

Decision authorize(const GateConfig& cfg, const RequestView& req, SharedIdentity who, Millis now) {
    Decision d;
    authorize(cfg, req, std::move(who), now, d);
    return d;
}

void authorize(const GateConfig& cfg, const RequestView& req, SharedIdentity who, Millis now,
               Decision& d) {
    if (!authz::satisfies(cfg.require, *who, cfg.roles.get())) {
        deny(cfg, req, who->user, now, d);
        return;
    }
    d.kind = Decision::Kind::allow;
    d.error = Error::ok;
    d.identity = std::move(who);
}

bool holds_any(const Identity& who, config::RequireTerm::Kind kind,
               const std::vector<std::string>& names, const RoleGraph* roles) {
    config::RequireRule rule;
    for (const auto& n : names) rule.terms.push_back(config::RequireTerm{kind, n});
    return !rule.terms.empty() && authz::satisfies({rule}, who, roles);
}

} // namespace authgate
