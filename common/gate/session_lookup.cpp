#include "gate/session_lookup.h"

#include <algorithm>

#include "answer/responses.h"
#include "authgate/http.h"
#include "authgate/users.h"
#include "session/decoded_sessions.h"
#include "session/verified_cookies.h"
#include "users/user_check.h"

namespace authgate::gate {

namespace {

constexpr std::size_t kMaxCookiesTried = 4;
// Another worker's touch or refresh may win a few times in a row; the session as last
// read is still valid then (only its idle time goes unwritten).
constexpr int kTouchAttempts = 3;

} // namespace

// The cookie value is the one that passed the MAC check when the entry was made; the
// session's own expiry and the users file are checked again on every hit, and an entry
// is never older than a user status read (the store's record is checked on a miss).
SessionCache::Hit cached_session(InlinePorts ports, const GateConfig& cfg,
                                 std::span<const std::string_view> values, Millis now) {
    std::size_t tried = std::min(values.size(), kMaxCookiesTried);
    for (std::size_t i = 0; i < tried; ++i) {
        SessionCache::Hit hit = ports.sessions->find(values[i], now);
        if (!hit) continue;
        const Session& s = hit->session;
        if (hit->users != cfg.users) { // another configuration's users file: look again
            hit->users = cfg.users;
            hit->in_file = cfg.users ? cfg.users->find(s.user) : nullptr;
        }
        auto by_file = users_file_verdict(hit->in_file, s.source);
        bool user_ok = by_file ? *by_file == UserCheck::allowed
                               : now - hit->inserted_ms < UserStatusCache::kMaxAge;
        if (session_state(s, now, cfg.idle_timeout) == SessionState::valid && user_ok &&
            !session_needs_touch(s, now, cfg.idle_timeout) &&
            (s.sso_refresh_at_ms == 0 || now < s.sso_refresh_at_ms)) { // refresh: full flow
            return hit;
        }
        hit.invalidate(); // the store decides
        return {};
    }
    return {};
}

// Each check here is one the full lookup makes; anything it would write or ask the store
// about (a touch, an end, a run-time user's record, a refresh) takes the full lookup.
const SharedIdentity* unchanged_identity(InlinePorts ports, const GateConfig& cfg,
                                         std::span<const std::string_view> values, Millis now) {
    const VerifiedCookie* verified = nullptr;
    std::size_t tried = std::min(values.size(), kMaxCookiesTried);
    for (std::size_t i = 0; i < tried && verified == nullptr; ++i) {
        verified = verified_session_cookie(values[i], *cfg.keys);
    }
    if (verified == nullptr) return nullptr;
    DecodedRecord* memo = find_decoded(verified->store_key());
    if (memo == nullptr) return nullptr;
    auto same = ports.store->equals_now(memo->store_key, memo->record);
    if (!same || !*same) return nullptr;
    const Session& s = memo->session;
    if (memo->users != cfg.users) { // another configuration's users file: look again
        memo->users = cfg.users;
        memo->in_file = cfg.users ? cfg.users->find(s.user) : nullptr;
    }
    const User* in_file = memo->in_file;
    auto by_file = users_file_verdict(in_file, s.source);
    bool user_ok =
        by_file ? *by_file == UserCheck::allowed : !ports.store->durable() && s.source != "store";
    if (session_state(s, now, cfg.idle_timeout) != SessionState::valid || !user_ok ||
        session_needs_touch(s, now, cfg.idle_timeout) ||
        (s.sso_refresh_at_ms != 0 && now >= s.sso_refresh_at_ms)) {
        return nullptr;
    }
    // What apply_users_file gives the full lookup: a file user's identity is the file's.
    if (in_file != nullptr && s.source == "file") return &in_file->identity;
    return &memo->identity;
}

namespace {

// The stored record, checked (expiry, account) and touched when its idle time is due; error
// is ok when session is set.
struct StoredSession {
    Error error = Error::ok;
    std::optional<Session> session;
};

Task<StoredSession> load_session(Ports ports, const GateConfig& cfg, std::string_view key) {
    StoredSession out;
    // The idle-time touch is conditional: a record ended meanwhile (logout, revocation)
    // stays ended; one changed meanwhile (another touch, a refresh) is read again.
    for (int attempt = 0; attempt < kTouchAttempts; ++attempt) {
        auto record = co_await ports.store.get(key);
        if (!record.ok()) {
            out.error = Error::store_unavailable;
            co_return out;
        }
        if (!record.value) {
            out.error = Error::session_expired; // expired by TTL, signed out, or revoked
            co_return out;
        }
        auto decoded = decode_session(*record.value);
        if (!decoded) {
            co_await ports.store.del(key);
            out.error = Error::session_invalid;
            co_return out;
        }
        Millis now = ports.clock.now_ms();
        if (session_state(*decoded, now, cfg.idle_timeout) != SessionState::valid) {
            co_await ports.store.del(key);
            out.error = Error::session_expired;
            co_return out;
        }
        // A disabled or removed user loses the session (recorded, so it stays ended).
        auto user = co_await check_user(ports, cfg, decoded->user, decoded->source);
        if (user == UserCheck::store_unavailable) {
            out.error = Error::store_unavailable;
            co_return out;
        }
        if (user == UserCheck::refused) {
            co_await end_session(ports.store, key);
            out.error = Error::session_invalid;
            co_return out;
        }
        if (!ports.store.durable()) remember_decoded(key, *record.value, *decoded);
        out.session = std::move(*decoded);
        if (!session_needs_touch(*out.session, now, cfg.idle_timeout)) break;
        Session touched = *out.session;
        touched.last_seen_ms = now;
        auto saved =
            co_await ports.store.compare_and_set(key, *record.value, encode_session(touched),
                                                 session_ttl(touched, now, cfg.idle_timeout));
        if (!saved.ok()) {
            out.error = Error::store_unavailable;
            co_return out;
        }
        if (saved.value) {
            out.session = std::move(touched);
            break;
        }
    }
    co_return out;
}

} // namespace

Task<SessionLookup> lookup_session(Ports ports, const GateConfig& cfg, const RequestView& req) {
    SessionLookup out;
    auto values = http::cookie_values(req.cookie_headers, answer::session_cookie_name(cfg, req));
    if (values.empty()) co_return out;
    out.had_cookie = true;
    out.error = Error::session_invalid;
    std::size_t tried = std::min(values.size(), kMaxCookiesTried);
    Millis now = ports.clock.now_ms();

    std::optional<SessionCache::Ticket> ticket;
    if (ports.sessions != nullptr) {
        if (auto hit = cached_session(ports, cfg, values, now)) {
            const Session* s = &hit->session;
            out.error = Error::ok;
            // What the access check uses: the identity (no CSRF token, no methods).
            out.session.user = s->user;
            out.session.email = s->email;
            out.session.name = s->name;
            out.session.groups = s->groups;
            out.session.roles = s->roles;
            co_return out;
        }
        ticket = ports.sessions->begin_fill(now);
    }

    std::optional<VerifiedCookie> verified;
    std::size_t used = 0;
    for (std::size_t i = 0; i < tried && !verified; ++i) {
        verified = verify_session_cookie(values[i], *cfg.keys);
        used = i;
    }
    if (!verified) co_return out;
    out.id = verified->id;
    std::string_view key = verified->store_key();
    auto stored = co_await load_session(ports, cfg, key);
    if (stored.error != Error::ok) {
        out.error = stored.error;
        co_return out;
    }
    std::optional<Session>& session = stored.session;
    now = ports.clock.now_ms();
    apply_users_file(cfg, *session);
    // Not cached when anything was announced meanwhile (the touch above included).
    if (ticket) ports.sessions->fill(*ticket, values[used], key, out.id, *session, now);
    out.error = Error::ok;
    out.session = std::move(*session);
    co_return out;
}

} // namespace authgate::gate
