// The gate's entry points: the access check for protected locations and the
// /_authgate/ endpoints. Adapters run these Tasks and apply the Decision.
#pragma once

#include "authgate/config.h"
#include "authgate/ports.h"
#include "authgate/request.h"
#include "authgate/task.h"

namespace authgate {

struct Ports {
    Store& store;
    Clock& clock;
    Random& random;
    Offloader& offload;
};

// The request and config must outlive the returned Task.
Task<Decision> check_access(Ports ports, const GateConfig& cfg, const RequestView& req);
// Applies the location's authgate_require to an authenticated identity (also used
// again, without a store round trip, when an internal redirect changes the location).
Decision authorize(const GateConfig& cfg, const RequestView& req, Identity who, Millis now);
Task<Decision> handle_endpoint(Ports ports, const GateConfig& cfg, const RequestView& req);

} // namespace authgate
