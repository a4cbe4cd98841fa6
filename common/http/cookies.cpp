#include "authgate/http.h"

#include <cstring>

namespace authgate::http {

namespace {

bool is_ows(char c) noexcept { return c == ' ' || c == '\t'; }

// Calls fn(name, value, raw_pair) for each "name=value" pair of one Cookie header (name,
// value and pair trimmed of spaces and tabs; name and value empty for a pair without a
// name). Indexes, not substr: this runs for every request's Cookie header, twice.
template <class F> void for_each_pair(std::string_view header, F&& fn) {
    const char* p = header.data();
    const char* end = p + header.size();
    while (p < end) {
        const char* semi = static_cast<const char*>(std::memchr(p, ';', end - p));
        const char* stop = semi == nullptr ? end : semi;
        const char* b = p;
        const char* e = stop;
        while (b < e && is_ows(*b)) ++b;
        while (e > b && is_ows(e[-1])) --e;
        std::string_view pair(b, static_cast<std::size_t>(e - b));
        const char* eq = static_cast<const char*>(std::memchr(b, '=', e - b));
        if (eq == nullptr || eq == b) {
            fn(std::string_view{}, std::string_view{}, pair);
        } else {
            const char* ne = eq;
            while (ne > b && is_ows(ne[-1])) --ne;
            const char* vb = eq + 1;
            while (vb < e && is_ows(*vb)) ++vb;
            fn(std::string_view(b, static_cast<std::size_t>(ne - b)),
               std::string_view(vb, static_cast<std::size_t>(e - vb)), pair);
        }
        p = stop + 1;
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
