// Page templates: escaping, sections, and load-time rejection of unknown placeholders.
#include "support/support.h"

#include "authgate/templates.h"

using namespace authgate;

namespace {

void renders_with_escaping_and_sections(void**) {
    auto t =
        Template::parse("<p>{{name}}</p>{{#error}}<b>{{error}}</b>{{/error}}!", {"name", "error"});
    assert_true(t.ok());
    assert_string_equal(t->render({{"name", "<x>&\"'"}}).c_str(),
                        "<p>&lt;x&gt;&amp;&quot;&#39;</p>!");
    assert_string_equal(t->render({{"name", "a"}, {"error", "bad"}}).c_str(),
                        "<p>a</p><b>bad</b>!");
}

void rejects_bad_templates(void**) {
    struct Case {
        const char* text;
        const char* expect;
    } cases[] = {
        {"{{nope}}", "unknown placeholder \"nope\""},
        {"line1\nline2 {{name", "line 2: unclosed"},
        {"{{#name}}x", "never closed"},
        {"{{/name}}", "closes nothing"},
        {"{{ name }}", "bad placeholder"},
        {"{{{name}}}", "bad placeholder"},
    };
    for (const auto& c : cases) {
        auto t = Template::parse(c.text, {"name"});
        assert_false(t.ok());
        if (t.error().find(c.expect) == std::string::npos) {
            fail_msg("expected \"%s\" in \"%s\"", c.expect, t.error().c_str());
        }
    }
}

void builtin_pages_parse(void**) {
    auto t = Templates::builtin();
    assert_true(t.ok());
    std::string page =
        t->login.render({{"action", "/_authgate/login"}, {"csrf", "tok"}, {"has_password", "1"}});
    assert_non_null(strstr(page.c_str(), "name=\"csrf\" value=\"tok\""));
    assert_non_null(strstr(page.c_str(), "name=\"username\""));
    assert_null(strstr(page.c_str(), "Sign in with"));
    // SSO only: one escaped button per provider, no password form.
    std::string sso = t->login.render(
        {{"has_providers", "1"}},
        {{"providers",
          {{{"sso_url", "/_authgate/sso/a?rd=%2Fx"}, {"sso_label", "A <corp>"}, {"sso_name", "a"}},
           {{"sso_url", "/_authgate/sso/b"}, {"sso_label", "B"}, {"sso_name", "b"}}}}});
    assert_non_null(strstr(sso.c_str(), "href=\"/_authgate/sso/a?rd=%2Fx\""));
    assert_non_null(strstr(sso.c_str(), "Sign in with A &lt;corp&gt;"));
    assert_non_null(strstr(sso.c_str(), "Sign in with B"));
    assert_null(strstr(sso.c_str(), "name=\"username\""));
    // The sign-out confirmation posts the token back, with rd and the "everywhere" choice.
    std::string out = t->logout.render(
        {{"action", "/_authgate/logout"}, {"csrf", "t<k"}, {"rd", "/x"}, {"user", "alice"}});
    assert_non_null(strstr(out.c_str(), "method=\"post\" action=\"/_authgate/logout\""));
    assert_non_null(strstr(out.c_str(), "name=\"csrf\" value=\"t&lt;k\""));
    assert_non_null(strstr(out.c_str(), "name=\"rd\" value=\"/x\""));
    assert_non_null(strstr(out.c_str(), "name=\"everywhere\" value=\"1\""));
}

void list_sections_repeat_and_shadow(void**) {
    auto t = Template::parse("{{*items}}[{{v}}|{{outer}}]{{/items}}", {"items", "v", "outer"});
    assert_true(t.ok());
    std::string out =
        t->render({{"outer", "o"}, {"v", "shadowed"}}, {{"items", {{{"v", "1"}}, {{"v", "<2>"}}}}});
    assert_string_equal(out.c_str(), "[1|o][&lt;2&gt;|o]");
    assert_string_equal(t->render({}).c_str(), "");
}

void operator_templates_override_and_fail_loudly(void**) {
    FileReader read = [](const std::string& path) -> Result<std::string> {
        if (path == "/tpl/login.html") return std::string("<form>{{csrf}}</form>");
        if (path == "/tpl/logout.html") return std::string("<p>{{user}}:{{csrf}}</p>");
        if (path == "/bad/error.html") return std::string("{{oops}}");
        return fail("missing");
    };
    auto t = Templates::load("/tpl", read);
    assert_true(t.ok());
    assert_string_equal(t->login.render({{"csrf", "x"}}).c_str(), "<form>x</form>");
    assert_string_equal(t->logout.render({{"user", "a"}, {"csrf", "x"}}).c_str(), "<p>a:x</p>");
    auto bad = Templates::load("/bad/", read);
    assert_false(bad.ok());
    assert_non_null(strstr(bad.error().c_str(), "/bad/error.html"));
    assert_false(Templates::load("/empty", read).ok());
}

} // namespace

int main() {
    const CMUnitTest tests[] = {
        cmocka_unit_test(renders_with_escaping_and_sections),
        cmocka_unit_test(rejects_bad_templates),
        cmocka_unit_test(builtin_pages_parse),
        cmocka_unit_test(list_sections_repeat_and_shadow),
        cmocka_unit_test(operator_templates_override_and_fail_loudly),
    };
    return cmocka_run_group_tests(tests, nullptr, nullptr);
}
