// Which store a configuration uses and, for Redis, where it is: every host name resolved and
// the password read, decided once at configuration time (nothing is resolved at run time).
#pragma once

#include <string>
#include <vector>

#include "authgate/config.h"

namespace authgate::config {

struct ServerAddress {
    std::string ip; // numeric address, or empty for a unix socket
    int port = 6379;
    std::string unix_path;
    std::string display() const; // "10.0.0.5:6379" or "unix:/path"
};

// Turns a host name into a numeric address (the adapter's resolver: configuration time may
// block); a message on failure.
using Resolver = std::function<Result<std::string>(const std::string& host, int port)>;

struct RedisPlan {
    ServerAddress address; // the server, unless the master comes from sentinels
    std::string master_name;
    std::vector<ServerAddress> sentinels;
    int db = 0;
    std::string user;
    std::string password;
    std::string prefix;
    Millis connect_timeout = 0;
    Millis command_timeout = 0;
    Millis session_cache = 0; // max age of a cached session lookup; 0: no cache
    std::string display;      // "127.0.0.1:6379" or "sentinel master mymaster" for logs
};

struct StorePlan {
    enum class Kind { shm, redis };
    Kind kind = Kind::shm;
    ShmZone zone;            // shm: the zone (authgate_shm_zone or its default)
    std::string zone_origin; // " in FILE:LINE" of authgate_shm_zone, or ""
    RedisPlan redis;         // redis
};

// From the main context's (unmerged) settings; errors name the directive at fault and its place.
Result<StorePlan> plan_store(const Settings& main, const Resolver& resolve, const FileReader& read);

} // namespace authgate::config
