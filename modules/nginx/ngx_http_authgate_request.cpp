#include "ngx_http_authgate_request.h"

#include <algorithm>
#include <array>
#include <charconv>
#include <cstring>
#include <new>

#include "authgate/http.h"

namespace authgate::ngx {

namespace {

template <class F> void for_each_header(ngx_list_t& list, F&& fn) {
    for (ngx_list_part_t* part = &list.part; part != nullptr; part = part->next) {
        auto* h = static_cast<ngx_table_elt_t*>(part->elts);
        for (ngx_uint_t i = 0; i < part->nelts; ++i) fn(h[i]);
    }
}

// Header elements to drop; no allocation for the usual handful.
class DropList {
  public:
    void push(ngx_table_elt_t* h) {
        if (n_ < fixed_.size()) {
            fixed_[n_++] = h;
        } else {
            more_.push_back(h);
        }
    }
    // A plain loop: the list holds one or two elements (std::find's unrolled search costs
    // more than the search itself here, for every header of every request).
    bool contains(const ngx_table_elt_t* h) const {
        for (std::size_t i = 0; i < n_; ++i) {
            if (fixed_[i] == h) return true;
        }
        return !more_.empty() && std::find(more_.begin(), more_.end(), h) != more_.end();
    }
    std::size_t size() const { return n_ + more_.size(); }
    bool empty() const { return size() == 0; }

  private:
    std::array<ngx_table_elt_t*, 8> fixed_{};
    std::size_t n_ = 0;
    std::vector<ngx_table_elt_t*> more_;
};

// Rebuilds the request's header list without the given elements. Other modules keep
// pointers into the old elements (host, cookies...), which stay valid in the pool.
bool remove_headers(ngx_http_request_t* r, const DropList& drop) {
    // The list struct holds a pointer to its own first part: copy it aside (iteration only
    // follows part->next) and rebuild the request's list in place.
    ngx_list_t old = r->headers_in.headers;
    ngx_uint_t count = 0;
    for (ngx_list_part_t* part = &old.part; part != nullptr; part = part->next) {
        count += part->nelts;
    }
    // Room for what stays plus the identity headers added next.
    ngx_uint_t room = count - std::min<ngx_uint_t>(count, drop.size()) + 4;
    if (ngx_list_init(&r->headers_in.headers, r->pool, room, sizeof(ngx_table_elt_t)) != NGX_OK) {
        return false;
    }
    bool ok = true;
    for_each_header(old, [&](ngx_table_elt_t& h) {
        if (!ok || drop.contains(&h)) return;
        auto* copy = static_cast<ngx_table_elt_t*>(ngx_list_push(&r->headers_in.headers));
        if (copy == nullptr) {
            ok = false;
            return;
        }
        *copy = h;
    });
    if (!ok) return false;
    // The cookie index must not point at removed elements.
    auto** cookies = static_cast<ngx_table_elt_t**>(r->headers_in.cookies.elts);
    ngx_uint_t kept = 0;
    for (ngx_uint_t i = 0; i < r->headers_in.cookies.nelts; ++i) {
        if (!drop.contains(cookies[i])) {
            cookies[kept++] = cookies[i];
        }
    }
    r->headers_in.cookies.nelts = kept;
    return true;
}

// Appends a request header named `key` (prepared at config time) whose value is one of
// the decision's identity-header values: no copy, as the request state holds the decision
// (and so the shared identity) until the request's pool is destroyed.
bool push_identity(ngx_http_request_t* r, const HeaderKey& key, const std::string& value) {
    auto* h = static_cast<ngx_table_elt_t*>(ngx_list_push(&r->headers_in.headers));
    if (h == nullptr) return false;
    h->key = key.key;
    h->lowcase_key = key.lowcase_key;
    h->hash = key.hash;
    h->value.len = value.size();
    h->value.data = reinterpret_cast<u_char*>(const_cast<char*>(value.c_str()));
    return true;
}

ngx_table_elt_t* push_response_header(ngx_http_request_t* r, std::string_view name,
                                      std::string_view value) {
    auto* h = static_cast<ngx_table_elt_t*>(ngx_list_push(&r->headers_out.headers));
    if (h == nullptr) return nullptr;
    h->hash = 1;
    h->key = pool_str(r->pool, name);
    h->value = pool_str(r->pool, value);
    h->lowcase_key = nullptr;
    return h->key.data != nullptr && h->value.data != nullptr ? h : nullptr;
}

// The main request's Cookie values as the client sent them: stripping rewrites them in the
// ACCESS phase, before any subrequest exists, and subrequests are decided on them.
struct ClientCookies {
    ngx_str_t* values;
    ngx_uint_t count;
};

void client_cookies_tag(void*) noexcept {}

const ClientCookies* find_client_cookies(ngx_http_request_t* main) {
    for (ngx_pool_cleanup_t* cln = main->pool->cleanup; cln != nullptr; cln = cln->next) {
        if (cln->handler == &client_cookies_tag) return static_cast<ClientCookies*>(cln->data);
    }
    return nullptr;
}

// Once per main request, before its first cookie is rewritten (only then: no allocation
// for requests without gate cookies).
void save_client_cookies(ngx_http_request_t* r) {
    if (r != r->main || find_client_cookies(r) != nullptr) return;
    ngx_uint_t n = r->headers_in.cookies.nelts;
    // One allocation: the record, then the values.
    ngx_pool_cleanup_t* cln =
        ngx_pool_cleanup_add(r->pool, sizeof(ClientCookies) + n * sizeof(ngx_str_t));
    if (cln == nullptr) throw std::bad_alloc();
    auto* values = reinterpret_cast<ngx_str_t*>(static_cast<ClientCookies*>(cln->data) + 1);
    auto** cookies = static_cast<ngx_table_elt_t**>(r->headers_in.cookies.elts);
    for (ngx_uint_t i = 0; i < n; ++i) values[i] = cookies[i]->value;
    *static_cast<ClientCookies*>(cln->data) = ClientCookies{values, n};
    cln->handler = &client_cookies_tag;
}

} // namespace

bool own_request_headers(ngx_http_request_t* r) {
    ngx_list_t shared = r->headers_in.headers;
    ngx_array_t shared_cookies = r->headers_in.cookies;
    ngx_uint_t count = 0;
    for_each_header(shared, [&](ngx_table_elt_t&) { ++count; });
    if (ngx_list_init(&r->headers_in.headers, r->pool, count + 4, sizeof(ngx_table_elt_t)) !=
            NGX_OK ||
        ngx_array_init(&r->headers_in.cookies, r->pool, shared_cookies.nelts + 1,
                       sizeof(ngx_table_elt_t*)) != NGX_OK) {
        return false;
    }
    auto** cookies = static_cast<ngx_table_elt_t**>(shared_cookies.elts);
    bool ok = true;
    for_each_header(shared, [&](ngx_table_elt_t& h) {
        auto* copy = static_cast<ngx_table_elt_t*>(ngx_list_push(&r->headers_in.headers));
        if (!ok || copy == nullptr) {
            ok = false;
            return;
        }
        *copy = h;
        for (ngx_uint_t i = 0; i < shared_cookies.nelts; ++i) {
            if (cookies[i] != &h) continue;
            auto** slot = static_cast<ngx_table_elt_t**>(ngx_array_push(&r->headers_in.cookies));
            if (slot == nullptr) {
                ok = false;
                return;
            }
            *slot = copy;
        }
    });
    return ok;
}

// ---- request state ---------------------------------------------------------------

RequestState::RequestState(ngx_http_request_t* req, Phase p) : r(req), phase(p) {}

RequestState::FlowParts::FlowParts(RequestState& st)
    : offloader(st), idp_offloader(st),
      http(idp_offloader,
           runtime() && runtime()->idp_pool ? &runtime()->idp_pool->stopping() : nullptr),
      parking(st) {}

RequestState* RequestState::find(ngx_http_request_t* r, Phase phase) {
    for (ngx_pool_cleanup_t* cln = r->pool->cleanup; cln != nullptr; cln = cln->next) {
        if (cln->handler == &RequestState::cleanup) {
            auto* st = static_cast<RequestState*>(cln->data);
            if (st->r == r && st->phase == phase) return st;
        }
    }
    return nullptr;
}

// Lives in the request pool; the pool cleanup runs the destructor.
RequestState* RequestState::create(ngx_http_request_t* r, Phase phase) {
    ngx_pool_cleanup_t* cln = ngx_pool_cleanup_add(r->pool, sizeof(RequestState));
    if (cln == nullptr) return nullptr;
    auto* st = new (cln->data) RequestState(r, phase);
    cln->handler = &RequestState::cleanup;
    return st;
}

void RequestState::cleanup(void* data) noexcept {
    static_cast<RequestState*>(data)->~RequestState();
}

void RequestState::build_view(const GateConfig& cfg, std::string_view body) {
    build_credentials(cfg);
    complete_view(body);
}

void RequestState::build_credentials(const GateConfig& cfg) {
    RequestView& v = view;
    v.method = sv(r->method_name);
    v.uri = sv(r->unparsed_uri);
    v.path = sv(r->uri);
    v.query = sv(r->args);
    v.cookie_headers.clear();
    v.subrequest = r != r->main;
    if (const ClientCookies* sent = v.subrequest ? find_client_cookies(r->main) : nullptr) {
        for (ngx_uint_t i = 0; i < sent->count; ++i)
            v.cookie_headers.push_back(sv(sent->values[i]));
    } else {
        auto** cookies = static_cast<ngx_table_elt_t**>(r->headers_in.cookies.elts);
        for (ngx_uint_t i = 0; i < r->headers_in.cookies.nelts; ++i) {
            v.cookie_headers.push_back(sv(cookies[i]->value));
        }
    }
#if (NGX_HTTP_SSL)
    v.tls = r->connection->ssl != nullptr;
#endif
    // After the realip module, if used, this is the address it took from its header.
    v.client_addr = sv(r->connection->addr_text);
    v.forwarded_for.clear();
    v.forwarded.clear();
    if (!cfg.trusted_proxies.empty()) {
        for_each_header(r->headers_in.headers, [&](ngx_table_elt_t& h) {
            std::string_view k = sv(h.key);
            if (k.size() == 15 && http::same_header_name(k, "x-forwarded-for")) {
                v.forwarded_for.push_back(sv(h.value));
            } else if (k.size() == 9 && http::same_header_name(k, "forwarded")) {
                v.forwarded.push_back(sv(h.value));
            }
        });
    }
    bind_limit_values(cfg);
    view_complete_ = false;
}

void RequestState::bind_limit_values(const GateConfig& cfg) {
    view.limit_variables.clear();
    const auto* lc =
        static_cast<LocConf*>(ngx_http_get_module_loc_conf(r, ngx_http_authgate_module));
    if (lc->limit_values == nullptr) return;
    for (std::size_t i = 0; i < cfg.limits.size(); ++i) {
        ngx_str_t value{0, nullptr};
        if (lc->limit_values[i] != nullptr &&
            ngx_http_complex_value(r, lc->limit_values[i], &value) != NGX_OK) {
            value = ngx_str_t{0, nullptr};
        }
        view.limit_variables.push_back(sv(value));
    }
}

// The headers read here are never stripped (config refuses them as identity header names),
// so the view is the same whether it is completed before or after strip_client_identity.
void RequestState::complete_view(std::string_view body) {
    RequestView& v = view;
    for_each_header(r->headers_in.headers, [&](ngx_table_elt_t& h) {
        std::string_view k = sv(h.key);
        if (k.size() == 6 && http::same_header_name(k, "accept")) v.accept = sv(h.value);
        if (k.size() == 16 && http::same_header_name(k, "x-requested-with")) {
            v.x_requested_with = sv(h.value);
        }
    });
    if (r->headers_in.content_type) v.content_type = sv(r->headers_in.content_type->value);
    if (r->headers_in.authorization) v.authorization = sv(r->headers_in.authorization->value);
    body_.assign(body);
    v.body = body_;
    v.host = r->headers_in.host ? sv(r->headers_in.host->value) : std::string_view{};
    // "<pid>-<connection>-<request>", formatted without printf machinery; the "<pid>-"
    // part once per process.
    static ngx_pid_t prefix_pid = 0;
    static char prefix[24];
    static std::size_t prefix_len = 0;
    if (prefix_pid != ngx_pid) {
        char* p = std::to_chars(prefix, prefix + sizeof prefix - 1, static_cast<long>(ngx_pid)).ptr;
        *p++ = '-';
        prefix_len = static_cast<std::size_t>(p - prefix);
        prefix_pid = ngx_pid;
    }
    char* out = request_id_;
    char* end = request_id_ + sizeof request_id_;
    std::memcpy(out, prefix, prefix_len);
    out += prefix_len;
    out = std::to_chars(out, end, r->connection->number).ptr;
    *out++ = '-';
    out = std::to_chars(out, end, r->connection->requests).ptr;
    v.request_id = std::string_view(request_id_, static_cast<std::size_t>(out - request_id_));
    view_complete_ = true;
}

void RequestState::restart() {
    decision.reset();
    applied = false;
    applied_cfg = nullptr;
    view.path = sv(r->uri);
    view.query = sv(r->args);
}

Ports RequestState::ports() {
    Runtime* rt = runtime();
    if (rt->redis && !redis_store_) redis_store_.emplace(*rt->redis, *this);
    Store& store = rt->redis ? redis_store_->store() : *rt->store;
    if (!flow_) flow_.emplace(*this);
    return rt->core->ports(store, rt->clock, rt->random, flow_->offloader, flow_->http,
                           &flow_->parking, rt->local_store.get());
}

InlinePorts RequestState::inline_ports() {
    Runtime* rt = runtime();
    return rt->core->inline_ports(rt->redis ? nullptr : rt->store.get(), rt->clock,
                                  rt->local_store.get());
}

bool RequestState::start(Task<Decision> task) {
    task_ = std::move(task);
    task_.start();
    if (!task_.done()) return false;
    decision = task_.result();
    return true;
}

void RequestState::park(std::coroutine_handle<> h) {
    pending_ = h;
    suspended = true;
    saved_write_handler_ = r->write_event_handler;
    r->write_event_handler = &RequestState::resume_handler;
}

void RequestState::wake() {
    woken_ = true;
    r->write_event_handler(r);
}

void RequestState::resume() noexcept {
    ngx_connection_t* c = r->connection;
    wake();
    ngx_http_run_posted_requests(c);
}

void RequestState::resume_handler(ngx_http_request_t* r) noexcept {
    RequestState* st = nullptr;
    for (Phase p : {Phase::access, Phase::content}) {
        RequestState* candidate = find(r, p);
        if (candidate != nullptr && candidate->pending_ && candidate->woken_) st = candidate;
    }
    if (st == nullptr) return;
    guard(r->connection->log, 0, [&] {
        r->write_event_handler = st->saved_write_handler_;
        st->woken_ = false;
        auto h = std::exchange(st->pending_, {});
        h.resume();
        if (st->task_.done()) {
            st->suspended = false;
            st->finish_async();
        }
        return 0;
    });
}

void RequestState::finish_async() {
    try {
        decision = task_.result();
    } catch (const std::exception& e) {
        ngx_log_error(NGX_LOG_ALERT, r->connection->log, 0, "authgate: internal error: %s",
                      e.what());
    }
    if (phase == Phase::access) {
        // The access handler finds the decision when the phases run again.
        r->write_event_handler = ngx_http_core_run_phases;
        ngx_http_core_run_phases(r);
        return;
    }
    r->write_event_handler = ngx_http_request_empty_handler;
    if (!decision) {
        ngx_http_finalize_request(r, NGX_HTTP_INTERNAL_SERVER_ERROR);
        return;
    }
    log_notice(r, *decision);
    ngx_http_finalize_request(r, send_decision(r, *decision));
}

// ---- applying decisions ----------------------------------------------------------

void strip_client_identity(ngx_http_request_t* r, const GateConfig& cfg) {
    DropList drop;
    for_each_header(r->headers_in.headers, [&](ngx_table_elt_t& h) {
        if (cfg.protects_header(sv(h.key))) drop.push(&h);
    });
    // The gate's own cookies (any configured in the http block) are not for the upstream.
    auto** cookies = static_cast<ngx_table_elt_t**>(r->headers_in.cookies.elts);
    for (ngx_uint_t i = 0; i < r->headers_in.cookies.nelts; ++i) {
        std::string_view value = sv(cookies[i]->value);
        if (!cfg.may_hold_gate_cookie(value)) continue;
        save_client_cookies(r);
        auto* out = static_cast<u_char*>(ngx_pnalloc(r->pool, 2 * value.size() + 1));
        if (out == nullptr) throw std::bad_alloc();
        auto len = http::strip_cookies(value, cfg.gate_cookies, reinterpret_cast<char*>(out));
        if (!len) continue;
        if (*len == 0) {
            drop.push(cookies[i]);
        } else {
            out[*len] = '\0';
            cookies[i]->value = ngx_str_t{*len, out};
        }
    }
    if (!drop.empty()) remove_headers(r, drop);
}

ngx_int_t apply_allow(ngx_http_request_t* r, const LocConf& lc, const Decision& d) {
    const HeaderKey* k = lc.identity_keys; // user, email, name, groups, roles
    const AdmittedIdentity& id = *d.identity;
    bool ok = true;
    if (k[0].key.len != 0) ok &= push_identity(r, k[0], id.header_user);
    if (k[1].key.len != 0 && !id.email.empty()) ok &= push_identity(r, k[1], id.header_email);
    if (k[2].key.len != 0 && !id.name.empty()) ok &= push_identity(r, k[2], id.header_name);
    if (k[3].key.len != 0) ok &= push_identity(r, k[3], id.header_groups);
    if (k[4].key.len != 0 && !id.roles.empty()) ok &= push_identity(r, k[4], id.header_roles);
    // Rate-limit headers, for the client (a subrequest's would not reach it).
    if (r == r->main) {
        for (const auto& h : d.headers) ok &= push_response_header(r, h.name, h.value) != nullptr;
    }
    return ok ? NGX_OK : NGX_ERROR;
}

ngx_int_t send_decision(ngx_http_request_t* r, const Decision& d) {
    r->headers_out.status = static_cast<ngx_uint_t>(d.status);
    bool ok = true;
    if (!d.location.empty()) {
        // The Location header nginx itself manages (made absolute by absolute_redirect).
        ngx_http_clear_location(r);
        auto* loc = static_cast<ngx_table_elt_t*>(ngx_list_push(&r->headers_out.headers));
        if (loc == nullptr) return NGX_ERROR;
        loc->hash = 1;
        ngx_str_set(&loc->key, "Location");
        loc->value = pool_str(r->pool, d.location);
        loc->lowcase_key = nullptr;
        r->headers_out.location = loc;
    }
    for (const auto& c : d.set_cookies) ok &= push_response_header(r, "Set-Cookie", c) != nullptr;
    for (const auto& h : d.headers) {
        ngx_table_elt_t* added = push_response_header(r, h.name, h.value);
        ok &= added != nullptr;
        // auth_request passes a subrequest's challenge on from this field.
        if (added != nullptr && h.name == "WWW-Authenticate") {
            r->headers_out.www_authenticate = added;
        }
    }
    if (!ok) return NGX_ERROR;

    if (!d.content_type.empty()) {
        r->headers_out.content_type = pool_str(r->pool, d.content_type);
        r->headers_out.content_type_len = d.content_type.size();
        r->headers_out.content_type_lowcase = nullptr;
    }
    bool with_body = !d.body.empty() && r->method != NGX_HTTP_HEAD && r == r->main;
    r->headers_out.content_length_n = static_cast<off_t>(r == r->main ? d.body.size() : 0);
    if (r->headers_in.content_length_n > 0 || r->headers_in.chunked) {
        // An unread body would otherwise be taken for the next request.
        if (ngx_http_discard_request_body(r) != NGX_OK) r->keepalive = 0;
    }
    // A subrequest's body would land inside the parent's response (SSI): status only.
    if (!with_body) {
        r->header_only = 1;
        return ngx_http_send_header(r);
    }
    ngx_int_t rc = ngx_http_send_header(r);
    if (rc == NGX_ERROR || rc > NGX_OK || r->header_only) return rc;

    auto* b = static_cast<ngx_buf_t*>(ngx_calloc_buf(r->pool));
    if (b == nullptr) return NGX_ERROR;
    ngx_str_t body = pool_str(r->pool, d.body);
    if (body.data == nullptr) return NGX_ERROR;
    b->pos = body.data;
    b->last = body.data + body.len;
    b->memory = 1;
    b->last_buf = (r == r->main) ? 1 : 0;
    b->last_in_chain = 1;
    ngx_chain_t out{b, nullptr};
    return ngx_http_output_filter(r, &out);
}

void log_notice(ngx_http_request_t* r, const Decision& d) {
    if (d.notice.empty()) return;
    ngx_log_error(NGX_LOG_NOTICE, r->connection->log, 0, "authgate: %*s", d.notice.size(),
                  d.notice.data());
}

} // namespace authgate::ngx
