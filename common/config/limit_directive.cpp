// authgate_limit_zone, authgate_limit and authgate_anonymous_limit as written.
#include "authgate/config.h"
#include "config/values.h"

#include <charconv>

namespace authgate::config {

namespace {

constexpr std::int64_t kMaxCount = 1'000'000;

std::optional<std::int64_t> count(std::string_view text) {
    std::int64_t n = 0;
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), n);
    if (ec != std::errc{} || end != text.data() + text.size() || n < 1 || n > kMaxCount) {
        return std::nullopt;
    }
    return n;
}

bool is_zone_name(std::string_view s) {
    if (s.empty() || s.size() > 64) return false;
    for (char c : s) {
        bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                  c == '_' || c == '-';
        if (!ok) return false;
    }
    return true;
}

bool is_variable_name(std::string_view s) {
    if (s.empty() || s.size() > 64) return false;
    for (char c : s) {
        bool ok =
            (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
        if (!ok) return false;
    }
    return true;
}

Result<LimitZone::Key> zone_key(std::string_view v, std::string& variable) {
    if (v == "client") return LimitZone::Key::client;
    if (v == "user") return LimitZone::Key::user;
    if (v == "api_key") return LimitZone::Key::api_key;
    if (v == "provider") return LimitZone::Key::provider;
    if (v.starts_with('$') && is_variable_name(v.substr(1))) {
        variable = std::string(v.substr(1));
        return LimitZone::Key::variable;
    }
    return fail("invalid key " + quoted(v) +
                ", expected client, user, api_key, provider or $variable");
}

} // namespace

// "Nr/s", "Nr/m" or "Nr/h"; burst: a count, or empty for N (a full period's worth).
Result<limit::Rule> parse_rate(std::string_view rate, std::string_view burst) {
    auto bad = [&] {
        return fail("invalid rate " + quoted(rate) + ", expected N r/s, r/m or r/h like \"10r/s\"");
    };
    auto r = rate.find("r/");
    if (r == std::string_view::npos || rate.size() != r + 3) return bad();
    auto n = count(rate.substr(0, r));
    if (!n) return bad();
    limit::Micros period = 0;
    switch (rate[r + 2]) {
    case 's': period = 1'000'000; break;
    case 'm': period = 60'000'000; break;
    case 'h': period = 3'600'000'000; break;
    default: return bad();
    }
    limit::Rule rule;
    rule.interval_us = period / *n;
    if (rule.interval_us < 1) return bad();
    rule.burst = *n;
    if (!burst.empty()) {
        auto b = count(burst);
        if (!b) return fail("invalid burst " + quoted(burst) + ", expected 1 to 1000000");
        rule.burst = *b;
    }
    return rule;
}

Result<LimitZone> parse_limit_zone(Args args) {
    LimitZone z;
    if (!is_zone_name(args[0])) {
        return fail("invalid zone name " + quoted(args[0]) +
                    ", expected letters, digits, \"_\" or \"-\" (at most 64)");
    }
    z.name = std::string(args[0]);
    std::string_view rate, burst;
    bool keyed = false, stored = false, failing = false;
    for (std::size_t i = 1; i < args.size(); ++i) {
        std::string_view a = args[i];
        auto eq = a.find('=');
        std::string_view name = a.substr(0, eq), value;
        if (eq != std::string_view::npos) value = a.substr(eq + 1);
        if (name == "key" && !keyed && eq != std::string_view::npos) {
            keyed = true;
            auto k = zone_key(value, z.variable);
            if (!k) return fail(k.error());
            z.key = *k;
        } else if (name == "rate" && rate.empty() && !value.empty()) {
            rate = value;
        } else if (name == "burst" && burst.empty() && !value.empty()) {
            burst = value;
        } else if (name == "store" && !stored && eq != std::string_view::npos) {
            stored = true;
            if (value == "shm") {
                z.store = LimitZone::StoreKind::shm;
            } else if (value == "redis") {
                z.store = LimitZone::StoreKind::redis;
            } else {
                return fail("invalid store " + quoted(value) + ", expected shm or redis");
            }
        } else if (name == "unavailable" && !failing && eq != std::string_view::npos) {
            failing = true;
            if (value != "open" && value != "closed") {
                return fail("invalid unavailable " + quoted(value) + ", expected open or closed");
            }
            z.fail_open = value == "open";
        } else {
            return fail("invalid parameter " + quoted(a) +
                        ", expected key=, rate=, burst=, store= or unavailable= (once each)");
        }
    }
    if (rate.empty()) return fail("zone " + quoted(z.name) + " needs rate=, like rate=10r/s");
    auto rule = parse_rate(rate, burst);
    if (!rule) return fail(rule.error());
    z.rule = *rule;
    z.rate = std::string(rate);
    if (!burst.empty()) z.rate += " burst=" + std::string(burst);
    return z;
}

} // namespace authgate::config

namespace authgate {

Result<bool> limits_need_local_store(const GateConfig& g, const config::Settings& s,
                                     bool redis_configured) {
    bool local = false;
    for (const auto& l : g.limits) {
        const config::LimitZone& z = *l.zone;
        if (z.store == config::LimitZone::StoreKind::redis && !redis_configured) {
            return fail("authgate_limit_zone " + z.name + ": store=redis needs authgate_redis" +
                        config::origin_of(s, "authgate_limit_zone " + z.name));
        }
        local |= z.store == config::LimitZone::StoreKind::shm && redis_configured;
    }
    return local;
}

} // namespace authgate
