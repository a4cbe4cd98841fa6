// Offloading: password hashing on nginx's thread pool, IdP calls on the worker's own
// threads, and the posted wake-up of a flow that waited for another request's IdP fetch.
// The request stays blocked while any of them runs and is resumed on the event loop.
#include "ngx_http_authgate_request.h"

#include <memory>

namespace authgate::ngx {

// ---- offloading to nginx's thread pool ------------------------------------------

namespace {

// A job the request was blocked on has finished (thread, IdP call, posted wake-up):
// unblock the request and resume its flow.
void resume_blocked(RequestState& state) {
    ngx_http_request_t* r = state.r;
    ngx_connection_t* c = r->connection;
    ngx_http_set_log_request(c->log, r);
    r->main->blocked--;
    state.wake();
    ngx_http_run_posted_requests(c);
}

struct ThreadJob {
    std::function<void()>* work;
    RequestState* state;
    bool failed;
};

void thread_run(void* data, ngx_log_t* /*log*/) {
    auto* job = static_cast<ThreadJob*>(data);
    try {
        (*job->work)();
    } catch (...) {
        job->failed = true;
    }
}

void thread_done(ngx_event_t* ev) {
    auto* job = static_cast<ThreadJob*>(ev->data);
    if (Runtime* rt = runtime(); rt != nullptr && rt->hashing > 0) --rt->hashing;
    resume_blocked(*job->state);
}

struct ThreadAwaiter {
    RequestState& state;
    std::function<void()>& work;
    ThreadJob* job = nullptr;

    bool await_ready() const noexcept { return false; }
    bool await_suspend(std::coroutine_handle<> h) {
        Runtime* rt = runtime();
        ngx_http_request_t* r = state.r;
        if (rt == nullptr || rt->thread_pool == nullptr) return false;
        if (rt->hashing >= kMaxHashingPerWorker) return false; // bounded: 503, not a queue
        ngx_thread_task_t* task = ngx_thread_task_alloc(r->pool, sizeof(ThreadJob));
        if (task == nullptr) return false;
        job = static_cast<ThreadJob*>(task->ctx);
        job->work = &work;
        job->state = &state;
        job->failed = false;
        task->handler = thread_run;
        task->event.handler = thread_done;
        task->event.data = job;
        if (ngx_thread_task_post(rt->thread_pool, task) != NGX_OK) {
            job = nullptr;
            return false;
        }
        ++rt->hashing;
        r->main->blocked++;
        state.park(h);
        return true;
    }
    bool await_resume() const noexcept { return job != nullptr && !job->failed; }
};

// An IdP call on the worker's IdP threads: the job runs `work` there and comes back to
// the event loop through the pool, which wakes the request.
struct IdpAwaiter {
    RequestState& state;
    std::function<void()>& work;
    bool ran = false;

    bool await_ready() const noexcept { return false; }
    bool await_suspend(std::coroutine_handle<> h) {
        Runtime* rt = runtime();
        if (rt == nullptr || rt->idp_pool == nullptr) return false;
        auto job = std::make_unique<IdpPool::Job>();
        job->work = [this] {
            work();
            ran = true;
        };
        RequestState* st = &state;
        job->done = [st] { resume_blocked(*st); };
        if (!rt->idp_pool->post(std::move(job))) return false;
        state.r->main->blocked++;
        state.park(h);
        return true;
    }
    bool await_resume() const noexcept { return ran; }
};

} // namespace

Task<bool> ThreadOffloader::run(std::function<void()> work) {
    co_return co_await ThreadAwaiter{state_, work};
}

Task<bool> IdpOffloader::run(std::function<void()> work) {
    co_return co_await IdpAwaiter{state_, work};
}

// ---- waiting for another request's IdP fetch ----------------------------------------

EventParking::EventParking(RequestState& state) : state_(state) {
    ngx_memzero(&event_, sizeof event_);
    event_.handler = &EventParking::on_wake;
    event_.data = this;
    event_.log = state.r->connection->log;
}

EventParking::~EventParking() {
    if (event_.posted) {
        ngx_delete_posted_event(&event_);
    }
}

// The request stays blocked (not freed) until the posted event has resumed it.
void EventParking::park(std::coroutine_handle<> h) {
    state_.park(h);
    state_.r->main->blocked++;
    parked_ = true;
}

void EventParking::wake() noexcept {
    if (!parked_ || event_.posted) return;
    ngx_post_event(&event_, &ngx_posted_events);
}

void EventParking::on_wake(ngx_event_t* ev) noexcept {
    auto* self = static_cast<EventParking*>(ev->data);
    self->parked_ = false;
    resume_blocked(self->state_);
}
} // namespace authgate::ngx
