// The client address of a request (see client_address.h).
#include "authgate/client_address.h"

namespace authgate {

std::string_view client_address(const GateConfig& /*cfg*/, const RequestView& req,
                                std::string& /*storage*/) {
    return req.client_addr;
}

} // namespace authgate
