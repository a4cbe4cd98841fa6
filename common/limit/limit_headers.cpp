// TEMPORARY (replaced by the nets branch).
#include "authgate/limit_headers.h"

#include <string>

namespace authgate::limit {

void add_headers(std::vector<Header>& out, unsigned styles, std::string_view policy,
                 const Rule& rule, const Verdict& v, std::int64_t now_ms) {
    std::int64_t reset_ms = v.allowed ? v.reset_ms : v.retry_after_ms;
    std::int64_t reset_s = (reset_ms + 999) / 1000;
    if ((styles & kIetf) != 0) {
        out.push_back({"RateLimit-Policy",
                       "\"" + std::string(policy) + "\";q=" + std::to_string(rule.burst) +
                           ";w=" + std::to_string((rule.window_us() + 999999) / 1000000)});
        out.push_back({"RateLimit", "\"" + std::string(policy) +
                                        "\";r=" + std::to_string(v.remaining) +
                                        ";t=" + std::to_string(reset_s)});
    }
    if ((styles & kTrio) != 0) {
        out.push_back({"RateLimit-Limit", std::to_string(rule.burst)});
        out.push_back({"RateLimit-Remaining", std::to_string(v.remaining)});
        out.push_back({"RateLimit-Reset", std::to_string(reset_s)});
    }
    if ((styles & kXRateLimit) != 0) {
        out.push_back({"X-RateLimit-Limit", std::to_string(rule.burst)});
        out.push_back({"X-RateLimit-Remaining", std::to_string(v.remaining)});
        out.push_back({"X-RateLimit-Reset", std::to_string((now_ms + reset_ms + 999) / 1000)});
    }
    if (!v.allowed)
        out.push_back({"Retry-After", std::to_string(std::max<std::int64_t>(reset_s, 1))});
}

std::optional<unsigned> parse_header_styles(std::span<const std::string_view> words) {
    unsigned styles = 0;
    for (auto w : words) {
        if (w == "off" && words.size() == 1) return 0U;
        if (w == "ietf")
            styles |= kIetf;
        else if (w == "trio")
            styles |= kTrio;
        else if (w == "x" || w == "x-ratelimit")
            styles |= kXRateLimit;
        else
            return std::nullopt;
    }
    return styles;
}

} // namespace authgate::limit
