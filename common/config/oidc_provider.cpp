// authgate_oidc_provider arguments: a name, then key=value parameters; presets fill in
// what a well-known provider always uses, explicit parameters win.
#include "authgate/config.h"
#include "authgate/oidc.h"
#include "authgate/roles.h"
#include "config/values.h"

#include <algorithm>
#include <array>
#include <cctype>

namespace authgate::config {

namespace {

std::vector<std::string> split_list(std::string_view v) {
    std::vector<std::string> out;
    while (!v.empty()) {
        auto comma = v.find(',');
        std::string_view item = v.substr(0, comma);
        if (!item.empty()) out.emplace_back(item);
        v = comma == std::string_view::npos ? std::string_view{} : v.substr(comma + 1);
    }
    return out;
}

// An absolute http(s) URL the gate may use (oidc::is_allowed_endpoint: https, or plain
// http to a loopback host for a local test provider), with a message saying what is wrong.
Result<std::string> endpoint_url(std::string_view key, std::string_view v) {
    if (oidc::is_allowed_endpoint(v)) return std::string(v);
    if (!v.starts_with("https://") && !v.starts_with("http://")) {
        return fail("invalid " + std::string(key) + " " + quoted(v) + ", expected an https:// URL");
    }
    if (v.starts_with("http://") &&
        oidc::is_allowed_endpoint("https://" + std::string(v.substr(7)))) {
        return fail(std::string(key) + " " + quoted(v) +
                    " must use https (plain http is only accepted for loopback hosts)");
    }
    return fail("invalid " + std::string(key) + " " + quoted(v));
}

Result<bool> on_off(std::string_view key, std::string_view v) {
    if (v == "on") return true;
    if (v == "off") return false;
    return fail("invalid " + std::string(key) + " " + quoted(v) + ", expected on or off");
}

bool is_claim_name(std::string_view v) {
    return !v.empty() && v.size() <= 128 && std::all_of(v.begin(), v.end(), [](char c) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
               c == '_' || c == '-' || c == '.' || c == ':' || c == '/';
    });
}

const std::vector<std::string> kAllowedAlgs = {"RS256", "RS384", "RS512", "PS256", "PS384",
                                               "PS512", "ES256", "ES384", "ES512"};

struct Preset {
    std::string_view name;
    std::string_view issuer; // "{tenant}" replaced; empty: issuer= required
    std::string_view claim_user;
    std::string_view claim_groups;
    std::string_view scopes;
    std::string_view label;
};

const std::array<Preset, 6> kPresets = {{
    {"generic", "", "preferred_username,email,sub", "groups", "openid,email,profile", ""},
    {"google", "https://accounts.google.com", "email", "groups", "openid,email,profile", "Google"},
    {"entra", "https://login.microsoftonline.com/{tenant}/v2.0", "preferred_username,email,sub",
     "groups", "openid,email,profile", "Microsoft"},
    {"okta", "", "preferred_username,email,sub", "groups", "openid,email,profile,groups", "Okta"},
    {"auth0", "", "email,sub", "groups", "openid,email,profile", "Auth0"},
    {"keycloak", "", "preferred_username,email,sub", "groups", "openid,email,profile", "Keycloak"},
}};

using Applied = Result<void>;

template <std::string OidcProvider::*Member>
Applied url(OidcProvider& p, std::string_view key, std::string_view v) {
    auto u = endpoint_url(key, v);
    if (!u) return fail(u.error());
    p.*Member = std::move(*u);
    return {};
}

template <bool OidcProvider::*Member>
Applied flag(OidcProvider& p, std::string_view key, std::string_view v) {
    auto b = on_off(key, v);
    if (!b) return fail(b.error());
    p.*Member = *b;
    return {};
}

// preset= and tenant= are read before every other option (see parse_oidc_provider).
Applied read_first(OidcProvider&, std::string_view, std::string_view) { return {}; }

Applied label(OidcProvider& p, std::string_view, std::string_view v) {
    if (v.empty() || v.size() > 64) return fail("invalid label " + quoted(v));
    p.label = std::string(v);
    return {};
}

Applied client_id(OidcProvider& p, std::string_view, std::string_view v) {
    if (v.empty() || v.size() > 256 || v.find_first_of(" \"\\") != std::string_view::npos) {
        return fail("invalid client_id " + quoted(v));
    }
    p.client_id = std::string(v);
    return {};
}

template <std::string OidcProvider::*Member>
Applied file(OidcProvider& p, std::string_view key, std::string_view v) {
    if (v.empty()) return fail("empty " + std::string(key));
    p.*Member = std::string(v);
    return {};
}

Applied scopes(OidcProvider& p, std::string_view, std::string_view v) {
    p.scopes = split_list(v);
    if (std::find(p.scopes.begin(), p.scopes.end(), "openid") == p.scopes.end()) {
        return fail("scopes " + quoted(v) + " must include openid");
    }
    for (const auto& sc : p.scopes) {
        if (!is_scope_token(sc)) return fail("invalid scope " + quoted(sc));
    }
    return {};
}

// k=v&k2=v2, already in query form; reserved OIDC parameters stay ours.
Applied extra_params(OidcProvider& p, std::string_view, std::string_view v) {
    for (std::string_view rest = v; !rest.empty();) {
        auto amp = rest.find('&');
        std::string_view pair = rest.substr(0, amp);
        std::string_view name = pair.substr(0, pair.find('='));
        for (std::string_view reserved :
             {"response_type", "client_id", "redirect_uri", "scope", "state", "nonce",
              "code_challenge", "code_challenge_method"}) {
            if (name == reserved) return fail("extra_params may not set " + quoted(name));
        }
        if (name.empty() || pair.find('=') == std::string_view::npos) {
            return fail("invalid extra_params " + quoted(v) + ", expected k=v&k2=v2");
        }
        rest = amp == std::string_view::npos ? std::string_view{} : rest.substr(amp + 1);
    }
    p.extra_params = std::string(v);
    return {};
}

Applied auth_method(OidcProvider& p, std::string_view, std::string_view v) {
    if (v == "client_secret_basic") {
        p.auth_method = OidcProvider::AuthMethod::client_secret_basic;
    } else if (v == "client_secret_post") {
        p.auth_method = OidcProvider::AuthMethod::client_secret_post;
    } else {
        return fail("invalid auth_method " + quoted(v) +
                    ", expected client_secret_basic or client_secret_post");
    }
    return {};
}

Applied algs(OidcProvider& p, std::string_view, std::string_view v) {
    p.algs = split_list(v);
    if (p.algs.empty()) return fail("empty algs");
    for (const auto& alg : p.algs) {
        if (std::find(kAllowedAlgs.begin(), kAllowedAlgs.end(), alg) == kAllowedAlgs.end()) {
            return fail("unsupported alg " + quoted(alg) +
                        ", expected RS256/384/512, PS256/384/512 or ES256/384/512");
        }
    }
    return {};
}

Applied claim_user(OidcProvider& p, std::string_view, std::string_view v) {
    p.claim_user = split_list(v);
    if (p.claim_user.empty()) return fail("empty claim_user");
    for (const auto& c : p.claim_user) {
        if (!is_claim_name(c)) return fail("invalid claim name " + quoted(c));
    }
    return {};
}

template <std::string OidcProvider::*Member>
Applied claim(OidcProvider& p, std::string_view, std::string_view v) {
    if (v != "off" && !is_claim_name(v)) return fail("invalid claim name " + quoted(v));
    p.*Member = v == "off" ? std::string() : std::string(v);
    return {};
}

Applied allowed_domains(OidcProvider& p, std::string_view, std::string_view v) {
    p.allowed_domains = split_list(v);
    for (const auto& d : p.allowed_domains) {
        // "example.com" matches that domain; ".example.com" its subdomains.
        std::string_view bare = d;
        if (bare.starts_with('.')) bare.remove_prefix(1);
        if (!is_domain(bare)) return fail("invalid domain " + quoted(d));
    }
    return {};
}

Applied allowed_groups(OidcProvider& p, std::string_view, std::string_view v) {
    p.allowed_groups = split_list(v);
    return {};
}

// group:role,group2:role2 (the last ":" splits, so groups like "team:ops" work); the roles
// must be defined (checked in resolve, where the server's authgate_role lines are known).
Applied role_map(OidcProvider& p, std::string_view, std::string_view v) {
    p.role_map.clear();
    for (const auto& item : split_list(v)) {
        auto colon = item.rfind(':');
        if (colon == std::string::npos || colon == 0) {
            return fail("invalid role_map entry " + quoted(item) + ", expected group:role");
        }
        std::string group = item.substr(0, colon), role = item.substr(colon + 1);
        if (!is_role_name(role)) return fail("invalid role " + quoted(role) + " in role_map");
        p.role_map.emplace_back(std::move(group), std::move(role));
    }
    if (p.role_map.empty()) return fail("empty role_map");
    return {};
}

Applied skew(OidcProvider& p, std::string_view, std::string_view v) {
    auto d = parse_duration(v);
    if (!d) return fail(d.error());
    if (*d > 600'000) return fail("skew " + quoted(v) + " is larger than 10m");
    p.skew = *d;
    return {};
}

Applied timeout(OidcProvider& p, std::string_view, std::string_view v) {
    auto d = parse_duration(v);
    if (!d) return fail(d.error());
    if (*d < 100 || *d > 60'000)
        return fail("timeout " + quoted(v) + " is not between 100ms and 60s");
    p.timeout = *d;
    return {};
}

using P = OidcProvider;

// Every key=value option of authgate_oidc_provider; defaults are only written here (and, for
// scopes, claim_user and claim_groups, in the presets above).
constexpr std::array kProviderOptions = {
    ProviderOption{"preset", "generic", "generic, google, entra, okta, auth0 or keycloak",
                   &read_first},
    ProviderOption{"tenant", "", "directory id or domain (preset=entra)", &read_first},
    ProviderOption{"label", "", "button text (default: the preset's or the name)", &label},
    ProviderOption{"issuer", "", "issuer URL (unless the preset fixes it)", &url<&P::issuer>},
    ProviderOption{"discovery", "on", "read the endpoints from the discovery document",
                   &flag<&P::discovery>},
    ProviderOption{"authorization_endpoint", "", "with discovery=off",
                   &url<&P::authorization_endpoint>},
    ProviderOption{"token_endpoint", "", "with discovery=off", &url<&P::token_endpoint>},
    ProviderOption{"jwks_uri", "", "with discovery=off", &url<&P::jwks_uri>},
    ProviderOption{"userinfo_endpoint", "", "overrides discovery", &url<&P::userinfo_endpoint>},
    ProviderOption{"end_session_endpoint", "", "overrides discovery",
                   &url<&P::end_session_endpoint>},
    ProviderOption{"client_id", "", "required", &client_id},
    ProviderOption{"client_secret_file", "", "required: file with the client secret",
                   &file<&P::client_secret_file>},
    ProviderOption{"ca_file", "", "CA bundle for the IdP (default: the system's)",
                   &file<&P::ca_file>},
    ProviderOption{"redirect_uri", "", "default: authgate_public_origin + prefix + callback/NAME",
                   &url<&P::redirect_uri>},
    ProviderOption{"scopes", "", "a,b (default: the preset's; must include openid)", &scopes},
    ProviderOption{"extra_params", "", "k=v&k2=v2 added to the authorization request",
                   &extra_params},
    ProviderOption{"auth_method", "client_secret_basic", "or client_secret_post", &auth_method},
    ProviderOption{"algs", "RS256", "accepted ID token algorithms (RS*, PS*, ES*)", &algs},
    ProviderOption{"claim_user", "", "claims tried in order (default: the preset's)", &claim_user},
    ProviderOption{"claim_email", "email", "claim or off", &claim<&P::claim_email>},
    ProviderOption{"claim_name", "name", "claim or off", &claim<&P::claim_name>},
    ProviderOption{"claim_groups", "", "claim or off (default: the preset's)",
                   &claim<&P::claim_groups>},
    ProviderOption{"allowed_domains", "", "email domains admitted (.example.com: subdomains)",
                   &allowed_domains},
    ProviderOption{"allowed_groups", "", "any of these groups admitted", &allowed_groups},
    ProviderOption{"role_map", "", "group:role,...: IdP groups (claim_groups) giving roles",
                   &role_map},
    ProviderOption{"userinfo", "off", "also read the userinfo endpoint", &flag<&P::userinfo>},
    ProviderOption{"refresh", "off", "refresh the IdP tokens", &flag<&P::refresh>},
    ProviderOption{"rp_logout", "off", "logout also ends the IdP session", &flag<&P::rp_logout>},
    ProviderOption{"skew", "60s", "clock skew allowed on token times (at most 10m)", &skew},
    ProviderOption{"timeout", "5s", "each HTTP call to the IdP (100ms to 60s)", &timeout},
};

const ProviderOption* find_option(std::string_view name) {
    for (const auto& o : kProviderOptions) {
        if (o.name == name) return &o;
    }
    return nullptr;
}

} // namespace

std::span<const ProviderOption> provider_options() { return kProviderOptions; }

// preset= (and tenant=, for presets whose issuer depends on it): what the provider always uses.
static Result<const Preset*> apply_preset(OidcProvider& p, Args args) {
    const Preset* preset = &kPresets[0];
    std::string tenant;
    for (std::size_t i = 1; i < args.size(); ++i) {
        if (args[i].starts_with("preset=")) {
            std::string_view name = args[i].substr(7);
            auto it = std::find_if(kPresets.begin(), kPresets.end(),
                                   [&](const Preset& pr) { return pr.name == name; });
            if (it == kPresets.end()) {
                return fail("unknown preset " + quoted(name) +
                            ", expected generic, google, entra, okta, auth0 or keycloak");
            }
            preset = &*it;
        } else if (args[i].starts_with("tenant=")) {
            tenant = std::string(args[i].substr(7));
        }
    }
    p.preset = std::string(preset->name);
    p.claim_user = split_list(preset->claim_user);
    p.claim_groups = std::string(preset->claim_groups);
    p.scopes = split_list(preset->scopes);
    if (!preset->issuer.empty()) {
        std::string issuer(preset->issuer);
        if (auto pos = issuer.find("{tenant}"); pos != std::string::npos) {
            bool tenant_ok =
                !tenant.empty() && tenant.size() <= 64 &&
                std::all_of(tenant.begin(), tenant.end(), [](char c) {
                    return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '.';
                });
            if (!tenant_ok) {
                return fail("preset " + quoted(preset->name) +
                            " needs tenant=<directory id or domain>");
            }
            issuer.replace(pos, 8, tenant);
        }
        p.issuer = issuer;
    } else if (!tenant.empty()) {
        return fail("tenant= is only used with preset=entra");
    }
    return preset;
}

Result<OidcProvider> parse_oidc_provider(Args args) {
    OidcProvider p;
    for (const auto& o : kProviderOptions) {
        if (!o.default_value.empty()) (void)o.apply(p, o.name, o.default_value); // tested
    }
    p.name = std::string(args[0]);
    if (p.name.empty() || p.name.size() > 64 ||
        !std::all_of(p.name.begin(), p.name.end(), [](char c) {
            return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_';
        })) {
        return fail("invalid provider name " + quoted(args[0]) +
                    ", expected lower-case letters, digits, \"-\" or \"_\"");
    }
    // The preset goes first so that explicit parameters override it wherever they appear.
    auto preset = apply_preset(p, args);
    if (!preset) return fail(preset.error());

    for (std::size_t i = 1; i < args.size(); ++i) {
        std::string_view a = args[i];
        auto eq = a.find('=');
        if (eq == std::string_view::npos) return fail("invalid parameter " + quoted(a));
        std::string_view key = a.substr(0, eq), v = a.substr(eq + 1);
        const ProviderOption* o = find_option(key);
        if (o == nullptr) return fail("unknown parameter " + quoted(key));
        if (auto applied = o->apply(p, key, v); !applied) return fail(applied.error());
    }

    if (p.label.empty())
        p.label = std::string((*preset)->label.empty() ? p.name : (*preset)->label);
    if (p.issuer.empty()) {
        return fail(
            "provider " + quoted(p.name) + " needs issuer=" +
            (p.preset == "generic" ? "" : " (preset " + p.preset + " has no fixed issuer)"));
    }
    if (p.client_id.empty()) return fail("provider " + quoted(p.name) + " needs client_id=");
    if (p.client_secret_file.empty())
        return fail("provider " + quoted(p.name) + " needs client_secret_file=");
    if (!p.discovery &&
        (p.authorization_endpoint.empty() || p.token_endpoint.empty() || p.jwks_uri.empty())) {
        return fail("provider " + quoted(p.name) +
                    " with discovery=off needs authorization_endpoint, token_endpoint and "
                    "jwks_uri");
    }
    return p;
}

} // namespace authgate::config
