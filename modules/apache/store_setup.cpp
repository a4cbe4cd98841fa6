// The store of each configuration generation and process: the embedded default over one
// shared memory region (made by the parent in post_config, kept across restarts, shared
// by every child process), or Redis through a per-process pool of blocking connections
// (AuthGateRedis).
#include "authgate_apache.h"

#include <ap_mpm.h>

#include <algorithm>

#include "authgate/kv_store.h"
#include "authgate/redis.h"
#include "authgate/region_kv.h"
#include "blocking_redis.h"

namespace authgate::apache {

namespace {

// Connections per process: a few are enough for request threads that hold one only for
// one command at a time.
constexpr std::size_t kMaxRedisConnections = 8;

std::size_t redis_pool_size() {
    int threads = 1;
    if (ap_mpm_query(AP_MPMQ_MAX_THREADS, &threads) != APR_SUCCESS || threads < 1) threads = 1;
    return std::min<std::size_t>(static_cast<std::size_t>(threads), kMaxRedisConnections);
}

} // namespace

Runtime::Runtime() = default;
Runtime::~Runtime() = default;

bool store_post_config(apr_pool_t*, apr_pool_t*, server_rec* s) {
    Generation* gen = generation();
    if (!gen->used || !gen->plan || gen->plan->kind != config::StorePlan::Kind::shm) {
        httpd::drop_shared_region();
        return true;
    }
    gen->region = httpd::keep_shared_region(s, gen->plan->zone.size, gen->plan->zone.name);
    return gen->region.base != nullptr;
}

bool store_child_init(apr_pool_t* /*pchild*/, server_rec* s, Runtime& rt) {
    Generation* gen = generation();
    if (!gen->plan) return false;
    if (gen->plan->kind == config::StorePlan::Kind::redis) {
        rt.redis = std::make_unique<hiredis::BlockingRedis>(
            gen->plan->redis, redis_pool_size(), [s](const hiredis::BlockingRedis::Health& h) {
                if (h.available) {
                    ap_log_error(APLOG_MARK, APLOG_NOTICE, 0, s, "authgate: Redis %s is back",
                                 h.server.c_str());
                } else {
                    ap_log_error(APLOG_MARK, APLOG_ERR, 0, s, "authgate: Redis unavailable: %s",
                                 h.last_error.c_str());
                }
            });
        rt.store = std::make_unique<redis::RedisStore>(*rt.redis, rt.redis->keyspace(), nullptr);
        return true;
    }
    rt.kv = httpd::region_kv(gen->region, s, gen->plan->zone.name, rt.clock);
    if (!rt.kv) return false;
    rt.store = std::make_unique<KvStore>(*rt.kv, rt.clock);
    return true;
}

} // namespace authgate::apache
