#include "support/completions.h"

#include <csetjmp>
#include <cstdarg>
#include <string>

extern "C" {
#include <cmocka.h>
}

#include <stdexcept>
#include <utility>

namespace authgate::testing {

std::string_view completion_name(Completion c) {
    switch (c) {
    case Completion::inline_now: return "inline";
    case Completion::deferred_oldest_first: return "deferred, oldest first";
    case Completion::deferred_newest_first: return "deferred, newest first";
    }
    return "?";
}

Completions& completions() {
    thread_local Completions loop;
    return loop;
}

void Completions::complete(std::size_t position) {
    if (position >= calls_.size()) throw std::out_of_range("no such pending call");
    auto h = calls_[position];
    calls_.erase(calls_.begin() + static_cast<std::ptrdiff_t>(position));
    ++completed_;
    h.resume();
}

bool Completions::step() {
    if (!posted_.empty()) {
        auto h = posted_.front();
        posted_.pop_front();
        h.resume();
        return true;
    }
    if (calls_.empty()) return false;
    complete(mode == Completion::deferred_newest_first ? calls_.size() - 1 : 0);
    return true;
}

void LoopParking::wake() noexcept {
    if (parked_) completions().post(std::exchange(parked_, {}));
}

int run_each_way(const char* group, const CMUnitTest* tests, std::size_t count) {
    int failed = 0;
    for (Completion c : {Completion::inline_now, Completion::deferred_oldest_first,
                         Completion::deferred_newest_first}) {
        CompletionMode mode(c);
        std::string name = std::string(group) + " (" + std::string(completion_name(c)) + ")";
        failed += _cmocka_run_group_tests(name.c_str(), tests, count, nullptr, nullptr);
        completions().discard(); // a failed test may leave calls suspended
    }
    return failed;
}

} // namespace authgate::testing
