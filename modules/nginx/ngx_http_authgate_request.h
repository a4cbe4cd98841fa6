// Per-request state: the request view handed to the core, the running flow and its
// decision. Kept in a pool cleanup (not r->ctx) so it survives internal redirects.
#pragma once

#include "ngx_http_authgate_conf.h"

#include <coroutine>
#include <optional>
#include <string>
#include <vector>

#include "authgate/gate.h"
#include "curl_client.h"

namespace authgate::ngx {

class RequestState;

// Password hashes queued or running on nginx's default pool, per worker: beyond this a
// sign-in is answered 503 at once rather than queued without bound.
constexpr std::size_t kMaxHashingPerWorker = 64;
// IdP calls queued or running on the worker's IdP threads.
constexpr std::size_t kMaxIdpCallsPerWorker = 256;

// Runs work (password hashing) on nginx's thread pool; the request is blocked meanwhile.
class ThreadOffloader final : public Offloader {
  public:
    explicit ThreadOffloader(RequestState& state) : state_(state) {}
    Task<bool> run(std::function<void()> work) override;

  private:
    RequestState& state_;
};

// Runs work (a libcurl call) on the worker's IdP threads; the request is blocked meanwhile.
class IdpOffloader final : public Offloader {
  public:
    explicit IdpOffloader(RequestState& state) : state_(state) {}
    Task<bool> run(std::function<void()> work) override;

  private:
    RequestState& state_;
};

// Parks the request's flow on a core WaitList (another request's IdP fetch); wake()
// posts an event whose handler resumes it, so no flow resumes inside another's stack.
class EventParking final : public Parking {
  public:
    explicit EventParking(RequestState& state);
    ~EventParking() override;
    void park(std::coroutine_handle<> h) override;
    void wake() noexcept override;

  private:
    static void on_wake(ngx_event_t* ev) noexcept;
    RequestState& state_;
    ngx_event_t event_;
    bool parked_ = false;
};

class RequestState final : public RedisParking {
  public:
    enum class Phase { access, content };

    static RequestState* find(ngx_http_request_t* r, Phase phase);
    static RequestState* create(ngx_http_request_t* r, Phase phase);

    // Fills view from the request (and the body, for the content phase). A subrequest's view
    // has the main request's cookies as the client sent them.
    void build_view(const GateConfig& cfg, std::string_view body);
    // What the inline check reads (cookies, TLS, subrequest, method and URI) ...
    void build_credentials(const GateConfig& cfg);
    // ... and the rest, needed by any answer other than a plain allow.
    void complete_view(std::string_view body);
    bool view_complete() const noexcept { return view_complete_; }
    // After an internal redirect into a location that authenticates differently: forget the
    // decision, keep the view's credentials, take the new URI.
    void restart();
    // The values of the location's variable-keyed limit zones (after an internal redirect:
    // the new location's).
    void bind_limit_values(const GateConfig& cfg);
    Ports ports();
    // What the inline check needs: nothing of a flow (built only when one runs).
    InlinePorts inline_ports();

    // Starts the flow; true when it completed inline (decision is set).
    bool start(Task<Decision> task);
    // An awaiter parks the flow: the request's write handler resumes `h` later.
    void park(std::coroutine_handle<> h) override;
    // What the flow waits for has happened (Redis answered, the thread finished): resume.
    // Only this resumes a parked flow; write events on the client connection (a
    // keep-alive connection may be writable meanwhile) are ignored while parked.
    void wake();
    // The Redis store's wake-up: wake(), then the requests it posted.
    void resume() noexcept override;

    ngx_http_request_t* r;
    Phase phase;
    RequestView view;
    std::optional<Decision> decision;
    bool suspended = false;
    bool applied = false;                    // the decision was applied to the request
    const GateConfig* applied_cfg = nullptr; // ... under this location's configuration

  private:
    explicit RequestState(ngx_http_request_t* req, Phase p);
    static void cleanup(void* data) noexcept;
    static void resume_handler(ngx_http_request_t* r) noexcept;
    void finish_async();

    std::coroutine_handle<> pending_;
    bool woken_ = false;
    bool view_complete_ = false;
    ngx_http_event_handler_pt saved_write_handler_ = nullptr;
    std::optional<RedisRequestStore> redis_store_; // declared after task_: detaches first
    std::string body_;
    char request_id_[64];
    Task<Decision> task_;
    // What a flow waits through; built by ports(), so an inline decision never pays for it
    // (declared after task_: a flow's frame goes before what it waits on).
    struct FlowParts {
        explicit FlowParts(RequestState& st);
        ThreadOffloader offloader;
        IdpOffloader idp_offloader;
        curl::CurlHttpClient http;
        EventParking parking;
    };
    std::optional<FlowParts> flow_;
};

// Applying decisions.
// A subrequest's header list and cookie index are copies sharing their parts with the
// parent's: give it its own before anything is removed or added.
bool own_request_headers(ngx_http_request_t* r);
void strip_client_identity(ngx_http_request_t* r, const GateConfig& cfg);
ngx_int_t apply_allow(ngx_http_request_t* r, const LocConf& lc, const Decision& d);
// Sends a full response; returns what ngx_http_output_filter returned.
ngx_int_t send_decision(ngx_http_request_t* r, const Decision& d);
void log_notice(ngx_http_request_t* r, const Decision& d);

} // namespace authgate::ngx
