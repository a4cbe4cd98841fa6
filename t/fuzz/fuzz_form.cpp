// Fuzz target: form/query decoding and the escapers used on reflected values.
#include "fuzz.h"

#include "authgate/http.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    std::string_view in = as_view(data, size);
    if (auto p = authgate::http::parse_form(in)) {
        for (const auto& [k, v] : *p) {
            std::string html = authgate::http::html_escape(v);
            if (html.find('<') != std::string::npos || html.find('"') != std::string::npos) {
                __builtin_trap();
            }
            std::string json = authgate::http::json_escape(k);
            if (json.find('<') != std::string::npos) __builtin_trap();
        }
    }
    authgate::http::is_api_client(in, in);
    return 0;
}
