// The client's address as the gate counts and blocks it: the socket peer, or, when the peer
// is one of authgate_trusted_proxies, the right-most hop of X-Forwarded-For (or Forwarded)
// that is not a trusted proxy.
#pragma once

#include <string>
#include <string_view>

#include "authgate/config.h"
#include "authgate/request.h"

namespace authgate {

// A view of req.client_addr, or of `storage` when a forwarded hop was taken.
std::string_view client_address(const GateConfig& cfg, const RequestView& req,
                                std::string& storage);

} // namespace authgate
