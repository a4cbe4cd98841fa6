#include "session/verified_cookies.h"

#include <cstdint>
#include <cstring>

namespace authgate {

namespace {

constexpr std::size_t kCookieLen = 64; // base64url of id (32) + tag (16)
constexpr std::size_t kSlots = 128;

struct Slot {
    std::uint64_t ring = 0; // KeyRing::serial() of the check; 0: empty
    std::array<char, kCookieLen> cookie{};
    VerifiedCookie verified;
};

thread_local std::array<Slot, kSlots> slots;

// Genuine values start with base64url of random bytes: their first eight characters are
// already uniform. A crafted value picks its slot but never enters one (only values that
// passed the MAC check are stored), and the comparison below tells it nothing.
std::size_t slot_of(std::string_view value) {
    std::uint64_t w = 0;
    std::memcpy(&w, value.data(), sizeof w);
    w *= 0x9e3779b97f4a7c15ull;
    return static_cast<std::size_t>(w >> 57) % kSlots;
}

// Constant time over the whole value, a word at a time (no early exit).
bool same_cookie(const std::array<char, kCookieLen>& a, std::string_view b) {
    std::uint64_t diff = 0;
    for (std::size_t i = 0; i < kCookieLen; i += 8) {
        std::uint64_t x = 0, y = 0;
        std::memcpy(&x, a.data() + i, 8);
        std::memcpy(&y, b.data() + i, 8);
        diff |= x ^ y;
    }
    return diff == 0;
}

} // namespace

const VerifiedCookie* verified_session_cookie(std::string_view value, const KeyRing& keys) {
    if (value.size() != kCookieLen) return nullptr; // parse_session_cookie's rule too
    Slot& slot = slots[slot_of(value)];
    if (slot.ring == keys.serial() && same_cookie(slot.cookie, value)) return &slot.verified;
    auto id = parse_session_cookie(value, keys);
    if (!id) return nullptr;
    std::string key = session_store_key(*id);
    if (key.size() != slot.verified.key.size()) return nullptr;
    slot.verified.id = *id;
    std::memcpy(slot.verified.key.data(), key.data(), key.size());
    slot.ring = keys.serial();
    std::memcpy(slot.cookie.data(), value.data(), kCookieLen);
    return &slot.verified;
}

std::optional<VerifiedCookie> verify_session_cookie(std::string_view value, const KeyRing& keys) {
    const VerifiedCookie* v = verified_session_cookie(value, keys);
    if (v == nullptr) return std::nullopt;
    return *v;
}

} // namespace authgate
