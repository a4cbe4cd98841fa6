#include "authgate/sso.h"

namespace authgate::sso {

std::optional<jose::Token> VerifiedTokens::find(const std::string& digest, Millis now) {
    std::lock_guard lock(mutex_);
    auto hit = entries_.find(digest);
    if (hit == entries_.end()) return std::nullopt;
    if (now < hit->second.expires_ms) return hit->second.token;
    entries_.erase(hit);
    return std::nullopt;
}

std::uint64_t VerifiedTokens::generation() const {
    std::lock_guard lock(mutex_);
    return generation_;
}

void VerifiedTokens::put(std::string digest, const jose::Token& token, Millis expires_ms,
                         std::uint64_t generation) {
    std::lock_guard lock(mutex_);
    if (generation != generation_) return;
    if (entries_.size() >= kMaxEntries) entries_.clear();
    entries_.insert_or_assign(std::move(digest), Entry{token, expires_ms});
}

void VerifiedTokens::keys_changed() {
    std::lock_guard lock(mutex_);
    ++generation_;
    entries_.clear();
}

std::size_t VerifiedTokens::size() const {
    std::lock_guard lock(mutex_);
    return entries_.size();
}

} // namespace authgate::sso
