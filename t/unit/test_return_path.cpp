// The rd return-target guard: open-redirect payloads never pass, local paths do.
#include "support/support.h"

#include "authgate/http.h"

using authgate::http::is_safe_return_path;
using authgate::http::safe_return_path;

namespace {

const char* const kUnsafe[] = {
    "//evil.com",
    "///evil.com",
    "////evil.com",
    "/\\evil.com",
    "/\\/evil.com",
    "\\\\evil.com",
    "\\/evil.com",
    "https://evil.com",
    "http://evil.com",
    "http:evil.com",
    "https:/evil.com",
    "//evil.com/%2F..",
    "javascript:alert(1)",
    "JavaScript:alert(1)",
    "data:text/html,<script>alert(1)</script>",
    "evil.com",
    "@evil.com",
    "",
    " //evil.com",
    "\t//evil.com",
    "/%2F%2Fevil.com",
    "/%2f%2fevil.com",
    "%2F%2Fevil.com",
    "%2f/evil.com",
    "/%5Cevil.com",
    "/%5cevil.com",
    "%5C%5Cevil.com",
    "/%252F%252Fevil.com",
    "/%25252F%25252Fevil.com",
    "/%09/evil.com",
    "/%0d/evil.com",
    "/%0a/evil.com",
    "/%0D%0ALocation:%20http://evil.com",
    "/\r\nLocation: http://evil.com",
    "/\n/evil.com",
    "/\t/evil.com",
    "/%00/evil.com",
    "/\x7f/evil.com",
    "/%7f/evil.com",
    "/%ZZ",
    "/%",
    "/%2",
    "//evil.com@127.0.0.1",
    "//127.0.0.1@evil.com",
    "//user:pass@evil.com",
    "/\\\\evil.com",
    "/.%5Cevil.com",
    "/foo\\bar",
    "/%2e%2e%5cevil.com",
    "/%2F/evil.com",
    "/%5C/evil.com",
    "//%65vil.com",
    "//evil%2Ecom",
    "/%0G",
    "/\x01",
    "/%01",
    "ftp://evil.com",
    "//evil.com:443",
    "/%E2%80%A8/evil.com/%5C",
    "/..//evil.com",
    "/.//evil.com",
    "/a/..//evil.com",
    "/%2e%2e//evil.com",
    "/.%2e//evil.com",
    "/ /evil.com",
};

const char* const kSafe[] = {
    "/",
    "/app",
    "/app/page?x=1&y=2",
    "/a/b/c#frag",
    "/search?q=%2F%2Fnot-a-host",
    "/path%20with%20spaces",
    "/%E2%9C%93",
    "/user@host-is-just-a-path",
    "/a:b",
    "/.well-known/x",
};

void unsafe_targets_are_rejected(void**) {
    static_assert(sizeof kUnsafe / sizeof kUnsafe[0] >= 50, "at least 50 payloads");
    for (const char* p : kUnsafe) {
        if (is_safe_return_path(p)) fail_msg("accepted unsafe return target: %s", p);
        assert_string_equal(safe_return_path(p).c_str(), "/");
    }
}

void local_paths_are_kept(void**) {
    for (const char* p : kSafe) {
        if (!is_safe_return_path(p)) fail_msg("rejected local path: %s", p);
        assert_string_equal(safe_return_path(p).c_str(), p);
    }
}

void overlong_targets_are_rejected(void**) {
    std::string long_path = "/" + std::string(3000, 'a');
    assert_false(is_safe_return_path(long_path));
}

void embedded_nul_is_rejected(void**) {
    std::string with_nul("/ok\0//evil.com", 14);
    assert_false(is_safe_return_path(with_nul));
}

} // namespace

int main() {
    const CMUnitTest tests[] = {
        cmocka_unit_test(unsafe_targets_are_rejected),
        cmocka_unit_test(local_paths_are_kept),
        cmocka_unit_test(overlong_targets_are_rejected),
        cmocka_unit_test(embedded_nul_is_rejected),
    };
    return cmocka_run_group_tests(tests, nullptr, nullptr);
}
