// Sealing secrets at rest with AES-256-GCM under the key ring.
#include "authgate/keys.h"

#include <memory>
#include <stdexcept>

#include <openssl/evp.h>

namespace authgate {

namespace {

constexpr std::size_t kNonce = 12;
constexpr std::size_t kTag = 16;
constexpr std::string_view kVersion = "v1";

using CipherCtx = std::unique_ptr<EVP_CIPHER_CTX, decltype(&EVP_CIPHER_CTX_free)>;

CipherCtx new_ctx() { return CipherCtx(EVP_CIPHER_CTX_new(), &EVP_CIPHER_CTX_free); }

const unsigned char* u(std::string_view s) {
    return reinterpret_cast<const unsigned char*>(s.data());
}

} // namespace

std::string KeyRing::seal(std::string_view plaintext, std::string_view context,
                          Random& random) const {
    const Key& k = keys_.front();
    std::string raw(kNonce + plaintext.size() + kTag, '\0');
    auto* out = reinterpret_cast<unsigned char*>(raw.data());
    random.fill(std::span<std::uint8_t>(out, kNonce));
    auto ctx = new_ctx();
    int len = 0;
    bool ok =
        ctx &&
        EVP_EncryptInit_ex(ctx.get(), EVP_aes_256_gcm(), nullptr, k.sealing.data(), out) == 1 &&
        EVP_EncryptUpdate(ctx.get(), nullptr, &len, u(context), static_cast<int>(context.size())) ==
            1 &&
        EVP_EncryptUpdate(ctx.get(), out + kNonce, &len, u(plaintext),
                          static_cast<int>(plaintext.size())) == 1 &&
        EVP_EncryptFinal_ex(ctx.get(), out + kNonce + len, &len) == 1 &&
        EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_GET_TAG, kTag,
                            out + kNonce + plaintext.size()) == 1;
    if (!ok) throw std::runtime_error("AES-256-GCM encryption failed");
    std::string sealed = std::string(kVersion) + "." + k.id + ".";
    crypto::base64url_append(sealed, crypto::bytes(raw));
    return sealed;
}

Result<std::string> KeyRing::open(std::string_view sealed, std::string_view context) const {
    auto dot1 = sealed.find('.');
    auto dot2 = dot1 == std::string_view::npos ? dot1 : sealed.find('.', dot1 + 1);
    if (dot2 == std::string_view::npos || sealed.substr(0, dot1) != kVersion) {
        return fail("not a sealed value");
    }
    std::string_view id = sealed.substr(dot1 + 1, dot2 - dot1 - 1);
    const Key* key = nullptr;
    for (const auto& k : keys_) {
        if (k.id == id) key = &k;
    }
    if (key == nullptr) return fail("sealed with unknown key \"" + std::string(id) + "\"");
    auto raw = crypto::base64url_decode(sealed.substr(dot2 + 1));
    if (!raw || raw->size() < kNonce + kTag) return fail("malformed sealed value");
    std::size_t n = raw->size() - kNonce - kTag;
    const auto* in = reinterpret_cast<const unsigned char*>(raw->data());
    std::string plain(n, '\0');
    auto ctx = new_ctx();
    int len = 0;
    bool ok =
        ctx &&
        EVP_DecryptInit_ex(ctx.get(), EVP_aes_256_gcm(), nullptr, key->sealing.data(), in) == 1 &&
        EVP_DecryptUpdate(ctx.get(), nullptr, &len, u(context), static_cast<int>(context.size())) ==
            1 &&
        EVP_DecryptUpdate(ctx.get(), reinterpret_cast<unsigned char*>(plain.data()), &len,
                          in + kNonce, static_cast<int>(n)) == 1 &&
        EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_SET_TAG, kTag,
                            const_cast<unsigned char*>(in + kNonce + n)) == 1 &&
        EVP_DecryptFinal_ex(ctx.get(), reinterpret_cast<unsigned char*>(plain.data()) + len,
                            &len) == 1;
    if (!ok) {
        OPENSSL_cleanse(plain.data(), plain.size());
        return fail("sealed value failed authentication");
    }
    return plain;
}

} // namespace authgate
