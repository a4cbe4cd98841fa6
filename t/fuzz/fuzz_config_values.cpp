// Fuzz target: directive arguments (durations, sizes, redis settings, every directive).
#include "fuzz.h"

#include "authgate/config.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    auto args = fields(data, size);
    (void)authgate::config::parse_duration(args[0]);
    (void)authgate::config::parse_size(args[0]);
    (void)authgate::config::parse_redis(args);
    for (const auto& d : authgate::config::directives()) {
        if (args.size() < d.min_args || args.size() > d.max_args) continue;
        authgate::config::Settings s;
        (void)d.apply(s, args);
    }
    return 0;
}
