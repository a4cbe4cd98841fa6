#include "authz/require.h"

#include <algorithm>

namespace authgate::authz {

namespace {

bool matches(const config::RequireTerm& t, std::string_view user,
             const std::vector<std::string>& groups) {
    switch (t.kind) {
    case config::RequireTerm::Kind::user: return t.name == user;
    case config::RequireTerm::Kind::group:
        // A plain loop: users hold a few groups (std::find's unrolled search costs more).
        for (const auto& g : groups) {
            if (g == t.name) return true;
        }
        return false;
    }
    return false;
}

} // namespace

bool satisfies(const std::vector<config::RequireRule>& rules, std::string_view user,
               const std::vector<std::string>& groups) {
    for (const auto& rule : rules) {
        auto hit = [&](const config::RequireTerm& t) { return matches(t, user, groups); };
        bool ok = rule.all ? std::all_of(rule.terms.begin(), rule.terms.end(), hit)
                           : std::any_of(rule.terms.begin(), rule.terms.end(), hit);
        if (!ok) return false;
    }
    return true;
}

} // namespace authgate::authz
