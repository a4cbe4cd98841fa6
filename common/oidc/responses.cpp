// Token endpoint and userinfo answers.
#include <algorithm>
#include <cmath>

#include <nlohmann/json.hpp>

#include "authgate/oidc.h"
#include "oidc/json_members.h"

namespace authgate::oidc {

namespace {

using nlohmann::json;

constexpr std::int64_t kMaxExpiresIn = 10LL * 365 * 24 * 3600;

bool equals_nocase(std::string_view a, std::string_view b) {
    if (a.size() != b.size()) return false;
    for (std::size_t i = 0; i < a.size(); ++i) {
        char x = a[i];
        char y = b[i];
        if (x >= 'A' && x <= 'Z') x = static_cast<char>(x - 'A' + 'a');
        if (y >= 'A' && y <= 'Z') y = static_cast<char>(y - 'A' + 'a');
        if (x != y) return false;
    }
    return true;
}

// expires_in as a number, or as a string of digits (some IdPs send that).
bool read_expires_in(const json& doc, std::int64_t& out) {
    auto it = doc.find("expires_in");
    if (it == doc.end() || it->is_null()) return true;
    if (it->is_number_unsigned()) {
        out = static_cast<std::int64_t>(
            std::min<std::uint64_t>(it->get<std::uint64_t>(), kMaxExpiresIn));
        return true;
    }
    if (it->is_number_integer()) {
        auto v = it->get<std::int64_t>();
        if (v < 0) return false;
        out = std::min(v, kMaxExpiresIn);
        return true;
    }
    if (it->is_number_float()) {
        double v = it->get<double>();
        if (!std::isfinite(v) || v < 0) return false;
        out = v > static_cast<double>(kMaxExpiresIn) ? kMaxExpiresIn : static_cast<std::int64_t>(v);
        return true;
    }
    if (it->is_string()) {
        const auto& s = it->get_ref<const std::string&>();
        if (s.empty() || s.size() > 12) return false;
        std::int64_t v = 0;
        for (char c : s) {
            if (c < '0' || c > '9') return false;
            v = v * 10 + (c - '0');
        }
        out = std::min(v, kMaxExpiresIn);
        return true;
    }
    return false;
}

} // namespace

Result<TokenResponse> parse_token_response(std::string_view text) {
    if (text.size() > kMaxDocumentBytes) return fail("token response too large");
    json doc = json::parse(text, nullptr, false);
    if (doc.is_discarded() || !doc.is_object()) return fail("token response is not a JSON object");
    TokenResponse r;
    if (doc.contains("error")) {
        if (!read_string(doc, "error", r.error) || r.error.empty() ||
            !read_string(doc, "error_description", r.error_description)) {
            return fail("malformed OAuth error response");
        }
        return r;
    }
    if (!read_string(doc, "access_token", r.access_token) ||
        !read_string(doc, "token_type", r.token_type) ||
        !read_string(doc, "id_token", r.id_token) ||
        !read_string(doc, "refresh_token", r.refresh_token) ||
        !read_string(doc, "scope", r.scope) || !read_expires_in(doc, r.expires_in)) {
        return fail("token response has a member of the wrong type");
    }
    if (r.access_token.empty()) return fail("token response lacks access_token");
    if (!equals_nocase(r.token_type, "Bearer")) return fail("token_type is not Bearer");
    return r;
}

Result<jose::Claims> parse_userinfo(std::string_view text, std::string_view expected_sub) {
    auto claims = jose::Claims::parse(text, kMaxDocumentBytes);
    if (!claims) return fail("userinfo is not a JSON object");
    auto sub = claims->sub();
    if (!sub || expected_sub.empty() || *sub != expected_sub) {
        return fail("userinfo sub is not the ID token's sub");
    }
    return claims;
}

} // namespace authgate::oidc
