// Ports that complete later, when the test says so: interleavings of flows that await
// the store or an IdP (a logout between a read and its conditional write, ...).
#pragma once

#include <coroutine>
#include <deque>
#include <set>
#include <string>

#include "authgate/ports.h"

namespace authgate::testing {

// Suspended operations, resumed one at a time in arrival order.
class Holds {
  public:
    struct Awaiter {
        Holds* holds;
        bool held;
        bool await_ready() const noexcept { return !held; }
        void await_suspend(std::coroutine_handle<> h) { holds->waiting_.push_back(h); }
        void await_resume() const noexcept {}
    };
    Awaiter hold(bool held) { return Awaiter{this, held}; }
    std::size_t waiting() const { return waiting_.size(); }
    // Resumes the oldest suspended operation (it runs until it suspends again or ends).
    void release() {
        auto h = waiting_.front();
        waiting_.pop_front();
        h.resume();
    }

  private:
    std::deque<std::coroutine_handle<>> waiting_;
};

// Forwards to `inner`; operations named in `held` ("get", "compare_and_set", ...) wait
// for release() before they run.
class DeferredStore final : public Store {
  public:
    explicit DeferredStore(Store& inner) : inner_(inner) {}
    std::set<std::string> held;
    Holds holds;

    std::string_view kind() const noexcept override { return inner_.kind(); }
    bool durable() const noexcept override { return inner_.durable(); }
    Task<StoreReply<std::optional<std::string>>> get(std::string_view key) override {
        co_await holds.hold(held.contains("get"));
        co_return co_await inner_.get(key);
    }
    Task<StoreReply<bool>> set(std::string_view key, std::string value, Millis ttl) override {
        co_await holds.hold(held.contains("set"));
        co_return co_await inner_.set(key, std::move(value), ttl);
    }
    Task<StoreReply<bool>> set_if_absent(std::string_view key, std::string value,
                                         Millis ttl) override {
        co_await holds.hold(held.contains("set_if_absent"));
        co_return co_await inner_.set_if_absent(key, std::move(value), ttl);
    }
    Task<StoreReply<bool>> compare_and_set(std::string_view key, std::string_view expected,
                                           std::string value, Millis ttl) override {
        co_await holds.hold(held.contains("compare_and_set"));
        co_return co_await inner_.compare_and_set(key, expected, std::move(value), ttl);
    }
    Task<StoreReply<bool>> del(std::string_view key) override {
        co_await holds.hold(held.contains("del"));
        co_return co_await inner_.del(key);
    }
    Task<StoreReply<std::int64_t>> incr(std::string_view key, std::int64_t delta,
                                        Millis ttl) override {
        co_await holds.hold(held.contains("incr"));
        co_return co_await inner_.incr(key, delta, ttl);
    }
    Task<StoreReply<bool>> index_add(std::string_view index, std::string_view member,
                                     Millis expires_at_ms, Millis now_ms) override {
        co_await holds.hold(held.contains("index_add"));
        co_return co_await inner_.index_add(index, member, expires_at_ms, now_ms);
    }
    Task<StoreReply<bool>> index_remove(std::string_view index, std::string_view member) override {
        co_await holds.hold(held.contains("index_remove"));
        co_return co_await inner_.index_remove(index, member);
    }
    Task<StoreReply<std::vector<std::string>>> index_members(std::string_view index,
                                                             Millis now_ms) override {
        co_await holds.hold(held.contains("index_members"));
        co_return co_await inner_.index_members(index, now_ms);
    }
    Task<StoreReply<bool>> hash_set(std::string_view key, Fields fields) override {
        co_await holds.hold(held.contains("hash_set"));
        co_return co_await inner_.hash_set(key, std::move(fields));
    }
    Task<StoreReply<std::optional<Fields>>> hash_get(std::string_view key) override {
        co_await holds.hold(held.contains("hash_get"));
        co_return co_await inner_.hash_get(key);
    }

  private:
    Store& inner_;
};

// Forwards to `inner`; while `held` is true each fetch waits for release().
// release_until() lets the held fetches go until one to a URL ending in `suffix` waits.
class DeferredHttp final : public HttpClient {
  public:
    explicit DeferredHttp(HttpClient& inner) : inner_(inner) {}
    bool held = false;
    Holds holds;
    std::string last_held_url;
    Task<HttpResponse> fetch(const HttpRequest& request) override {
        if (held) last_held_url = request.url;
        co_await holds.hold(held);
        co_return co_await inner_.fetch(request);
    }

    void release_until(std::string_view suffix) {
        while (holds.waiting() > 0 && !last_held_url.ends_with(suffix)) holds.release();
    }

  private:
    HttpClient& inner_;
};

} // namespace authgate::testing
