// The one place nginx's C headers are included into C++ code.
#pragma once

extern "C" {
#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>
#include <ngx_thread_pool.h>
}

#include <cstring>
#include <string>
#include <string_view>

namespace authgate::ngx {

inline std::string_view sv(const ngx_str_t& s) {
    return {reinterpret_cast<const char*>(s.data), s.len};
}

// Copies into the pool; the result lives as long as the pool.
inline ngx_str_t pool_str(ngx_pool_t* pool, std::string_view s) {
    ngx_str_t out{0, nullptr};
    auto* p = static_cast<u_char*>(ngx_pnalloc(pool, s.size() ? s.size() : 1));
    if (p == nullptr) return out;
    if (!s.empty()) std::memcpy(p, s.data(), s.size());
    out.data = p;
    out.len = s.size();
    return out;
}

// Runs fn, turning any exception into an [alert] and `on_error`. Every function nginx
// calls goes through here so that no exception crosses into C.
template <class R, class F> R guard(ngx_log_t* log, R on_error, F&& fn) noexcept {
    try {
        return fn();
    } catch (const std::exception& e) {
        ngx_log_error(NGX_LOG_ALERT, log, 0, "authgate: internal error: %s", e.what());
    } catch (...) {
        ngx_log_error(NGX_LOG_ALERT, log, 0, "authgate: internal error");
    }
    return on_error;
}

} // namespace authgate::ngx
