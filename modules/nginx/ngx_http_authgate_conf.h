// Configuration structures of the nginx module and the per-process runtime.
#pragma once

#include "ngx_http_authgate_nginx.h"

#include <memory>

#include "authgate/config.h"
#include "authgate/ports.h"
#include "authgate/runtime.h"
#include "ngx_http_authgate_pool.h"
#include "ngx_http_authgate_redis.h"

extern "C" {
extern ngx_module_t ngx_http_authgate_module;
}

namespace authgate::ngx {

// Both conf structs start with the Settings pointer: the generic directive setter
// relies on it.
struct MainConf {
    config::Settings* settings;
    ResourceCache* cache;
    ngx_shm_zone_t* zone;
    ngx_thread_pool_t* thread_pool;
    RedisEndpoint* redis; // set when authgate_redis replaces the shm zone
    ngx_uint_t idp_threads;
    OwnedNames* owned; // names set anywhere in the http block: stripped everywhere
    bool used;         // some location has authgate on or authgate_endpoint
};

// A request header name prepared once (lower case and hash, as nginx keeps them).
struct HeaderKey {
    ngx_str_t key; // empty: the header is not sent
    u_char* lowcase_key;
    ngx_uint_t hash;
};

struct LocConf {
    config::Settings* settings;
    GateConfig* gate;           // resolved in merge; null until then
    HeaderKey identity_keys[5]; // user, email, name, groups, roles (gate->identity_headers)
    // One per gate->limits entry: the key's value for zones keyed by a variable, else null.
    ngx_http_complex_value_t** limit_values;
};

// nginx's cached wall clock (updated once per event-loop iteration; no system call).
class NgxClock final : public Clock {
  public:
    Millis now_ms() const override {
        ngx_time_t* tp = ngx_timeofday();
        return static_cast<Millis>(tp->sec) * 1000 + static_cast<Millis>(tp->msec);
    }
};

// Per-worker state, created in init_process.
struct Runtime {
    NgxClock clock;
    OpensslRandom random;
    // The core's per-process state: SSO providers, session cache (Redis with
    // session_cache), run-time users' status. Outlives redis.
    std::unique_ptr<authgate::Runtime> core;
    std::unique_ptr<Store> store; // shared memory (per worker, completes inline)
    // Shared memory beside Redis, for limit zones with store=shm; null otherwise.
    std::unique_ptr<Store> local_store;
    std::unique_ptr<RedisClient> redis;       // or Redis (per-request stores on this client)
    ngx_thread_pool_t* thread_pool = nullptr; // nginx's "default": password hashing
    std::size_t hashing = 0;                  // hashes queued or running on it (bounded)
    std::unique_ptr<IdpPool> idp_pool;        // IdP calls, on threads of their own
};

Runtime* runtime();

ngx_int_t access_handler(ngx_http_request_t* r);
ngx_int_t subrequest_handler(ngx_http_request_t* r);
ngx_int_t endpoint_handler(ngx_http_request_t* r);
ngx_int_t add_variables(ngx_conf_t* cf);
ngx_command_t* commands();

} // namespace authgate::ngx
