// Turns merged Settings into the immutable GateConfig, loading the files they name.
#include "authgate/config.h"

#include "authgate/keys.h"
#include "authgate/roles.h"
#include "authgate/templates.h"
#include "authgate/users.h"

namespace authgate {

namespace {

template <class T, class Parse>
Result<std::shared_ptr<const T>> cached(std::map<std::string, std::shared_ptr<const T>>& cache,
                                        const std::string& key, Parse&& parse) {
    if (auto it = cache.find(key); it != cache.end()) return it->second;
    Result<T> loaded = parse();
    if (!loaded) return fail(loaded.error());
    auto ptr = std::make_shared<const T>(std::move(*loaded));
    cache.emplace(key, ptr);
    return ptr;
}

std::string in_file(const std::string& path, const std::string& message) {
    return "\"" + path + "\": " + message;
}

} // namespace

Result<std::shared_ptr<const KeyRing>> ResourceCache::keys(const std::string& path,
                                                           const FileReader& read) {
    return cached<KeyRing>(keys_, path, [&]() -> Result<KeyRing> {
        auto text = read(path);
        if (!text) return fail(text.error());
        auto ring = KeyRing::parse(*text);
        if (!ring) return fail(in_file(path, ring.error()));
        return ring;
    });
}

Result<std::shared_ptr<const UserDb>> ResourceCache::users(const std::string& path,
                                                           const FileReader& read) {
    return cached<UserDb>(users_, path, [&]() -> Result<UserDb> {
        auto text = read(path);
        if (!text) return fail(text.error());
        auto db = UserDb::parse(*text);
        if (!db) return fail(in_file(path, db.error()));
        return db;
    });
}

Result<std::shared_ptr<const Templates>> ResourceCache::templates(const std::string& dir,
                                                                  const FileReader& read) {
    return cached<Templates>(templates_, dir, [&]() -> Result<Templates> {
        if (dir.empty()) return Templates::builtin();
        return Templates::load(dir, read);
    });
}

Result<std::shared_ptr<const RoleGraph>>
ResourceCache::roles(const std::vector<std::shared_ptr<const config::RoleDef>>& defs,
                     const config::Settings& origins) {
    std::vector<const config::RoleDef*> key;
    key.reserve(defs.size());
    for (const auto& d : defs) key.push_back(d.get());
    if (auto it = roles_.find(key); it != roles_.end()) return it->second;
    auto graph = RoleGraph::close(defs, [&](std::string_view role) {
        return config::origin_of(origins, "authgate_role " + std::string(role));
    });
    if (!graph) return fail(graph.error());
    auto ptr = std::make_shared<const RoleGraph>(std::move(*graph));
    roles_.emplace(std::move(key), ptr);
    return ptr;
}

// Computed once per configuration (an argon2id hash at the default cost takes a while).
const std::string& ResourceCache::decoy_hash() {
    if (decoy_hash_.empty()) decoy_hash_ = authgate::decoy_hash();
    return decoy_hash_;
}

Result<std::shared_ptr<const ProviderConfig>>
ResourceCache::provider(const std::shared_ptr<const config::OidcProvider>& conf,
                        const FileReader& read) {
    if (auto it = providers_.find(conf.get()); it != providers_.end()) return it->second;
    auto text = read(conf->client_secret_file);
    if (!text) return fail("client_secret_file " + text.error());
    std::string secret = std::move(*text);
    while (!secret.empty() && (secret.back() == '\n' || secret.back() == '\r' ||
                               secret.back() == ' ' || secret.back() == '\t')) {
        secret.pop_back();
    }
    if (secret.empty()) {
        return fail("client_secret_file " +
                    in_file(conf->client_secret_file, "the client secret is empty"));
    }
    if (secret.find('\n') != std::string::npos) {
        return fail("client_secret_file " +
                    in_file(conf->client_secret_file, "the client secret must be one line"));
    }
    if (!conf->ca_file.empty()) {
        // Read now so that a missing or empty bundle fails nginx -t, not the first sign-in.
        auto pem = read(conf->ca_file);
        if (!pem) return fail("ca_file " + pem.error());
        if (pem->find("-----BEGIN CERTIFICATE-----") == std::string::npos) {
            return fail("ca_file " + in_file(conf->ca_file, "no PEM certificate in it"));
        }
    }
    auto ptr = std::make_shared<const ProviderConfig>(ProviderConfig{*conf, std::move(secret)});
    providers_.emplace(conf.get(), ptr);
    return ptr;
}

namespace {

// Each authgate_limit names a zone of this configuration; the store key is the zone's.
Result<std::vector<ResolvedLimit>> resolve_limits(const config::Settings& s) {
    std::vector<ResolvedLimit> out;
    if (!s.limits) return out;
    for (const auto& use : *s.limits) {
        std::shared_ptr<const config::LimitZone> zone;
        if (s.limit_zones) {
            for (const auto& z : *s.limit_zones) {
                if (z->name == use.zone) zone = z;
            }
        }
        if (!zone) {
            return fail("authgate_limit \"" + use.zone + "\": no authgate_limit_zone \"" +
                        use.zone + "\" is defined" + config::origin_of(s, "authgate_limit"));
        }
        out.push_back(ResolvedLimit{zone, use.dry_run, "r:" + use.zone + ":"});
    }
    return out;
}

} // namespace

Result<GateConfig> resolve(const config::Settings& merged, ResourceCache& cache,
                           const FileReader& read) {
    config::Settings s = merged;
    config::apply_defaults(s); // the table's defaults (merge applied them already)
    GateConfig g;
    g.enabled = *s.enabled;
    g.endpoint = s.endpoint.value_or(false); // a flag without a default: set or not
    g.prefix = *s.prefix;
    g.cookie_name = *s.cookie_name;
    g.csrf_cookie_name = kCsrfCookie;
    g.flow_cookie_name = kFlowCookie;
    g.cookie_domain = s.cookie_domain.value_or("");
    g.cookie_secure = *s.cookie_secure;
    g.cookie_samesite = *s.cookie_samesite;
    g.idle_timeout = *s.idle_timeout;
    g.session_lifetime = *s.session_lifetime;
    g.max_sessions_per_user = *s.max_sessions_per_user;
    if (s.require) g.require = *s.require;
    g.identity_headers = *s.identity_headers;
    if (s.roles) {
        // Closed wherever the gate is configured, so a broken graph fails nginx -t even in
        // a server that gates nothing yet.
        auto roles = cache.roles(*s.roles, s);
        if (!roles) return fail(roles.error());
        g.roles = *roles;
    }

    g.host_cookie_name = kHostCookiePrefix + g.cookie_name;
    g.host_csrf_cookie_name = kHostCookiePrefix + g.csrf_cookie_name;
    g.host_flow_cookie_name = kHostCookiePrefix + g.flow_cookie_name;
    OwnedNames own; // the defaults and this location's names; adapters add the rest
    own.add(s);
    own.give(g);

    auto limits = resolve_limits(s);
    if (!limits) return fail(limits.error());
    g.limits = std::move(*limits);
    g.limit_headers = *s.limit_headers;
    if (s.anonymous_limit->enabled) g.anonymous_limit = s.anonymous_limit->rule;
    if (s.trusted_proxies) {
        for (const auto& text : s.trusted_proxies->networks) {
            if (auto n = net::parse_network(text)) g.trusted_proxies.push_back(*n);
        }
        g.trusted_proxy_forwarded = s.trusted_proxies->forwarded;
    }

    bool bearer = s.bearer && s.bearer->provider != "off";
    if (bearer) g.enabled = true;          // an API location is gated by its tokens
    if (!config::gate_active(s)) return g; // nothing to load for ungated locations

    // Each error names the place of the directive it comes from.
    auto at = [&](std::string_view directive, std::string message) {
        return fail(std::move(message) + config::origin_of(s, directive));
    };
    std::string_view gated_by =
        bearer ? "authgate_bearer" : (s.enabled.value_or(false) ? "authgate" : "authgate_endpoint");

    if (g.cookie_samesite == config::SameSite::none &&
        g.cookie_secure == config::CookieSecure::off) {
        return at("authgate_cookie_samesite", "authgate_cookie_samesite none requires secure "
                                              "cookies (authgate_cookie_secure on or auto)");
    }
    if (!s.key_file) {
        return at(gated_by, "authgate_key_file is required where authgate is on or "
                            "authgate_endpoint is used");
    }
    auto keys = cache.keys(*s.key_file, read);
    if (!keys) return at("authgate_key_file", "authgate_key_file " + keys.error());
    g.keys = *keys;

    if (s.users_file) {
        auto users = cache.users(*s.users_file, read);
        if (!users) return at("authgate_users_file", "authgate_users_file " + users.error());
        g.users = *users;
    }
    g.decoy_hash = cache.decoy_hash();
    if (g.decoy_hash.empty()) return fail("cannot compute the decoy password hash");
    auto templates = cache.templates(s.templates_dir.value_or(""), read);
    if (!templates) return at("authgate_templates", "authgate_templates " + templates.error());
    g.templates = *templates;

    if (s.oidc_providers) {
        for (const auto& conf : *s.oidc_providers) {
            auto provider = cache.provider(conf, read);
            if (!provider) {
                std::string key = "authgate_oidc_provider " + conf->name;
                return at(key, key + ": " + provider.error());
            }
            g.providers.push_back(*provider);
        }
    }
    // A role named by authgate_require or a provider's role_map= must exist: a typo would
    // otherwise deny everyone (or never grant the role) without a word.
    auto undefined_role = [&](const std::string& role) {
        return !g.roles || !g.roles->defines(role);
    };
    for (const auto& rule : g.require) {
        for (const auto& term : rule.terms) {
            if (term.kind == config::RequireTerm::Kind::role && undefined_role(term.name)) {
                return at("authgate_require", "authgate_require role:" + term.name +
                                                  ": no authgate_role \"" + term.name +
                                                  "\" is defined for this server");
            }
        }
    }
    for (const auto& p : g.providers) {
        for (const auto& [group, role] : p->conf.role_map) {
            if (undefined_role(role)) {
                std::string key = "authgate_oidc_provider " + p->conf.name;
                std::string message = key;
                message += ": role_map maps \"" + group + "\" to \"";
                message += role;
                message += "\", which no authgate_role defines";
                return at(key, std::move(message));
            }
        }
    }
    if (s.default_provider && *s.default_provider != "off") {
        g.default_provider = g.find_provider(*s.default_provider);
        if (g.default_provider == nullptr) {
            return at("authgate_default_provider", "authgate_default_provider \"" +
                                                       *s.default_provider +
                                                       "\" names no authgate_oidc_provider of "
                                                       "this server");
        }
    }
    // Where sign-ins start or end (the endpoints, or a page that redirects to the default
    // provider), every provider needs a redirect_uri that does not come from the request.
    if (s.public_origin) g.public_origin = *s.public_origin;
    if ((g.endpoint || g.default_provider != nullptr) && g.public_origin.empty()) {
        for (const auto& p : g.providers) {
            if (p->conf.redirect_uri.empty()) {
                std::string key = "authgate_oidc_provider " + p->conf.name;
                return at(key, key + " needs authgate_public_origin (or its own redirect_uri=): "
                                     "redirect URIs are never built from the Host header");
            }
        }
    }
    if (bearer) {
        g.bearer_provider = g.find_provider(s.bearer->provider);
        if (g.bearer_provider == nullptr) {
            return at("authgate_bearer", "authgate_bearer \"" + s.bearer->provider +
                                             "\" names no authgate_oidc_provider of this server");
        }
        g.bearer_audience =
            s.bearer->audience.empty() ? g.bearer_provider->conf.client_id : s.bearer->audience;
        g.bearer_audience_explicit = !s.bearer->audience.empty();
        g.bearer_scopes = s.bearer->scopes;
    }
    return g;
}

} // namespace authgate
