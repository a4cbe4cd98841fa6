// The store's key schema (every backend; Redis adds its configured prefix).
//   s:<base64url(sha256(session id))>   session record; TTL = until idle or absolute expiry
//   u:{<user>}:sessions                 index of a user's session keys, member expiry =
//                                       session's absolute expiry; lives as long as the last
//   u:{<user>}                          run-time user record (hash, no TTL): password
//                                       (argon2id), email, name, groups (comma list),
//                                       roles (comma list of role names), disabled ("1"
//                                       when disabled)
//   o:{<provider>}:sid:<sid>            index of the sessions of one IdP session (back-channel
//   o:{<provider>}:sub:<sub>            logout), and of one IdP subject (sid/sub encoded)
//   r:<zone>:<key>                      rate limit: the TAT (limits.h), decimal microseconds;
//                                       TTL = until the full burst is back (reset). Redis
//                                       keeps it on its own clock (TIME)
//   invalidate (pub/sub channel)        Redis only: announces every write to an s: key
//                                       (payload: the key) to the workers' session caches
// User names are percent-encoded inside the braces, which are the Redis Cluster hash tag:
// all of one user's keys share a slot.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "authgate/ports.h"

namespace authgate {

std::string user_sessions_key(std::string_view user);
// Whether a key is a session record ("s:..."), whose writes are announced to caches.
inline bool is_session_key(std::string_view key) { return key.starts_with("s:"); }
std::string user_record_key(std::string_view user);
// The back-channel logout indexes: sessions by the IdP's sid and by its sub.
std::string sid_index_key(std::string_view provider, std::string_view sid);
std::string sub_index_key(std::string_view provider, std::string_view sub);

// Stores that keep a hash record or an index as one value (shared memory, tests) compute
// the new value first and replace the old one only when the update succeeded: a refused
// update leaves the record as it was.
inline constexpr std::size_t kMaxRecordBytes = std::size_t{1024} * 1024;
// An index never forgets a live member to make room: adding to a full one is refused
// (the caller then ends the session it could not index).
inline constexpr std::size_t kMaxIndexMembers = 4096;

// Hash records: fields in one value.
std::string encode_fields(const Store::Fields& fields);
bool decode_fields(std::string_view data, Store::Fields& out);
// Merges `update` into `fields` (same name: replaced).
void merge_fields(Store::Fields& fields, Store::Fields update);
// The record after merging `update` into `current` (absent: a new record); nullopt when
// it would exceed kMaxRecordBytes.
std::optional<std::string> merged_record(std::optional<std::string_view> current,
                                         Store::Fields update);

// Indexes: members with their expiry, compact and versioned.
using IndexEntries = std::vector<std::pair<Millis, std::string>>;
std::string encode_index(const IndexEntries& entries);
bool decode_index(std::string_view data, IndexEntries& out);
// Members by expiry, earliest first.
void sort_index(IndexEntries& entries);

struct IndexUpdate {
    enum class Outcome {
        write, // store `value` until `expires_ms` (the latest member's expiry)
        erase, // the index is empty now: remove its record
        full,  // refused: kMaxIndexMembers or kMaxRecordBytes; the record stays as it was
    };
    Outcome outcome = Outcome::erase;
    std::string value;
    Millis expires_ms = 0;
};
// Adds (or, remove=true, removes) a member of the index held in `current` and drops
// members expired at now.
IndexUpdate update_index_record(std::optional<std::string_view> current, std::string_view member,
                                Millis expires_at_ms, bool remove, Millis now_ms);

} // namespace authgate
