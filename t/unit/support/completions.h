// How the unit-test fakes (MemoryStore, FakeHttpClient) complete their calls: inline, or
// suspended until the test's loop completes them, oldest first or newest first, as the
// Redis store and the IdP thread pool do in nginx. run() drains the queue, so the same
// test runs a flow either way (parametrised by Completion); LoopParking is a request's
// Parking on that loop (wake() posts, the loop resumes).
#pragma once

#include <coroutine>
#include <cstddef>
#include <deque>
#include <span>
#include <string_view>

#include "authgate/task.h"
#include "authgate/waiting.h"

struct CMUnitTest;

namespace authgate::testing {

enum class Completion { inline_now, deferred_oldest_first, deferred_newest_first };
std::string_view completion_name(Completion c);

class Completions {
  public:
    struct Awaiter {
        Completions* completions;
        bool await_ready() const noexcept { return completions->mode == Completion::inline_now; }
        void await_suspend(std::coroutine_handle<> h) { completions->calls_.push_back(h); }
        void await_resume() const noexcept {}
    };

    Completion mode = Completion::inline_now;
    // Awaited by each call of a fake before it does its work.
    Awaiter next() { return Awaiter{this}; }
    std::size_t pending() const { return calls_.size(); }
    // Calls completed by the loop so far (none while inline).
    std::size_t completed() const { return completed_; }
    // Completes the suspended call at `position` (0: the oldest); it runs until its flow
    // suspends again or ends.
    void complete(std::size_t position);
    // A parked flow was woken: the loop resumes it before completing further calls.
    void post(std::coroutine_handle<> h) { posted_.push_back(h); }
    // One turn of the loop: a posted resumption, else one call in the mode's order.
    // False when nothing is left to do.
    bool step();
    // Forgets the suspended calls without resuming them (their flows were destroyed).
    void discard() {
        calls_.clear();
        posted_.clear();
    }

  private:
    std::deque<std::coroutine_handle<>> calls_;
    std::deque<std::coroutine_handle<>> posted_;
    std::size_t completed_ = 0;
};

// This thread's loop (tests run their flows on one thread; the threads test keeps each
// thread's loop inline).
Completions& completions();

// Sets the mode for as long as it lives.
class CompletionMode {
  public:
    explicit CompletionMode(Completion c) : saved_(completions().mode) { completions().mode = c; }
    CompletionMode(const CompletionMode&) = delete;
    CompletionMode& operator=(const CompletionMode&) = delete;
    ~CompletionMode() { completions().mode = saved_; }

  private:
    Completion saved_;
};

class LoopParking final : public Parking {
  public:
    void park(std::coroutine_handle<> h) override { parked_ = h; }
    void wake() noexcept override;
    bool parked() const { return static_cast<bool>(parked_); }

  private:
    std::coroutine_handle<> parked_;
};

// Runs cmocka's group once per Completion (the flows complete inline, then deferred in
// either order); returns the number of failed tests over all runs.
int run_each_way(const char* group, const struct CMUnitTest* tests, std::size_t count);

// Runs the loop until every task is done (started here); false when they got stuck.
template <class T> bool run_all(std::span<Task<T>* const> tasks) {
    for (Task<T>* t : tasks) t->start();
    auto all_done = [&] {
        for (Task<T>* t : tasks) {
            if (!t->done()) return false;
        }
        return true;
    };
    while (!all_done()) {
        if (!completions().step()) return false;
    }
    return true;
}

} // namespace authgate::testing
