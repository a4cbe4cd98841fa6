// GET {prefix}sso/{provider}: redirect the browser to the IdP (code flow, PKCE S256,
// state, nonce), with the flow sealed into the browser's flow cookie for the callback.
#include "sso/flows.h"

#include "answer/responses.h"
#include "authgate/crypto.h"
#include "authgate/http.h"
#include "authgate/oidc.h"
#include "sso/provider_state.h"

namespace authgate::sso {

namespace {

// "<scheme>://<authority>" of an absolute http(s) URL, or empty.
std::string origin_of(std::string_view url) {
    auto scheme = url.find("://");
    if (scheme == std::string_view::npos) return {};
    auto path = url.find('/', scheme + 3);
    return std::string(url.substr(0, path));
}

// target_link_uri of an IdP-initiated login: a local path, or an absolute URL of this
// site's public origin. Anything else is refused (never an open redirect).
std::optional<std::string> local_target(std::string_view target, std::string_view origin) {
    if (target.starts_with("/")) {
        if (!http::is_safe_return_path(target)) return std::nullopt;
        return std::string(target);
    }
    if (origin.empty() || !target.starts_with(origin)) return std::nullopt;
    std::string_view rest = target.substr(origin.size());
    if (rest.empty()) return std::string("/");
    if (!rest.starts_with("/") || !http::is_safe_return_path(rest)) return std::nullopt;
    return std::string(rest);
}

} // namespace

std::string public_origin(const GateConfig& cfg, const ProviderConfig* provider) {
    if (!cfg.public_origin.empty()) return cfg.public_origin;
    if (provider != nullptr) return origin_of(provider->conf.redirect_uri);
    return {};
}

std::string redirect_uri(const GateConfig& cfg, const ProviderConfig& provider) {
    if (!provider.conf.redirect_uri.empty()) return provider.conf.redirect_uri;
    if (cfg.public_origin.empty()) return {};
    return cfg.public_origin + cfg.prefix + "callback/" + provider.conf.name;
}

Decision idp_unavailable(const GateConfig& cfg, const RequestView& req, Millis now,
                         std::string detail) {
    auto d = http::is_api_client(req.accept, req.x_requested_with)
                 ? answer::json_error(req, now, Error::idp_unreachable)
                 : answer::error_page(cfg, Error::idp_unreachable);
    d.notice = std::move(detail);
    return d;
}

Task<Decision> redirect_to_idp(Ports ports, const GateConfig& cfg, const RequestView& req,
                               const ProviderConfig& provider, std::string rd, oidc::Params extra) {
    std::string callback_uri = redirect_uri(cfg, provider);
    if (callback_uri.empty()) co_return answer::error_page(cfg, Error::internal);
    Millis now = ports.clock.now_ms();
    auto meta = co_await provider_metadata(ports, provider);
    if (!meta.ok()) co_return idp_unavailable(cfg, req, now, meta.detail);

    std::string state = oidc::new_state(ports.random);
    oidc::FlowState flow;
    auto digest = crypto::sha256(state);
    flow.state_hash.assign(reinterpret_cast<const char*>(digest.data()), digest.size());
    flow.provider = provider.conf.name;
    flow.nonce = oidc::new_nonce(ports.random);
    flow.pkce_verifier = oidc::new_pkce_verifier(ports.random);
    flow.rd = std::move(rd);
    flow.created_ms = now;

    oidc::AuthorizationRequest ar;
    ar.client_id = provider.conf.client_id;
    ar.redirect_uri = std::move(callback_uri);
    ar.scope.clear();
    for (const auto& s : provider.conf.scopes) {
        if (!ar.scope.empty()) ar.scope += ' ';
        ar.scope += s;
    }
    ar.state = state;
    ar.nonce = flow.nonce;
    ar.code_challenge = oidc::pkce_challenge_s256(flow.pkce_verifier);
    if (auto configured = http::parse_form(provider.conf.extra_params)) {
        for (const auto& [k, v] : *configured) ar.extra.emplace_back(k, v);
    }
    for (auto& e : extra) ar.extra.push_back(std::move(e));

    // Parallel tabs: the cookie keeps a few recent flows; this one goes first.
    auto flows = read_flows(cfg, req);
    oidc::add_flow(flows, std::move(flow), now);

    auto d = answer::redirect(302, oidc::authorization_url(meta.value->authorization_endpoint, ar));
    d.headers.push_back({"Cache-Control", "no-store"});
    d.set_cookies.push_back(flow_cookie(cfg, req, ports.random, flows));
    co_return d;
}

Task<Decision> start(Ports ports, const GateConfig& cfg, const RequestView& req,
                     const ProviderConfig& provider) {
    auto query = http::parse_form(req.query);
    if (!query) co_return answer::error_page(cfg, Error::bad_request);
    std::string rd = http::safe_return_path(http::param(*query, "rd").value_or("/"));

    oidc::Params extra;
    // IdP-initiated login: the IdP's portal links here; it becomes a normal flow that
    // this gate starts, so state, nonce and PKCE protect it like any other.
    if (auto iss = http::param(*query, "iss")) {
        if (*iss != provider.conf.issuer) {
            auto d = answer::error_page(cfg, Error::issuer_mismatch);
            d.notice = "IdP-initiated login for provider \"" + provider.conf.name +
                       "\" refused: unexpected iss";
            co_return d;
        }
        if (auto target = http::param(*query, "target_link_uri")) {
            auto local = local_target(*target, public_origin(cfg, &provider));
            if (!local) {
                auto d = answer::error_page(cfg, Error::bad_request);
                d.notice = "IdP-initiated login refused: target_link_uri is not on this site";
                co_return d;
            }
            rd = *local;
        }
    }
    if (auto hint = http::param(*query, "login_hint"); hint && hint->size() <= 256) {
        extra.emplace_back("login_hint", std::string(*hint));
    }
    co_return co_await redirect_to_idp(ports, cfg, req, provider, std::move(rd), std::move(extra));
}

} // namespace authgate::sso
