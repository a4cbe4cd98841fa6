// The store as authgatectl sees it: the core's RedisStore (same key prefix, same announcing
// scripts as the module) over BlockingRedis (a command-line tool may wait), so the core's
// session functions (end_session, revoke_user_sessions) run unchanged.
#pragma once

#include <memory>
#include <span>
#include <string_view>

#include "authgate/config.h"
#include "authgate/ports.h"
#include "authgate/redis.h"
#include "authgate/result.h"
#include "blocking_redis.h"

namespace authgate::tools {

// The authgate_redis arguments, plus sentinels=HOST:PORT[,HOST:PORT...] (what
// authgate_redis_sentinels says) for a sentinel:NAME address, as main-context settings.
Result<config::Settings> redis_arguments(std::span<const std::string_view> args);

class SyncRedisStore {
  public:
    // Host names are resolved and the password file read here, as the module does at
    // configuration time; then one PING, so that an unreachable or refusing Redis is
    // reported with its reason.
    static Result<std::unique_ptr<SyncRedisStore>> connect(const config::Settings& settings);

    Store& store() { return store_; }
    // Publishes fewer invalidations than it wrote (ACL without the channel): the caches
    // of running gates then keep ended sessions up to their session_cache age.
    bool all_announced() const { return redis_.all_announced(); }

  private:
    explicit SyncRedisStore(config::RedisPlan plan)
        : redis_(std::move(plan), 1), store_(redis_, redis_.keyspace(), nullptr) {}

    hiredis::BlockingRedis redis_;
    redis::RedisStore store_;
};

} // namespace authgate::tools
