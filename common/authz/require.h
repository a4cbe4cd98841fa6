// authgate_require evaluation.
#pragma once

#include <string_view>
#include <vector>

#include "authgate/config.h"

namespace authgate::authz {

// Every rule must hold; a rule holds when any (or, for "all", every) term matches.
bool satisfies(const std::vector<config::RequireRule>& rules, std::string_view user,
               const std::vector<std::string>& groups);

} // namespace authgate::authz
