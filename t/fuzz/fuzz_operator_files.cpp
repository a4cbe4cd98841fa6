// Fuzz target: the key file, users file and page template parsers.
#include "fuzz.h"

#include "authgate/keys.h"
#include "authgate/templates.h"
#include "authgate/users.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    std::string_view text = as_view(data, size);
    auto keys = authgate::KeyRing::parse(text);
    if (keys) {
        (void)keys->open(text, "ctx"); // sealed-value parsing with a real ring
    }
    // Users files hash a decoy with the cost of the first user: keep inputs from asking for
    // absurd costs (the operator controls this file).
    if (text.find("$m=") == std::string_view::npos) (void)authgate::UserDb::parse(text);
    auto t = authgate::Template::parse(text, {"a", "b", "csrf"});
    if (t) t->render({{"a", "<x>"}, {"b", ""}});
    return 0;
}
