// ACCESS phase: protected locations need a valid session. PRECONTENT phase: the same
// check for subrequests, which nginx lets skip the ACCESS phase.
#include "ngx_http_authgate_request.h"

namespace authgate::ngx {

namespace {

using Phase = RequestState::Phase;

// What an allowed request returns to its phase: ACCESS goes on; a subrequest declines so
// that try_files and mirror still run, unless the gate is its answer (below).
ngx_int_t allowed(ngx_http_request_t* r) {
    if (r == r->main) return NGX_OK;
    auto* clcf = static_cast<ngx_http_core_loc_conf_t*>(
        ngx_http_get_module_loc_conf(r, ngx_http_core_module));
    if (r->header_only && clcf->handler == nullptr) {
        // An auth_request target with nothing to proxy to: the gate answers 2xx itself.
        Decision no_content;
        no_content.status = NGX_HTTP_NO_CONTENT;
        ngx_http_finalize_request(r, send_decision(r, no_content));
        return NGX_DONE;
    }
    return NGX_DECLINED;
}

ngx_int_t apply(ngx_http_request_t* r, const LocConf& lc, RequestState& st) {
    const GateConfig& cfg = *lc.gate;
    st.applied = true;
    st.applied_cfg = &cfg;
    if (!st.decision) return NGX_HTTP_INTERNAL_SERVER_ERROR;
    const Decision& d = *st.decision;
    if (d.allowed()) return apply_allow(r, lc, d) == NGX_OK ? allowed(r) : NGX_ERROR;
    log_notice(r, d);
    ngx_http_finalize_request(r, send_decision(r, d));
    return NGX_DONE;
}

// Runs the full check on st.view (the client's original credentials).
ngx_int_t decide(ngx_http_request_t* r, const LocConf& lc, RequestState& st) {
    const GateConfig& cfg = *lc.gate;
    // A limit counts once: its answer, a 429 included, is made on the complete view.
    if (!cfg.limits.empty() && !st.view_complete()) st.complete_view({});
    if (check_access_cached(st.inline_ports(), cfg, st.view, st.decision)) {
        // A cache hit: no store wait, no coroutine. Only a plain allow is answered from
        // the credentials alone; any other answer is made again on the complete view.
        if (st.decision->allowed() || st.view_complete()) return apply(r, lc, st);
        st.decision.reset();
    }
    if (!st.view_complete()) st.complete_view({});
    if (!st.start(check_access(st.ports(), cfg, st.view))) return NGX_AGAIN;
    return apply(r, lc, st);
}

ngx_int_t check(ngx_http_request_t* r, const LocConf& lc) {
    const GateConfig& cfg = *lc.gate;
    RequestState* st = RequestState::find(r, Phase::access);
    if (st != nullptr) {
        if (st->suspended) return NGX_AGAIN;
        if (!st->applied) return apply(r, lc, *st); // the flow finished asynchronously
        if (st->decision && st->decision->allowed()) {
            // An internal redirect brought an allowed request here.
            if (st->applied_cfg == &cfg) return allowed(r);
            strip_client_identity(r, cfg); // the previous location's identity headers too
            if (!same_authentication(*st->applied_cfg, cfg) || !cfg.limits.empty()) {
                // Other tokens or session rules, or limits of its own: decide afresh, on the
                // original credentials.
                st->restart();
                st->bind_limit_values(cfg);
                return decide(r, lc, *st);
            }
            // Same session, but this location's rules (a denial answers on the full view).
            if (!st->view_complete()) st->complete_view({});
            st->decision =
                authorize(cfg, st->view, st->decision->identity, runtime()->clock.now_ms());
            return apply(r, lc, *st);
        }
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }
    st = RequestState::create(r, Phase::access);
    if (st == nullptr) return NGX_ERROR;
    st->build_credentials(cfg); // before stripping: the view keeps the original cookies
    strip_client_identity(r, cfg);
    return decide(r, lc, *st);
}

ngx_int_t run(ngx_http_request_t* r, const LocConf& lc) {
    return guard(r->connection->log, static_cast<ngx_int_t>(NGX_HTTP_INTERNAL_SERVER_ERROR),
                 [&]() -> ngx_int_t {
                     if (lc.gate->enabled) return check(r, lc);
                     // Not gated, but nobody may pose as a signed-in user to the upstream
                     // here either.
                     strip_client_identity(r, *lc.gate);
                     return NGX_DECLINED;
                 });
}

const LocConf* gate_conf(ngx_http_request_t* r) {
    auto* lc = static_cast<LocConf*>(ngx_http_get_module_loc_conf(r, ngx_http_authgate_module));
    if (lc->gate == nullptr || lc->gate->endpoint) return nullptr;
    return lc;
}

} // namespace

ngx_int_t access_handler(ngx_http_request_t* r) {
    const LocConf* lc = gate_conf(r);
    return lc == nullptr ? NGX_DECLINED : run(r, *lc);
}

// SSI include, auth_request, mirror: decided on the main request's credentials.
ngx_int_t subrequest_handler(ngx_http_request_t* r) {
    if (r == r->main) return NGX_DECLINED; // decided in the ACCESS phase
    const LocConf* lc = gate_conf(r);
    if (lc == nullptr) return NGX_DECLINED;
    if (!own_request_headers(r)) return NGX_HTTP_INTERNAL_SERVER_ERROR;
    return run(r, *lc);
}

} // namespace authgate::ngx
