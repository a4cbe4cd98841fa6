// Hashes, MACs, encodings and constant-time comparison over OpenSSL.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>

namespace authgate::crypto {

using Digest = std::array<std::uint8_t, 32>;

Digest sha256(std::string_view data);
Digest hmac_sha256(std::span<const std::uint8_t> key, std::string_view data);

// An HMAC-SHA256 key with its padded hash states precomputed: a MAC costs two
// compressions plus the data, with no allocation.
class HmacKey {
  public:
    HmacKey() = default;
    explicit HmacKey(std::span<const std::uint8_t> key);
    HmacKey(const HmacKey&) = default;
    HmacKey& operator=(const HmacKey&) = default;
    ~HmacKey();
    Digest mac(std::string_view data) const;

  private:
    alignas(8) unsigned char inner_[112] = {}; // SHA256_CTX
    alignas(8) unsigned char outer_[112] = {};
};
// HKDF-SHA256 expanding one secret into a purpose-bound 32-byte key.
Digest hkdf_sha256(std::span<const std::uint8_t> secret, std::string_view info);

bool constant_time_equal(std::span<const std::uint8_t> a, std::span<const std::uint8_t> b);
bool constant_time_equal(std::string_view a, std::string_view b);

std::string base64url_encode(std::span<const std::uint8_t> data);
std::optional<std::string> base64url_decode(std::string_view text);
// Appends the encoding to out (no temporary string).
void base64url_append(std::string& out, std::span<const std::uint8_t> data);
std::optional<std::string> base64_decode(std::string_view text); // standard alphabet, padded
std::string base64_encode(std::span<const std::uint8_t> data);   // standard alphabet, padded

inline std::span<const std::uint8_t> bytes(std::string_view s) {
    return {reinterpret_cast<const std::uint8_t*>(s.data()), s.size()};
}

} // namespace authgate::crypto
