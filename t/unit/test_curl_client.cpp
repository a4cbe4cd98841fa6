// The libcurl client library against a real loopback HTTP server: status, media type, body,
// the response size limit, transport errors and cancellation (no adapter involved).
#include "support/support.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <thread>

#include "curl_client.h"

using namespace authgate;
using authgate::testing::run;

namespace {

// Answers one connection with `reply` (after reading the request head), then closes.
class OneShotServer {
  public:
    explicit OneShotServer(std::string reply) : reply_(std::move(reply)) {
        fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
        sockaddr_in addr{};
        addr.sin_family = AF_INET;
        addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        socklen_t len = sizeof addr;
        assert_int_equal(::bind(fd_, reinterpret_cast<sockaddr*>(&addr), len), 0);
        assert_int_equal(::listen(fd_, 1), 0);
        assert_int_equal(::getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len), 0);
        port_ = ntohs(addr.sin_port);
        thread_ = std::thread([this] { serve(); });
    }
    ~OneShotServer() {
        ::shutdown(fd_, SHUT_RDWR);
        thread_.join();
        ::close(fd_);
    }
    std::string url(const std::string& path = "/") const {
        return "http://127.0.0.1:" + std::to_string(port_) + path;
    }
    const std::string& request() const { return request_; }

  private:
    void serve() {
        int c = ::accept(fd_, nullptr, nullptr);
        if (c < 0) return;
        char buf[4096];
        while (request_.find("\r\n\r\n") == std::string::npos) {
            ssize_t n = ::read(c, buf, sizeof buf);
            if (n <= 0) break;
            request_.append(buf, static_cast<std::size_t>(n));
        }
        if (!reply_.empty()) (void)!::write(c, reply_.data(), reply_.size());
        ::close(c);
    }
    std::string reply_;
    std::string request_;
    int fd_ = -1;
    int port_ = 0;
    std::thread thread_;
};

std::string http_reply(const std::string& content_type, const std::string& body) {
    return "HTTP/1.1 200 OK\r\nContent-Type: " + content_type +
           "\r\nContent-Length: " + std::to_string(body.size()) + "\r\nConnection: close\r\n\r\n" +
           body;
}

void answers_status_media_type_and_body(void**) {
    OneShotServer server(http_reply("Application/JSON; charset=utf-8", "{\"a\":1}"));
    HttpRequest req;
    req.url = server.url("/jwks");
    req.headers = {{"Accept", "application/json"}};
    HttpResponse r = curl::fetch(req);
    assert_true(r.ok());
    assert_int_equal(r.status, 200);
    assert_string_equal(r.content_type.c_str(), "application/json");
    assert_string_equal(r.body.c_str(), "{\"a\":1}");
    assert_true(server.request().starts_with("GET /jwks HTTP/1.1\r\n"));
    assert_true(server.request().find("Accept: application/json\r\n") != std::string::npos);
}

void posts_the_body_as_given(void**) {
    OneShotServer server(http_reply("application/json", "{}"));
    HttpRequest req;
    req.method = "POST";
    req.url = server.url("/token");
    req.body = "grant_type=authorization_code";
    HttpResponse r = curl::fetch(req);
    assert_true(r.ok());
    assert_true(server.request().starts_with("POST /token HTTP/1.1\r\n"));
}

void a_response_over_the_limit_is_an_error(void**) {
    OneShotServer server(http_reply("application/json", std::string(4096, 'x')));
    HttpRequest req;
    req.url = server.url();
    req.max_response_bytes = 1024;
    HttpResponse r = curl::fetch(req);
    assert_false(r.ok());
    assert_int_equal(r.status, 0);
    assert_true(r.body.empty());
    assert_true(r.error.find("larger than 1024 bytes") != std::string::npos);
}

void a_refused_connection_is_an_error(void**) {
    int port = 0;
    {
        OneShotServer server(""); // bound, then closed: nothing listens on it afterwards
        port = std::stoi(server.url().substr(17));
        HttpRequest wake;
        wake.url = server.url();
        wake.timeout_ms = 500;
        (void)curl::fetch(wake);
    }
    HttpRequest req;
    req.url = "http://127.0.0.1:" + std::to_string(port) + "/";
    HttpResponse r = curl::fetch(req);
    assert_false(r.ok());
    assert_false(r.error.empty());
}

void a_cancelled_exchange_stops(void**) {
    OneShotServer server(""); // accepts, reads, never answers until closed
    std::atomic<bool> cancel{true};
    HttpRequest req;
    req.url = server.url();
    req.timeout_ms = 10'000;
    HttpResponse r = curl::fetch(req, &cancel);
    assert_false(r.ok());
    assert_false(r.error.empty());
}

void the_port_runs_through_the_offloader(void**) {
    OneShotServer server(http_reply("text/plain", "hello"));
    InlineOffloader inline_offload;
    curl::CurlHttpClient client(inline_offload, nullptr);
    HttpRequest req;
    req.url = server.url();
    HttpResponse r = run(client.fetch(req));
    assert_true(r.ok());
    assert_string_equal(r.body.c_str(), "hello");
}

} // namespace

int main() {
    if (!curl::global_init()) return 1;
    const CMUnitTest tests[] = {
        cmocka_unit_test(answers_status_media_type_and_body),
        cmocka_unit_test(posts_the_body_as_given),
        cmocka_unit_test(a_response_over_the_limit_is_an_error),
        cmocka_unit_test(a_refused_connection_is_an_error),
        cmocka_unit_test(a_cancelled_exchange_stops),
        cmocka_unit_test(the_port_runs_through_the_offloader),
    };
    int failed = cmocka_run_group_tests(tests, nullptr, nullptr);
    curl::global_shutdown();
    return failed;
}
