// The session cache's subscription: the core's rules (redis::CacheSubscription: what each
// message does to the cache, when to beat, one publisher per interval across processes)
// with a manual clock, and CacheSubscriber (clients/hiredis, the thread Apache runs) against
// a real redis-server: confirmed and fed, invalidations delivered, a killed subscription
// turns the cache off until it is back, a dead server keeps it off, stop() returns at once.
// The redis-server cases skip, saying so, when it is not installed.
#include "support/redis_server.h"
#include "support/support.h"

#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <mutex>
#include <thread>

#include "authgate/cache_subscription.h"
#include "blocking_redis.h"
#include "cache_subscriber.h"

using namespace authgate;
using namespace authgate::testing;

namespace {

using SteadyClock = std::chrono::steady_clock;
constexpr Millis kT0 = 1'700'000'000'000;

redis::Reply array_of(std::vector<std::string> parts, bool last_integer = false) {
    redis::Reply r;
    r.type = redis::Reply::Type::array;
    for (std::size_t i = 0; i < parts.size(); ++i) {
        redis::Reply e;
        e.type = (last_integer && i + 1 == parts.size()) ? redis::Reply::Type::integer
                                                         : redis::Reply::Type::string;
        e.str = parts[i];
        r.elements.push_back(std::move(e));
    }
    return r;
}

Session session_of(const char* user) {
    Session s;
    s.user = user;
    s.created_ms = kT0;
    s.last_seen_ms = kT0;
    s.expires_ms = kT0 + 3'600'000;
    return s;
}

bool put(SessionCache& c, std::string_view cookie, std::string_view key, Millis now) {
    auto t = c.begin_fill(now);
    return t && c.fill(*t, cookie, key, SessionId{}, session_of("alice"), now);
}

void name_board(redis::BeatBoard& b, const char* id) { std::snprintf(b.id, sizeof b.id, "%s", id); }

void messages_feed_the_cache(void**) {
    SessionCache cache(redis::session_cache_limits(1000));
    redis::Keyspace ks{"t:"};
    redis::BeatBoard board;
    name_board(board, "0123456789abcdef");
    redis::CacheSubscription sub(cache, ks, board);
    assert_string_equal(sub.channel().c_str(), "t:invalidate");
    assert_string_equal(sub.beat_channel().c_str(), "t:invalidate:0123456789abcdef");
    auto cmd = sub.subscribe_command();
    assert_int_equal(cmd.size(), 3);
    assert_string_equal(cmd[0].c_str(), "SUBSCRIBE");

    // The invalidation channel's confirmation alone is not the subscription.
    assert_false(sub.on_reply(array_of({"subscribe", "t:invalidate", "1"}, true), kT0));
    assert_false(sub.confirmed());
    assert_true(sub.on_reply(array_of({"subscribe", sub.beat_channel(), "2"}, true), kT0));
    assert_true(sub.confirmed());
    assert_false(cache.usable(kT0)); // no beat back yet
    // A beat on another server's channel proves nothing; one on ours does.
    sub.on_reply(array_of({"message", "t:invalidate:ffffffffffffffff", std::to_string(kT0)}), kT0);
    assert_false(cache.usable(kT0 + 1));
    sub.on_reply(array_of({"message", sub.beat_channel(), std::to_string(kT0 + 1)}), kT0 + 1);
    assert_true(cache.usable(kT0 + 2));
    assert_true(put(cache, "cookie-a", "s:a", kT0 + 2));
    assert_true(static_cast<bool>(cache.find("cookie-a", kT0 + 3)));
    // An announcement drops the entry.
    sub.on_reply(array_of({"message", "t:invalidate", "s:a"}), kT0 + 4);
    assert_false(static_cast<bool>(cache.find("cookie-a", kT0 + 4)));
    // A lost subscription stops the cache at once.
    assert_true(put(cache, "cookie-b", "s:b", kT0 + 5));
    sub.lost();
    assert_false(sub.confirmed());
    assert_false(cache.usable(kT0 + 5));
    assert_int_equal(cache.size(), 0);
}

void beats_only_on_demand_and_once_per_interval(void**) {
    SessionCache cache(redis::session_cache_limits(1000));
    redis::Keyspace ks{"t:"};
    redis::BeatBoard board;
    name_board(board, "00000000000000aa");
    redis::CacheSubscription a(cache, ks, board);
    SessionCache other_cache(redis::session_cache_limits(1000));
    redis::CacheSubscription b(other_cache, ks, board); // another process of the server
    // Not confirmed: no beat, whatever the demand.
    (void)cache.find("x", kT0);
    assert_false(a.tick(kT0).has_value());
    for (auto* s : {&a, &b}) {
        s->on_reply(array_of({"subscribe", s->beat_channel(), "2"}, true), kT0);
    }
    // Demand seen at a tick keeps beats going for max_age.
    (void)cache.find("x", kT0 + 20);
    auto beat = a.tick(kT0 + 20);
    assert_true(beat.has_value());
    std::vector<std::string> publish = {"PUBLISH", a.beat_channel(), std::to_string(kT0 + 20)};
    assert_true(*beat == redis::format_command(publish));
    // The other process, with demand of its own, is covered by that beat in this interval.
    (void)other_cache.find("x", kT0 + 21);
    assert_false(b.tick(kT0 + 21).has_value());
    assert_true(b.tick(kT0 + 20 + redis::kSessionCacheBeatInterval).has_value());
    // Without new demand, beats stop once max_age has passed since the last lookup.
    assert_true(a.tick(kT0 + 20 + 2 * redis::kSessionCacheBeat).has_value());
    assert_false(a.tick(kT0 + 20 + 1000 + redis::kSessionCacheBeat).has_value());
}

// ---- the thread, against redis-server ---------------------------------------------

#define NEED_REDIS()                                                                               \
    do {                                                                                           \
        if (!have_redis_server()) {                                                                \
            print_message("redis-server is not installed: skipped\n");                             \
            skip();                                                                                \
        }                                                                                          \
    } while (0)

config::RedisPlan plan_for(int port) {
    config::RedisPlan p;
    p.address = config::ServerAddress{"127.0.0.1", port, {}};
    p.prefix = "cs:";
    p.connect_timeout = 500;
    p.command_timeout = 300;
    p.session_cache = 1000;
    p.display = p.address.display();
    return p;
}

template <class Op> bool eventually(Millis ms, Op op) {
    auto t0 = SteadyClock::now();
    while (SteadyClock::now() - t0 < std::chrono::milliseconds(ms)) {
        if (op()) return true;
        usleep(5'000);
    }
    return false;
}

struct Events {
    std::mutex mutex;
    int lost = 0;
    int back = 0;
    hiredis::CacheSubscriber::Log log() {
        return [this](hiredis::CacheSubscriber::Event e, const std::string&) {
            std::lock_guard lock(mutex);
            (e == hiredis::CacheSubscriber::Event::lost ? lost : back) += 1;
        };
    }
    int count(bool want_lost) {
        std::lock_guard lock(mutex);
        return want_lost ? lost : back;
    }
};

// Live: a lookup keeps beats going, and a beat is back within the live window.
bool live(SessionCache& cache, const Clock& clock) {
    (void)cache.find("probe", clock.now_ms());
    return cache.usable(clock.now_ms());
}

void thread_keeps_the_cache_live_and_fed(void**) {
    NEED_REDIS();
    RedisServer server;
    assert_true(server.start());
    hiredis::BlockingRedis redis(plan_for(server.port()), 2);
    SessionCache cache(redis::session_cache_limits(1000));
    redis::BeatBoard board;
    name_board(board, "1111111111111111");
    SystemClock clock;
    Events events;
    hiredis::CacheSubscriber sub(redis, cache, board, clock, events.log());
    assert_false(cache.usable(clock.now_ms()));
    assert_true(sub.start().ok());
    assert_true(eventually(2000, [&] { return live(cache, clock); }));
    // Stays live under demand (beats every interval), and an announcement drops an entry.
    assert_true(put(cache, "cookie-a", "s:a", clock.now_ms()));
    usleep(200'000);
    assert_true(live(cache, clock));
    SocketConnection admin(server.port());
    assert_true(admin.raw({"PUBLISH", "cs:invalidate", "s:a"}).has_value());
    assert_true(eventually(500, [&] { return !cache.find("cookie-a", clock.now_ms()); }));
    assert_true(live(cache, clock));

    // A killed subscription turns it off at once (emptied: not the live window running
    // out), and it is back after the backoff.
    assert_true(put(cache, "cookie-b", "s:b", clock.now_ms()));
    auto killed = admin.raw({"CLIENT", "KILL", "TYPE", "pubsub"});
    assert_true(killed.has_value());
    assert_int_equal(killed->integer, 1);
    assert_true(eventually(200, [&] { return cache.size() == 0; }));
    assert_false(cache.usable(clock.now_ms()));
    assert_true(eventually(2000, [&] { return live(cache, clock); }));
    assert_int_equal(events.count(true), 1);
    assert_int_equal(events.count(false), 1);

    // A dead server: off, and stop() still returns at once.
    server.kill_now();
    assert_true(eventually(100, [&] { return !cache.usable(clock.now_ms()); }));
    usleep(300'000);
    assert_false(live(cache, clock));
    auto t0 = SteadyClock::now();
    sub.stop();
    assert_true(SteadyClock::now() - t0 < std::chrono::milliseconds(100));
}

void stop_wakes_an_idle_thread_at_once(void**) {
    NEED_REDIS();
    RedisServer server;
    assert_true(server.start());
    hiredis::BlockingRedis redis(plan_for(server.port()), 1);
    SessionCache cache(redis::session_cache_limits(1000));
    redis::BeatBoard board;
    name_board(board, "2222222222222222");
    SystemClock clock;
    hiredis::CacheSubscriber sub(redis, cache, board, clock);
    assert_true(sub.start().ok());
    assert_true(eventually(2000, [&] { return live(cache, clock); }));
    auto t0 = SteadyClock::now();
    sub.stop();
    assert_true(SteadyClock::now() - t0 < std::chrono::milliseconds(200));
    assert_false(cache.usable(clock.now_ms()));
    assert_true(eventually(500, [&] { return server.client_count() == 0; })); // both closed
}

} // namespace

int main() {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(messages_feed_the_cache),
        cmocka_unit_test(beats_only_on_demand_and_once_per_interval),
        cmocka_unit_test(thread_keeps_the_cache_live_and_fed),
        cmocka_unit_test(stop_wakes_an_idle_thread_at_once),
    };
    return cmocka_run_group_tests(tests, nullptr, nullptr);
}
