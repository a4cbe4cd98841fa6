// Parking a flow until another flow has finished something (one IdP fetch in flight per
// provider: the flows that need its result wait for it instead of starting their own).
//
// Threads: the flows of one process may run on one event loop (nginx) or on N threads
// (Apache's event MPM, run_inline). A WaitList records each waiter's Parking, its waker;
// the flow that finishes calls wake() on it from its own thread, and the waiter's Parking
// resumes it on the waiter's own loop or thread, never on the waker's stack.
#pragma once

#include <coroutine>
#include <mutex>
#include <utility>
#include <vector>

namespace authgate {

// The adapter's half, one per request: how its flow is parked and woken again.
class Parking {
  public:
    virtual ~Parking() = default;
    // The flow suspends at `h`; the request stays alive until wake() has resumed it.
    virtual void park(std::coroutine_handle<> h) = 0;
    // Called from another flow's stack, possibly on another thread of the process:
    // schedules the resumption on the parked flow's own loop or thread (nginx: a posted
    // event; run_inline: a condition variable) and never resumes inline. An adapter whose
    // flows all share one thread may assume wake() comes from that thread.
    virtual void wake() noexcept = 0;
};

// Flows waiting for one event of this process. The list and the condition awaited are
// guarded by one mutex the caller owns: wait() is called holding it (so a finishing flow
// cannot slip between the check and the wait), releases it while parked and holds it
// again once resumed.
class WaitList {
  public:
    using Lock = std::unique_lock<std::mutex>;

    struct Awaiter {
        WaitList& list;
        Parking& parking;
        Lock& lock;
        bool await_ready() const noexcept { return false; }
        void await_suspend(std::coroutine_handle<> h) {
            list.waiting_.push_back(&parking);
            parking.park(h); // before unlocking: a wake() can only come after it
            lock.unlock();
        }
        void await_resume() { lock.lock(); }
    };

    Awaiter wait(Lock& lock, Parking& parking) { return Awaiter{*this, parking, lock}; }
    // Under the mutex: the waiters to wake once it is released.
    std::vector<Parking*> take() noexcept { return std::exchange(waiting_, {}); }
    std::size_t size() const noexcept { return waiting_.size(); }

  private:
    std::vector<Parking*> waiting_;
};

// Marks one piece of work as in flight for as long as it lives, then wakes the waiters:
// however the work ends, also when its flow's frame is destroyed midway. Constructed
// holding `lock`; `lock` must outlive it. Its end takes the mutex if not held, clears the
// flag, releases the mutex and then wakes each waiter once.
class InFlight {
  public:
    InFlight(WaitList::Lock& lock, bool& flag, WaitList& waiters)
        : lock_(lock), flag_(flag), waiters_(waiters) {
        flag_ = true;
    }
    InFlight(const InFlight&) = delete;
    InFlight& operator=(const InFlight&) = delete;
    ~InFlight() {
        if (!lock_.owns_lock()) lock_.lock();
        flag_ = false;
        auto waiting = waiters_.take();
        lock_.unlock();
        for (Parking* p : waiting) p->wake();
    }

  private:
    WaitList::Lock& lock_;
    bool& flag_;
    WaitList& waiters_;
};

} // namespace authgate
