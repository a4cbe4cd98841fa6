// authgate_redis arguments.
#include "authgate/config.h"
#include "config/values.h"

#include <charconv>

namespace authgate::config {

namespace {

bool parse_int(std::string_view text, int lo, int hi, int& out) {
    int v = 0;
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
    if (ec != std::errc{} || end != text.data() + text.size() || v < lo || v > hi) return false;
    out = v;
    return true;
}

} // namespace

Result<RedisSettings> parse_redis(Args args) {
    RedisSettings r;
    std::string_view address = args[0];
    if (address.starts_with("sentinel:")) {
        r.master_name = std::string(address.substr(9));
        if (r.master_name.empty() || !is_token(r.master_name)) {
            return fail("invalid address " + quoted(address) + ", expected sentinel:<master name>");
        }
    } else if (address.starts_with("unix:")) {
        r.unix_path = std::string(address.substr(5));
        if (r.unix_path.empty() || r.unix_path.front() != '/') {
            return fail("invalid address " + quoted(address) + ", expected unix:/absolute/path");
        }
    } else {
        std::string_view host = address;
        auto colon = address.rfind(':');
        if (colon != std::string_view::npos && address.find(']') == std::string_view::npos) {
            host = address.substr(0, colon);
            if (!parse_int(address.substr(colon + 1), 1, 65535, r.port)) {
                return fail("invalid port in " + quoted(address));
            }
        }
        if (host.empty() || !is_domain(host)) {
            return fail("invalid address " + quoted(address) +
                        ", expected host:port or unix:/path");
        }
        r.host = std::string(host);
    }
    for (std::size_t i = 1; i < args.size(); ++i) {
        std::string_view a = args[i];
        auto eq = a.find('=');
        if (eq == std::string_view::npos) return fail("invalid parameter " + quoted(a));
        std::string_view key = a.substr(0, eq), value = a.substr(eq + 1);
        if (key == "db") {
            if (!parse_int(value, 0, 1023, r.db)) return fail("invalid db " + quoted(value));
        } else if (key == "user") {
            if (!is_token(value)) return fail("invalid user " + quoted(value));
            r.user = std::string(value);
        } else if (key == "password_file") {
            if (value.empty()) return fail("empty password_file");
            r.password_file = std::string(value);
        } else if (key == "prefix") {
            if (value.size() > 64 || value.find_first_of(" {}") != std::string_view::npos) {
                return fail("invalid prefix " + quoted(value));
            }
            r.prefix = std::string(value);
        } else if (key == "connect_timeout" || key == "command_timeout") {
            auto d = parse_duration(value);
            if (!d) return fail(d.error());
            (key == "connect_timeout" ? r.connect_timeout : r.command_timeout) = *d;
        } else if (key == "session_cache") {
            if (value == "off") {
                r.session_cache = 0;
                continue;
            }
            auto d = parse_duration(value);
            if (!d) return fail("session_cache: " + d.error());
            if (*d < 1 || *d > 60'000) {
                return fail("session_cache " + quoted(value) + " must be off or 1ms..60s");
            }
            r.session_cache = *d;
        } else {
            return fail("unknown parameter " + quoted(key));
        }
    }
    return r;
}

} // namespace authgate::config
