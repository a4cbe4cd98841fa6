#include "session/decoded_sessions.h"

#include <algorithm>
#include <array>
#include <cstdint>
#include <cstring>
#include <memory>

namespace authgate {

namespace {

constexpr std::size_t kSlots = 64;

using Slots = std::array<DecodedRecord, kSlots>;

// The hot path reads only `current`, a plain pointer (no TLS init guard); `owner` is made on
// a thread's first remember and frees the slots when the thread ends.
thread_local Slots* current = nullptr;
thread_local std::unique_ptr<Slots> owner;

// Store keys are "s:" + base64url of a SHA-256: the characters after the prefix are uniform.
inline std::size_t slot_of(std::string_view store_key) {
    std::uint64_t w = 0;
    std::memcpy(&w, store_key.data(), std::min(sizeof w, store_key.size()));
    w = (w ^ store_key.size()) * 0x9e3779b97f4a7c15ull;
    if (store_key.size() > 2 + sizeof w) {
        std::uint64_t tail = 0;
        std::memcpy(&tail, store_key.data() + 2, sizeof tail);
        w ^= tail * 0xff51afd7ed558ccdull;
    }
    return static_cast<std::size_t>(w >> 58) % kSlots;
}

} // namespace

DecodedRecord* find_decoded(std::string_view store_key) {
    Slots* slots = current;
    if (slots == nullptr) return nullptr;
    DecodedRecord& slot = (*slots)[slot_of(store_key)];
    return slot.store_key == store_key ? &slot : nullptr;
}

void remember_decoded(std::string_view store_key, std::string_view record, const Session& s) {
    if (current == nullptr) {
        owner = std::make_unique<Slots>();
        current = owner.get();
    }
    DecodedRecord& slot = (*current)[slot_of(store_key)];
    slot.store_key.assign(store_key);
    slot.record.assign(record);
    slot.session = s;
    slot.identity = admit_identity(Identity{s.user, s.email, s.name, s.groups, s.roles});
    slot.users.reset();
    slot.in_file = nullptr;
}

} // namespace authgate
