// An identity's header values, made once when it is admitted.
#include "authgate/http.h"
#include "authgate/request.h"

namespace authgate {

namespace {

std::string header_value(std::string_view v) {
    std::string out(v.size(), '\0');
    http::copy_header_safe(out.data(), v);
    return out;
}

} // namespace

SharedIdentity admit_identity(Identity who) {
    auto out = std::make_shared<AdmittedIdentity>();
    out->header_user = header_value(who.user);
    out->header_email = header_value(who.email);
    out->header_name = header_value(who.name);
    for (const auto& g : who.groups) {
        if (!out->header_groups.empty()) out->header_groups += ',';
        out->header_groups += header_value(g);
    }
    for (const auto& r : who.roles) {
        if (!out->header_roles.empty()) out->header_roles += ',';
        out->header_roles += header_value(r);
    }
    static_cast<Identity&>(*out) = std::move(who);
    return out;
}

} // namespace authgate
