// Whether two gated locations authenticate a request the same way.
#include "authgate/config.h"

namespace authgate {

// The store is one per configuration root, so it never differs between two locations.
bool same_authentication(const GateConfig& a, const GateConfig& b) {
    return a.enabled == b.enabled && a.bearer_provider == b.bearer_provider &&
           a.bearer_audience == b.bearer_audience && a.bearer_scopes == b.bearer_scopes &&
           a.keys == b.keys && a.users == b.users && a.cookie_name == b.cookie_name &&
           a.cookie_domain == b.cookie_domain && a.idle_timeout == b.idle_timeout &&
           a.session_lifetime == b.session_lifetime && a.providers == b.providers;
}

} // namespace authgate
