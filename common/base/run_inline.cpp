#include "authgate/run_inline.h"

#include <stdexcept>
#include <utility>

namespace authgate {

void InlineParking::park(std::coroutine_handle<> h) {
    std::lock_guard lock(mutex_);
    parked_ = h;
}

// Notified under the mutex: once it is released, the waker touches nothing of this
// object, which the woken thread may then destroy.
void InlineParking::wake() noexcept {
    std::lock_guard lock(mutex_);
    woken_ = true;
    woken_cv_.notify_one();
}

void InlineParking::resume_when_woken() {
    std::coroutine_handle<> h;
    {
        std::unique_lock lock(mutex_);
        if (!parked_) throw std::logic_error("run_inline: the flow suspended without parking");
        woken_cv_.wait(lock, [this] { return woken_; });
        woken_ = false;
        h = std::exchange(parked_, {});
    }
    h.resume();
}

} // namespace authgate
