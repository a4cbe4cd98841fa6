#include "support/sso_kit.h"

#include <cjose/cjose.h>
#include <nlohmann/json.hpp>

#include <cstdlib>
#include <stdexcept>

namespace authgate::testing {

SigningKey::~SigningKey() {
    if (jwk != nullptr) cjose_jwk_release(static_cast<cjose_jwk_t*>(jwk));
}

SigningKey new_rsa_key(const std::string& kid) {
    static const std::uint8_t kE[] = {0x01, 0x00, 0x01};
    cjose_err err{};
    cjose_jwk_t* jwk = cjose_jwk_create_RSA_random(2048, kE, sizeof kE, &err);
    if (jwk == nullptr) throw std::runtime_error("cannot create an RSA key");
    char* text = cjose_jwk_to_json(jwk, false, &err);
    auto pub = nlohmann::json::parse(text);
    free(text); // NOLINT: cjose allocates with malloc
    pub["kid"] = kid;
    pub["alg"] = "RS256";
    pub["use"] = "sig";
    return SigningKey{jwk, kid, pub.dump()};
}

std::string jwks_of(const std::vector<const SigningKey*>& keys) {
    nlohmann::json list = nlohmann::json::array();
    for (const auto* k : keys) list.push_back(nlohmann::json::parse(k->public_jwk));
    return nlohmann::json{{"keys", list}}.dump();
}

std::string sign_jwt(const SigningKey& key, const std::string& claims_json, const char* alg) {
    cjose_err err{};
    cjose_header_t* h = cjose_header_new(&err);
    cjose_header_set(h, "alg", alg, &err);
    cjose_header_set(h, "kid", key.kid.c_str(), &err);
    cjose_jws_t* jws = cjose_jws_sign(static_cast<cjose_jwk_t*>(key.jwk), h,
                                      reinterpret_cast<const uint8_t*>(claims_json.data()),
                                      claims_json.size(), &err);
    if (jws == nullptr) throw std::runtime_error("cannot sign");
    const char* out = nullptr;
    cjose_jws_export(jws, &out, &err);
    std::string compact = out;
    cjose_jws_release(jws);
    cjose_header_release(h);
    return compact;
}

} // namespace authgate::testing
