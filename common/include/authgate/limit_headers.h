// Rate-limit response headers: the IETF draft's structured fields (RateLimit-Policy,
// RateLimit), the older RateLimit-Limit/-Remaining/-Reset trio, and X-RateLimit-*; a refusal
// always carries Retry-After. Pure formatting.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string_view>
#include <vector>

#include "authgate/limits.h"
#include "authgate/request.h"

namespace authgate::limit {

enum HeaderStyle : unsigned {
    kIetf = 1,       // RateLimit-Policy: "p";q=<burst>;w=<s>  RateLimit: "p";r=<n>;t=<s>
    kTrio = 2,       // RateLimit-Limit, RateLimit-Remaining, RateLimit-Reset (seconds)
    kXRateLimit = 4, // X-RateLimit-Limit, -Remaining, -Reset (Unix time in seconds)
};

// Appends the headers of `styles` (HeaderStyle bits) for verdict v of `rule` under the
// policy name `policy`, at now_ms (Unix milliseconds). Times are rounded up to seconds; the
// reset is when the full burst is back, or for a refusal when the next request may pass.
// A refusal also gets Retry-After (>= 1 s), whatever the styles.
void add_headers(std::vector<Header>& out, unsigned styles, std::string_view policy,
                 const Rule& rule, const Verdict& v, std::int64_t now_ms);

// The words of the header-style directive: any of "ietf", "trio", "x" (or "x-ratelimit"),
// each once, or "off" alone (0). nullopt for anything else.
std::optional<unsigned> parse_header_styles(std::span<const std::string_view> words);

} // namespace authgate::limit
