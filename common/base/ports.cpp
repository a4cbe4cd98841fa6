#include "authgate/ports.h"

#include <chrono>
#include <limits>
#include <stdexcept>

#include <openssl/rand.h>

namespace authgate {

void OpensslRandom::fill(std::span<std::uint8_t> out) {
    std::size_t done = 0;
    while (done < out.size()) {
        std::size_t chunk =
            std::min<std::size_t>(out.size() - done, std::numeric_limits<int>::max());
        if (RAND_bytes(out.data() + done, static_cast<int>(chunk)) != 1) {
            throw std::runtime_error("RAND_bytes failed");
        }
        done += chunk;
    }
}

Millis SystemClock::now_ms() const {
    using namespace std::chrono;
    return duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count();
}

Task<bool> InlineOffloader::run(std::function<void()> work) {
    work();
    co_return true;
}

} // namespace authgate
