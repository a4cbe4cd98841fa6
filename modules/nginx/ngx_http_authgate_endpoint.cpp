// Content handler of the location with authgate_endpoint: login, logout, health.
#include "ngx_http_authgate_request.h"

namespace authgate::ngx {

namespace {

using Phase = RequestState::Phase;

LocConf* loc_conf(ngx_http_request_t* r) {
    return static_cast<LocConf*>(ngx_http_get_module_loc_conf(r, ngx_http_authgate_module));
}

// Runs the endpoint flow. finalize: called from the body handler, so the request must
// be finalized here rather than by the content phase.
ngx_int_t run(ngx_http_request_t* r, std::string_view body, bool finalize) {
    const GateConfig& cfg = *loc_conf(r)->gate;
    RequestState* st = RequestState::create(r, Phase::content);
    if (st == nullptr) return NGX_HTTP_INTERNAL_SERVER_ERROR;
    st->build_view(cfg, body);
    if (!st->start(handle_endpoint(st->ports(), cfg, st->view))) {
        if (!finalize) r->main->count++;
        return NGX_DONE; // finished by RequestState when the flow completes
    }
    st->applied = true;
    log_notice(r, *st->decision);
    ngx_int_t rc = send_decision(r, *st->decision);
    if (finalize) ngx_http_finalize_request(r, rc);
    return rc;
}

void body_ready(ngx_http_request_t* r) noexcept {
    guard(r->connection->log, 0, [&] {
        std::string body;
        bool in_file = false;
        if (r->request_body != nullptr) {
            for (ngx_chain_t* cl = r->request_body->bufs; cl != nullptr; cl = cl->next) {
                if (cl->buf->in_file) { // larger than client_body_buffer_size
                    in_file = true;
                    break;
                }
                if (!ngx_buf_in_memory(cl->buf)) continue; // e.g. the final empty buffer
                body.append(reinterpret_cast<const char*>(cl->buf->pos),
                            static_cast<std::size_t>(cl->buf->last - cl->buf->pos));
            }
        }
        if (in_file || !body_fits(body.size())) {
            ngx_http_finalize_request(r, send_decision(r, body_too_large()));
            return 0;
        }
        run(r, body, true);
        return 0;
    });
}

} // namespace

ngx_int_t endpoint_handler(ngx_http_request_t* r) {
    LocConf* lc = loc_conf(r);
    if (lc->gate == nullptr) return NGX_DECLINED;
    return guard(r->connection->log, static_cast<ngx_int_t>(NGX_HTTP_INTERNAL_SERVER_ERROR),
                 [&]() -> ngx_int_t {
                     if (r->method != NGX_HTTP_POST) {
                         if (ngx_http_discard_request_body(r) != NGX_OK) return NGX_ERROR;
                         return run(r, {}, false);
                     }
                     off_t declared = r->headers_in.content_length_n;
                     if (declared > 0 && !body_fits(static_cast<std::size_t>(declared))) {
                         if (ngx_http_discard_request_body(r) != NGX_OK) return NGX_ERROR;
                         return send_decision(r, body_too_large());
                     }
                     ngx_int_t rc = ngx_http_read_client_request_body(r, body_ready);
                     if (rc >= NGX_HTTP_SPECIAL_RESPONSE) return rc;
                     return NGX_DONE;
                 });
}

} // namespace authgate::ngx
