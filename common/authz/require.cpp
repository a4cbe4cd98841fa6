#include "authz/require.h"

#include <algorithm>

namespace authgate::authz {

namespace {

bool matches(const config::RequireTerm& t, const Identity& who, const RoleGraph* roles) {
    switch (t.kind) {
    case config::RequireTerm::Kind::user: return t.name == who.user;
    case config::RequireTerm::Kind::group:
        // A plain loop: users hold a few groups (std::find's unrolled search costs more).
        for (const auto& g : who.groups) {
            if (g == t.name) return true;
        }
        return false;
    case config::RequireTerm::Kind::role:
        return roles != nullptr && roles->has_role(who.roles, t.name);
    case config::RequireTerm::Kind::permission:
        return roles != nullptr && roles->has_permission(who.roles, t.name);
    }
    return false;
}

} // namespace

bool satisfies(const std::vector<config::RequireRule>& rules, const Identity& who,
               const RoleGraph* roles) {
    for (const auto& rule : rules) {
        auto hit = [&](const config::RequireTerm& t) { return matches(t, who, roles); };
        bool ok = rule.all ? std::all_of(rule.terms.begin(), rule.terms.end(), hit)
                           : std::any_of(rule.terms.begin(), rule.terms.end(), hit);
        if (!ok) return false;
    }
    return true;
}

} // namespace authgate::authz
