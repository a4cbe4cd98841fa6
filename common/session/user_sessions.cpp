// Sessions by user: the per-user index kept beside the session records.
#include "authgate/gate.h"
#include "authgate/store_keys.h"

namespace authgate {

Task<StoreReply<bool>> end_session(Store& store, std::string_view store_key) {
    auto record = co_await store.get(store_key);
    if (!record.ok()) co_return StoreReply<bool>{StoreStatus::unavailable, false};
    if (!record.value) co_return StoreReply<bool>{StoreStatus::ok, false};
    auto removed = co_await store.del(store_key);
    if (!removed.ok()) co_return StoreReply<bool>{StoreStatus::unavailable, false};
    if (auto s = decode_session(*record.value)) {
        auto unindexed = co_await store.index_remove(user_sessions_key(s->user), store_key);
        if (!unindexed.ok()) co_return StoreReply<bool>{StoreStatus::unavailable, false};
        if (!s->sso_sid.empty()) {
            co_await store.index_remove(sid_index_key(s->sso_provider, s->sso_sid), store_key);
        }
        if (!s->sso_sub.empty()) {
            co_await store.index_remove(sub_index_key(s->sso_provider, s->sso_sub), store_key);
        }
    }
    co_return StoreReply<bool>{StoreStatus::ok, removed.value};
}

Task<StoreReply<std::vector<UserSession>>> list_user_sessions(Store& store, std::string_view user,
                                                              Millis now) {
    using Reply = StoreReply<std::vector<UserSession>>;
    auto members = co_await store.index_members(user_sessions_key(user), now);
    if (!members.ok()) co_return Reply{StoreStatus::unavailable, {}};
    std::vector<UserSession> out;
    for (auto& key : members.value) {
        auto record = co_await store.get(key);
        if (!record.ok()) co_return Reply{StoreStatus::unavailable, {}};
        if (!record.value) continue; // idle-expired: the index keeps it until its lifetime ends
        auto s = decode_session(*record.value);
        if (!s || s->user != user) continue;
        out.push_back(UserSession{std::move(key), std::move(*s)});
    }
    co_return Reply{StoreStatus::ok, std::move(out)};
}

Task<StoreReply<std::size_t>> revoke_user_sessions(Store& store, std::string_view user,
                                                   Millis now) {
    using Reply = StoreReply<std::size_t>;
    std::string index = user_sessions_key(user);
    auto members = co_await store.index_members(index, now);
    if (!members.ok()) co_return Reply{StoreStatus::unavailable, 0};
    std::size_t ended = 0;
    for (const auto& key : members.value) {
        // Record and every index entry (sid/sub too), as a logout would.
        auto removed = co_await end_session(store, key);
        if (!removed.ok()) co_return Reply{StoreStatus::unavailable, ended};
        ended += removed.value ? 1 : 0;
        auto unindexed = co_await store.index_remove(index, key);
        if (!unindexed.ok()) co_return Reply{StoreStatus::unavailable, ended};
    }
    co_return Reply{StoreStatus::ok, ended};
}

} // namespace authgate
