// The core's Redis protocol (authgate/redis.h) against a real redis-server: every Store
// operation goes through the command builder, the Lua scripts and the reply decoder over a
// plain blocking socket, and session writes are announced on the channel (seen by a
// subscriber); the rate-limit script against limit::gcra. Also the reply parser's limits on
// hostile input and the rate-limit reply decoder on malformed answers. The real-server cases skip,
// saying so, only when redis-server is not installed.
#include "support/redis_server.h"
#include "support/support.h"

#include <unistd.h>

#include <memory>

#include "authgate/redis.h"

using namespace authgate;
using namespace authgate::testing;
using redis::Parse;
using redis::Reply;

namespace {

constexpr Millis kNow = 1'700'000'000'000;

// redis-server on a free loopback port in a temporary directory, for the whole group.
struct Server {
    std::unique_ptr<RedisServer> process;
    int port = 0;
};
Server g_server;

int start_server(void**) {
    if (!have_redis_server()) {
        print_message("redis-server is not installed: the real-server cases are skipped\n");
        return 0;
    }
    g_server.process = std::make_unique<RedisServer>();
    if (!g_server.process->start()) return -1;
    g_server.port = g_server.process->port();
    return 0;
}

int stop_server(void**) {
    g_server.process.reset();
    return 0;
}

#define NEED_SERVER()                                                                              \
    do {                                                                                           \
        if (!g_server.process) skip();                                                             \
    } while (0)

// ---- against the real server ---------------------------------------------------------

void every_store_operation_round_trips(void**) {
    NEED_SERVER();
    SocketConnection conn(g_server.port);
    redis::Keyspace ks{"t1:"};
    redis::RedisStore store(conn, ks, nullptr);

    assert_true(run(store.get("k")).ok());
    assert_false(run(store.get("k")).value.has_value());
    const std::string binary("v\r\n\0x", 5);
    assert_true(run(store.set("k", binary, 60'000)).value);
    assert_true(*run(store.get("k")).value == binary);
    assert_true(conn.raw({"GET", "t1:k"})->str == binary); // under the prefix
    assert_true(conn.raw({"PTTL", "t1:k"})->integer > 59'000);

    assert_true(run(store.set_if_absent("once", "1", 60'000)).value);
    auto again = run(store.set_if_absent("once", "2", 60'000));
    assert_true(again.ok());
    assert_false(again.value);
    assert_false(run(store.compare_and_set("once", "2", "3", 60'000)).value);
    assert_true(run(store.compare_and_set("once", "1", "3", 60'000)).value);
    assert_string_equal(run(store.get("once")).value->c_str(), "3");
    assert_false(run(store.compare_and_set("gone", "1", "3", 60'000)).value);

    assert_true(run(store.del("once")).value);
    auto del2 = run(store.del("once"));
    assert_true(del2.ok());
    assert_false(del2.value);

    assert_int_equal(run(store.incr("n", 5, 60'000)).value, 5);
    assert_int_equal(run(store.incr("n", 3, 60'000)).value, 8);
    assert_true(conn.raw({"PTTL", "t1:n"})->integer > 59'000);

    assert_true(run(store.index_add("i", "s:b", kNow + 2000, kNow)).value);
    assert_true(run(store.index_add("i", "s:a", kNow + 1000, kNow)).value);
    assert_true(run(store.index_add("i", "s:old", kNow + 10, kNow)).value);
    auto members = run(store.index_members("i", kNow + 100));
    assert_true(members.ok());
    assert_int_equal(members.value.size(), 2);
    assert_string_equal(members.value[0].c_str(), "s:a"); // earliest expiry first
    assert_true(run(store.index_remove("i", "s:a")).value);
    assert_int_equal(run(store.index_members("i", kNow)).value.size(), 2);

    assert_false(run(store.hash_get("u")).value.has_value());
    assert_true(run(store.hash_set("u", {{"a", "1"}, {"b", "2"}})).value);
    assert_true(run(store.hash_set("u", {{"b", "3"}})).value); // merges
    auto fields = run(store.hash_get("u"));
    assert_true(fields.ok());
    Store::Fields want = {{"a", "1"}, {"b", "3"}};
    assert_true(*fields.value == want);
}

void a_wrong_reply_is_unavailable_not_a_value(void**) {
    NEED_SERVER();
    SocketConnection conn(g_server.port);
    redis::Keyspace ks{"t2:"};
    redis::RedisStore store(conn, ks, nullptr);
    assert_true(run(store.hash_set("h", {{"a", "1"}})).ok());
    // WRONGTYPE errors: the flows see "unavailable" (fail closed), never a value.
    assert_false(run(store.get("h")).ok());
    assert_false(run(store.incr("h", 1, 1000)).ok());
    assert_false(run(store.index_members("h", kNow)).ok());
}

void scripts_are_loaded_again_after_a_flush(void**) {
    NEED_SERVER();
    SocketConnection conn(g_server.port);
    redis::Keyspace ks{"t3:"};
    redis::RedisStore store(conn, ks, nullptr);
    assert_int_equal(run(store.incr("n", 1, 1000)).value, 1);
    assert_string_equal(conn.raw({"SCRIPT", "FLUSH"})->str.c_str(), "OK");
    assert_int_equal(run(store.incr("n", 1, 1000)).value, 2); // NOSCRIPT, then EVAL
}

// The rate-limit script on the server's clock, checked against limit::gcra where the
// answer does not depend on the exact instant (a fresh key, a TAT held to one window).
limit::Verdict limited(redis::RedisStore& store, std::string_view key, const limit::Rule& rule) {
    auto r = run(store.rate_limit(key, rule, 0)); // now_ms unused: Redis has its own clock
    assert_true(r.ok());
    return r.value;
}

void verdicts_equal(const limit::Verdict& got, const limit::Verdict& want) {
    assert_int_equal(got.allowed, want.allowed);
    assert_int_equal(got.limit, want.limit);
    assert_int_equal(got.remaining, want.remaining);
    assert_int_equal(got.retry_after_ms, want.retry_after_ms);
    assert_int_equal(got.reset_ms, want.reset_ms);
}

void the_rate_limit_script_is_the_gcra_step(void**) {
    NEED_SERVER();
    SocketConnection conn(g_server.port);
    redis::Keyspace ks{"t6:"};
    redis::RedisStore store(conn, ks, nullptr);
    const limit::Rule rule{.interval_us = 60'000'000, .burst = 5};
    const limit::Micros now = kNow * 1000; // any instant: these steps do not depend on it
    verdicts_equal(limited(store, "r:z:fresh", rule), limit::gcra(std::nullopt, rule, now).verdict);
    // Allowed four more times, then refused with nothing written.
    for (std::int64_t left = 3; left >= 0; --left) {
        auto v = limited(store, "r:z:fresh", rule);
        assert_true(v.allowed);
        assert_int_equal(v.remaining, left);
    }
    std::string tat = conn.raw({"GET", "t6:r:z:fresh"})->str;
    assert_true(limit::decode_tat(tat).has_value());
    std::int64_t pttl = conn.raw({"PTTL", "t6:r:z:fresh"})->integer;
    assert_true(pttl > 0);
    assert_true(pttl <= 300'000); // at most one window
    auto refused = limited(store, "r:z:fresh", rule);
    assert_false(refused.allowed);
    assert_int_equal(refused.remaining, 0);
    assert_true(refused.retry_after_ms > 0);
    assert_true(refused.retry_after_ms <= 60'000);
    assert_true(refused.reset_ms > 240'000);
    assert_true(refused.reset_ms <= 300'000);
    assert_string_equal(conn.raw({"GET", "t6:r:z:fresh"})->str.c_str(), tat.c_str());
    assert_true(conn.raw({"PTTL", "t6:r:z:fresh"})->integer <= pttl); // not extended

    // A TAT far ahead (written by a server whose clock ran fast) counts as one window.
    auto ahead = now + 10 * rule.window_us();
    conn.raw({"SET", "t6:r:z:ahead", std::to_string(99'999'999'999'999'999), "PX", "60000"});
    verdicts_equal(limited(store, "r:z:ahead", rule), limit::gcra(ahead, rule, now).verdict);
    // Not a TAT (as decode_tat reads it): none.
    for (std::string junk : {"12x", "1e3", " 7", "-5", "99999999999999999999"}) {
        conn.raw({"SET", "t6:r:z:junk", junk, "PX", "60000"});
        verdicts_equal(limited(store, "r:z:junk", rule),
                       limit::gcra(std::nullopt, rule, now).verdict);
    }
    // Sub-millisecond intervals: waits rounded up, never 0.
    const limit::Rule fast{.interval_us = 1500, .burst = 1};
    auto first = limited(store, "r:f:a", fast);
    verdicts_equal(first, limit::gcra(std::nullopt, fast, now).verdict);
    assert_int_equal(first.reset_ms, 2);
}

void the_rate_limit_refills_on_the_server_clock(void**) {
    NEED_SERVER();
    SocketConnection conn(g_server.port);
    redis::Keyspace ks{"t7:"};
    redis::RedisStore store(conn, ks, nullptr);
    const limit::Rule rule{.interval_us = 200'000, .burst = 2};
    assert_true(limited(store, "r:z:a", rule).allowed);
    assert_true(limited(store, "r:z:a", rule).allowed);
    auto refused = limited(store, "r:z:a", rule);
    assert_false(refused.allowed);
    assert_true(refused.retry_after_ms > 0);
    assert_true(refused.retry_after_ms <= 200);
    usleep(static_cast<useconds_t>(refused.retry_after_ms * 1000 + 20'000));
    auto later = limited(store, "r:z:a", rule);
    assert_true(later.allowed);
    assert_int_equal(later.remaining, 0); // one interval refilled, not two
    assert_true(later.reset_ms <= 400);
    usleep(450'000); // past the reset: the key has expired
    assert_true(conn.raw({"EXISTS", "t7:r:z:a"})->integer == 0);
    assert_int_equal(limited(store, "r:z:a", rule).remaining, 1);
    // A key of another type (WRONGTYPE inside the script): unavailable.
    conn.raw({"HSET", "t7:r:z:h", "a", "1"});
    assert_false(run(store.rate_limit("r:z:h", rule, 0)).ok());
    // After SCRIPT FLUSH: NOSCRIPT, then EVAL.
    conn.raw({"SCRIPT", "FLUSH"});
    assert_true(limited(store, "r:z:b", rule).allowed);
}

// Answers every call with the reply it was given.
class CannedConnection final : public redis::Connection {
  public:
    std::optional<Reply> reply;
    Task<std::optional<Reply>> call(std::string) override {
        std::optional<Reply> r = reply;
        co_return r;
    }
};

Reply integers(std::vector<std::int64_t> values) {
    Reply r;
    r.type = Reply::Type::array;
    for (std::int64_t v : values) {
        Reply e;
        e.type = Reply::Type::integer;
        e.integer = v;
        r.elements.push_back(e);
    }
    return r;
}

void a_malformed_rate_limit_reply_is_unavailable(void**) {
    CannedConnection conn;
    redis::Keyspace ks{"t8:"};
    redis::RedisStore store(conn, ks, nullptr);
    const limit::Rule rule{.interval_us = 1'000'000, .burst = 5};
    conn.reply = integers({1, 4, 0, 1000, 5});
    auto ok = run(store.rate_limit("r:z:a", rule, 0));
    assert_true(ok.ok());
    verdicts_equal(
        ok.value,
        limit::Verdict{
            .allowed = true, .limit = 5, .remaining = 4, .retry_after_ms = 0, .reset_ms = 1000});
    conn.reply = integers({0, 0, 700, 5000, 5});
    auto refused = run(store.rate_limit("r:z:a", rule, 0));
    assert_true(refused.ok());
    assert_false(refused.value.allowed);
    assert_int_equal(refused.value.retry_after_ms, 700);

    const std::vector<std::vector<std::int64_t>> broken = {
        {1, 4, 0, 1000},       // short
        {1, 4, 0, 1000, 5, 0}, // long
        {2, 4, 0, 1000, 5},    // allowed not 0/1
        {1, 4, 0, 1000, 6},    // another limit
        {1, 5, 0, 1000, 5},    // more remaining than the burst allows
        {1, -1, 0, 1000, 5},   // negative
        {0, 0, 0, 1000, 5},    // refused without a wait
        {0, 2, 700, 1000, 5},  // refused with requests left
        {1, 4, 9, 1000, 5},    // allowed with a wait
    };
    for (const auto& values : broken) {
        conn.reply = integers(values);
        assert_false(run(store.rate_limit("r:z:a", rule, 0)).ok());
    }
    Reply text;
    text.type = Reply::Type::string;
    text.str = "1";
    Reply mixed = integers({1, 4, 0, 1000});
    mixed.elements.push_back(text);
    for (const std::optional<Reply>& r :
         std::vector<std::optional<Reply>>{std::nullopt, text, mixed}) {
        conn.reply = r;
        assert_false(run(store.rate_limit("r:z:a", rule, 0)).ok());
    }
}

// Reads messages until the marker published after the writes.
std::vector<std::string> announcements(SocketConnection& sub, SocketConnection& conn,
                                       const std::string& channel) {
    conn.raw({"PUBLISH", channel, "end"});
    std::vector<std::string> seen;
    for (;;) {
        auto r = sub.read();
        assert_true(r.has_value());
        redis::Message m = redis::decode_message(*r);
        assert_int_equal(static_cast<int>(m.kind), static_cast<int>(redis::Message::Kind::message));
        assert_true(m.channel == channel);
        if (m.payload == "end") return seen;
        seen.emplace_back(m.payload);
    }
}

void session_writes_are_announced_others_are_not(void**) {
    NEED_SERVER();
    SocketConnection conn(g_server.port);
    SocketConnection sub(g_server.port);
    redis::Keyspace ks{"t4:"};
    redis::RedisStore store(conn, ks, nullptr);
    assert_true(
        sub.send(redis::format_command(std::vector<std::string>{"SUBSCRIBE", ks.channel()})));
    redis::Message confirmed = redis::decode_message(*sub.read());
    assert_int_equal(static_cast<int>(confirmed.kind),
                     static_cast<int>(redis::Message::Kind::subscribed));

    assert_true(run(store.set("s:abc", "rec", 60'000)).value);
    assert_true(run(store.set("x:plain", "v", 60'000)).value);
    assert_true(run(store.compare_and_set("s:abc", "rec", "rec2", 60'000)).value);
    assert_false(run(store.compare_and_set("s:abc", "stale", "rec3", 60'000)).value);
    assert_true(run(store.del("x:plain")).value);
    assert_true(run(store.del("s:abc")).value);
    assert_true(run(store.incr("s:counter", 1, 1000)).ok());
    std::vector<std::string> want = {"s:abc", "s:abc", "s:abc"}; // set, cas, del (no prefix)
    assert_true(announcements(sub, conn, ks.channel()) == want);
    assert_int_equal(conn.not_announced_count, 0);
}

void a_user_without_the_channel_still_writes_and_is_told(void**) {
    NEED_SERVER();
    SocketConnection admin(g_server.port);
    assert_false(
        admin.raw({"ACL", "SETUSER", "nopub", "on", ">pw", "~*", "+@all", "resetchannels"})
            ->is(Reply::Type::error));
    SocketConnection conn(g_server.port);
    assert_string_equal(conn.raw({"AUTH", "nopub", "pw"})->str.c_str(), "OK");
    redis::Keyspace ks{"t5:"};
    redis::RedisStore store(conn, ks, nullptr);
    assert_true(run(store.set("s:k", "v", 60'000)).value);
    assert_true(run(store.compare_and_set("s:k", "v", "w", 60'000)).value);
    auto removed = run(store.del("s:k"));
    assert_true(removed.ok());
    assert_true(removed.value); // the count without the "not announced" mark
    assert_int_equal(conn.not_announced_count, 3);
}

// ---- the parser, no server -------------------------------------------------------------

void commands_are_binary_safe_bulk_arrays(void**) {
    std::vector<std::string> argv = {"SET", "k", std::string("v\r\n\0", 4)};
    std::string want("*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$4\r\nv\r\n\0\r\n", 30);
    assert_true(redis::format_command(argv) == want);
}

void every_reply_type_parses_and_prefixes_are_partial(void**) {
    std::string in =
        "+OK\r\n-ERR x\r\n:-42\r\n$3\r\na\r\n\r\n$-1\r\n*2\r\n*1\r\n:1\r\n$0\r\n\r\n*-1\r\n";
    std::vector<Reply::Type> types = {Reply::Type::status, Reply::Type::error, Reply::Type::integer,
                                      Reply::Type::string, Reply::Type::nil,   Reply::Type::array,
                                      Reply::Type::nil};
    std::string_view rest = in;
    for (Reply::Type t : types) {
        for (std::size_t cut = 0; cut < rest.size(); ++cut) {
            Reply r;
            std::size_t used = 0;
            Parse p = redis::parse_reply(rest.substr(0, cut), r, used);
            if (p == Parse::done) break; // the prefix holds the whole reply
            assert_int_equal(static_cast<int>(p), static_cast<int>(Parse::partial));
        }
        Reply r;
        std::size_t used = 0;
        assert_int_equal(static_cast<int>(redis::parse_reply(rest, r, used)),
                         static_cast<int>(Parse::done));
        assert_int_equal(static_cast<int>(r.type), static_cast<int>(t));
        if (t == Reply::Type::integer) assert_int_equal(r.integer, -42);
        if (t == Reply::Type::string) assert_true(r.str == "a\r\n");
        if (t == Reply::Type::array) {
            assert_int_equal(r.elements.size(), 2);
            assert_int_equal(r.elements[0].elements[0].integer, 1);
        }
        rest.remove_prefix(used);
    }
    assert_true(rest.empty());
}

void hostile_replies_are_errors(void**) {
    for (std::string bad : {"?x\r\n", ":12a\r\n", ":\r\n", "$-2\r\n", "$2\r\nabcd\r\n", "*-5\r\n",
                            "$99999999999999999999\r\n", "*3000000\r\n"}) {
        Reply r;
        std::size_t used = 0;
        assert_int_equal(static_cast<int>(redis::parse_reply(bad, r, used)),
                         static_cast<int>(Parse::error));
    }
    std::string deep;
    for (int i = 0; i < 20; ++i) deep += "*1\r\n";
    deep += ":1\r\n";
    Reply r;
    std::size_t used = 0;
    assert_int_equal(static_cast<int>(redis::parse_reply(deep, r, used)),
                     static_cast<int>(Parse::error));
    // A line that never ends is refused once it is longer than any real one.
    std::string endless = "+" + std::string(70'000, 'a');
    assert_int_equal(static_cast<int>(redis::parse_reply(endless, r, used)),
                     static_cast<int>(Parse::error));
}

void beats_round_trip_and_junk_is_ignored(void**) {
    assert_int_equal(*redis::parse_beat(redis::beat_payload(kNow)), kNow);
    assert_false(redis::parse_beat("").has_value());
    assert_false(redis::parse_beat("12x").has_value());
    assert_true(redis::announces("s:abc"));
    assert_false(redis::announces("u:{bob}"));
    assert_true(redis::Keyspace{"p:"}.beat_channel("ab") == "p:invalidate:ab");
}

void a_formatted_beat_is_the_publish_command(void**) {
    std::string channel = redis::Keyspace{"p:"}.beat_channel("ab");
    std::string out = "left over from the previous beat";
    redis::format_beat(channel, kNow, out);
    std::vector<std::string> argv = {"PUBLISH", channel, redis::beat_payload(kNow)};
    assert_true(out == redis::format_command(argv));
    redis::format_beat(channel, -1, out);
    argv[2] = "-1";
    assert_true(out == redis::format_command(argv));
}

} // namespace

int main() {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(every_store_operation_round_trips),
        cmocka_unit_test(a_wrong_reply_is_unavailable_not_a_value),
        cmocka_unit_test(scripts_are_loaded_again_after_a_flush),
        cmocka_unit_test(the_rate_limit_script_is_the_gcra_step),
        cmocka_unit_test(the_rate_limit_refills_on_the_server_clock),
        cmocka_unit_test(a_malformed_rate_limit_reply_is_unavailable),
        cmocka_unit_test(session_writes_are_announced_others_are_not),
        cmocka_unit_test(a_user_without_the_channel_still_writes_and_is_told),
        cmocka_unit_test(commands_are_binary_safe_bulk_arrays),
        cmocka_unit_test(every_reply_type_parses_and_prefixes_are_partial),
        cmocka_unit_test(hostile_replies_are_errors),
        cmocka_unit_test(beats_round_trip_and_junk_is_ignored),
        cmocka_unit_test(a_formatted_beat_is_the_publish_command),
    };
    return cmocka_run_group_tests(tests, start_server, stop_server);
}
