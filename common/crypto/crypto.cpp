// The per-request hashes use OpenSSL's low-level SHA-256: the EVP one-shots fetch the
// algorithm under a global lock on every call, which cost more than the hash itself.
#define OPENSSL_SUPPRESS_DEPRECATED
#include "authgate/crypto.h"

#include <cstring>
#include <stdexcept>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/kdf.h>
#include <openssl/sha.h>

namespace authgate::crypto {

Digest sha256(std::string_view data) {
    Digest d{};
    SHA256_CTX ctx;
    SHA256_Init(&ctx);
    SHA256_Update(&ctx, data.data(), data.size());
    SHA256_Final(d.data(), &ctx);
    return d;
}

HmacKey::HmacKey(std::span<const std::uint8_t> key) {
    constexpr std::size_t kBlock = 64;
    std::uint8_t block[kBlock] = {};
    if (key.size() > kBlock) {
        auto d = sha256(std::string_view(reinterpret_cast<const char*>(key.data()), key.size()));
        std::memcpy(block, d.data(), d.size());
    } else if (!key.empty()) {
        std::memcpy(block, key.data(), key.size());
    }
    std::uint8_t pad[kBlock];
    static_assert(sizeof(SHA256_CTX) <= sizeof(inner_));
    SHA256_CTX ctx;
    for (std::size_t i = 0; i < kBlock; ++i) pad[i] = block[i] ^ 0x36;
    SHA256_Init(&ctx);
    SHA256_Update(&ctx, pad, kBlock);
    std::memcpy(inner_, &ctx, sizeof ctx);
    for (std::size_t i = 0; i < kBlock; ++i) pad[i] = block[i] ^ 0x5c;
    SHA256_Init(&ctx);
    SHA256_Update(&ctx, pad, kBlock);
    std::memcpy(outer_, &ctx, sizeof ctx);
    OPENSSL_cleanse(block, sizeof block);
    OPENSSL_cleanse(pad, sizeof pad);
    OPENSSL_cleanse(&ctx, sizeof ctx);
}

HmacKey::~HmacKey() {
    OPENSSL_cleanse(inner_, sizeof inner_);
    OPENSSL_cleanse(outer_, sizeof outer_);
}

Digest HmacKey::mac(std::string_view data) const {
    SHA256_CTX ctx;
    std::memcpy(&ctx, inner_, sizeof ctx);
    SHA256_Update(&ctx, data.data(), data.size());
    Digest inner{};
    SHA256_Final(inner.data(), &ctx);
    std::memcpy(&ctx, outer_, sizeof ctx);
    SHA256_Update(&ctx, inner.data(), inner.size());
    Digest out{};
    SHA256_Final(out.data(), &ctx);
    return out;
}

Digest hmac_sha256(std::span<const std::uint8_t> key, std::string_view data) {
    return HmacKey(key).mac(data);
}

Digest hkdf_sha256(std::span<const std::uint8_t> secret, std::string_view info) {
    Digest out{};
    EVP_PKEY_CTX* ctx = EVP_PKEY_CTX_new_id(EVP_PKEY_HKDF, nullptr);
    std::size_t len = out.size();
    bool ok = ctx != nullptr && EVP_PKEY_derive_init(ctx) > 0 &&
              EVP_PKEY_CTX_set_hkdf_md(ctx, EVP_sha256()) > 0 &&
              EVP_PKEY_CTX_set1_hkdf_key(ctx, secret.data(), static_cast<int>(secret.size())) >
                  0 &&
              EVP_PKEY_CTX_add1_hkdf_info(ctx,
                                          reinterpret_cast<const unsigned char*>(info.data()),
                                          static_cast<int>(info.size())) > 0 &&
              EVP_PKEY_derive(ctx, out.data(), &len) > 0;
    EVP_PKEY_CTX_free(ctx);
    if (!ok) throw std::runtime_error("HKDF failed");
    return out;
}

bool constant_time_equal(std::span<const std::uint8_t> a, std::span<const std::uint8_t> b) {
    if (a.size() != b.size()) return false;
    return a.empty() || CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

bool constant_time_equal(std::string_view a, std::string_view b) {
    return constant_time_equal(bytes(a), bytes(b));
}

namespace {

constexpr char kUrlAlphabet[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

int url_value(char c) {
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == '-') return 62;
    if (c == '_') return 63;
    return -1;
}

int std_value(char c) {
    if (c == '+') return 62;
    if (c == '/') return 63;
    if (c == '-' || c == '_') return -1;
    return url_value(c);
}

std::optional<std::string> decode_with(std::string_view text, int (*value)(char)) {
    std::string out;
    out.reserve(text.size() * 3 / 4);
    std::uint32_t acc = 0;
    int bits = 0;
    for (char c : text) {
        int v = value(c);
        if (v < 0) return std::nullopt;
        acc = (acc << 6) | static_cast<std::uint32_t>(v);
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            out.push_back(static_cast<char>((acc >> bits) & 0xff));
        }
    }
    // Leftover bits must be zero padding of a canonical encoding.
    if (bits >= 6 || (acc & ((1u << bits) - 1)) != 0) return std::nullopt;
    return out;
}

} // namespace

std::string base64url_encode(std::span<const std::uint8_t> data) {
    std::string out;
    out.reserve((data.size() * 4 + 2) / 3);
    std::uint32_t acc = 0;
    int bits = 0;
    for (std::uint8_t b : data) {
        acc = (acc << 8) | b;
        bits += 8;
        while (bits >= 6) {
            bits -= 6;
            out.push_back(kUrlAlphabet[(acc >> bits) & 0x3f]);
        }
    }
    if (bits > 0) out.push_back(kUrlAlphabet[(acc << (6 - bits)) & 0x3f]);
    return out;
}

std::optional<std::string> base64url_decode(std::string_view text) {
    return decode_with(text, url_value);
}

std::optional<std::string> base64_decode(std::string_view text) {
    while (!text.empty() && text.back() == '=') text.remove_suffix(1);
    return decode_with(text, std_value);
}

} // namespace authgate::crypto
