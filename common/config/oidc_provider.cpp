// authgate_oidc_provider arguments: a name, then key=value parameters; presets fill in
// what a well-known provider always uses, explicit parameters win.
#include "authgate/config.h"
#include "authgate/oidc.h"
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

} // namespace

Result<OidcProvider> parse_oidc_provider(Args args) {
    OidcProvider p;
    p.name = std::string(args[0]);
    if (p.name.empty() || p.name.size() > 64 ||
        !std::all_of(p.name.begin(), p.name.end(), [](char c) {
            return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_';
        })) {
        return fail("invalid provider name " + quoted(args[0]) +
                    ", expected lower-case letters, digits, \"-\" or \"_\"");
    }
    // The preset goes first so that explicit parameters override it wherever they appear.
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

    bool saw_secret = false;
    for (std::size_t i = 1; i < args.size(); ++i) {
        std::string_view a = args[i];
        auto eq = a.find('=');
        if (eq == std::string_view::npos) return fail("invalid parameter " + quoted(a));
        std::string_view key = a.substr(0, eq), v = a.substr(eq + 1);
        auto url = [&](std::string& slot) -> Result<void> {
            auto u = endpoint_url(key, v);
            if (!u) return fail(u.error());
            slot = std::move(*u);
            return {};
        };
        auto flag = [&](bool& slot) -> Result<void> {
            auto b = on_off(key, v);
            if (!b) return fail(b.error());
            slot = *b;
            return {};
        };
        Result<void> r;
        if (key == "preset" || key == "tenant") {
            continue;
        } else if (key == "label") {
            if (v.empty() || v.size() > 64) return fail("invalid label " + quoted(v));
            p.label = std::string(v);
        } else if (key == "issuer") {
            r = url(p.issuer);
        } else if (key == "discovery") {
            r = flag(p.discovery);
        } else if (key == "authorization_endpoint") {
            r = url(p.authorization_endpoint);
        } else if (key == "token_endpoint") {
            r = url(p.token_endpoint);
        } else if (key == "jwks_uri") {
            r = url(p.jwks_uri);
        } else if (key == "userinfo_endpoint") {
            r = url(p.userinfo_endpoint);
        } else if (key == "end_session_endpoint") {
            r = url(p.end_session_endpoint);
        } else if (key == "redirect_uri") {
            r = url(p.redirect_uri);
        } else if (key == "client_id") {
            if (v.empty() || v.size() > 256 || v.find_first_of(" \"\\") != std::string_view::npos) {
                return fail("invalid client_id " + quoted(v));
            }
            p.client_id = std::string(v);
        } else if (key == "ca_file") {
            if (v.empty()) return fail("empty ca_file");
            p.ca_file = std::string(v);
        } else if (key == "client_secret_file") {
            if (v.empty()) return fail("empty client_secret_file");
            p.client_secret_file = std::string(v);
            saw_secret = true;
        } else if (key == "scopes") {
            p.scopes = split_list(v);
            if (std::find(p.scopes.begin(), p.scopes.end(), "openid") == p.scopes.end()) {
                return fail("scopes " + quoted(v) + " must include openid");
            }
            for (const auto& sc : p.scopes) {
                if (!is_scope_token(sc)) return fail("invalid scope " + quoted(sc));
            }
        } else if (key == "extra_params") {
            // k=v&k2=v2, already in query form; reserved OIDC parameters stay ours.
            for (std::string_view rest = v; !rest.empty();) {
                auto amp = rest.find('&');
                std::string_view pair = rest.substr(0, amp);
                std::string_view name = pair.substr(0, pair.find('='));
                for (std::string_view reserved :
                     {"response_type", "client_id", "redirect_uri", "scope", "state", "nonce",
                      "code_challenge", "code_challenge_method"}) {
                    if (name == reserved) {
                        return fail("extra_params may not set " + quoted(name));
                    }
                }
                if (name.empty() || pair.find('=') == std::string_view::npos) {
                    return fail("invalid extra_params " + quoted(v) + ", expected k=v&k2=v2");
                }
                rest = amp == std::string_view::npos ? std::string_view{} : rest.substr(amp + 1);
            }
            p.extra_params = std::string(v);
        } else if (key == "auth_method") {
            if (v == "client_secret_basic") {
                p.auth_method = OidcProvider::AuthMethod::client_secret_basic;
            } else if (v == "client_secret_post") {
                p.auth_method = OidcProvider::AuthMethod::client_secret_post;
            } else {
                return fail("invalid auth_method " + quoted(v) +
                            ", expected client_secret_basic or client_secret_post");
            }
        } else if (key == "algs") {
            p.algs = split_list(v);
            if (p.algs.empty()) return fail("empty algs");
            for (const auto& alg : p.algs) {
                if (std::find(kAllowedAlgs.begin(), kAllowedAlgs.end(), alg) ==
                    kAllowedAlgs.end()) {
                    return fail("unsupported alg " + quoted(alg) +
                                ", expected RS256/384/512, PS256/384/512 or ES256/384/512");
                }
            }
        } else if (key == "claim_user") {
            p.claim_user = split_list(v);
            if (p.claim_user.empty()) return fail("empty claim_user");
            for (const auto& c : p.claim_user) {
                if (!is_claim_name(c)) return fail("invalid claim name " + quoted(c));
            }
        } else if (key == "claim_email" || key == "claim_name" || key == "claim_groups") {
            if (v != "off" && !is_claim_name(v)) return fail("invalid claim name " + quoted(v));
            std::string& slot = key == "claim_email"  ? p.claim_email
                                : key == "claim_name" ? p.claim_name
                                                      : p.claim_groups;
            slot = v == "off" ? std::string() : std::string(v);
        } else if (key == "allowed_domains") {
            p.allowed_domains = split_list(v);
            for (const auto& d : p.allowed_domains) {
                // "example.com" matches that domain; ".example.com" its subdomains.
                std::string_view bare = d;
                if (bare.starts_with('.')) bare.remove_prefix(1);
                if (!is_domain(bare)) return fail("invalid domain " + quoted(d));
            }
        } else if (key == "allowed_groups") {
            p.allowed_groups = split_list(v);
        } else if (key == "userinfo") {
            r = flag(p.userinfo);
        } else if (key == "refresh") {
            r = flag(p.refresh);
        } else if (key == "rp_logout") {
            r = flag(p.rp_logout);
        } else if (key == "skew") {
            auto d = parse_duration(v);
            if (!d) return fail(d.error());
            if (*d > 600'000) return fail("skew " + quoted(v) + " is larger than 10m");
            p.skew = *d;
        } else if (key == "timeout") {
            auto d = parse_duration(v);
            if (!d) return fail(d.error());
            if (*d < 100 || *d > 60'000) {
                return fail("timeout " + quoted(v) + " is not between 100ms and 60s");
            }
            p.timeout = *d;
        } else {
            return fail("unknown parameter " + quoted(key));
        }
        if (!r) return fail(r.error());
    }

    if (p.label.empty()) p.label = std::string(preset->label.empty() ? p.name : preset->label);
    if (p.issuer.empty()) {
        return fail(
            "provider " + quoted(p.name) + " needs issuer=" +
            (p.preset == "generic" ? "" : " (preset " + p.preset + " has no fixed issuer)"));
    }
    if (p.client_id.empty()) return fail("provider " + quoted(p.name) + " needs client_id=");
    if (!saw_secret) return fail("provider " + quoted(p.name) + " needs client_secret_file=");
    if (!p.discovery &&
        (p.authorization_endpoint.empty() || p.token_endpoint.empty() || p.jwks_uri.empty())) {
        return fail("provider " + quoted(p.name) +
                    " with discovery=off needs authorization_endpoint, token_endpoint and "
                    "jwks_uri");
    }
    return p;
}

} // namespace authgate::config
