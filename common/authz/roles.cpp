// Closing the authgate_role graph: unknown parents and cycles are configuration errors.
#include "authgate/roles.h"

#include <algorithm>

namespace authgate {

namespace {

bool name_char(unsigned char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
           c == '-' || c == '.';
}

bool contains(const std::vector<std::string>& sorted, std::string_view item) {
    auto it = std::lower_bound(sorted.begin(), sorted.end(), item);
    return it != sorted.end() && *it == item;
}

void sort_unique(std::vector<std::string>& v) {
    std::sort(v.begin(), v.end());
    v.erase(std::unique(v.begin(), v.end()), v.end());
}

} // namespace

bool is_role_name(std::string_view s) {
    return !s.empty() && s.size() <= 64 &&
           std::all_of(s.begin(), s.end(), [](unsigned char c) { return name_char(c); });
}

bool is_permission_name(std::string_view s) {
    return !s.empty() && s.size() <= 128 && std::all_of(s.begin(), s.end(), [](unsigned char c) {
        return name_char(c) || c == ':' || c == '/' || c == '*';
    });
}

Result<RoleGraph> RoleGraph::close(std::span<const std::shared_ptr<const config::RoleDef>> defs,
                                   const Origin& origin) {
    std::map<std::string_view, const config::RoleDef*, std::less<>> by_name;
    for (const auto& d : defs) by_name.emplace(d->name, d.get());
    for (const auto& d : defs) {
        for (const auto& parent : d->inherits) {
            if (!by_name.contains(parent)) {
                return fail("authgate_role \"" + d->name + "\" inherits \"" + parent +
                            "\", which no authgate_role defines" + origin(d->name));
            }
        }
    }

    // Depth-first, in definition order: a role met again while still on the path closes a
    // cycle; finished roles are closed from their parents' closures.
    enum class Mark { none, on_path, done };
    std::map<std::string_view, Mark, std::less<>> mark;
    std::vector<const config::RoleDef*> path;
    RoleGraph g;
    std::string cycle_error;

    std::function<bool(const config::RoleDef*)> visit = [&](const config::RoleDef* d) -> bool {
        Mark& m = mark[d->name];
        if (m == Mark::done) return true;
        if (m == Mark::on_path) {
            auto start = std::find(path.begin(), path.end(), d);
            std::string names;
            for (auto it = start; it != path.end(); ++it) names += (*it)->name + " -> ";
            names += d->name;
            cycle_error = "authgate_role inheritance cycle: " + names + origin(path.back()->name);
            return false;
        }
        m = Mark::on_path;
        path.push_back(d);
        Closed closed;
        closed.roles.push_back(d->name);
        closed.permissions = d->permissions;
        for (const auto& parent : d->inherits) {
            if (!visit(by_name.at(parent))) return false;
            const Closed& up = g.roles_.at(parent);
            closed.roles.insert(closed.roles.end(), up.roles.begin(), up.roles.end());
            closed.permissions.insert(closed.permissions.end(), up.permissions.begin(),
                                      up.permissions.end());
        }
        sort_unique(closed.roles);
        sort_unique(closed.permissions);
        g.roles_.emplace(d->name, std::move(closed));
        path.pop_back();
        mark[d->name] = Mark::done;
        return true;
    };
    for (const auto& d : defs) {
        if (!visit(d.get())) return fail(cycle_error);
    }
    return g;
}

bool RoleGraph::has_role(const std::vector<std::string>& held, std::string_view role) const {
    for (const auto& r : held) {
        if (const auto* closed = roles_of(r); closed != nullptr && contains(*closed, role)) {
            return true;
        }
    }
    return false;
}

bool RoleGraph::has_permission(const std::vector<std::string>& held,
                               std::string_view permission) const {
    for (const auto& r : held) {
        if (const auto* perms = permissions_of(r);
            perms != nullptr && contains(*perms, permission)) {
            return true;
        }
    }
    return false;
}

const std::vector<std::string>* RoleGraph::roles_of(std::string_view role) const {
    auto it = roles_.find(role);
    return it == roles_.end() ? nullptr : &it->second.roles;
}

const std::vector<std::string>* RoleGraph::permissions_of(std::string_view role) const {
    auto it = roles_.find(role);
    return it == roles_.end() ? nullptr : &it->second.permissions;
}

} // namespace authgate
