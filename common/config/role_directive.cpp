// authgate_role NAME [permissions=a,b] [inherits=r1,r2]: one role as written. The graph
// (unknown parents, cycles) is closed later, once every line is known (RoleGraph::close).
#include "authgate/config.h"
#include "authgate/roles.h"
#include "config/values.h"

#include <algorithm>

namespace authgate::config {

namespace {

// a,b,c into `out`, each checked by `valid`; empty items, duplicates and an empty list fail.
Result<void> role_list(std::string_view key, std::string_view value,
                       bool (*valid)(std::string_view), std::string_view what,
                       std::vector<std::string>& out) {
    if (value.empty()) return fail("empty " + std::string(key) + "=");
    while (true) {
        auto comma = value.find(',');
        std::string_view item = value.substr(0, comma);
        if (!valid(item)) return fail("invalid " + std::string(what) + " " + quoted(item));
        if (std::find(out.begin(), out.end(), item) != out.end()) {
            return fail(std::string(what) + " " + quoted(item) + " is listed twice");
        }
        out.emplace_back(item);
        if (comma == std::string_view::npos) return {};
        value.remove_prefix(comma + 1);
    }
}

} // namespace

Result<RoleDef> parse_role(Args args) {
    RoleDef role;
    if (!is_role_name(args[0])) {
        return fail("invalid role name " + quoted(args[0]) +
                    ", expected letters, digits, \"_\", \"-\" or \".\" (at most 64)");
    }
    role.name = std::string(args[0]);
    bool seen_permissions = false, seen_inherits = false;
    for (std::size_t i = 1; i < args.size(); ++i) {
        std::string_view a = args[i];
        if (a.starts_with("permissions=") && !seen_permissions) {
            seen_permissions = true;
            auto listed = role_list("permissions", a.substr(12), &is_permission_name, "permission",
                                    role.permissions);
            if (!listed) return fail(listed.error());
        } else if (a.starts_with("inherits=") && !seen_inherits) {
            seen_inherits = true;
            auto listed = role_list("inherits", a.substr(9), &is_role_name, "role", role.inherits);
            if (!listed) return fail(listed.error());
        } else {
            return fail("invalid parameter " + quoted(a) +
                        ", expected permissions=a,b or inherits=role1,role2 (once each)");
        }
    }
    return role;
}

} // namespace authgate::config
