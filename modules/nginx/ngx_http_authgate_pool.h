// The worker's own threads for blocking IdP calls (libcurl). nginx's thread pools other
// than "default" must be declared by the operator (`thread_pool` in the main context), and
// the default one also hashes passwords: a slow IdP would hold its threads and delay every
// sign-in. This pool is small and bounded, runs per worker process (threads started in
// init_process, joined in exit_process), and hands finished jobs back to the event loop
// through an eventfd registered as a read event.
#pragma once

#include "ngx_http_authgate_nginx.h"

#include <atomic>
#include <condition_variable>
#include <cstddef>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

namespace authgate::ngx {

class IdpPool {
  public:
    struct Job {
        std::function<void()> work; // on a pool thread; touches only memory it was given
        std::function<void()> done; // back on the event loop, once work has run
    };

    IdpPool(std::size_t threads, std::size_t max_queue, ngx_log_t* log);
    IdpPool(const IdpPool&) = delete;
    IdpPool& operator=(const IdpPool&) = delete;
    ~IdpPool();

    bool start();
    // False when the queue is full or the pool is stopped: the job will not run.
    bool post(std::unique_ptr<Job> job);
    // Set at stop: transfers in progress abort at their next progress check.
    const std::atomic<bool>& stopping() const noexcept { return stopping_; }
    // Joins the threads (a transfer in progress aborts within about a second); queued and
    // finished-but-undelivered jobs are dropped (their requests end with the process).
    void stop() noexcept;

  private:
    void run() noexcept;
    static void on_ready(ngx_event_t* ev) noexcept;
    void deliver() noexcept;

    std::size_t threads_;
    std::size_t max_queue_;
    ngx_log_t* log_;
    int fd_ = -1;
    ngx_connection_t* conn_ = nullptr;
    std::atomic<bool> stopping_{false};
    std::mutex mutex_;
    std::condition_variable wanted_;
    std::deque<std::unique_ptr<Job>> queue_;     // waiting for a thread
    std::vector<std::unique_ptr<Job>> finished_; // waiting for the event loop
    std::size_t pending_ = 0;                    // queued or running
    std::vector<std::thread> workers_;
};

} // namespace authgate::ngx
