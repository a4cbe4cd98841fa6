// A per-thread memo of the session records this thread last decoded, by store key. A
// store that can compare an entry inline (shared memory) is still read on every request:
// the memo only answers "what does this exact record decode to", so a record that was
// ended or changed (logout, revocation, touch) is never served from it.
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "authgate/request.h"
#include "authgate/session.h"

namespace authgate {

class UserDb; // the users file (users/), held here, never looked into
struct User;

struct DecodedRecord {
    std::string store_key;
    std::string record;      // the bytes `session` was decoded from
    Session session;         // as decoded (the users file not applied)
    SharedIdentity identity; // the session's own identity fields, shared with decisions
    // The users file this entry's user was last looked up in, and what it held for them
    // (held, so the file's entries outlive the pointer).
    std::shared_ptr<const UserDb> users;
    const User* in_file = nullptr;
};

// The memo for store_key, or null; valid until the next remember_decoded on this thread.
DecodedRecord* find_decoded(std::string_view store_key);
void remember_decoded(std::string_view store_key, std::string_view record, const Session& s);

} // namespace authgate
