// Store::rate_limit for stores without a limit operation of their own: the step inline
// where the store can, else an optimistic read / compare-and-set loop (exact: a write
// between the read and the write makes the compare fail, and the step runs again).
#include "authgate/ports.h"

namespace authgate {

namespace {

// Beyond this many lost races the request is answered as if the store were unreachable.
constexpr int kMaxAttempts = 16;

} // namespace

Task<StoreReply<limit::Verdict>> Store::rate_limit(std::string_view key, limit::Rule rule,
                                                   Millis now_ms) {
    using R = StoreReply<limit::Verdict>;
    if (auto now = rate_limit_now(key, rule, now_ms)) co_return *now;
    for (int attempt = 0; attempt < kMaxAttempts; ++attempt) {
        auto read = co_await get(key);
        if (!read.ok()) co_return R{StoreStatus::unavailable, {}};
        std::optional<limit::Micros> tat;
        if (read.value) tat = limit::decode_tat(*read.value);
        auto step = limit::gcra(tat, rule, now_ms * 1000);
        if (!step.write) co_return R{StoreStatus::ok, step.verdict};
        std::string value = limit::encode_tat(step.tat_us);
        StoreReply<bool> wrote;
        if (read.value) {
            wrote = co_await compare_and_set(key, *read.value, std::move(value), step.ttl_ms);
        } else {
            wrote = co_await set_if_absent(key, std::move(value), step.ttl_ms);
        }
        if (!wrote.ok()) co_return R{StoreStatus::unavailable, {}};
        if (wrote.value) co_return R{StoreStatus::ok, step.verdict};
    }
    co_return R{StoreStatus::unavailable, {}};
}

} // namespace authgate
