// Parsers for directive values: durations, sizes, names.
#include "config/values.h"

#include <algorithm>
#include <cstdint>
#include <limits>

namespace authgate::config {

namespace {

bool parse_uint(std::string_view digits, std::uint64_t& out) {
    if (digits.empty() || digits.size() > 15) return false;
    out = 0;
    for (char c : digits) {
        if (c < '0' || c > '9') return false;
        out = out * 10 + static_cast<std::uint64_t>(c - '0');
    }
    return true;
}

} // namespace

Result<Millis> parse_duration(std::string_view text) {
    // A sequence of <number><unit>, e.g. "90s", "1h30m", "500ms"; a bare number is seconds.
    constexpr std::uint64_t kMax = 366ull * 24 * 3600 * 1000;
    std::string_view rest = text;
    std::uint64_t total = 0;
    if (rest.empty()) return fail("invalid duration \"\"");
    while (!rest.empty()) {
        std::size_t n = 0;
        while (n < rest.size() && rest[n] >= '0' && rest[n] <= '9') ++n;
        std::uint64_t value = 0;
        if (!parse_uint(rest.substr(0, n), value)) {
            return fail("invalid duration \"" + std::string(text) + "\"");
        }
        rest.remove_prefix(n);
        std::size_t u = 0;
        while (u < rest.size() && rest[u] >= 'a' && rest[u] <= 'z') ++u;
        std::string_view unit = rest.substr(0, u);
        rest.remove_prefix(u);
        std::uint64_t scale = 0;
        if (unit == "ms")
            scale = 1;
        else if (unit == "s" || (unit.empty() && rest.empty() && total == 0))
            scale = 1000;
        else if (unit == "m")
            scale = 60'000;
        else if (unit == "h")
            scale = 3'600'000;
        else if (unit == "d")
            scale = 86'400'000;
        else
            return fail("invalid duration \"" + std::string(text) + "\" (units: ms, s, m, h, d)");
        total += value * scale;
        if (total > kMax) return fail("duration \"" + std::string(text) + "\" is over 366d");
    }
    if (total == 0) return fail("duration \"" + std::string(text) + "\" must be positive");
    return static_cast<Millis>(total);
}

Result<std::size_t> parse_size(std::string_view text) {
    if (text.empty()) return fail("invalid size \"\"");
    std::string_view digits = text;
    std::uint64_t scale = 1;
    char last = text.back();
    if (last == 'k' || last == 'K')
        scale = 1024;
    else if (last == 'm' || last == 'M')
        scale = 1024ull * 1024;
    else if (last == 'g' || last == 'G')
        scale = 1024ull * 1024 * 1024;
    if (scale != 1) digits.remove_suffix(1);
    std::uint64_t value = 0;
    if (!parse_uint(digits, value)) return fail("invalid size \"" + std::string(text) + "\"");
    if (value == 0 || value > (1ull << 40) / scale) {
        return fail("size \"" + std::string(text) + "\" is out of range");
    }
    return static_cast<std::size_t>(value * scale);
}

bool is_token(std::string_view s) {
    // RFC 7230 token, used for cookie and header names.
    if (s.empty() || s.size() > 128) return false;
    return std::all_of(s.begin(), s.end(), [](unsigned char c) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
               std::string_view("!#$%&'*+-.^_`|~").find(static_cast<char>(c)) !=
                   std::string_view::npos;
    });
}

bool is_scope_token(std::string_view s) {
    // RFC 6749 section 3.3 scope-token: %x21 / %x23-5B / %x5D-7E ("api:read", "api://x/y").
    if (s.empty() || s.size() > 256) return false;
    return std::all_of(s.begin(), s.end(), [](unsigned char c) {
        return c >= 0x21 && c <= 0x7e && c != '"' && c != '\\';
    });
}

bool is_domain(std::string_view s) {
    if (s.empty() || s.size() > 253 || s.front() == '.' || s.back() == '.') return false;
    return std::all_of(s.begin(), s.end(), [](unsigned char c) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
               c == '-' || c == '.';
    });
}

bool is_url_path_prefix(std::string_view s) {
    if (s.size() < 2 || s.front() != '/' || s.back() != '/' || s.size() > 128) return false;
    if (s.find("//") != std::string_view::npos) return false;
    return std::all_of(s.begin(), s.end(), [](unsigned char c) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
               c == '-' || c == '.' || c == '_' || c == '/';
    });
}

} // namespace authgate::config
