// OpenID Provider metadata (/.well-known/openid-configuration).
#include <nlohmann/json.hpp>

#include "authgate/oidc.h"
#include "oidc/json_members.h"

namespace authgate::oidc {

using nlohmann::json;

Result<ProviderMetadata> parse_discovery(std::string_view text, std::string_view expected_issuer) {
    if (text.size() > kMaxDocumentBytes) return fail("discovery document too large");
    json doc = json::parse(text, nullptr, false);
    if (doc.is_discarded() || !doc.is_object()) {
        return fail("discovery document is not a JSON object");
    }
    ProviderMetadata m;
    struct Field {
        const char* name;
        std::string* out;
        bool required;
    };
    const Field fields[] = {
        {"issuer", &m.issuer, true},
        {"authorization_endpoint", &m.authorization_endpoint, true},
        {"token_endpoint", &m.token_endpoint, true},
        {"jwks_uri", &m.jwks_uri, true},
        {"userinfo_endpoint", &m.userinfo_endpoint, false},
        {"end_session_endpoint", &m.end_session_endpoint, false},
        {"revocation_endpoint", &m.revocation_endpoint, false},
    };
    for (const auto& f : fields) {
        if (!read_string(doc, f.name, *f.out))
            return fail(std::string(f.name) + " is not a string");
        if (f.out->empty()) {
            if (f.required) return fail(std::string("discovery lacks ") + f.name);
            continue;
        }
        if (f.out == &m.issuer) {
            if (m.issuer != expected_issuer) {
                return fail("discovery issuer is not the configured issuer");
            }
        }
        if (!is_allowed_endpoint(*f.out)) {
            return fail(std::string(f.name) + " is not https (or http to a loopback host)");
        }
    }
    if (!read_strings(doc, "id_token_signing_alg_values_supported",
                      m.id_token_signing_alg_values_supported) ||
        !read_strings(doc, "code_challenge_methods_supported",
                      m.code_challenge_methods_supported)) {
        return fail("discovery has a malformed algorithm list");
    }
    if (auto it = doc.find("authorization_response_iss_parameter_supported"); it != doc.end()) {
        if (!it->is_boolean()) {
            return fail("authorization_response_iss_parameter_supported is not a boolean");
        }
        m.authorization_response_iss_parameter_supported = it->get<bool>();
    }
    return m;
}

} // namespace authgate::oidc
