// The store's key schema (every backend; Redis adds its configured prefix).
//   s:<base64url(sha256(session id))>   session record; TTL = until idle or absolute expiry
//   u:{<user>}:sessions                 index of a user's session keys, member expiry =
//                                       session's absolute expiry; lives as long as the last
//   u:{<user>}                          run-time user record (hash, no TTL): password
//                                       (argon2id), email, name, groups (comma list),
//                                       disabled ("1" when disabled)
//   invalidate (pub/sub channel)        Redis only: announces every write to an s: key
//                                       (payload: the key) to the workers' session caches
// User names are percent-encoded inside the braces, which are the Redis Cluster hash tag:
// all of one user's keys share a slot.
#pragma once

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

// Hash records for stores that keep a record as one value (shared memory, tests).
std::string encode_fields(const Store::Fields& fields);
bool decode_fields(std::string_view data, Store::Fields& out);
// Merges `update` into `fields` (same name: replaced).
void merge_fields(Store::Fields& fields, Store::Fields update);

// Index values for stores that keep an index as one record (shared memory, tests):
// members with their expiry, compact and versioned.
using IndexEntries = std::vector<std::pair<Millis, std::string>>;
std::string encode_index(const IndexEntries& entries);
bool decode_index(std::string_view data, IndexEntries& out);
// Applies add/remove and drops members expired at now; returns the latest expiry left
// (0 when the index is empty).
Millis index_apply(IndexEntries& entries, std::string_view member, Millis expires_at_ms,
                   bool remove, Millis now_ms);

} // namespace authgate
