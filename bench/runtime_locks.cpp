// What the Runtime's locks cost: `instr N` does N session-cache hits (one uncontended
// mutex each) and N bare lock/unlock pairs, for callgrind (run twice with different N and
// subtract); `threads T N` times N hits on each of T threads, on one shared cache and on
// one cache per thread (the shard alternative), in ns per hit. Not a test: bench/locks
// runs it.
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "authgate/session_cache.h"

using namespace authgate;

namespace {

constexpr Millis kNow = 1'700'000'000'000;
constexpr int kCookies = 64;

std::string cookie(int i) { return "cookie-" + std::to_string(i) + "-0123456789abcdef0123456789"; }

void fill(SessionCache& cache) {
    cache.subscribed(kNow);
    cache.heartbeat(kNow);
    for (int i = 0; i < kCookies; ++i) {
        Session s;
        s.user = "user" + std::to_string(i);
        s.expires_ms = kNow + 3'600'000;
        cache.fill(*cache.begin_fill(kNow), cookie(i), "s:" + cookie(i), SessionId{}, s, kNow);
    }
}

int hits(SessionCache& cache, const std::vector<std::string>& cookies, long n) {
    int found = 0;
    for (long i = 0; i < n; ++i) {
        auto hit = cache.find(cookies[static_cast<std::size_t>(i % kCookies)], kNow + 1);
        found += hit ? 1 : 0;
    }
    return found;
}

double ns_per_hit(int threads, long n, bool shared) {
    std::vector<std::string> cookies;
    for (int i = 0; i < kCookies; ++i) cookies.push_back(cookie(i));
    SessionCache one(SessionCache::Limits{60'000, 1000, 60'000});
    fill(one);
    std::vector<std::unique_ptr<SessionCache>> own;
    for (int t = 0; t < threads; ++t) {
        own.push_back(std::make_unique<SessionCache>(SessionCache::Limits{60'000, 1000, 60'000}));
        fill(*own.back());
    }
    auto t0 = std::chrono::steady_clock::now();
    {
        std::vector<std::jthread> pool;
        for (int t = 0; t < threads; ++t) {
            pool.emplace_back(
                [&, t] { hits(shared ? one : *own[static_cast<std::size_t>(t)], cookies, n); });
        }
    }
    auto t1 = std::chrono::steady_clock::now();
    return std::chrono::duration<double, std::nano>(t1 - t0).count() / (double(n) * threads);
}

} // namespace

int main(int argc, char** argv) {
    if (argc == 3 && std::strcmp(argv[1], "instr") == 0) {
        long n = std::atol(argv[2]);
        std::vector<std::string> cookies;
        for (int i = 0; i < kCookies; ++i) cookies.push_back(cookie(i));
        SessionCache cache(SessionCache::Limits{60'000, 1000, 60'000});
        fill(cache);
        std::mutex m;
        for (long i = 0; i < n; ++i) {
            m.lock();
            m.unlock();
        }
        return hits(cache, cookies, n) == n ? 0 : 1;
    }
    if (argc == 4 && std::strcmp(argv[1], "threads") == 0) {
        int threads = std::atoi(argv[2]);
        long n = std::atol(argv[3]);
        std::printf("%d threads: one shared cache %.1f ns/hit, a cache per thread %.1f ns/hit\n",
                    threads, ns_per_hit(threads, n, true), ns_per_hit(threads, n, false));
        return 0;
    }
    std::fprintf(stderr, "usage: runtime_locks instr N | threads T N\n");
    return 2;
}
