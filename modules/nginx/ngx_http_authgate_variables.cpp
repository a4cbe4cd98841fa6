// $authgate_user, $authgate_email, $authgate_name, $authgate_groups, $authgate_roles,
// $authgate_status.
#include "ngx_http_authgate_request.h"

namespace authgate::ngx {

namespace {

enum Field : uintptr_t { kUser, kEmail, kName, kGroups, kRoles, kStatus };

ngx_int_t get_variable(ngx_http_request_t* r, ngx_http_variable_value_t* v,
                       uintptr_t data) noexcept {
    return guard(r->connection->log, static_cast<ngx_int_t>(NGX_ERROR), [&]() -> ngx_int_t {
        const RequestState* st = RequestState::find(r, RequestState::Phase::access);
        if (st == nullptr) st = RequestState::find(r, RequestState::Phase::content);
        if (st == nullptr || !st->decision) {
            v->not_found = 1;
            return NGX_OK;
        }
        const Decision& d = *st->decision;
        std::string value;
        switch (static_cast<Field>(data)) {
        case kUser: value = d.allowed() ? d.identity->user : ""; break;
        case kEmail: value = d.allowed() ? d.identity->email : ""; break;
        case kName: value = d.allowed() ? d.identity->name : ""; break;
        case kGroups:
        case kRoles:
            if (d.allowed()) {
                const auto& items = data == kGroups ? d.identity->groups : d.identity->roles;
                for (const auto& g : items) {
                    if (!value.empty()) value += ',';
                    value += g;
                }
            }
            break;
        case kStatus: value = std::string(error_name(d.error)); break;
        }
        ngx_str_t s = pool_str(r->pool, value);
        if (s.data == nullptr) return NGX_ERROR;
        v->data = s.data;
        v->len = static_cast<unsigned>(s.len);
        v->valid = 1;
        v->no_cacheable = 1;
        v->not_found = 0;
        return NGX_OK;
    });
}

struct VariableSpec {
    const char* name;
    Field field;
};

constexpr VariableSpec kVariables[] = {{"authgate_user", kUser},   {"authgate_email", kEmail},
                                       {"authgate_name", kName},   {"authgate_groups", kGroups},
                                       {"authgate_roles", kRoles}, {"authgate_status", kStatus}};

} // namespace

ngx_int_t add_variables(ngx_conf_t* cf) {
    for (const auto& spec : kVariables) {
        ngx_str_t name{std::strlen(spec.name),
                       reinterpret_cast<u_char*>(const_cast<char*>(spec.name))};
        ngx_http_variable_t* var = ngx_http_add_variable(cf, &name, NGX_HTTP_VAR_NOCACHEABLE);
        if (var == nullptr) return NGX_ERROR;
        var->get_handler = get_variable;
        var->data = spec.field;
    }
    return NGX_OK;
}

} // namespace authgate::ngx
