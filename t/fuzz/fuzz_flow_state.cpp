// Fuzz target: the OIDC flow-state record decoder (store contents are not trusted blindly).
#include "fuzz.h"

#include "authgate/oidc.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    auto s = authgate::oidc::decode_flow_state(as_view(data, size));
    if (s) {
        // What decodes must re-encode to something that decodes the same (varints may be
        // non-canonical in the input, so the bytes can differ).
        auto again = authgate::oidc::decode_flow_state(authgate::oidc::encode_flow_state(*s));
        if (!again || again->provider != s->provider || again->nonce != s->nonce ||
            again->pkce_verifier != s->pkce_verifier || again->rd != s->rd ||
            again->created_ms != s->created_ms || again->binding != s->binding) {
            __builtin_trap();
        }
    }
    return 0;
}
