// Whether a signed-in user may still be let in, checked on every use of a session or a
// bearer token: the users file as loaded now and, with a durable store, the run-time
// user record (its status remembered per worker for at most UserStatusCache::kMaxAge).
#pragma once

#include <optional>
#include <string_view>

#include "authgate/gate.h"
#include "authgate/users.h"

namespace authgate {

enum class UserCheck { allowed, refused, store_unavailable };

// The users file's verdict, when it decides alone: a user it has disabled is refused
// whatever the sign-in method; a session from the file ("file") needs the user still
// there and enabled; any other user the file holds is decided by the file.
std::optional<UserCheck> users_file_verdict(const GateConfig& cfg, std::string_view user,
                                            std::string_view source);
// The same for the users file's entry of that user (null: the file has none).
std::optional<UserCheck> users_file_verdict(const User* in_file, std::string_view source);

// source: the session's source ("file", "store", "sso") or "bearer". Run-time users
// ("store") need their record, enabled; anyone else with a record must not be disabled.
Task<UserCheck> check_user(Ports ports, const GateConfig& cfg, std::string_view user,
                           std::string_view source);

// A users-file session carries the file's current email, name, groups and roles (not those of
// its sign-in), so a reload that changes them takes effect at once.
void apply_users_file(const GateConfig& cfg, Session& s);

} // namespace authgate
