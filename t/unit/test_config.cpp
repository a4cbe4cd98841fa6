// The directive table is complete and consistent; values parse strictly; merge inherits.
#include "support/support.h"

#include <cctype>
#include <set>

#include "authgate/config.h"

using namespace authgate;
using namespace authgate::config;

namespace {

std::vector<std::string_view> words(std::string_view s) {
    std::vector<std::string_view> out;
    while (!s.empty()) {
        auto sp = s.find(' ');
        out.push_back(s.substr(0, sp));
        if (sp == std::string_view::npos) break;
        s.remove_prefix(sp + 1);
    }
    return out;
}

// authgate_cookie_samesite and AuthGateCookieSameSite are the same name.
bool same_ignoring_underscores(std::string_view nginx, std::string_view apache) {
    std::string a, b;
    for (char c : nginx) {
        if (c != '_') a.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(c))));
    }
    for (char c : apache)
        b.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(c))));
    return a == b && std::isupper(static_cast<unsigned char>(apache[0]));
}

void every_directive_is_complete(void**) {
    std::set<std::string_view> names;
    std::size_t count = 0;
    for (const auto& d : directives()) {
        ++count;
        assert_true(d.name == "authgate" || d.name.starts_with("authgate_"));
        assert_true(names.insert(d.name).second); // unique
        assert_true(d.contexts != 0);
        // The Apache name is the nginx name in CamelCase (authgate_idle_timeout:
        // AuthGateIdleTimeout), and the Apache contexts mirror the nginx ones (http: server
        // config, server: virtual host, location: directory).
        assert_true(d.apache_name.starts_with("AuthGate"));
        assert_true(names.insert(d.apache_name).second);
        assert_true(same_ignoring_underscores(d.name, d.apache_name));
        assert_int_equal(d.apache_contexts, d.contexts);
        assert_true(d.min_args <= d.max_args);
        assert_false(d.help.empty());
        assert_non_null(d.apply);
        assert_non_null(d.is_set);
        assert_non_null(d.copy);
        assert_ptr_equal(find_directive(d.name), &d);

        // The example is valid and sets the field.
        Settings s;
        assert_false(d.is_set(s));
        auto args = words(d.example);
        if (d.min_args == 0) args.clear();
        assert_true(args.size() >= d.min_args && args.size() <= d.max_args);
        auto applied = d.apply(s, args);
        if (!applied) fail_msg("%s example: %s", d.name.data(), applied.error().c_str());
        assert_true(d.is_set(s));

        // Inheritable fields reach an unset child.
        Settings child;
        d.copy(child, s);
        assert_true(d.is_set(child));

        // A default, when there is one, parses.
        if (!d.default_value.empty()) {
            Settings fresh;
            auto def = words(d.default_value);
            assert_true(def.size() >= d.min_args && def.size() <= d.max_args);
            assert_true(d.apply(fresh, def).ok());
        }
    }
    // Settings has 29 fields; each has exactly one directive.
    assert_int_equal(count, 29);
}

// Option tables (authgate_redis, authgate_oidc_provider): unique names, help, and a default
// that parses (defaults are only written there).
template <class Target, class Options> void options_are_complete(Options options) {
    std::set<std::string_view> names;
    for (const auto& o : options) {
        assert_true(names.insert(o.name).second);
        assert_false(o.help.empty());
        assert_non_null(o.apply);
        if (o.default_value.empty()) continue;
        Target t{};
        auto applied = o.apply(t, o.name, o.default_value);
        if (!applied) fail_msg("%s default: %s", o.name.data(), applied.error().c_str());
    }
}

void option_tables_are_complete(void**) {
    options_are_complete<RedisSettings>(redis_options());
    options_are_complete<OidcProvider>(provider_options());
    // The defaults reach a parsed line.
    std::vector<std::string_view> redis = {"127.0.0.1"};
    auto r = parse_redis(redis);
    assert_true(r.ok());
    assert_string_equal(r->prefix.c_str(), "authgate:");
    assert_int_equal(r->connect_timeout, 1000);
    assert_int_equal(r->command_timeout, 500);
    std::vector<std::string_view> provider = {"corp", "issuer=https://idp.example.com",
                                              "client_id=web", "client_secret_file=/s"};
    auto p = parse_oidc_provider(provider);
    assert_true(p.ok());
    assert_true(p->discovery);
    assert_int_equal(p->skew, 60'000);
    assert_int_equal(p->timeout, 5'000);
    assert_int_equal(p->algs.size(), 1);
    assert_string_equal(p->algs[0].c_str(), "RS256");
    assert_string_equal(p->claim_email.c_str(), "email");
    assert_string_equal(p->claim_name.c_str(), "name");
    assert_string_equal(p->claim_groups.c_str(), "groups");
    assert_int_equal(p->scopes.size(), 3);
    assert_int_equal(p->claim_user.size(), 3);
    assert_false(p->userinfo || p->refresh || p->rp_logout);
}

// Flags take on/off in any case (Apache configs write On/Off, nginx accepts both too);
// anything else is refused.
void flags_in_either_case(void**) {
    const Directive* d = find_directive("authgate");
    for (auto [text, value] :
         {std::pair{"on", true}, {"On", true}, {"OFF", false}, {"off", false}}) {
        Settings s;
        std::vector<std::string_view> args = {text};
        assert_true(d->apply(s, args).ok());
        assert_int_equal(*s.enabled, value);
    }
    for (std::string_view bad : {"yes", "o", "on1", "", "o-n"}) {
        Settings s;
        std::vector<std::string_view> args = {bad};
        assert_false(d->apply(s, args).ok());
    }
}

// Issue 8, item 8: the cap stays below what one index record may hold.
void max_sessions_per_user_is_bounded(void**) {
    const Directive* d = find_directive("authgate_max_sessions_per_user");
    for (std::string_view bad : {"0", "1001", "-1", "5x", ""}) {
        Settings s;
        std::vector<std::string_view> args = {bad};
        auto r = d->apply(s, args);
        assert_false(r.ok());
        assert_non_null(strstr(r.error().c_str(), "1 to 1000"));
    }
    Settings s;
    std::vector<std::string_view> args = {"1000"};
    assert_true(d->apply(s, args).ok());
    assert_int_equal(*s.max_sessions_per_user, 1000);
}

void defaults_fill_unset_fields(void**) {
    Settings s;
    apply_defaults(s);
    assert_true(s.enabled.has_value() && !*s.enabled);
    assert_true(*s.prefix == "/_authgate/");
    assert_true(*s.cookie_name == "authgate_session");
    assert_int_equal(*s.idle_timeout, 3'600'000);
    assert_int_equal(*s.session_lifetime, 12 * 3'600'000);
    assert_int_equal(*s.max_sessions_per_user, 100);
    assert_true(s.identity_headers->user == "X-Auth-User");
    assert_true(s.identity_headers->groups == "X-Auth-Groups");
    assert_false(s.key_file.has_value());
}

void merge_inherits_and_child_wins(void**) {
    Settings parent, child;
    std::string_view on = "on", ten = "10m", five = "5m";
    assert_true(find_directive("authgate")->apply(parent, Args(&on, 1)).ok());
    assert_true(find_directive("authgate_idle_timeout")->apply(parent, Args(&ten, 1)).ok());
    assert_true(find_directive("authgate_idle_timeout")->apply(child, Args(&five, 1)).ok());
    std::string_view ep;
    assert_true(find_directive("authgate_endpoint")->apply(parent, Args(&ep, 0)).ok());
    merge(child, parent);
    assert_true(*child.enabled);
    assert_int_equal(*child.idle_timeout, 300'000);
    assert_false(child.endpoint.has_value()); // authgate_endpoint is not inherited
}

void durations(void**) {
    assert_int_equal(*parse_duration("500ms"), 500);
    assert_int_equal(*parse_duration("2s"), 2000);
    assert_int_equal(*parse_duration("90"), 90'000);
    assert_int_equal(*parse_duration("1h30m"), 5'400'000);
    assert_int_equal(*parse_duration("1d"), 86'400'000);
    for (const char* bad :
         {"", "0", "0s", "5parsecs", "1.5h", "-1s", "h", "1h 30m", "999999d", "1H", "s1", "1h30"}) {
        auto r = parse_duration(bad);
        if (r.ok()) fail_msg("accepted duration \"%s\"", bad);
        assert_non_null(strstr(r.error().c_str(), "duration"));
    }
}

void sizes(void**) {
    assert_int_equal(*parse_size("10m"), 10 * 1024 * 1024);
    assert_int_equal(*parse_size("512k"), 512 * 1024);
    assert_int_equal(*parse_size("4096"), 4096);
    for (const char* bad : {"", "0", "m", "10x", "-5", "99999999999g", "1.5m"}) {
        if (parse_size(bad).ok()) fail_msg("accepted size \"%s\"", bad);
    }
}

void directive_errors_quote_the_token(void**) {
    struct Case {
        const char* directive;
        std::vector<std::string_view> args;
        const char* expect;
    } cases[] = {
        {"authgate", {"maybe"}, "invalid value \"maybe\""},
        {"authgate_idp_threads", {"0"}, "invalid number \"0\", expected 1 to 64"},
        {"authgate_idp_threads", {"4x"}, "invalid number \"4x\""},
        {"authgate_idle_timeout", {"5parsecs"}, "invalid duration \"5parsecs\""},
        {"authgate_prefix", {"/no-trailing-slash"}, "invalid prefix \"/no-trailing-slash\""},
        {"authgate_cookie_name", {"bad;name"}, "invalid cookie name \"bad;name\""},
        {"authgate_cookie_secure", {"sometimes"}, "invalid value \"sometimes\""},
        {"authgate_cookie_samesite", {"loose"}, "invalid value \"loose\""},
        {"authgate_require", {"any"}, "at least one"},
        {"authgate_require", {"team:admin"}, "invalid term \"team:admin\""},
        {"authgate_require", {"role:a b"}, "not a valid role name"},
        {"authgate_require", {"group:"}, "empty name"},
        {"authgate_identity_headers", {"uid=X-User"}, "unknown field \"uid\""},
        {"authgate_identity_headers", {"user=Bad Header"}, "invalid header name"},
        {"authgate_identity_headers", {"user=Accept"}, "a request header the gate reads"},
        {"authgate_identity_headers", {"groups=cookie"}, "a request header the gate reads"},
        {"authgate_identity_headers",
         {"email=X_Requested_With"},
         "a request header the gate reads"},
        {"authgate_shm_zone", {"nozise"}, "expected \"name:size\""},
        {"authgate_shm_zone", {"z:10q"}, "invalid size \"10q\""},
        {"authgate_redis", {"redis:notaport"}, "invalid port"},
        {"authgate_redis", {"unix:relative"}, "expected unix:/absolute/path"},
        {"authgate_redis", {"127.0.0.1:6379", "db=99999"}, "invalid db"},
        {"authgate_redis", {"127.0.0.1:6379", "timeout=1s"}, "unknown parameter \"timeout\""},
        {"authgate_redis", {"127.0.0.1:6379", "command_timeout=fast"}, "invalid duration"},
        {"authgate_redis", {"sentinel:"}, "expected sentinel:<master name>"},
        {"authgate_redis",
         {"127.0.0.1:6379", "session_cache=soon"},
         "session_cache: invalid duration"},
        {"authgate_redis", {"127.0.0.1:6379", "session_cache=0"}, "must be positive"},
        {"authgate_redis", {"127.0.0.1:6379", "session_cache=61s"}, "must be off or 1ms..60s"},
        {"authgate_redis_sentinels", {"127.0.0.1"}, "invalid sentinel address \"127.0.0.1\""},
        {"authgate_redis_sentinels", {"127.0.0.1:26379", "h:99999x"}, "invalid sentinel address"},
        {"authgate_oidc_provider", {"Corp", "issuer=https://i"}, "invalid provider name \"Corp\""},
        {"authgate_oidc_provider",
         {"corp", "issuer=http://idp.example.com", "client_id=a", "client_secret_file=/s"},
         "must use https"},
        {"authgate_oidc_provider", {"corp", "issuer=ftp://x"}, "expected an https:// URL"},
        {"authgate_oidc_provider", {"corp", "issuer=https://u:p@idp"}, "invalid issuer"},
        {"authgate_oidc_provider",
         {"corp", "client_id=a", "client_secret_file=/s"},
         "needs issuer="},
        {"authgate_oidc_provider",
         {"corp", "issuer=https://i", "client_secret_file=/s"},
         "needs client_id="},
        {"authgate_oidc_provider",
         {"corp", "issuer=https://i", "client_id=a"},
         "needs client_secret_file="},
        {"authgate_oidc_provider", {"corp", "preset=ping"}, "unknown preset \"ping\""},
        {"authgate_oidc_provider", {"corp", "preset=entra"}, "needs tenant="},
        {"authgate_oidc_provider", {"corp", "scope=openid"}, "unknown parameter \"scope\""},
        {"authgate_oidc_provider", {"corp", "scopes=email"}, "must include openid"},
        {"authgate_oidc_provider", {"corp", "scopes=openid,a\\b"}, "invalid scope \"a\\b\""},
        {"authgate_bearer", {"corp", "scopes=api:read,a\"b"}, "invalid scope \"a\"b\""},
        {"authgate_oidc_provider", {"corp", "algs=HS256"}, "unsupported alg \"HS256\""},
        {"authgate_oidc_provider", {"corp", "algs=none"}, "unsupported alg \"none\""},
        {"authgate_oidc_provider", {"corp", "auth_method=private_key_jwt"}, "invalid auth_method"},
        {"authgate_oidc_provider", {"corp", "extra_params=state=x"}, "may not set \"state\""},
        {"authgate_oidc_provider", {"corp", "skew=1h"}, "larger than 10m"},
        {"authgate_oidc_provider", {"corp", "refresh=yes"}, "invalid refresh \"yes\""},
        {"authgate_oidc_provider", {"corp", "timeout=2m"}, "not between 100ms and 60s"},
        {"authgate_oidc_provider", {"corp", "timeout=10ms"}, "not between 100ms and 60s"},
        {"authgate_oidc_provider", {"corp", "timeout=soon"}, "invalid duration"},
        {"authgate_public_origin", {"https://app.example.com/"}, "invalid origin"},
        {"authgate_public_origin", {"https://app.example.com/app"}, "without a path"},
        {"authgate_public_origin", {"app.example.com"}, "invalid origin"},
        {"authgate_public_origin", {"ftp://app.example.com"}, "invalid origin"},
        {"authgate_public_origin", {"https://app.example.com:0"}, "invalid origin"},
        {"authgate_public_origin", {"https://app.example.com:65536"}, "invalid origin"},
        {"authgate_public_origin", {"https://app.example.com:"}, "invalid origin"},
        {"authgate_public_origin", {"https://u@app.example.com"}, "invalid origin"},
        {"authgate_public_origin", {"https://app.example.com?x"}, "invalid origin"},
        {"authgate_public_origin", {"https://[::1"}, "invalid origin"},
        {"authgate_public_origin", {"https://"}, "invalid origin"},
        {"authgate_oidc_provider",
         {"corp", "issuer=https://i", "client_id=a", "client_secret_file=/s", "discovery=off"},
         "needs authorization_endpoint, token_endpoint and jwks_uri"},
    };
    for (const auto& c : cases) {
        Settings s;
        auto r = find_directive(c.directive)->apply(s, c.args);
        assert_false(r.ok());
        if (r.error().find(c.expect) == std::string::npos) {
            fail_msg("%s: expected \"%s\" in \"%s\"", c.directive, c.expect, r.error().c_str());
        }
    }
    Settings s;
    std::string_view v = "5m";
    assert_true(find_directive("authgate_idle_timeout")->apply(s, Args(&v, 1)).ok());
    auto dup = find_directive("authgate_idle_timeout")->apply(s, Args(&v, 1));
    assert_false(dup.ok());
    assert_string_equal(dup.error().c_str(), "is duplicate");
}

void redis_settings(void**) {
    std::vector<std::string_view> a = {"10.0.0.5:6380",        "db=2",       "user=gate",
                                       "password_file=/p",     "prefix=ag:", "connect_timeout=2s",
                                       "command_timeout=250ms"};
    auto r = parse_redis(a);
    assert_true(r.ok());
    assert_string_equal(r->host.c_str(), "10.0.0.5");
    assert_int_equal(r->port, 6380);
    assert_int_equal(r->db, 2);
    assert_string_equal(r->user.c_str(), "gate");
    assert_string_equal(r->prefix.c_str(), "ag:");
    assert_int_equal(r->connect_timeout, 2000);
    assert_int_equal(r->command_timeout, 250);
    std::vector<std::string_view> u = {"unix:/run/redis.sock"};
    auto sock = parse_redis(u);
    assert_true(sock.ok() && sock->unix_path == "/run/redis.sock" && sock->host.empty());
    std::vector<std::string_view> m = {"sentinel:mymaster", "db=1"};
    auto sentinel = parse_redis(m);
    assert_true(sentinel.ok() && sentinel->master_name == "mymaster" && sentinel->db == 1);
    std::vector<std::string_view> d = {"localhost"};
    assert_int_equal(parse_redis(d)->port, 6379);
    assert_int_equal(parse_redis(d)->session_cache, 1000); // on by default
    std::vector<std::string_view> off = {"localhost", "session_cache=off"};
    assert_int_equal(parse_redis(off)->session_cache, 0);
    std::vector<std::string_view> ms = {"localhost", "session_cache=250ms"};
    assert_int_equal(parse_redis(ms)->session_cache, 250);
}

void oidc_providers(void**) {
    std::vector<std::string_view> a = {"corp",
                                       "client_id=web",
                                       "issuer=http://127.0.0.1:9000",
                                       "client_secret_file=/s",
                                       "scopes=openid,email,groups",
                                       "auth_method=client_secret_post",
                                       "claim_groups=roles",
                                       "allowed_domains=example.com,.example.org",
                                       "extra_params=prompt=login&hd=example.com"};
    auto p = parse_oidc_provider(a);
    if (!p) fail_msg("%s", p.error().c_str());
    assert_string_equal(p->issuer.c_str(), "http://127.0.0.1:9000"); // loopback may be http
    assert_int_equal(p->scopes.size(), 3);
    assert_true(p->auth_method == OidcProvider::AuthMethod::client_secret_post);
    assert_string_equal(p->claim_groups.c_str(), "roles");
    assert_string_equal(p->claim_email.c_str(), "email");
    assert_int_equal(p->timeout, 5000); // default
    std::vector<std::string_view> timed = {"corp", "issuer=https://i", "client_id=a",
                                           "client_secret_file=/s", "timeout=1500ms"};
    assert_int_equal(parse_oidc_provider(timed)->timeout, 1500);
    for (std::string_view origin : {"https://app.example.com", "http://127.0.0.1:8080",
                                    "https://[::1]:8443", "http://localhost"}) {
        Settings st;
        std::vector<std::string_view> args{origin};
        assert_true(find_directive("authgate_public_origin")->apply(st, args).ok());
        assert_true(*st.public_origin == origin);
    }
    std::vector<std::string_view> entra = {"ms", "preset=entra", "tenant=contoso.onmicrosoft.com",
                                           "client_id=x", "client_secret_file=/s"};
    auto e = parse_oidc_provider(entra);
    assert_true(e.ok());
    assert_string_equal(e->issuer.c_str(),
                        "https://login.microsoftonline.com/contoso.onmicrosoft.com/v2.0");
    // Explicit parameters win over the preset, wherever they appear.
    std::vector<std::string_view> g = {"g", "claim_user=sub", "preset=google", "client_id=x",
                                       "client_secret_file=/s"};
    auto google = parse_oidc_provider(g);
    assert_true(google.ok());
    assert_string_equal(google->issuer.c_str(), "https://accounts.google.com");
    assert_int_equal(google->claim_user.size(), 1);
    assert_string_equal(google->claim_user[0].c_str(), "sub");

    // Several lines accumulate; a repeated name is refused.
    Settings s;
    const Directive* d = find_directive("authgate_oidc_provider");
    assert_true(d->apply(s, a).ok());
    assert_true(d->apply(s, entra).ok());
    assert_int_equal(s.oidc_providers->size(), 2);
    auto dup = d->apply(s, a);
    assert_false(dup.ok());
    assert_non_null(strstr(dup.error().c_str(), "already defined"));

    // Scopes are RFC 6749 scope-tokens: ":" and "/" are common ("api:read", "api://app/x").
    std::vector<std::string_view> api = {"api", "issuer=https://i", "client_id=x",
                                         "client_secret_file=/s",
                                         "scopes=openid,offline_access,api://app/Reports.Read"};
    auto with_api = parse_oidc_provider(api);
    if (!with_api) fail_msg("%s", with_api.error().c_str());
    assert_string_equal(with_api->scopes[2].c_str(), "api://app/Reports.Read");
    Settings b;
    std::vector<std::string_view> bearer = {"api", "audience=https://api.example.com",
                                            "scopes=api:read,read:orders"};
    auto applied = find_directive("authgate_bearer")->apply(b, bearer);
    if (!applied) fail_msg("%s", applied.error().c_str());
    assert_int_equal(b.bearer->scopes.size(), 2);
    assert_string_equal(b.bearer->scopes[0].c_str(), "api:read");
}

void require_lines_accumulate(void**) {
    Settings s;
    const Directive* d = find_directive("authgate_require");
    std::vector<std::string_view> a = {"all", "group:a", "group:b"}, b = {"user:bob"};
    assert_true(d->apply(s, a).ok());
    assert_true(d->apply(s, b).ok());
    assert_int_equal(s.require->size(), 2);
    assert_true((*s.require)[0].all);
    assert_false((*s.require)[1].all);
}

} // namespace

int main() {
    const CMUnitTest tests[] = {
        cmocka_unit_test(every_directive_is_complete),
        cmocka_unit_test(defaults_fill_unset_fields),
        cmocka_unit_test(option_tables_are_complete),
        cmocka_unit_test(max_sessions_per_user_is_bounded),
        cmocka_unit_test(flags_in_either_case),
        cmocka_unit_test(merge_inherits_and_child_wins),
        cmocka_unit_test(durations),
        cmocka_unit_test(sizes),
        cmocka_unit_test(directive_errors_quote_the_token),
        cmocka_unit_test(require_lines_accumulate),
        cmocka_unit_test(redis_settings),
        cmocka_unit_test(oidc_providers),
    };
    return cmocka_run_group_tests(tests, nullptr, nullptr);
}
