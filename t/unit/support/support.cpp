#include "support/support.h"

#include "authgate/store_keys.h"

namespace authgate::testing {

void MemoryStore::expire() {
    Millis now = clock_.now_ms();
    for (auto it = data_.begin(); it != data_.end();) {
        it = it->second.second <= now ? data_.erase(it) : std::next(it);
    }
}

Task<StoreReply<std::optional<std::string>>> MemoryStore::get(std::string_view key) {
    co_await completions().next();
    if (down) co_return StoreReply<std::optional<std::string>>{StoreStatus::unavailable, {}};
    expire();
    auto it = data_.find(std::string(key));
    if (it == data_.end()) co_return StoreReply<std::optional<std::string>>{};
    co_return StoreReply<std::optional<std::string>>{StoreStatus::ok, it->second.first};
}

Task<StoreReply<bool>> MemoryStore::set(std::string_view key, std::string value, Millis ttl_ms) {
    co_await completions().next();
    if (down) co_return StoreReply<bool>{StoreStatus::unavailable, false};
    assert_true(ttl_ms > 0);
    data_[std::string(key)] = {std::move(value), clock_.now_ms() + ttl_ms};
    co_return StoreReply<bool>{StoreStatus::ok, true};
}

Task<StoreReply<bool>> MemoryStore::set_if_absent(std::string_view key, std::string value,
                                                  Millis ttl_ms) {
    co_await completions().next();
    if (down) co_return StoreReply<bool>{StoreStatus::unavailable, false};
    expire();
    if (data_.contains(std::string(key))) co_return StoreReply<bool>{StoreStatus::ok, false};
    data_[std::string(key)] = {std::move(value), clock_.now_ms() + ttl_ms};
    co_return StoreReply<bool>{StoreStatus::ok, true};
}

Task<StoreReply<bool>> MemoryStore::del(std::string_view key) {
    co_await completions().next();
    if (down) co_return StoreReply<bool>{StoreStatus::unavailable, false};
    expire();
    co_return StoreReply<bool>{StoreStatus::ok, data_.erase(std::string(key)) > 0};
}

Task<StoreReply<std::int64_t>> MemoryStore::incr(std::string_view key, std::int64_t delta,
                                                 Millis ttl_ms) {
    co_await completions().next();
    if (down) co_return StoreReply<std::int64_t>{StoreStatus::unavailable, 0};
    expire();
    auto it = data_.find(std::string(key));
    std::int64_t value = delta;
    if (it != data_.end()) {
        value = std::stoll(it->second.first) + delta;
        it->second.first = std::to_string(value);
    } else {
        data_[std::string(key)] = {std::to_string(value), clock_.now_ms() + ttl_ms};
    }
    co_return StoreReply<std::int64_t>{StoreStatus::ok, value};
}

Task<StoreReply<bool>> MemoryStore::compare_and_set(std::string_view key, std::string_view expected,
                                                    std::string value, Millis ttl_ms) {
    co_await completions().next();
    if (down) co_return StoreReply<bool>{StoreStatus::unavailable, false};
    assert_true(ttl_ms > 0);
    expire();
    auto it = data_.find(std::string(key));
    if (it == data_.end() || it->second.first != expected) {
        co_return StoreReply<bool>{StoreStatus::ok, false};
    }
    it->second = {std::move(value), clock_.now_ms() + ttl_ms};
    co_return StoreReply<bool>{StoreStatus::ok, true};
}

std::optional<StoreReply<limit::Verdict>>
MemoryStore::rate_limit_now(std::string_view key, const limit::Rule& rule, Millis now_ms) {
    using Reply = StoreReply<limit::Verdict>;
    if (down) return Reply{StoreStatus::unavailable, {}};
    expire();
    auto it = data_.find(std::string(key));
    std::optional<limit::Micros> tat;
    if (it != data_.end()) tat = limit::decode_tat(it->second.first);
    limit::Step step = limit::gcra(tat, rule, now_ms * 1000);
    if (step.write) {
        data_[std::string(key)] = {limit::encode_tat(step.tat_us), clock_.now_ms() + step.ttl_ms};
    }
    return Reply{StoreStatus::ok, step.verdict};
}

StoreReply<bool> MemoryStore::update_index(std::string_view index, std::string_view member,
                                           Millis expires_at_ms, bool remove, Millis now_ms) {
    if (down) return {StoreStatus::unavailable, false};
    if (!failing_index_prefix.empty() && index.starts_with(failing_index_prefix)) {
        return {StoreStatus::unavailable, false};
    }
    expire();
    auto it = data_.find(std::string(index));
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

Task<StoreReply<bool>> MemoryStore::index_add(std::string_view index, std::string_view member,
                                              Millis expires_at_ms, Millis now_ms) {
    co_await completions().next();
    co_return update_index(index, member, expires_at_ms, false, now_ms);
}

Task<StoreReply<bool>> MemoryStore::index_remove(std::string_view index, std::string_view member) {
    co_await completions().next();
    co_return update_index(index, member, 0, true, clock_.now_ms());
}

Task<StoreReply<std::vector<std::string>>> MemoryStore::index_members(std::string_view index,
                                                                      Millis now_ms) {
    co_await completions().next();
    using Reply = StoreReply<std::vector<std::string>>;
    if (down) co_return Reply{StoreStatus::unavailable, {}};
    expire();
    std::vector<std::string> out;
    auto it = data_.find(std::string(index));
    IndexEntries entries;
    if (it != data_.end() && decode_index(it->second.first, entries)) {
        sort_index(entries);
        for (auto& [expires, member] : entries) {
            if (expires > now_ms) out.push_back(std::move(member));
        }
    }
    co_return Reply{StoreStatus::ok, std::move(out)};
}

Task<StoreReply<bool>> MemoryStore::hash_set(std::string_view key, Fields fields) {
    co_await completions().next();
    if (down) co_return StoreReply<bool>{StoreStatus::unavailable, false};
    auto it = data_.find(std::string(key));
    std::optional<std::string_view> current;
    if (it != data_.end()) current = it->second.first;
    auto value = merged_record(current, std::move(fields));
    if (!value) co_return StoreReply<bool>{StoreStatus::unavailable, false};
    data_[std::string(key)] = {std::move(*value), INT64_MAX};
    co_return StoreReply<bool>{StoreStatus::ok, true};
}

Task<StoreReply<std::optional<Store::Fields>>> MemoryStore::hash_get(std::string_view key) {
    co_await completions().next();
    using Reply = StoreReply<std::optional<Fields>>;
    if (down) co_return Reply{StoreStatus::unavailable, std::nullopt};
    auto it = data_.find(std::string(key));
    if (it == data_.end()) co_return Reply{StoreStatus::ok, std::nullopt};
    Fields f;
    if (!decode_fields(it->second.first, f))
        co_return Reply{StoreStatus::unavailable, std::nullopt};
    co_return Reply{StoreStatus::ok, std::move(f)};
}

std::size_t MemoryStore::size() const {
    std::size_t n = 0;
    Millis now = clock_.now_ms();
    for (const auto& [k, v] : data_) n += v.second > now ? 1 : 0;
    return n;
}

std::string test_key_file() {
    return "# test keys\nk1 MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=\n"
           "old c2Vjb25kLWtleS1zZWNvbmQta2V5LXNlY29uZC1rZXkh\n";
}

std::string sv_to_string(std::string_view s) { return std::string(s); }

} // namespace authgate::testing
