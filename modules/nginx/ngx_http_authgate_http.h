// Outbound HTTP for the core (IdP discovery, JWKS, token, userinfo): libcurl runs on
// nginx's thread pool, never on the event loop.
#pragma once

#include "authgate/ports.h"

namespace authgate::ngx {

// One blocking exchange; safe to call from any thread (no nginx calls, no shared state).
HttpResponse curl_fetch(const HttpRequest& request) noexcept;

// Process-wide libcurl setup; call once per process before threads use curl.
bool curl_init() noexcept;
void curl_shutdown() noexcept;

class ThreadHttpClient final : public HttpClient {
  public:
    explicit ThreadHttpClient(Offloader& offload) : offload_(offload) {}
    Task<HttpResponse> fetch(const HttpRequest& request) override;

  private:
    Offloader& offload_;
};

} // namespace authgate::ngx
