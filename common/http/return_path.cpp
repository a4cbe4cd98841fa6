#include "authgate/http.h"

namespace authgate::http {

namespace {

constexpr std::size_t kMaxReturnPath = 2048;
constexpr int kMaxDecodeDepth = 4;

// One level of the check on an already-decoded string.
bool safe_at_this_level(std::string_view s) {
    if (s.empty() || s.front() != '/') return false;
    if (s.size() >= 2 && (s[1] == '/' || s[1] == '\\')) return false;
    for (unsigned char c : s) {
        if (c < 0x20 || c == 0x7f || c == '\\') return false;
    }
    return true;
}

} // namespace

bool is_safe_return_path(std::string_view rd) {
    if (rd.size() > kMaxReturnPath) return false;
    std::string current(rd);
    // Browsers and proxies may decode more than once: every decoding level must be safe,
    // and the text must stop changing within a few levels.
    for (int depth = 0; depth <= kMaxDecodeDepth; ++depth) {
        if (!safe_at_this_level(current)) return false;
        if (current.find('%') == std::string::npos) return true;
        auto decoded = percent_decode(current, false);
        if (!decoded) return false;
        if (*decoded == current) return true;
        current = std::move(*decoded);
    }
    return false;
}

std::string safe_return_path(std::string_view rd) {
    if (is_safe_return_path(rd)) return std::string(rd);
    return "/";
}

} // namespace authgate::http
