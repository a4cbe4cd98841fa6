// Starting a session after any successful sign-in (password, SSO): the browser's old
// session ends (no fixation), the new one gets a fresh id and joins the user's index;
// sessions beyond authgate_max_sessions_per_user end, oldest first.
#pragma once

#include <optional>
#include <string>

#include "authgate/gate.h"

namespace authgate::signin {

struct StartedSession {
    std::string store_key;
    std::string set_cookie; // the Set-Cookie line for the new session
};

// nullopt when the store is unavailable (nothing half-written stays behind).
Task<std::optional<StartedSession>> start_session(Ports ports, const GateConfig& cfg,
                                                  const RequestView& req, const Session& s);

// A random base64url token of n bytes (CSRF tokens, flow state).
std::string random_token(Random& random, std::size_t n);

} // namespace authgate::signin
