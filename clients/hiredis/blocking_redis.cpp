#include "blocking_redis.h"

#include <hiredis/hiredis.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <vector>

#include "blocking_redis_link.h"

namespace authgate::hiredis {

namespace {

using SteadyClock = std::chrono::steady_clock;

Millis millis_until(SteadyClock::time_point t, SteadyClock::time_point now) {
    if (t <= now) return 0;
    return std::chrono::duration_cast<std::chrono::milliseconds>(t - now).count();
}

} // namespace

struct BlockingRedis::Slot {
    link::Context context;
    std::uint64_t epoch = 0; // State::epoch when it was opened
    bool probe = false;      // the one attempt that decides whether the backoff ends
    std::string server;      // where it is connected, for messages
};

struct BlockingRedis::State {
    State(config::RedisPlan p, std::size_t max, StateLog log)
        : plan(std::move(p)), keyspace{plan.prefix}, max_connections(std::max<std::size_t>(max, 1)),
          on_change(std::move(log)) {}

    const config::RedisPlan plan;
    const redis::Keyspace keyspace;
    const std::size_t max_connections;
    const StateLog on_change;
    std::atomic<bool> all_announced{true};

    mutable std::mutex mutex;
    std::condition_variable slot_free;
    std::vector<Slot> idle;
    std::size_t open = 0;    // idle, borrowed, or being opened
    std::uint64_t epoch = 0; // bumped when every open connection must go
    bool down = false;
    bool probing = false;
    SteadyClock::time_point retry_at{};
    Millis backoff = 0;
    std::optional<config::ServerAddress> master; // Sentinel: the master last found
    std::size_t next_sentinel = 0;
    Health counters; // last_error, server, failures, connect_attempts, busy

    Health snapshot(SteadyClock::time_point now) const {
        Health h = counters;
        h.available = !down;
        h.retry_in_ms = down ? millis_until(retry_at, now) : 0;
        h.connections = open;
        h.max_connections = max_connections;
        return h;
    }

    // Every open connection is given up: the idle ones now, the borrowed ones when they
    // come back. Returns the idle ones, to be closed outside the lock.
    std::vector<Slot> drop_all() {
        ++epoch;
        open -= idle.size();
        return std::exchange(idle, {});
    }

    // A connect or command failed. Returns the change to report (if this one made Redis
    // unavailable). A failure while already down only extends the backoff when it was the
    // retry's; other threads' calls that were in flight just end.
    std::optional<Health> failed(const std::string& why, bool probe, std::vector<Slot>& closing) {
        auto now = SteadyClock::now();
        ++counters.failures;
        counters.last_error = why;
        if (probe) probing = false;
        bool was_down = down;
        if (!down) {
            down = true;
            backoff = kFirstBackoff;
        } else if (probe) {
            backoff = std::min(backoff * 2, kMaxBackoff);
        } else {
            return std::nullopt;
        }
        retry_at = now + std::chrono::milliseconds(backoff);
        auto dropped = drop_all();
        std::move(dropped.begin(), dropped.end(), std::back_inserter(closing));
        if (was_down) return std::nullopt;
        return snapshot(now);
    }

    // A place in the pool came free; when availability changed, every waiter looks again
    // (during a backoff they fail at once instead of waiting out their time).
    void wake_waiters(bool changed) {
        if (changed) {
            slot_free.notify_all();
        } else {
            slot_free.notify_one();
        }
    }

    // A retry got its answer: Redis is back.
    std::optional<Health> recovered() {
        probing = false;
        if (!down) return std::nullopt;
        down = false;
        backoff = 0;
        return snapshot(SteadyClock::now());
    }
};

BlockingRedis::BlockingRedis(config::RedisPlan plan, std::size_t max_connections,
                             StateLog on_change)
    : state_(std::make_unique<State>(std::move(plan), max_connections, std::move(on_change))) {}

BlockingRedis::~BlockingRedis() = default;

const redis::Keyspace& BlockingRedis::keyspace() const noexcept { return state_->keyspace; }

const std::string& BlockingRedis::display() const noexcept { return state_->plan.display; }

const config::RedisPlan& BlockingRedis::plan() const noexcept { return state_->plan; }

void BlockingRedis::not_announced() noexcept { state_->all_announced = false; }

bool BlockingRedis::all_announced() const noexcept { return state_->all_announced; }

BlockingRedis::Health BlockingRedis::health() const {
    std::lock_guard lock(state_->mutex);
    return state_->snapshot(SteadyClock::now());
}

Task<std::optional<redis::Reply>> BlockingRedis::call(std::string command) {
    co_return execute(command);
}

std::optional<redis::Reply> BlockingRedis::command(std::span<const std::string> argv) {
    return execute(redis::format_command(argv));
}

std::optional<redis::Reply> BlockingRedis::execute(std::string_view encoded) {
    std::optional<Slot> slot = borrow();
    if (!slot) return std::nullopt;
    link::Exchange ex;
    try {
        ex = link::exchange(*slot->context, encoded);
    } catch (...) { // out of memory: the connection's state is unknown, it goes
        ex = link::Exchange{};
        ex.error = "out of memory";
    }
    give_back(std::move(*slot), ex.usable(), ex.demoted, ex.error);
    if (!ex.usable()) return std::nullopt;
    return std::move(ex.reply);
}

// An idle connection that is still open, or a new one while fewer than the maximum are;
// nothing during a backoff (and only the retry's call once it has run out).
std::optional<BlockingRedis::Slot> BlockingRedis::borrow() {
    State& s = *state_;
    std::vector<Slot> closing; // closed once the lock is released
    std::unique_lock lock(s.mutex);
    const auto deadline = SteadyClock::now() + std::chrono::milliseconds(s.plan.command_timeout);
    for (;;) {
        if (s.down) {
            if (s.probing || SteadyClock::now() < s.retry_at) return std::nullopt;
            s.probing = true;
            ++s.open;
            lock.unlock();
            return open_slot(true);
        }
        while (!s.idle.empty()) {
            Slot slot = std::move(s.idle.back());
            s.idle.pop_back();
            if (link::idle_and_open(*slot.context)) return slot;
            --s.open; // the server closed it while it was idle
            closing.push_back(std::move(slot));
        }
        if (s.open < s.max_connections) {
            ++s.open;
            lock.unlock();
            return open_slot(false);
        }
        if (s.plan.command_timeout <= 0) {
            s.slot_free.wait(lock);
        } else if (s.slot_free.wait_until(lock, deadline) == std::cv_status::timeout) {
            ++s.counters.busy;
            return std::nullopt;
        }
    }
}

// Called with a place counted in State::open (given up again on failure).
std::optional<BlockingRedis::Slot> BlockingRedis::open_slot(bool probe) {
    State& s = *state_;
    Result<Slot> opened = fail("out of memory");
    try {
        opened = connect_new();
    } catch (...) {
        opened = fail("out of memory");
    }
    std::vector<Slot> closing;
    std::optional<Health> change;
    {
        std::lock_guard lock(s.mutex);
        if (opened) {
            opened->probe = probe;
            return std::move(*opened);
        }
        --s.open;
        change = s.failed(opened.error(), probe, closing);
    }
    s.wake_waiters(change.has_value());
    tell(change);
    return std::nullopt;
}

Result<BlockingRedis::Slot> BlockingRedis::connect_new() {
    State& s = *state_;
    std::uint64_t epoch = 0;
    auto where = master_address();
    if (!where) return fail(where.error());
    {
        std::lock_guard lock(s.mutex);
        epoch = s.epoch;
        ++s.counters.connect_attempts;
        s.counters.server = where->display();
    }
    auto context = link::open(*where, s.plan.connect_timeout, s.plan.command_timeout);
    if (!context) {
        forget_master();
        return fail(context.error());
    }
    bool demoted = false;
    if (auto shaken = link::handshake(**context, s.plan, demoted); !shaken) {
        forget_master();
        return fail(where->display() + ": " + shaken.error());
    }
    return Slot{std::move(*context), epoch, false, where->display()};
}

void BlockingRedis::forget_master() {
    State& s = *state_;
    if (s.plan.master_name.empty()) return;
    std::lock_guard lock(s.mutex);
    s.master.reset();
}

Result<config::ServerAddress> BlockingRedis::master_address() {
    State& s = *state_;
    if (s.plan.master_name.empty()) return s.plan.address;
    std::size_t first = 0;
    {
        std::lock_guard lock(s.mutex);
        if (s.master) return *s.master;
        first = s.next_sentinel;
    }
    if (s.plan.sentinels.empty()) return fail("no sentinel is configured");
    std::string why;
    for (std::size_t i = 0; i < s.plan.sentinels.size(); ++i) {
        std::size_t at = (first + i) % s.plan.sentinels.size();
        auto found = link::ask_sentinel(s.plan.sentinels[at], s.plan);
        if (!found) {
            why = found.error();
            continue;
        }
        std::lock_guard lock(s.mutex);
        s.master = *found;
        s.next_sentinel = at; // the one that answered is asked first next time
        return std::move(*found);
    }
    return fail("no sentinel knows the master \"" + s.plan.master_name + "\" (" + why + ")");
}

// A connection that answered goes back to the pool (unless every connection was given up
// meanwhile); one that failed is closed.
void BlockingRedis::give_back(Slot slot, bool answered, bool demoted, const std::string& error) {
    State& s = *state_;
    std::vector<Slot> closing;
    std::optional<Health> change;
    {
        std::lock_guard lock(s.mutex);
        if (answered) {
            if (slot.probe) change = s.recovered();
            if (slot.epoch == s.epoch) {
                s.idle.push_back(std::move(slot));
            } else {
                --s.open;
                closing.push_back(std::move(slot));
            }
        } else {
            --s.open;
            if (demoted) s.master.reset(); // a failed-over master: ask the sentinels again
            change = s.failed(slot.server + ": " + error, slot.probe, closing);
            closing.push_back(std::move(slot));
        }
    }
    s.wake_waiters(change.has_value());
    tell(change);
}

void BlockingRedis::tell(const std::optional<Health>& change) const noexcept {
    if (!change || !state_->on_change) return;
    try {
        state_->on_change(*change);
    } catch (...) { // a logger that failed must not fail the call
    }
}

} // namespace authgate::hiredis
