// Rate-limit response headers (see limit_headers.h).
#include "authgate/limit_headers.h"

#include <algorithm>
#include <string>

namespace authgate::limit {

namespace {

std::int64_t ceil_seconds(std::int64_t ms) noexcept { return ms <= 0 ? 0 : (ms + 999) / 1000; }

// An sf-string: '"' and '\' escaped; bytes outside printable ASCII (never in a config
// name) are left out so the header stays valid.
std::string sf_string(std::string_view s) {
    std::string out = "\"";
    for (char c : s) {
        if (c < 0x20 || c > 0x7e) continue;
        if (c == '"' || c == '\\') out += '\\';
        out += c;
    }
    out += '"';
    return out;
}

void add(std::vector<Header>& out, const char* name, std::string value) {
    out.push_back(Header{name, std::move(value)});
}

} // namespace

void add_headers(std::vector<Header>& out, unsigned styles, std::string_view policy,
                 const Rule& rule, const Verdict& v, std::int64_t now_ms) {
    const std::int64_t retry_s = std::max<std::int64_t>(ceil_seconds(v.retry_after_ms), 1);
    const std::int64_t reset_ms = v.allowed ? v.reset_ms : v.retry_after_ms;
    const std::int64_t reset_s = v.allowed ? ceil_seconds(reset_ms) : retry_s;
    const auto limit = std::to_string(v.limit);
    const auto remaining = std::to_string(std::max<std::int64_t>(v.remaining, 0));
    if ((styles & kIetf) != 0) {
        const auto name = sf_string(policy);
        const auto window_s = std::max<std::int64_t>((rule.window_us() + 999'999) / 1'000'000, 1);
        add(out, "RateLimit-Policy", name + ";q=" + limit + ";w=" + std::to_string(window_s));
        add(out, "RateLimit", name + ";r=" + remaining + ";t=" + std::to_string(reset_s));
    }
    if ((styles & kTrio) != 0) {
        add(out, "RateLimit-Limit", limit);
        add(out, "RateLimit-Remaining", remaining);
        add(out, "RateLimit-Reset", std::to_string(reset_s));
    }
    if ((styles & kXRateLimit) != 0) {
        add(out, "X-RateLimit-Limit", limit);
        add(out, "X-RateLimit-Remaining", remaining);
        add(out, "X-RateLimit-Reset",
            std::to_string(ceil_seconds(now_ms + std::max<std::int64_t>(reset_ms, 0))));
    }
    if (!v.allowed) add(out, "Retry-After", std::to_string(retry_s));
}

std::optional<unsigned> parse_header_styles(std::span<const std::string_view> words) {
    if (words.size() == 1 && words[0] == "off") return 0U;
    if (words.empty()) return std::nullopt;
    unsigned styles = 0;
    for (auto w : words) {
        unsigned bit = 0;
        if (w == "ietf") {
            bit = kIetf;
        } else if (w == "trio") {
            bit = kTrio;
        } else if (w == "x" || w == "x-ratelimit") {
            bit = kXRateLimit;
        } else {
            return std::nullopt;
        }
        if ((styles & bit) != 0) return std::nullopt;
        styles |= bit;
    }
    return styles;
}

} // namespace authgate::limit
