// The access checker (AuthGate On: the core decides, as nginx's ACCESS phase), check_authn
// for AuthType authgate, and the Require authgate-* providers.
#include "request_state.h"

#include <ap_expr.h>
#include <ap_provider.h>
#include <mod_auth.h>

#include <unistd.h>

#include "authgate/roles.h"
#include "authgate/run_inline.h"
#include "curl_client.h"

namespace authgate::apache {

namespace {

constexpr const char* kStateKey = "authgate:request-state";

apr_status_t destroy_state(void* data) {
    delete static_cast<RequestState*>(data);
    return APR_SUCCESS;
}

template <class F> int guarded(request_rec* r, F&& fn) noexcept {
    try {
        return fn();
    } catch (const std::exception& e) {
        ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, r, "authgate: internal error: %s", e.what());
    } catch (...) {
        ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, r, "authgate: internal error");
    }
    return HTTP_INTERNAL_SERVER_ERROR;
}

// Runs the core's check for r under cfg (or only its authorization, when the chain was
// already allowed under a configuration that authenticates the same way).
Decision decide(request_rec* r, const GateConfig& cfg, RequestState& st) {
    Runtime* rt = runtime();
    if (rt == nullptr) throw std::runtime_error("no runtime in this process");
    RequestView view = request_view(r, st, {});
    bind_limit_values(r, cfg, view);
    // Limits count once per location: a redirect into one with zones of its own decides
    // afresh.
    if (st.decision && st.decision->allowed() && st.decided_cfg != nullptr &&
        (st.decided_cfg == &cfg ||
         (same_authentication(*st.decided_cfg, cfg) && cfg.limits.empty()))) {
        return authorize(cfg, view, st.decision->identity, rt->clock.now_ms());
    }
    // The inline check first: a flow's HTTP client and parking only when a flow runs.
    std::optional<Decision> cached;
    Store* inline_store = rt->redis ? nullptr : rt->store.get(); // Redis never answers inline
    if (check_access_cached(rt->core->inline_ports(inline_store, rt->clock, rt->local_store.get()),
                            cfg, view, cached)) {
        return std::move(*cached);
    }
    InlineOffloader offload;
    curl::CurlHttpClient http(offload, nullptr);
    InlineParking parking;
    return run_inline(check_access(request_ports(*rt, http, parking), cfg, view), parking);
}

int gate(request_rec* r, const GateConfig& cfg) {
    RequestState& st = request_state(r);
    strip_client_identity(r, cfg);
    Decision d = decide(r, cfg, st);
    set_status_env(r, d);
    if (d.allowed()) {
        apply_allow(r, cfg, d);
        st.decision = std::move(d);
        st.decided_cfg = &cfg;
        return OK;
    }
    log_notice(r, d);
    int rc = send_decision(r, d, false);
    // A denied subrequest leaves the chain's own answer in place.
    if (!st.decision || r == initial_request(r)) {
        st.decision = std::move(d);
        st.decided_cfg = &cfg;
    }
    return rc;
}

bool is_authgate_auth_type(request_rec* r) {
    const char* type = ap_auth_type(r);
    return type != nullptr && strcasecmp(type, kAuthType) == 0;
}

} // namespace

request_rec* initial_request(request_rec* r) {
    for (;;) {
        if (r->main != nullptr) {
            r = r->main;
        } else if (r->prev != nullptr) {
            r = r->prev;
        } else {
            return r;
        }
    }
}

RequestState* find_request_state(request_rec* r) {
    void* data = nullptr;
    apr_pool_userdata_get(&data, kStateKey, initial_request(r)->pool);
    return static_cast<RequestState*>(data);
}

RequestState& request_state(request_rec* r) {
    if (RequestState* st = find_request_state(r)) return *st;
    request_rec* first = initial_request(r);
    auto st = std::make_unique<RequestState>();
    apr_table_do(
        [](void* rec, const char*, const char* value) -> int {
            static_cast<RequestState*>(rec)->client_cookies.emplace_back(value);
            return 1;
        },
        st.get(), first->headers_in, "Cookie", nullptr);
    st->request_id = std::to_string(::getpid()) + "-" + std::to_string(first->connection->id) +
                     "-" + std::to_string(first->connection->keepalives);
    RequestState* raw = st.release();
    apr_pool_userdata_set(raw, kStateKey, destroy_state, first->pool);
    return *raw;
}

bool is_error_redirect(const request_rec* r) {
    return r->prev != nullptr && ap_is_HTTP_ERROR(r->prev->status);
}

RequestView request_view(request_rec* r, RequestState& st, std::string_view body) {
    auto text = [](const char* s) {
        return s != nullptr ? std::string_view(s) : std::string_view{};
    };
    RequestView v;
    v.method = text(r->method);
    v.uri = text(r->unparsed_uri);
    v.path = text(r->uri);
    v.query = text(r->args);
    for (const auto& c : st.client_cookies) v.cookie_headers.push_back(c);
    v.accept = text(apr_table_get(r->headers_in, "Accept"));
    v.x_requested_with = text(apr_table_get(r->headers_in, "X-Requested-With"));
    v.content_type = text(apr_table_get(r->headers_in, "Content-Type"));
    v.authorization = text(apr_table_get(r->headers_in, "Authorization"));
    v.body = body;
    v.host = text(apr_table_get(r->headers_in, "Host"));
    v.client_addr = text(r->useragent_ip);
    // Read only where AuthGateTrustedProxies names the peer.
    auto add_lines = [](void* rec, const char*, const char* value) -> int {
        static_cast<InlineVector<std::string_view, 2>*>(rec)->push_back(value);
        return 1;
    };
    apr_table_do(add_lines, &v.forwarded_for, r->headers_in, "X-Forwarded-For", nullptr);
    apr_table_do(add_lines, &v.forwarded, r->headers_in, "Forwarded", nullptr);
    v.request_id = st.request_id;
    v.tls = strcmp(ap_http_scheme(r), "https") == 0;
    v.subrequest = r->main != nullptr || is_error_redirect(r);
    return v;
}

Ports request_ports(Runtime& rt, HttpClient& http, Parking& parking) {
    return rt.core->ports(*rt.store, rt.clock, rt.random, rt.offload, http, &parking,
                          rt.local_store.get());
}

void bind_limit_values(request_rec* r, const GateConfig& cfg, RequestView& v) {
    v.limit_variables.clear();
    bool any = false;
    for (const auto& l : cfg.limits) any |= l.zone->key == config::LimitZone::Key::variable;
    if (!any) return;
    for (const auto& l : cfg.limits) {
        const char* value = nullptr;
        if (l.zone->key == config::LimitZone::Key::variable) {
            value = apr_table_get(r->subprocess_env, l.zone->variable.c_str());
        }
        v.limit_variables.push_back(value != nullptr ? std::string_view(value)
                                                     : std::string_view{});
    }
}

bool is_endpoint_request(request_rec* r, const GateConfig& g) {
    if (g.endpoint) return true;
    if (r->handler != nullptr && strcmp(r->handler, kEndpointHandler) == 0) return true;
    // SetHandler is applied after the access hooks: read it from the section.
    auto* core = static_cast<core_dir_config*>(ap_get_core_module_config(r->per_dir_config));
    if (core == nullptr || core->expr_handler == nullptr) return false;
    const char* err = nullptr;
    const char* handler = ap_expr_str_exec(r, core->expr_handler, &err);
    return err == nullptr && handler != nullptr && strcmp(handler, kEndpointHandler) == 0;
}

int access_checker(request_rec* r) {
    if (!generation()->used) return DECLINED;
    return guarded(r, [&]() -> int {
        const GateConfig* g = gate_for(*dir_conf(r), Variant::as_written, r->server);
        if (g == nullptr) return HTTP_INTERNAL_SERVER_ERROR;
        request_state(r); // saves the client's cookies before they are stripped
        if (!g->enabled || is_endpoint_request(r, *g)) {
            // Not gated here (or the gate's own endpoint), but nobody may pose as a signed-in
            // user to the upstream either.
            strip_client_identity(r, *g);
            return DECLINED;
        }
        return gate(r, *g);
    });
}

// Reached when a Require needs a user and none is set yet (AuthType authgate).
int check_authn(request_rec* r) {
    if (!generation()->used || !is_authgate_auth_type(r)) return DECLINED;
    return guarded(r, [&]() -> int {
        const GateConfig* g = gate_for(*dir_conf(r), Variant::gated, r->server);
        if (g == nullptr) return HTTP_INTERNAL_SERVER_ERROR;
        return gate(r, *g);
    });
}

// ---- Require authgate-user / -group / -role / -permission ----------------------------

namespace {

using Names = std::vector<std::string>;
using Kind = config::RequireTerm::Kind;

template <Kind kind> constexpr const char* kProviderName = "authgate-user";
template <> constexpr const char* kProviderName<Kind::group> = "authgate-group";
template <> constexpr const char* kProviderName<Kind::role> = "authgate-role";
template <> constexpr const char* kProviderName<Kind::permission> = "authgate-permission";

template <Kind kind>
const char* parse_names_of(cmd_parms* cmd, const char* require_line, const void** parsed) {
    auto* names = new Names();
    apr_pool_cleanup_register(
        cmd->pool, names,
        [](void* data) -> apr_status_t {
            delete static_cast<Names*>(data);
            return APR_SUCCESS;
        },
        apr_pool_cleanup_null);
    const char* rest = require_line;
    while (*rest != '\0') {
        char* word = ap_getword_conf(cmd->temp_pool, &rest);
        if (*word != '\0') names->emplace_back(word);
    }
    if (names->empty()) {
        return apr_psprintf(cmd->pool, "Require %s needs at least one name", kProviderName<kind>);
    }
    if constexpr (kind == Kind::role || kind == Kind::permission) {
        for (const auto& n : *names) {
            bool ok = kind == Kind::role ? is_role_name(n) : is_permission_name(n);
            if (!ok) {
                return apr_psprintf(cmd->pool, "Require %s: invalid %s name \"%s\"",
                                    kProviderName<kind>, kind == Kind::role ? "role" : "permission",
                                    n.c_str());
            }
        }
    }
    if constexpr (kind == Kind::role) {
        // The server's AuthGateRole lines may come later in the file: check_config checks
        // the names once everything is read.
        generation()->role_references.push_back(
            RoleReference{cmd->server, *names,
                          std::string(cmd->directive->filename) + ":" +
                              std::to_string(cmd->directive->line_num)});
    }
    *parsed = names;
    return nullptr;
}

// httpd calls it from C: nothing may escape.
template <Kind kind>
const char* parse_names(cmd_parms* cmd, const char* require_line, const void** parsed) noexcept {
    try {
        return parse_names_of<kind>(cmd, require_line, parsed);
    } catch (const std::exception& e) {
        return apr_pstrdup(cmd->pool, e.what());
    }
}

template <Kind kind> authz_status check_names_of(request_rec* r, const void* parsed) {
    if (r->user == nullptr) return AUTHZ_DENIED_NO_USER;
    const RequestState* st = find_request_state(r);
    // Only the gate's own identity: a user set by another AuthType holds no groups here.
    if (st == nullptr || !st->decision || !st->decision->allowed() || !st->decision->identity ||
        st->decision->identity->user != r->user || parsed == nullptr) {
        return AUTHZ_DENIED;
    }
    // Roles and permissions come from the configuration the decision was made under (this
    // generation's): what a role permits is never taken from the session.
    const RoleGraph* roles = st->decided_cfg != nullptr ? st->decided_cfg->roles.get() : nullptr;
    return holds_any(*st->decision->identity, kind, *static_cast<const Names*>(parsed), roles)
               ? AUTHZ_GRANTED
               : AUTHZ_DENIED;
}

template <Kind kind>
authz_status check_names(request_rec* r, const char*, const void* parsed) noexcept {
    try {
        return check_names_of<kind>(r, parsed);
    } catch (...) {
        ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, r, "authgate: internal error in Require %s",
                      kProviderName<kind>);
        return AUTHZ_GENERAL_ERROR;
    }
}

template <Kind kind> constexpr authz_provider kProvider = {&check_names<kind>, &parse_names<kind>};

} // namespace

void register_authz_providers(apr_pool_t* p) {
    auto add = [p](const char* name, const authz_provider* provider) {
        ap_register_auth_provider(p, AUTHZ_PROVIDER_GROUP, name, AUTHZ_PROVIDER_VERSION, provider,
                                  AP_AUTH_INTERNAL_PER_CONF);
    };
    add(kProviderName<Kind::user>, &kProvider<Kind::user>);
    add(kProviderName<Kind::group>, &kProvider<Kind::group>);
    add(kProviderName<Kind::role>, &kProvider<Kind::role>);
    add(kProviderName<Kind::permission>, &kProvider<Kind::permission>);
}

} // namespace authgate::apache
