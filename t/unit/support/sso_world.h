// An SSO world for core tests and the SSO cost benchmark: a gate configured with one
// provider ("corp"), a memory store, a manual clock, a scripted IdP (discovery, JWKS,
// token endpoint) and a cookie-keeping browser.
#pragma once

#include <nlohmann/json.hpp>

#include <string>
#include <utility>
#include <vector>

#include "support/sso_kit.h"
#include "support/support.h"

namespace authgate::testing {

inline constexpr const char* kIssuer = "https://idp.example.com";

struct SsoWorld {
    ManualClock clock;
    MemoryStore store{clock};
    CountingRandom random;
    InlineOffloader offload;
    FakeHttpClient http;
    sso::ProviderRegistry providers;
    ResourceCache cache;
    GateConfig cfg;
    const SigningKey* key; // the IdP's current signing key (published in its JWKS)

    Ports ports() { return Ports{store, clock, random, offload, http, providers}; }
    // provider_args extend the authgate_oidc_provider line; `more` adds directives.
    explicit SsoWorld(const SigningKey& signing_key, const std::string& provider_args = "",
                      const std::vector<std::pair<std::string, std::string>>& more = {});
    std::size_t fetches(std::string_view url_suffix) const;
};

struct Browser {
    std::vector<std::string> cookies; // "name=value"
    std::string cookie_header() const;
    void take(const Decision& d);
};

// A GET to an endpoint (or, endpoint=false, to a protected page) from the browser.
Decision get(SsoWorld& w, Browser& b, const std::string& uri, bool endpoint = true);
std::string query_param(const std::string& url, const std::string& name);
nlohmann::json claims_for(const std::string& nonce, Millis now,
                          const nlohmann::json& extra = nlohmann::json::object());
// The redirect, the IdP's token answer as scripted (ID token signed with `key`, or the
// world's), then the callback; returns the callback's decision.
Decision sign_in(SsoWorld& w, Browser& b, const nlohmann::json& extra = nlohmann::json::object(),
                 const SigningKey* key = nullptr, const std::string& refresh_token = "");

} // namespace authgate::testing
