// The GCRA step every store runs on its stored TAT.
#include "authgate/limits.h"

#include <algorithm>
#include <charconv>

namespace authgate::limit {

namespace {

std::int64_t ceil_ms(Micros us) noexcept { return us <= 0 ? 0 : (us + 999) / 1000; }

} // namespace

Step gcra(std::optional<Micros> stored_tat_us, const Rule& rule, Micros now_us) noexcept {
    Step s;
    const Micros interval = std::max<Micros>(rule.interval_us, 1);
    const std::int64_t burst = std::max<std::int64_t>(rule.burst, 1);
    const Micros window = burst * interval;
    // A TAT far in the future (a clock that jumped back) is capped at one window.
    Micros tat = std::clamp(stored_tat_us.value_or(now_us), now_us, now_us + window);
    Micros new_tat = tat + interval;
    Micros allow_at = new_tat - window;
    s.verdict.limit = burst;
    if (now_us < allow_at) {
        s.verdict.allowed = false;
        s.verdict.remaining = 0;
        s.verdict.retry_after_ms = std::max<std::int64_t>(ceil_ms(allow_at - now_us), 1);
        s.verdict.reset_ms = ceil_ms(tat - now_us);
        return s;
    }
    s.verdict.allowed = true;
    s.verdict.remaining = std::min<std::int64_t>((now_us - allow_at) / interval, burst - 1);
    s.verdict.reset_ms = ceil_ms(new_tat - now_us);
    s.write = true;
    s.tat_us = new_tat;
    s.ttl_ms = std::max<std::int64_t>(s.verdict.reset_ms, 1);
    return s;
}

std::string encode_tat(Micros tat_us) { return std::to_string(tat_us); }

std::optional<Micros> decode_tat(std::string_view text) noexcept {
    Micros v = 0;
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
    if (ec != std::errc{} || end != text.data() + text.size() || v < 0) return std::nullopt;
    return v;
}

} // namespace authgate::limit
