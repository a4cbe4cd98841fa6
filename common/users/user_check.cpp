#include "users/user_check.h"

#include "authgate/store_keys.h"
#include "authgate/user_status.h"
#include "authgate/users.h"

namespace authgate {

namespace {

using Status = UserStatusCache::Status;

Task<std::optional<Status>> store_status(Ports ports, std::string_view user, Millis now) {
    if (ports.user_status != nullptr) {
        if (auto known = ports.user_status->find(user, now)) co_return *known;
    }
    auto record = co_await ports.store.hash_get(user_record_key(user));
    if (!record.ok()) co_return std::nullopt;
    Status status = Status::absent;
    if (record.value) {
        // An unusable record counts as no record, as at sign-in (find_user).
        auto u = user_from_fields(user, *record.value);
        if (u) status = u->disabled ? Status::disabled : Status::enabled;
    }
    if (ports.user_status != nullptr) ports.user_status->put(user, status, now);
    co_return status;
}

} // namespace

std::optional<UserCheck> users_file_verdict(const GateConfig& cfg, std::string_view user,
                                            std::string_view source) {
    return users_file_verdict(cfg.users ? cfg.users->find(user) : nullptr, source);
}

std::optional<UserCheck> users_file_verdict(const User* u, std::string_view source) {
    if (source == "file") {
        return u != nullptr && !u->disabled ? UserCheck::allowed : UserCheck::refused;
    }
    if (u == nullptr) return std::nullopt;
    return u->disabled ? UserCheck::refused : UserCheck::allowed;
}

Task<UserCheck> check_user(Ports ports, const GateConfig& cfg, std::string_view user,
                           std::string_view source) {
    if (auto decided = users_file_verdict(cfg, user, source)) co_return *decided;
    if (!ports.store.durable()) {
        co_return source == "store" ? UserCheck::refused : UserCheck::allowed;
    }
    auto status = co_await store_status(ports, user, ports.clock.now_ms());
    if (!status) co_return UserCheck::store_unavailable;
    if (*status == Status::disabled) co_return UserCheck::refused;
    if (*status == Status::absent && source == "store") co_return UserCheck::refused;
    co_return UserCheck::allowed;
}

void apply_users_file(const GateConfig& cfg, Session& s) {
    if (s.source != "file" || !cfg.users) return;
    if (const User* u = cfg.users->find(s.user)) {
        s.email = u->email;
        s.name = u->display_name;
        s.groups = u->groups;
        s.roles = u->roles;
    }
}

} // namespace authgate
