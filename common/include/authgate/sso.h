// Single sign-on state kept per process: each provider's discovery document and signing
// keys, fetched through the HttpClient port and cached with expiry, and the bearer tokens
// verified under those keys. Shared by every flow of the process, on one event loop or on
// N threads: each provider's state has one mutex, never held across an await.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
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

// Bearer tokens whose signature this process has verified under the provider's current
// keys, by SHA-256 of the compact token; claims are still checked on every request.
// Emptied whenever the keys change (a key may have been withdrawn), bounded in size,
// entries dropped at the token's expiry.
class VerifiedTokens {
  public:
    static constexpr std::size_t kMaxEntries = 4096;

    // The token verified before, while `now` is before its expiry (an expired entry is
    // dropped).
    std::optional<jose::Token> find(const std::string& digest, Millis now);
    // Read before fetching the keys a token is verified with: put() keeps the token only
    // while no other key set replaced them since (on another thread, say).
    std::uint64_t generation() const;
    void put(std::string digest, const jose::Token& token, Millis expires_ms,
             std::uint64_t generation);
    // The provider's keys were replaced: everything verified before is forgotten.
    void keys_changed();
    std::size_t size() const;

  private:
    struct Entry {
        jose::Token token;
        Millis expires_ms = 0;
    };
    mutable std::mutex mutex_;
    std::uint64_t generation_ = 0;
    std::unordered_map<std::string, Entry> entries_;
};

struct ProviderRuntime {
    // Guards the members up to `verified` (which has its own); held for reads and updates,
    // released while a flow fetches or waits.
    std::mutex mutex;
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
    VerifiedTokens verified;
};

// One per process (part of the core Runtime), shared by its flows on any thread.
class ProviderRegistry {
  public:
    // Created on first use; the reference stays valid for the registry's life.
    ProviderRuntime& state(const ProviderConfig& provider) {
        std::lock_guard lock(mutex_);
        return states_[&provider];
    }

  private:
    std::mutex mutex_;
    std::map<const ProviderConfig*, ProviderRuntime> states_;
};

} // namespace sso
} // namespace authgate
