// Task<T>: a lazy C++20 coroutine. Flows in the core are written as Tasks so that
// a store or an offloaded computation can complete inline (shared memory, tests)
// or later from an event callback (Redis, thread pool) without changing the flow.
//
// A Task is started either by co_await from another Task (symmetric transfer) or,
// at the root, by start(): the adapter keeps the root Task, starts it, and after
// every external resumption checks done() and takes result().
#pragma once

#include <coroutine>
#include <cstddef>
#include <exception>
#include <optional>
#include <utility>

namespace authgate {

// Coroutine frames are allocated on every request; this per-thread recycler keeps freed
// frames by size class so the steady state does no malloc/free.
void* frame_alloc(std::size_t size);
void frame_free(void* p, std::size_t size) noexcept;

template <class T> class [[nodiscard]] Task {
  public:
    struct promise_type;
    using handle_type = std::coroutine_handle<promise_type>;

    struct FinalAwaiter {
        bool await_ready() const noexcept { return false; }
        std::coroutine_handle<> await_suspend(handle_type h) noexcept {
            auto next = h.promise().continuation;
            return next ? next : std::noop_coroutine();
        }
        void await_resume() const noexcept {}
    };

    struct promise_type {
        std::optional<T> value;
        std::exception_ptr error;
        std::coroutine_handle<> continuation;

        static void* operator new(std::size_t size) { return frame_alloc(size); }
        static void operator delete(void* p, std::size_t size) noexcept { frame_free(p, size); }

        Task get_return_object() noexcept { return Task{handle_type::from_promise(*this)}; }
        std::suspend_always initial_suspend() const noexcept { return {}; }
        FinalAwaiter final_suspend() const noexcept { return {}; }
        template <class U> void return_value(U&& v) { value.emplace(std::forward<U>(v)); }
        void unhandled_exception() noexcept { error = std::current_exception(); }
    };

    Task() = default;
    Task(Task&& o) noexcept : h_(std::exchange(o.h_, {})) {}
    Task& operator=(Task&& o) noexcept {
        if (this != &o) {
            reset();
            h_ = std::exchange(o.h_, {});
        }
        return *this;
    }
    Task(const Task&) = delete;
    Task& operator=(const Task&) = delete;
    ~Task() { reset(); }

    // Awaiting a Task from another coroutine.
    bool await_ready() const noexcept { return false; }
    std::coroutine_handle<> await_suspend(std::coroutine_handle<> caller) noexcept {
        h_.promise().continuation = caller;
        return h_;
    }
    T await_resume() { return take(); }

    // Root use by an adapter.
    void start() { h_.resume(); }
    bool valid() const noexcept { return static_cast<bool>(h_); }
    bool done() const noexcept { return h_ && h_.done(); }
    // Rethrows an exception that escaped the coroutine.
    T result() { return take(); }

  private:
    explicit Task(handle_type h) noexcept : h_(h) {}
    void reset() noexcept {
        if (h_) {
            h_.destroy();
            h_ = {};
        }
    }
    T take() {
        auto& p = h_.promise();
        if (p.error) std::rethrow_exception(p.error);
        return std::move(*p.value);
    }

    handle_type h_;
};

// Result of an awaitable that completes immediately; used by synchronous ports.
template <class T> struct Ready {
    T value;
    bool await_ready() const noexcept { return true; }
    void await_suspend(std::coroutine_handle<>) const noexcept {}
    T await_resume() { return std::move(value); }
};

} // namespace authgate
