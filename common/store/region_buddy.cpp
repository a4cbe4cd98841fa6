// Buddy: the region's allocator (see region_buddy.h). Free lists hold region offsets
// (never 0: the heap follows the header); `rel` is an offset inside the heap.
#include "region_buddy.h"

#include <cstring>

namespace authgate::region {

unsigned Buddy::order_for(std::size_t bytes) {
    unsigned order = 0;
    while (order < kOrders && (kUnit << order) < bytes) ++order;
    return order;
}

void Buddy::push(std::uint64_t rel, unsigned order) {
    std::uint64_t at = h_.heap_off + rel;
    FreeBlock& b = block(rel);
    b.prev = 0;
    b.next = h_.free_head[order];
    if (b.next != 0) reinterpret_cast<FreeBlock*>(base_ + b.next)->prev = at;
    h_.free_head[order] = at;
    meta(rel) = static_cast<std::uint8_t>(kFreeBlock | order);
    h_.free_bytes += kUnit << order;
}

void Buddy::unlink(std::uint64_t rel, unsigned order) {
    FreeBlock& b = block(rel);
    if (b.prev != 0) {
        reinterpret_cast<FreeBlock*>(base_ + b.prev)->next = b.next;
    } else {
        h_.free_head[order] = b.next;
    }
    if (b.next != 0) reinterpret_cast<FreeBlock*>(base_ + b.next)->prev = b.prev;
    meta(rel) = 0;
    h_.free_bytes -= kUnit << order;
}

void Buddy::format() {
    std::memset(base_ + h_.meta_off, 0, h_.heap_bytes / kUnit);
    for (auto& head : h_.free_head) head = 0;
    h_.free_bytes = 0;
    std::uint64_t rel = 0;
    for (unsigned order = h_.max_order + 1; order-- > 0;) {
        while (rel + (kUnit << order) <= h_.heap_bytes) {
            push(rel, order);
            rel += kUnit << order;
        }
    }
}

std::uint64_t Buddy::allocate(std::size_t bytes) {
    unsigned want = order_for(bytes);
    if (want > h_.max_order) return 0;
    unsigned order = want;
    while (order <= h_.max_order && h_.free_head[order] == 0) ++order;
    if (order > h_.max_order) return 0;
    std::uint64_t rel = h_.free_head[order] - h_.heap_off;
    unlink(rel, order);
    while (order > want) { // keep the first half, free the second
        --order;
        push(rel + (kUnit << order), order);
    }
    meta(rel) = static_cast<std::uint8_t>(kUsedBlock | want);
    return h_.heap_off + rel;
}

void Buddy::release(std::uint64_t offset) {
    std::uint64_t rel = offset - h_.heap_off;
    unsigned order = meta(rel) & kOrderMask;
    meta(rel) = 0;
    while (order < h_.max_order) {
        std::uint64_t size = kUnit << order;
        std::uint64_t buddy = rel ^ size;
        if (buddy + size > h_.heap_bytes) break; // the parent would leave the heap
        if (meta(buddy) != (kFreeBlock | order)) break;
        unlink(buddy, order);
        rel &= ~size;
        ++order;
    }
    push(rel, order);
}

} // namespace authgate::region
