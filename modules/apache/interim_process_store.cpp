#include "interim_process_store.h"

#include <climits>

#include "authgate/store_keys.h"

namespace authgate::apache {

InterimProcessStore::Map::iterator InterimProcessStore::live(std::string_view key) {
    auto it = data_.find(key);
    if (it != data_.end() && it->second.second <= clock_.now_ms()) {
        data_.erase(it);
        return data_.end();
    }
    return it;
}

Task<StoreReply<std::optional<std::string>>> InterimProcessStore::get(std::string_view key) {
    std::lock_guard lock(mutex_);
    auto it = live(key);
    if (it == data_.end()) co_return StoreReply<std::optional<std::string>>{};
    co_return StoreReply<std::optional<std::string>>{StoreStatus::ok, it->second.first};
}

Task<StoreReply<bool>> InterimProcessStore::set(std::string_view key, std::string value,
                                                Millis ttl_ms) {
    std::lock_guard lock(mutex_);
    data_[std::string(key)] = {std::move(value), clock_.now_ms() + ttl_ms};
    co_return StoreReply<bool>{StoreStatus::ok, true};
}

Task<StoreReply<bool>> InterimProcessStore::set_if_absent(std::string_view key, std::string value,
                                                          Millis ttl_ms) {
    std::lock_guard lock(mutex_);
    if (live(key) != data_.end()) co_return StoreReply<bool>{StoreStatus::ok, false};
    data_[std::string(key)] = {std::move(value), clock_.now_ms() + ttl_ms};
    co_return StoreReply<bool>{StoreStatus::ok, true};
}

Task<StoreReply<bool>> InterimProcessStore::compare_and_set(std::string_view key,
                                                            std::string_view expected,
                                                            std::string value, Millis ttl_ms) {
    std::lock_guard lock(mutex_);
    auto it = live(key);
    if (it == data_.end() || it->second.first != expected) {
        co_return StoreReply<bool>{StoreStatus::ok, false};
    }
    it->second = {std::move(value), clock_.now_ms() + ttl_ms};
    co_return StoreReply<bool>{StoreStatus::ok, true};
}

Task<StoreReply<bool>> InterimProcessStore::del(std::string_view key) {
    std::lock_guard lock(mutex_);
    auto it = live(key);
    bool found = it != data_.end();
    if (found) data_.erase(it);
    co_return StoreReply<bool>{StoreStatus::ok, found};
}

Task<StoreReply<std::int64_t>> InterimProcessStore::incr(std::string_view key, std::int64_t delta,
                                                         Millis ttl_ms) {
    std::lock_guard lock(mutex_);
    auto it = live(key);
    std::int64_t value = delta;
    if (it != data_.end()) {
        value = std::stoll(it->second.first) + delta;
        it->second.first = std::to_string(value);
    } else {
        data_[std::string(key)] = {std::to_string(value), clock_.now_ms() + ttl_ms};
    }
    co_return StoreReply<std::int64_t>{StoreStatus::ok, value};
}

StoreReply<bool> InterimProcessStore::update_index(std::string_view index, std::string_view member,
                                                   Millis expires_at_ms, bool remove,
                                                   Millis now_ms) {
    std::lock_guard lock(mutex_);
    auto it = live(index);
    std::optional<std::string_view> current;
    if (it != data_.end()) current = it->second.first;
    IndexUpdate u = update_index_record(current, member, expires_at_ms, remove, now_ms);
    switch (u.outcome) {
    case IndexUpdate::Outcome::full: return {StoreStatus::unavailable, false};
    case IndexUpdate::Outcome::erase:
        if (it != data_.end()) data_.erase(it);
        return {StoreStatus::ok, true};
    case IndexUpdate::Outcome::write:
        data_[std::string(index)] = {std::move(u.value), u.expires_ms};
        return {StoreStatus::ok, true};
    }
    return {StoreStatus::unavailable, false};
}

Task<StoreReply<bool>> InterimProcessStore::index_add(std::string_view index,
                                                      std::string_view member, Millis expires_at_ms,
                                                      Millis now_ms) {
    co_return update_index(index, member, expires_at_ms, false, now_ms);
}

Task<StoreReply<bool>> InterimProcessStore::index_remove(std::string_view index,
                                                         std::string_view member) {
    co_return update_index(index, member, 0, true, clock_.now_ms());
}

Task<StoreReply<std::vector<std::string>>>
InterimProcessStore::index_members(std::string_view index, Millis now_ms) {
    std::lock_guard lock(mutex_);
    std::vector<std::string> out;
    auto it = live(index);
    IndexEntries entries;
    if (it != data_.end() && decode_index(it->second.first, entries)) {
        sort_index(entries);
        for (auto& [expires, member] : entries) {
            if (expires > now_ms) out.push_back(std::move(member));
        }
    }
    co_return StoreReply<std::vector<std::string>>{StoreStatus::ok, std::move(out)};
}

Task<StoreReply<bool>> InterimProcessStore::hash_set(std::string_view key, Fields fields) {
    std::lock_guard lock(mutex_);
    auto it = data_.find(key);
    std::optional<std::string_view> current;
    if (it != data_.end()) current = it->second.first;
    auto value = merged_record(current, std::move(fields));
    if (!value) co_return StoreReply<bool>{StoreStatus::unavailable, false};
    data_[std::string(key)] = {std::move(*value), LLONG_MAX};
    co_return StoreReply<bool>{StoreStatus::ok, true};
}

Task<StoreReply<std::optional<Store::Fields>>> InterimProcessStore::hash_get(std::string_view key) {
    std::lock_guard lock(mutex_);
    using Reply = StoreReply<std::optional<Fields>>;
    auto it = data_.find(key);
    if (it == data_.end()) co_return Reply{StoreStatus::ok, std::nullopt};
    Fields f;
    if (!decode_fields(it->second.first, f))
        co_return Reply{StoreStatus::unavailable, std::nullopt};
    co_return Reply{StoreStatus::ok, std::move(f)};
}

} // namespace authgate::apache
