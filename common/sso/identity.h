// From verified claims to the session's identity, and the provider's admission rules.
#pragma once

#include <optional>
#include <string>

#include "authgate/config.h"
#include "authgate/jose.h"
#include "authgate/session.h"

namespace authgate::sso {

struct Mapped {
    Error error = Error::ok;
    std::string reason; // for the log when refused
};

// Fills user, email, name and groups of s from the claims (userinfo, when given, wins
// over the ID token for each claim it has) and roles from the provider's role_map, then
// applies allowed_domains/allowed_groups.
Mapped map_identity(const ProviderConfig& p, const jose::Claims& id_token,
                    const jose::Claims* userinfo, Session& s);

// The sealed provider tokens kept in a session ("<id_token>\n<refresh_token>").
std::string seal_tokens(const KeyRing& keys, Random& random, const Session& s,
                        std::string_view id_token, std::string_view refresh_token);
struct ProviderTokens {
    std::string id_token;
    std::string refresh_token;
};
std::optional<ProviderTokens> open_tokens(const KeyRing& keys, const Session& s);

} // namespace authgate::sso
