// The Redis protocol of the shared store, with no I/O (as hiredis splits its command
// formatting and reply reader from its connections): RESP2 command encoding and reply
// parsing, and RedisStore, the Store written once in Redis terms (commands, Lua scripts,
// reply decoding, and which writes announce an invalidation on which channel). An adapter
// supplies only a Connection that sends encoded commands and hands back the replies
// (nginx: hiredis on the event loop; authgatectl and tests: a blocking socket).
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "authgate/ports.h"

namespace authgate {
class SessionCache;
}

namespace authgate::redis {

// One decoded RESP2 reply.
struct Reply {
    enum class Type : std::uint8_t { string, status, error, integer, nil, array };
    Type type = Type::nil;
    std::int64_t integer = 0;
    std::string str; // string, status or error text
    std::vector<Reply> elements;
    bool is(Type t) const noexcept { return type == t; }
};

// A command as an array of bulk strings (binary safe).
std::string format_command(std::span<const std::string> argv);

// Reply parsing over a caller-owned buffer. Hard limits keep a hostile or broken peer
// from making the reader allocate or recurse without bound.
struct ReplyLimits {
    std::size_t max_bulk = std::size_t{64} * 1024 * 1024;
    std::size_t max_elements = std::size_t{1} << 20;
    std::size_t max_depth = 8;
    std::size_t max_line = std::size_t{64} * 1024; // status, error and length lines
};
enum class Parse { done, partial, error };
// Parses the reply at the front of `in`; on done, `used` is the number of bytes it took.
// partial: more bytes are needed (nothing is kept; call again with the longer buffer).
Parse parse_reply(std::string_view in, Reply& out, std::size_t& used,
                  const ReplyLimits& limits = {});

// Where the store lives in Redis: the key prefix and the channels derived from it.
struct Keyspace {
    std::string prefix;
    // Announces every write to a session record (payload: the store key, no prefix).
    std::string channel() const { return prefix + "invalidate"; }
    // One server's liveness heartbeats for its session caches (payload: send time, ms).
    std::string beat_channel(std::string_view server_id) const {
        return channel() + ":" + std::string(server_id);
    }
};

// The announce rule: writes (set, compare_and_set, del) to these keys publish the key on
// Keyspace::channel() atomically with the write, inside the same Lua script.
bool announces(std::string_view key);

// A message received on a subscribed connection.
struct Message {
    enum class Kind { message, subscribed, pong, other };
    Kind kind = Kind::other;
    std::string_view channel;
    std::string_view payload;
};
Message decode_message(const Reply& reply);
std::string beat_payload(Millis sent_ms);
// The PUBLISH of a beat on `channel`, formatted into `out` (cleared first; its capacity is
// reused, so a beat allocates nothing once the buffer has grown).
void format_beat(std::string_view channel, Millis sent_ms, std::string& out);
std::optional<Millis> parse_beat(std::string_view payload);

// The adapter's half: one connection (or a pipeline slot on one) to Redis.
class Connection {
  public:
    virtual ~Connection() = default;
    // Sends one encoded command; nullopt when no answer came (no connection, timeout,
    // protocol failure). Completes inline or later.
    virtual Task<std::optional<Reply>> call(std::string command) = 0;
    // A session write could not be announced (an ACL user without the channel).
    virtual void not_announced() noexcept {}
};

// The Store over Redis. `cache` (may be null) is this process's session cache: a session
// write drops its entry at once (other processes hear of it from the announcement).
class RedisStore final : public Store {
  public:
    RedisStore(Connection& connection, const Keyspace& keyspace, SessionCache* cache) noexcept
        : conn_(connection), ks_(keyspace), cache_(cache) {}
    std::string_view kind() const noexcept override { return "redis"; }
    bool durable() const noexcept override { return true; }

    Task<StoreReply<std::optional<std::string>>> get(std::string_view key) override;
    Task<StoreReply<bool>> set(std::string_view key, std::string value, Millis ttl_ms) override;
    Task<StoreReply<bool>> set_if_absent(std::string_view key, std::string value,
                                         Millis ttl_ms) override;
    Task<StoreReply<bool>> compare_and_set(std::string_view key, std::string_view expected,
                                           std::string value, Millis ttl_ms) override;
    Task<StoreReply<bool>> del(std::string_view key) override;
    Task<StoreReply<std::int64_t>> incr(std::string_view key, std::int64_t delta,
                                        Millis ttl_ms) override;
    Task<StoreReply<bool>> index_add(std::string_view index, std::string_view member,
                                     Millis expires_at_ms, Millis now_ms) override;
    Task<StoreReply<bool>> index_remove(std::string_view index, std::string_view member) override;
    Task<StoreReply<std::vector<std::string>>> index_members(std::string_view index,
                                                             Millis now_ms) override;
    Task<StoreReply<bool>> hash_set(std::string_view key, Fields fields) override;
    Task<StoreReply<std::optional<Fields>>> hash_get(std::string_view key) override;
    // One Lua script on Redis's clock (TIME): now_ms is not used, so servers whose clocks
    // differ count as one.
    Task<StoreReply<limit::Verdict>> rate_limit(std::string_view key, limit::Rule rule,
                                                Millis now_ms) override;

    struct Call; // one operation in Redis terms (redis_store.cpp)

  private:
    Task<std::optional<Reply>> run(Call call);
    void local_write(std::string_view key);

    Connection& conn_;
    const Keyspace& ks_;
    SessionCache* cache_;
};

} // namespace authgate::redis
