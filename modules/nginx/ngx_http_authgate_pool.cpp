#include "ngx_http_authgate_pool.h"

#include <csignal>
#include <cstdint>

#include <pthread.h>
#include <sys/eventfd.h>
#include <unistd.h>

namespace authgate::ngx {

IdpPool::IdpPool(std::size_t threads, std::size_t max_queue, ngx_log_t* log)
    : threads_(threads), max_queue_(max_queue), log_(log) {}

IdpPool::~IdpPool() { stop(); }

bool IdpPool::start() {
    fd_ = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (fd_ == -1) {
        ngx_log_error(NGX_LOG_EMERG, log_, ngx_errno, "authgate: eventfd() failed");
        return false;
    }
    conn_ = ngx_get_connection(fd_, log_);
    if (conn_ == nullptr) {
        close(fd_);
        fd_ = -1;
        return false;
    }
    conn_->data = this;
    conn_->log = log_;
    conn_->read->log = log_;
    conn_->write->log = log_;
    conn_->read->handler = &IdpPool::on_ready;
    if (ngx_add_event(conn_->read, NGX_READ_EVENT, NGX_LEVEL_EVENT) != NGX_OK) return false;

    // The threads take no signals: nginx's main thread must see them (as in its own pools).
    sigset_t all, saved;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &saved);
    try {
        for (std::size_t i = 0; i < threads_; ++i) workers_.emplace_back([this] { run(); });
    } catch (const std::exception& e) {
        ngx_log_error(NGX_LOG_EMERG, log_, 0, "authgate: cannot start IdP threads: %s", e.what());
    }
    pthread_sigmask(SIG_SETMASK, &saved, nullptr);
    return workers_.size() == threads_;
}

bool IdpPool::post(std::unique_ptr<Job> job) {
    std::lock_guard<std::mutex> lock(mutex_);
    if (stopping_ || workers_.empty() || pending_ >= max_queue_) return false;
    queue_.push_back(std::move(job));
    ++pending_;
    wanted_.notify_one();
    return true;
}

void IdpPool::run() noexcept {
    for (;;) {
        std::unique_ptr<Job> job;
        {
            std::unique_lock<std::mutex> lock(mutex_);
            wanted_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
            if (stopping_) return;
            job = std::move(queue_.front());
            queue_.pop_front();
        }
        try {
            job->work();
        } catch (...) {
            // The work reports its own failures; nothing may escape the thread.
        }
        {
            std::lock_guard<std::mutex> lock(mutex_);
            finished_.push_back(std::move(job));
            --pending_;
        }
        std::uint64_t one = 1;
        ssize_t n = write(fd_, &one, sizeof one);
        static_cast<void>(n); // the counter only saturates; the loop drains finished_ anyway
    }
}

void IdpPool::on_ready(ngx_event_t* ev) noexcept {
    auto* c = static_cast<ngx_connection_t*>(ev->data);
    static_cast<IdpPool*>(c->data)->deliver();
}

void IdpPool::deliver() noexcept {
    std::uint64_t count = 0;
    ssize_t n = read(fd_, &count, sizeof count);
    static_cast<void>(n);
    std::vector<std::unique_ptr<Job>> ready;
    {
        std::lock_guard<std::mutex> lock(mutex_);
        ready.swap(finished_);
    }
    for (auto& job : ready) {
        try {
            job->done();
        } catch (const std::exception& e) {
            ngx_log_error(NGX_LOG_ALERT, log_, 0, "authgate: internal error: %s", e.what());
        } catch (...) {
            ngx_log_error(NGX_LOG_ALERT, log_, 0, "authgate: internal error");
        }
    }
}

void IdpPool::stop() noexcept {
    {
        std::lock_guard<std::mutex> lock(mutex_);
        stopping_ = true;
    }
    wanted_.notify_all();
    for (auto& t : workers_) {
        if (t.joinable()) t.join();
    }
    workers_.clear();
    queue_.clear();
    finished_.clear();
    if (conn_ != nullptr) {
        ngx_close_connection(conn_); // also closes fd_
        conn_ = nullptr;
        fd_ = -1;
    } else if (fd_ != -1) {
        close(fd_);
        fd_ = -1;
    }
}

} // namespace authgate::ngx
