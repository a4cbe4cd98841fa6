#include "authgate/keys.h"
#include "base/text.h"

#include <atomic>
#include <string>

#include <openssl/crypto.h>

namespace authgate {

namespace {

constexpr std::size_t kMinSecretBytes = 32;
constexpr std::size_t kMinTagBytes = 16;

bool valid_key_id(std::string_view id) {
    if (id.empty() || id.size() > 32) return false;
    for (char c : id) {
        bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                  c == '-' || c == '_' || c == '.';
        if (!ok) return false;
    }
    return true;
}

std::string_view purpose_label(KeyPurpose p) {
    switch (p) {
    case KeyPurpose::session_cookie: return "authgate session cookie v1";
    case KeyPurpose::csrf: return "authgate csrf v1";
    case KeyPurpose::count_: break;
    }
    return "authgate unknown";
}

} // namespace

Result<KeyRing> KeyRing::parse(std::string_view text) {
    KeyRing ring;
    std::size_t line_no = 0;
    while (!text.empty()) {
        ++line_no;
        auto nl = text.find('\n');
        std::string_view line = text::trim(text.substr(0, nl));
        text = nl == std::string_view::npos ? std::string_view{} : text.substr(nl + 1);
        if (line.empty() || line.front() == '#') continue;

        auto sp = line.find_first_of(" \t");
        if (sp == std::string_view::npos) {
            return fail("line " + std::to_string(line_no) +
                        ": expected \"<key-id> <base64 secret>\"");
        }
        std::string_view id = line.substr(0, sp);
        std::string_view secret_b64 = text::trim(line.substr(sp + 1));
        if (!valid_key_id(id)) {
            return fail("line " + std::to_string(line_no) +
                        ": key id must be 1-32 characters of [A-Za-z0-9._-]");
        }
        auto secret = crypto::base64_decode(secret_b64);
        if (!secret) secret = crypto::base64url_decode(secret_b64);
        if (!secret) return fail("line " + std::to_string(line_no) + ": secret is not base64");
        if (secret->size() < kMinSecretBytes) {
            return fail("line " + std::to_string(line_no) + ": secret of key \"" + std::string(id) +
                        "\" is shorter than 32 bytes");
        }
        for (const auto& k : ring.keys_) {
            if (k.id == id) {
                return fail("line " + std::to_string(line_no) + ": duplicate key id \"" +
                            std::string(id) + "\"");
            }
        }
        Key key{std::string(id), {}, {}};
        std::string& raw = *secret;
        for (std::size_t p = 0; p < key.derived.size(); ++p) {
            auto sub =
                crypto::hkdf_sha256(crypto::bytes(raw), purpose_label(static_cast<KeyPurpose>(p)));
            key.derived[p] = crypto::HmacKey(sub);
            OPENSSL_cleanse(sub.data(), sub.size());
        }
        key.sealing = crypto::hkdf_sha256(crypto::bytes(raw), "authgate sealed secrets v1");
        OPENSSL_cleanse(raw.data(), raw.size());
        ring.keys_.push_back(std::move(key));
    }
    if (ring.keys_.empty()) return fail("no key found");
    static std::atomic<std::uint64_t> next_serial{1};
    ring.serial_ = next_serial.fetch_add(1, std::memory_order_relaxed);
    return ring;
}

crypto::Digest KeyRing::mac(KeyPurpose purpose, std::string_view data) const {
    return keys_.front().derived[static_cast<std::size_t>(purpose)].mac(data);
}

bool KeyRing::verify_mac(KeyPurpose purpose, std::string_view data, std::string_view tag) const {
    if (tag.size() < kMinTagBytes || tag.size() > crypto::Digest{}.size()) return false;
    bool match = false;
    for (const Key& k : keys_) {
        auto expected = k.derived[static_cast<std::size_t>(purpose)].mac(data);
        match |= crypto::constant_time_equal(
            std::span<const std::uint8_t>(expected.data(), tag.size()), crypto::bytes(tag));
    }
    return match;
}

} // namespace authgate
