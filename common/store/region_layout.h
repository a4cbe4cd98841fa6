// The layout of a RegionKv region (see authgate/region_kv.h). Everything in it is linked by
// offsets from the region's start (0: none; offset 0 is the header, never an entry), so each
// process may map it at its own address. Bump kLayoutVersion on any change here.
#pragma once

#include <pthread.h>

#include <cstddef>
#include <cstdint>

namespace authgate::region {

inline constexpr std::uint64_t kMagic = 0x31766b6574616761; // "agatekv1", little endian
inline constexpr std::uint32_t kLayoutVersion = 2;

// The allocator's smallest block; blocks are kUnit << order bytes.
inline constexpr std::size_t kUnit = 64;
inline constexpr unsigned kOrders = 16; // kUnit << 15 = 2 MiB: a full record and its key
// One byte per unit of the heap, for the unit that starts a block: its order and state.
inline constexpr std::uint8_t kFreeBlock = 0x80;
inline constexpr std::uint8_t kUsedBlock = 0x40;
inline constexpr std::uint8_t kOrderMask = 0x3f;

struct Header {
    std::uint64_t magic; // written last by init()
    std::uint32_t version;
    std::uint32_t header_bytes; // sizeof(Header): the mutex's size is part of the layout
    std::uint64_t region_bytes;
    pthread_mutex_t mutex; // robust, process-shared

    // Fixed by init().
    std::uint64_t buckets_off;  // bucket_count offsets of chain heads
    std::uint64_t bucket_count; // a power of two
    std::uint64_t meta_off;     // heap_bytes / kUnit bytes
    std::uint64_t heap_off;
    std::uint64_t heap_bytes; // a multiple of kUnit
    std::uint32_t max_order;
    std::uint32_t reserved;
    std::uint64_t hash_seed; // random per region: chains cannot be lined up from outside

    // Emptied by format_table() (init, and recovery after a holder died).
    std::uint64_t free_head[kOrders]; // doubly linked FreeBlock lists
    std::uint64_t free_bytes;
    std::uint64_t lru_head; // most recently used
    std::uint64_t lru_tail;
    std::uint64_t entries;
    std::int64_t next_sweep_ms; // a full sweep of expired entries, at most once a second
    std::uint32_t evicting_logged;
    std::uint32_t reserved2;
};

// At the start of a block in use: the entry, then its key bytes, then its value bytes.
struct Entry {
    std::uint64_t bucket_next;
    std::uint64_t lru_prev; // towards the head
    std::uint64_t lru_next; // towards the tail
    std::int64_t expires_ms;
    std::uint64_t hash;
    std::uint32_t key_len;
    std::uint32_t value_len;
};

// At the start of a free block.
struct FreeBlock {
    std::uint64_t next;
    std::uint64_t prev;
};

inline constexpr std::size_t round_up(std::size_t n, std::size_t to) {
    return (n + to - 1) / to * to;
}

} // namespace authgate::region
