#include "sso/identity.h"

#include <algorithm>

#include "authgate/crypto.h"
#include "authgate/http.h"
#include "authgate/keys.h"

namespace authgate::sso {

namespace {

constexpr std::size_t kMaxClaimValue = 512;
constexpr std::size_t kMaxGroups = 128;

std::optional<std::string> pick_string(const jose::Claims& id, const jose::Claims* info,
                                       std::string_view claim) {
    if (claim.empty()) return std::nullopt;
    if (info != nullptr) {
        if (auto v = info->string(claim); v && !v->empty()) return v;
    }
    if (auto v = id.string(claim); v && !v->empty()) return v;
    return std::nullopt;
}

bool usable(const std::string& v) {
    return !v.empty() && v.size() <= kMaxClaimValue && std::none_of(v.begin(), v.end(), [](char c) {
        return static_cast<unsigned char>(c) < 0x20 || c == 0x7f;
    });
}

std::string lower(std::string_view s) {
    std::string out(s);
    std::transform(out.begin(), out.end(), out.begin(), [](unsigned char c) {
        return static_cast<char>(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c);
    });
    return out;
}

bool domain_allowed(const std::vector<std::string>& allowed, std::string_view email) {
    auto at = email.rfind('@');
    if (at == std::string_view::npos) return false;
    std::string domain = lower(email.substr(at + 1));
    for (const auto& a : allowed) {
        std::string rule = lower(a);
        if (rule.starts_with('.')) {
            if (domain.size() > rule.size() && domain.ends_with(rule)) return true;
        } else if (domain == rule) {
            return true;
        }
    }
    return false;
}

} // namespace

Mapped map_identity(const ProviderConfig& p, const jose::Claims& id_token,
                    const jose::Claims* userinfo, Session& s) {
    const auto& c = p.conf;
    std::optional<bool> verified;
    if (userinfo != nullptr) verified = userinfo->email_verified();
    if (!verified) verified = id_token.email_verified();
    for (const auto& claim : c.claim_user) {
        // An email the IdP says it has not verified never becomes the user's identity
        // (anyone may have typed it); the next candidate claim is tried instead.
        if (claim == c.claim_email && verified == false) continue;
        if (auto v = pick_string(id_token, userinfo, claim); v && usable(*v)) {
            s.user = std::move(*v);
            break;
        }
    }
    if (s.user.empty()) {
        return {Error::forbidden, "no usable user claim (" + std::to_string(c.claim_user.size()) +
                                      " candidates) in the provider's answer"};
    }
    if (auto v = pick_string(id_token, userinfo, c.claim_email); v && usable(*v)) s.email = *v;
    if (auto v = pick_string(id_token, userinfo, c.claim_name); v && usable(*v)) s.name = *v;
    if (!c.claim_groups.empty()) {
        std::optional<std::vector<std::string>> groups;
        if (userinfo != nullptr) groups = userinfo->strings(c.claim_groups);
        if (!groups) groups = id_token.strings(c.claim_groups);
        if (groups) {
            for (auto& g : *groups) {
                if (s.groups.size() >= kMaxGroups) break;
                if (usable(g) && g.find(',') == std::string::npos) s.groups.push_back(std::move(g));
            }
        }
    }
    // role_map=: each group the IdP sent that the provider maps gives its role.
    for (const auto& [group, role] : c.role_map) {
        if (std::find(s.groups.begin(), s.groups.end(), group) != s.groups.end() &&
            std::find(s.roles.begin(), s.roles.end(), role) == s.roles.end()) {
            s.roles.push_back(role);
        }
    }
    if (!c.allowed_domains.empty()) {
        if (s.email.empty() || verified == false || !domain_allowed(c.allowed_domains, s.email)) {
            return {Error::forbidden, "user \"" + http::json_escape(s.user.substr(0, 64)) +
                                          "\" refused: email domain not allowed or unverified"};
        }
    }
    if (!c.allowed_groups.empty()) {
        bool any = std::any_of(s.groups.begin(), s.groups.end(), [&](const std::string& g) {
            return std::find(c.allowed_groups.begin(), c.allowed_groups.end(), g) !=
                   c.allowed_groups.end();
        });
        if (!any) {
            return {Error::forbidden, "user \"" + http::json_escape(s.user.substr(0, 64)) +
                                          "\" refused: in none of the allowed groups"};
        }
    }
    return {};
}

namespace {
std::string token_context(const Session& s) {
    return "sso-tokens:" + s.sso_provider + ":" + s.sso_sub;
}
} // namespace

std::string seal_tokens(const KeyRing& keys, Random& random, const Session& s,
                        std::string_view id_token, std::string_view refresh_token) {
    std::string plain;
    plain.reserve(id_token.size() + refresh_token.size() + 1);
    plain.append(id_token);
    plain.push_back('\n');
    plain.append(refresh_token);
    return keys.seal(plain, token_context(s), random);
}

std::optional<ProviderTokens> open_tokens(const KeyRing& keys, const Session& s) {
    if (s.sso_tokens.empty()) return std::nullopt;
    auto plain = keys.open(s.sso_tokens, token_context(s));
    if (!plain) return std::nullopt;
    auto nl = plain->find('\n');
    if (nl == std::string::npos) return std::nullopt;
    return ProviderTokens{plain->substr(0, nl), plain->substr(nl + 1)};
}

} // namespace authgate::sso
