// One function per endpoint under the gate's prefix; handle_endpoint() routes to them.
#pragma once

#include "authgate/gate.h"

namespace authgate::gate {

Decision login_page(Ports ports, const GateConfig& cfg, const RequestView& req);
Task<Decision> login_submit(Ports ports, const GateConfig& cfg, const RequestView& req);
Task<Decision> logout(Ports ports, const GateConfig& cfg, const RequestView& req);
Task<Decision> health(Ports ports, const GateConfig& cfg, const RequestView& req);

} // namespace authgate::gate
