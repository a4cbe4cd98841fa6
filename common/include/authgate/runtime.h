// The core's per-process state, in one object the adapter creates per process (nginx:
// init_process; Apache: child_init) and hands to every request through Ports. Its parts
// are safe for one event loop per process and for N threads sharing it (see each part):
//
//   providers    discovery documents, JWKS (single-flight fetches with back-off) and the
//                verified bearer tokens of each SSO provider: a mutex per provider
//   sessions     cached session lookups, when the store announces session writes: one
//                mutex, taken once per cache hit
//   user_status  run-time users' status read at most 30 s ago: one mutex
//   blocks       the block list as read from the store at most a second ago: one mutex
//
// No lock is held across an await; a flow waiting for another flow's fetch is woken
// through its own Parking (waiting.h), on its own loop or thread.
#pragma once

#include <memory>
#include <optional>

#include "authgate/gate.h"
#include "authgate/session_cache.h"
#include "authgate/sso.h"
#include "authgate/user_status.h"

namespace authgate {

class Runtime {
  public:
    struct Options {
        // Cached session lookups (a store that announces its session writes); nullopt: none.
        std::optional<SessionCache::Limits> session_cache;
    };

    explicit Runtime(const Options& options) {
        if (options.session_cache)
            sessions_ = std::make_unique<SessionCache>(*options.session_cache);
    }
    Runtime(const Runtime&) = delete;
    Runtime& operator=(const Runtime&) = delete;

    sso::ProviderRegistry& providers() { return providers_; }
    SessionCache* sessions() { return sessions_.get(); }
    UserStatusCache& user_status() { return user_status_; }

    // One request's ports over this runtime: the session cache where there is one, the
    // user status memory for durable stores (run-time users live there).
    // `local`: the server's shared memory beside a Redis store (zones with store=shm).
    Ports ports(Store& store, Clock& clock, Random& random, Offloader& offload, HttpClient& http,
                Parking* parking, Store* local = nullptr) {
        return Ports{store,
                     clock,
                     random,
                     offload,
                     http,
                     providers_,
                     sessions_.get(),
                     parking,
                     store.durable() ? &user_status_ : nullptr,
                     nullptr /* no block list yet: nothing fills it */,
                     local};
    }
    // For the inline check: `store` only when it may answer inline (null for Redis).
    InlinePorts inline_ports(Store* store, Clock& clock, Store* local = nullptr) noexcept {
        return InlinePorts{store, clock, sessions_.get(), nullptr, local};
    }
    BlockList& blocks() { return blocks_; }

  private:
    sso::ProviderRegistry providers_;
    std::unique_ptr<SessionCache> sessions_;
    UserStatusCache user_status_;
    BlockList blocks_;
};

} // namespace authgate
