#include "support/redis_server.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>

namespace authgate::testing {

namespace {

// cmocka leaves a failed test with longjmp, past the destructors: every process started here
// is also remembered, and whatever is still running at exit is killed then.
std::vector<pid_t>& started() {
    static std::vector<pid_t> pids;
    return pids;
}

std::vector<std::string>& directories() {
    static std::vector<std::string> dirs;
    return dirs;
}

void kill_leftovers() {
    for (pid_t pid : started()) {
        kill(pid, SIGCONT);
        kill(pid, SIGKILL);
        waitpid(pid, nullptr, 0);
    }
    started().clear();
    std::error_code ignored;
    for (const auto& dir : directories()) std::filesystem::remove_all(dir, ignored);
}

void remember(pid_t pid) {
    // The lists exist before the handler is registered, so they outlive its run at exit.
    static bool registered = (started(), directories(), std::atexit(kill_leftovers) == 0);
    (void)registered;
    started().push_back(pid);
}

void forget(pid_t pid) { std::erase(started(), pid); }

} // namespace

bool have_redis_server() { return std::system("command -v redis-server >/dev/null 2>&1") == 0; }

int free_port() {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a);
    socklen_t len = sizeof a;
    getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
    ::close(fd);
    return ntohs(a.sin_port);
}

// ---- SocketConnection ------------------------------------------------------------------

SocketConnection::SocketConnection(int port) {
    fd_ = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(static_cast<uint16_t>(port));
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::connect(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
        ::close(fd_);
        fd_ = -1;
        return;
    }
    timeval tv{2, 0};
    setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
}

SocketConnection::~SocketConnection() {
    if (fd_ >= 0) ::close(fd_);
}

Task<std::optional<redis::Reply>> SocketConnection::call(std::string command) {
    co_return send(command) ? read() : std::nullopt;
}

std::optional<redis::Reply> SocketConnection::raw(std::vector<std::string> argv) {
    return send(redis::format_command(argv)) ? read() : std::nullopt;
}

bool SocketConnection::send(std::string_view bytes) {
    if (fd_ < 0) return false;
    while (!bytes.empty()) {
        ssize_t n = ::write(fd_, bytes.data(), bytes.size());
        if (n <= 0) return false;
        bytes.remove_prefix(static_cast<std::size_t>(n));
    }
    return true;
}

std::optional<redis::Reply> SocketConnection::read() {
    for (;;) {
        redis::Reply r;
        std::size_t used = 0;
        redis::Parse p = redis::parse_reply(buf_, r, used);
        if (p == redis::Parse::done) {
            buf_.erase(0, used);
            return r;
        }
        if (p == redis::Parse::error) return std::nullopt;
        char chunk[4096];
        ssize_t n = ::read(fd_, chunk, sizeof chunk);
        if (n <= 0) return std::nullopt;
        buf_.append(chunk, static_cast<std::size_t>(n));
    }
}

// ---- RedisServer -----------------------------------------------------------------------

RedisServer::~RedisServer() {
    stop();
    if (!dir_.empty()) std::filesystem::remove_all(dir_);
}

bool RedisServer::start(std::vector<std::string> extra, int port) {
    char tmpl[] = "/tmp/authgate-redis-unit-XXXXXX";
    if (dir_.empty()) directories().push_back(dir_ = mkdtemp(tmpl));
    port_ = port != 0 ? port : free_port();
    argv_ = {"--port",
             std::to_string(port_),
             "--bind",
             "127.0.0.1",
             "--save",
             "",
             "--appendonly",
             "no",
             "--dir",
             dir_,
             "--daemonize",
             "no",
             "--logfile",
             dir_ + "/redis.log",
             "--repl-diskless-sync-delay",
             "0"};
    argv_.insert(argv_.end(), extra.begin(), extra.end());
    return spawn();
}

bool RedisServer::start_sentinel(const std::string& name, int master_port) {
    char tmpl[] = "/tmp/authgate-sentinel-unit-XXXXXX";
    if (dir_.empty()) directories().push_back(dir_ = mkdtemp(tmpl));
    port_ = free_port();
    std::string conf = dir_ + "/sentinel.conf";
    std::ofstream(conf) << "port " << port_ << "\nbind 127.0.0.1\ndaemonize no\ndir " << dir_
                        << "\nlogfile " << dir_ << "/sentinel.log\nsentinel monitor " << name
                        << " 127.0.0.1 " << master_port << " 1\nsentinel down-after-milliseconds "
                        << name << " 400\nsentinel failover-timeout " << name << " 2000\n";
    argv_ = {conf, "--sentinel"};
    return spawn();
}

bool RedisServer::spawn() {
    std::vector<char*> args;
    std::string program = "redis-server";
    args.push_back(program.data());
    for (auto& a : argv_) args.push_back(a.data());
    args.push_back(nullptr);
    pid_ = fork();
    if (pid_ == 0) {
        // Not holding the test's output open (a pipe reader would wait for the server too).
        int null_fd = open("/dev/null", O_RDWR);
        dup2(null_fd, STDOUT_FILENO);
        dup2(null_fd, STDERR_FILENO);
        execvp("redis-server", args.data());
        _exit(127);
    }
    if (pid_ > 0) remember(pid_);
    if (pid_ < 0 || !wait_until_answering()) {
        kill_now();
        return false;
    }
    return true;
}

bool RedisServer::wait_until_answering() const {
    for (int i = 0; i < 200; ++i) {
        SocketConnection c(port_);
        if (c.connected()) {
            auto r = c.raw({"PING"});
            // PONG, or NOAUTH from a server that wants a password: either way it is up.
            if (r && (r->str == "PONG" || r->str.starts_with("NOAUTH"))) return true;
        }
        usleep(25'000);
    }
    return false;
}

bool RedisServer::restart() {
    stop();
    return spawn();
}

void RedisServer::stop() {
    if (pid_ <= 0) return;
    kill(pid_, SIGCONT);
    kill(pid_, SIGTERM);
    waitpid(pid_, nullptr, 0);
    forget(pid_);
    pid_ = -1;
}

void RedisServer::kill_now() {
    if (pid_ <= 0) return;
    kill(pid_, SIGKILL);
    waitpid(pid_, nullptr, 0);
    forget(pid_);
    pid_ = -1;
}

void RedisServer::pause() {
    if (pid_ > 0) kill(pid_, SIGSTOP);
}

void RedisServer::resume() {
    if (pid_ > 0) kill(pid_, SIGCONT);
}

int RedisServer::client_count(const std::string& password) const {
    SocketConnection c(port_);
    if (!password.empty()) c.raw({"AUTH", password});
    auto list = c.raw({"CLIENT", "LIST"});
    if (!list || !list->is(redis::Reply::Type::string)) return -1;
    int lines = static_cast<int>(std::count(list->str.begin(), list->str.end(), '\n'));
    return lines - 1;
}

} // namespace authgate::testing
