// PKCE (RFC 7636, S256), state and nonce values.
#include <algorithm>
#include <array>

#include "authgate/crypto.h"
#include "authgate/oidc.h"

namespace authgate::oidc {

namespace {

std::string random_token(Random& random) {
    std::array<std::uint8_t, 32> raw{};
    random.fill(raw);
    return crypto::base64url_encode(raw);
}

} // namespace

std::string new_pkce_verifier(Random& random) { return random_token(random); }

bool is_valid_pkce_verifier(std::string_view v) {
    if (v.size() < 43 || v.size() > 128) return false;
    return std::all_of(v.begin(), v.end(), [](char c) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
               c == '-' || c == '.' || c == '_' || c == '~';
    });
}

std::string pkce_challenge_s256(std::string_view verifier) {
    return crypto::base64url_encode(crypto::sha256(verifier));
}

std::string new_state(Random& random) { return random_token(random); }

std::string new_nonce(Random& random) { return random_token(random); }

} // namespace authgate::oidc
