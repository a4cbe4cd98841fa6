// Where the gate acts, and the checks between directives that adapters used to make.
#include "authgate/config.h"
#include "authgate/roles.h"

namespace authgate {

namespace config {

bool gate_active(const Settings& s) {
    return s.enabled.value_or(false) || s.endpoint.value_or(false) ||
           (s.bearer && s.bearer->provider != "off");
}

Result<void> check_main(const Settings& main) {
    if (main.redis_sentinels && !main.redis) {
        return fail("authgate_redis_sentinels needs \"authgate_redis sentinel:<master name>\"" +
                    origin_of(main, "authgate_redis_sentinels"));
    }
    if (main.roles) {
        // The main level's roles close whether or not any location uses them yet.
        auto graph = RoleGraph::close(*main.roles, [&](std::string_view role) {
            return origin_of(main, "authgate_role " + std::string(role));
        });
        if (!graph) return fail(graph.error());
    }
    return {};
}

} // namespace config

Result<void> check_endpoint_location(const GateConfig& g, const config::Settings& merged,
                                     std::string_view location, bool regex) {
    if (!g.endpoint || regex || location == g.prefix) return {};
    return fail("authgate_endpoint is in location \"" + std::string(location) +
                "\" but authgate_prefix is \"" + g.prefix + "\"; they must match" +
                config::origin_of(merged, "authgate_endpoint"));
}

} // namespace authgate
