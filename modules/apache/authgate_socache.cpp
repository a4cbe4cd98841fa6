// SocacheKv: socache shmcb behind an apr global mutex (see authgate_socache.h).
#include "authgate_socache.h"

#include <ap_provider.h>
#include <apr_allocator.h>
#include <apr_strings.h>
#include <http_config.h>
#include <http_log.h>
#include <util_mutex.h>

#include <climits>
#include <new>

#include "authgate/store_keys.h"

// Log lines carry the module's index (LogLevel authgate:...). This is APLOG_USE_MODULE
// with C linkage: the module (authgate_module) is defined inside extern "C".
extern "C" {
extern module AP_MODULE_DECLARE_DATA authgate_module;
}
[[maybe_unused]] static int* const aplog_module_index = &authgate_module.module_index;

namespace authgate::httpd {

namespace {

// The consumer name given to init() (at most 16 characters).
constexpr char kCacheName[] = "authgate-store";
// Sizes that the store writes most (a session: a 46-byte key, ~100-300 bytes of record);
// shmcb sizes its subcaches and index queues from them.
const ap_socache_hints kHints = {46, 200, 0};
// Written and removed once at start-up to check the largest entry.
constexpr unsigned char kProbeKey[] = "\x01"
                                      "authgate-probe";
constexpr unsigned kProbeKeyLen = sizeof kProbeKey - 1;
// Below this a session index of a few members would not fit: refuse the configuration.
constexpr std::size_t kMinEntry = 1024;

const unsigned char* key_bytes(std::string_view key) {
    return reinterpret_cast<const unsigned char*>(key.data());
}

// The data area of one subcache by shmcb's sizing rules (httpd 2.4, LP64 struct sizes:
// header 88, subcache 16, index 24 bytes). Only an estimate: probe_max_entry checks it.
std::size_t shmcb_data_area(std::size_t bytes) {
    constexpr std::size_t kHeader = 88, kSubcache = 16, kIndex = 24;
    if (bytes <= kHeader) return 0;
    std::size_t segment = bytes - kHeader;
    std::size_t indexes = segment / (kHints.avg_obj_size + kHints.avg_id_len);
    std::size_t subcaches = 256;
    while (subcaches > 1 && indexes / subcaches < 2 * subcaches) subcaches /= 2;
    indexes /= subcaches;
    std::size_t subcache = (segment / subcaches) & ~(sizeof(unsigned long) - 1);
    std::size_t overhead = kSubcache + indexes * kIndex;
    return subcache > overhead ? subcache - overhead : 0;
}

// socache wants an absolute apr_time_t (microseconds); hash records' far expiry included.
apr_time_t expiry_of(Millis expires_at_ms) {
    constexpr Millis kLatest = LLONG_MAX / 1000;
    if (expires_at_ms <= 0) return 0;
    return static_cast<apr_time_t>(expires_at_ms < kLatest ? expires_at_ms : kLatest) * 1000;
}

} // namespace

apr_status_t SocacheKv::register_mutex(apr_pool_t* pconf) {
    return ap_mutex_register(pconf, kStoreMutexType, nullptr, APR_LOCK_DEFAULT, 0);
}

SocacheKv* SocacheKv::create(server_rec* s, apr_pool_t* pconf, apr_pool_t* ptemp,
                             apr_size_t bytes) {
    const auto* provider = static_cast<const ap_socache_provider_t*>(
        ap_lookup_provider(AP_SOCACHE_PROVIDER_GROUP, "shmcb", AP_SOCACHE_PROVIDER_VERSION));
    if (provider == nullptr) {
        ap_log_error(APLOG_MARK, APLOG_EMERG, 0, s,
                     "authgate: the shmcb socache provider is not loaded (a2enmod socache_shmcb)");
        return nullptr;
    }
    // "path(size)": shmcb uses anonymous shared memory, the path only where that is missing.
    const char* arg = apr_psprintf(ptemp, "%s(%" APR_SIZE_T_FMT ")",
                                   ap_runtime_dir_relative(ptemp, kCacheName), bytes);
    ap_socache_instance_t* instance = nullptr;
    if (const char* error = provider->create(&instance, arg, ptemp, pconf)) {
        ap_log_error(APLOG_MARK, APLOG_EMERG, 0, s, "authgate: store cache: %s", error);
        return nullptr;
    }
    apr_global_mutex_t* mutex = nullptr;
    apr_status_t rv =
        ap_global_mutex_create(&mutex, nullptr, kStoreMutexType, nullptr, s, pconf, 0);
    if (rv != APR_SUCCESS) {
        ap_log_error(APLOG_MARK, APLOG_EMERG, rv, s, "authgate: cannot create the store mutex");
        return nullptr;
    }
    rv = provider->init(instance, kCacheName, &kHints, s, pconf);
    if (rv != APR_SUCCESS) {
        ap_log_error(APLOG_MARK, APLOG_EMERG, rv, s,
                     "authgate: cannot create the store cache of %" APR_SIZE_T_FMT " bytes", bytes);
        return nullptr;
    }
    apr_pool_t* scratch = nullptr;
    if (apr_pool_create(&scratch, pconf) != APR_SUCCESS) return nullptr;

    void* memory = apr_palloc(pconf, sizeof(SocacheKv));
    auto* kv = new (memory) SocacheKv(provider, instance, mutex, s, scratch);
    apr_pool_cleanup_register(pconf, kv, destroy, apr_pool_cleanup_null);
    kv->max_entry_ = kv->probe_max_entry(bytes, ptemp);
    if (kv->max_entry_ < kMinEntry) {
        ap_log_error(APLOG_MARK, APLOG_EMERG, 0, s,
                     "authgate: a store cache of %" APR_SIZE_T_FMT " bytes is too small", bytes);
        return nullptr;
    }
    kv->buffer_ = static_cast<unsigned char*>(apr_palloc(pconf, kv->max_entry_));
    ap_log_error(APLOG_MARK, APLOG_DEBUG, 0, s,
                 "authgate: store cache of %" APR_SIZE_T_FMT
                 " bytes, entries up to %" APR_SIZE_T_FMT " bytes",
                 bytes, kv->max_entry_);
    return kv;
}

// The largest id + data that shmcb stores: the estimate, checked by one real store (then
// removed) and lowered until it fits. Runs in the parent, before any child exists.
std::size_t SocacheKv::probe_max_entry(apr_size_t bytes, apr_pool_t* ptemp) {
    std::size_t size = shmcb_data_area(bytes);
    if (size < kMinEntry) return 0;
    auto* data = static_cast<unsigned char*>(apr_pcalloc(ptemp, size));
    if (!lock()) return 0;
    std::size_t found = 0;
    for (; size >= kMinEntry && found == 0; size -= size / 8) {
        auto len = static_cast<unsigned>(size - kProbeKeyLen);
        apr_time_t expiry = apr_time_now() + apr_time_from_sec(60);
        if (provider_->store(instance_, server_, kProbeKey, kProbeKeyLen, expiry, data, len,
                             ptemp) == APR_SUCCESS) {
            provider_->remove(instance_, server_, kProbeKey, kProbeKeyLen, ptemp);
            found = size;
        }
    }
    unlock();
    return found;
}

apr_status_t SocacheKv::destroy(void* self) noexcept {
    auto* kv = static_cast<SocacheKv*>(self);
    kv->provider_->destroy(kv->instance_, kv->server_);
    kv->~SocacheKv();
    return APR_SUCCESS;
}

apr_status_t SocacheKv::child_init(apr_pool_t* pchild) {
    apr_status_t rv =
        apr_global_mutex_child_init(&mutex_, apr_global_mutex_lockfile(mutex_), pchild);
    if (rv != APR_SUCCESS) {
        ap_log_error(APLOG_MARK, APLOG_CRIT, rv, server_,
                     "authgate: cannot reattach the store mutex in the child");
        return rv;
    }
    // The scratch pool gets its own allocator: the child's is shared with other threads.
    apr_allocator_t* allocator = nullptr;
    rv = apr_allocator_create(&allocator);
    if (rv != APR_SUCCESS) return rv;
    rv = apr_pool_create_ex(&pool_, pchild, nullptr, allocator);
    if (rv != APR_SUCCESS) {
        apr_allocator_destroy(allocator);
        return rv;
    }
    apr_allocator_owner_set(allocator, pool_);
    return APR_SUCCESS;
}

bool SocacheKv::lock() {
    apr_status_t rv = apr_global_mutex_lock(mutex_);
    if (rv == APR_SUCCESS) return true;
    ap_log_error(APLOG_MARK, APLOG_ERR, rv, server_, "authgate: cannot lock the store");
    return false;
}

void SocacheKv::unlock() noexcept {
    apr_pool_clear(pool_);
    apr_global_mutex_unlock(mutex_);
}

LockedKv::Fetched SocacheKv::fetch(std::string_view key) {
    if (key.size() > UINT_MAX) return {};
    auto len = static_cast<unsigned>(max_entry_);
    apr_status_t rv = provider_->retrieve(instance_, server_, key_bytes(key),
                                          static_cast<unsigned>(key.size()), buffer_, &len, pool_);
    if (rv == APR_NOTFOUND) return {};
    if (rv != APR_SUCCESS) return {Fetched::State::failed, {}};
    return {Fetched::State::present, {reinterpret_cast<const char*>(buffer_), len}};
}

bool SocacheKv::put(std::string_view key, std::string_view value, Millis expires_at_ms) {
    if (key.size() + value.size() > max_entry_) return false; // shmcb would drop the old entry
    // shmcb only reads the data it is given.
    auto* data = const_cast<unsigned char*>(key_bytes(value));
    return provider_->store(instance_, server_, key_bytes(key), static_cast<unsigned>(key.size()),
                            expiry_of(expires_at_ms), data, static_cast<unsigned>(value.size()),
                            pool_) == APR_SUCCESS;
}

bool SocacheKv::remove(std::string_view key) {
    if (key.size() > UINT_MAX) return false;
    return provider_->remove(instance_, server_, key_bytes(key), static_cast<unsigned>(key.size()),
                             pool_) == APR_SUCCESS;
}

void SocacheKv::refused(KvRefusal why, std::size_t bytes) noexcept {
    if (why == KvRefusal::index_full) {
        ap_log_error(APLOG_MARK, APLOG_ERR, 0, server_,
                     "authgate: index full (%" APR_SIZE_T_FMT " members), not added",
                     kMaxIndexMembers);
        return;
    }
    ap_log_error(APLOG_MARK, APLOG_ERR, 0, server_,
                 "authgate: store entry of %" APR_SIZE_T_FMT
                 " bytes does not fit in the store cache (at most %" APR_SIZE_T_FMT ")",
                 bytes, max_entry_);
}

} // namespace authgate::httpd
