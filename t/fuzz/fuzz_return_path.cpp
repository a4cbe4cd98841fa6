// Fuzz target: the rd guard. Whatever it accepts must be a same-origin path for a browser.
#include "fuzz.h"

#include "authgate/http.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    std::string_view rd = as_view(data, size);
    if (!authgate::http::is_safe_return_path(rd)) return 0;
    if (rd.empty() || rd[0] != '/') __builtin_trap();
    if (rd.size() > 1 && (rd[1] == '/' || rd[1] == '\\')) __builtin_trap();
    for (unsigned char c : rd) {
        if (c < 0x20 || c == 0x7f || c == '\\') __builtin_trap();
    }
    auto decoded = authgate::http::percent_decode(rd, false);
    if (decoded && decoded->size() > 1 && decoded->at(0) == '/' &&
        ((*decoded)[1] == '/' || (*decoded)[1] == '\\')) {
        __builtin_trap();
    }
    return 0;
}
