#include "authgate/task.h"

#include <array>
#include <cstdlib>
#include <new>

namespace authgate {

namespace {

constexpr std::size_t kGranule = 64;
constexpr std::size_t kClasses = 32; // frames up to 2 KiB are recycled
constexpr std::size_t kMaxCachedPerClass = 64;

struct FreeBlock {
    FreeBlock* next;
};

struct FrameCache {
    std::array<FreeBlock*, kClasses> heads{};
    std::array<std::size_t, kClasses> counts{};

    ~FrameCache() {
        for (auto* head : heads) {
            while (head != nullptr) {
                FreeBlock* next = head->next;
                ::operator delete(head);
                head = next;
            }
        }
    }
};

thread_local FrameCache cache;

std::size_t class_of(std::size_t size) { return (size + kGranule - 1) / kGranule - 1; }

} // namespace

void* frame_alloc(std::size_t size) {
    std::size_t c = class_of(size);
    if (c >= kClasses) return ::operator new(size);
    if (FreeBlock* b = cache.heads[c]) {
        cache.heads[c] = b->next;
        --cache.counts[c];
        return b;
    }
    return ::operator new((c + 1) * kGranule);
}

void frame_free(void* p, std::size_t size) noexcept {
    std::size_t c = class_of(size);
    if (c >= kClasses || cache.counts[c] >= kMaxCachedPerClass) {
        ::operator delete(p);
        return;
    }
    auto* b = static_cast<FreeBlock*>(p);
    b->next = cache.heads[c];
    cache.heads[c] = b;
    ++cache.counts[c];
}

} // namespace authgate
