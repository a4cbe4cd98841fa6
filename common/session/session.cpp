#include "authgate/session.h"

#include "base/bytes.h"

namespace authgate {

namespace {

// v4 added `roles`, v3 the SSO fields, v2 `source`; older records still decode.
constexpr std::uint8_t kSessionVersion = 4;
constexpr std::size_t kMaxField = 4096;
constexpr std::size_t kMaxListItems = 256;
constexpr std::size_t kCookieTagBytes = 16;

void write_list(bytes::Writer& w, const std::vector<std::string>& items) {
    w.varint(items.size());
    for (const auto& i : items) w.str(i);
}

bool read_list(bytes::Reader& r, std::vector<std::string>& items) {
    std::uint64_t n = 0;
    if (!r.varint(n) || n > kMaxListItems) return false;
    items.resize(n);
    for (auto& i : items) {
        if (!r.str(i, kMaxField)) return false;
    }
    return true;
}

bool read_time(bytes::Reader& r, Millis& out) {
    std::uint64_t v = 0;
    if (!r.varint(v) || v > static_cast<std::uint64_t>(INT64_MAX)) return false;
    out = static_cast<Millis>(v);
    return true;
}

} // namespace

std::string encode_session(const Session& s) {
    bytes::Writer w;
    w.u8(kSessionVersion);
    w.varint(static_cast<std::uint64_t>(s.created_ms));
    w.varint(static_cast<std::uint64_t>(s.auth_time_ms));
    w.varint(static_cast<std::uint64_t>(s.last_seen_ms));
    w.varint(static_cast<std::uint64_t>(s.expires_ms));
    w.str(s.user);
    w.str(s.email);
    w.str(s.name);
    write_list(w, s.groups);
    write_list(w, s.methods);
    w.u8(s.mfa);
    w.str(s.csrf);
    w.str(s.source);
    w.str(s.sso_provider);
    w.str(s.sso_sub);
    w.str(s.sso_sid);
    w.str(s.sso_tokens);
    w.varint(static_cast<std::uint64_t>(s.sso_refresh_at_ms));
    write_list(w, s.roles);
    return w.take();
}

Result<Session> decode_session(std::string_view data) {
    bytes::Reader r(data);
    std::uint8_t version = 0;
    if (!r.u8(version)) return fail("empty session record");
    if (version < 1 || version > kSessionVersion) {
        return fail("unsupported session version " + std::to_string(version));
    }
    Session s;
    bool ok = read_time(r, s.created_ms) && read_time(r, s.auth_time_ms) &&
              read_time(r, s.last_seen_ms) && read_time(r, s.expires_ms) &&
              r.str(s.user, kMaxField) && r.str(s.email, kMaxField) && r.str(s.name, kMaxField) &&
              read_list(r, s.groups) && read_list(r, s.methods) && r.u8(s.mfa) &&
              r.str(s.csrf, kMaxField) &&
              (version == 1 ? (s.source = "file", true) : r.str(s.source, kMaxField)) &&
              (version < 3 ||
               (r.str(s.sso_provider, kMaxField) && r.str(s.sso_sub, kMaxField) &&
                r.str(s.sso_sid, kMaxField) && r.str(s.sso_tokens, kMaxSealedTokensBytes) &&
                read_time(r, s.sso_refresh_at_ms))) &&
              (version < 4 || read_list(r, s.roles)) && r.at_end();
    if (!ok || s.user.empty()) return fail("malformed session record");
    return s;
}

SessionId new_session_id(Random& random) {
    SessionId id;
    random.fill(id.bytes);
    return id;
}

std::string session_cookie_value(const SessionId& id, const KeyRing& keys) {
    std::string raw(reinterpret_cast<const char*>(id.bytes.data()), id.bytes.size());
    auto tag = keys.mac(KeyPurpose::session_cookie, raw);
    raw.append(reinterpret_cast<const char*>(tag.data()), kCookieTagBytes);
    return crypto::base64url_encode(crypto::bytes(raw));
}

std::optional<SessionId> parse_session_cookie(std::string_view value, const KeyRing& keys) {
    constexpr std::size_t kRawLen = 32 + kCookieTagBytes;
    constexpr std::size_t kEncodedLen = (kRawLen * 4 + 2) / 3;
    if (value.size() != kEncodedLen) return std::nullopt;
    auto raw = crypto::base64url_decode(value);
    if (!raw || raw->size() != kRawLen) return std::nullopt;
    std::string_view id_part = std::string_view(*raw).substr(0, 32);
    std::string_view tag = std::string_view(*raw).substr(32);
    if (!keys.verify_mac(KeyPurpose::session_cookie, id_part, tag)) return std::nullopt;
    SessionId id;
    std::copy(id_part.begin(), id_part.end(), reinterpret_cast<char*>(id.bytes.data()));
    return id;
}

std::string session_store_key(const SessionId& id) {
    auto h = crypto::sha256(
        std::string_view(reinterpret_cast<const char*>(id.bytes.data()), id.bytes.size()));
    std::string key;
    key.reserve(2 + 43);
    key = "s:";
    crypto::base64url_append(key, h);
    return key;
}

SessionState session_state(const Session& s, Millis now, Millis idle_timeout) {
    if (now >= s.expires_ms) return SessionState::lifetime_expired;
    if (idle_timeout > 0 && now - s.last_seen_ms >= idle_timeout) {
        return SessionState::idle_expired;
    }
    return SessionState::valid;
}

bool session_needs_touch(const Session& s, Millis now, Millis idle_timeout) {
    // Write back at most once per tenth of the idle timeout (and at most once a minute
    // for long timeouts), so idle tracking costs a fraction of a write per request.
    Millis step = std::min<Millis>(idle_timeout / 10, 60'000);
    return now - s.last_seen_ms >= step;
}

Millis session_ttl(const Session& s, Millis now, Millis idle_timeout) {
    Millis until = s.expires_ms - now;
    if (idle_timeout > 0) until = std::min(until, s.last_seen_ms + idle_timeout - now);
    return std::max<Millis>(until, 1);
}

} // namespace authgate
