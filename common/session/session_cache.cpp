#include "authgate/session_cache.h"

#include <algorithm>
#include <cstring>
#include <functional>
#include <memory>

namespace authgate {

// Cached keys are cookie values that start with a random id: their first eight bytes
// are already uniform, so they are the hash (lookups never insert, so a crafted value
// can at most land in a bucket; the comparison below tells it nothing).
std::size_t SessionCache::Hash::operator()(std::string_view s) const noexcept {
    std::uint64_t w = 0;
    std::memcpy(&w, s.data(), std::min<std::size_t>(sizeof w, s.size()));
    w = (w ^ s.size()) * 0x9e3779b97f4a7c15ull;
    return static_cast<std::size_t>(w ^ (w >> 31));
}

// Only entries whose cookie passed MAC verification are in the map: a lookup must not
// tell, by timing, how much of a guess matches one of them. Word-wise, no early exit.
bool SessionCache::ConstantTimeEqual::operator()(std::string_view a,
                                                 std::string_view b) const noexcept {
    if (a.size() != b.size()) return false;
    std::uint64_t diff = 0;
    std::size_t i = 0;
    for (; i + 8 <= a.size(); i += 8) {
        std::uint64_t x = 0, y = 0;
        std::memcpy(&x, a.data() + i, 8);
        std::memcpy(&y, b.data() + i, 8);
        diff |= x ^ y;
    }
    for (; i < a.size(); ++i) {
        diff |= static_cast<std::uint64_t>(static_cast<unsigned char>(a[i]) ^
                                           static_cast<unsigned char>(b[i]));
    }
    return diff == 0;
}

SessionCache::SessionCache(Limits limits) : limits_(limits) {
    by_cookie_.reserve(limits_.max_entries);
    by_key_.reserve(limits_.max_entries);
}

void SessionCache::subscribed(Millis now) {
    std::lock_guard lock(mutex_);
    live_ = true;
    confirmed_ = false;
    subscribed_ms_ = now;
}

void SessionCache::lost() {
    std::lock_guard lock(mutex_);
    live_ = false;
    clear_locked();
}

void SessionCache::heartbeat(Millis sent_ms) {
    // A heartbeat sent before the current subscription says nothing about it. Heartbeats
    // arrive in the order they were sent, so the latest is the newest even when the wall
    // clock went back meanwhile.
    std::lock_guard lock(mutex_);
    if (!live_ || sent_ms < subscribed_ms_) return;
    confirmed_ms_ = sent_ms;
    confirmed_ = true;
}

// A clock that went back (now before the confirmation) proves nothing either.
bool SessionCache::usable(Millis now) const {
    std::lock_guard lock(mutex_);
    return usable_locked(now);
}

bool SessionCache::usable_locked(Millis now) const {
    return live_ && confirmed_ && now >= confirmed_ms_ &&
           now - confirmed_ms_ <= limits_.live_window;
}

SessionCache::Hit SessionCache::find(std::string_view cookie, Millis now) {
    demand_.store(true, std::memory_order_relaxed);
    Hit hit;
    hit.lock_ = std::unique_lock(mutex_);
    if (lru_.empty() || !usable_locked(now)) return hit;
    auto it = by_cookie_.find(cookie);
    if (it == by_cookie_.end()) return hit;
    List::iterator e = it->second;
    if (now >= e->expires_ms || now < e->inserted_ms) {
        erase(e);
        return hit;
    }
    if (e != lru_.begin()) lru_.splice(lru_.begin(), lru_, e);
    hit.cache_ = this;
    hit.entry_ = &*e;
    return hit;
}

void SessionCache::Hit::invalidate() {
    if (entry_ == nullptr) return;
    std::string_view key = entry_->store_key;
    entry_ = nullptr;
    cache_->invalidate_locked(key);
    lock_.unlock();
}

std::optional<SessionCache::Ticket> SessionCache::begin_fill(Millis now) const {
    demand_.store(true, std::memory_order_relaxed);
    std::lock_guard lock(mutex_);
    if (!usable_locked(now) || limits_.max_entries == 0) return std::nullopt;
    return Ticket{generation_};
}

bool SessionCache::fill(const Ticket& ticket, std::string_view cookie, std::string_view store_key,
                        const SessionId& id, const Session& session, Millis now) {
    auto identity = admit_identity(
        Identity{session.user, session.email, session.name, session.groups, session.roles});
    std::lock_guard lock(mutex_);
    if (ticket.generation != generation_ || !usable_locked(now) || limits_.max_entries == 0) {
        return false;
    }
    if (auto old = by_cookie_.find(cookie); old != by_cookie_.end()) erase(old->second);
    if (auto old = by_key_.find(store_key); old != by_key_.end()) erase(old->second);
    while (lru_.size() >= limits_.max_entries) erase(std::prev(lru_.end()));
    lru_.push_front(Entry{std::string(cookie), std::string(store_key), id, session,
                          std::move(identity), now, now + limits_.max_age, nullptr, nullptr});
    List::iterator e = lru_.begin();
    by_cookie_.emplace(e->cookie, e);
    by_key_.emplace(e->store_key, e);
    return true;
}

void SessionCache::invalidate(std::string_view store_key) {
    std::lock_guard lock(mutex_);
    invalidate_locked(store_key);
}

// store_key may be the erased entry's own (Hit::invalidate): it is not read after erase.
void SessionCache::invalidate_locked(std::string_view store_key) {
    ++generation_;
    if (auto it = by_key_.find(store_key); it != by_key_.end()) erase(it->second);
}

void SessionCache::clear() {
    std::lock_guard lock(mutex_);
    clear_locked();
}

std::size_t SessionCache::size() const {
    std::lock_guard lock(mutex_);
    return lru_.size();
}

std::uint64_t SessionCache::generation() const {
    std::lock_guard lock(mutex_);
    return generation_;
}

void SessionCache::clear_locked() {
    ++generation_;
    by_cookie_.clear();
    by_key_.clear();
    lru_.clear();
}

void SessionCache::erase(List::iterator it) {
    by_cookie_.erase(it->cookie);
    by_key_.erase(it->store_key);
    lru_.erase(it);
}

} // namespace authgate
