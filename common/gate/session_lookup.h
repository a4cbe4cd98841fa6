// Finding the request's session: cookie -> id -> store -> checks.
#pragma once

#include "authgate/gate.h"
#include "authgate/session.h"

namespace authgate::gate {

struct SessionLookup {
    Error error = Error::no_session;  // ok when a valid session was found
    bool had_cookie = false;          // a session cookie was sent (clear it when unusable)
    SessionId id;
    Session session;  // from a cached lookup: the identity fields only
};

// Loads and checks the session; expired or revoked records are removed from the store.
Task<SessionLookup> lookup_session(Ports ports, const GateConfig& cfg, const RequestView& req);

} // namespace authgate::gate
