// The store as authgatectl sees it: Redis through hiredis's blocking API (a command-line
// tool may wait), with the same key prefix and the same announcing scripts as the module,
// so the core's session functions (end_session, revoke_user_sessions) run unchanged.
#pragma once

#include <string>
#include <vector>

#include "authgate/config.h"
#include "authgate/ports.h"
#include "authgate/result.h"

struct redisContext;
struct redisReply;

namespace authgate::tools {

class SyncRedisStore final : public Store {
  public:
    ~SyncRedisStore() override;
    // Connects (and authenticates, selects the db); sentinel addresses are not supported.
    static Result<std::unique_ptr<SyncRedisStore>> connect(const config::RedisSettings& settings);
    // Publishes fewer invalidations than it wrote (ACL without the channel): the caches
    // of running gates then keep ended sessions up to their session_cache age.
    bool all_announced() const { return all_announced_; }

    std::string_view kind() const noexcept override { return "redis"; }
    bool durable() const noexcept override { return true; }
    Task<StoreReply<std::optional<std::string>>> get(std::string_view key) override;
    Task<StoreReply<bool>> set(std::string_view key, std::string value, Millis ttl_ms) override;
    Task<StoreReply<bool>> set_if_absent(std::string_view key, std::string value,
                                         Millis ttl_ms) override;
    Task<StoreReply<bool>> compare_and_set(std::string_view key, std::string_view expected,
                                           std::string value, Millis ttl_ms) override;
    Task<StoreReply<bool>> del(std::string_view key) override;
    Task<StoreReply<std::int64_t>> incr(std::string_view key, std::int64_t delta,
                                        Millis ttl_ms) override;
    Task<StoreReply<bool>> index_add(std::string_view index, std::string_view member,
                                     Millis expires_at_ms, Millis now_ms) override;
    Task<StoreReply<bool>> index_remove(std::string_view index, std::string_view member) override;
    Task<StoreReply<std::vector<std::string>>> index_members(std::string_view index,
                                                             Millis now_ms) override;
    Task<StoreReply<bool>> hash_set(std::string_view key, Fields fields) override;
    Task<StoreReply<std::optional<Fields>>> hash_get(std::string_view key) override;

    // Outside the Store interface: removes a record (a run-time user).
    StoreReply<bool> remove_record(std::string_view key);

  private:
    SyncRedisStore(redisContext* c, std::string prefix) : c_(c), prefix_(std::move(prefix)) {}
    struct Reply;
    Reply command(const std::vector<std::string>& argv);
    Reply script(std::string_view text, std::string_view key, std::vector<std::string> args);
    std::string key(std::string_view k) const { return prefix_ + std::string(k); }

    redisContext* c_;
    std::string prefix_;
    bool all_announced_ = true;
};

} // namespace authgate::tools
