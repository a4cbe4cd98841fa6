// The flow-state list: what the callback needs, carried sealed in the browser's flow cookie.
#include "authgate/crypto.h"
#include "authgate/oidc.h"
#include "base/bytes.h"

namespace authgate::oidc {

namespace {

constexpr std::uint8_t kFlowVersion = 2;
constexpr std::size_t kStateHashBytes = 32;
constexpr std::size_t kMaxField = 256;
constexpr std::size_t kMaxReturnPath = 2048;

void write_flow(bytes::Writer& w, const FlowState& s) {
    w.str(s.state_hash);
    w.str(s.provider);
    w.str(s.nonce);
    w.str(s.pkce_verifier);
    w.str(s.rd);
    w.varint(static_cast<std::uint64_t>(s.created_ms));
}

bool read_flow(bytes::Reader& r, FlowState& s) {
    std::uint64_t created = 0;
    bool ok = r.str(s.state_hash, kStateHashBytes) && r.str(s.provider, kMaxField) &&
              r.str(s.nonce, kMaxField) && r.str(s.pkce_verifier, kMaxField) &&
              r.str(s.rd, kMaxReturnPath) && r.varint(created) &&
              created <= static_cast<std::uint64_t>(INT64_MAX);
    if (!ok || s.state_hash.size() != kStateHashBytes || s.provider.empty() ||
        !is_valid_pkce_verifier(s.pkce_verifier)) {
        return false;
    }
    s.created_ms = static_cast<Millis>(created);
    return true;
}

bool fresh_at(const FlowState& s, Millis now) {
    return s.created_ms <= now && now - s.created_ms < kFlowTtl;
}

} // namespace

std::string encode_flows(const std::vector<FlowState>& flows) {
    bytes::Writer w;
    w.u8(kFlowVersion);
    w.varint(flows.size());
    for (const auto& f : flows) write_flow(w, f);
    return w.take();
}

Result<std::vector<FlowState>> decode_flows(std::string_view data) {
    bytes::Reader r(data);
    std::uint8_t version = 0;
    if (!r.u8(version)) return fail("empty flow state");
    if (version != kFlowVersion)
        return fail("unsupported flow state version " + std::to_string(version));
    std::uint64_t n = 0;
    if (!r.varint(n) || n > kMaxFlows) return fail("malformed flow state");
    std::vector<FlowState> flows(static_cast<std::size_t>(n));
    for (auto& f : flows) {
        if (!read_flow(r, f)) return fail("malformed flow state");
    }
    if (!r.at_end()) return fail("malformed flow state");
    return flows;
}

void add_flow(std::vector<FlowState>& flows, FlowState fresh, Millis now) {
    std::erase_if(flows, [&](const FlowState& f) { return !fresh_at(f, now); });
    flows.insert(flows.begin(), std::move(fresh));
    if (flows.size() > kMaxFlows) flows.resize(kMaxFlows);
    while (flows.size() > 1 && encode_flows(flows).size() > kMaxFlowBytes) flows.pop_back();
}

std::optional<std::size_t> find_flow(const std::vector<FlowState>& flows, std::string_view state,
                                     Millis now) {
    if (state.empty()) return std::nullopt;
    auto digest = crypto::sha256(state);
    std::string_view hash(reinterpret_cast<const char*>(digest.data()), digest.size());
    std::optional<std::size_t> found;
    for (std::size_t i = 0; i < flows.size(); ++i) {
        if (crypto::constant_time_equal(flows[i].state_hash, hash) && fresh_at(flows[i], now)) {
            found = i;
        }
    }
    return found;
}

} // namespace authgate::oidc
