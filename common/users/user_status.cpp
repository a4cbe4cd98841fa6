#include "authgate/user_status.h"

namespace authgate {

std::optional<UserStatusCache::Status> UserStatusCache::find(std::string_view user,
                                                             Millis now) const {
    std::lock_guard lock(mutex_);
    auto it = entries_.find(std::string(user));
    if (it == entries_.end()) return std::nullopt;
    // Not served before it was read either (a clock step back).
    if (now < it->second.read_ms || now - it->second.read_ms >= kMaxAge) return std::nullopt;
    return it->second.status;
}

void UserStatusCache::put(std::string_view user, Status status, Millis now) {
    std::lock_guard lock(mutex_);
    if (entries_.size() >= kMaxEntries && !entries_.contains(std::string(user))) {
        // Stale entries are of no use: drop them all rather than track recency.
        std::erase_if(entries_, [&](const auto& e) { return now - e.second.read_ms >= kMaxAge; });
        if (entries_.size() >= kMaxEntries) entries_.clear();
    }
    entries_[std::string(user)] = Entry{status, now};
}

void UserStatusCache::forget(std::string_view user) {
    std::lock_guard lock(mutex_);
    entries_.erase(std::string(user));
}

std::size_t UserStatusCache::size() const {
    std::lock_guard lock(mutex_);
    return entries_.size();
}

} // namespace authgate
