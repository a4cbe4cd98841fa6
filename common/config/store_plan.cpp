// Store selection (shared memory or Redis) and the Redis endpoint: Sentinel addresses, host
// resolution through the adapter's resolver, the password file.
#include "authgate/store_plan.h"

namespace authgate::config {

namespace {

Result<ServerAddress> resolved(const Resolver& resolve, const std::string& host, int port) {
    auto ip = resolve(host, port);
    if (!ip) return fail(ip.error());
    return ServerAddress{std::move(*ip), port, {}};
}

// The secret on the file's first line (trailing line breaks dropped).
Result<std::string> read_password(const FileReader& read, const std::string& path) {
    auto text = read(path);
    if (!text) return fail("password_file " + text.error());
    std::string pw = std::move(*text);
    while (!pw.empty() && (pw.back() == '\n' || pw.back() == '\r')) pw.pop_back();
    if (pw.empty()) return fail("password_file \"" + path + "\" is empty");
    return pw;
}

Result<RedisPlan> plan_redis(const Settings& settings, const Resolver& resolve,
                             const FileReader& read) {
    const RedisSettings& s = *settings.redis;
    auto at = [&](std::string_view directive, const std::string& message) {
        return fail(std::string(directive) + " " + message + origin_of(settings, directive));
    };
    RedisPlan ep;
    ep.db = s.db;
    ep.user = s.user;
    ep.prefix = s.prefix;
    ep.connect_timeout = s.connect_timeout;
    ep.command_timeout = s.command_timeout;
    ep.session_cache = s.session_cache;
    ep.master_name = s.master_name;
    if (!s.master_name.empty()) {
        if (!settings.redis_sentinels) {
            return at("authgate_redis",
                      "\"sentinel:" + s.master_name + "\" needs authgate_redis_sentinels");
        }
        for (const auto& hp : *settings.redis_sentinels) { // host:port, checked when parsed
            auto colon = hp.rfind(':');
            auto a = resolved(resolve, hp.substr(0, colon), std::stoi(hp.substr(colon + 1)));
            if (!a) return at("authgate_redis_sentinels", a.error());
            ep.sentinels.push_back(std::move(*a));
        }
        ep.display = "sentinel master " + s.master_name;
    } else if (!s.unix_path.empty()) {
        ep.address.unix_path = s.unix_path;
        ep.display = ep.address.display();
    } else {
        auto a = resolved(resolve, s.host, s.port);
        if (!a) return at("authgate_redis", a.error());
        ep.address = std::move(*a);
        ep.display = ep.address.display();
    }
    if (!s.password_file.empty()) {
        auto pw = read_password(read, s.password_file);
        if (!pw) return at("authgate_redis", pw.error());
        ep.password = std::move(*pw);
    }
    return ep;
}

} // namespace

std::string ServerAddress::display() const {
    return unix_path.empty() ? ip + ":" + std::to_string(port) : "unix:" + unix_path;
}

Result<StorePlan> plan_store(const Settings& main, const Resolver& resolve,
                             const FileReader& read) {
    StorePlan plan;
    if (main.redis) {
        if (main.shm_zone) {
            return fail("authgate_redis and authgate_shm_zone are exclusive" +
                        origin_of(main, "authgate_redis"));
        }
        auto redis = plan_redis(main, resolve, read);
        if (!redis) return fail(redis.error());
        plan.kind = StorePlan::Kind::redis;
        plan.redis = std::move(*redis);
        return plan;
    }
    Settings with_default = main;
    apply_defaults(with_default); // the zone authgate_shm_zone's default names
    plan.zone = *with_default.shm_zone;
    plan.zone_origin = origin_of(main, "authgate_shm_zone");
    return plan;
}

} // namespace authgate::config
