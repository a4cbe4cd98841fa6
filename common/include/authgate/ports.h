// The ports through which the core reaches the outside world. Adapters implement
// them natively (nginx: shared memory, thread pool; later Redis, libcurl); unit
// tests use MemoryStore, a manual clock and inline offloading.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "authgate/limits.h"
#include "authgate/task.h"

namespace authgate {

using Millis = std::int64_t;

enum class StoreStatus { ok, unavailable };

template <class T> struct StoreReply {
    StoreStatus status = StoreStatus::ok;
    T value{};
    bool ok() const noexcept { return status == StoreStatus::ok; }
};

// Key/value store with expiry. Every entry written through it has a TTL.
// Calls may complete inline or later; either way the flow just co_awaits them. Keys are
// views: the caller keeps the key alive until the returned Task completes (co_await the
// call in the same expression).
class Store {
  public:
    virtual ~Store() = default;
    virtual std::string_view kind() const noexcept = 0;
    // Whether entries survive restarts and are shared by every server (Redis), so that
    // durable records such as run-time users can live here.
    virtual bool durable() const noexcept { return false; }

    virtual Task<StoreReply<std::optional<std::string>>> get(std::string_view key) = 0;
    // Whether the entry is live and equals `expected`, answered without waiting (a read, like
    // get); nullopt when this store cannot answer inline. Lets the hot path skip a copy and
    // a decode when a record is unchanged.
    virtual std::optional<bool> equals_now(std::string_view /*key*/,
                                           std::string_view /*expected*/) {
        return std::nullopt;
    }
    // Sets (replacing) the value; ttl_ms > 0.
    virtual Task<StoreReply<bool>> set(std::string_view key, std::string value, Millis ttl_ms) = 0;
    // Sets only when absent; value is true when this call created the entry.
    virtual Task<StoreReply<bool>> set_if_absent(std::string_view key, std::string value,
                                                 Millis ttl_ms) = 0;
    // Replaces the value only while it still equals `expected` (a read-modify-write that
    // loses to any other write or delete meanwhile); value is true when replaced, false
    // when the entry changed or is gone (then nothing was written). ttl_ms > 0.
    virtual Task<StoreReply<bool>> compare_and_set(std::string_view key, std::string_view expected,
                                                   std::string value, Millis ttl_ms) = 0;
    // value is true when an entry was removed.
    virtual Task<StoreReply<bool>> del(std::string_view key) = 0;
    // Atomically adds delta; a new counter starts at 0 and gets ttl_ms. Returns the new value.
    virtual Task<StoreReply<std::int64_t>> incr(std::string_view key, std::int64_t delta,
                                                Millis ttl_ms) = 0;

    // An index: a set of members, each with its own expiry (the per-user session index).
    // The index itself lives until its last member expires.
    virtual Task<StoreReply<bool>> index_add(std::string_view index, std::string_view member,
                                             Millis expires_at_ms, Millis now_ms) = 0;
    virtual Task<StoreReply<bool>> index_remove(std::string_view index,
                                                std::string_view member) = 0;
    // Members not yet expired at now_ms, earliest expiry first.
    virtual Task<StoreReply<std::vector<std::string>>> index_members(std::string_view index,
                                                                     Millis now_ms) = 0;

    // Records of named fields without expiry (run-time users). hash_set merges fields.
    using Fields = std::vector<std::pair<std::string, std::string>>;
    virtual Task<StoreReply<bool>> hash_set(std::string_view key, Fields fields) = 0;
    virtual Task<StoreReply<std::optional<Fields>>> hash_get(std::string_view key) = 0;

    // One GCRA step (limits.h) on the rate limit kept under `key`, atomic across every
    // process, thread and server sharing the store, so counts are exact under concurrency.
    // `now_ms` is the caller's clock; Redis uses its own (TIME) so that servers whose clocks
    // differ count as one. The default runs rate_limit_now when it answers, else a
    // get / compare_and_set loop.
    virtual Task<StoreReply<limit::Verdict>> rate_limit(std::string_view key, limit::Rule rule,
                                                        Millis now_ms);
    // The same step answered without waiting (one critical section of a shared-memory
    // store); nullopt where this store cannot answer inline (Redis).
    virtual std::optional<StoreReply<limit::Verdict>>
    rate_limit_now(std::string_view /*key*/, const limit::Rule& /*rule*/, Millis /*now_ms*/) {
        return std::nullopt;
    }
};

// Outbound HTTP(S) to identity providers (discovery, JWKS, token, userinfo, revocation).
// Adapters run it off the event loop (nginx: thread pool + libcurl); unit tests use a
// fake that answers inline or later. TLS peers are always verified.
struct HttpRequest {
    std::string method = "GET";
    std::string url;
    std::vector<std::pair<std::string, std::string>> headers;
    std::string body;         // sent as is (POST forms: already encoded)
    Millis timeout_ms = 5000; // whole exchange
    std::size_t max_response_bytes = 1 << 20;
    std::string ca_file; // PEM bundle to verify https peers with; empty: the system's
};

struct HttpResponse {
    int status = 0;           // 0: no HTTP answer (see error)
    std::string content_type; // without parameters, lower-case
    std::string body;
    std::string error; // transport failure, for the log (never secrets); empty if answered
    bool ok() const noexcept { return status != 0 && error.empty(); }
};

class HttpClient {
  public:
    virtual ~HttpClient() = default;
    // The request must stay alive until the Task completes.
    virtual Task<HttpResponse> fetch(const HttpRequest& request) = 0;
};

// Wall-clock time in milliseconds since the Unix epoch.
class Clock {
  public:
    virtual ~Clock() = default;
    virtual Millis now_ms() const = 0;
};

// Cryptographically secure randomness; fill() never fails silently (it aborts the
// flow with an exception the adapter's guard turns into a 500).
class Random {
  public:
    virtual ~Random() = default;
    virtual void fill(std::span<std::uint8_t> out) = 0;
};

// Runs CPU-heavy work (password hashing) away from an event loop. The work must only
// touch memory owned by the awaiting coroutine. Resolves to false when the work could
// not be scheduled (it did not run).
class Offloader {
  public:
    virtual ~Offloader() = default;
    virtual Task<bool> run(std::function<void()> work) = 0;
};

// Production randomness: OpenSSL RAND_bytes.
class OpensslRandom final : public Random {
  public:
    void fill(std::span<std::uint8_t> out) override;
};

// Production wall clock.
class SystemClock final : public Clock {
  public:
    Millis now_ms() const override;
};

// Runs the work on the calling thread (unit tests, threaded servers).
class InlineOffloader final : public Offloader {
  public:
    Task<bool> run(std::function<void()> work) override;
};

} // namespace authgate
