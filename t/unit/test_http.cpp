// Cookie header parsing (including malformed input), form decoding and escaping.
#include "support/support.h"

#include "authgate/http.h"
#include "authgate/request.h"

using namespace authgate::http;

namespace {

using Headers = std::vector<std::string_view>;

void finds_cookie_among_others(void**) {
    auto v =
        cookie_values(Headers{"theme=dark; authgate_session=abc; lang=en"}, "authgate_session");
    assert_int_equal(v.size(), 1);
    assert_true(v[0] == "abc");
}

void finds_cookie_across_headers_in_order(void**) {
    auto v = cookie_values(Headers{"a=1", "authgate_session=first", "x=y; authgate_session=second"},
                           "authgate_session");
    assert_int_equal(v.size(), 2);
    assert_true(v[0] == "first");
    assert_true(v[1] == "second");
}

void malformed_cookie_headers_are_survivable(void**) {
    const std::string cases[] = {"",
                                 ";",
                                 ";;;",
                                 "=",
                                 "=value",
                                 "noequals",
                                 "  ;  = ; ",
                                 "a=1;;b=2;",
                                 "\x01\x02",
                                 "a==b",
                                 std::string(10000, ';')};
    for (const auto& c : cases) {
        auto v = cookie_values(Headers{c}, "authgate_session");
        assert_int_equal(v.size(), 0);
    }
    auto v = cookie_values(Headers{"a==b"}, "a");
    assert_int_equal(v.size(), 1);
    assert_true(v[0] == "=b");
}

void prefix_of_name_does_not_match(void**) {
    assert_int_equal(
        cookie_values(Headers{"authgate_session_x=1; xauthgate_session=2"}, "authgate_session")
            .size(),
        0);
}

void quoted_values_are_unquoted(void**) {
    auto v = cookie_values(Headers{"s=\"abc\""}, "s");
    assert_true(v.at(0) == "abc");
}

void strip_removes_only_named_cookies(void**) {
    auto out = strip_cookies("theme=dark; authgate_session=abc; lang=en", {"authgate_session"});
    assert_true(out.has_value());
    assert_string_equal(out->c_str(), "theme=dark; lang=en");
    assert_false(strip_cookies("theme=dark", {"authgate_session"}).has_value());
    auto all = strip_cookies("authgate_session=abc", {"authgate_session"});
    assert_true(all.has_value() && all->empty());
}

void set_cookie_has_security_attributes(void**) {
    SetCookie c;
    c.name = "authgate_session";
    c.value = "v";
    c.secure = true;
    c.max_age = 60;
    std::string s = format_set_cookie(c);
    assert_string_equal(s.c_str(),
                        "authgate_session=v; Path=/; Max-Age=60; Secure; HttpOnly; SameSite=Lax");
    c.max_age = 0;
    assert_non_null(strstr(format_set_cookie(c).c_str(), "Max-Age=0"));
}

void form_decoding(void**) {
    auto p = parse_form("username=al%69ce&password=a+b%26c&rd=%2Fx%3Fy%3D1&empty=&flag");
    assert_true(p.has_value());
    assert_true(*param(*p, "username") == "alice");
    assert_true(*param(*p, "password") == "a b&c");
    assert_true(*param(*p, "rd") == "/x?y=1");
    assert_true(*param(*p, "empty") == "");
    assert_true(*param(*p, "flag") == "");
    assert_false(param(*p, "missing").has_value());
    assert_false(parse_form("a=%zz").has_value());
    assert_false(parse_form("a=%4").has_value());
    auto first = parse_form("a=1&a=2");
    assert_true(*param(*first, "a") == "1");
}

void escaping(void**) {
    assert_string_equal(html_escape("<a href=\"x\">'&'</a>").c_str(),
                        "&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;");
    assert_string_equal(json_escape("a\"b\\c\n<").c_str(), "a\\\"b\\\\c\\n\\u003c");
    assert_string_equal(percent_encode("/a b?c=d&e").c_str(), "/a%20b%3Fc%3Dd%26e");
}

void api_client_detection(void**) {
    assert_true(is_api_client("application/json", ""));
    assert_true(is_api_client("", "XMLHttpRequest"));
    assert_false(is_api_client("text/html,application/xhtml+xml,*/*;q=0.8", ""));
    assert_false(is_api_client("*/*", ""));
    assert_false(is_api_client("text/html, application/json", ""));
}

// Every byte value at every position of a 8-byte word and of the tail: exactly the bytes
// below 0x20 and DEL become spaces, everything else (UTF-8 included) is copied.
void header_safe_copy_replaces_only_control_bytes(void**) {
    for (int b = 0; b < 256; ++b) {
        char expect = b < 0x20 || b == 0x7f ? ' ' : static_cast<char>(b);
        for (std::size_t len : {1u, 7u, 8u, 9u, 16u, 19u}) {
            for (std::size_t pos = 0; pos < len; ++pos) {
                std::string in(len, 'a');
                in[pos] = static_cast<char>(b);
                std::string out(len, '?');
                assert_int_equal(copy_header_safe(out.data(), in), len);
                std::string want(len, 'a');
                want[pos] = expect;
                assert_true(out == want);
            }
        }
    }
    std::string crlf = "alice\r\nX-Authgate-User: admin\x01\x7f\xc3\xa9";
    std::string out(crlf.size(), '?');
    copy_header_safe(out.data(), crlf);
    assert_string_equal(out.c_str(), "alice  X-Authgate-User: admin  \xc3\xa9");
}

void admitted_identity_carries_its_header_values(void**) {
    auto id = authgate::admit_identity(authgate::Identity{
        "alice\r\nX-Evil: 1", "a@example.com", "Al\x7f", {"ops", "b\nc"}, {"editor", "r\x01x"}});
    assert_string_equal(id->user.c_str(), "alice\r\nX-Evil: 1"); // the identity as given
    assert_string_equal(id->header_user.c_str(), "alice  X-Evil: 1");
    assert_string_equal(id->header_email.c_str(), "a@example.com");
    assert_string_equal(id->header_name.c_str(), "Al ");
    assert_string_equal(id->header_groups.c_str(), "ops,b c");
    assert_string_equal(id->header_roles.c_str(), "editor,r x");
    auto bob = authgate::admit_identity(authgate::Identity{"bob", "", "", {}, {}});
    assert_string_equal(bob->header_groups.c_str(), "");
    assert_string_equal(bob->header_roles.c_str(), "");
}

} // namespace

int main() {
    const CMUnitTest tests[] = {
        cmocka_unit_test(finds_cookie_among_others),
        cmocka_unit_test(finds_cookie_across_headers_in_order),
        cmocka_unit_test(malformed_cookie_headers_are_survivable),
        cmocka_unit_test(prefix_of_name_does_not_match),
        cmocka_unit_test(quoted_values_are_unquoted),
        cmocka_unit_test(strip_removes_only_named_cookies),
        cmocka_unit_test(set_cookie_has_security_attributes),
        cmocka_unit_test(form_decoding),
        cmocka_unit_test(escaping),
        cmocka_unit_test(api_client_detection),
        cmocka_unit_test(header_safe_copy_replaces_only_control_bytes),
        cmocka_unit_test(admitted_identity_carries_its_header_values),
    };
    return cmocka_run_group_tests(tests, nullptr, nullptr);
}
