// Server-side sessions: the cookie carries an opaque random id plus a MAC tag; the
// store keys the session by a hash of the id, so a store dump yields no cookie.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "authgate/keys.h"
#include "authgate/ports.h"
#include "authgate/result.h"

namespace authgate {

// Room for a session's sealed provider tokens: an ID token of oidc::kMaxIdTokenBytes and a
// refresh token of oidc::kMaxRefreshTokenBytes, sealed (base64url) with margin.
constexpr std::size_t kMaxSealedTokensBytes = 40 * std::size_t{1024};

struct SessionId {
    std::array<std::uint8_t, 32> bytes{};
};

struct Session {
    Millis created_ms = 0;
    Millis auth_time_ms = 0;
    Millis last_seen_ms = 0;
    Millis expires_ms = 0; // absolute lifetime end
    std::string user;
    std::string email;
    std::string name;
    std::vector<std::string> groups;
    std::vector<std::string> roles;   // role names resolved at sign-in (v4)
    std::vector<std::string> methods; // "pwd", later "otp", "webauthn", "sso:<provider>"
    std::uint8_t mfa = 0;             // 0 none needed/done; later: pending states
    std::string csrf;                 // per-session CSRF token (base64url)
    std::string source;               // where the user record lives: "file", "store", "sso"
    // Single sign-on: which provider, the IdP's subject and session id (back-channel
    // logout finds sessions by them), and the provider's tokens sealed with the key ring
    // (refresh token, ID token for logout hints).
    std::string sso_provider;
    std::string sso_sub;
    std::string sso_sid;
    std::string sso_tokens;       // sealed; empty when none kept
    Millis sso_refresh_at_ms = 0; // refresh the IdP tokens after this; 0: never
};

// Versioned binary encoding; decode rejects unknown versions and any malformed input.
std::string encode_session(const Session& s);
Result<Session> decode_session(std::string_view data);

SessionId new_session_id(Random& random);
std::string session_cookie_value(const SessionId& id, const KeyRing& keys);
// nullopt for anything that is not a well-formed, correctly tagged cookie value.
std::optional<SessionId> parse_session_cookie(std::string_view value, const KeyRing& keys);
std::string session_store_key(const SessionId& id);

enum class SessionState { valid, idle_expired, lifetime_expired };
SessionState session_state(const Session& s, Millis now, Millis idle_timeout);
// Whether last_seen should be written back now (bounded write rate for idle tracking).
bool session_needs_touch(const Session& s, Millis now, Millis idle_timeout);
// Store TTL: until the earlier of idle and absolute expiry.
Millis session_ttl(const Session& s, Millis now, Millis idle_timeout);

} // namespace authgate
