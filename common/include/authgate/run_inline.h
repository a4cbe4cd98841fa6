// Completing a core Task synchronously, on the calling thread: for blocking adapters
// (Apache worker threads) and tests.
//
// Contract:
// - The flow starts, runs and ends on the calling thread; run_inline returns its result
//   (or rethrows what escaped it).
// - Ports that complete inline (a blocking store or HTTP client that has its answer when
//   the call returns) cost nothing extra: the flow simply runs through.
// - A call that completes later must park the flow through the InlineParking the flow was
//   given as its Parking (ports.parking): park(h) where it suspends, then wake() from any
//   thread once the answer is ready. run_inline waits on a condition variable until then
//   and resumes the flow itself, so the flow never runs on the completing thread. The
//   same holds for a flow waiting for another flow's IdP fetch (WaitList).
// - A flow that suspends without parking could never be resumed: run_inline throws
//   std::logic_error instead of blocking forever.
// The core itself still does no blocking I/O: the waiting is here, on the adapter's thread
// that chose to block, and only while a port it gave the flow has work outstanding.
#pragma once

#include <condition_variable>
#include <coroutine>
#include <mutex>

#include "authgate/task.h"
#include "authgate/waiting.h"

namespace authgate {

class InlineParking final : public Parking {
  public:
    void park(std::coroutine_handle<> h) override;
    void wake() noexcept override;
    // Blocks until the parked flow is woken, then resumes it on this thread. Throws
    // std::logic_error when no flow is parked here.
    void resume_when_woken();

  private:
    std::mutex mutex_;
    std::condition_variable woken_cv_;
    std::coroutine_handle<> parked_;
    bool woken_ = false;
};

// Runs `task` to its end on this thread; `parking` is the Parking its ports were given.
template <class T> T run_inline(Task<T> task, InlineParking& parking) {
    task.start();
    while (!task.done()) parking.resume_when_woken();
    return task.result();
}

// For flows whose ports all complete inline (nothing may park).
template <class T> T run_inline(Task<T> task) {
    InlineParking none;
    return run_inline(std::move(task), none);
}

} // namespace authgate
