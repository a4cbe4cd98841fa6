// authgate_redis arguments: the address, then the key=value options of kRedisOptions (the
// only place their defaults are written).
#include "authgate/config.h"
#include "config/values.h"

#include <array>
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

using Applied = Result<void>;

Applied db(RedisSettings& r, std::string_view, std::string_view v) {
    if (!parse_int(v, 0, 1023, r.db)) return fail("invalid db " + quoted(v));
    return {};
}

Applied user(RedisSettings& r, std::string_view, std::string_view v) {
    if (!is_token(v)) return fail("invalid user " + quoted(v));
    r.user = std::string(v);
    return {};
}

Applied password_file(RedisSettings& r, std::string_view, std::string_view v) {
    if (v.empty()) return fail("empty password_file");
    r.password_file = std::string(v);
    return {};
}

Applied prefix(RedisSettings& r, std::string_view, std::string_view v) {
    if (v.size() > 64 || v.find_first_of(" {}") != std::string_view::npos) {
        return fail("invalid prefix " + quoted(v));
    }
    r.prefix = std::string(v);
    return {};
}

template <Millis RedisSettings::*Member>
Applied timeout(RedisSettings& r, std::string_view, std::string_view v) {
    auto d = parse_duration(v);
    if (!d) return fail(d.error());
    r.*Member = *d;
    return {};
}

Applied session_cache(RedisSettings& r, std::string_view, std::string_view v) {
    if (v == "off") {
        r.session_cache = 0;
        return {};
    }
    auto d = parse_duration(v);
    if (!d) return fail("session_cache: " + d.error());
    if (*d < 1 || *d > 60'000)
        return fail("session_cache " + quoted(v) + " must be off or 1ms..60s");
    r.session_cache = *d;
    return {};
}

constexpr std::array kRedisOptions = {
    RedisOption{"db", "0", "database number (0 to 1023)", &db},
    RedisOption{"user", "", "ACL user (default: Redis's default user)", &user},
    RedisOption{"password_file", "", "file whose first line is the password", &password_file},
    RedisOption{"prefix", "authgate:", "prefix of every key (at most 64 bytes)", &prefix},
    RedisOption{"connect_timeout", "1s", "connection attempts",
                &timeout<&RedisSettings::connect_timeout>},
    RedisOption{"command_timeout", "500ms", "each command; a stuck connection is dropped",
                &timeout<&RedisSettings::command_timeout>},
    RedisOption{"session_cache", "1s",
                "max age of a per-worker cached session lookup, invalidated over pub/sub "
                "(1ms to 60s, or off)",
                &session_cache},
};

const RedisOption* find_option(std::string_view name) {
    for (const auto& o : kRedisOptions) {
        if (o.name == name) return &o;
    }
    return nullptr;
}

Applied address(RedisSettings& r, std::string_view address) {
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
    return {};
}

} // namespace

std::span<const RedisOption> redis_options() { return kRedisOptions; }

Result<RedisSettings> parse_redis(Args args) {
    RedisSettings r;
    for (const auto& o : kRedisOptions) {
        if (!o.default_value.empty())
            (void)o.apply(r, o.name, o.default_value); // checked by a test
    }
    if (auto a = address(r, args[0]); !a) return fail(a.error());
    for (std::size_t i = 1; i < args.size(); ++i) {
        std::string_view a = args[i];
        auto eq = a.find('=');
        if (eq == std::string_view::npos) return fail("invalid parameter " + quoted(a));
        std::string_view key = a.substr(0, eq), value = a.substr(eq + 1);
        const RedisOption* o = find_option(key);
        if (o == nullptr) return fail("unknown parameter " + quoted(key));
        if (auto applied = o->apply(r, key, value); !applied) return fail(applied.error());
    }
    return r;
}

} // namespace authgate::config
