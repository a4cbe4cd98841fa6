// Keys and signed tokens for SSO tests and the SSO cost benchmark (cjose signs).
#pragma once

#include <string>
#include <vector>

namespace authgate::testing {

struct SigningKey {
    void* jwk = nullptr;      // cjose_jwk_t*
    std::string kid;
    std::string public_jwk;   // JSON object with kid, alg RS256, use sig
};

SigningKey new_rsa_key(const std::string& kid);
std::string jwks_of(const std::vector<const SigningKey*>& keys);
// Compact JWS of `claims_json` with the key's kid in the header.
std::string sign_jwt(const SigningKey& key, const std::string& claims_json,
                     const char* alg = "RS256");

} // namespace authgate::testing
