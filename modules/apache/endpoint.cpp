// The handler of the gate's endpoints (SetHandler authgate-endpoint, or AuthGateEndpoint):
// sign-in, logout, SSO, health, run inline on the request thread.
#include "request_state.h"

#include "authgate/run_inline.h"
#include "curl_client.h"

namespace authgate::apache {

namespace {

// The form body, capped at the core's limit; nullopt when larger (declared or received).
std::optional<std::string> read_body(request_rec* r, int& error) {
    std::string body;
    error = ap_setup_client_block(r, REQUEST_CHUNKED_DECHUNK);
    if (error != OK) return body;
    if (r->remaining > 0 && !body_fits(static_cast<std::size_t>(r->remaining))) return std::nullopt;
    if (!ap_should_client_block(r)) return body;
    char buf[8192];
    for (;;) {
        long n = ap_get_client_block(r, buf, sizeof buf);
        if (n == 0) break;
        if (n < 0) {
            error = HTTP_BAD_REQUEST;
            return body;
        }
        if (!body_fits(body.size() + static_cast<std::size_t>(n))) return std::nullopt;
        body.append(buf, static_cast<std::size_t>(n));
    }
    return body;
}

int answer(request_rec* r, const GateConfig& cfg) {
    Runtime* rt = runtime();
    if (rt == nullptr) return HTTP_INTERNAL_SERVER_ERROR;
    RequestState& st = request_state(r);
    std::string body;
    if (r->method_number == M_POST) {
        int error = OK;
        auto read = read_body(r, error);
        if (error != OK) return error;
        if (!read) {
            r->connection->keepalive = AP_CONN_CLOSE; // the rest of the body is not read
            return send_decision(r, body_too_large(), true);
        }
        body = std::move(*read);
    } else if (int rc = ap_discard_request_body(r); rc != OK) {
        return rc;
    }
    RequestView view = request_view(r, st, body);
    bind_limit_values(r, cfg, view);
    InlineOffloader offload;
    curl::CurlHttpClient http(offload, nullptr);
    InlineParking parking;
    Decision d = run_inline(handle_endpoint(request_ports(*rt, http, parking), cfg, view), parking);
    set_status_env(r, d);
    log_notice(r, d);
    return send_decision(r, d, true);
}

} // namespace

int endpoint_handler(request_rec* r) {
    if (!generation()->used) return DECLINED;
    bool named = r->handler != nullptr && strcmp(r->handler, kEndpointHandler) == 0;
    try {
        DirConf* dc = dir_conf(r);
        const GateConfig* g = gate_for(*dc, Variant::as_written, r->server);
        if (!named && (g == nullptr || !g->endpoint)) return DECLINED;
        if (g != nullptr && !g->endpoint) g = gate_for(*dc, Variant::endpoint, r->server);
        if (g == nullptr) return HTTP_INTERNAL_SERVER_ERROR;
        return answer(r, *g);
    } catch (const std::exception& e) {
        ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, r, "authgate: internal error: %s", e.what());
        return HTTP_INTERNAL_SERVER_ERROR;
    }
}

} // namespace authgate::apache
