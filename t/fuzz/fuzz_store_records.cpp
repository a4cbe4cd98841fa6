// Fuzz target: the index and field records kept as single values (shm store), and base64.
#include "fuzz.h"

#include "authgate/crypto.h"
#include "authgate/store_keys.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    std::string_view in = as_view(data, size);
    authgate::IndexEntries entries;
    if (authgate::decode_index(in, entries)) {
        auto update = authgate::update_index_record(in, "s:x", 100, false, 50);
        authgate::IndexEntries back;
        if (update.outcome == authgate::IndexUpdate::Outcome::write &&
            !authgate::decode_index(update.value, back)) {
            __builtin_trap();
        }
    }
    authgate::Store::Fields f;
    if (authgate::decode_fields(in, f)) authgate::merge_fields(f, {{"a", "b"}});
    if (auto raw = authgate::crypto::base64url_decode(in)) {
        if (authgate::crypto::base64url_encode(authgate::crypto::bytes(*raw)) != in) {
            __builtin_trap(); // only canonical encodings decode
        }
    }
    authgate::user_sessions_key(in);
    return 0;
}
