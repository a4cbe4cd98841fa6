// KvStore's Store interface: coroutines that only wrap the critical sections of
// kv_store.cpp, each completing inline. Kept apart so that fuzz builds, which cannot
// instrument coroutine bodies, still instrument the store's logic.
#include "authgate/kv_store.h"

namespace authgate {

// Replies are built before co_return (clang-analyzer takes a moved co_return operand as moved
// twice).

Task<StoreReply<std::optional<std::string>>> KvStore::get(std::string_view key) {
    auto reply = read_now(key);
    co_return reply;
}

Task<StoreReply<bool>> KvStore::set(std::string_view key, std::string value, Millis ttl_ms) {
    auto reply = write_now(key, value, ttl_ms, std::nullopt, false);
    co_return reply;
}

Task<StoreReply<bool>> KvStore::set_if_absent(std::string_view key, std::string value,
                                              Millis ttl_ms) {
    auto reply = write_now(key, value, ttl_ms, std::nullopt, true);
    co_return reply;
}

Task<StoreReply<bool>> KvStore::compare_and_set(std::string_view key, std::string_view expected,
                                                std::string value, Millis ttl_ms) {
    auto reply = write_now(key, value, ttl_ms, expected, false);
    co_return reply;
}

Task<StoreReply<bool>> KvStore::del(std::string_view key) {
    auto reply = remove_now(key);
    co_return reply;
}

Task<StoreReply<std::int64_t>> KvStore::incr(std::string_view key, std::int64_t delta,
                                             Millis ttl_ms) {
    auto reply = incr_now(key, delta, ttl_ms);
    co_return reply;
}

Task<StoreReply<bool>> KvStore::index_add(std::string_view index, std::string_view member,
                                          Millis expires_at_ms, Millis now_ms) {
    auto reply = update_index(index, member, expires_at_ms, false, now_ms);
    co_return reply;
}

Task<StoreReply<bool>> KvStore::index_remove(std::string_view index, std::string_view member) {
    auto reply = update_index(index, member, 0, true, clock_.now_ms());
    co_return reply;
}

Task<StoreReply<std::vector<std::string>>> KvStore::index_members(std::string_view index,
                                                                  Millis now_ms) {
    auto reply = members_now(index, now_ms);
    co_return reply;
}

Task<StoreReply<bool>> KvStore::hash_set(std::string_view key, Fields fields) {
    auto reply = hash_set_now(key, std::move(fields));
    co_return reply;
}

Task<StoreReply<std::optional<Store::Fields>>> KvStore::hash_get(std::string_view key) {
    auto reply = hash_get_now(key);
    co_return reply;
}

} // namespace authgate
