// The gate's entry points: the access check for protected locations and the
// /_authgate/ endpoints. Adapters run these Tasks and apply the Decision.
#pragma once

#include <optional>

#include "authgate/block_list.h"
#include "authgate/config.h"
#include "authgate/ports.h"
#include "authgate/request.h"
#include "authgate/session.h"
#include "authgate/session_cache.h"
#include "authgate/sso.h"
#include "authgate/task.h"
#include "authgate/user_status.h"
#include "authgate/waiting.h"

namespace authgate {

struct Ports {
    Store& store;
    Clock& clock;
    Random& random;
    Offloader& offload;
    HttpClient& http;
    sso::ProviderRegistry& providers;
    // Per-worker cache of session lookups, when the store announces its session writes
    // (Redis with authgate_redis session_cache); null otherwise.
    SessionCache* sessions = nullptr;
    // How this request's flow waits for another flow's IdP fetch; null where every call
    // completes inline (nothing can be in flight meanwhile).
    Parking* parking = nullptr;
    // Per-worker status of run-time users (durable stores); null: read on every check.
    UserStatusCache* user_status = nullptr;
    // This process's copy of the block list; null: no block list (tests).
    BlockList* blocks = nullptr;
    // The server's shared memory where the store is Redis and a zone says store=shm; null:
    // zones use `store`.
    Store* local_store = nullptr;
};

// What the inline check reads: it never waits, so it needs no offloader, HTTP client or
// parking (an adapter builds those only when a flow runs).
struct InlinePorts {
    Store* store; // a store that may answer inline (equals_now); null: only the cache can
    Clock& clock;
    SessionCache* sessions = nullptr;
    BlockList* blocks = nullptr;
    Store* local_store = nullptr; // answers inline (shared memory)
    InlinePorts(Store* s, Clock& c, SessionCache* cache, BlockList* b = nullptr,
                Store* local = nullptr) noexcept
        : store(s), clock(c), sessions(cache), blocks(b), local_store(local) {}
    InlinePorts(const Ports& p) noexcept // NOLINT(google-explicit-constructor): a narrowing view
        : store(&p.store), clock(p.clock), sessions(p.sessions), blocks(p.blocks),
          local_store(p.local_store) {}
};

// The request and config must outlive the returned Task.
Task<Decision> check_access(Ports ports, const GateConfig& cfg, const RequestView& req);
// The same check answered inline (no coroutine) from ports.sessions when it holds the
// request's session, or, without a session cache, from a store that answers inline when
// the session's record is unchanged since this thread decoded it; nullopt when
// check_access must run.
std::optional<Decision> check_access_cached(InlinePorts ports, const GateConfig& cfg,
                                            const RequestView& req);
// The same, building the decision in `out` (empty on entry); false when check_access
// must run. Spares the hot path two moves of a Decision.
bool check_access_cached(InlinePorts ports, const GateConfig& cfg, const RequestView& req,
                         std::optional<Decision>& out);
// A user's sessions, through the per-user index (for administration).
struct UserSession {
    std::string store_key;
    Session session;
};
Task<StoreReply<std::vector<UserSession>>> list_user_sessions(Store& store, std::string_view user,
                                                              Millis now);
// Ends every session of the user on every server sharing the store; value = how many.
Task<StoreReply<std::size_t>> revoke_user_sessions(Store& store, std::string_view user, Millis now);
// Ends one session by its store key (record and index entry).
Task<StoreReply<bool>> end_session(Store& store, std::string_view store_key);

// Applies the location's authgate_require to an authenticated identity (also used
// again, without a store round trip, when an internal redirect changes the location).
Decision authorize(const GateConfig& cfg, const RequestView& req, SharedIdentity who, Millis now);
// The same into `d` (a default Decision).
void authorize(const GateConfig& cfg, const RequestView& req, SharedIdentity who, Millis now,
               Decision& d);
// Whether `who` is one of the users, in one of the groups, holds one of the roles or has
// one of the permissions named (Apache's "Require authgate-user a b", authgate-group,
// authgate-role, authgate-permission); roles and permissions are decided by `roles`.
bool holds_any(const Identity& who, config::RequireTerm::Kind kind,
               const std::vector<std::string>& names, const RoleGraph* roles = nullptr);
Task<Decision> handle_endpoint(Ports ports, const GateConfig& cfg, const RequestView& req);

} // namespace authgate
