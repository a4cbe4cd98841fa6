// The IP block list: addresses and networks (IPv4, IPv6, CIDR) refused with 403 before
// anything else, each until its expiry. Held in the store (key "b:blocks", an index whose
// members are "<network>|<expires_at_ms>"), so every server sharing it blocks alike; each
// process checks a copy read at most kBlockListRefreshMs ago.
#pragma once

#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "authgate/networks.h"
#include "authgate/ports.h"

namespace authgate {

inline constexpr std::string_view kBlockListKey = "b:blocks";
inline constexpr Millis kBlockListRefreshMs = 1000;

struct BlockEntry {
    std::string network; // canonical CIDR text, like "10.0.0.0/8" or "2001:db8::/32"
    Millis expires_at_ms = 0;
};

// This process's copy of the list; safe for threads sharing it (one mutex, held briefly).
class BlockList {
  public:
    // Whether `address` (text) is blocked per the copy; nullopt when the copy is older than
    // kBlockListRefreshMs (read the store and refresh() first). An address that is not an
    // IP (a unix socket peer) is never blocked.
    std::optional<bool> blocked(std::string_view address, Millis now) const;
    void refresh(const std::vector<BlockEntry>& entries, Millis now);
    // The store could not be read: keep the copy and try again after a refresh period.
    void retry_later(Millis now);

  private:
    mutable std::mutex mutex_;
    std::vector<net::Network> networks_;
    std::vector<Millis> expiries_;
    Millis fetched_ms_ = 0;
    bool fetched_ = false;
};

// Administration (authgatectl, the admin API): entries live until `expires_at_ms`.
Task<StoreReply<bool>> block_network(Store& store, const net::Network& network,
                                     Millis expires_at_ms, Millis now);
// value: whether an entry was removed.
Task<StoreReply<bool>> unblock_network(Store& store, const net::Network& network, Millis now);
// Live entries, one per network (the latest expiry), earliest expiry first.
Task<StoreReply<std::vector<BlockEntry>>> list_blocks(Store& store, Millis now);

} // namespace authgate
