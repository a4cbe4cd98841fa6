// Fuzz target: the OIDC flow-state list decoder (it reads what a browser's flow cookie opened to).
#include "fuzz.h"

#include "authgate/oidc.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    auto flows = authgate::oidc::decode_flows(as_view(data, size));
    if (flows) {
        // What decodes must re-encode to something that decodes the same (varints may be
        // non-canonical in the input, so the bytes can differ).
        auto again = authgate::oidc::decode_flows(authgate::oidc::encode_flows(*flows));
        if (!again || again->size() != flows->size()) __builtin_trap();
        for (std::size_t i = 0; i < flows->size(); ++i) {
            const auto& a = (*again)[i];
            const auto& s = (*flows)[i];
            if (a.state_hash != s.state_hash || a.provider != s.provider || a.nonce != s.nonce ||
                a.pkce_verifier != s.pkce_verifier || a.rd != s.rd ||
                a.created_ms != s.created_ms) {
                __builtin_trap();
            }
        }
        // Adding a flow keeps the list within its limits.
        auto list = *flows;
        authgate::oidc::FlowState fresh;
        fresh.state_hash.assign(32, 's');
        fresh.provider.assign(1, 'p'); // not = "p": GCC 12 -Wrestrict false positive (PR 105651)
        fresh.pkce_verifier.assign(43, 'v');
        authgate::oidc::add_flow(list, fresh, 0);
        if (list.empty() || list.size() > authgate::oidc::kMaxFlows) __builtin_trap();
    }
    return 0;
}
