// The block list's store form and this process's copy of it.
#include "authgate/block_list.h"

#include <algorithm>
#include <charconv>

namespace authgate {

namespace {

std::string member(const net::Network& n, Millis expires_at_ms) {
    return n.text() + "|" + std::to_string(expires_at_ms);
}

std::optional<BlockEntry> parse_member(std::string_view m) {
    auto bar = m.rfind('|');
    if (bar == std::string_view::npos) return std::nullopt;
    Millis expires = 0;
    std::string_view t = m.substr(bar + 1);
    auto [end, ec] = std::from_chars(t.data(), t.data() + t.size(), expires);
    if (ec != std::errc{} || end != t.data() + t.size()) return std::nullopt;
    auto n = net::parse_network(m.substr(0, bar));
    if (!n) return std::nullopt;
    return BlockEntry{n->text(), expires};
}

// Members as entries, one per network with its latest expiry.
std::vector<BlockEntry> entries_of(const std::vector<std::string>& members, Millis now) {
    std::vector<BlockEntry> out;
    for (const auto& m : members) {
        auto e = parse_member(m);
        if (!e || e->expires_at_ms <= now) continue;
        auto same = std::find_if(out.begin(), out.end(),
                                 [&](const BlockEntry& o) { return o.network == e->network; });
        if (same == out.end()) {
            out.push_back(std::move(*e));
        } else {
            same->expires_at_ms = std::max(same->expires_at_ms, e->expires_at_ms);
        }
    }
    std::sort(out.begin(), out.end(), [](const BlockEntry& a, const BlockEntry& b) {
        return a.expires_at_ms < b.expires_at_ms;
    });
    return out;
}

} // namespace

std::optional<bool> BlockList::blocked(std::string_view address, Millis now) const {
    std::lock_guard lock(mutex_);
    if (!fetched_ || now - fetched_ms_ >= kBlockListRefreshMs || now < fetched_ms_) {
        return std::nullopt;
    }
    if (networks_.empty()) return false;
    auto a = net::parse_address(address);
    if (!a) return false;
    for (std::size_t i = 0; i < networks_.size(); ++i) {
        if (expiries_[i] > now && networks_[i].contains(*a)) return true;
    }
    return false;
}

void BlockList::refresh(const std::vector<BlockEntry>& entries, Millis now) {
    std::vector<net::Network> networks;
    std::vector<Millis> expiries;
    for (const auto& e : entries) {
        auto n = net::parse_network(e.network);
        if (!n) continue;
        networks.push_back(*n);
        expiries.push_back(e.expires_at_ms);
    }
    std::lock_guard lock(mutex_);
    networks_ = std::move(networks);
    expiries_ = std::move(expiries);
    fetched_ms_ = now;
    fetched_ = true;
}

void BlockList::retry_later(Millis now) {
    std::lock_guard lock(mutex_);
    fetched_ms_ = now;
    fetched_ = true;
}

Task<StoreReply<bool>> block_network(Store& store, const net::Network& network,
                                     Millis expires_at_ms, Millis now) {
    // One member per network: an earlier entry of the same network goes first.
    auto removed = co_await unblock_network(store, network, now);
    if (!removed.ok()) co_return StoreReply<bool>{StoreStatus::unavailable, false};
    std::string m = member(network, expires_at_ms);
    auto added = co_await store.index_add(kBlockListKey, m, expires_at_ms, now);
    co_return added;
}

Task<StoreReply<bool>> unblock_network(Store& store, const net::Network& network, Millis now) {
    auto members = co_await store.index_members(kBlockListKey, now);
    if (!members.ok()) co_return StoreReply<bool>{StoreStatus::unavailable, false};
    std::string text = network.text();
    bool removed = false;
    for (const auto& m : members.value) {
        auto e = parse_member(m);
        if (!e || e->network != text) continue;
        auto gone = co_await store.index_remove(kBlockListKey, m);
        if (!gone.ok()) co_return StoreReply<bool>{StoreStatus::unavailable, false};
        removed = true;
    }
    co_return StoreReply<bool>{StoreStatus::ok, removed};
}

Task<StoreReply<std::vector<BlockEntry>>> list_blocks(Store& store, Millis now) {
    using R = StoreReply<std::vector<BlockEntry>>;
    auto members = co_await store.index_members(kBlockListKey, now);
    if (!members.ok()) co_return R{StoreStatus::unavailable, {}};
    co_return R{StoreStatus::ok, entries_of(members.value, now)};
}

} // namespace authgate
