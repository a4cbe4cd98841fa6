// authgate_limit_zone, authgate_limit and authgate_anonymous_limit as written.
#include "authgate/config.h"
#include "authgate/limit_headers.h"
#include "authgate/networks.h"
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

// authgate_limit_zone repeats, one line per zone; names are unique per level.
Result<void> limit_zone_apply(Settings& s, Args args) {
    auto zone = parse_limit_zone(args);
    if (!zone) return fail(zone.error());
    if (!s.limit_zones) s.limit_zones.emplace();
    for (const auto& existing : *s.limit_zones) {
        if (existing->name == zone->name) {
            return fail("zone " + quoted(zone->name) + " is already defined");
        }
    }
    s.limit_zones->push_back(std::make_shared<const LimitZone>(std::move(*zone)));
    return {};
}

// authgate_limit ZONE [dry_run] repeats (every zone applies); "off" drops inherited ones.
Result<void> limit_apply(Settings& s, Args args) {
    if (args[0] == "off") {
        if (args.size() > 1 || (s.limits && !s.limits->empty())) {
            return fail("\"off\" stands alone and cannot follow other authgate_limit lines");
        }
        s.limits.emplace();
        return {};
    }
    if (s.limits && s.limits->empty()) return fail("follows \"authgate_limit off\"");
    LimitUse use{std::string(args[0]), false};
    if (args.size() == 2) {
        if (args[1] != "dry_run") {
            return fail("invalid parameter " + quoted(args[1]) + ", expected dry_run");
        }
        use.dry_run = true;
    }
    if (!s.limits) s.limits.emplace();
    for (const auto& existing : *s.limits) {
        if (existing.zone == use.zone) return fail("zone " + quoted(use.zone) + " is listed twice");
    }
    s.limits->push_back(std::move(use));
    return {};
}

Result<unsigned> limit_headers(Args a) {
    auto styles = limit::parse_header_styles(a);
    if (!styles) {
        return fail("invalid header styles, expected \"off\" or any of ietf, trio and x");
    }
    return *styles;
}

Result<AnonymousLimit> anonymous_limit(Args a) {
    AnonymousLimit out;
    if (a[0] == "off" && a.size() == 1) {
        out.enabled = false;
        return out;
    }
    std::string_view rate, burst;
    for (auto arg : a) {
        if (arg.starts_with("rate=") && rate.empty()) {
            rate = arg.substr(5);
        } else if (arg.starts_with("burst=") && burst.empty()) {
            burst = arg.substr(6);
        } else {
            return fail("invalid parameter " + quoted(arg) +
                        ", expected \"off\" or rate=Nr/s [burst=N]");
        }
    }
    if (rate.empty()) return fail("needs rate=, like rate=10r/s");
    auto rule = parse_rate(rate, burst);
    if (!rule) return fail(rule.error());
    out.rule = *rule;
    return out;
}

// authgate_trusted_proxies CIDR... [header=x-forwarded-for|forwarded]
Result<TrustedProxies> trusted_proxies(Args a) {
    TrustedProxies out;
    for (auto arg : a) {
        if (arg.starts_with("header=")) {
            std::string_view h = arg.substr(7);
            if (http::same_header_name(h, "x-forwarded-for")) {
                out.forwarded = false;
            } else if (http::same_header_name(h, "forwarded")) {
                out.forwarded = true;
            } else {
                return fail("invalid header " + quoted(h) +
                            ", expected X-Forwarded-For or Forwarded");
            }
            continue;
        }
        auto n = net::parse_network(arg);
        if (!n) {
            return fail("invalid address or network " + quoted(arg) +
                        ", expected an IPv4 or IPv6 address or CIDR like \"10.0.0.0/8\"");
        }
        out.networks.push_back(n->text());
    }
    if (out.networks.empty()) return fail("needs at least one address or network");
    return out;
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
