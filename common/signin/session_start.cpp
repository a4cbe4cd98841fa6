#include "signin/session_start.h"

#include "answer/responses.h"
#include "authgate/crypto.h"
#include "authgate/http.h"
#include "authgate/store_keys.h"

namespace authgate::signin {

std::string random_token(Random& random, std::size_t n) {
    std::string raw(n, '\0');
    random.fill(std::span<std::uint8_t>(reinterpret_cast<std::uint8_t*>(raw.data()), n));
    return crypto::base64url_encode(crypto::bytes(raw));
}

namespace {

// Makes room for one more session of the user: beyond the cap, the oldest sessions in
// the index (earliest expiry first) end, record and index entries, so the index never
// holds more than the cap and sign-out-everywhere reaches every session.
Task<bool> end_oldest_sessions(Store& store, const std::string& user, unsigned cap, Millis now) {
    std::string index = user_sessions_key(user);
    auto members = co_await store.index_members(index, now);
    if (!members.ok()) co_return false;
    if (members.value.size() < cap) co_return true;
    std::size_t excess = members.value.size() - (cap - 1);
    for (std::size_t i = 0; i < excess; ++i) {
        const std::string& key = members.value[i];
        auto ended = co_await end_session(store, key);
        if (!ended.ok()) co_return false;
        // An idle-expired session has no record left: its index entry goes all the same.
        auto unindexed = co_await store.index_remove(index, key);
        if (!unindexed.ok()) co_return false;
    }
    co_return true;
}

} // namespace

Task<std::optional<StartedSession>> start_session(Ports ports, const GateConfig& cfg,
                                                  const RequestView& req, const Session& s) {
    for (auto v : http::cookie_values(req.cookie_headers, answer::session_cookie_name(cfg, req))) {
        if (auto old = parse_session_cookie(v, *cfg.keys)) {
            auto ended = co_await end_session(ports.store, session_store_key(*old));
            if (!ended.ok()) co_return std::nullopt;
        }
    }
    Millis now = ports.clock.now_ms();
    if (!co_await end_oldest_sessions(ports.store, s.user, cfg.max_sessions_per_user, now)) {
        co_return std::nullopt;
    }
    SessionId id = new_session_id(ports.random);
    StartedSession out;
    out.store_key = session_store_key(id);
    auto saved = co_await ports.store.set(out.store_key, encode_session(s),
                                          session_ttl(s, now, cfg.idle_timeout));
    if (!saved.ok()) co_return std::nullopt;
    auto indexed =
        co_await ports.store.index_add(user_sessions_key(s.user), out.store_key, s.expires_ms, now);
    if (!indexed.ok()) {
        co_await ports.store.del(out.store_key);
        co_return std::nullopt;
    }
    out.set_cookie = answer::set_session_cookie(cfg, req, session_cookie_value(id, *cfg.keys),
                                                cfg.session_lifetime);
    co_return out;
}

} // namespace authgate::signin
