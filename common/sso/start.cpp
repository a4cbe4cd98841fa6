// GET {prefix}sso/{provider}: redirect the browser to the IdP (code flow, PKCE S256,
// state, nonce), with the flow recorded in the store for the callback.
#include "sso/flows.h"

#include "authgate/crypto.h"
#include "authgate/http.h"
#include "authgate/oidc.h"
#include "gate/responses.h"
#include "gate/session_start.h"
#include "sso/provider_state.h"

namespace authgate::sso {

namespace {

constexpr Millis kFlowTtl = 600'000;
constexpr std::size_t kBindingBytes = 16;

bool well_formed_binding(std::string_view v) {
    auto raw = crypto::base64url_decode(v);
    return raw && raw->size() == kBindingBytes;
}

// target_link_uri of an IdP-initiated login: a local path, or an absolute URL of this
// very origin. Anything else is refused (never an open redirect).
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

std::string request_origin(const GateConfig& cfg, const RequestView& req) {
    if (req.host.empty()) return {};
    std::string out = req.tls ? "https://" : "http://";
    out += req.host;
    (void)cfg;
    return out;
}

std::string redirect_uri(const GateConfig& cfg, const RequestView& req,
                         const ProviderConfig& provider) {
    if (!provider.conf.redirect_uri.empty()) return provider.conf.redirect_uri;
    return request_origin(cfg, req) + cfg.prefix + "callback/" + provider.conf.name;
}

std::string flow_key(std::string_view state) {
    std::string key = "f:";
    crypto::base64url_append(key, crypto::sha256(state));
    return key;
}

std::string binding_of(std::string_view cookie_value) {
    return crypto::base64url_encode(crypto::sha256(cookie_value));
}

Decision idp_unavailable(const GateConfig& cfg, const RequestView& req, Millis now,
                         std::string detail) {
    auto d = http::is_api_client(req.accept, req.x_requested_with)
                 ? gate::json_error(req, now, Error::idp_unreachable)
                 : gate::error_page(cfg, Error::idp_unreachable);
    d.notice = std::move(detail);
    return d;
}

Task<Decision> start(Ports ports, const GateConfig& cfg, const RequestView& req,
                     const ProviderConfig& provider) {
    Millis now = ports.clock.now_ms();
    auto query = http::parse_form(req.query);
    if (!query) co_return gate::error_page(cfg, Error::bad_request);
    std::string rd = http::safe_return_path(http::param(*query, "rd").value_or("/"));
    std::string origin = request_origin(cfg, req);
    if (origin.empty() && provider.conf.redirect_uri.empty()) {
        co_return gate::error_page(cfg, Error::bad_request);
    }

    oidc::Params extra;
    // IdP-initiated login: the IdP's portal links here; it becomes a normal flow that
    // this gate starts, so state, nonce and PKCE protect it like any other.
    if (auto iss = http::param(*query, "iss")) {
        if (*iss != provider.conf.issuer) {
            auto d = gate::error_page(cfg, Error::issuer_mismatch);
            d.notice = "IdP-initiated login for provider \"" + provider.conf.name +
                       "\" refused: unexpected iss";
            co_return d;
        }
        if (auto target = http::param(*query, "target_link_uri")) {
            auto local = local_target(*target, origin);
            if (!local) {
                auto d = gate::error_page(cfg, Error::bad_request);
                d.notice = "IdP-initiated login refused: target_link_uri is not on this site";
                co_return d;
            }
            rd = *local;
        }
    }
    if (auto hint = http::param(*query, "login_hint"); hint && hint->size() <= 256) {
        extra.emplace_back("login_hint", std::string(*hint));
    }

    auto meta = co_await provider_metadata(ports, provider);
    if (!meta.ok()) co_return idp_unavailable(cfg, req, now, meta.detail);

    std::string binding_cookie;
    for (auto v : http::cookie_values(req.cookie_headers, gate::flow_cookie_name(cfg, req))) {
        if (well_formed_binding(v)) {
            binding_cookie = std::string(v);
            break;
        }
    }
    bool new_cookie = binding_cookie.empty();
    if (new_cookie) binding_cookie = gate::random_token(ports.random, kBindingBytes);

    oidc::FlowState flow;
    flow.provider = provider.conf.name;
    flow.nonce = oidc::new_nonce(ports.random);
    flow.pkce_verifier = oidc::new_pkce_verifier(ports.random);
    flow.rd = rd;
    flow.created_ms = now;
    flow.binding = binding_of(binding_cookie);
    std::string state = oidc::new_state(ports.random);
    std::string key = flow_key(state);
    auto saved = co_await ports.store.set_if_absent(key, oidc::encode_flow_state(flow), kFlowTtl);
    if (!saved.ok()) co_return gate::error_page(cfg, Error::store_unavailable);
    if (!saved.value) co_return gate::error_page(cfg, Error::internal);

    oidc::AuthorizationRequest ar;
    ar.client_id = provider.conf.client_id;
    ar.redirect_uri = redirect_uri(cfg, req, provider);
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

    auto d = gate::redirect(302, oidc::authorization_url(meta.value->authorization_endpoint, ar));
    d.headers.push_back({"Cache-Control", "no-store"});
    if (new_cookie) d.set_cookies.push_back(gate::set_flow_cookie(cfg, req, binding_cookie));
    co_return d;
}

} // namespace authgate::sso
