// Roles and permissions: the authgate_role lines closed once at config time into an
// immutable graph. Each role's effective roles are itself and every role it inherits
// (transitively); its effective permissions are the union of theirs.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "authgate/config.h"
#include "authgate/result.h"

namespace authgate {

// Role names: letters, digits, "_", "-", "." (1 to 64); no ",", ":" or spaces, so they fit
// the users file's fields and comma lists.
bool is_role_name(std::string_view s);
// Permission tokens: letters, digits, "_", "-", ".", ":", "/", "*" (1 to 128), e.g.
// "docs:read"; no "," or spaces.
bool is_permission_name(std::string_view s);

class RoleGraph {
  public:
    // " in FILE:LINE" of a role's definition (or "").
    using Origin = std::function<std::string(std::string_view role)>;

    // Fails on a role that inherits an undefined one or on an inheritance cycle (the
    // message names the cycle, "a -> b -> a"), each ending with the origin of the role at
    // fault. Duplicates and bad tokens are refused earlier, where the line is parsed.
    static Result<RoleGraph> close(std::span<const std::shared_ptr<const config::RoleDef>> defs,
                                   const Origin& origin);

    bool defines(std::string_view role) const { return roles_.find(role) != roles_.end(); }
    // Whether any of the held roles is `role` or inherits it. Roles this graph does not
    // define grant nothing.
    bool has_role(const std::vector<std::string>& held, std::string_view role) const;
    // Whether any of the held roles grants `permission` (directly or by inheritance).
    bool has_permission(const std::vector<std::string>& held, std::string_view permission) const;
    // Sorted effective roles / permissions of one role; null when undefined.
    const std::vector<std::string>* roles_of(std::string_view role) const;
    const std::vector<std::string>* permissions_of(std::string_view role) const;
    std::size_t size() const { return roles_.size(); }

  private:
    struct Closed {
        std::vector<std::string> roles; // itself and every inherited role, sorted
        std::vector<std::string> permissions;
    };
    std::map<std::string, Closed, std::less<>> roles_;
};

} // namespace authgate
