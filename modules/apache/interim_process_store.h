// TEMPORARY (until the socache KvStore lands): a process-local, locked in-memory Store so
// the hooks can be developed. Not shared between processes: use one child process.
#pragma once

#include <map>
#include <mutex>
#include <string>
#include <utility>

#include "authgate/ports.h"

namespace authgate::apache {

class InterimProcessStore final : public Store {
  public:
    explicit InterimProcessStore(const Clock& clock) : clock_(clock) {}
    std::string_view kind() const noexcept override { return "interim-memory"; }
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

  private:
    using Map = std::map<std::string, std::pair<std::string, Millis>, std::less<>>;
    Map::iterator live(std::string_view key);
    StoreReply<bool> update_index(std::string_view index, std::string_view member,
                                  Millis expires_at_ms, bool remove, Millis now_ms);
    const Clock& clock_;
    std::mutex mutex_;
    Map data_;
};

} // namespace authgate::apache
