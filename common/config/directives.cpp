// The directive table: the single description of every configuration directive.
#include "authgate/config.h"
#include "authgate/http.h"
#include "authgate/limit_headers.h"
#include "authgate/networks.h"
#include "authgate/roles.h"
#include "config/values.h"

#include <array>
#include <charconv>
#include <vector>

namespace authgate::config {

namespace {

using Parsed = Result<void>;

// field<&Settings::x, parser>() makes apply/is_set/copy for one optional field.
template <auto Member> bool field_is_set(const Settings& s) { return (s.*Member).has_value(); }
template <auto Member> void field_copy(Settings& to, const Settings& from) {
    to.*Member = from.*Member;
}
template <auto Member, auto Parser> Parsed field_apply(Settings& s, Args args) {
    if ((s.*Member).has_value()) return fail("is duplicate");
    auto v = Parser(args);
    if (!v) return fail(v.error());
    s.*Member = std::move(*v);
    return {};
}

template <auto Member, auto Parser>
constexpr Directive field(std::string_view name, std::string_view apache_name, unsigned contexts,
                          unsigned apache_contexts, unsigned min_args, unsigned max_args,
                          bool inherit, std::string_view default_value, std::string_view example,
                          std::string_view help) {
    return Directive{name,
                     apache_name,
                     contexts,
                     apache_contexts,
                     min_args,
                     max_args,
                     inherit,
                     default_value,
                     example,
                     help,
                     &field_apply<Member, Parser>,
                     &field_is_set<Member>,
                     &field_copy<Member>};
}

// Either case, as nginx's and Apache's own flags (Apache configs write "On").
Result<bool> flag(Args a) {
    if (http::same_header_name(a[0], "on")) return true;
    if (http::same_header_name(a[0], "off")) return false;
    return fail("invalid value " + quoted(a[0]) + ", expected \"on\" or \"off\"");
}

Result<bool> present(Args) { return true; }

Result<unsigned> idp_threads(Args a) {
    unsigned n = 0;
    for (char c : a[0]) {
        if (c < '0' || c > '9' || n > 1000) return fail("invalid number " + quoted(a[0]));
        n = n * 10 + static_cast<unsigned>(c - '0');
    }
    if (a[0].empty() || n < 1 || n > 64) {
        return fail("invalid number " + quoted(a[0]) + ", expected 1 to 64");
    }
    return n;
}

Result<std::string> path(Args a) {
    if (a[0].empty()) return fail("empty path");
    return std::string(a[0]);
}

Result<std::string> url_prefix(Args a) {
    if (!is_url_path_prefix(a[0])) {
        return fail("invalid prefix " + quoted(a[0]) +
                    ", expected a path that starts and ends with \"/\", like \"/_authgate/\"");
    }
    return std::string(a[0]);
}

Result<std::string> cookie_name(Args a) {
    if (!is_token(a[0])) return fail("invalid cookie name " + quoted(a[0]));
    return std::string(a[0]);
}

Result<std::string> cookie_domain(Args a) {
    std::string_view d = a[0];
    if (!d.empty() && d.front() == '.') d.remove_prefix(1);
    if (!is_domain(d)) return fail("invalid cookie domain " + quoted(a[0]));
    return std::string(d);
}

// scheme://host[:port]: where browsers reach this site (redirect_uri, post-logout URL).
Result<std::string> public_origin(Args a) {
    std::string_view v = a[0];
    auto bad = [&] {
        return fail("invalid origin " + quoted(v) +
                    ", expected http(s)://host[:port] without a path, like "
                    "\"https://app.example.com\"");
    };
    bool tls = v.starts_with("https://");
    if (!tls && !v.starts_with("http://")) return bad();
    std::string_view authority = v.substr(tls ? 8 : 7);
    std::string_view host = authority, port;
    if (authority.starts_with("[")) {
        auto close = authority.find(']');
        if (close == std::string_view::npos || close < 3) return bad();
        host = authority.substr(1, close - 1);
        if (host.find_first_not_of("0123456789abcdefABCDEF:.") != std::string_view::npos) {
            return bad();
        }
        std::string_view after = authority.substr(close + 1);
        if (!after.empty()) {
            if (after.front() != ':') return bad();
            port = after.substr(1);
            if (port.empty()) return bad();
        }
    } else {
        auto colon = authority.find(':');
        if (colon != std::string_view::npos) {
            host = authority.substr(0, colon);
            port = authority.substr(colon + 1);
            if (port.empty()) return bad();
        }
        if (!is_domain(host)) return bad();
    }
    if (!port.empty()) {
        if (port.size() > 5 || port.find_first_not_of("0123456789") != std::string_view::npos ||
            port.front() == '0' || std::stoul(std::string(port)) > 65535) {
            return bad();
        }
    }
    return std::string(v);
}

Result<CookieSecure> cookie_secure(Args a) {
    if (a[0] == "auto") return CookieSecure::auto_;
    if (a[0] == "on") return CookieSecure::on;
    if (a[0] == "off") return CookieSecure::off;
    return fail("invalid value " + quoted(a[0]) + ", expected \"auto\", \"on\" or \"off\"");
}

Result<SameSite> same_site(Args a) {
    if (a[0] == "lax") return SameSite::lax;
    if (a[0] == "strict") return SameSite::strict;
    if (a[0] == "none") return SameSite::none;
    return fail("invalid value " + quoted(a[0]) + ", expected \"lax\", \"strict\" or \"none\"");
}

Result<Millis> duration(Args a) { return parse_duration(a[0]); }

// Bounded well below what one index record holds (kMaxIndexMembers in store_keys.h).
constexpr unsigned kMaxSessionsPerUser = 1000;

Result<unsigned> session_count(Args a) {
    unsigned n = 0;
    auto [end, ec] = std::from_chars(a[0].data(), a[0].data() + a[0].size(), n);
    if (ec != std::errc{} || end != a[0].data() + a[0].size() || n < 1 || n > kMaxSessionsPerUser) {
        return fail("invalid session count " + quoted(a[0]) + " (1 to " +
                    std::to_string(kMaxSessionsPerUser) + ")");
    }
    return n;
}

Result<ShmZone> shm_zone(Args a) {
    std::string_view v = a[0];
    auto colon = v.rfind(':');
    if (colon == std::string_view::npos || colon == 0) {
        return fail("invalid zone " + quoted(v) + ", expected \"name:size\"");
    }
    auto size = parse_size(v.substr(colon + 1));
    if (!size) return fail(size.error());
    return ShmZone{std::string(v.substr(0, colon)), *size};
}

// Fields not named keep these (the directive's default, written once).
constexpr std::string_view kIdentityHeadersDefault =
    "user=X-Auth-User email=X-Auth-Email name=X-Auth-Name groups=X-Auth-Groups "
    "roles=X-Auth-Roles";

std::vector<std::string_view> words(std::string_view text) {
    std::vector<std::string_view> out;
    while (!text.empty()) {
        auto sp = text.find(' ');
        out.push_back(text.substr(0, sp));
        text = sp == std::string_view::npos ? std::string_view{} : text.substr(sp + 1);
    }
    return out;
}

// Request headers the gate or the server reads as the client sent them: never identity
// headers (those are stripped from every client request).
bool read_from_client(std::string_view name) {
    for (std::string_view h :
         {"host", "cookie", "authorization", "accept", "content-type", "content-length",
          "transfer-encoding", "x-requested-with", "connection", "forwarded", "x-forwarded-for"}) {
        if (http::same_header_name(name, h)) return true;
    }
    return false;
}

Result<IdentityHeaders> identity_fields(IdentityHeaders h, Args a) {
    for (auto arg : a) {
        auto eq = arg.find('=');
        if (eq == std::string_view::npos) {
            return fail("invalid " + quoted(arg) +
                        ", expected \"field=Header-Name\" or \"field=off\"");
        }
        std::string_view key = arg.substr(0, eq);
        std::string_view value = arg.substr(eq + 1);
        std::string* slot = key == "user"     ? &h.user
                            : key == "email"  ? &h.email
                            : key == "name"   ? &h.name
                            : key == "groups" ? &h.groups
                            : key == "roles"  ? &h.roles
                                              : nullptr;
        if (slot == nullptr) {
            return fail("unknown field " + quoted(key) +
                        ", expected user, email, name, groups or roles");
        }
        if (value == "off") {
            slot->clear();
        } else if (!is_token(value)) {
            return fail("invalid header name " + quoted(value));
        } else if (read_from_client(value)) {
            // The gate strips identity headers from every client request.
            return fail(quoted(value) + " is a request header the gate reads from the client; "
                                        "name identity headers apart from it");
        } else {
            *slot = std::string(value);
        }
    }
    return h;
}

Result<IdentityHeaders> identity_headers(Args a) {
    return identity_fields(default_identity_headers(), a);
}

struct TermPrefix {
    std::string_view prefix;
    RequireTerm::Kind kind;
    bool (*valid)(std::string_view); // null: any non-empty name
};

constexpr std::array<TermPrefix, 4> kTermPrefixes = {{
    {"user:", RequireTerm::Kind::user, nullptr},
    {"group:", RequireTerm::Kind::group, nullptr},
    {"role:", RequireTerm::Kind::role, &is_role_name},
    {"permission:", RequireTerm::Kind::permission, &is_permission_name},
}};

constexpr std::string_view kTermForms =
    "\"user:NAME\", \"group:NAME\", \"role:NAME\" or \"permission:NAME\"";

Result<RequireRule> require_rule(Args a) {
    RequireRule rule;
    std::size_t i = 0;
    if (a[0] == "any" || a[0] == "all") {
        rule.all = a[0] == "all";
        i = 1;
    }
    if (i == a.size()) return fail("needs at least one " + std::string(kTermForms));
    for (; i < a.size(); ++i) {
        std::string_view t = a[i];
        const TermPrefix* form = nullptr;
        for (const auto& p : kTermPrefixes) {
            if (t.starts_with(p.prefix)) form = &p;
        }
        if (form == nullptr) {
            return fail("invalid term " + quoted(a[i]) + ", expected " + std::string(kTermForms));
        }
        t.remove_prefix(form->prefix.size());
        if (t.empty()) return fail("invalid term " + quoted(a[i]) + ": empty name");
        if (form->valid != nullptr && !form->valid(t)) {
            return fail("invalid term " + quoted(a[i]) + ": not a valid " +
                        std::string(form->prefix.substr(0, form->prefix.size() - 1)) + " name");
        }
        rule.terms.push_back(RequireTerm{form->kind, std::string(t)});
    }
    return rule;
}

// authgate_require may repeat in one block; every line must hold.
Parsed require_apply(Settings& s, Args args) {
    auto rule = require_rule(args);
    if (!rule) return fail(rule.error());
    if (!s.require) s.require.emplace();
    s.require->push_back(std::move(*rule));
    return {};
}

// authgate_role repeats, one line per role; names are unique per level.
Parsed role_apply(Settings& s, Args args) {
    auto role = parse_role(args);
    if (!role) return fail(role.error());
    if (!s.roles) s.roles.emplace();
    for (const auto& existing : *s.roles) {
        if (existing->name == role->name) {
            return fail("role " + quoted(role->name) + " is already defined");
        }
    }
    s.roles->push_back(std::make_shared<const RoleDef>(std::move(*role)));
    return {};
}

Result<RedisSettings> redis(Args a) { return parse_redis(a); }

Result<std::vector<std::string>> sentinels(Args a) {
    std::vector<std::string> out;
    for (auto arg : a) {
        auto colon = arg.rfind(':');
        bool ok = colon != std::string_view::npos && colon > 0 && colon + 1 < arg.size() &&
                  is_domain(arg.substr(0, colon));
        for (std::size_t i = colon + 1; ok && i < arg.size(); ++i)
            ok = arg[i] >= '0' && arg[i] <= '9';
        if (!ok || arg.size() - colon - 1 > 5) {
            return fail("invalid sentinel address " + quoted(arg) + ", expected host:port");
        }
        out.emplace_back(arg);
    }
    return out;
}

// authgate_oidc_provider repeats, one line per provider; names are unique per level.
Parsed provider_apply(Settings& s, Args args) {
    auto provider = parse_oidc_provider(args);
    if (!provider) return fail(provider.error());
    if (!s.oidc_providers) s.oidc_providers.emplace();
    for (const auto& existing : *s.oidc_providers) {
        if (existing->name == provider->name) {
            return fail("provider " + quoted(provider->name) + " is already defined");
        }
    }
    s.oidc_providers->push_back(std::make_shared<const OidcProvider>(std::move(*provider)));
    return {};
}

Result<std::string> provider_name(Args a) {
    if (a[0].empty() || a[0].size() > 64) return fail("invalid provider name " + quoted(a[0]));
    return std::string(a[0]);
}

Result<BearerSettings> bearer(Args a) {
    BearerSettings b;
    b.provider = std::string(a[0]);
    if (b.provider.empty() || b.provider.size() > 64)
        return fail("invalid provider name " + quoted(a[0]));
    for (std::size_t i = 1; i < a.size(); ++i) {
        std::string_view arg = a[i];
        if (arg.starts_with("audience=") && arg.size() > 9 && arg.size() < 512) {
            b.audience = std::string(arg.substr(9));
        } else if (arg.starts_with("scopes=")) {
            for (std::string_view rest = arg.substr(7); !rest.empty();) {
                auto comma = rest.find(',');
                std::string_view scope = rest.substr(0, comma);
                if (!is_scope_token(scope)) return fail("invalid scope " + quoted(scope));
                b.scopes.emplace_back(scope);
                rest =
                    comma == std::string_view::npos ? std::string_view{} : rest.substr(comma + 1);
            }
            if (b.scopes.empty()) return fail("empty scopes");
        } else {
            return fail("invalid parameter " + quoted(arg) +
                        ", expected audience=AUD or scopes=a,b");
        }
    }
    return b;
}

constexpr unsigned kAny = kMain | kServer | kLocation;
constexpr unsigned kAnyApache = kServerConfig | kVirtualHost | kDirectory;

const std::array kDirectives = {
    field<&Settings::enabled, flag>("authgate", "AuthGate", kAny, kAnyApache, 1, 1, true, "off",
                                    "on", "Protects the location: requests need a valid session."),
    field<&Settings::endpoint, present>(
        "authgate_endpoint", "AuthGateEndpoint", kLocation, kDirectory, 0, 0, false, "", "",
        "Serves the gate's endpoints (login, logout, health) in this location."),
    field<&Settings::prefix, url_prefix>("authgate_prefix", "AuthGatePrefix", kAny, kAnyApache, 1,
                                         1, true, "/_authgate/", "/_authgate/",
                                         "URL prefix of the gate's endpoints."),
    field<&Settings::key_file, path>(
        "authgate_key_file", "AuthGateKeyFile", kAny, kAnyApache, 1, 1, true, "",
        "/etc/authgate/authgate.key",
        "Server key ring: lines \"<id> <base64 secret of 32+ bytes>\", primary first."),
    field<&Settings::users_file, path>(
        "authgate_users_file", "AuthGateUsersFile", kAny, kAnyApache, 1, 1, true, "",
        "/etc/authgate/users",
        "Local users: \"user:argon2id-hash:email:Display Name:group,group:flags\"."),
    field<&Settings::templates_dir, path>(
        "authgate_templates", "AuthGateTemplates", kAny, kAnyApache, 1, 1, true, "",
        "/etc/authgate/templates",
        "Directory with login.html, logout.html, signed_out.html and error.html overriding "
        "the built-ins."),
    field<&Settings::cookie_name, cookie_name>(
        "authgate_cookie_name", "AuthGateCookieName", kAny, kAnyApache, 1, 1, true,
        kDefaultSessionCookie, "authgate_session",
        "Session cookie name (\"__Host-\" is prefixed under TLS when no domain is set)."),
    field<&Settings::cookie_domain, cookie_domain>(
        "authgate_cookie_domain", "AuthGateCookieDomain", kAny, kAnyApache, 1, 1, true, "",
        "example.com", "Domain attribute of the session cookie, to share it with subdomains."),
    field<&Settings::cookie_secure, cookie_secure>(
        "authgate_cookie_secure", "AuthGateCookieSecure", kAny, kAnyApache, 1, 1, true, "auto",
        "on", "Secure attribute: auto sets it on TLS requests."),
    field<&Settings::cookie_samesite, same_site>(
        "authgate_cookie_samesite", "AuthGateCookieSameSite", kAny, kAnyApache, 1, 1, true, "lax",
        "strict", "SameSite attribute of the session cookie."),
    field<&Settings::idle_timeout, duration>("authgate_idle_timeout", "AuthGateIdleTimeout", kAny,
                                             kAnyApache, 1, 1, true, "1h", "30m",
                                             "A session unused for this long ends."),
    field<&Settings::session_lifetime, duration>(
        "authgate_session_lifetime", "AuthGateSessionLifetime", kAny, kAnyApache, 1, 1, true, "12h",
        "8h", "A session ends this long after sign-in, however active."),
    field<&Settings::max_sessions_per_user, session_count>(
        "authgate_max_sessions_per_user", "AuthGateMaxSessionsPerUser", kAny, kAnyApache, 1, 1,
        true, "100", "20",
        "Live sessions one user may have (1 to 1000); a sign-in beyond it ends the oldest."),
    Directive{"authgate_require", "AuthGateRequire", kAny, kAnyApache, 1, kUnbounded, true, "",
              "any group:admins user:alice",
              "Authorization: [any|all] user:NAME|group:NAME|role:NAME|permission:NAME...; "
              "repeated lines must all hold.",
              &require_apply, &field_is_set<&Settings::require>, &field_copy<&Settings::require>},
    field<&Settings::identity_headers, identity_headers>(
        "authgate_identity_headers", "AuthGateIdentityHeaders", kAny, kAnyApache, 1, 5, true,
        kIdentityHeadersDefault, "user=X-Remote-User groups=off",
        "Identity headers sent upstream (fields user, email, name, groups, roles; \"off\" "
        "omits one)."),
    field<&Settings::shm_zone, shm_zone>(
        "authgate_shm_zone", "AuthGateShmZone", kMain, kServerConfig, 1, 1, false, "authgate:10m",
        "authgate:10m",
        "Shared-memory zone of the embedded store (unless authgate_redis is used)."),
    field<&Settings::redis, redis>(
        "authgate_redis", "AuthGateRedis", kMain, kServerConfig, 1, 8, false, "",
        "127.0.0.1:6379 db=0 prefix=authgate: command_timeout=500ms session_cache=1s",
        "Shared store in Redis instead of shared memory: host:port, unix:/path or "
        "sentinel:<master name> (the master that authgate_redis_sentinels report), then the "
        "key=value options of the authgate_redis table below."),
    field<&Settings::idp_threads, idp_threads>(
        "authgate_idp_threads", "AuthGateIdpThreads", kMain, kServerConfig, 1, 1, false, "4", "8",
        "Threads per worker for calls to identity providers (discovery, JWKS, token, "
        "userinfo), apart from nginx's default thread pool that hashes passwords; at most "
        "256 calls wait per worker, beyond that they fail at once."),
    field<&Settings::redis_sentinels, sentinels>(
        "authgate_redis_sentinels", "AuthGateRedisSentinels", kMain, kServerConfig, 1, kUnbounded,
        false, "", "127.0.0.1:26379 127.0.0.1:26380 127.0.0.1:26381",
        "Redis Sentinels to ask for the master of \"authgate_redis sentinel:<name>\"."),
    Directive{
        "authgate_oidc_provider", "AuthGateOidcProvider", kMain | kServer,
        kServerConfig | kVirtualHost, 2, kUnbounded, true, "",
        "corp issuer=https://idp.example.com client_id=web "
        "client_secret_file=/etc/authgate/corp.secret",
        "OpenID Provider NAME, then the key=value options of the authgate_oidc_provider table "
        "below; repeat for several providers.",
        &provider_apply, &field_is_set<&Settings::oidc_providers>,
        &field_copy<&Settings::oidc_providers>},
    Directive{"authgate_role", "AuthGateRole", kMain | kServer, kServerConfig | kVirtualHost, 1, 3,
              true, "", "editor permissions=docs:read,docs:write inherits=viewer",
              "Role NAME with its permissions and the roles it inherits (their permissions "
              "too, transitively); repeat for several roles. Users get roles from the users "
              "file, their store record or an SSO provider's role_map=; authgate_require "
              "role:NAME and permission:NAME test them at each request.",
              &role_apply, &field_is_set<&Settings::roles>, &field_copy<&Settings::roles>},
    field<&Settings::public_origin, public_origin>(
        "authgate_public_origin", "AuthGatePublicOrigin", kAny, kAnyApache, 1, 1, true, "",
        "https://app.example.com",
        "Origin (scheme://host[:port]) browsers reach this site at: SSO redirect_uri and "
        "post-logout URLs are built from it, never from the Host header. Required where SSO "
        "providers are used without their own redirect_uri=."),
    field<&Settings::default_provider, provider_name>(
        "authgate_default_provider", "AuthGateDefaultProvider", kAny, kAnyApache, 1, 1, true, "",
        "corp",
        "Protected pages send browsers straight to this provider instead of the sign-in "
        "page (\"off\" for none)."),
    field<&Settings::bearer, bearer>(
        "authgate_bearer", "AuthGateBearer", kAny, kAnyApache, 1, 3, true, "",
        "corp audience=https://api.example.com scopes=read",
        "API location: requests need \"Authorization: Bearer\" with a JWT access token from "
        "this provider (audience= defaults to its client_id; scopes= all required); no session "
        "is used; \"off\" in a nested location. ID tokens are refused: a token typed at+jwt "
        "is an access token; one with nonce/at_hash/c_hash, or whose only audience is the "
        "client_id, is not, unless audience=<client_id> is given explicitly."),
    Directive{"authgate_limit_zone", "AuthGateLimitZone", kMain | kServer,
              kServerConfig | kVirtualHost, 2, 6, true, "", "api key=client rate=10r/s burst=20",
              "Rate-limit zone NAME: key= client (the client address, default), user (the "
              "signed-in user, else the client address), api_key (the Authorization header), "
              "provider (the SSO provider of /sso/ and /callback/), or $variable (nginx) / "
              "$NAME (Apache: the request's environment variable); rate= Nr/s, r/m or r/h; "
              "burst= requests allowed at once (default: N); store= shm or redis (default: "
              "the configured store); unavailable= open (default) or closed when the store "
              "cannot be reached. Algorithm GCRA; counts are exact across workers and, on "
              "Redis, across servers.",
              &limit_zone_apply, &field_is_set<&Settings::limit_zones>,
              &field_copy<&Settings::limit_zones>},
    Directive{"authgate_limit", "AuthGateLimit", kAny, kAnyApache, 1, 2, true, "", "api dry_run",
              "Applies zone NAME here (repeat for several; each must allow); dry_run only logs "
              "and sets $authgate_status; \"off\" drops inherited zones. A refusal answers 429 "
              "with Retry-After.",
              &limit_apply, &field_is_set<&Settings::limits>, &field_copy<&Settings::limits>},
    field<&Settings::limit_headers, limit_headers>(
        "authgate_limit_headers", "AuthGateLimitHeaders", kAny, kAnyApache, 1, 3, true, "ietf",
        "ietf trio x",
        "Rate-limit headers on answers of limited locations: ietf (RateLimit-Policy and "
        "RateLimit, draft-ietf-httpapi-ratelimit-headers), trio (RateLimit-Limit, "
        "-Remaining, -Reset), x (X-RateLimit-Limit, -Remaining, -Reset as a Unix time), or "
        "off; the most constrained zone is reported."),
    field<&Settings::anonymous_limit, anonymous_limit>(
        "authgate_anonymous_limit", "AuthGateAnonymousLimit", kAny, kAnyApache, 1, 2, true, "off",
        "rate=5r/s burst=20",
        "Per-client limit on what anyone may call without a session: SSO starts and "
        "callbacks, back-channel logouts, sign-in form posts and bearer tokens not yet "
        "verified (\"off\" for none); refusals answer 429."),
    field<&Settings::trusted_proxies, trusted_proxies>(
        "authgate_trusted_proxies", "AuthGateTrustedProxies", kAny, kAnyApache, 1, kUnbounded, true,
        "", "10.0.0.0/8 2001:db8::/32 header=X-Forwarded-For",
        "Peers (addresses or CIDR networks) whose X-Forwarded-For (or, with header=Forwarded, "
        "Forwarded) names the client: the right-most hop that is not a trusted proxy is the "
        "client address that limits count. From any "
        "other peer these headers are ignored. Not needed behind nginx's realip module, "
        "which already sets the peer address."),
};

} // namespace

std::span<const Directive> directives() { return kDirectives; }

IdentityHeaders default_identity_headers() {
    auto args = words(kIdentityHeadersDefault);
    auto h = identity_fields(IdentityHeaders{}, args);
    return h ? *h : IdentityHeaders{};
}

const Directive* find_directive(std::string_view name) {
    for (const auto& d : kDirectives) {
        if (d.name == name) return &d;
    }
    return nullptr;
}

void merge(Settings& child, const Settings& parent) {
    for (const auto& d : kDirectives) {
        if (!d.inherit || d.is_set(child) || !d.is_set(parent)) continue;
        d.copy(child, parent);
        // The inherited value keeps the place it was written (list items too).
        for (const auto& [key, place] : parent.origins) {
            if (key == d.name || (key.size() > d.name.size() && key.starts_with(d.name) &&
                                  key[d.name.size()] == ' ')) {
                child.origins.try_emplace(key, place);
            }
        }
    }
    apply_defaults(child);
}

std::string origin_key(const Directive& d, Args args) {
    std::string key(d.name);
    if ((d.name == "authgate_oidc_provider" || d.name == "authgate_role" ||
         d.name == "authgate_limit_zone") &&
        !args.empty()) {
        key += " " + std::string(args[0]);
    }
    return key;
}

void record_origin(Settings& s, std::string_view key, std::string place) {
    s.origins.insert_or_assign(std::string(key), std::move(place));
}

std::string origin_of(const Settings& s, std::string_view key) {
    auto it = s.origins.find(key);
    return it == s.origins.end() ? std::string() : " in " + it->second;
}

void apply_defaults(Settings& s) {
    for (const auto& d : kDirectives) {
        if (d.is_set(s) || d.default_value.empty()) continue;
        // Defaults are written like directive arguments; the directive test checks them.
        auto args = words(d.default_value);
        (void)d.apply(s, args);
    }
}

} // namespace authgate::config
