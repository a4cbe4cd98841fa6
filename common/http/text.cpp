#include "authgate/http.h"

#include <cstdint>
#include <cstring>

namespace authgate::http {

namespace {

int hex_value(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

bool is_unreserved(unsigned char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
           c == '.' || c == '_' || c == '~';
}

} // namespace

std::optional<std::string> percent_decode(std::string_view in, bool plus_as_space) {
    std::string out;
    out.reserve(in.size());
    for (std::size_t i = 0; i < in.size(); ++i) {
        char c = in[i];
        if (c == '%') {
            if (i + 2 >= in.size()) return std::nullopt;
            int hi = hex_value(in[i + 1]);
            int lo = hex_value(in[i + 2]);
            if (hi < 0 || lo < 0) return std::nullopt;
            out.push_back(static_cast<char>(hi * 16 + lo));
            i += 2;
        } else if (c == '+' && plus_as_space) {
            out.push_back(' ');
        } else {
            out.push_back(c);
        }
    }
    return out;
}

std::string percent_encode(std::string_view in) {
    static constexpr char kHex[] = "0123456789ABCDEF";
    std::string out;
    out.reserve(in.size() * 3);
    for (unsigned char c : in) {
        if (is_unreserved(c) || c == '/') {
            out.push_back(static_cast<char>(c));
        } else {
            out.push_back('%');
            out.push_back(kHex[c >> 4]);
            out.push_back(kHex[c & 0xf]);
        }
    }
    return out;
}

std::string form_urlencode(std::string_view in) {
    static constexpr char kHex[] = "0123456789ABCDEF";
    std::string out;
    out.reserve(in.size() * 3);
    for (unsigned char c : in) {
        if (is_unreserved(c)) {
            out.push_back(static_cast<char>(c));
        } else {
            out.push_back('%');
            out.push_back(kHex[c >> 4]);
            out.push_back(kHex[c & 0xf]);
        }
    }
    return out;
}

std::optional<Params> parse_form(std::string_view body) {
    Params out;
    while (!body.empty()) {
        auto amp = body.find('&');
        std::string_view pair = body.substr(0, amp);
        body = amp == std::string_view::npos ? std::string_view{} : body.substr(amp + 1);
        if (pair.empty()) continue;
        auto eq = pair.find('=');
        auto name = percent_decode(pair.substr(0, eq), true);
        auto value = percent_decode(
            eq == std::string_view::npos ? std::string_view{} : pair.substr(eq + 1), true);
        if (!name || !value) return std::nullopt;
        out.emplace_back(std::move(*name), std::move(*value));
    }
    return out;
}

std::optional<std::string_view> param(const Params& p, std::string_view name) {
    for (const auto& [n, v] : p) {
        if (n == name) return std::string_view(v);
    }
    return std::nullopt;
}

std::string html_escape(std::string_view in) {
    std::string out;
    out.reserve(in.size() + 16);
    for (char c : in) {
        switch (c) {
        case '&': out += "&amp;"; break;
        case '<': out += "&lt;"; break;
        case '>': out += "&gt;"; break;
        case '"': out += "&quot;"; break;
        case '\'': out += "&#39;"; break;
        default: out.push_back(c);
        }
    }
    return out;
}

std::string json_escape(std::string_view in) {
    static constexpr char kHex[] = "0123456789abcdef";
    std::string out;
    out.reserve(in.size() + 8);
    for (unsigned char c : in) {
        switch (c) {
        case '"': out += "\\\""; break;
        case '\\': out += "\\\\"; break;
        case '\n': out += "\\n"; break;
        case '\r': out += "\\r"; break;
        case '\t': out += "\\t"; break;
        default:
            if (c < 0x20 || c == 0x7f || c == '<' || c == '>' || c == '&') {
                out += "\\u00";
                out.push_back(kHex[c >> 4]);
                out.push_back(kHex[c & 0xf]);
            } else {
                out.push_back(static_cast<char>(c));
            }
        }
    }
    return out;
}

namespace {

constexpr std::uint64_t kOnes = 0x0101010101010101ull;
constexpr std::uint64_t kHighs = 0x8080808080808080ull;

// Whether any byte of w is below 0x20 or is 0x7f (bytes >= 0x80 are UTF-8 and pass).
bool has_control_byte(std::uint64_t w) noexcept {
    std::uint64_t low = w & ~kHighs; // high bits cleared: no borrows across
    std::uint64_t below = ((low + kOnes * (0x80 - 0x20)) ^ kHighs) & kHighs & ~w; // < 0x20
    std::uint64_t del = w ^ (kOnes * 0x7f);
    std::uint64_t is_del = (del - kOnes) & ~del & kHighs; // a zero byte where w had 0x7f
    return (below | is_del) != 0;
}

char header_safe(char c) noexcept {
    auto u = static_cast<unsigned char>(c);
    return u < 0x20 || u == 0x7f ? ' ' : c;
}

} // namespace

std::size_t copy_header_safe(char* out, std::string_view v) noexcept {
    std::size_t i = 0;
    for (; i + 8 <= v.size(); i += 8) {
        std::uint64_t w;
        std::memcpy(&w, v.data() + i, 8);
        if (!has_control_byte(w)) {
            std::memcpy(out + i, &w, 8);
            continue;
        }
        for (std::size_t j = i; j < i + 8; ++j) out[j] = header_safe(v[j]);
    }
    for (; i < v.size(); ++i) out[i] = header_safe(v[i]);
    return v.size();
}

bool is_api_client(std::string_view accept, std::string_view x_requested_with) {
    if (x_requested_with.size() == 14) {
        bool xhr = true;
        static constexpr std::string_view kXhr = "xmlhttprequest";
        for (std::size_t i = 0; i < kXhr.size(); ++i) {
            char c = x_requested_with[i];
            if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
            if (c != kXhr[i]) xhr = false;
        }
        if (xhr) return true;
    }
    // A browser navigation asks for text/html; an API client asks for JSON and not HTML.
    bool wants_json = accept.find("application/json") != std::string_view::npos ||
                      accept.find("+json") != std::string_view::npos;
    bool wants_html = accept.find("text/html") != std::string_view::npos;
    return wants_json && !wants_html;
}

} // namespace authgate::http
