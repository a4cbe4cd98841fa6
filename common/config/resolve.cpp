// Turns merged Settings into the immutable GateConfig, loading the files they name.
#include "authgate/config.h"

#include <algorithm>
#include <cctype>
#include "authgate/keys.h"
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

Result<std::shared_ptr<const ProviderConfig>> ResourceCache::provider(
    const std::shared_ptr<const config::OidcProvider>& conf, const FileReader& read) {
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

Result<GateConfig> resolve(const config::Settings& s, ResourceCache& cache,
                           const FileReader& read) {
    GateConfig g;
    g.enabled = s.enabled.value_or(false);
    g.endpoint = s.endpoint.value_or(false);
    g.prefix = s.prefix.value_or("/_authgate/");
    g.cookie_name = s.cookie_name.value_or("authgate_session");
    g.csrf_cookie_name = "authgate_csrf";
    g.cookie_domain = s.cookie_domain.value_or("");
    g.cookie_secure = s.cookie_secure.value_or(config::CookieSecure::auto_);
    g.cookie_samesite = s.cookie_samesite.value_or(config::SameSite::lax);
    g.idle_timeout = s.idle_timeout.value_or(3'600'000);
    g.session_lifetime = s.session_lifetime.value_or(12 * 3'600'000);
    g.max_sessions_per_user = s.max_sessions_per_user.value_or(100);
    if (s.require) g.require = *s.require;
    if (s.identity_headers) g.identity_headers = *s.identity_headers;

    g.protected_headers = {"X-Auth-User", "X-Auth-Email", "X-Auth-Name", "X-Auth-Groups"};
    for (const std::string* h : {&g.identity_headers.user, &g.identity_headers.email,
                                 &g.identity_headers.name, &g.identity_headers.groups}) {
        bool known = false;
        for (const auto& p : g.protected_headers) {
            known |= p.size() == h->size() &&
                     std::equal(p.begin(), p.end(), h->begin(), [](char a, char b) {
                         return std::tolower(static_cast<unsigned char>(a)) ==
                                std::tolower(static_cast<unsigned char>(b));
                     });
        }
        if (!h->empty() && !known) g.protected_headers.push_back(*h);
    }
    g.host_cookie_name = "__Host-" + g.cookie_name;
    g.host_csrf_cookie_name = "__Host-" + g.csrf_cookie_name;
    g.gate_cookies = {g.cookie_name,           g.host_cookie_name, g.csrf_cookie_name,
                      g.host_csrf_cookie_name, "authgate_flow",   "__Host-authgate_flow"};

    bool bearer = s.bearer && s.bearer->provider != "off";
    if (bearer) g.enabled = true;  // an API location is gated by its tokens
    if (!g.enabled && !g.endpoint) return g;  // nothing to load for ungated locations

    if (g.cookie_samesite == config::SameSite::none &&
        g.cookie_secure == config::CookieSecure::off) {
        return fail("authgate_cookie_samesite none requires secure cookies "
                    "(authgate_cookie_secure on or auto)");
    }
    if (!s.key_file) {
        return fail("authgate_key_file is required where authgate is on or authgate_endpoint "
                    "is used");
    }
    auto keys = cache.keys(*s.key_file, read);
    if (!keys) return fail("authgate_key_file " + keys.error());
    g.keys = *keys;

    if (s.users_file) {
        auto users = cache.users(*s.users_file, read);
        if (!users) return fail("authgate_users_file " + users.error());
        g.users = *users;
    }
    g.decoy_hash = g.users ? g.users->decoy_hash() : decoy_hash_like("");
    auto templates = cache.templates(s.templates_dir.value_or(""), read);
    if (!templates) return fail("authgate_templates " + templates.error());
    g.templates = *templates;

    if (s.oidc_providers) {
        for (const auto& conf : *s.oidc_providers) {
            auto provider = cache.provider(conf, read);
            if (!provider) {
                return fail("authgate_oidc_provider " + conf->name + ": " + provider.error());
            }
            g.providers.push_back(*provider);
        }
    }
    if (s.default_provider && *s.default_provider != "off") {
        g.default_provider = g.find_provider(*s.default_provider);
        if (g.default_provider == nullptr) {
            return fail("authgate_default_provider \"" + *s.default_provider +
                        "\" names no authgate_oidc_provider of this server");
        }
    }
    if (bearer) {
        g.bearer_provider = g.find_provider(s.bearer->provider);
        if (g.bearer_provider == nullptr) {
            return fail("authgate_bearer \"" + s.bearer->provider +
                        "\" names no authgate_oidc_provider of this server");
        }
        g.bearer_audience = s.bearer->audience.empty() ? g.bearer_provider->conf.client_id
                                                       : s.bearer->audience;
        g.bearer_scopes = s.bearer->scopes;
    }
    return g;
}

} // namespace authgate
