// The region's allocator: a binary buddy allocator over the heap, blocks of kUnit << order.
//
// Why buddy and not size-class slabs: entries range from a 60-byte marker to a 1 MiB user
// record, and the mix shifts (a sign-in storm of sessions, then a few large indexes). A
// buddy allocator merges every freed block with its free buddy at once, so memory never
// stays reserved for one size class and "everything removed" is "the whole heap free" by
// construction; each call is O(orders) with no compaction, which suits a critical section
// every request takes. The price is rounding up to a power of two (at most half a block);
// sessions (~300-500 bytes) fit one 512-byte block.
//
// Block state lives outside the blocks, one byte per unit in the meta array, so a free
// block's buddy can be checked without reading the inside of a block in use.
// The heap is not a power of two: it is cut greedily into aligned blocks, largest first,
// and two buddies merge only when their parent lies inside the heap (then it is one of
// those blocks or inside one).
#pragma once

#include <cstddef>
#include <cstdint>

#include "region_layout.h"

namespace authgate::region {

class Buddy {
  public:
    Buddy(unsigned char* base, Header& h) : base_(base), h_(h) {}

    // Every block free (the meta array zeroed first).
    void format();
    // The offset (from the region's start) of a block of at least `bytes`, or 0.
    std::uint64_t allocate(std::size_t bytes);
    void release(std::uint64_t offset);

    // The order whose block holds `bytes`; past max_order when none does.
    static unsigned order_for(std::size_t bytes);

  private:
    std::uint8_t& meta(std::uint64_t rel) { return base_[h_.meta_off + rel / kUnit]; }
    FreeBlock& block(std::uint64_t rel) {
        return *reinterpret_cast<FreeBlock*>(base_ + h_.heap_off + rel);
    }
    void push(std::uint64_t rel, unsigned order);
    void unlink(std::uint64_t rel, unsigned order);

    unsigned char* base_;
    Header& h_;
};

} // namespace authgate::region
