// Fuzz target: Cookie header parsing and stripping of the gate's cookies.
#include "fuzz.h"

#include "authgate/http.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    std::vector<std::string_view> headers;
    for (auto f : fields(data, size)) headers.push_back(f);
    auto values = authgate::http::cookie_values(headers, "authgate_session");
    for (auto v : values) {
        if (v.size() > size) __builtin_trap();
    }
    for (auto h : headers) {
        auto stripped = authgate::http::strip_cookies(h, {"authgate_session", "authgate_csrf"});
        if (stripped && !authgate::http::cookie_values(std::vector<std::string_view>{*stripped},
                                                       "authgate_session")
                             .empty()) {
            __builtin_trap(); // a stripped header never still carries the session cookie
        }
    }
    return 0;
}
