#include "authgate/http.h"

#include <cstring>

namespace authgate::http {

namespace {

// Inlined: it runs three times per cookie pair of every request.
[[gnu::always_inline]] inline std::string_view trim_ows(std::string_view s) {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
    return s;
}

// Calls fn(name, value, raw_pair) for each "name=value" pair of one Cookie header.
template <class F> void for_each_pair(std::string_view header, F&& fn) {
    while (!header.empty()) {
        auto semi = header.find(';');
        std::string_view raw = header.substr(0, semi);
        header = semi == std::string_view::npos ? std::string_view{} : header.substr(semi + 1);
        std::string_view pair = trim_ows(raw);
        auto eq = pair.find('=');
        if (eq == std::string_view::npos || eq == 0) {
            fn(std::string_view{}, std::string_view{}, pair);
            continue;
        }
        fn(trim_ows(pair.substr(0, eq)), trim_ows(pair.substr(eq + 1)), pair);
    }
}

} // namespace

std::vector<std::string_view> cookie_values(std::span<const std::string_view> headers,
                                            std::string_view name) {
    std::vector<std::string_view> out;
    for (auto header : headers) {
        for_each_pair(header, [&](std::string_view n, std::string_view v, std::string_view) {
            if (n.empty() || n != name) return;
            if (v.size() >= 2 && v.front() == '"' && v.back() == '"') {
                v = v.substr(1, v.size() - 2);
            }
            out.push_back(v);
        });
    }
    return out;
}

std::size_t cookie_values(std::span<const std::string_view> headers, std::string_view name,
                          std::span<std::string_view> out) {
    std::size_t n = 0;
    for (auto header : headers) {
        for_each_pair(header, [&](std::string_view k, std::string_view v, std::string_view) {
            if (n == out.size() || k.empty() || k != name) return;
            if (v.size() >= 2 && v.front() == '"' && v.back() == '"') {
                v = v.substr(1, v.size() - 2);
            }
            out[n++] = v;
        });
    }
    return n;
}

std::optional<std::size_t> strip_cookies(std::string_view header,
                                         const std::vector<std::string>& drop, char* out) {
    std::size_t len = 0;
    bool changed = false;
    for_each_pair(header, [&](std::string_view n, std::string_view, std::string_view pair) {
        for (const auto& d : drop) {
            if (!n.empty() && n == d) {
                changed = true;
                return;
            }
        }
        if (pair.empty()) return;
        if (len != 0) {
            out[len++] = ';';
            out[len++] = ' ';
        }
        std::memcpy(out + len, pair.data(), pair.size());
        len += pair.size();
    });
    if (!changed) return std::nullopt;
    return len;
}

std::optional<std::string> strip_cookies(std::string_view header,
                                         const std::vector<std::string>& drop) {
    std::string out(2 * header.size(), '\0');
    auto len = strip_cookies(header, drop, out.data());
    if (!len) return std::nullopt;
    out.resize(*len);
    return out;
}

std::string format_set_cookie(const SetCookie& c) {
    std::string out;
    out.reserve(160);
    out += c.name;
    out += '=';
    out += c.value;
    out += "; Path=";
    out += c.path;
    if (!c.domain.empty()) {
        out += "; Domain=";
        out += c.domain;
    }
    if (c.max_age >= 0) {
        out += "; Max-Age=";
        out += std::to_string(c.max_age);
        if (c.max_age == 0) out += "; Expires=Thu, 01 Jan 1970 00:00:00 GMT";
    }
    if (c.secure) out += "; Secure";
    if (c.http_only) out += "; HttpOnly";
    if (!c.same_site.empty()) {
        out += "; SameSite=";
        out += c.same_site;
    }
    return out;
}

} // namespace authgate::http
