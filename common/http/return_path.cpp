#include "authgate/http.h"

namespace authgate::http {

namespace {

constexpr std::size_t kMaxReturnPath = 2048;
constexpr int kMaxDecodeDepth = 4;

// True when the path holds a "." or ".." segment (browsers resolve them, and
// "/..//evil.com" becomes the scheme-relative "//evil.com").
bool has_dot_segment(std::string_view s) {
    s = s.substr(0, s.find_first_of("?#"));
    std::size_t i = 0;
    while (i < s.size()) {
        std::size_t j = s.find('/', i + 1);
        std::string_view seg =
            s.substr(i + 1, (j == std::string_view::npos ? s.size() : j) - i - 1);
        if (seg == "." || seg == "..") return true;
        if (j == std::string_view::npos) break;
        i = j;
    }
    return false;
}

// One level of the check on an already-decoded string.
bool safe_at_this_level(std::string_view s) {
    if (s.empty() || s.front() != '/') return false;
    if (s.size() >= 2 && (s[1] == '/' || s[1] == '\\')) return false;
    for (unsigned char c : s) {
        if (c < 0x20 || c == 0x7f || c == '\\') return false;
    }
    return !has_dot_segment(s);
}

} // namespace

bool is_safe_return_path(std::string_view rd) {
    // A raw space is not valid in a Location header.
    if (rd.size() > kMaxReturnPath || rd.find(' ') != std::string_view::npos) return false;
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
