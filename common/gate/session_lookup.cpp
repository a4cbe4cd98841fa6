#include "gate/session_lookup.h"

#include <algorithm>

#include "authgate/http.h"
#include "authgate/users.h"
#include "gate/responses.h"

namespace authgate::gate {

namespace {

constexpr std::size_t kMaxCookiesTried = 4;

// A session of a users-file user stays valid only while the file still has the user,
// enabled. (Run-time users are disabled through the store, which ends their sessions.)
bool user_still_allowed(const GateConfig& cfg, const Session& s) {
    if (s.source != "file") return true;
    if (!cfg.users) return false;
    const User* u = cfg.users->find(s.user);
    return u != nullptr && !u->disabled;
}

} // namespace

// The cookie value is the one that passed the MAC check when the entry was made; the
// session's own expiry and the user are checked again on every hit.
const Session* cached_session(Ports ports, const GateConfig& cfg,
                              std::span<const std::string_view> values, Millis now) {
    std::size_t tried = std::min(values.size(), kMaxCookiesTried);
    for (std::size_t i = 0; i < tried; ++i) {
        const SessionCache::Entry* hit = ports.sessions->find(values[i], now);
        if (hit == nullptr) continue;
        const Session& s = hit->session;
        if (session_state(s, now, cfg.idle_timeout) == SessionState::valid &&
            user_still_allowed(cfg, s) && !session_needs_touch(s, now, cfg.idle_timeout) &&
            (s.sso_refresh_at_ms == 0 || now < s.sso_refresh_at_ms)) {  // refresh: full flow
            return &s;
        }
        ports.sessions->invalidate(hit->store_key);  // the store decides
        return nullptr;
    }
    return nullptr;
}

Task<SessionLookup> lookup_session(Ports ports, const GateConfig& cfg, const RequestView& req) {
    SessionLookup out;
    auto values = http::cookie_values(req.cookie_headers, session_cookie_name(cfg, req));
    if (values.empty()) co_return out;
    out.had_cookie = true;
    out.error = Error::session_invalid;
    std::size_t tried = std::min(values.size(), kMaxCookiesTried);
    Millis now = ports.clock.now_ms();

    std::optional<SessionCache::Ticket> ticket;
    if (ports.sessions != nullptr) {
        if (const Session* s = cached_session(ports, cfg, values, now)) {
            out.error = Error::ok;
            // What the access check uses: the identity (no CSRF token, no methods).
            out.session.user = s->user;
            out.session.email = s->email;
            out.session.name = s->name;
            out.session.groups = s->groups;
            co_return out;
        }
        ticket = ports.sessions->begin_fill(now);
    }

    std::optional<SessionId> id;
    std::size_t used = 0;
    for (std::size_t i = 0; i < tried && !id; ++i) {
        id = parse_session_cookie(values[i], *cfg.keys);
        used = i;
    }
    if (!id) co_return out;
    out.id = *id;

    std::string key = session_store_key(*id);
    auto record = co_await ports.store.get(key);
    if (!record.ok()) {
        out.error = Error::store_unavailable;
        co_return out;
    }
    if (!record.value) {
        out.error = Error::session_expired;  // expired by TTL, signed out, or revoked
        co_return out;
    }
    auto session = decode_session(*record.value);
    if (!session) {
        co_await ports.store.del(key);
        co_return out;
    }
    now = ports.clock.now_ms();
    if (session_state(*session, now, cfg.idle_timeout) != SessionState::valid) {
        co_await ports.store.del(key);
        out.error = Error::session_expired;
        co_return out;
    }
    if (!user_still_allowed(cfg, *session)) {
        co_await ports.store.del(key);
        co_return out;
    }
    if (session_needs_touch(*session, now, cfg.idle_timeout)) {
        session->last_seen_ms = now;
        auto saved = co_await ports.store.set(key, encode_session(*session),
                                              session_ttl(*session, now, cfg.idle_timeout));
        if (!saved.ok()) {
            out.error = Error::store_unavailable;
            co_return out;
        }
    }
    // Not cached when anything was announced meanwhile (the touch above included).
    if (ticket) ports.sessions->fill(*ticket, values[used], key, *id, *session, now);
    out.error = Error::ok;
    out.session = std::move(*session);
    co_return out;
}

} // namespace authgate::gate
