// Outbound HTTP for the core (IdP discovery, JWKS, token, userinfo): libcurl runs on the
// worker's IdP threads (IdpPool), never on the event loop.
#pragma once

#include <atomic>

#include "authgate/ports.h"

namespace authgate::ngx {

// One blocking exchange; safe to call from any thread (no nginx calls, no shared state).
// It aborts soon after *cancel becomes true (the worker is exiting).
HttpResponse curl_fetch(const HttpRequest& request,
                        const std::atomic<bool>* cancel = nullptr) noexcept;

// Process-wide libcurl setup; call once per process before threads use curl.
bool curl_init() noexcept;
void curl_shutdown() noexcept;

class ThreadHttpClient final : public HttpClient {
  public:
    ThreadHttpClient(Offloader& offload, const std::atomic<bool>* cancel)
        : offload_(offload), cancel_(cancel) {}
    Task<HttpResponse> fetch(const HttpRequest& request) override;

  private:
    Offloader& offload_;
    const std::atomic<bool>* cancel_;
};

} // namespace authgate::ngx
