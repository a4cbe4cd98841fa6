// The authgate_flow cookie: the browser's pending sign-ins, sealed with the key ring so
// that neither the nonce nor the PKCE verifier is ever stored or readable by the client.
#include "sso/flows.h"

#include "answer/responses.h"
#include "authgate/crypto.h"
#include "authgate/http.h"
#include "authgate/keys.h"

namespace authgate::sso {

namespace {

constexpr std::string_view kFlowContext = "authgate-flow";
constexpr std::size_t kMaxCookiesTried = 2;
constexpr std::size_t kMaxSealedBytes = 4096;

} // namespace

std::vector<oidc::FlowState> read_flows(const GateConfig& cfg, const RequestView& req) {
    std::size_t tried = 0;
    for (auto v : http::cookie_values(req.cookie_headers, answer::flow_cookie_name(cfg, req))) {
        if (tried++ == kMaxCookiesTried) break;
        if (v.size() > kMaxSealedBytes) continue;
        auto plain = cfg.keys->open(v, kFlowContext);
        if (!plain) continue;
        auto flows = oidc::decode_flows(*plain);
        if (flows) return std::move(*flows);
    }
    return {};
}

std::string flow_cookie(const GateConfig& cfg, const RequestView& req, Random& random,
                        const std::vector<oidc::FlowState>& flows) {
    if (flows.empty()) return answer::clear_flow_cookie(cfg, req);
    return answer::set_flow_cookie(cfg, req,
                                   cfg.keys->seal(oidc::encode_flows(flows), kFlowContext, random));
}

std::string used_state_key(std::string_view state) {
    std::string key = "fu:";
    crypto::base64url_append(key, crypto::sha256(state));
    return key;
}

} // namespace authgate::sso
