// Run-time users kept in the store, beside the users file.
#include "authgate/roles.h"
#include "authgate/store_keys.h"
#include "authgate/users.h"
#include "base/text.h"

namespace authgate {

namespace {

std::vector<std::string> split_groups(std::string_view s) {
    std::vector<std::string> out;
    for (auto g : text::split(s, ',')) {
        if (!g.empty()) out.emplace_back(g);
    }
    return out;
}

} // namespace

Result<User> user_from_fields(std::string_view name, const Store::Fields& fields) {
    User u;
    u.name = std::string(name);
    for (const auto& [k, v] : fields) {
        if (k == "password")
            u.password_hash = v;
        else if (k == "email")
            u.email = v;
        else if (k == "name")
            u.display_name = v;
        else if (k == "groups")
            u.groups = split_groups(v);
        else if (k == "roles")
            u.roles = split_groups(v);
        else if (k == "disabled")
            u.disabled = v == "1" || v == "true";
    }
    // A malformed role name grants nothing (the graph holds none such): dropped.
    std::erase_if(u.roles, [](const std::string& r) { return !is_role_name(r); });
    // A record without a usable hash can never sign in with a password.
    if (!u.password_hash.empty() && !is_argon2id_hash(u.password_hash)) {
        return fail("user \"" + u.name + "\" has a password that is not an argon2id hash");
    }
    return u;
}

Store::Fields user_to_fields(const User& u) {
    auto joined = [](const std::vector<std::string>& items) {
        std::string out;
        for (const auto& i : items) {
            if (!out.empty()) out += ',';
            out += i;
        }
        return out;
    };
    return {{"password", u.password_hash}, {"email", u.email},
            {"name", u.display_name},      {"groups", joined(u.groups)},
            {"roles", joined(u.roles)},    {"disabled", u.disabled ? "1" : "0"}};
}

Task<UserLookup> find_user(const UserDb* file_users, Store& store, std::string_view name) {
    if (file_users != nullptr) {
        if (const User* u = file_users->find(name)) {
            co_return UserLookup{StoreStatus::ok, *u, "file"};
        }
    }
    if (!store.durable()) co_return UserLookup{};
    auto record = co_await store.hash_get(user_record_key(name));
    if (!record.ok()) co_return UserLookup{StoreStatus::unavailable, std::nullopt, {}};
    if (!record.value) co_return UserLookup{};
    auto user = user_from_fields(name, *record.value);
    if (!user) co_return UserLookup{}; // unusable record: treated as unknown
    co_return UserLookup{StoreStatus::ok, std::move(*user), "store"};
}

} // namespace authgate
