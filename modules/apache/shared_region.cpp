// The embedded store's shared mapping across configuration generations (see
// shared_region.h).
#include "shared_region.h"

#include <ap_mpm.h>

#include <openssl/rand.h>
#include <sys/mman.h>

#include <cerrno>
#include <new>

#include "authgate/store_keys.h"
#include "authgate_apache.h"

namespace authgate::httpd {

namespace {

constexpr char kRetainedKey[] = "authgate-store-region";

// Lives in the process pool (not in any pconf): plain data, valid after the module's
// .so is unloaded and loaded again by a restart.
SharedRegion& retained() {
    if (void* data = ap_retained_data_get(kRetainedKey)) return *static_cast<SharedRegion*>(data);
    void* data = ap_retained_data_create(kRetainedKey, sizeof(SharedRegion));
    return *new (data) SharedRegion{};
}

void unmap(SharedRegion& r) {
    if (r.base != nullptr) munmap(r.base, r.bytes);
    r = SharedRegion{};
}

} // namespace

SharedRegion keep_shared_region(server_rec* s, std::size_t bytes, const std::string& zone) {
    SharedRegion& r = retained();
    if (r.base != nullptr && r.bytes == bytes && RegionKv::attachable(r.base, bytes)) return r;
    if (r.base != nullptr) {
        ap_log_error(APLOG_MARK, APLOG_NOTICE, 0, s,
                     "authgate: shared memory zone \"%s\" changed (%" APR_SIZE_T_FMT
                     " bytes, was %" APR_SIZE_T_FMT "): a new one is made, its sessions dropped",
                     zone.c_str(), bytes, r.bytes);
        unmap(r);
    }
    if (bytes < RegionKv::kMinBytes) {
        ap_log_error(APLOG_MARK, APLOG_EMERG, 0, s,
                     "authgate: shared memory zone \"%s\" is too small: at least %" APR_SIZE_T_FMT
                     " bytes are needed",
                     zone.c_str(), RegionKv::kMinBytes);
        return {};
    }
    void* base = mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (base == MAP_FAILED) {
        ap_log_error(APLOG_MARK, APLOG_EMERG, errno, s,
                     "authgate: cannot map shared memory zone \"%s\" of %" APR_SIZE_T_FMT " bytes",
                     zone.c_str(), bytes);
        return {};
    }
    std::uint64_t seed = 0;
    if (RAND_bytes(reinterpret_cast<unsigned char*>(&seed), sizeof seed) != 1 ||
        !RegionKv::init(base, bytes, seed)) {
        munmap(base, bytes);
        ap_log_error(APLOG_MARK, APLOG_EMERG, 0, s,
                     "authgate: cannot set up shared memory zone \"%s\" (process-shared robust "
                     "mutex)",
                     zone.c_str());
        return {};
    }
    r = SharedRegion{base, bytes};
    return r;
}

void drop_shared_region() { unmap(retained()); }

std::unique_ptr<RegionKv> region_kv(const SharedRegion& region, server_rec* s,
                                    const std::string& zone, const Clock& clock) {
    if (!RegionKv::attachable(region.base, region.bytes)) {
        ap_log_error(APLOG_MARK, APLOG_CRIT, 0, s,
                     "authgate: shared memory zone \"%s\" is not usable", zone.c_str());
        return nullptr;
    }
    // Called under the store's lock for owner_died and evicting: logging only.
    auto log = [s, zone](RegionEvent event, std::size_t n) {
        switch (event) {
        case RegionEvent::owner_died:
            ap_log_error(APLOG_MARK, APLOG_ERR, 0, s,
                         "authgate: a process died holding the lock of shared memory zone "
                         "\"%s\": its entries were dropped (every session ended)",
                         zone.c_str());
            break;
        case RegionEvent::evicting:
            ap_log_error(APLOG_MARK, APLOG_WARNING, 0, s,
                         "authgate: shared memory zone \"%s\" is full, evicting least recently "
                         "used entries",
                         zone.c_str());
            break;
        case RegionEvent::refused_too_large:
            ap_log_error(APLOG_MARK, APLOG_ERR, 0, s,
                         "authgate: entry of %" APR_SIZE_T_FMT
                         " bytes does not fit in shared memory zone \"%s\"",
                         n, zone.c_str());
            break;
        case RegionEvent::refused_index_full:
            ap_log_error(APLOG_MARK, APLOG_ERR, 0, s,
                         "authgate: index full (%" APR_SIZE_T_FMT " members), not added",
                         kMaxIndexMembers);
            break;
        case RegionEvent::lock_failed:
            ap_log_error(APLOG_MARK, APLOG_ERR, static_cast<apr_status_t>(n), s,
                         "authgate: cannot lock shared memory zone \"%s\"", zone.c_str());
            break;
        }
    };
    // Prefork's children exit from their signal handler on a restart: never while holding
    // the lock (threaded MPMs already keep signals off their request threads).
    int threaded = AP_MPMQ_NOT_SUPPORTED;
    ap_mpm_query(AP_MPMQ_IS_THREADED, &threaded);
    bool block_signals = threaded == AP_MPMQ_NOT_SUPPORTED;
    return std::make_unique<RegionKv>(region.base, region.bytes, clock, std::move(log),
                                      block_signals);
}

} // namespace authgate::httpd
