// BlockingRedis's single connections (internal to clients/hiredis): opening a blocking
// hiredis context with the plan's timeouts, the handshake every new connection makes, one
// command exchange, and asking a sentinel where the master is.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "authgate/redis.h"
#include "authgate/result.h"
#include "authgate/store_plan.h"

struct redisContext;

namespace authgate::hiredis::link {

struct ContextFree {
    void operator()(redisContext* c) const noexcept;
};
using Context = std::unique_ptr<redisContext, ContextFree>;

// Connects within `connect_timeout`, then every read and write waits at most
// `command_timeout` (0: no limit). Failures name the address and hiredis's reason.
Result<Context> open(const config::ServerAddress& address, Millis connect_timeout,
                     Millis command_timeout);

// One command sent and its reply read. No reply: `timed_out` tells a command timeout from a
// broken connection; the context is unusable either way. Two error replies make it unusable
// too: READONLY (`demoted`: the server is no longer the master) and NOAUTH (it wants a
// password the plan does not have); `error` says why.
struct Exchange {
    std::optional<redis::Reply> reply;
    bool timed_out = false;
    bool refused = false;
    bool demoted = false;
    std::string error;
    bool usable() const { return reply.has_value() && !refused; }
};
Exchange exchange(redisContext& c, std::string_view encoded);

// What a new connection says before its first command: AUTH (with the user when set),
// SELECT the db, and with Sentinel ROLE, which must say "master". `demoted` is set when the
// server answered ROLE as a replica. The failure never quotes the password.
Result<void> handshake(redisContext& c, const config::RedisPlan& plan, bool& demoted);

// SENTINEL get-master-addr-by-name, asked of one sentinel.
Result<config::ServerAddress> ask_sentinel(const config::ServerAddress& sentinel,
                                           const config::RedisPlan& plan);

// False when an idle connection has something to read (the server closed it, or sent what
// nobody asked for): it must not carry a command.
bool idle_and_open(redisContext& c) noexcept;

} // namespace authgate::hiredis::link
