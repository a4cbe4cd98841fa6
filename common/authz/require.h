// authgate_require evaluation.
#pragma once

#include <vector>

#include "authgate/config.h"
#include "authgate/request.h"
#include "authgate/roles.h"

namespace authgate::authz {

// Every rule must hold; a rule holds when any (or, for "all", every) term matches. role:
// and permission: terms are decided by `roles` (the current configuration's graph) from
// the role names the identity holds; without a graph they never match.
bool satisfies(const std::vector<config::RequireRule>& rules, const Identity& who,
               const RoleGraph* roles);

} // namespace authgate::authz
