// A per-thread memo of session cookie values that passed the MAC check, with the store
// key hashed from their id: both are pure functions of the value and the key ring, and
// they were two thirds of a shared-memory session lookup. The store is still read on
// every request, so a logout or a revocation is seen at once.
#pragma once

#include <array>
#include <optional>
#include <string_view>

#include "authgate/keys.h"
#include "authgate/session.h"

namespace authgate {

struct VerifiedCookie {
    SessionId id;
    std::array<char, 45> key{}; // "s:" + base64url(sha256(id)), as session_store_key
    std::string_view store_key() const { return {key.data(), key.size()}; }
};

// What parse_session_cookie and session_store_key give for `value`, or nullopt.
std::optional<VerifiedCookie> verify_session_cookie(std::string_view value, const KeyRing& keys);
// The same without a copy: the memo's entry, valid until this thread's next call (the
// inline check, which never waits); null when the value does not verify.
const VerifiedCookie* verified_session_cookie(std::string_view value, const KeyRing& keys);

} // namespace authgate
