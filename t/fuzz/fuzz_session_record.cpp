// Fuzz target: the session record decoder (store contents are not trusted blindly).
#include "fuzz.h"

#include "authgate/session.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    auto s = authgate::decode_session(as_view(data, size));
    if (s) {
        // What decodes must re-encode to something that decodes the same.
        auto again = authgate::decode_session(authgate::encode_session(*s));
        if (!again || again->user != s->user || again->groups != s->groups) __builtin_trap();
    }
    return 0;
}
