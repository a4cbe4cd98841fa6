// Local users from a users file, and argon2id password hashing.
//
// File format, one user per line ('#' comments and blank lines ignored):
//   username:argon2id-hash:email:Display Name:group1,group2:flags[:role1,role2]
// flags is empty or "disabled"; the roles field is optional (six-field lines have none).
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "authgate/ports.h"
#include "authgate/request.h"
#include "authgate/result.h"
#include "authgate/task.h"

namespace authgate {

struct User {
    std::string name;
    std::string password_hash;
    std::string email;
    std::string display_name;
    std::vector<std::string> groups;
    std::vector<std::string> roles; // role names (authgate_role); undefined ones grant nothing
    bool disabled = false;
    // A users-file entry's identity (name, email, display name, groups, roles), built once when
    // the file is read; null for run-time users.
    SharedIdentity identity;
};

class UserDb {
  public:
    // Errors name the line: "line 3: ...".
    static Result<UserDb> parse(std::string_view text);

    const User* find(std::string_view name) const;
    std::size_t size() const { return users_.size(); }
    // A hash with the same cost as the real ones, verified for unknown users so that
    // a wrong name costs the same time as a wrong password.

  private:
    struct NameHash {
        using is_transparent = void;
        std::size_t operator()(std::string_view s) const noexcept {
            return std::hash<std::string_view>{}(s);
        }
    };
    std::unordered_map<std::string, User, NameHash, std::equal_to<>> users_;
};

// Run-time users (store records u:{name}) to and from their fields.
Result<User> user_from_fields(std::string_view name, const Store::Fields& fields);
Store::Fields user_to_fields(const User& user);

struct UserLookup {
    StoreStatus status = StoreStatus::ok;
    std::optional<User> user;
    std::string_view source; // "file" or "store"
};
// The users file first (operator-managed), then run-time users when the store is durable.
Task<UserLookup> find_user(const UserDb* file_users, Store& store, std::string_view name);

struct PasswordCost {
    unsigned memory_kib = 19456; // OWASP recommendation for argon2id
    unsigned iterations = 2;
    unsigned parallelism = 1;
};

bool is_argon2id_hash(std::string_view encoded);
// A valid hash of a password nobody knows, with the given cost (the default cost of
// `authgatectl hash-password`): verified for unknown users. Empty on failure.
std::string decoy_hash(PasswordCost cost = {});
// Encoded argon2id hash (PHC string) with a fresh 16-byte salt.
Result<std::string> hash_password(std::string_view password, Random& random,
                                  PasswordCost cost = {});
// Constant-time verification; false for malformed hashes.
bool verify_password(const std::string& encoded, const std::string& password);

} // namespace authgate
