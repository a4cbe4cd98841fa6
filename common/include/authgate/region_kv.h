// LockedKv over a caller-provided memory region shared by processes (an anonymous
// MAP_SHARED mapping made before fork) and threads: the embedded store's cache under
// Apache httpd, where KvStore on top of it is the Store.
//
// The region holds everything: a header (magic, layout version, size), a robust
// process-shared mutex, a hash table, an LRU list and a buddy allocator, all linked by
// offsets from the region's start, never by pointers, so each process may map it anywhere.
// Entries are evicted, least recently used first, only when an allocation fails; expired
// ones are dropped when fetched and reclaimed before anything live is evicted.
//
// Lifecycle: RegionKv::init(base, bytes) once (formats it; the memory must stay mapped
// while anyone uses it), then RegionKv(base, bytes, clock, log) in every process that
// uses it, after attachable() said yes. A holder of the lock that dies (a crashed
// process) leaves the table possibly half-written: the next lock() empties it, marks the
// mutex consistent and reports owner_died. Sessions are lost then, never corrupt.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string_view>

#include "authgate/kv_store.h"

namespace authgate {

// What the region tells its user's log (with a size in bytes, or 0).
enum class RegionEvent {
    owner_died,         // a lock holder died; the table was emptied
    evicting,           // full: live entries are being evicted (once per format)
    refused_too_large,  // an entry over max_entry() or the store's limits
    refused_index_full, // an index at kMaxIndexMembers
    lock_failed,        // the mutex could not be taken (bytes: the error number)
};
using RegionLog = std::function<void(RegionEvent, std::size_t)>;

class RegionKv final : public LockedKv {
  public:
    // The smallest region init() accepts.
    static constexpr std::size_t kMinBytes = std::size_t{32} * 1024;

    // Formats the region (any previous content is dropped); false when it is too small, not
    // 8-byte aligned, or the mutex cannot be made process-shared and robust. `seed` keys
    // the table's hash (give it random bits: keys an outsider picks then cannot be made to
    // share one chain).
    static bool init(void* base, std::size_t bytes, std::uint64_t seed = 0) noexcept;
    // Whether the region was formatted by init() with this layout and this size.
    static bool attachable(const void* base, std::size_t bytes) noexcept;

    // For a region attachable() accepts. Both clock and the region must outlive this.
    // block_signals: the calling thread's signals are blocked while it holds the lock, so
    // that a process whose signal handler exits (Apache's prefork children on a restart)
    // does not die holding it and cost every session; SIGKILL still can.
    RegionKv(void* base, std::size_t bytes, const Clock& clock, RegionLog log,
             bool block_signals = false);

    bool lock() override;
    void unlock() noexcept override;
    Fetched fetch(std::string_view key) override;
    bool put(std::string_view key, std::string_view value, Millis expires_at_ms) override;
    bool remove(std::string_view key) override;
    std::size_t max_entry() const noexcept override { return max_entry_; }
    void refused(KvRefusal why, std::size_t bytes) noexcept override;

    // Test access (under lock()): live and expired entries held, and the bytes the
    // allocator has free.
    std::size_t entries() const noexcept;
    std::size_t free_bytes() const noexcept;
    // What free_bytes() is right after init(): every block free.
    std::size_t capacity() const noexcept;

  private:
    unsigned char* base_;
    std::size_t max_entry_;
    const Clock& clock_;
    RegionLog log_;
    bool block_signals_;
};

} // namespace authgate
