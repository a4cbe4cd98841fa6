// Real redis-server processes for unit tests: started on a free 127.0.0.1 port in a temporary
// directory, stopped (and the directory removed) by the test; a Sentinel too. Also a plain
// blocking socket that speaks through the core's encoder and parser, for checks that must
// not go through the code under test.
#pragma once

#include <sys/types.h>

#include <optional>
#include <string>
#include <vector>

#include "authgate/redis.h"

namespace authgate::testing {

bool have_redis_server();
int free_port();

// A blocking socket to 127.0.0.1:port (2 s receive timeout).
class SocketConnection final : public redis::Connection {
  public:
    explicit SocketConnection(int port);
    ~SocketConnection() override;
    SocketConnection(const SocketConnection&) = delete;
    SocketConnection& operator=(const SocketConnection&) = delete;
    bool connected() const { return fd_ >= 0; }
    int not_announced_count = 0;

    Task<std::optional<redis::Reply>> call(std::string command) override;
    void not_announced() noexcept override { ++not_announced_count; }

    std::optional<redis::Reply> raw(std::vector<std::string> argv);
    bool send(std::string_view bytes);
    std::optional<redis::Reply> read();

  private:
    int fd_ = -1;
    std::string buf_;
};

class RedisServer {
  public:
    RedisServer() = default;
    ~RedisServer();
    RedisServer(const RedisServer&) = delete;
    RedisServer& operator=(const RedisServer&) = delete;

    // redis-server with `extra` arguments on `port` (0: a free one); true once it answers.
    bool start(std::vector<std::string> extra = {}, int port = 0);
    // A sentinel watching the master at 127.0.0.1:master_port as `name` (quorum 1).
    bool start_sentinel(const std::string& name, int master_port);
    // The same process again, on the same port with the same arguments.
    bool restart();
    void stop();     // SIGTERM (after SIGCONT), waited for
    void kill_now(); // SIGKILL, waited for
    void pause();    // SIGSTOP
    void resume();   // SIGCONT

    int port() const { return port_; }
    bool running() const { return pid_ > 0; }
    // Clients connected now (CLIENT LIST), this query's own connection not counted; -1 when
    // the server did not answer. `password`: the default user's, when it needs one.
    int client_count(const std::string& password = {}) const;

  private:
    bool spawn();
    bool wait_until_answering() const;

    pid_t pid_ = -1;
    int port_ = 0;
    std::string dir_;
    std::vector<std::string> argv_; // everything after the program name, port included
};

} // namespace authgate::testing
