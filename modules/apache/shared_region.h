// The embedded store's memory under Apache httpd: one anonymous MAP_SHARED mapping made by
// the parent in post_config, before the children fork, and kept in the process's retained
// data (key "authgate-store-region") so that it outlives the configuration: a graceful or
// SIGHUP restart keeps every session as long as the zone's size and the region's layout
// are unchanged. Otherwise a new mapping is made (a notice says the sessions were
// dropped) and the old one is unmapped in the parent only: children of the old generation
// that still finish requests keep theirs.
//
// Lifecycle, from the store's hooks (store_setup.cpp):
//   post_config  keep_shared_region(s, bytes, zone) on every pass (twice at startup: the
//                second pass finds the first pass's region); or drop_shared_region() when
//                the store is not the embedded one
//   child_init   region_kv(region, s, zone, clock) in each child (inherited mapping)
#pragma once

#include <httpd.h>

#include <cstddef>
#include <memory>
#include <string>

#include "authgate/region_kv.h"

namespace authgate::httpd {

struct SharedRegion {
    void* base = nullptr;
    std::size_t bytes = 0;
};

// The region for this generation; base == nullptr: the reason is logged on s.
SharedRegion keep_shared_region(server_rec* s, std::size_t bytes, const std::string& zone);
void drop_shared_region();

// A RegionKv over the region, logging its events on s; nullptr (logged) if the region is
// not usable.
std::unique_ptr<RegionKv> region_kv(const SharedRegion& region, server_rec* s,
                                    const std::string& zone, const Clock& clock);

} // namespace authgate::httpd
