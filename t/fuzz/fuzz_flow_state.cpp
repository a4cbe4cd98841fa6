// Fuzz target: the OIDC flow-state record decoder (store contents are not trusted blindly).
#include "fuzz.h"

#include "authgate/oidc.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    auto s = authgate::oidc::decode_flow_state(as_view(data, size));
    if (s) {
        // What decodes must re-encode to the same bytes.
        if (authgate::oidc::encode_flow_state(*s) != as_view(data, size)) __builtin_trap();
    }
    return 0;
}
