// Fuzz target: KvStore over a cache whose entries hold arbitrary bytes (corrupt or hostile
// values): every operation answers without crashing, and a write that succeeded reads back.
#include "fuzz.h"

#include <algorithm>
#include <map>

#include "authgate/kv_store.h"

namespace {

using authgate::Millis;

constexpr Millis kNow = 1'000'000;

class MapKv final : public authgate::LockedKv {
  public:
    std::map<std::string, std::string, std::less<>> entries;
    bool lock() override { return true; }
    void unlock() noexcept override {}
    Fetched fetch(std::string_view key) override {
        auto it = entries.find(key);
        if (it == entries.end()) return {};
        return {Fetched::State::present, it->second};
    }
    bool put(std::string_view key, std::string_view value, Millis) override {
        entries[std::string(key)] = std::string(value);
        return true;
    }
    bool remove(std::string_view key) override {
        auto it = entries.find(key);
        if (it == entries.end()) return false;
        entries.erase(it);
        return true;
    }
    std::size_t max_entry() const noexcept override { return std::size_t{1} << 20; }
};

class FixedClock final : public authgate::Clock {
  public:
    Millis now_ms() const override { return kNow; }
};

template <class T> T inline_result(authgate::Task<T> task) {
    task.start();
    if (!task.done()) __builtin_trap(); // KvStore always completes inline
    return task.result();
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    std::string_view raw = as_view(data, size);
    MapKv kv;
    FixedClock clock;
    authgate::KvStore store(kv, clock);
    for (const char* key : {"s:k", "c:k", "i:k", "u:{k}"}) {
        kv.entries[authgate::KvStore::cache_key(key)] = std::string(raw);
    }
    inline_result(store.get("s:k"));
    store.equals_now("s:k", raw);
    inline_result(store.incr("c:k", 1, 1000));
    inline_result(store.index_members("i:k", kNow));
    if (inline_result(store.index_add("i:k", "s:x", kNow + 1000, kNow)).value) {
        auto members = inline_result(store.index_members("i:k", kNow)).value;
        if (std::find(members.begin(), members.end(), "s:x") == members.end()) __builtin_trap();
    }
    inline_result(store.hash_get("u:{k}"));
    if (inline_result(store.hash_set("u:{k}", {{"f", "v"}})).value) {
        if (!inline_result(store.hash_get("u:{k}")).value) __builtin_trap();
    }
    inline_result(store.compare_and_set("s:k", raw, "v", 1000));
    inline_result(store.del("s:k"));
    return 0;
}
