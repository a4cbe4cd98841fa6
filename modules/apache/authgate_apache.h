// The Apache httpd module: configuration objects, the per-generation state and the
// per-process runtime shared by the hooks.
#pragma once

// httpd.h first: the other httpd headers rely on its types.
#include <httpd.h>
// clang-format off
#include <http_config.h>
#include <http_core.h>
#include <http_log.h>
#include <http_protocol.h>
#include <http_request.h>
#include <apr_strings.h>
// clang-format on

#include <array>
#include <atomic>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "authgate/config.h"
#include "authgate/gate.h"
#include "authgate/runtime.h"
#include "authgate/store_plan.h"
#include "shared_region.h"

extern "C" {
extern module AP_MODULE_DECLARE_DATA authgate_module;
}
APLOG_USE_MODULE(authgate);

namespace authgate {
class LockedKv;
}
namespace authgate::hiredis {
class BlockingRedis;
class CacheSubscriber;
} // namespace authgate::hiredis
namespace authgate::redis {
struct BeatBoard;
}

namespace authgate::apache {

inline constexpr const char* kEndpointHandler = "authgate-endpoint";
inline constexpr const char* kAuthType = "authgate";

// How a section's settings are resolved: as written, or with the gate forced on where
// Apache says so (AuthType authgate, SetHandler authgate-endpoint).
enum class Variant : std::size_t { as_written, gated, endpoint };

// One per <Directory>/<Location> section and server, and one per merge Apache asks for
// (cached: the same pair of parents always gives the same object).
struct DirConf {
    config::Settings settings;
    std::string section;     // the section's path or pattern; empty at server level
    bool regex = false;      // <LocationMatch> and the like
    std::string file_origin; // "FILE:LINE" of the section, for errors
    std::array<std::atomic<const GateConfig*>, 3> resolved{};
    std::array<std::unique_ptr<GateConfig>, 3> owned;
};

// A "Require authgate-role" line: its roles must be defined (AuthGateRole) for its server.
struct RoleReference {
    server_rec* server;
    std::vector<std::string> roles;
    std::string place; // "FILE:LINE"
};

// State of one configuration generation (pre_config to the next pre_config): the names
// the gate owns anywhere in it, whether it is used at all, loaded files, cached merges.
struct Generation {
    std::mutex mutex; // merges, resolving, the resource cache
    OwnedNames owned;
    bool used = false; // some section has the gate on, an endpoint or a key file
    ResourceCache cache;
    std::map<std::pair<const DirConf*, const DirConf*>, std::unique_ptr<DirConf>> merges;
    std::optional<config::StorePlan> plan;      // from check_config, when the gate is used
    httpd::SharedRegion region;                 // the embedded store's memory (retained)
    redis::BeatBoard* beats = nullptr;          // Redis session cache: shared by the children
    std::vector<RoleReference> role_references; // checked in check_config
    // Some limit zone says store=shm beside AuthGateRedis: the region holds those limits.
    bool local_limits = false;
};

Generation* generation();

// The section's GateConfig for this variant, resolved on first use; null (and logged) when
// it does not resolve.
const GateConfig* gate_for(DirConf& dc, Variant v, server_rec* s);
DirConf* dir_conf(request_rec* r);

// Per-process state, created in child_init.
struct Runtime {
    Runtime();
    ~Runtime();
    SystemClock clock;
    OpensslRandom random;
    InlineOffloader offload;
    std::unique_ptr<authgate::Runtime> core;
    std::unique_ptr<hiredis::BlockingRedis> redis; // AuthGateRedis; outlives store
    std::unique_ptr<LockedKv> kv;                  // the embedded store's; outlives store
    std::unique_ptr<Store> store;                  // over the shared region, or Redis
    // Beside Redis, the shared region for limit zones with store=shm; null otherwise.
    std::unique_ptr<Store> local_store;
    // Keeps core->sessions() honest (AuthGateRedis session_cache); stopped first.
    std::unique_ptr<hiredis::CacheSubscriber> subscriber;
};
Runtime* runtime();

// The store's setup in the hooks (store_setup.cpp); false: logged, the hook fails.
bool store_post_config(apr_pool_t* pconf, apr_pool_t* ptemp, server_rec* s);
bool store_child_init(apr_pool_t* pchild, server_rec* s, Runtime& rt);
// The core runtime's options for the generation's store (its session cache).
authgate::Runtime::Options store_runtime_options();

// Hooks (access.cpp, endpoint.cpp).
int access_checker(request_rec* r);
int check_authn(request_rec* r);
int endpoint_handler(request_rec* r);
void register_authz_providers(apr_pool_t* p);
bool is_endpoint_request(request_rec* r, const GateConfig& g);

// Applying the core's answers (apply.cpp).
void strip_client_identity(request_rec* r, const GateConfig& cfg);
void apply_allow(request_rec* r, const GateConfig& cfg, const Decision& d);
// The values of the section's zones keyed by an environment variable ($NAME).
void bind_limit_values(request_rec* r, const GateConfig& cfg, RequestView& v);
void set_status_env(request_rec* r, const Decision& d);
// Sends a decision that is not an allow; returns what the hook returns.
int send_decision(request_rec* r, const Decision& d, bool from_handler);
void log_notice(request_rec* r, const Decision& d);

} // namespace authgate::apache
