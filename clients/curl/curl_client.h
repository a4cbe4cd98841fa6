// Outbound HTTP for the core (IdP discovery, JWKS, token, userinfo) over libcurl. No server
// headers: each adapter runs the blocking exchange where it may block (nginx: the worker's
// IdP threads through an Offloader; a threaded server: inline).
#pragma once

#include <atomic>

#include "authgate/ports.h"

namespace authgate::curl {

// One blocking exchange; safe to call from any thread (no shared state).
// It aborts soon after *cancel becomes true (the process is exiting).
HttpResponse fetch(const HttpRequest& request, const std::atomic<bool>* cancel = nullptr) noexcept;

// Process-wide libcurl setup; call once per process before threads use curl.
bool global_init() noexcept;
void global_shutdown() noexcept;

// The HttpClient port: every exchange runs through `offload` (which may refuse it when its
// queue is full: then the answer is a transport error).
class CurlHttpClient final : public HttpClient {
  public:
    CurlHttpClient(Offloader& offload, const std::atomic<bool>* cancel)
        : offload_(offload), cancel_(cancel) {}
    Task<HttpResponse> fetch(const HttpRequest& request) override;

  private:
    Offloader& offload_;
    const std::atomic<bool>* cancel_;
};

} // namespace authgate::curl
