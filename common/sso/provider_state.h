// Fetching and caching a provider's discovery document and JWKS through the HttpClient.
#pragma once

#include <memory>
#include <string>

#include "authgate/gate.h"
#include "authgate/jose.h"
#include "authgate/oidc.h"

namespace authgate::sso {

// Either a value or why not (Error::idp_unreachable and a log line without secrets).
template <class T> struct Fetched {
    std::shared_ptr<const T> value;
    Error error = Error::ok;
    std::string detail;
    bool ok() const { return value != nullptr; }
};

Task<Fetched<oidc::ProviderMetadata>> provider_metadata(Ports ports, const ProviderConfig& p);

// The provider's signing keys; refetch asks for a fresh JWKS (an unknown kid), which is
// honoured at most once per second per process.
Task<Fetched<jose::KeySet>> provider_keys(Ports ports, const ProviderConfig& p,
                                          const oidc::ProviderMetadata& meta, bool refetch);

// Runs verify(keys, now) with the provider's keys and, when it reports an unknown kid (key
// rotation at the IdP), once more with a freshly fetched JWKS. No keys at all:
// idp_unreachable.
template <class T, class Verify>
Task<jose::Checked<T>> verify_with_rotation(Ports ports, const ProviderConfig& p,
                                            const oidc::ProviderMetadata& meta, Verify verify) {
    auto keys = co_await provider_keys(ports, p, meta, false);
    if (!keys.ok()) co_return jose::reject(Error::idp_unreachable, keys.detail);
    jose::Checked<T> checked = verify(*keys.value, ports.clock.now_ms());
    if (!checked && checked.error() == Error::token_unknown_key) {
        auto fresh = co_await provider_keys(ports, p, meta, true);
        if (fresh.ok()) checked = verify(*fresh.value, ports.clock.now_ms());
    }
    co_return checked;
}

// The provider's configured algorithms.
std::vector<jose::Alg> provider_algs(const ProviderConfig& p);

// JSON bodies only from a 2xx answer of the right type; a short reason otherwise.
std::string http_failure(const HttpResponse& r, std::string_view what);

} // namespace authgate::sso
