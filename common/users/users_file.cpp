#include "authgate/users.h"

#include <argon2.h>

#include <algorithm>

#include "authgate/roles.h"
#include "base/text.h"

namespace authgate {

using text::split;
using text::trim;

namespace {

bool valid_user_name(std::string_view name) {
    if (name.empty() || name.size() > 128) return false;
    for (unsigned char c : name) {
        if (c <= 0x20 || c == 0x7f || c == ',' || c == ':') return false;
    }
    return true;
}

bool valid_text(std::string_view s) {
    for (unsigned char c : s) {
        if (c < 0x20 || c == 0x7f) return false;
    }
    return true;
}

} // namespace

// Whatever the users file holds: an unknown name must cost what a default hash costs,
// never what some user's (possibly cheaper) hash costs.
std::string decoy_hash(PasswordCost cost) {
    static constexpr char kPassword[] = "authgate-decoy-password";
    static constexpr std::uint8_t kSalt[16] = {'a', 'u', 't', 'h', 'g', 'a', 't', 'e',
                                               'd', 'e', 'c', 'o', 'y', 's', 'l', 't'};
    std::string encoded(256, '\0');
    int rc = argon2_hash(cost.iterations, cost.memory_kib, cost.parallelism, kPassword,
                         sizeof kPassword - 1, kSalt, sizeof kSalt, nullptr, 32, encoded.data(),
                         encoded.size(), Argon2_id, ARGON2_VERSION_13);
    if (rc != ARGON2_OK) return {};
    encoded.resize(encoded.find('\0'));
    return encoded;
}

bool is_argon2id_hash(std::string_view encoded) {
    return encoded.starts_with("$argon2id$v=19$m=") && encoded.size() < 512;
}

Result<UserDb> UserDb::parse(std::string_view text) {
    UserDb db;
    std::size_t line_no = 0;
    while (!text.empty()) {
        ++line_no;
        auto nl = text.find('\n');
        std::string_view line = trim(text.substr(0, nl));
        text = nl == std::string_view::npos ? std::string_view{} : text.substr(nl + 1);
        if (line.empty() || line.front() == '#') continue;

        auto where = "line " + std::to_string(line_no) + ": ";
        auto fields = split(line, ':');
        // A seventh field (roles) is optional: files written before roles still parse.
        if (fields.size() != 6 && fields.size() != 7) {
            return fail(where + "expected 6 or 7 fields " +
                        "\"user:argon2id-hash:email:display name:groups:flags[:roles]\", found " +
                        std::to_string(fields.size()));
        }
        User u;
        u.name = std::string(trim(fields[0]));
        if (!valid_user_name(u.name)) {
            return fail(where + "invalid user name \"" + u.name + "\"");
        }
        u.password_hash = std::string(trim(fields[1]));
        if (!is_argon2id_hash(u.password_hash)) {
            return fail(where + "password of \"" + u.name +
                        "\" is not an argon2id hash (make one with `authgatectl hash-password`)");
        }
        u.email = std::string(trim(fields[2]));
        u.display_name = std::string(trim(fields[3]));
        if (!valid_text(u.email) || !valid_text(u.display_name)) {
            return fail(where + "control characters in email or display name");
        }
        for (auto g : split(trim(fields[4]), ',')) {
            g = trim(g);
            if (g.empty()) continue;
            if (!valid_user_name(g))
                return fail(where + "invalid group \"" + std::string(g) + "\"");
            u.groups.emplace_back(g);
        }
        for (auto f : split(trim(fields[5]), ',')) {
            f = trim(f);
            if (f.empty()) continue;
            if (f == "disabled") {
                u.disabled = true;
            } else {
                return fail(where + "unknown flag \"" + std::string(f) + "\"");
            }
        }
        if (fields.size() == 7) {
            for (auto r : split(trim(fields[6]), ',')) {
                r = trim(r);
                if (r.empty()) continue;
                if (!is_role_name(r)) {
                    return fail(where + "invalid role \"" + std::string(r) + "\"");
                }
                if (std::find(u.roles.begin(), u.roles.end(), r) == u.roles.end()) {
                    u.roles.emplace_back(r);
                }
            }
        }
        if (db.users_.contains(u.name)) {
            return fail(where + "duplicate user \"" + u.name + "\"");
        }
        u.identity = admit_identity(Identity{u.name, u.email, u.display_name, u.groups, u.roles});
        db.users_.emplace(u.name, std::move(u));
    }
    return db;
}

const User* UserDb::find(std::string_view name) const {
    auto it = users_.find(name);
    return it == users_.end() ? nullptr : &it->second;
}

Result<std::string> hash_password(std::string_view password, Random& random, PasswordCost cost) {
    std::uint8_t salt[16];
    random.fill(salt);
    std::string encoded(256, '\0');
    int rc = argon2_hash(cost.iterations, cost.memory_kib, cost.parallelism, password.data(),
                         password.size(), salt, sizeof salt, nullptr, 32, encoded.data(),
                         encoded.size(), Argon2_id, ARGON2_VERSION_13);
    if (rc != ARGON2_OK) return fail(argon2_error_message(rc));
    encoded.resize(encoded.find('\0'));
    return encoded;
}

bool verify_password(const std::string& encoded, const std::string& password) {
    if (!is_argon2id_hash(encoded)) return false;
    return argon2id_verify(encoded.c_str(), password.data(), password.size()) == ARGON2_OK;
}

} // namespace authgate
