// Fuzz target: the IdP answers the relying party parses (discovery, token, userinfo).
// Input: the document, optionally NUL and the expected issuer.
#include "fuzz.h"

#include "authgate/oidc.h"

using namespace authgate;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    auto f = fields(data, size);
    std::string_view issuer = f.size() > 1 ? f[1] : "https://idp.example.com";
    auto m = oidc::parse_discovery(f[0], issuer);
    if (m) {
        // Whatever parses names the configured issuer and only allowed endpoints.
        if (m->issuer != issuer || !oidc::is_allowed_endpoint(m->token_endpoint) ||
            !oidc::is_allowed_endpoint(m->jwks_uri) ||
            !oidc::is_allowed_endpoint(m->authorization_endpoint)) {
            __builtin_trap();
        }
    }
    auto t = oidc::parse_token_response(f[0]);
    if (t && !t->is_error() && (t->access_token.empty() || t->expires_in < 0)) __builtin_trap();
    auto u = oidc::parse_userinfo(f[0], "u1");
    if (u && u->sub() != "u1") __builtin_trap();
    (void)oidc::is_allowed_endpoint(f[0]);
    return 0;
}
