// The embedded store: an nginx shared-memory zone (slab + rbtree + LRU queue + expiry)
// shared by all workers and kept across reloads. Operations complete inline.
#pragma once

#include "ngx_http_authgate_nginx.h"

#include "authgate/ports.h"

namespace authgate::ngx {

// Registers the zone at configuration time; nullptr (with the error logged) on failure.
// `origin` (" in FILE:LINE" of authgate_shm_zone, or "") ends error messages.
ngx_shm_zone_t* shm_store_zone_add(ngx_conf_t* cf, const ngx_str_t& name, size_t size,
                                   const std::string& origin);

class ShmStore final : public Store {
  public:
    ShmStore(ngx_shm_zone_t* zone, ngx_log_t* log) : zone_(zone), log_(log) {}
    std::string_view kind() const noexcept override { return "shm"; }

    Task<StoreReply<std::optional<std::string>>> get(std::string_view key) override;
    std::optional<bool> equals_now(std::string_view key, std::string_view expected) override;
    Task<StoreReply<bool>> set(std::string_view key, std::string value, Millis ttl_ms) override;
    Task<StoreReply<bool>> set_if_absent(std::string_view key, std::string value,
                                         Millis ttl_ms) override;
    Task<StoreReply<bool>> compare_and_set(std::string_view key, std::string_view expected,
                                           std::string value, Millis ttl_ms) override;
    Task<StoreReply<bool>> del(std::string_view key) override;
    Task<StoreReply<std::int64_t>> incr(std::string_view key, std::int64_t delta,
                                        Millis ttl_ms) override;
    Task<StoreReply<bool>> index_add(std::string_view index, std::string_view member,
                                     Millis expires_at_ms, Millis now_ms) override;
    Task<StoreReply<bool>> index_remove(std::string_view index, std::string_view member) override;
    Task<StoreReply<std::vector<std::string>>> index_members(std::string_view index,
                                                             Millis now_ms) override;
    Task<StoreReply<bool>> hash_set(std::string_view key, Fields fields) override;
    Task<StoreReply<std::optional<Fields>>> hash_get(std::string_view key) override;
    // The GCRA step under the zone lock, on the caller's clock (rate_limit answers from it).
    std::optional<StoreReply<limit::Verdict>>
    rate_limit_now(std::string_view key, const limit::Rule& rule, Millis now_ms) override;

  private:
    StoreReply<bool> update_index(std::string_view index, std::string_view member,
                                  Millis expires_at_ms, bool remove, Millis now);
    ngx_shm_zone_t* zone_;
    ngx_log_t* log_;
};

} // namespace authgate::ngx
