// Keys and signed tokens for SSO tests and the SSO cost benchmark (cjose signs).
#pragma once

#include <string>
#include <utility>
#include <vector>

namespace authgate::testing {

struct SigningKey {
    void* jwk = nullptr; // cjose_jwk_t*, released with the key
    std::string kid;
    std::string public_jwk; // JSON object with kid, alg RS256, use sig

    SigningKey(void* k, std::string id, std::string pub)
        : jwk(k), kid(std::move(id)), public_jwk(std::move(pub)) {}
    SigningKey(SigningKey&& other) noexcept
        : jwk(std::exchange(other.jwk, nullptr)), kid(std::move(other.kid)),
          public_jwk(std::move(other.public_jwk)) {}
    SigningKey(const SigningKey&) = delete;
    SigningKey& operator=(const SigningKey&) = delete;
    SigningKey& operator=(SigningKey&&) = delete;
    ~SigningKey();
};

SigningKey new_rsa_key(const std::string& kid);
std::string jwks_of(const std::vector<const SigningKey*>& keys);
// Compact JWS of `claims_json` with the key's kid in the header.
std::string sign_jwt(const SigningKey& key, const std::string& claims_json,
                     const char* alg = "RS256");

} // namespace authgate::testing
