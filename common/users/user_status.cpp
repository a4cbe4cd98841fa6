#include "authgate/user_status.h"

namespace authgate {

const UserStatusCache::Status* UserStatusCache::find(std::string_view user, Millis now) const {
    auto it = entries_.find(std::string(user));
    if (it == entries_.end()) return nullptr;
    // Not served before it was read either (a clock step back).
    if (now < it->second.read_ms || now - it->second.read_ms >= kMaxAge) return nullptr;
    return &it->second.status;
}

void UserStatusCache::put(std::string_view user, Status status, Millis now) {
    if (entries_.size() >= kMaxEntries && !entries_.contains(std::string(user))) {
        // Stale entries are of no use: drop them all rather than track recency.
        std::erase_if(entries_, [&](const auto& e) { return now - e.second.read_ms >= kMaxAge; });
        if (entries_.size() >= kMaxEntries) entries_.clear();
    }
    entries_[std::string(user)] = Entry{status, now};
}

void UserStatusCache::forget(std::string_view user) { entries_.erase(std::string(user)); }

} // namespace authgate
