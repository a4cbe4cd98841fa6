// BlockingRedis (clients/hiredis) against real redis-server processes: RedisStore from 8
// threads with exact totals, the pool's size limit seen by the server, AUTH with an ACL user
// and SELECT, command timeouts on a stopped server, fail-fast backoff while the server is
// dead and recovery when it returns on the same port, and Sentinel discovery with ROLE and
// failover. Skips, saying so, when redis-server is not installed.
#include "support/redis_server.h"
#include "support/support.h"

#include <unistd.h>

#include <atomic>
#include <chrono>
#include <csignal>
#include <mutex>
#include <thread>

#include "authgate/run_inline.h"
#include "blocking_redis.h"

using namespace authgate;
using namespace authgate::testing;
using hiredis::BlockingRedis;

namespace {

using SteadyClock = std::chrono::steady_clock;

Millis since(SteadyClock::time_point t0) {
    return std::chrono::duration_cast<std::chrono::milliseconds>(SteadyClock::now() - t0).count();
}

config::RedisPlan plan_for(int port, std::string prefix) {
    config::RedisPlan p;
    p.address = config::ServerAddress{"127.0.0.1", port, {}};
    p.prefix = std::move(prefix);
    p.connect_timeout = 500;
    p.command_timeout = 300;
    p.display = p.address.display();
    return p;
}

bool contains(const std::string& text, std::string_view part) {
    return text.find(part) != std::string::npos;
}

// Availability changes as the StateLog reports them.
struct Changes {
    std::mutex mutex;
    std::vector<BlockingRedis::Health> seen;
    BlockingRedis::StateLog log() {
        return [this](const BlockingRedis::Health& h) {
            std::lock_guard lock(mutex);
            seen.push_back(h);
        };
    }
};

#define NEED_REDIS()                                                                               \
    do {                                                                                           \
        if (!have_redis_server()) {                                                                \
            print_message("redis-server is not installed: skipped\n");                             \
            skip();                                                                                \
        }                                                                                          \
    } while (0)

// Retries `op` until it works or `ms` pass.
template <class Op> bool eventually(Millis ms, Op op) {
    auto t0 = SteadyClock::now();
    while (since(t0) < ms) {
        if (op()) return true;
        usleep(20'000);
    }
    return false;
}

void store_operations_from_eight_threads_add_up(void**) {
    NEED_REDIS();
    RedisServer server;
    assert_true(server.start());
    BlockingRedis redis(plan_for(server.port(), "b1:"), 4);
    redis::RedisStore store(redis, redis.keyspace(), nullptr);
    constexpr int kThreads = 8, kRounds = 250;
    std::atomic<int> failures{0};
    std::vector<std::thread> threads;
    for (int t = 0; t < kThreads; ++t) {
        threads.emplace_back([&, t] {
            std::string mine = "own" + std::to_string(t);
            for (int i = 0; i < kRounds; ++i) {
                if (!run_inline(store.incr("hits", 1, 60'000)).ok()) ++failures;
                std::string value = std::to_string(t) + ":" + std::to_string(i);
                if (!run_inline(store.set(mine, value, 60'000)).value) ++failures;
                auto got = run_inline(store.get(mine));
                if (!got.ok() || !got.value || *got.value != value) ++failures;
            }
        });
    }
    for (auto& th : threads) th.join();
    assert_int_equal(failures.load(), 0);
    auto total = run_inline(store.incr("hits", 0, 60'000));
    assert_true(total.ok());
    assert_int_equal(total.value, kThreads * kRounds);
    SocketConnection admin(server.port());
    assert_string_equal(admin.raw({"GET", "b1:hits"})->str.c_str(), "2000");
    BlockingRedis::Health h = redis.health();
    assert_true(h.available);
    assert_int_equal(h.failures, 0);
    assert_true(h.connections <= 4);
    assert_true(h.connect_attempts <= 4); // connections are reused, not reopened
}

void the_pool_never_exceeds_its_size(void**) {
    NEED_REDIS();
    RedisServer server;
    assert_true(server.start());
    BlockingRedis redis(plan_for(server.port(), "b2:"), 3);
    redis::RedisStore store(redis, redis.keyspace(), nullptr);
    std::atomic<bool> running{true};
    std::atomic<int> most_seen{0}, most_open{0}, failures{0};
    std::thread monitor([&] {
        while (running) {
            most_seen = std::max(most_seen.load(), server.client_count());
            most_open = std::max(most_open.load(), static_cast<int>(redis.health().connections));
            usleep(1000);
        }
    });
    std::vector<std::thread> threads;
    for (int t = 0; t < 8; ++t) {
        threads.emplace_back([&] {
            for (int i = 0; i < 150; ++i) {
                if (!run_inline(store.incr("n", 1, 60'000)).ok()) ++failures;
            }
        });
    }
    for (auto& th : threads) th.join();
    running = false;
    monitor.join();
    assert_int_equal(failures.load(), 0);
    assert_int_equal(run_inline(store.incr("n", 0, 60'000)).value, 8 * 150);
    print_message("most connections seen by the server: %d (pool of 3)\n", most_seen.load());
    assert_true(most_seen.load() >= 1);
    assert_true(most_seen.load() <= 3);
    assert_true(most_open.load() <= 3);
    assert_true(server.client_count() <= 3);
}

void auth_with_an_acl_user_and_select_db(void**) {
    NEED_REDIS();
    RedisServer server;
    assert_true(server.start({"--requirepass", "default-secret"}));
    SocketConnection admin(server.port());
    assert_string_equal(admin.raw({"AUTH", "default-secret"})->str.c_str(), "OK");
    assert_string_equal(
        admin.raw({"ACL", "SETUSER", "alice", "on", ">alice-secret", "~*", "&*", "+@all"})
            ->str.c_str(),
        "OK");

    config::RedisPlan p = plan_for(server.port(), "b3:");
    p.user = "alice";
    p.password = "alice-secret";
    p.db = 3;
    BlockingRedis alice(p, 2);
    redis::RedisStore store(alice, alice.keyspace(), nullptr);
    assert_true(run_inline(store.set("k", "in-db-3", 60'000)).value);
    assert_true(admin.raw({"SELECT", "3"}).has_value());
    assert_string_equal(admin.raw({"GET", "b3:k"})->str.c_str(), "in-db-3");
    assert_true(admin.raw({"SELECT", "0"}).has_value());
    assert_true(admin.raw({"GET", "b3:k"})->is(redis::Reply::Type::nil));

    config::RedisPlan by_default = plan_for(server.port(), "b3:");
    by_default.password = "default-secret"; // AUTH with the password alone
    BlockingRedis default_user(by_default, 1);
    redis::RedisStore default_store(default_user, default_user.keyspace(), nullptr);
    assert_true(run_inline(default_store.set("d", "1", 60'000)).value);

    // Refused: a wrong password (never quoted back) and none at all.
    config::RedisPlan wrong = p;
    wrong.password = "not-the-secret-XYZ";
    Changes changes;
    BlockingRedis refused(wrong, 1, changes.log());
    redis::RedisStore refused_store(refused, refused.keyspace(), nullptr);
    assert_false(run_inline(refused_store.get("k")).ok());
    BlockingRedis::Health h = refused.health();
    assert_false(h.available);
    assert_true(contains(h.last_error, "WRONGPASS"));
    assert_false(contains(h.last_error, "not-the-secret"));
    assert_int_equal(changes.seen.size(), 1);
    assert_false(contains(changes.seen[0].last_error, "not-the-secret"));

    config::RedisPlan none = plan_for(server.port(), "b3:");
    BlockingRedis anonymous(none, 1);
    redis::RedisStore anonymous_store(anonymous, anonymous.keyspace(), nullptr);
    assert_false(run_inline(anonymous_store.get("k")).ok());
    assert_false(anonymous.health().available);
    assert_true(contains(anonymous.health().last_error, "NOAUTH"));
}

void a_stopped_server_times_out_then_calls_fail_fast(void**) {
    NEED_REDIS();
    RedisServer server;
    assert_true(server.start());
    BlockingRedis redis(plan_for(server.port(), "b4:"), 2); // command_timeout=300ms
    redis::RedisStore store(redis, redis.keyspace(), nullptr);
    assert_true(run_inline(store.set("k", "v", 60'000)).value);
    server.pause(); // SIGSTOP: connects still succeed (backlog), replies never come
    auto t0 = SteadyClock::now();
    assert_false(run_inline(store.get("k")).ok());
    Millis waited = since(t0);
    print_message("a stopped server: nullopt after %lld ms (command_timeout 300)\n",
                  static_cast<long long>(waited));
    assert_true(waited >= 250);
    assert_true(waited <= 300 + 700);
    assert_true(contains(redis.health().last_error, "timed out"));
    // During the backoff no call waits for the stopped server.
    t0 = SteadyClock::now();
    for (int i = 0; i < 20; ++i) assert_false(run_inline(store.get("k")).ok());
    assert_true(since(t0) < 60);
    server.resume();
    assert_true(eventually(3000, [&] { return run_inline(store.get("k")).ok(); }));
    assert_true(redis.health().available);
}

void a_dead_server_fails_fast_until_it_returns_on_the_same_port(void**) {
    NEED_REDIS();
    RedisServer server;
    assert_true(server.start());
    Changes changes;
    BlockingRedis redis(plan_for(server.port(), "b5:"), 2, changes.log());
    redis::RedisStore store(redis, redis.keyspace(), nullptr);
    assert_true(run_inline(store.set("k", "v", 60'000)).value);
    server.kill_now();
    // The idle connection the server closed is dropped unused; the new one is refused.
    assert_false(run_inline(store.get("k")).ok());
    auto t_down = SteadyClock::now();
    BlockingRedis::Health down = redis.health();
    assert_false(down.available);
    assert_true(contains(down.last_error, "refused"));
    assert_true(down.retry_in_ms > 0 && down.retry_in_ms <= hiredis::kFirstBackoff);
    for (int i = 0; i < 20; ++i) assert_false(run_inline(store.get("k")).ok());
    if (since(t_down) < 90) { // still inside the first backoff: nothing was tried
        assert_int_equal(redis.health().connect_attempts, down.connect_attempts);
    }
    usleep(static_cast<useconds_t>(hiredis::kFirstBackoff + 20) * 1000);
    assert_false(run_inline(store.get("k")).ok()); // the retry, refused: the backoff doubles
    BlockingRedis::Health again = redis.health();
    assert_int_equal(again.connect_attempts, down.connect_attempts + 1);
    assert_true(again.retry_in_ms > hiredis::kFirstBackoff);
    assert_true(again.retry_in_ms <= 2 * hiredis::kFirstBackoff);

    assert_true(server.restart()); // same port
    assert_true(eventually(3000, [&] { return run_inline(store.set("k", "back", 60'000)).value; }));
    assert_true(redis.health().available);
    std::lock_guard lock(changes.mutex);
    assert_int_equal(changes.seen.size(), 2); // down once, up once
    assert_false(changes.seen[0].available);
    assert_true(changes.seen[1].available);
}

bool sentinel_knows_replica(int sentinel_port, const std::string& name) {
    SocketConnection s(sentinel_port);
    auto replicas = s.raw({"SENTINEL", "replicas", name});
    if (!replicas || !replicas->is(redis::Reply::Type::array) || replicas->elements.empty()) {
        return false;
    }
    for (const auto& field : replicas->elements[0].elements) {
        if (field.str == "master-link-down-time") return true;
    }
    return false;
}

int reported_master_port(int sentinel_port, const std::string& name) {
    SocketConnection s(sentinel_port);
    auto r = s.raw({"SENTINEL", "get-master-addr-by-name", name});
    if (!r || r->elements.size() != 2) return 0;
    return std::atoi(r->elements[1].str.c_str());
}

void sentinel_finds_the_master_checks_role_and_follows_a_failover(void**) {
    NEED_REDIS();
    RedisServer master, replica, sentinel;
    assert_true(master.start());
    assert_true(replica.start({"--replicaof", "127.0.0.1", std::to_string(master.port())}));
    if (!sentinel.start_sentinel("bmaster", master.port())) {
        print_message("redis-server --sentinel did not start: the Sentinel case is skipped\n");
        skip();
    }
    config::RedisPlan p = plan_for(0, "b6:");
    p.master_name = "bmaster";
    p.sentinels = {config::ServerAddress{"127.0.0.1", free_port(), {}}, // nobody listens
                   config::ServerAddress{"127.0.0.1", sentinel.port(), {}}};
    p.display = "sentinel master bmaster";
    BlockingRedis redis(p, 2);
    redis::RedisStore store(redis, redis.keyspace(), nullptr);
    assert_true(run_inline(store.set("k", "on-master", 60'000)).value);
    assert_string_equal(redis.health().server.c_str(),
                        ("127.0.0.1:" + std::to_string(master.port())).c_str());
    SocketConnection on_master(master.port());
    assert_string_equal(on_master.raw({"GET", "b6:k"})->str.c_str(), "on-master");

    // A sentinel that reports a replica as the master: ROLE refuses it.
    SocketConnection admin(sentinel.port());
    assert_string_equal(admin
                            .raw({"SENTINEL", "MONITOR", "wrongway", "127.0.0.1",
                                  std::to_string(replica.port()), "1"})
                            ->str.c_str(),
                        "OK");
    config::RedisPlan wrong = p;
    wrong.master_name = "wrongway";
    BlockingRedis misled(wrong, 1);
    assert_false(misled.command(std::vector<std::string>{"PING"}).has_value());
    assert_true(contains(misled.health().last_error, "not the master"));
    admin.raw({"SENTINEL", "REMOVE", "wrongway"});

    // The master dies and the sentinel promotes the replica: the failed connect sends the
    // pool back to the sentinels, and calls follow the new master.
    assert_true(
        eventually(10'000, [&] { return sentinel_knows_replica(sentinel.port(), "bmaster"); }));
    master.kill_now();
    assert_true(eventually(15'000, [&] {
        return reported_master_port(sentinel.port(), "bmaster") == replica.port();
    }));
    assert_true(eventually(
        5000, [&] { return run_inline(store.set("k2", "on-new-master", 60'000)).value; }));
    std::string promoted = "127.0.0.1:" + std::to_string(replica.port());
    assert_string_equal(redis.health().server.c_str(), promoted.c_str());
    SocketConnection on_new(replica.port());
    assert_string_equal(on_new.raw({"GET", "b6:k2"})->str.c_str(), "on-new-master");

    // The master is demoted under a pooled connection: READONLY fails the call, and the
    // connection and the master's address are given up.
    RedisServer elsewhere;
    assert_true(elsewhere.start());
    on_new.raw({"REPLICAOF", "127.0.0.1", std::to_string(elsewhere.port())});
    assert_false(run_inline(store.set("k3", "refused", 60'000)).ok());
    assert_true(contains(redis.health().last_error, "no longer the master"));
    assert_false(redis.health().available);
}

} // namespace

int main() {
    std::signal(SIGPIPE, SIG_IGN); // as httpd does: hiredis writes to sockets the server closed
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(store_operations_from_eight_threads_add_up),
        cmocka_unit_test(the_pool_never_exceeds_its_size),
        cmocka_unit_test(auth_with_an_acl_user_and_select_db),
        cmocka_unit_test(a_stopped_server_times_out_then_calls_fail_fast),
        cmocka_unit_test(a_dead_server_fails_fast_until_it_returns_on_the_same_port),
        cmocka_unit_test(sentinel_finds_the_master_checks_role_and_follows_a_failover),
    };
    return cmocka_run_group_tests(tests, nullptr, nullptr);
}
