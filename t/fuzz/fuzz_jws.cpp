// Fuzz target: JWKS parsing and compact JWS verification with claim validation.
// Input: token, optionally NUL and a JWKS document (otherwise a built-in key set whose
// keys signed the seed tokens). The token text is also parsed as a claims object.
#include "fuzz.h"

#include <array>

#include "authgate/jose.h"

using namespace authgate;
using namespace authgate::jose;

namespace {

// Public keys only (an RSA-2048 key "r1" and a P-256 key "e1").
constexpr std::string_view kJwks =
    R"JWKS({"keys":[{"kty":"RSA","kid":"r1","e":"AQAB","n":"0D94xL3y5v-AxAzUprG31awxkjykOGotV0MEVkAkBsuW08m7dcw2hhSL_VJMTfqhKQXx1BefqDWLXmL_8FbQMow2Kj8Jse95X5NRHKhRQNjYuH6vtjuRe_LwsH0NVsY3D4mxHqSGKA2FW6dFW0rIAkMjZU2J5GhO2NpJoilMnIcuVW6FN7q9RexvWcdKNlx5gzBmz8BD3UG5Aqy5DRDR18uOw80p5U6SJLUht4RQ6p5d7g4CdDaKDQU34UzhJQPVFWkW9gA3-dCXe_DTy-4OigoirCSw1doA_dAybX0-oX4kRvXrQGpFE6a8MmsUFc-gN60AtEDP3Z9ICndQMu_ymQ"},{"kty":"EC","kid":"e1","crv":"P-256","x":"jp5jjW4MPNYnRC_jZtTahs9AlevDG0GQ9hWTjMjK8jo","y":"KdFejrQC2t7TnICxjR0TASBJ7ZKEqd7KiqFgyOKBcLI"}]})JWKS";

constexpr Millis kNow = 1'700'000'000'000;
constexpr std::array<Alg, 4> kAllowed{Alg::rs256, Alg::ps256, Alg::es256, Alg::es512};

void exercise(std::string_view token, const KeySet& keys) {
    Expectations e;
    e.issuer = "https://idp.example.com";
    e.audience = "gate";
    e.nonce = "n1";
    e.max_age_ms = 3'600'000;
    auto id = verify_id_token(token, keys, kAllowed, e, kNow);
    if (id && (id->claims.sub().value_or("").empty())) __builtin_trap();
    (void)verify_logout_token(token, keys, kAllowed, e, kNow);
    std::array<std::string, 1> scopes{"read"};
    AccessTokenRules rules;
    rules.client_id = "gate";
    (void)verify_access_token(token, keys, kAllowed, e, rules, scopes, kNow);
}

void read_claims(std::string_view text) {
    auto c = Claims::parse(text);
    if (!c) return;
    (void)c->string("realm_access.roles");
    (void)c->strings("realm_access.roles");
    (void)c->strings("groups");
    (void)c->boolean("email_verified");
    (void)c->time_ms("exp");
    (void)c->scopes();
    (void)validate_claims(*c, Expectations{}, kNow);
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    static const KeySet builtin = *KeySet::parse(kJwks);
    auto f = fields(data, size);
    if (f.size() > 1) {
        auto keys = KeySet::parse(f[1]);
        if (keys) {
            if (keys->size() + keys->skipped().total() > KeySetLimits{}.max_keys) __builtin_trap();
            exercise(f[0], *keys);
        }
    } else {
        exercise(f[0], builtin);
    }
    read_claims(f[0]);
    return 0;
}
