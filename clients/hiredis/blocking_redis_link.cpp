#include "blocking_redis_link.h"

#include <hiredis/hiredis.h>
#include <poll.h>

#include <cerrno>
#include <charconv>
#include <new>
#include <vector>

#include "hiredis_reply.h"

namespace authgate::hiredis::link {

namespace {

timeval to_timeval(Millis ms) {
    return timeval{static_cast<time_t>(ms / 1000), static_cast<suseconds_t>((ms % 1000) * 1000)};
}

struct ReplyFree {
    void operator()(redisReply* r) const noexcept { freeReplyObject(r); }
};

redisContext* connect_to(const config::ServerAddress& a, Millis timeout) {
    if (timeout <= 0) {
        return a.unix_path.empty() ? redisConnect(a.ip.c_str(), a.port)
                                   : redisConnectUnix(a.unix_path.c_str());
    }
    timeval tv = to_timeval(timeout);
    return a.unix_path.empty() ? redisConnectWithTimeout(a.ip.c_str(), a.port, tv)
                               : redisConnectUnixWithTimeout(a.unix_path.c_str(), tv);
}

// One handshake command; an error reply is a failure that quotes the server's error text
// (Redis never echoes arguments in it).
Result<redis::Reply> ask(redisContext& c, std::string_view what,
                         const std::vector<std::string>& argv) {
    Exchange ex = link::exchange(c, redis::format_command(argv));
    if (!ex.reply) return fail(std::string(what) + ": " + ex.error);
    if (ex.reply->is(redis::Reply::Type::error)) {
        return fail("redis refused " + std::string(what) + ": " + ex.reply->str);
    }
    return std::move(*ex.reply);
}

bool says_master(const redis::Reply& role) {
    return role.is(redis::Reply::Type::array) && !role.elements.empty() &&
           role.elements[0].str == "master";
}

} // namespace

void ContextFree::operator()(redisContext* c) const noexcept { redisFree(c); }

Result<Context> open(const config::ServerAddress& address, Millis connect_timeout,
                     Millis command_timeout) {
    Context c(connect_to(address, connect_timeout));
    if (!c) return fail(address.display() + ": cannot allocate a connection");
    if (c->err != 0) return fail(address.display() + ": " + c->errstr);
    if (command_timeout > 0 && redisSetTimeout(c.get(), to_timeval(command_timeout)) != REDIS_OK) {
        return fail(address.display() + ": cannot set the command timeout: " + c->errstr);
    }
    return c;
}

Exchange exchange(redisContext& c, std::string_view encoded) {
    Exchange out;
    if (redisAppendFormattedCommand(&c, encoded.data(), encoded.size()) != REDIS_OK) {
        out.error = c.errstr[0] != '\0' ? c.errstr : "cannot queue the command";
        return out;
    }
    void* raw = nullptr;
    errno = 0;
    int rc = redisGetReply(&c, &raw);
    int read_errno = errno;
    std::unique_ptr<redisReply, ReplyFree> reply(static_cast<redisReply*>(raw));
    if (rc != REDIS_OK || reply == nullptr) {
        // SO_RCVTIMEO / SO_SNDTIMEO expired: hiredis reports the EAGAIN as an I/O error.
        out.timed_out =
            c.err == REDIS_ERR_IO && (read_errno == EAGAIN || read_errno == EWOULDBLOCK);
        out.error = out.timed_out         ? "command timed out"
                    : c.errstr[0] != '\0' ? c.errstr
                                          : "no reply";
        return out;
    }
    if (is_readonly_error(*reply)) {
        out.refused = out.demoted = true;
        out.error = "the server is no longer the master (READONLY)";
    } else if (reply->type == REDIS_REPLY_ERROR && reply->str != nullptr &&
               std::string_view(reply->str, reply->len).starts_with("NOAUTH")) {
        out.refused = true;
        out.error = "the server wants a password (NOAUTH)";
    }
    try {
        copy_reply(*reply, out.reply.emplace());
    } catch (const std::bad_alloc&) {
        out.reply.reset();
        out.error = "out of memory copying the reply";
    }
    return out;
}

Result<void> handshake(redisContext& c, const config::RedisPlan& plan, bool& demoted) {
    demoted = false;
    if (!plan.password.empty()) {
        std::vector<std::string> auth = {"AUTH"};
        if (!plan.user.empty()) auth.push_back(plan.user);
        auth.push_back(plan.password);
        if (auto r = ask(c, "AUTH", auth); !r) return fail(r.error());
    }
    if (plan.db != 0) {
        if (auto r = ask(c, "SELECT", {"SELECT", std::to_string(plan.db)}); !r) {
            return fail(r.error());
        }
    }
    if (plan.master_name.empty()) return {};
    auto role = ask(c, "ROLE", {"ROLE"});
    if (!role) return fail(role.error());
    if (!says_master(*role)) {
        demoted = true;
        return fail("the server is not the master of \"" + plan.master_name + "\"");
    }
    return {};
}

Result<config::ServerAddress> ask_sentinel(const config::ServerAddress& sentinel,
                                           const config::RedisPlan& plan) {
    auto c = open(sentinel, plan.connect_timeout, plan.command_timeout);
    if (!c) return fail("sentinel " + c.error());
    auto r = ask(**c, "SENTINEL", {"SENTINEL", "get-master-addr-by-name", plan.master_name});
    if (!r) return fail("sentinel " + sentinel.display() + ": " + r.error());
    const redis::Reply& reply = *r;
    int port = 0;
    if (reply.is(redis::Reply::Type::array) && reply.elements.size() == 2 &&
        reply.elements[0].is(redis::Reply::Type::string) && !reply.elements[0].str.empty()) {
        const std::string& p = reply.elements[1].str;
        auto [end, ec] = std::from_chars(p.data(), p.data() + p.size(), port);
        if (ec == std::errc{} && end == p.data() + p.size() && port > 0 && port <= 65535) {
            return config::ServerAddress{reply.elements[0].str, port, {}};
        }
    }
    return fail("sentinel " + sentinel.display() + " does not know the master \"" +
                plan.master_name + "\"");
}

bool idle_and_open(redisContext& c) noexcept {
    if (c.fd < 0) return false;
    pollfd p{c.fd, POLLIN, 0};
    return ::poll(&p, 1, 0) == 0;
}

} // namespace authgate::hiredis::link
