// Parking a flow until another flow has finished something (one IdP fetch in flight per
// provider: the flows that need its result wait for it instead of starting their own).
#pragma once

#include <coroutine>
#include <utility>
#include <vector>

namespace authgate {

// The adapter's half, one per request: how its flow is parked and woken again.
class Parking {
  public:
    virtual ~Parking() = default;
    // The flow suspends at `h`; the request stays alive until wake() has resumed it.
    virtual void park(std::coroutine_handle<> h) = 0;
    // Called from another flow's stack: schedules the resumption (nginx: a posted event)
    // and never resumes inline.
    virtual void wake() noexcept = 0;
};

// Flows waiting for one event of this process; wake_all() schedules each once.
class WaitList {
  public:
    struct Awaiter {
        WaitList& list;
        Parking& parking;
        bool await_ready() const noexcept { return false; }
        void await_suspend(std::coroutine_handle<> h) {
            list.waiting_.push_back(&parking);
            parking.park(h);
        }
        void await_resume() const noexcept {}
    };

    Awaiter wait(Parking& parking) { return Awaiter{*this, parking}; }
    void wake_all() noexcept {
        auto waiting = std::exchange(waiting_, {});
        for (Parking* p : waiting) p->wake();
    }
    std::size_t size() const noexcept { return waiting_.size(); }

  private:
    std::vector<Parking*> waiting_;
};

// Marks one piece of work as in flight for as long as it lives, then wakes the waiters:
// however the work ends, also when its flow's frame is destroyed midway.
class InFlight {
  public:
    InFlight(bool& flag, WaitList& waiters) : flag_(flag), waiters_(waiters) { flag_ = true; }
    InFlight(const InFlight&) = delete;
    InFlight& operator=(const InFlight&) = delete;
    ~InFlight() {
        flag_ = false;
        waiters_.wake_all();
    }

  private:
    bool& flag_;
    WaitList& waiters_;
};

} // namespace authgate
