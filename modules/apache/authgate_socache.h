// The embedded store under Apache httpd: a socache shmcb cache shared by every child
// process, each call under one global mutex (shmcb is NOTMPSAFE). This is only the
// LockedKv; authgate::KvStore on top of it is the Store the core uses.
//
// Lifecycle, from the module's hooks:
//   pre_config   SocacheKv::register_mutex(pconf)     (the `Mutex authgate-store ...` type)
//   post_config  SocacheKv::create(s, pconf, ptemp, size) on every pass; nullptr: fail
//                the configuration (the reason is logged). Lives in pconf: a graceful
//                restart destroys it and creates a new, empty cache (every session ends).
//   child_init   kv->child_init(pchild)                (reattaches the mutex in the child)
//   then         KvStore store(*kv, clock)             (one per process, any thread)
#pragma once

#include <ap_socache.h>
#include <apr_global_mutex.h>
#include <httpd.h>

#include "authgate/kv_store.h"

namespace authgate::httpd {

// The mutex type, for `Mutex file:${APACHE_RUN_DIR} authgate-store` and friends.
inline constexpr char kStoreMutexType[] = "authgate-store";

class SocacheKv final : public LockedKv {
  public:
    static apr_status_t register_mutex(apr_pool_t* pconf);
    // A cache of `bytes` (at least 8192) with its mutex, allocated in pconf and destroyed
    // with it; nullptr with the reason logged on s.
    static SocacheKv* create(server_rec* s, apr_pool_t* pconf, apr_pool_t* ptemp, apr_size_t bytes);
    apr_status_t child_init(apr_pool_t* pchild);

    bool lock() override;
    void unlock() noexcept override;
    Fetched fetch(std::string_view key) override;
    bool put(std::string_view key, std::string_view value, Millis expires_at_ms) override;
    bool remove(std::string_view key) override;
    std::size_t max_entry() const noexcept override { return max_entry_; }
    void refused(KvRefusal why, std::size_t bytes) noexcept override;

    SocacheKv(const SocacheKv&) = delete;
    SocacheKv& operator=(const SocacheKv&) = delete;

  private:
    SocacheKv(const ap_socache_provider_t* provider, ap_socache_instance_t* instance,
              apr_global_mutex_t* mutex, server_rec* s, apr_pool_t* pool)
        : provider_(provider), instance_(instance), mutex_(mutex), server_(s), pool_(pool) {}
    ~SocacheKv() override = default;
    static apr_status_t destroy(void* self) noexcept;
    std::size_t probe_max_entry(apr_size_t bytes, apr_pool_t* ptemp);

    const ap_socache_provider_t* provider_;
    ap_socache_instance_t* instance_;
    apr_global_mutex_t* mutex_;
    server_rec* server_; // for the provider's and our log lines
    apr_pool_t* pool_;   // the provider's scratch pool, used and cleared under the lock
    std::size_t max_entry_ = 0;
    unsigned char* buffer_ = nullptr; // max_entry_ bytes: retrieve() copies values here
};

} // namespace authgate::httpd
