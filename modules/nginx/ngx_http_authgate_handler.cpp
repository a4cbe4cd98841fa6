// ACCESS phase: protected locations need a valid session.
#include "ngx_http_authgate_request.h"

namespace authgate::ngx {

namespace {

using Phase = RequestState::Phase;

ngx_int_t apply(ngx_http_request_t* r, const LocConf& lc, RequestState& st) {
    const GateConfig& cfg = *lc.gate;
    st.applied = true;
    st.applied_cfg = &cfg;
    if (!st.decision) return NGX_HTTP_INTERNAL_SERVER_ERROR;
    const Decision& d = *st.decision;
    if (d.allowed()) return apply_allow(r, lc, d) == NGX_OK ? NGX_OK : NGX_ERROR;
    log_notice(r, d);
    ngx_http_finalize_request(r, send_decision(r, d));
    return NGX_DONE;
}

ngx_int_t check(ngx_http_request_t* r, const LocConf& lc) {
    const GateConfig& cfg = *lc.gate;
    RequestState* st = RequestState::find(r, Phase::access);
    if (st != nullptr) {
        if (st->suspended) return NGX_AGAIN;
        if (!st->applied) return apply(r, lc, *st);  // the flow finished asynchronously
        if (st->decision && st->decision->allowed()) {
            // An internal redirect brought an allowed request here: same session, but
            // this location's rules (nothing to redo when the configuration is the same).
            if (st->applied_cfg == &cfg) return NGX_OK;
            Decision again =
                authorize(cfg, st->view, st->decision->identity, runtime()->clock.now_ms());
            strip_client_identity(r, cfg);
            st->decision = std::move(again);
            return apply(r, lc, *st);
        }
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }
    st = RequestState::create(r, Phase::access);
    if (st == nullptr) return NGX_ERROR;
    st->build_view(cfg, {});  // before stripping: the view keeps the original cookies
    strip_client_identity(r, cfg);
    Ports ports = st->ports();
    if (auto cached = check_access_cached(ports, cfg, st->view)) {
        st->decision = std::move(*cached);  // a cache hit: no store, no coroutine
        return apply(r, lc, *st);
    }
    if (!st->start(check_access(ports, cfg, st->view))) return NGX_AGAIN;
    return apply(r, lc, *st);
}

} // namespace

ngx_int_t access_handler(ngx_http_request_t* r) {
    auto* lc = static_cast<LocConf*>(ngx_http_get_module_loc_conf(r, ngx_http_authgate_module));
    if (lc->gate == nullptr || lc->gate->endpoint) return NGX_DECLINED;
    if (!lc->gate->enabled) {
        // Not gated, but nobody may pose as a signed-in user to the upstream here either.
        return guard(r->connection->log, static_cast<ngx_int_t>(NGX_HTTP_INTERNAL_SERVER_ERROR),
                     [&]() -> ngx_int_t {
                         strip_client_identity(r, *lc->gate);
                         return NGX_DECLINED;
                     });
    }
    return guard(r->connection->log, static_cast<ngx_int_t>(NGX_HTTP_INTERNAL_SERVER_ERROR),
                 [&] { return check(r, *lc); });
}

} // namespace authgate::ngx
