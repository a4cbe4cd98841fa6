// Configuration described once: every directive's name, contexts, arity, default,
// merge rule and the Settings field it fills. Adapters build their directive tables
// and merges from directives(); resolve() turns merged Settings into a GateConfig.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "authgate/http.h"
#include "authgate/networks.h"
#include "authgate/ports.h"
#include "authgate/result.h"

namespace authgate {

class KeyRing;
class UserDb;
class Templates;
class RoleGraph;

namespace config {

// nginx contexts: http, server, location.
enum Context : unsigned { kMain = 1u, kServer = 2u, kLocation = 4u };
// Apache httpd contexts: server config, <VirtualHost>, <Directory>/<Location>.
enum ApacheContext : unsigned { kServerConfig = 1u, kVirtualHost = 2u, kDirectory = 4u };
enum class CookieSecure { auto_, on, off };
enum class SameSite { lax, strict, none };

struct RequireTerm {
    enum class Kind { user, group, role, permission };
    Kind kind;
    std::string name;
};

// One authgate_require line: any (or all) of its terms must hold.
// All lines of a location must hold.
struct RequireRule {
    bool all = false;
    std::vector<RequireTerm> terms;
};

// One authgate_role line: the role's own permissions and the roles it inherits (their
// permissions, and their names for role: terms). Closed into a RoleGraph at config time.
struct RoleDef {
    std::string name;
    std::vector<std::string> permissions;
    std::vector<std::string> inherits;
};

struct IdentityHeaders {
    std::string user; // empty: not sent
    std::string email;
    std::string name;
    std::string groups;
    std::string roles;
};

struct ShmZone {
    std::string name;
    std::size_t size = 0;
};

// authgate_redis: where the shared store lives and how to talk to it. The key=value options
// and their defaults are the table redis_options().
struct RedisSettings {
    std::string host;        // empty for a unix socket
    int port = 6379;         // Redis's own port, when host:port gives none
    std::string unix_path;   // "unix:/path" addresses
    std::string master_name; // "sentinel:<name>": the master comes from the sentinels
    int db = 0;
    std::string user; // ACL user; empty: default user
    std::string password_file;
    std::string prefix;
    Millis connect_timeout = 0;
    Millis command_timeout = 0;
    // Max age of a per-worker cached session lookup (invalidated over pub/sub); 0: off.
    Millis session_cache = 0;
};

// One key=value option of a directive (authgate_redis, authgate_oidc_provider).
template <class Target> struct Option {
    std::string_view name;
    std::string_view default_value; // parsed like a written value; empty: none
    std::string_view help;
    Result<void> (*apply)(Target&, std::string_view name, std::string_view value);
};
using RedisOption = Option<RedisSettings>;

// authgate_oidc_provider: one OpenID Provider as written in the config (presets applied).
// The key=value options and their defaults are the table provider_options().
struct OidcProvider {
    enum class AuthMethod { client_secret_basic, client_secret_post };
    std::string name;
    std::string label; // button text on the sign-in page
    std::string preset;
    std::string issuer;
    bool discovery = false; // off: the endpoints below are given explicitly
    std::string authorization_endpoint;
    std::string token_endpoint;
    std::string jwks_uri;
    std::string userinfo_endpoint;
    std::string end_session_endpoint;
    std::string client_id;
    std::string client_secret_file;
    std::string ca_file;      // trusted CAs for the IdP's https endpoints; empty: system
    std::string redirect_uri; // empty: <authgate_public_origin><prefix>callback/<name>
    std::vector<std::string> scopes;
    std::string extra_params; // query form, appended to the authorization request
    AuthMethod auth_method = AuthMethod::client_secret_basic;
    std::vector<std::string> algs;
    std::vector<std::string> claim_user; // the first present
    std::string claim_email;
    std::string claim_name;
    std::string claim_groups;
    std::vector<std::string> allowed_domains; // email domains; empty: any
    std::vector<std::string> allowed_groups;  // any of these; empty: any
    // role_map=group:role,...: an IdP group (claim_groups) gives the session that role.
    std::vector<std::pair<std::string, std::string>> role_map;
    bool userinfo = false;
    bool refresh = false;   // refresh tokens keep the session's IdP tokens fresh
    bool rp_logout = false; // logout also ends the session at the IdP
    Millis skew = 0;
    Millis timeout = 0; // every HTTP call to this IdP
};

using ProviderOption = Option<OidcProvider>;

// authgate_bearer: an API location takes Bearer JWTs from a provider instead of sessions.
struct BearerSettings {
    std::string provider;
    std::string audience;            // empty: the provider's client id (see AccessTokenRules)
    std::vector<std::string> scopes; // all required
};

// Raw, per-level directive values; unset until a directive or a default sets them.
struct Settings {
    std::optional<bool> enabled;
    std::optional<bool> endpoint;
    std::optional<std::string> prefix;
    std::optional<std::string> key_file;
    std::optional<std::string> users_file;
    std::optional<std::string> templates_dir;
    std::optional<std::string> cookie_name;
    std::optional<std::string> cookie_domain;
    std::optional<CookieSecure> cookie_secure;
    std::optional<SameSite> cookie_samesite;
    std::optional<Millis> idle_timeout;
    std::optional<Millis> session_lifetime;
    std::optional<unsigned> max_sessions_per_user;
    std::optional<std::vector<RequireRule>> require;
    std::optional<IdentityHeaders> identity_headers;
    std::optional<ShmZone> shm_zone;
    std::optional<RedisSettings> redis;
    std::optional<std::vector<std::string>> redis_sentinels; // "host:port" each
    std::optional<unsigned> idp_threads;                     // main context only
    // One object per directive line, shared by every level that inherits it.
    std::optional<std::vector<std::shared_ptr<const OidcProvider>>> oidc_providers;
    std::optional<std::string> default_provider; // "off" clears an inherited one
    std::optional<std::string> public_origin;
    std::optional<BearerSettings> bearer;
    // One object per authgate_role line, like the providers.
    std::optional<std::vector<std::shared_ptr<const RoleDef>>> roles;

    // Where each directive was written ("FILE:LINE"), recorded by the adapter while it
    // parses, so that errors found later (resolve, store setup) name the directive at fault.
    // Keyed by directive name; authgate_oidc_provider and authgate_role lines by
    // "<directive> NAME" (origin_key).
    std::map<std::string, std::string, std::less<>> origins;
};

using Args = std::span<const std::string_view>;

struct Directive {
    std::string_view name;        // nginx: authgate_idle_timeout
    std::string_view apache_name; // Apache httpd: AuthGateIdleTimeout
    unsigned contexts;            // Context bits (nginx)
    unsigned apache_contexts;     // ApacheContext bits
    unsigned min_args;
    unsigned max_args;              // kUnbounded for lists
    bool inherit;                   // merge rule: an unset child takes the parent's value
    std::string_view default_value; // parsed like a directive argument; empty: none
    std::string_view example;       // valid arguments, for docs and tests
    std::string_view help;
    Result<void> (*apply)(Settings&, Args);
    bool (*is_set)(const Settings&);
    void (*copy)(Settings& to, const Settings& from);
};

inline constexpr unsigned kUnbounded = 64;

std::span<const Directive> directives();
const Directive* find_directive(std::string_view name);
// authgate_identity_headers' default (user=X-Auth-User email=X-Auth-Email ...).
IdentityHeaders default_identity_headers();

// Child takes the parent's value for every unset inheritable directive, then
// defaults fill what is still unset.
void merge(Settings& child, const Settings& parent);
void apply_defaults(Settings& s);

// Whether the gate acts at this level: authgate on, authgate_endpoint, or an authgate_bearer
// other than off (an API location is gated by its tokens). The one definition adapters and
// resolve() use.
bool gate_active(const Settings& s);

// Checks between main-context directives that hold whether or not the gate is used.
Result<void> check_main(const Settings& main);

// The key a directive line's place is recorded under: its name, and for directives that
// repeat once per named object (providers, roles) " NAME" too.
std::string origin_key(const Directive& d, Args args);
void record_origin(Settings& s, std::string_view key, std::string place);
// " in FILE:LINE" of the directive `key` (as nginx ends its own errors), or "" if unknown.
std::string origin_of(const Settings& s, std::string_view key);

// Value parsers shared by directives (exposed for tests and fuzzing).
Result<Millis> parse_duration(std::string_view text);
Result<std::size_t> parse_size(std::string_view text);
Result<RedisSettings> parse_redis(Args args);
std::span<const RedisOption> redis_options();
std::span<const ProviderOption> provider_options();
Result<OidcProvider> parse_oidc_provider(Args args);
Result<RoleDef> parse_role(Args args);

} // namespace config

// Everything a gated location needs at request time, resolved once at config time
// and never mutated afterwards.
// A provider ready for requests: its configuration and client secret.
struct ProviderConfig {
    config::OidcProvider conf;
    std::string client_secret;
};

struct GateConfig {
    bool enabled = false;
    bool endpoint = false;
    std::string prefix;
    std::string public_origin; // authgate_public_origin; empty when not configured
    std::string cookie_name;
    std::string csrf_cookie_name;
    std::string flow_cookie_name; // the SSO flow cookie
    std::string host_cookie_name; // "__Host-" forms, used under TLS
    std::string host_csrf_cookie_name;
    std::string host_flow_cookie_name;
    std::string cookie_domain;
    config::CookieSecure cookie_secure = config::CookieSecure::auto_;
    config::SameSite cookie_samesite = config::SameSite::lax;
    Millis idle_timeout = 0;
    Millis session_lifetime = 0;
    // A sign-in beyond this many live sessions of one user ends the oldest ones.
    unsigned max_sessions_per_user = 100;
    std::vector<config::RequireRule> require;
    // The closed authgate_role graph of this server (null: no roles defined). Sessions hold
    // role names only; permissions come from here at each decision, so a reload that
    // changes a role applies to existing sessions at once.
    std::shared_ptr<const RoleGraph> roles;
    config::IdentityHeaders identity_headers;
    // Derived once: request headers a client may never set, and the gate's own cookies
    // (kept from the upstream).
    std::vector<std::string> protected_headers;
    // Bit n set: a protected name has n characters (bit 63: 63 or more). Most request
    // headers are ruled out by their length alone (every request scans every header).
    std::uint64_t protected_header_lengths = 0;
    std::vector<std::string> gate_cookies;
    // Every gate cookie name contains one of these: a Cookie header without any of them
    // holds no gate cookie (the adapter's allocation-free quick check).
    std::vector<std::string> gate_cookie_probes;
    std::shared_ptr<const KeyRing> keys;
    std::shared_ptr<const UserDb> users;
    std::string decoy_hash; // verified for unknown users: same work as a wrong password
    std::shared_ptr<const Templates> templates;
    // SSO providers of this server (sign-in page buttons, /sso/ and /callback/ endpoints).
    std::vector<std::shared_ptr<const ProviderConfig>> providers;
    const ProviderConfig* default_provider = nullptr; // protected pages go straight to it
    // authgate_bearer: requests need a valid Bearer JWT of this provider instead.
    const ProviderConfig* bearer_provider = nullptr;
    std::string bearer_audience;
    bool bearer_audience_explicit = false; // audience= given (else the client id)
    std::vector<std::string> bearer_scopes;
    // authgate_trusted_proxies: peers whose forwarding header names the client (empty: the
    // socket peer is the client); the Forwarded header instead of X-Forwarded-For.
    std::vector<net::Network> trusted_proxies;
    bool trusted_proxy_forwarded = false;

    // A client-sent request header with this name is removed before the upstream sees it.
    static unsigned header_length_bit(std::size_t length) noexcept {
        return length < 63 ? static_cast<unsigned>(length) : 63U;
    }
    bool protects_header(std::string_view name) const noexcept {
        if ((protected_header_lengths >> header_length_bit(name.size()) & 1U) == 0) return false;
        for (const auto& h : protected_headers) {
            if (http::same_header_name(name, h)) return true;
        }
        return false;
    }
    // False when the Cookie header holds none of the gate's cookies (no rewrite needed).
    bool may_hold_gate_cookie(std::string_view cookie_header) const noexcept {
        for (const auto& probe : gate_cookie_probes) {
            if (cookie_header.find(probe) != std::string_view::npos) return true;
        }
        return false;
    }

    const ProviderConfig* find_provider(std::string_view name) const {
        for (const auto& p : providers) {
            if (p->conf.name == name) return p.get();
        }
        return nullptr;
    }
};

inline constexpr const char* kDefaultSessionCookie = "authgate_session";
inline constexpr const char* kCsrfCookie = "authgate_csrf";
inline constexpr const char* kFlowCookie = "authgate_flow";
inline constexpr const char* kHostCookiePrefix = "__Host-"; // under TLS, without a Domain

// The identity header and cookie names the gate uses anywhere under one configuration root
// (nginx: the http block; defaults included). Client-sent headers and cookies with any of
// them are removed in every location, so one server's names cannot be spoofed through
// another server or an ungated location.
struct OwnedNames {
    OwnedNames();
    void add(const config::Settings& level); // the names set at this level
    void give(GateConfig& g) const;          // to protected_headers, gate_cookies, probes

    std::vector<std::string> headers;
    std::vector<std::string> cookies;
};

// True when a request authenticated for `a` is authenticated for `b` too (same tokens or
// session rules): an internal redirect between them only re-runs authorization.
bool same_authentication(const GateConfig& a, const GateConfig& b);

// Reads a file for resolve(); returns its content or a message (adapters implement
// it at configuration time, where blocking reads are fine).
using FileReader = std::function<Result<std::string>(const std::string& path)>;

// Loads and checks what the merged settings point to; shares loaded files between
// locations through the cache.
class ResourceCache {
  public:
    Result<std::shared_ptr<const KeyRing>> keys(const std::string& path, const FileReader& read);
    Result<std::shared_ptr<const UserDb>> users(const std::string& path, const FileReader& read);
    Result<std::shared_ptr<const Templates>> templates(const std::string& dir,
                                                       const FileReader& read);
    // The closed graph of these authgate_role lines; errors end with the place of the role
    // at fault (from `origins`).
    Result<std::shared_ptr<const RoleGraph>>
    roles(const std::vector<std::shared_ptr<const config::RoleDef>>& defs,
          const config::Settings& origins);

    Result<std::shared_ptr<const ProviderConfig>>
    provider(const std::shared_ptr<const config::OidcProvider>& conf, const FileReader& read);
    // The hash verified for unknown user names, at the default cost.
    const std::string& decoy_hash();

  private:
    std::map<const config::OidcProvider*, std::shared_ptr<const ProviderConfig>> providers_;
    std::map<std::string, std::shared_ptr<const KeyRing>> keys_;
    std::map<std::string, std::shared_ptr<const UserDb>> users_;
    std::map<std::string, std::shared_ptr<const Templates>> templates_;
    std::map<std::vector<const config::RoleDef*>, std::shared_ptr<const RoleGraph>> roles_;
    std::string decoy_hash_;
};

Result<GateConfig> resolve(const config::Settings& merged, ResourceCache& cache,
                           const FileReader& read);

// authgate_endpoint answers only under the prefix the gate redirects to: the location it is
// in must be that prefix (a regex location cannot be compared and is accepted).
Result<void> check_endpoint_location(const GateConfig& g, const config::Settings& merged,
                                     std::string_view location, bool regex);

} // namespace authgate
