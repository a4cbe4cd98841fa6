#include "sync_redis_store.h"

#include <netdb.h>
#include <sys/socket.h>

#include <fstream>
#include <sstream>
#include <vector>

#include "authgate/store_plan.h"

namespace authgate::tools {

namespace {

// getaddrinfo, as nginx's resolver does at configuration time: the first address, numeric.
Result<std::string> resolve(const std::string& host, int port) {
    addrinfo hints{};
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    addrinfo* found = nullptr;
    std::string service = std::to_string(port);
    int rc = getaddrinfo(host.c_str(), service.c_str(), &hints, &found);
    if (rc != 0 || found == nullptr) {
        return fail("cannot resolve \"" + host + ":" + service + "\": " + gai_strerror(rc));
    }
    char text[NI_MAXHOST];
    rc = getnameinfo(found->ai_addr, found->ai_addrlen, text, sizeof text, nullptr, 0,
                     NI_NUMERICHOST);
    freeaddrinfo(found);
    if (rc != 0) return fail("cannot resolve \"" + host + ":" + service + "\"");
    return std::string(text);
}

Result<std::string> read_file(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) return fail("cannot read \"" + path + "\"");
    std::ostringstream text;
    text << in.rdbuf();
    return text.str();
}

// "a:1,b:2" into the words of authgate_redis_sentinels.
std::vector<std::string_view> split_commas(std::string_view list) {
    std::vector<std::string_view> out;
    while (!list.empty()) {
        auto comma = list.find(',');
        out.push_back(list.substr(0, comma));
        if (comma == std::string_view::npos) break;
        list.remove_prefix(comma + 1);
    }
    return out;
}

} // namespace

Result<config::Settings> redis_arguments(std::span<const std::string_view> args) {
    std::vector<std::string_view> redis_args;
    std::vector<std::string_view> sentinels;
    for (std::string_view a : args) {
        if (a.starts_with("sentinels=")) {
            sentinels = split_commas(a.substr(10));
        } else {
            redis_args.push_back(a);
        }
    }
    config::Settings settings;
    if (redis_args.empty()) return fail("no address");
    if (auto r = config::find_directive("authgate_redis")->apply(settings, redis_args); !r) {
        return fail(r.error());
    }
    if (!settings.redis->master_name.empty() && sentinels.empty()) {
        return fail("sentinel:" + settings.redis->master_name + " needs sentinels=HOST:PORT[,...]");
    }
    if (!sentinels.empty()) {
        auto s = config::find_directive("authgate_redis_sentinels")->apply(settings, sentinels);
        if (!s) return fail("sentinels: " + s.error());
    }
    return settings;
}

Result<std::unique_ptr<SyncRedisStore>> SyncRedisStore::connect(const config::Settings& settings) {
    auto plan = config::plan_store(settings, resolve, read_file);
    if (!plan) return fail(plan.error());
    std::unique_ptr<SyncRedisStore> store(new SyncRedisStore(std::move(plan->redis)));
    auto pong = store->redis_.command(std::vector<std::string>{"PING"});
    if (!pong) return fail("cannot connect to redis: " + store->redis_.health().last_error);
    if (pong->is(redis::Reply::Type::error)) return fail("redis refused PING: " + pong->str);
    return store;
}

} // namespace authgate::tools
