// libcurl behind the HttpClient port.
#include "curl_client.h"

#include <curl/curl.h>

#include <cctype>
#include <memory>

namespace authgate::curl {

namespace {

struct Sink {
    HttpResponse* response;
    std::size_t limit;
    bool too_large = false;
};

std::size_t on_body(char* data, std::size_t size, std::size_t n, void* user) {
    auto* sink = static_cast<Sink*>(user);
    std::size_t len = size * n;
    if (sink->response->body.size() + len > sink->limit) {
        sink->too_large = true;
        return 0; // aborts the transfer
    }
    sink->response->body.append(data, len);
    return len;
}

std::string media_type(const char* content_type) {
    std::string out;
    if (content_type == nullptr) return out;
    for (const char* p = content_type; *p != '\0' && *p != ';'; ++p) {
        if (*p == ' ' || *p == '\t') continue;
        out.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(*p))));
    }
    return out;
}

int on_progress(void* user, curl_off_t, curl_off_t, curl_off_t, curl_off_t) {
    const auto* cancel = static_cast<const std::atomic<bool>*>(user);
    return cancel->load(std::memory_order_relaxed) ? 1 : 0; // non-zero aborts
}

struct CurlDeleter {
    void operator()(CURL* c) const noexcept { curl_easy_cleanup(c); }
};
struct SlistDeleter {
    void operator()(curl_slist* l) const noexcept { curl_slist_free_all(l); }
};

} // namespace

bool global_init() noexcept { return curl_global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK; }

void global_shutdown() noexcept { curl_global_cleanup(); }

HttpResponse fetch(const HttpRequest& request, const std::atomic<bool>* cancel) noexcept {
    HttpResponse response;
    try {
        std::unique_ptr<CURL, CurlDeleter> curl(curl_easy_init());
        if (!curl) {
            response.error = "cannot create an HTTP client";
            return response;
        }
        CURL* c = curl.get();
        std::unique_ptr<curl_slist, SlistDeleter> headers;
        for (const auto& [name, value] : request.headers) {
            std::string line = name;
            line.append(": ").append(value);
            curl_slist* next = curl_slist_append(headers.get(), line.c_str());
            if (next == nullptr) {
                response.error = "out of memory";
                return response;
            }
            static_cast<void>(headers.release());
            headers.reset(next);
        }
        Sink sink{&response, request.max_response_bytes};
        char errbuf[CURL_ERROR_SIZE] = {0};
        curl_easy_setopt(c, CURLOPT_URL, request.url.c_str());
        curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
        curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
        curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
        curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 1L);
        curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 2L);
        if (!request.ca_file.empty()) curl_easy_setopt(c, CURLOPT_CAINFO, request.ca_file.c_str());
        curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, static_cast<long>(request.timeout_ms));
        curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(request.timeout_ms));
        curl_easy_setopt(c, CURLOPT_USERAGENT, "authgate");
        curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, &on_body);
        curl_easy_setopt(c, CURLOPT_WRITEDATA, &sink);
        curl_easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf);
        curl_easy_setopt(c, CURLOPT_HTTPHEADER, headers.get());
        if (cancel != nullptr) {
            curl_easy_setopt(c, CURLOPT_NOPROGRESS, 0L);
            curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION, &on_progress);
            curl_easy_setopt(c, CURLOPT_XFERINFODATA, cancel);
        }
        if (request.method == "POST") {
            curl_easy_setopt(c, CURLOPT_POST, 1L);
            curl_easy_setopt(c, CURLOPT_POSTFIELDS, request.body.data());
            curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, static_cast<long>(request.body.size()));
        } else if (request.method != "GET") {
            curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, request.method.c_str());
        }
        CURLcode rc = curl_easy_perform(c);
        if (sink.too_large) {
            response = HttpResponse{};
            response.error =
                "response larger than " + std::to_string(request.max_response_bytes) + " bytes";
            return response;
        }
        if (rc != CURLE_OK) {
            response = HttpResponse{};
            response.error = errbuf[0] != '\0' ? errbuf : curl_easy_strerror(rc);
            return response;
        }
        long status = 0;
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
        char* ct = nullptr;
        curl_easy_getinfo(c, CURLINFO_CONTENT_TYPE, &ct);
        response.status = static_cast<int>(status);
        response.content_type = media_type(ct);
    } catch (const std::exception& e) {
        response = HttpResponse{};
        response.error = e.what();
    }
    return response;
}

Task<HttpResponse> CurlHttpClient::fetch(const HttpRequest& request) {
    HttpResponse response;
    bool ran = co_await offload_.run([&] { response = curl::fetch(request, cancel_); });
    if (!ran) {
        response = HttpResponse{};
        response.error = "too many IdP calls waiting for a thread (authgate_idp_threads)";
    }
    co_return response;
}

} // namespace authgate::curl
