// Routes requests under the gate's prefix to their endpoint, through one table.
#include "answer/responses.h"
#include "authgate/client_address.h"
#include "authgate/gate.h"
#include "authgate/http.h"
#include "gate/endpoints.h"
#include "limit/request_limits.h"
#include "sso/flows.h"

#include <array>

namespace authgate {

namespace {

constexpr unsigned kGet = 1; // GET and HEAD
constexpr unsigned kPost = 2;

// Every handler gets the provider its path names; provider-less routes ignore it.
using Handler = Task<Decision> (*)(Ports, const GateConfig&, const RequestView&,
                                   const ProviderConfig*);

struct Route {
    std::string_view path; // after the prefix; ending in '/': a provider's name follows
    unsigned methods;
    Handler handler;
    // Anyone may call it and make the gate work (an IdP call, a password hash, a store
    // write): authgate_anonymous_limit applies.
    bool anonymous;
};

Task<Decision> login_page(Ports ports, const GateConfig& cfg, const RequestView& req,
                          const ProviderConfig*) {
    co_return gate::login_page(ports, cfg, req);
}
Task<Decision> login_submit(Ports ports, const GateConfig& cfg, const RequestView& req,
                            const ProviderConfig*) {
    return gate::login_submit(ports, cfg, req);
}
Task<Decision> logout(Ports ports, const GateConfig& cfg, const RequestView& req,
                      const ProviderConfig*) {
    return gate::logout(ports, cfg, req);
}
Task<Decision> health(Ports ports, const GateConfig& cfg, const RequestView& req,
                      const ProviderConfig*) {
    return gate::health(ports, cfg, req);
}
Task<Decision> sso_start(Ports ports, const GateConfig& cfg, const RequestView& req,
                         const ProviderConfig* p) {
    return sso::start(ports, cfg, req, *p);
}
Task<Decision> sso_callback(Ports ports, const GateConfig& cfg, const RequestView& req,
                            const ProviderConfig* p) {
    return sso::callback(ports, cfg, req, *p);
}
Task<Decision> sso_backchannel_logout(Ports ports, const GateConfig& cfg, const RequestView& req,
                                      const ProviderConfig* p) {
    return sso::backchannel_logout(ports, cfg, req, *p);
}

constexpr std::array kRoutes = {
    Route{"login", kGet, login_page, false},
    Route{"login", kPost, login_submit, true},
    Route{"logout", kGet | kPost, logout, false},
    Route{"sso/", kGet, sso_start, true},
    Route{"callback/", kGet, sso_callback, true},
    Route{"backchannel-logout/", kPost, sso_backchannel_logout, true},
    Route{"health", kGet, health, false},
};

bool matches(const Route& r, std::string_view name) {
    return r.path.ends_with('/') ? name.starts_with(r.path) : name == r.path;
}

Decision not_allowed(const GateConfig& cfg, unsigned methods) {
    auto d = answer::error_page(cfg, Error::method_not_allowed);
    std::string allow = (methods & kGet) != 0 ? "GET, HEAD" : "";
    if ((methods & kPost) != 0) allow += allow.empty() ? "POST" : ", POST";
    d.headers.push_back({"Allow", std::move(allow)});
    return d;
}

Task<Decision> route(Ports ports, const GateConfig& cfg, const RequestView& req,
                     std::string_view client) {
    if (!req.path.starts_with(cfg.prefix)) co_return answer::error_page(cfg, Error::not_found);
    std::string_view name = req.path.substr(cfg.prefix.size());
    unsigned method = req.method == "GET" || req.method == "HEAD" ? kGet
                      : req.method == "POST"                      ? kPost
                                                                  : 0;
    unsigned allowed = 0;
    for (const Route& r : kRoutes) {
        if (!matches(r, name)) continue;
        const ProviderConfig* provider = nullptr;
        if (r.path.ends_with('/')) {
            // An unknown provider is not found, whatever the method.
            provider = cfg.find_provider(name.substr(r.path.size()));
            if (provider == nullptr) co_return answer::error_page(cfg, Error::not_found);
        }
        if ((r.methods & method) != 0) {
            if (r.anonymous) {
                auto refused = co_await gate::anonymous_limit(ports, cfg, req, client);
                if (refused) co_return std::move(*refused);
            }
            Decision d = co_await r.handler(ports, cfg, req, provider);
            co_return d;
        }
        allowed |= r.methods;
    }
    if (allowed != 0) co_return not_allowed(cfg, allowed);
    co_return answer::error_page(cfg, Error::not_found);
}

} // namespace

// The block list first, then the location's authgate_limit zones (no session is read
// here: zones keyed by the user count the client), then the endpoint.
Task<Decision> handle_endpoint(Ports ports, const GateConfig& cfg, const RequestView& req) {
    std::string client_storage;
    std::string_view client = client_address(cfg, req, client_storage);
    auto blocked = co_await gate::check_blocked(ports, cfg, req, client);
    if (blocked) co_return std::move(*blocked);
    if (cfg.limits.empty()) {
        Decision d = co_await route(ports, cfg, req, client);
        co_return d;
    }
    auto outcome = co_await gate::run_limits(ports, cfg, req, client, nullptr,
                                             gate::LimitPhase::before_identity);
    auto later = co_await gate::run_limits(ports, cfg, req, client, nullptr,
                                           gate::LimitPhase::with_identity);
    gate::combine(outcome, std::move(later));
    Decision d;
    if (!outcome.refused && !outcome.unavailable) d = co_await route(ports, cfg, req, client);
    gate::apply_limits(cfg, req, ports.clock.now_ms(), outcome, d);
    co_return d;
}

} // namespace authgate
