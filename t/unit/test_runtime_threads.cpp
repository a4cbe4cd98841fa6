// The core Runtime shared by N threads (Apache's event MPM): the session cache, the user
// status memory, the provider registry with its single-flight JWKS/discovery fetches and
// the verified-token cache hammered from several std::threads, flows completed with
// run_inline (IdP answers arriving on other threads). Meant for the sanitizer builds
// (AUTHGATE_SANITIZE=thread catches the data races this pins; ASan the lifetimes).
#include "support/sso_world.h"

#include <atomic>
#include <chrono>
#include <latch>
#include <stdexcept>
#include <thread>

#include <nlohmann/json.hpp>

#include "authgate/run_inline.h"
#include "authgate/runtime.h"

using namespace authgate;
using namespace authgate::testing;
using nlohmann::json;

namespace {

constexpr int kThreads = 6;
SigningKey* g_key = nullptr;

Session session_of(const std::string& user, Millis now) {
    Session s;
    s.user = user;
    s.created_ms = now;
    s.last_seen_ms = now;
    s.expires_ms = now + 3'600'000;
    return s;
}

template <class F> void on_threads(F body) {
    std::latch go(kThreads);
    std::vector<std::jthread> threads;
    for (int t = 0; t < kThreads; ++t) {
        threads.emplace_back([&, t] {
            go.arrive_and_wait();
            body(t);
        });
    }
}

// Hits, fills, invalidations and heartbeats at once: every hit reads the entry's own
// session (the Hit holds the cache while it is read).
void session_cache_under_threads(void**) {
    constexpr Millis kNow = 1'700'000'000'000;
    SessionCache cache(SessionCache::Limits{1000, 64, 60'000});
    cache.subscribed(kNow);
    cache.heartbeat(kNow);
    std::atomic<int> hits{0}, wrong{0};
    on_threads([&](int t) {
        for (int i = 0; i < 4000; ++i) {
            std::string cookie = "cookie-" + std::to_string((i * 7 + t) % 97) + "-padding";
            std::string key = "s:" + cookie;
            bool found = false;
            if (auto hit = cache.find(cookie, kNow + 1)) {
                found = true;
                if (hit->store_key != key || hit->session.user != "u" + cookie) ++wrong;
                hits.fetch_add(1, std::memory_order_relaxed);
                if (i % 11 == 0) hit.invalidate();
            }
            if (!found) {
                if (auto ticket = cache.begin_fill(kNow + 1)) {
                    cache.fill(*ticket, cookie, key, SessionId{}, session_of("u" + cookie, kNow),
                               kNow + 1);
                }
            }
            if (i % 13 == t) cache.invalidate(key);
            if (i % 101 == 0) cache.heartbeat(kNow);
        }
    });
    assert_int_equal(wrong.load(), 0);
    assert_true(hits.load() > 0);
    assert_true(cache.size() <= 64);
}

void user_status_under_threads(void**) {
    UserStatusCache status;
    constexpr Millis kNow = 1'700'000'000'000;
    std::atomic<int> wrong{0};
    on_threads([&](int t) {
        for (int i = 0; i < 4000; ++i) {
            std::string user = "user" + std::to_string((i + t) % 50);
            if (auto known = status.find(user, kNow)) {
                if (*known != UserStatusCache::Status::enabled) ++wrong;
            } else {
                status.put(user, UserStatusCache::Status::enabled, kNow);
            }
            if (i % 17 == 0) status.forget(user);
        }
    });
    assert_int_equal(wrong.load(), 0);
    assert_true(status.size() <= 50);
}

// An IdP whose answers arrive later on a thread of their own: the flow is parked through
// its request's InlineParking and woken from that thread (as a blocking adapter's port).
class ThreadedIdp final : public HttpClient {
  public:
    ThreadedIdp(FakeHttpClient& answers, std::mutex& answers_mutex, InlineParking& parking)
        : answers_(answers), mutex_(answers_mutex), parking_(parking) {}

    Task<HttpResponse> fetch(const HttpRequest& request) override {
        {
            std::lock_guard lock(mutex_);
            answers_.requests.push_back(request);
        }
        co_await Later{this};
        std::lock_guard lock(mutex_);
        HttpResponse out;
        auto it = answers_.routes.find(request.url);
        if (it == answers_.routes.end()) {
            out.error = "could not connect";
        } else {
            out.status = it->second.status;
            out.content_type = it->second.content_type;
            out.body = it->second.body;
        }
        co_return out;
    }

  private:
    struct Later {
        ThreadedIdp* idp;
        bool await_ready() const noexcept { return false; }
        void await_suspend(std::coroutine_handle<> h) {
            idp->parking_.park(h);
            idp->answering_.emplace_back([p = &idp->parking_] {
                std::this_thread::sleep_for(std::chrono::milliseconds(20));
                p->wake();
            });
        }
        void await_resume() const noexcept {}
    };
    FakeHttpClient& answers_;
    std::mutex& mutex_;
    InlineParking& parking_;
    std::vector<std::jthread> answering_; // joined before the parking goes away
};

struct BearerWorld : SsoWorld {
    std::mutex idp_mutex;
    authgate::Runtime runtime{authgate::Runtime::Options{}};
    BearerWorld() : SsoWorld(*g_key, "", {{"authgate_bearer", "corp audience=https://api"}}) {}
    std::string token_for(const std::string& sub) {
        Millis now = clock.now_ms();
        json c = {
            {"iss", kIssuer}, {"aud", "https://api"}, {"sub", sub}, {"exp", now / 1000 + 600}};
        return "Bearer " + sign_jwt(*key, c.dump());
    }
    // One request on the calling thread, with its own store, randomness and parking.
    Decision check(const std::string& authorization) {
        MemoryStore own_store{clock};
        CountingRandom own_random;
        InlineOffloader own_offload;
        InlineParking parking;
        ThreadedIdp idp(http, idp_mutex, parking);
        RequestView v;
        v.method = "GET";
        v.uri = v.path = "/api";
        v.authorization = authorization;
        Ports p = runtime.ports(own_store, clock, own_random, own_offload, idp, &parking);
        return run_inline(check_access(p, cfg, v), parking);
    }
};

// Regression pin: concurrent requests on N threads fetch discovery and the JWKS once; the
// waiters are woken from the fetching thread and resumed on their own.
void threads_share_one_idp_fetch(void**) {
    BearerWorld w;
    std::vector<std::string> tokens;
    for (int t = 0; t < kThreads; ++t) tokens.push_back(w.token_for("svc" + std::to_string(t)));
    std::atomic<int> allowed{0};
    on_threads([&](int t) {
        for (int i = 0; i < 20; ++i) {
            Decision d = w.check(tokens[static_cast<std::size_t>((t + i) % kThreads)]);
            if (d.allowed()) allowed.fetch_add(1);
        }
    });
    assert_int_equal(allowed.load(), kThreads * 20);
    assert_int_equal(w.fetches("/.well-known/openid-configuration"), 1);
    assert_int_equal(w.fetches("/jwks"), 1);
    assert_int_equal(w.runtime.providers().state(*w.cfg.bearer_provider).verified.size(), kThreads);
}

// Tokens verified on some threads while others see the keys replaced.
void verified_tokens_under_threads(void**) {
    BearerWorld w;
    auto& verified = w.runtime.providers().state(*w.cfg.bearer_provider).verified;
    std::atomic<int> wrong{0};
    on_threads([&](int t) {
        for (int i = 0; i < 2000; ++i) {
            std::string digest = "d" + std::to_string((i + t) % 40);
            if (auto hit = verified.find(digest, 10)) {
                if (hit->kid != digest) ++wrong;
            } else {
                std::uint64_t generation = verified.generation();
                jose::Token token;
                token.kid = digest;
                verified.put(digest, token, 1000, generation);
            }
            if (t == 0 && i % 97 == 0) verified.keys_changed();
        }
    });
    assert_int_equal(wrong.load(), 0);
    assert_true(verified.size() <= 40);
}

// run_inline: inline flows simply complete; a flow that suspends without parking is an
// error, not a thread blocked forever.
void run_inline_contract(void**) {
    BearerWorld w;
    Decision d = w.check(w.token_for("svc")); // IdP answers come from other threads
    assert_true(d.allowed());
    {
        CompletionMode deferred(Completion::deferred_oldest_first);
        MemoryStore store{w.clock};
        bool threw = false;
        try {
            (void)run_inline(store.get("k"));
        } catch (const std::logic_error&) {
            threw = true;
        }
        assert_true(threw);
        completions().discard();
    }
    MemoryStore store{w.clock};
    assert_true(run_inline(store.set("k", "v", 1000)).ok());
    assert_true(*run_inline(store.get("k")).value == "v");
}

} // namespace

int main() {
    SigningKey k1 = new_rsa_key("k1");
    g_key = &k1;
    const CMUnitTest tests[] = {
        cmocka_unit_test(session_cache_under_threads),
        cmocka_unit_test(user_status_under_threads),
        cmocka_unit_test(threads_share_one_idp_fetch),
        cmocka_unit_test(verified_tokens_under_threads),
        cmocka_unit_test(run_inline_contract),
    };
    return cmocka_run_group_tests(tests, nullptr, nullptr);
}
