// BlockingRedis: the Redis connection of adapters whose request threads may block (Apache
// httpd's worker threads) and of authgatectl. A per-process pool of at most N blocking
// hiredis connections that any number of threads share: a call borrows one, sends the
// encoded command, waits for the reply (at most the command timeout) and returns it, so a
// Task from call() has completed when it first suspends and run_inline / RedisStore work on
// the calling thread. Every address was resolved at configuration time (config::RedisPlan).
//
// - A new connection authenticates (AUTH, with the ACL user when set), selects the db and,
//   with Sentinel, checks with ROLE that it reached the master.
// - A connection whose command failed (I/O error, timeout, a READONLY or NOAUTH reply) is
//   closed, never reused; an idle one the server has closed (a restart) is dropped before
//   use. A command is never sent twice.
// - After a failed connect or command, calls fail at once (nullopt) for a backoff period
//   (kFirstBackoff, doubling per failed retry up to kMaxBackoff); then one call at a time
//   tries again and its success ends the backoff.
// - Sentinel: the master is asked of each sentinel in turn (SENTINEL
//   get-master-addr-by-name), and asked again after a failed connect or a READONLY reply.
// hiredis writes with write(2): the process must ignore SIGPIPE (httpd does).
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "authgate/redis.h"
#include "authgate/store_plan.h"

namespace authgate::hiredis {

inline constexpr Millis kFirstBackoff = 100;
inline constexpr Millis kMaxBackoff = 2000;

class BlockingRedis final : public redis::Connection {
  public:
    // For logs and health endpoints; never holds a secret.
    struct Health {
        bool available = true;       // false from a failed connect or command until a retry works
        std::string last_error;      // the latest failure, kept after recovery; "" if none yet
        std::string server;          // the server last connected to (Sentinel: the master found)
        Millis retry_in_ms = 0;      // while unavailable: time left before the next attempt
        std::size_t connections = 0; // open now, idle or in use (at most max_connections)
        std::size_t max_connections = 0;
        std::uint64_t failures = 0;         // failed connects and commands so far
        std::uint64_t connect_attempts = 0; // new connections tried (to a server, not sentinels)
        std::uint64_t busy = 0;             // calls that found every connection in use for a whole
                                            // command timeout (they failed without trying Redis)
    };
    // Told of every change of availability (the failure that made Redis unavailable, its
    // return), once per change, on the thread whose call changed it, outside any lock.
    using StateLog = std::function<void(const Health&)>;

    // At most `max_connections` (at least 1) open at once; a call that finds all of them in
    // use waits for one up to the command timeout. Connects lazily, on the first call.
    BlockingRedis(config::RedisPlan plan, std::size_t max_connections, StateLog on_change = {});
    // No call may be in flight.
    ~BlockingRedis() override;
    BlockingRedis(const BlockingRedis&) = delete;
    BlockingRedis& operator=(const BlockingRedis&) = delete;

    // The prefix and channels for a redis::RedisStore over this connection.
    const redis::Keyspace& keyspace() const noexcept;
    // "127.0.0.1:6379" or "sentinel master NAME", for logs.
    const std::string& display() const noexcept;
    // Where and how to connect (timeouts, credentials), as resolved at configuration time.
    const config::RedisPlan& plan() const noexcept;

    // redis::Connection: completes inline; nullopt when no reply came (unavailable,
    // backing off, timed out, every connection busy).
    Task<std::optional<redis::Reply>> call(std::string command) override;
    void not_announced() noexcept override;
    // False once a session write could not be announced (ACL without the channel).
    bool all_announced() const noexcept;

    // The same without a Task: an encoded command (redis::format_command), or its words.
    std::optional<redis::Reply> execute(std::string_view encoded);
    std::optional<redis::Reply> command(std::span<const std::string> argv);

    Health health() const;

    // The server to connect to: the plan's, or with Sentinel the master the sentinels report
    // (asked once, then again after forget_master, a failed connect or a READONLY reply).
    // For connections of the same process outside the pool (the session cache's subscriber).
    Result<config::ServerAddress> master_address();
    // That master failed over (a connection found it demoted): ask the sentinels again.
    void forget_master();

  private:
    struct State;
    struct Slot;
    std::optional<Slot> borrow();
    std::optional<Slot> open_slot(bool probe);
    Result<Slot> connect_new();
    void give_back(Slot slot, bool answered, bool demoted, const std::string& error);
    void tell(const std::optional<Health>& change) const noexcept;

    std::unique_ptr<State> state_;
};

} // namespace authgate::hiredis
