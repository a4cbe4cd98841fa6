// A per-worker memory of run-time users' status (store records u:{user}), so that sessions
// and tokens of a user disabled or deleted in the store stop working within kMaxAge
// without a store read on every request. Pure: the flows fill it from hash_get. Shared by
// every flow of the process, whatever thread it runs on (one mutex, never held across an
// await).
#pragma once

#include <cstddef>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

#include "authgate/ports.h"

namespace authgate {

class UserStatusCache {
  public:
    enum class Status { enabled, disabled, absent };
    // The documented bound: a change made in the store directly reaches every worker
    // within this long (the gate's own tooling ends the sessions at once).
    static constexpr Millis kMaxAge = 30'000;
    static constexpr std::size_t kMaxEntries = 10'000;

    // The status read at most kMaxAge before now; nullopt when unknown or older.
    std::optional<Status> find(std::string_view user, Millis now) const;
    void put(std::string_view user, Status status, Millis now);
    void forget(std::string_view user);
    std::size_t size() const;

  private:
    struct Entry {
        Status status;
        Millis read_ms;
    };
    mutable std::mutex mutex_;
    std::unordered_map<std::string, Entry> entries_;
};

} // namespace authgate
