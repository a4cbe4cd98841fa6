// Fuzz target: the Redis reply parser (RESP2, hard limits) and the decoding of any parsed
// reply into every Store operation's answer and into a subscription message.
#include "fuzz.h"

#include "authgate/redis.h"

namespace {

using authgate::redis::Reply;

// Answers every command with the fuzzed reply.
class Replay final : public authgate::redis::Connection {
  public:
    explicit Replay(const Reply& r) : reply_(r) {}
    authgate::Task<std::optional<Reply>> call(std::string) override { co_return reply_; }

  private:
    const Reply& reply_;
};

template <class T> void run(authgate::Task<T> task) {
    task.start();
    if (!task.done()) __builtin_trap(); // the connection answers inline
    (void)task.result();
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    std::string_view in = as_view(data, size);
    while (!in.empty()) {
        Reply r;
        std::size_t used = 0;
        if (authgate::redis::parse_reply(in, r, used) != authgate::redis::Parse::done) break;
        if (used == 0 || used > in.size()) __builtin_trap();
        in.remove_prefix(used);
        (void)authgate::redis::decode_message(r);
        Replay conn(r);
        authgate::redis::Keyspace ks{"p:"};
        authgate::redis::RedisStore store(conn, ks, nullptr);
        run(store.get("s:a"));
        run(store.set("s:a", "v", 1000));
        run(store.set("k", "v", 1000));
        run(store.set_if_absent("k", "v", 1000));
        run(store.compare_and_set("s:a", "v", "w", 1000));
        run(store.del("s:a"));
        run(store.del("k"));
        run(store.incr("n", 1, 1000));
        run(store.index_add("i", "m", 2000, 1000));
        run(store.index_remove("i", "m"));
        run(store.index_members("i", 1000));
        run(store.hash_set("h", {{"a", "b"}}));
        run(store.hash_get("h"));
    }
    return 0;
}
