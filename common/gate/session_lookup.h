// Finding the request's session: cookie -> id -> store -> checks.
#pragma once

#include "authgate/gate.h"
#include "authgate/session.h"
#include "authgate/users.h"

#include <span>
#include <string_view>

namespace authgate::gate {

struct SessionLookup {
    Error error = Error::no_session; // ok when a valid session was found
    bool had_cookie = false;         // a session cookie was sent (clear it when unusable)
    SessionId id;
    Session session; // from a cached lookup: the identity fields only
};

// The entry of ports.sessions (must be set) for one of the cookie values, if cached and
// still valid at `now`; empty otherwise. The cache stays locked while the Hit lives.
SessionCache::Hit cached_session(InlinePorts ports, const GateConfig& cfg,
                                 std::span<const std::string_view> values, Millis now);

// With a store that answers inline (equals_now): the identity of the session for the first
// verified cookie value (the users file applied) when its record in the store is still the
// one this thread last decoded and it needs nothing written or asked (no touch, refresh or
// run-time user check); null otherwise (then lookup_session decides). Valid until this
// thread's next lookup.
const SharedIdentity* unchanged_identity(InlinePorts ports, const GateConfig& cfg,
                                         std::span<const std::string_view> values, Millis now);

// Loads and checks the session; expired or revoked records are removed from the store.
Task<SessionLookup> lookup_session(Ports ports, const GateConfig& cfg, const RequestView& req);

} // namespace authgate::gate
