#include "cache_subscriber.h"

#include <hiredis/hiredis.h>
#include <poll.h>
#include <pthread.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstring>
#include <optional>
#include <system_error>
#include <vector>

#include "blocking_redis_link.h"
#include "hiredis_reply.h"

namespace authgate::hiredis {

namespace {

using SteadyClock = std::chrono::steady_clock;

Millis steady_ms() {
    return std::chrono::duration_cast<std::chrono::milliseconds>(
               SteadyClock::now().time_since_epoch())
        .count();
}

std::string context_error(const redisContext& c, const char* otherwise) {
    return c.errstr[0] != '\0' ? std::string(c.errstr) : std::string(otherwise);
}

struct ReplyFree {
    void operator()(redisReply* r) const noexcept { freeReplyObject(r); }
};

constexpr const char* kReadonly = "readonly";

} // namespace

// A connected, handshaken context used without blocking reads: the thread reads only what
// poll(2) said is there, and writes whole commands (small; bounded by the send timeout).
struct CacheSubscriber::Connection {
    link::Context context;

    static Result<Connection> open(const config::ServerAddress& where,
                                   const config::RedisPlan& plan) {
        auto c = link::open(where, plan.connect_timeout, plan.command_timeout);
        if (!c) return fail(c.error());
        bool demoted = false;
        if (auto shaken = link::handshake(**c, plan, demoted); !shaken) {
            return fail(where.display() + ": " + shaken.error());
        }
        return Connection{std::move(*c)};
    }

    int fd() const { return context->fd; }

    Result<void> send(const std::vector<std::string>& argv) {
        return send_formatted(redis::format_command(argv));
    }

    Result<void> send_formatted(std::string_view encoded) {
        redisContext* c = context.get();
        if (redisAppendFormattedCommand(c, encoded.data(), encoded.size()) != REDIS_OK) {
            return fail(context_error(*c, "cannot queue a command"));
        }
        int done = 0;
        while (done == 0) {
            if (redisBufferWrite(c, &done) != REDIS_OK)
                return fail(context_error(*c, "write failed"));
        }
        return {};
    }

    // Reads what arrived and hands each complete reply to `on_reply` (which returns an
    // error message to end the connection, or "" to go on).
    template <class F> Result<void> read(F&& on_reply) {
        redisContext* c = context.get();
        if (redisBufferRead(c) != REDIS_OK) return fail(context_error(*c, "connection closed"));
        redis::Reply copy; // one per read: its buffers serve every reply of the read
        for (;;) {
            void* raw = nullptr;
            if (redisGetReplyFromReader(c, &raw) != REDIS_OK) {
                return fail(context_error(*c, "protocol error"));
            }
            if (raw == nullptr) return {};
            std::unique_ptr<redisReply, ReplyFree> reply(static_cast<redisReply*>(raw));
            if (is_readonly_error(*reply)) return fail(kReadonly);
            copy_reply(*reply, copy);
            if (std::string why = on_reply(copy); !why.empty()) return fail(why);
        }
    }
};

CacheSubscriber::CacheSubscriber(BlockingRedis& redis, SessionCache& cache, redis::BeatBoard& board,
                                 const Clock& clock, Log log)
    : redis_(redis), subscription_(cache, redis.keyspace(), board), clock_(clock),
      log_(std::move(log)) {}

CacheSubscriber::~CacheSubscriber() { stop(); }

Result<void> CacheSubscriber::start() {
    wake_fd_ = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (wake_fd_ < 0) return fail(std::string("eventfd: ") + std::strerror(errno));
    // The thread inherits this mask: the server's signals must reach its own threads.
    sigset_t all;
    sigset_t previous;
    sigfillset(&all);
    pthread_sigmask(SIG_BLOCK, &all, &previous);
    try {
        thread_ = std::thread([this] { run(); });
    } catch (const std::system_error& e) {
        pthread_sigmask(SIG_SETMASK, &previous, nullptr);
        return fail(std::string("cannot start the subscriber thread: ") + e.what());
    }
    pthread_sigmask(SIG_SETMASK, &previous, nullptr);
    return {};
}

void CacheSubscriber::stop() noexcept {
    stopping_.store(true);
    if (wake_fd_ >= 0) {
        std::uint64_t one = 1;
        (void)!::write(wake_fd_, &one, sizeof one);
    }
    if (thread_.joinable()) thread_.join();
    if (wake_fd_ >= 0) {
        ::close(wake_fd_);
        wake_fd_ = -1;
    }
}

bool CacheSubscriber::pause(Millis ms) const {
    pollfd p{wake_fd_, POLLIN, 0};
    (void)::poll(&p, 1, static_cast<int>(ms));
    return !stopping_.load();
}

void CacheSubscriber::report(Event event, const std::string& detail) noexcept {
    if (!log_) return;
    try {
        log_(event, detail);
    } catch (...) { // a logger that failed must not end the thread
    }
}

void CacheSubscriber::run() noexcept {
    Millis backoff = 0;
    while (!stopping_.load()) {
        std::string why;
        try {
            why = serve();
        } catch (const std::exception& e) {
            why = e.what();
        }
        bool was_confirmed = subscription_.confirmed();
        subscription_.lost();
        if (stopping_.load()) break;
        if (was_confirmed) backoff = 0;
        if (!lost_logged_) {
            report(Event::lost, why);
            lost_logged_ = true;
        }
        backoff =
            backoff == 0 ? kSubscribeFirstBackoff : std::min(backoff * 2, kSubscribeMaxBackoff);
        if (!pause(backoff)) break;
    }
}

std::string CacheSubscriber::serve() {
    const config::RedisPlan& plan = redis_.plan();
    auto where = redis_.master_address();
    if (!where) return where.error();
    // As the pool does: a master that cannot be reached (or says it is none) is asked of
    // the sentinels again.
    auto sub = Connection::open(*where, plan);
    if (!sub) {
        redis_.forget_master();
        return sub.error();
    }
    auto publisher = Connection::open(*where, plan);
    if (!publisher) {
        redis_.forget_master();
        return publisher.error();
    }
    if (auto sent = sub->send(subscription_.subscribe_command()); !sent) return sent.error();
    const Millis opened = steady_ms();
    Millis next_tick = opened + redis::kSessionCacheBeat;
    auto on_message = [&](const redis::Reply& reply) -> std::string {
        if (reply.is(redis::Reply::Type::error)) return "redis refused SUBSCRIBE: " + reply.str;
        if (subscription_.on_reply(reply, clock_.now_ms()) && lost_logged_) {
            report(Event::back, where->display());
            lost_logged_ = false;
        }
        return {};
    };
    // Beats are fire and forget (they come back through the subscription, or the cache
    // stops); only a demoted master ends the connections.
    auto on_published = [](const redis::Reply&) -> std::string { return {}; };
    while (!stopping_.load()) {
        Millis wait = std::max<Millis>(0, next_tick - steady_ms());
        pollfd fds[3] = {
            {sub->fd(), POLLIN, 0}, {publisher->fd(), POLLIN, 0}, {wake_fd_, POLLIN, 0}};
        if (::poll(fds, 3, static_cast<int>(wait)) < 0 && errno != EINTR) {
            return std::string("poll: ") + std::strerror(errno);
        }
        if (fds[2].revents != 0) return "stopping";
        if (fds[0].revents != 0) {
            if (auto r = sub->read(on_message); !r) return r.error();
        }
        if (fds[1].revents != 0) {
            if (auto r = publisher->read(on_published); !r) {
                if (r.error() == kReadonly) {
                    redis_.forget_master();
                    return where->display() + " is no longer the master (READONLY)";
                }
                return r.error();
            }
        }
        Millis now = steady_ms();
        if (now < next_tick) continue;
        next_tick = now + redis::kSessionCacheBeat;
        if (!subscription_.confirmed() && plan.connect_timeout > 0 &&
            now - opened > plan.connect_timeout) {
            return "subscribe timed out";
        }
        if (auto beat = subscription_.tick(clock_.now_ms())) {
            if (auto sent = publisher->send_formatted(*beat); !sent) return sent.error();
        }
    }
    return "stopping";
}

} // namespace authgate::hiredis
