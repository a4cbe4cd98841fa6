// Test doubles for the core's ports: an in-memory store, a manual clock, a counting
// random source, and cmocka glue for C++.
#pragma once

#include <csetjmp>
#include <cstdarg>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <iostream>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "authgate/gate.h"
#include "authgate/ports.h"
#include "authgate/result.h"
#include "support/completions.h"

extern "C" {
#include <cmocka.h>
}
// cmocka's fail() macro would shadow authgate::fail(); tests use fail_msg().
#undef fail
#undef fail_msg
#define fail_msg(msg, ...)                                                                         \
    do {                                                                                           \
        print_error("ERROR: " msg "\n", ##__VA_ARGS__);                                            \
        _fail(__FILE__, __LINE__);                                                                 \
    } while (0)

namespace authgate::testing {

class ManualClock final : public Clock {
  public:
    explicit ManualClock(Millis start = 1'700'000'000'000) : now_(start) {}
    Millis now_ms() const override { return now_; }
    void advance(Millis ms) { now_ += ms; }

  private:
    Millis now_;
};

// Answers outbound HTTP from scripted routes (exact URL match), inline or deferred (see
// Completions); records every request when it is made. Unknown URLs answer as an
// unreachable host.
class FakeHttpClient final : public HttpClient {
  public:
    struct Route {
        int status = 200;
        std::string content_type = "application/json";
        std::string body;
    };
    std::map<std::string, Route> routes;
    std::vector<HttpRequest> requests;

    Task<HttpResponse> fetch(const HttpRequest& request) override {
        requests.push_back(request);
        co_await completions().next();
        HttpResponse out;
        auto it = routes.find(request.url);
        if (it == routes.end()) {
            out.error = "could not connect";
        } else {
            out.status = it->second.status;
            out.content_type = it->second.content_type;
            out.body = it->second.body;
        }
        co_return out;
    }
};

// Expiry follows the manual clock; `down` simulates an unreachable store. Each call
// completes inline or deferred (see Completions).
class MemoryStore final : public Store {
  public:
    explicit MemoryStore(const Clock& clock) : clock_(clock) {}
    std::string_view kind() const noexcept override { return "memory"; }
    bool durable() const noexcept override { return durable_; }
    bool down = false;
    bool durable_ = false;
    // Index writes to keys starting with this fail (empty: none do).
    std::string failing_index_prefix;

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
    // Answered inline, like a shared-memory store (so rate_limit never takes the CAS loop):
    // the step on the caller's now_ms, the entry's expiry on the manual clock.
    std::optional<StoreReply<limit::Verdict>>
    rate_limit_now(std::string_view key, const limit::Rule& rule, Millis now_ms) override;

    std::size_t size() const;
    const std::map<std::string, std::pair<std::string, Millis>>& entries() const { return data_; }

  private:
    void expire();
    StoreReply<bool> update_index(std::string_view index, std::string_view member,
                                  Millis expires_at_ms, bool remove, Millis now_ms);
    const Clock& clock_;
    std::map<std::string, std::pair<std::string, Millis>> data_;
};

// Deterministic "randomness" for tests that must not depend on luck.
class CountingRandom final : public Random {
  public:
    void fill(std::span<std::uint8_t> out) override {
        for (auto& b : out) b = static_cast<std::uint8_t>(++counter_ * 37 + 11);
    }

  private:
    std::uint64_t counter_ = 0;
};

// Runs a Task to its end: inline, or draining this thread's deferred calls.
template <class T> T run(Task<T> task) {
    task.start();
    while (!task.done() && completions().step()) {}
    assert_true(task.done());
    return task.result();
}

std::string test_key_file();
std::string sv_to_string(std::string_view s);

} // namespace authgate::testing
