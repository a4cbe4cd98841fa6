// Single sign-on state kept per process: each provider's discovery document and signing
// keys, fetched through the HttpClient port and cached with expiry.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <unordered_map>

#include "authgate/config.h"
#include "authgate/jose.h"
#include "authgate/waiting.h"

namespace authgate {
namespace oidc {
struct ProviderMetadata;
}

namespace sso {

struct ProviderRuntime {
    std::shared_ptr<const oidc::ProviderMetadata> metadata;
    Millis metadata_expires_ms = 0;
    Millis metadata_retry_ms = 0; // after a failed fetch, not before this
    std::shared_ptr<const jose::KeySet> keys;
    Millis keys_expires_ms = 0;
    Millis keys_fetched_ms = 0; // bounds re-fetches for unknown key ids
    Millis keys_retry_ms = 0;   // after a failed fetch, not before this
    // One fetch of each document in flight; the flows that need it meanwhile wait for it.
    bool metadata_fetching = false;
    WaitList metadata_waiters;
    bool keys_fetching = false;
    WaitList keys_waiters;
    // Bearer tokens whose signature this worker has verified under the current keys, by
    // SHA-256 of the compact token; claims are still checked on every request. Emptied
    // whenever the keys change, bounded in size, entries dropped at the token's expiry.
    struct VerifiedToken {
        jose::Token token;
        Millis expires_ms = 0;
    };
    std::unordered_map<std::string, VerifiedToken> verified;
};

// One per process (nginx worker); flows on one event loop share it.
class ProviderRegistry {
  public:
    ProviderRuntime& state(const ProviderConfig& provider) { return states_[&provider]; }

  private:
    std::map<const ProviderConfig*, ProviderRuntime> states_;
};

} // namespace sso
} // namespace authgate
