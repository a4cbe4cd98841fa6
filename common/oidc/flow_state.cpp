// The flow-state record: what the callback needs, kept in the store under the state.
#include "authgate/crypto.h"
#include "authgate/oidc.h"
#include "base/bytes.h"

namespace authgate::oidc {

namespace {

constexpr std::uint8_t kFlowVersion = 1;
constexpr std::size_t kMaxField = 1024;
constexpr std::size_t kMaxReturnPath = 8192;

} // namespace

std::string encode_flow_state(const FlowState& s) {
    bytes::Writer w;
    w.u8(kFlowVersion);
    w.str(s.provider);
    w.str(s.nonce);
    w.str(s.pkce_verifier);
    w.str(s.rd);
    w.varint(static_cast<std::uint64_t>(s.created_ms));
    w.str(s.binding);
    return w.take();
}

Result<FlowState> decode_flow_state(std::string_view data) {
    bytes::Reader r(data);
    std::uint8_t version = 0;
    if (!r.u8(version)) return fail("empty flow state");
    if (version != kFlowVersion) return fail("unsupported flow state version " + std::to_string(version));
    FlowState s;
    std::uint64_t created = 0;
    bool ok = r.str(s.provider, kMaxField) && r.str(s.nonce, kMaxField) &&
              r.str(s.pkce_verifier, kMaxField) && r.str(s.rd, kMaxReturnPath) &&
              r.varint(created) && created <= static_cast<std::uint64_t>(INT64_MAX) &&
              r.str(s.binding, kMaxField) && r.at_end();
    if (!ok || s.provider.empty()) return fail("malformed flow state");
    if (!s.pkce_verifier.empty() && !is_valid_pkce_verifier(s.pkce_verifier)) {
        return fail("malformed flow state");
    }
    s.created_ms = static_cast<Millis>(created);
    return s;
}

bool flow_binding_matches(const FlowState& s, std::string_view binding) {
    return !s.binding.empty() && crypto::constant_time_equal(s.binding, binding);
}

} // namespace authgate::oidc
