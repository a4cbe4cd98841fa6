// Roles and permissions: authgate_role parsing, the closed graph (inheritance, cycles,
// unknown parents, duplicates), require terms role:/permission:, and resolve's checks.
#include "support/support.h"

#include <cstring>

#include "authgate/config.h"
#include "authgate/gate.h"
#include "authgate/roles.h"
#include "authz/require.h"

using namespace authgate;
using namespace authgate::config;
using authgate::testing::test_key_file;

namespace {

using Strings = std::vector<std::string>;

Result<void> set(Settings& s, std::string_view name, std::vector<std::string_view> args,
                 std::string place = {}) {
    const Directive* d = find_directive(name);
    assert_non_null(d);
    auto applied = d->apply(s, args);
    if (applied && !place.empty()) record_origin(s, origin_key(*d, args), std::move(place));
    return applied;
}

void must_set(Settings& s, std::string_view name, std::vector<std::string_view> args,
              std::string place = {}) {
    auto applied = set(s, name, std::move(args), std::move(place));
    if (!applied) fail_msg("%s: %s", name.data(), applied.error().c_str());
}

Result<RoleGraph> close_lines(const std::vector<std::vector<std::string_view>>& lines) {
    Settings s;
    int line = 1;
    for (const auto& args : lines)
        must_set(s, "authgate_role", args, "r.conf:" + std::to_string(line++));
    return RoleGraph::close(*s.roles, [&](std::string_view role) {
        return origin_of(s, "authgate_role " + std::string(role));
    });
}

bool has(const char* haystack, const char* needle) {
    return std::strstr(haystack, needle) != nullptr;
}

void closes_inheritance_transitively(void**) {
    // Written before the roles they inherit: order does not matter.
    auto g = close_lines({
        {"admin", "permissions=users:manage", "inherits=editor,auditor"},
        {"editor", "permissions=docs:write", "inherits=viewer"},
        {"viewer", "permissions=docs:read"},
        {"auditor", "permissions=logs:read,docs:read"},
        {"empty"},
    });
    assert_true(g.ok());
    assert_int_equal(g->size(), 5);
    assert_true((*g->permissions_of("admin") ==
                 Strings{"docs:read", "docs:write", "logs:read", "users:manage"}));
    assert_true((*g->roles_of("admin") == Strings{"admin", "auditor", "editor", "viewer"}));
    assert_true((*g->permissions_of("editor") == Strings{"docs:read", "docs:write"}));
    assert_true((*g->permissions_of("viewer") == Strings{"docs:read"}));
    assert_true(g->permissions_of("empty")->empty());
    assert_null(g->permissions_of("nobody"));

    assert_true(g->has_permission({"editor"}, "docs:read"));   // inherited
    assert_false(g->has_permission({"viewer"}, "docs:write")); // never downwards
    assert_true(g->has_role({"admin"}, "viewer"));             // an heir holds its parents
    assert_false(g->has_role({"viewer"}, "admin"));
    assert_false(g->has_permission({"ghost"}, "docs:read")); // undefined roles grant nothing
    assert_true(g->has_permission({"ghost", "viewer"}, "docs:read"));
    assert_false(g->has_permission({}, "docs:read"));
}

void diamond_inheritance_is_not_a_cycle(void**) {
    auto g = close_lines({{"top", "inherits=left,right"},
                          {"left", "inherits=base"},
                          {"right", "inherits=base"},
                          {"base", "permissions=p"}});
    assert_true(g.ok());
    assert_true((*g->permissions_of("top") == Strings{"p"}));
}

void cycles_are_named(void**) {
    auto self = close_lines({{"ok", "permissions=a"}, {"loop", "inherits=loop"}});
    assert_false(self.ok());
    assert_true(has(self.error().c_str(), "inheritance cycle: loop -> loop"));
    assert_true(has(self.error().c_str(), " in r.conf:2"));

    auto two = close_lines({{"a", "inherits=b"}, {"b", "inherits=a"}});
    assert_false(two.ok());
    assert_true(has(two.error().c_str(), "cycle: a -> b -> a"));

    // A long cycle behind an acyclic entry: the message holds the cycle only.
    auto longer = close_lines({{"entry", "inherits=r1"},
                               {"r1", "inherits=r2"},
                               {"r2", "inherits=r3"},
                               {"r3", "inherits=r4"},
                               {"r4", "inherits=r5"},
                               {"r5", "inherits=r1,leaf"},
                               {"leaf"}});
    assert_false(longer.ok());
    assert_true(has(longer.error().c_str(), "cycle: r1 -> r2 -> r3 -> r4 -> r5 -> r1"));
    assert_false(has(longer.error().c_str(), "entry ->"));
    assert_true(has(longer.error().c_str(), " in r.conf:6")); // r5 closes it
}

void unknown_parents_are_refused(void**) {
    auto g = close_lines({{"a", "permissions=x"}, {"b", "inherits=a,missing"}});
    assert_false(g.ok());
    assert_true(has(g.error().c_str(),
                    "authgate_role \"b\" inherits \"missing\", which no authgate_role defines"));
    assert_true(has(g.error().c_str(), " in r.conf:2"));
}

void role_lines_are_checked_where_written(void**) {
    Settings s;
    must_set(s, "authgate_role", {"editor", "permissions=docs:read"});
    auto dup = set(s, "authgate_role", {"editor"});
    assert_false(dup.ok());
    assert_true(has(dup.error().c_str(), "role \"editor\" is already defined"));
    struct Case {
        std::vector<std::string_view> args;
        const char* expect;
    } cases[] = {
        {{"bad name"}, "invalid role name \"bad name\""},
        {{"a:b"}, "invalid role name \"a:b\""},
        {{"x", "permissions="}, "empty permissions="},
        {{"x", "permissions=a,,b"}, "invalid permission \"\""},
        {{"x", "permissions=a b"}, "invalid permission \"a b\""},
        {{"x", "permissions=a,a"}, "permission \"a\" is listed twice"},
        {{"x", "inherits=a:b"}, "invalid role \"a:b\""},
        {{"x", "permissions=a", "permissions=b"}, "invalid parameter \"permissions=b\""},
        {{"x", "grants=a"}, "invalid parameter \"grants=a\""},
    };
    for (const auto& c : cases) {
        Settings fresh;
        auto r = set(fresh, "authgate_role", c.args);
        if (r.ok() || !has(r.error().c_str(), c.expect)) {
            fail_msg("expected \"%s\", got \"%s\"", c.expect, r.ok() ? "ok" : r.error().c_str());
        }
    }
    assert_true(is_permission_name("api/v1:*"));
    assert_false(is_permission_name("a,b"));
    assert_false(is_role_name(std::string(65, 'a')));
}

void require_terms_with_roles_and_permissions(void**) {
    Settings s;
    must_set(s, "authgate_role", {"viewer", "permissions=docs:read"});
    must_set(s, "authgate_role", {"editor", "permissions=docs:write", "inherits=viewer"});
    auto graph = RoleGraph::close(*s.roles, [](std::string_view) { return std::string(); });
    assert_true(graph.ok());
    auto rules = [](const std::vector<std::vector<std::string_view>>& lines) {
        Settings r;
        for (const auto& l : lines) must_set(r, "authgate_require", l);
        return *r.require;
    };
    Identity editor{"ed", "", "", {"staff"}, {"editor"}};
    Identity viewer{"vi", "", "", {}, {"viewer"}};
    Identity nobody{"no", "", "", {"editor"}, {}}; // a group named like a role is no role
    const RoleGraph* g = &*graph;

    auto perm_write = rules({{"permission:docs:write"}});
    assert_true(authz::satisfies(perm_write, editor, g));
    assert_false(authz::satisfies(perm_write, viewer, g));
    assert_false(authz::satisfies(perm_write, nobody, g));
    assert_false(authz::satisfies(perm_write, editor, nullptr)); // no graph: nothing granted

    auto perm_read = rules({{"permission:docs:read"}});
    assert_true(authz::satisfies(perm_read, editor, g)); // inherited
    assert_true(authz::satisfies(perm_read, viewer, g));

    auto role_viewer = rules({{"role:viewer"}});
    assert_true(authz::satisfies(role_viewer, editor, g)); // an heir holds its parent role
    assert_false(authz::satisfies(role_viewer, nobody, g));

    // any/all and several lines combine with users and groups as before.
    auto mixed_all = rules({{"all", "group:staff", "permission:docs:write"}});
    assert_true(authz::satisfies(mixed_all, editor, g));
    Identity editor_no_group{"e2", "", "", {}, {"editor"}};
    assert_false(authz::satisfies(mixed_all, editor_no_group, g));
    auto mixed_any = rules({{"any", "user:no", "role:editor"}});
    assert_true(authz::satisfies(mixed_any, nobody, g));
    assert_true(authz::satisfies(mixed_any, editor, g));
    assert_false(authz::satisfies(mixed_any, viewer, g));
    auto two_lines = rules({{"role:viewer"}, {"permission:docs:write"}});
    assert_true(authz::satisfies(two_lines, editor, g));
    assert_false(authz::satisfies(two_lines, viewer, g));

    // Apache's Require authgate-role / authgate-permission.
    assert_true(holds_any(viewer, RequireTerm::Kind::role, {"admin", "viewer"}, g));
    assert_false(holds_any(viewer, RequireTerm::Kind::permission, {"docs:write"}, g));
    assert_true(holds_any(editor, RequireTerm::Kind::permission, {"x", "docs:write"}, g));
    assert_false(holds_any(editor, RequireTerm::Kind::role, {"editor"}, nullptr));

    // Bad terms fail where they are written.
    Settings bad;
    auto r = set(bad, "authgate_require", {"role:a,b"});
    assert_false(r.ok());
    assert_true(has(r.error().c_str(), "invalid term \"role:a,b\": not a valid role name"));
    auto e = set(bad, "authgate_require", {"permission:"});
    assert_true(!e.ok() && has(e.error().c_str(), "empty name"));
}

FileReader reader() {
    return [](const std::string& path) -> Result<std::string> {
        if (path == "/keys") return test_key_file();
        if (path == "/secret") return std::string("s3cret\n");
        return fail("cannot open \"" + path + "\"");
    };
}

void resolve_checks_role_references(void**) {
    Settings http;
    must_set(http, "authgate_key_file", {"/keys"});
    must_set(http, "authgate_role", {"viewer", "permissions=docs:read"}, "h.conf:3");
    must_set(http, "authgate_role", {"editor", "inherits=viewer"}, "h.conf:4");
    apply_defaults(http);

    Settings ok;
    must_set(ok, "authgate", {"on"});
    must_set(ok, "authgate_require", {"role:editor", "permission:not-granted-anywhere"});
    merge(ok, http);
    ResourceCache cache;
    auto g = resolve(ok, cache, reader());
    if (!g.ok()) fail_msg("%s", g.error().c_str());
    assert_non_null(g->roles.get());
    assert_true(g->roles->defines("editor"));

    Settings undefined;
    must_set(undefined, "authgate", {"on"});
    must_set(undefined, "authgate_require", {"role:admin"}, "s.conf:9");
    merge(undefined, http);
    auto bad = resolve(undefined, cache, reader());
    assert_false(bad.ok());
    assert_true(
        has(bad.error().c_str(), "authgate_require role:admin: no authgate_role \"admin\""));
    assert_true(has(bad.error().c_str(), " in s.conf:9"));

    // The same graph object serves every location of the level.
    Settings other;
    must_set(other, "authgate", {"on"});
    merge(other, http);
    auto g2 = resolve(other, cache, reader());
    assert_true(g2.ok());
    assert_ptr_equal(g2->roles.get(), g->roles.get());

    // A cycle fails resolve and check_main with the role's place.
    Settings cyclic;
    must_set(cyclic, "authgate_key_file", {"/keys"});
    must_set(cyclic, "authgate_role", {"a", "inherits=b"}, "c.conf:1");
    must_set(cyclic, "authgate_role", {"b", "inherits=a"}, "c.conf:2");
    auto main_check = check_main(cyclic);
    assert_false(main_check.ok());
    assert_true(has(main_check.error().c_str(), "cycle: a -> b -> a in c.conf:2"));
    Settings loc;
    must_set(loc, "authgate", {"on"});
    merge(loc, cyclic);
    auto cyc = resolve(loc, cache, reader());
    assert_false(cyc.ok());
    assert_true(has(cyc.error().c_str(), "cycle: a -> b -> a in c.conf:2"));
}

void provider_role_map(void**) {
    auto p = parse_oidc_provider(std::vector<std::string_view>{
        "corp", "issuer=https://idp.example.com", "client_id=web", "client_secret_file=/secret",
        "role_map=team:ops:operator,admins:admin"});
    if (!p.ok()) fail_msg("%s", p.error().c_str());
    assert_int_equal(p->role_map.size(), 2);
    assert_true(p->role_map[0].first == "team:ops" && p->role_map[0].second == "operator");
    for (std::string_view bad :
         {"role_map=admins", "role_map=:x", "role_map=g:bad role", "role_map="}) {
        auto r = parse_oidc_provider(
            std::vector<std::string_view>{"corp", "issuer=https://idp.example.com", "client_id=web",
                                          "client_secret_file=/secret", bad});
        if (r.ok()) fail_msg("accepted %s", std::string(bad).c_str());
    }

    // Mapped roles must be defined for the server.
    Settings http;
    must_set(http, "authgate_key_file", {"/keys"});
    must_set(http, "authgate_role", {"operator"});
    must_set(http, "authgate_oidc_provider",
             {"corp", "issuer=https://idp.example.com", "client_id=web",
              "client_secret_file=/secret", "redirect_uri=https://app.example.com/cb",
              "role_map=team:ops:operator,admins:admin"},
             "p.conf:5");
    Settings loc;
    must_set(loc, "authgate", {"on"});
    merge(loc, http);
    ResourceCache cache;
    auto g = resolve(loc, cache, reader());
    assert_false(g.ok());
    assert_true(has(g.error().c_str(), "role_map maps \"admins\" to \"admin\", which no "
                                       "authgate_role defines in p.conf:5"));
}

} // namespace

int main() {
    const CMUnitTest tests[] = {
        cmocka_unit_test(closes_inheritance_transitively),
        cmocka_unit_test(diamond_inheritance_is_not_a_cycle),
        cmocka_unit_test(cycles_are_named),
        cmocka_unit_test(unknown_parents_are_refused),
        cmocka_unit_test(role_lines_are_checked_where_written),
        cmocka_unit_test(require_terms_with_roles_and_permissions),
        cmocka_unit_test(resolve_checks_role_references),
        cmocka_unit_test(provider_role_map),
    };
    return cmocka_run_group_tests(tests, nullptr, nullptr);
}
