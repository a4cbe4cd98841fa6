// Resolved configurations: errors name the directive's place (issue 8 item 17), the names
// stripped everywhere (item 5) and when two locations authenticate alike (item 4).
#include "support/support.h"

#include <algorithm>

#include "authgate/config.h"

using namespace authgate;
using namespace authgate::config;
using authgate::testing::test_key_file;

namespace {

FileReader reader() {
    return [](const std::string& path) -> Result<std::string> {
        if (path == "/keys") return test_key_file();
        if (path == "/other-keys") return test_key_file();
        return fail("cannot open \"" + path + "\"");
    };
}

void set(Settings& s, std::string_view name, std::vector<std::string_view> args,
         std::string place = {}) {
    const Directive* d = find_directive(name);
    assert_non_null(d);
    auto applied = d->apply(s, args);
    if (!applied) fail_msg("%s: %s", name.data(), applied.error().c_str());
    if (!place.empty()) record_origin(s, name, std::move(place));
}

bool contains(const std::vector<std::string>& v, std::string_view x) {
    return std::find(v.begin(), v.end(), x) != v.end();
}

void errors_name_the_directive_that_caused_them(void**) {
    Settings http;
    set(http, "authgate_key_file", {"/missing.key"}, "/etc/nginx/nginx.conf:12");
    Settings loc;
    set(loc, "authgate", {"on"}, "/etc/nginx/site.conf:40");
    merge(loc, http);
    ResourceCache cache;
    auto g = resolve(loc, cache, reader());
    assert_false(g.ok());
    // The key file's line, not the location's.
    assert_non_null(strstr(g.error().c_str(), "authgate_key_file cannot open"));
    assert_non_null(strstr(g.error().c_str(), " in /etc/nginx/nginx.conf:12"));
    assert_null(strstr(g.error().c_str(), "site.conf"));

    // Nothing names the key file: the directive that turned the gate on is at fault.
    Settings bare;
    set(bare, "authgate", {"on"}, "/etc/nginx/site.conf:41");
    apply_defaults(bare);
    auto missing = resolve(bare, cache, reader());
    assert_false(missing.ok());
    assert_non_null(strstr(missing.error().c_str(), "is required"));
    assert_non_null(strstr(missing.error().c_str(), " in /etc/nginx/site.conf:41"));
}

void provider_errors_name_their_own_line(void**) {
    Settings http;
    set(http, "authgate_key_file", {"/keys"});
    set(http, "authgate_oidc_provider",
        {"a", "issuer=https://a.example.com", "client_id=x", "client_secret_file=/missing-a"});
    record_origin(http, "authgate_oidc_provider a", "f.conf:7");
    set(http, "authgate_oidc_provider",
        {"b", "issuer=https://b.example.com", "client_id=y", "client_secret_file=/missing-b"});
    record_origin(http, "authgate_oidc_provider b", "f.conf:9");
    Settings server;
    merge(server, http);
    Settings loc;
    set(loc, "authgate", {"on"}, "f.conf:20");
    merge(loc, server);
    ResourceCache cache;
    auto g = resolve(loc, cache, reader());
    assert_false(g.ok());
    assert_non_null(strstr(g.error().c_str(), "authgate_oidc_provider a: client_secret_file"));
    assert_non_null(strstr(g.error().c_str(), " in f.conf:7"));
}

void a_child_keeps_its_own_place(void**) {
    Settings parent;
    set(parent, "authgate_users_file", {"/p"}, "p.conf:1");
    Settings child;
    set(child, "authgate_users_file", {"/c"}, "c.conf:2");
    merge(child, parent);
    assert_string_equal(origin_of(child, "authgate_users_file").c_str(), " in c.conf:2");
    assert_string_equal(origin_of(child, "authgate_templates").c_str(), "");
}

void owned_names_cover_every_configured_name(void**) {
    Settings a; // defaults
    Settings b;
    set(b, "authgate_cookie_name", {"corp_sid"});
    set(b, "authgate_identity_headers", {"user=X-Remote-User", "groups=off"});
    // Names of 63 characters or more share one bit of the length filter.
    const std::string long_name = "X-" + std::string(70, 'L');
    Settings long_level;
    set(long_level, "authgate_identity_headers", {"user=" + long_name});
    OwnedNames all;
    all.add(a);
    all.add(b);
    all.add(long_level);

    ResourceCache cache;
    apply_defaults(a);
    auto g = resolve(a, cache, reader());
    assert_true(g.ok());
    // Alone, a location strips only the defaults.
    assert_false(contains(g->gate_cookies, "corp_sid"));
    all.give(*g);
    for (auto name :
         {"X-Auth-User", "X-Auth-Email", "X-Auth-Name", "X-Auth-Groups", "X-Remote-User"}) {
        assert_true(contains(g->protected_headers, name));
        assert_true(g->protects_header(name));
    }
    // The length filter passes what it must and nothing else decides on it alone.
    assert_true(g->protects_header("x_remote_user"));
    assert_true(g->protects_header(long_name));
    assert_false(g->protects_header(long_name + "L"));
    assert_false(g->protects_header("X-Remote-Usex"));
    for (auto name :
         {"authgate_session", "__Host-authgate_session", "authgate_csrf", "__Host-authgate_csrf",
          "authgate_flow", "__Host-authgate_flow", "corp_sid", "__Host-corp_sid"}) {
        assert_true(contains(g->gate_cookies, name));
    }
    // The quick check: every gate cookie contains a probe, and no probe is redundant.
    for (const auto& c : g->gate_cookies) {
        bool found =
            std::any_of(g->gate_cookie_probes.begin(), g->gate_cookie_probes.end(),
                        [&](const std::string& p) { return c.find(p) != std::string::npos; });
        assert_true(found);
    }
    assert_int_equal(g->gate_cookie_probes.size(), 4); // session, csrf, flow, corp_sid
    // Giving twice adds nothing.
    auto before = g->protected_headers.size();
    all.give(*g);
    assert_int_equal(g->protected_headers.size(), before);
}

GateConfig
resolved(const std::vector<std::pair<std::string_view, std::vector<std::string_view>>>& d,
         ResourceCache& cache) {
    Settings s;
    set(s, "authgate", {"on"});
    for (const auto& [name, args] : d) set(s, name, args);
    if (!s.key_file) set(s, "authgate_key_file", {"/keys"});
    apply_defaults(s);
    auto g = resolve(s, cache, reader());
    if (!g) fail_msg("%s", g.error().c_str());
    return std::move(*g);
}

void same_authentication_tells_locations_apart(void**) {
    ResourceCache cache;
    GateConfig plain = resolved({}, cache);
    GateConfig admins = resolved({{"authgate_require", {"group:admins"}}}, cache);
    assert_true(same_authentication(plain, admins)); // only authorization differs
    assert_true(same_authentication(plain, plain));
    assert_false(
        same_authentication(plain, resolved({{"authgate_cookie_name", {"other"}}}, cache)));
    assert_false(same_authentication(plain, resolved({{"authgate_idle_timeout", {"5m"}}}, cache)));
    assert_false(
        same_authentication(plain, resolved({{"authgate_session_lifetime", {"1h"}}}, cache)));
    assert_false(
        same_authentication(plain, resolved({{"authgate_key_file", {"/other-keys"}}}, cache)));

    GateConfig read = plain, admin = plain, other = plain;
    ProviderConfig p;
    read.bearer_provider = &p;
    read.bearer_scopes = {"api:read"};
    admin.bearer_provider = &p;
    admin.bearer_scopes = {"api:admin"};
    assert_false(same_authentication(plain, read)); // session vs bearer, both ways
    assert_false(same_authentication(read, plain));
    assert_false(same_authentication(read, admin)); // scopes
    other = read;
    other.bearer_audience = "https://other.example";
    assert_false(same_authentication(read, other)); // audience
    ProviderConfig q;
    other = read;
    other.bearer_provider = &q;
    assert_false(same_authentication(read, other)); // provider
}

} // namespace

int main() {
    const CMUnitTest tests[] = {
        cmocka_unit_test(errors_name_the_directive_that_caused_them),
        cmocka_unit_test(provider_errors_name_their_own_line),
        cmocka_unit_test(a_child_keeps_its_own_place),
        cmocka_unit_test(owned_names_cover_every_configured_name),
        cmocka_unit_test(same_authentication_tells_locations_apart),
    };
    return cmocka_run_group_tests(tests, nullptr, nullptr);
}
