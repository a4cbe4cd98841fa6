// Per-request state, kept on the initial request (subrequests and internal redirects find
// it there): the Cookie headers as the client sent them (stripping rewrites them before
// the upstream, subrequests or the endpoint handler look) and the gate's decision.
#pragma once

#include "authgate_apache.h"

#include <optional>
#include <string>
#include <vector>

namespace authgate::apache {

struct RequestState {
    std::vector<std::string> client_cookies;
    std::optional<Decision> decision; // the last allow, or the initial request's answer
    const GateConfig* decided_cfg = nullptr;
    std::string request_id;
};

// The initial request of r's chain (through subrequests and internal redirects).
request_rec* initial_request(request_rec* r);
// The chain's state, created (and the client's cookies saved) on first use.
RequestState& request_state(request_rec* r);
// The chain's state if there is one.
RequestState* find_request_state(request_rec* r);
// An ErrorDocument's internal redirect: answered like a subrequest (status only).
bool is_error_redirect(const request_rec* r);

// The core's view of r; `body` must outlive it.
RequestView request_view(request_rec* r, RequestState& st, std::string_view body);
// The ports of one request thread (inline store and HTTP; nothing parks).
Ports request_ports(Runtime& rt, HttpClient& http, Parking& parking);

} // namespace authgate::apache
