// The endpoints' request body limit and the answer to a body over it.
#include "authgate/request.h"

namespace authgate {

bool body_fits(std::size_t length) noexcept { return length <= kMaxEndpointBody; }

Decision body_too_large() {
    Decision d;
    d.error = Error::payload_too_large;
    d.status = http_status(d.error);
    d.content_type = "text/plain; charset=utf-8";
    d.body = std::string(error_message(d.error)) + "\n";
    return d;
}

} // namespace authgate
