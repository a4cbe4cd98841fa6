// Routes requests under the gate's prefix to their endpoint.
#include "authgate/gate.h"
#include "authgate/http.h"
#include "gate/endpoints.h"
#include "gate/responses.h"
#include "sso/flows.h"

namespace authgate {

namespace {

Decision not_allowed(const GateConfig& cfg, std::string_view allow) {
    auto d = gate::error_page(cfg, Error::method_not_allowed);
    d.headers.push_back({"Allow", std::string(allow)});
    return d;
}

} // namespace

Task<Decision> handle_endpoint(Ports ports, const GateConfig& cfg, const RequestView& req) {
    if (!req.path.starts_with(cfg.prefix)) co_return gate::error_page(cfg, Error::not_found);
    std::string_view name = req.path.substr(cfg.prefix.size());
    bool get = req.method == "GET" || req.method == "HEAD";
    bool post = req.method == "POST";

    if (name == "login") {
        if (get) co_return gate::login_page(ports, cfg, req);
        if (post) co_return co_await gate::login_submit(ports, cfg, req);
        co_return not_allowed(cfg, "GET, HEAD, POST");
    }
    if (name == "logout") {
        if (get || post) co_return co_await gate::logout(ports, cfg, req);
        co_return not_allowed(cfg, "GET, HEAD, POST");
    }
    // SSO: sso/{provider}, callback/{provider}, backchannel-logout/{provider}.
    for (std::string_view route : {"sso/", "callback/", "backchannel-logout/"}) {
        if (!name.starts_with(route)) continue;
        const ProviderConfig* provider = cfg.find_provider(name.substr(route.size()));
        if (provider == nullptr) co_return gate::error_page(cfg, Error::not_found);
        if (route == "backchannel-logout/") {
            if (post) co_return co_await sso::backchannel_logout(ports, cfg, req, *provider);
            co_return not_allowed(cfg, "POST");
        }
        if (!get) co_return not_allowed(cfg, "GET, HEAD");
        if (route == "sso/") co_return co_await sso::start(ports, cfg, req, *provider);
        co_return co_await sso::callback(ports, cfg, req, *provider);
    }
    if (name == "health") {
        if (get) co_return co_await gate::health(ports, cfg, req);
        co_return not_allowed(cfg, "GET, HEAD");
    }
    co_return gate::error_page(cfg, Error::not_found);
}

} // namespace authgate
