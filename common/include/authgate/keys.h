// The server key ring from authgate_key_file: one key per line, "<id> <base64 secret>",
// the first line being the primary key. Purpose-specific keys are derived with HKDF;
// MACs are made with the primary key and checked against every key (rotation).
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "authgate/crypto.h"
#include "authgate/ports.h"
#include "authgate/result.h"

namespace authgate {

// What a derived key is for; each purpose gets its own HKDF-derived key.
enum class KeyPurpose { session_cookie, csrf, count_ };

class KeyRing {
  public:
    static Result<KeyRing> parse(std::string_view text);

    const std::string& primary_id() const { return keys_.front().id; }
    std::size_t size() const { return keys_.size(); }
    // Differs between rings parsed apart (never 0): per-thread memos of MAC checks key on it.
    std::uint64_t serial() const { return serial_; }

    crypto::Digest mac(KeyPurpose purpose, std::string_view data) const;
    // Constant-time check of a (possibly truncated, >= 16 bytes) tag against every key.
    bool verify_mac(KeyPurpose purpose, std::string_view data, std::string_view tag) const;

    // Secrets at rest (TOTP seeds, refresh tokens...): AES-256-GCM under the primary key,
    // "v1.<key id>.<base64url(nonce | ciphertext | tag)>". `context` is authenticated but
    // not stored: a sealed value only opens for the same context (e.g. "totp:alice").
    std::string seal(std::string_view plaintext, std::string_view context, Random& random) const;
    // Opens with whichever key the value names, so rotated-out keys still decrypt.
    Result<std::string> open(std::string_view sealed, std::string_view context) const;

  private:
    struct Key {
        std::string id;
        std::array<crypto::HmacKey, static_cast<std::size_t>(KeyPurpose::count_)> derived;
        crypto::Digest sealing; // AES-256-GCM key
    };
    std::vector<Key> keys_;
    std::uint64_t serial_ = 0;
};

} // namespace authgate
