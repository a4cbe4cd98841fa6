// Rate-limit arithmetic (GCRA), written once: every store runs the same step on the one
// value it keeps per key (the theoretical arrival time, TAT), inside its own atomic
// section (a zone lock, a region lock, a Lua script). No I/O.
//
// A rule lets `burst` requests through at once and one more every `interval_us`: a request
// at `now` passes when the TAT it would leave, max(TAT, now) + interval, is at most
// now + burst * interval.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace authgate::limit {

using Micros = std::int64_t;

struct Rule {
    Micros interval_us = 1'000'000; // one request per interval (the rate)
    std::int64_t burst = 1;         // requests allowed at once, >= 1
    // The window a full burst refills in: burst * interval.
    Micros window_us() const noexcept { return burst * interval_us; }
};

struct Verdict {
    bool allowed = true;
    std::int64_t limit = 0;          // the rule's burst
    std::int64_t remaining = 0;      // requests that would pass right after this one
    std::int64_t retry_after_ms = 0; // refused: until the next request may pass (> 0)
    std::int64_t reset_ms = 0;       // until the full burst is available again
};

// One GCRA step: from the stored TAT (nullopt: none, or expired) at `now_us`, the verdict
// and, when allowed, the TAT to store for ttl_ms (a refusal writes nothing).
struct Step {
    Verdict verdict;
    bool write = false;
    Micros tat_us = 0;
    std::int64_t ttl_ms = 0; // >= 1
};
Step gcra(std::optional<Micros> stored_tat_us, const Rule& rule, Micros now_us) noexcept;

// The stored form of a TAT: decimal microseconds (what the Redis script keeps too).
std::string encode_tat(Micros tat_us);
std::optional<Micros> decode_tat(std::string_view text) noexcept;

} // namespace authgate::limit
