// The store as authgatectl sees it: the core's RedisStore (same key prefix, same announcing
// scripts as the module) over hiredis's blocking API (a command-line tool may wait), so the
// core's session functions (end_session, revoke_user_sessions) run unchanged.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "authgate/config.h"
#include "authgate/ports.h"
#include "authgate/redis.h"
#include "authgate/result.h"

struct redisContext;

namespace authgate::tools {

class SyncRedisStore final : public redis::Connection {
  public:
    ~SyncRedisStore() override;
    // Connects (and authenticates, selects the db); sentinel addresses are not supported.
    static Result<std::unique_ptr<SyncRedisStore>> connect(const config::RedisSettings& settings);
    Store& store() { return store_; }
    // Publishes fewer invalidations than it wrote (ACL without the channel): the caches
    // of running gates then keep ended sessions up to their session_cache age.
    bool all_announced() const { return all_announced_; }

    Task<std::optional<redis::Reply>> call(std::string command) override;
    void not_announced() noexcept override { all_announced_ = false; }

  private:
    SyncRedisStore(redisContext* c, std::string prefix)
        : c_(c), keyspace_{std::move(prefix)}, store_(*this, keyspace_, nullptr) {}
    std::optional<redis::Reply> command(const std::vector<std::string>& argv);

    redisContext* c_;
    redis::Keyspace keyspace_;
    redis::RedisStore store_;
    bool all_announced_ = true;
};

} // namespace authgate::tools
