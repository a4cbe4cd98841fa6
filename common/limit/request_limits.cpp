// Rate limits applied to a request: which key, which store, and what the verdicts answer.
#include "limit/request_limits.h"

#include "answer/responses.h"
#include "authgate/crypto.h"
#include "authgate/http.h"
#include "authgate/limit_headers.h"

#include <atomic>

namespace authgate::gate {

namespace {

using Zone = config::LimitZone;

// Keys longer than this (or holding secrets) are counted under their hash.
constexpr std::size_t kMaxPlainKey = 64;

std::string hashed(std::string_view value) {
    auto d = crypto::sha256(value);
    return crypto::base64url_encode(std::span<const std::uint8_t>(d.data(), 16));
}

void append_value(std::string& key, std::string_view value) {
    if (value.size() > kMaxPlainKey) {
        key += hashed(value);
    } else {
        key += value;
    }
}

// The provider named by an /sso/ or /callback/ path, or "".
std::string_view path_provider(const GateConfig& cfg, const RequestView& req) {
    if (!req.path.starts_with(cfg.prefix)) return {};
    std::string_view rest = req.path.substr(cfg.prefix.size());
    for (std::string_view route : {"sso/", "callback/", "backchannel-logout/"}) {
        if (rest.starts_with(route)) return rest.substr(route.size());
    }
    return {};
}

Store& zone_store(Store& store, Store* local, const Zone& z) {
    if (z.store == Zone::StoreKind::shm && local != nullptr) return *local;
    return store;
}

bool in_phase(const Zone& z, LimitPhase phase) {
    return (z.key == Zone::Key::user) == (phase == LimitPhase::with_identity);
}

// "Logged once per incident": the first failure after the store answered is noted.
std::atomic<bool>& store_failing() {
    static std::atomic<bool> failing{false};
    return failing;
}

void note_verdict(LimitOutcome& out, const ResolvedLimit& l, const StoreReply<limit::Verdict>& r,
                  std::string_view key) {
    const Zone& z = *l.zone;
    if (!r.ok()) {
        if (!store_failing().exchange(true)) {
            out.notice = "rate limit zone \"" + z.name + "\": the store cannot be reached; " +
                         (z.fail_open ? "requests pass unlimited" : "requests are refused") +
                         " until it answers again";
        }
        if (!z.fail_open) out.unavailable = true;
        return;
    }
    if (store_failing().load(std::memory_order_relaxed)) store_failing().store(false);
    const limit::Verdict& v = r.value;
    if (!v.allowed) {
        std::string who = key.substr(l.key_prefix.size()).size() > 80
                              ? std::string(key.substr(l.key_prefix.size(), 80))
                              : std::string(key.substr(l.key_prefix.size()));
        if (l.dry_run) {
            out.dry_refused = true;
            if (out.notice.empty()) {
                out.notice = "rate limit zone \"" + z.name + "\" (dry run) would refuse \"" +
                             http::json_escape(who) + "\"";
            }
            return;
        }
        out.notice = "rate limit zone \"" + z.name + "\" refused \"" + http::json_escape(who) +
                     "\" (" + z.rate + ")";
        if (!out.refused || v.retry_after_ms > out.verdict.retry_after_ms) {
            out.reported = &z;
            out.verdict = v;
        }
        out.refused = true;
        return;
    }
    if (out.refused) return;
    if (out.reported == nullptr || v.remaining < out.verdict.remaining) {
        out.reported = &z;
        out.verdict = v;
    }
}

} // namespace

std::string limit_key(const GateConfig& cfg, const ResolvedLimit& l, const RequestView& req,
                      std::size_t index, std::string_view client, const Identity* who) {
    std::string key = l.key_prefix;
    const Zone& z = *l.zone;
    switch (z.key) {
    case Zone::Key::user:
        if (who != nullptr && !who->user.empty()) {
            key += "u:";
            append_value(key, who->user);
            return key;
        }
        break;
    case Zone::Key::api_key:
        // The credential itself never becomes a store key.
        if (!req.authorization.empty()) {
            key += "k:" + hashed(req.authorization);
            return key;
        }
        break;
    case Zone::Key::variable:
        if (index < req.limit_variables.size() && !req.limit_variables[index].empty()) {
            key += "v:";
            append_value(key, req.limit_variables[index]);
            return key;
        }
        break;
    case Zone::Key::provider: {
        // The routes that name a provider; elsewhere the client is counted.
        std::string_view p = path_provider(cfg, req);
        if (!p.empty() && p.size() <= kMaxPlainKey) {
            key += "p:";
            key += p;
            return key;
        }
        break;
    }
    case Zone::Key::client: break;
    }
    key += "c:";
    key += client;
    return key;
}

Task<LimitOutcome> run_limits(Ports ports, const GateConfig& cfg, const RequestView& req,
                              std::string_view client, const Identity* who, LimitPhase phase) {
    LimitOutcome out;
    Millis now = ports.clock.now_ms();
    for (std::size_t i = 0; i < cfg.limits.size(); ++i) {
        const ResolvedLimit& l = cfg.limits[i];
        if (!in_phase(*l.zone, phase)) continue;
        std::string key = limit_key(cfg, l, req, i, client, who);
        Store& store = zone_store(ports.store, ports.local_store, *l.zone);
        auto r = co_await store.rate_limit(key, l.zone->rule, now);
        note_verdict(out, l, r, key);
    }
    co_return out;
}

bool run_limits_now(InlinePorts ports, const GateConfig& cfg, const RequestView& req,
                    std::string_view client, const Identity* who, LimitOutcome& out) {
    if (cfg.limits.empty()) return true;
    // Every zone's store must answer inline before any is counted.
    for (const auto& l : cfg.limits) {
        Store* s = l.zone->store == Zone::StoreKind::shm && ports.local_store != nullptr
                       ? ports.local_store
                       : ports.store;
        if (s == nullptr || s->durable()) return false;
    }
    Millis now = ports.clock.now_ms();
    for (std::size_t i = 0; i < cfg.limits.size(); ++i) {
        const ResolvedLimit& l = cfg.limits[i];
        Store* s = l.zone->store == Zone::StoreKind::shm && ports.local_store != nullptr
                       ? ports.local_store
                       : ports.store;
        std::string key = limit_key(cfg, l, req, i, client, who);
        auto r = s->rate_limit_now(key, l.zone->rule, now);
        note_verdict(out, l, r ? *r : StoreReply<limit::Verdict>{StoreStatus::unavailable, {}},
                     key);
    }
    return true;
}

void combine(LimitOutcome& into, LimitOutcome from) {
    if (into.notice.empty()) into.notice = std::move(from.notice);
    into.unavailable |= from.unavailable;
    into.dry_refused |= from.dry_refused;
    if (from.reported == nullptr) return;
    if (from.refused) {
        if (!into.refused || from.verdict.retry_after_ms > into.verdict.retry_after_ms) {
            into.reported = from.reported;
            into.verdict = from.verdict;
        }
        into.refused = true;
        return;
    }
    if (into.refused) return;
    if (into.reported == nullptr || from.verdict.remaining < into.verdict.remaining) {
        into.reported = from.reported;
        into.verdict = from.verdict;
    }
}

void apply_limits(const GateConfig& cfg, const RequestView& req, Millis now,
                  const LimitOutcome& outcome, Decision& d) {
    if (outcome.unavailable) {
        d = answer::answers_as_api(req) ? answer::json_error(req, now, Error::store_unavailable)
                                        : answer::error_page(cfg, Error::store_unavailable);
        d.headers.push_back({"Retry-After", "5"});
        d.notice = outcome.notice;
        return;
    }
    if (outcome.refused) {
        d = answer::answers_as_api(req) ? answer::json_error(req, now, Error::rate_limited)
                                        : answer::error_page(cfg, Error::rate_limited);
        d.notice = outcome.notice;
    } else {
        if (outcome.dry_refused && d.error == Error::ok) d.error = Error::rate_limited;
        if (!outcome.notice.empty() && d.notice.empty()) d.notice = outcome.notice;
    }
    if (outcome.reported != nullptr) {
        limit::add_headers(d.headers, cfg.limit_headers, outcome.reported->name,
                           outcome.reported->rule, outcome.verdict, now);
    }
}

Task<std::optional<Decision>> anonymous_limit(Ports ports, const GateConfig& cfg,
                                              const RequestView& req, std::string_view client) {
    if (!cfg.anonymous_limit) co_return std::nullopt;
    Millis now = ports.clock.now_ms();
    std::string key = "r:anonymous:c:" + std::string(client);
    auto r = co_await ports.store.rate_limit(key, *cfg.anonymous_limit, now);
    // The store's own answer decides the endpoint's fate (it fails closed where it must).
    if (!r.ok() || r.value.allowed) co_return std::nullopt;
    auto d = answer::answers_as_api(req) ? answer::json_error(req, now, Error::rate_limited)
                                         : answer::error_page(cfg, Error::rate_limited);
    limit::add_headers(d.headers, 0, "anonymous", *cfg.anonymous_limit, r.value, now);
    d.notice = "anonymous endpoint limit refused client " + std::string(client);
    co_return d;
}

Decision blocked_answer(const GateConfig& cfg, const RequestView& req, Millis now,
                        std::string_view client) {
    auto d = answer::answers_as_api(req) ? answer::json_error(req, now, Error::address_blocked)
                                         : answer::error_page(cfg, Error::address_blocked);
    d.notice = "request from blocked address " + std::string(client);
    return d;
}

std::optional<bool> blocked_now(InlinePorts ports, std::string_view client, Millis now) {
    if (ports.blocks == nullptr) return false;
    return ports.blocks->blocked(client, now);
}

Task<std::optional<Decision>> check_blocked(Ports ports, const GateConfig& cfg,
                                            const RequestView& req, std::string_view client) {
    if (ports.blocks == nullptr) co_return std::nullopt;
    Millis now = ports.clock.now_ms();
    auto known = ports.blocks->blocked(client, now);
    if (!known) {
        auto entries = co_await list_blocks(ports.store, now);
        if (entries.ok()) {
            ports.blocks->refresh(entries.value, now);
        } else {
            ports.blocks->retry_later(now);
        }
        known = ports.blocks->blocked(client, now);
    }
    if (!known || !*known) co_return std::nullopt;
    co_return blocked_answer(cfg, req, now, client);
}

} // namespace authgate::gate
