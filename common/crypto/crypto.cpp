// The per-request hashes use OpenSSL's low-level SHA-256: the EVP one-shots fetch the
// algorithm under a global lock on every call, which cost more than the hash itself.
#define OPENSSL_SUPPRESS_DEPRECATED
#include "authgate/crypto.h"

#include <array>
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
              EVP_PKEY_CTX_set1_hkdf_key(ctx, secret.data(), static_cast<int>(secret.size())) > 0 &&
              EVP_PKEY_CTX_add1_hkdf_info(ctx, reinterpret_cast<const unsigned char*>(info.data()),
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

constexpr char kUrlAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

using DecodeTable = std::array<std::int8_t, 256>;

constexpr DecodeTable make_table(bool url) {
    DecodeTable t{};
    for (auto& v : t) v = -1;
    for (int i = 0; i < 64; ++i)
        t[static_cast<unsigned char>(kUrlAlphabet[i])] = static_cast<std::int8_t>(i);
    if (!url) {
        t['-'] = t['_'] = -1;
        t['+'] = 62;
        t['/'] = 63;
    }
    return t;
}

constexpr DecodeTable kUrlTable = make_table(true);
constexpr DecodeTable kStdTable = make_table(false);

std::optional<std::string> decode_with(std::string_view text, const DecodeTable& table) {
    if (text.size() % 4 == 1) return std::nullopt;
    std::string out(text.size() * 3 / 4, '\0');
    std::size_t o = 0;
    std::size_t i = 0;
    auto at = [&](std::size_t k) -> int {
        return static_cast<int>(table[static_cast<unsigned char>(text[k])]);
    };
    for (; i + 4 <= text.size(); i += 4) {
        int a = at(i), b = at(i + 1), c = at(i + 2), d = at(i + 3);
        if ((a | b | c | d) < 0) return std::nullopt;
        std::uint32_t n = (static_cast<std::uint32_t>(a) << 18) |
                          (static_cast<std::uint32_t>(b) << 12) |
                          (static_cast<std::uint32_t>(c) << 6) | static_cast<std::uint32_t>(d);
        out[o++] = static_cast<char>(n >> 16);
        out[o++] = static_cast<char>(n >> 8);
        out[o++] = static_cast<char>(n);
    }
    std::size_t rest = text.size() - i;
    if (rest >= 2) {
        int a = at(i), b = at(i + 1), c = rest == 3 ? at(i + 2) : 0;
        if ((a | b | c) < 0) return std::nullopt;
        std::uint32_t n = (static_cast<std::uint32_t>(a) << 18) |
                          (static_cast<std::uint32_t>(b) << 12) |
                          (static_cast<std::uint32_t>(c) << 6);
        // The unused low bits of a canonical encoding are zero.
        if ((rest == 2 && (n & 0xffff)) || (rest == 3 && (n & 0xff))) return std::nullopt;
        out[o++] = static_cast<char>(n >> 16);
        if (rest == 3) out[o++] = static_cast<char>(n >> 8);
    }
    out.resize(o);
    return out;
}

} // namespace

std::string base64url_encode(std::span<const std::uint8_t> data) {
    std::string out;
    base64url_append(out, data);
    return out;
}

void base64url_append(std::string& out_str, std::span<const std::uint8_t> data) {
    std::size_t o = out_str.size();
    out_str.resize(o + (data.size() * 4 + 2) / 3);
    char* out = out_str.data();
    std::size_t i = 0;
    for (; i + 3 <= data.size(); i += 3) {
        std::uint32_t n = (static_cast<std::uint32_t>(data[i]) << 16) |
                          (static_cast<std::uint32_t>(data[i + 1]) << 8) | data[i + 2];
        out[o++] = kUrlAlphabet[(n >> 18) & 63];
        out[o++] = kUrlAlphabet[(n >> 12) & 63];
        out[o++] = kUrlAlphabet[(n >> 6) & 63];
        out[o++] = kUrlAlphabet[n & 63];
    }
    if (i < data.size()) {
        std::uint32_t n = static_cast<std::uint32_t>(data[i]) << 16;
        if (i + 1 < data.size()) n |= static_cast<std::uint32_t>(data[i + 1]) << 8;
        out[o++] = kUrlAlphabet[(n >> 18) & 63];
        out[o++] = kUrlAlphabet[(n >> 12) & 63];
        if (i + 1 < data.size()) out[o++] = kUrlAlphabet[(n >> 6) & 63];
    }
}

std::optional<std::string> base64url_decode(std::string_view text) {
    return decode_with(text, kUrlTable);
}

std::string base64_encode(std::span<const std::uint8_t> data) {
    std::string out(4 * ((data.size() + 2) / 3) + 1, '\0');
    int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()), data.data(),
                            static_cast<int>(data.size()));
    out.resize(static_cast<std::size_t>(n));
    return out;
}

std::optional<std::string> base64_decode(std::string_view text) {
    while (!text.empty() && text.back() == '=') text.remove_suffix(1);
    return decode_with(text, kStdTable);
}

} // namespace authgate::crypto
