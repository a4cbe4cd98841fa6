// The store of each configuration generation and process: the embedded default over one
// shared memory region (made by the parent in post_config, kept across restarts, shared
// by every child process), or Redis through a per-process pool of blocking connections
// (AuthGateRedis), with the session cache of each child kept honest by its subscriber
// thread (session_cache).
#include "authgate_apache.h"

#include <ap_mpm.h>
#include <sys/mman.h>

#include <algorithm>
#include <cerrno>
#include <new>

#include "authgate/cache_subscription.h"
#include "authgate/kv_store.h"
#include "authgate/redis.h"
#include "authgate/region_kv.h"
#include "blocking_redis.h"
#include "cache_subscriber.h"

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

bool redis_session_cache(const Generation& gen) {
    return gen.plan && gen.plan->kind == config::StorePlan::Kind::redis &&
           gen.plan->redis.session_cache > 0;
}

// The children of one generation share one beat channel and elect one publisher per beat
// interval (authgate/cache_subscription.h): the board is mapped before they fork.
bool share_beats(apr_pool_t* pconf, server_rec* s, Generation& gen) {
    void* page = mmap(nullptr, sizeof(redis::BeatBoard), PROT_READ | PROT_WRITE,
                      MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (page == MAP_FAILED) {
        ap_log_error(APLOG_MARK, APLOG_EMERG, errno, s, "authgate: cannot map the beat board");
        return false;
    }
    apr_pool_cleanup_register(
        pconf, page,
        [](void* data) -> apr_status_t {
            munmap(data, sizeof(redis::BeatBoard));
            return APR_SUCCESS;
        },
        apr_pool_cleanup_null);
    auto* board = new (page) redis::BeatBoard();
    OpensslRandom random;
    redis::make_beat_id(*board, random);
    gen.beats = board;
    return true;
}

bool start_subscriber(server_rec* s, Runtime& rt, Generation& gen) {
    const std::string where = rt.redis->display();
    rt.subscriber = std::make_unique<hiredis::CacheSubscriber>(
        *rt.redis, *rt.core->sessions(), *gen.beats, rt.clock,
        [s, where](hiredis::CacheSubscriber::Event e, const std::string& detail) {
            if (e == hiredis::CacheSubscriber::Event::lost) {
                ap_log_error(APLOG_MARK, APLOG_WARNING, 0, s,
                             "authgate: redis %s session cache subscription lost (%s); cached "
                             "sessions are not used until it is back",
                             where.c_str(), detail.c_str());
            } else {
                ap_log_error(APLOG_MARK, APLOG_NOTICE, 0, s,
                             "authgate: redis %s session cache subscription is back",
                             where.c_str());
            }
        });
    if (auto started = rt.subscriber->start(); !started) {
        ap_log_error(APLOG_MARK, APLOG_EMERG, 0, s, "authgate: %s", started.error().c_str());
        return false;
    }
    return true;
}

} // namespace

Runtime::Runtime() = default;
Runtime::~Runtime() = default;

bool store_post_config(apr_pool_t* pconf, apr_pool_t*, server_rec* s) {
    Generation* gen = generation();
    if (gen->used && gen->plan && gen->plan->kind == config::StorePlan::Kind::redis &&
        gen->local_limits) {
        gen->region = httpd::keep_shared_region(s, gen->plan->zone.size, gen->plan->zone.name);
        if (gen->region.base == nullptr) return false;
        return !redis_session_cache(*gen) || share_beats(pconf, s, *gen);
    }
    if (!gen->used || !gen->plan || gen->plan->kind != config::StorePlan::Kind::shm) {
        httpd::drop_shared_region();
        if (!gen->used || !gen->plan) return true;
        return !redis_session_cache(*gen) || share_beats(pconf, s, *gen);
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
        rt.store = std::make_unique<redis::RedisStore>(*rt.redis, rt.redis->keyspace(),
                                                       rt.core->sessions());
        if (gen->region.base != nullptr) {
            rt.kv = httpd::region_kv(gen->region, s, gen->plan->zone.name, rt.clock);
            if (!rt.kv) return false;
            rt.local_store = std::make_unique<KvStore>(*rt.kv, rt.clock);
        }
        if (rt.core->sessions() == nullptr) return true;
        return gen->beats != nullptr && start_subscriber(s, rt, *gen);
    }
    rt.kv = httpd::region_kv(gen->region, s, gen->plan->zone.name, rt.clock);
    if (!rt.kv) return false;
    rt.store = std::make_unique<KvStore>(*rt.kv, rt.clock);
    return true;
}

authgate::Runtime::Options store_runtime_options() {
    authgate::Runtime::Options options;
    const Generation& gen = *generation();
    if (redis_session_cache(gen)) {
        options.session_cache = redis::session_cache_limits(gen.plan->redis.session_cache);
    }
    return options;
}

} // namespace authgate::apache
