// HTTP text handling for the gate: cookies, query/form decoding, escaping, and the
// open-redirect guard for return targets.
#pragma once

#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace authgate::http {

// Every value of cookie `name` across the Cookie headers, in order. Malformed pairs are
// skipped; values are returned as sent (optionally double-quoted values are unquoted).
std::vector<std::string_view> cookie_values(std::span<const std::string_view> headers,
                                            std::string_view name);

// The same into `out`, without allocating: the first out.size() values; returns how many.
std::size_t cookie_values(std::span<const std::string_view> headers, std::string_view name,
                          std::span<std::string_view> out);
// The Cookie header with every cookie named in `drop` removed; nullopt when unchanged.
std::optional<std::string> strip_cookies(std::string_view header,
                                         const std::vector<std::string>& drop);
// The same written to `out` (room for 2 * header.size() bytes: pairs are rejoined with
// "; "), without allocating; returns the length.
std::optional<std::size_t> strip_cookies(std::string_view header,
                                         const std::vector<std::string>& drop, char* out);

struct SetCookie {
    std::string name;
    std::string value;
    std::string path = "/";
    std::string domain;
    std::string same_site = "Lax";
    long long max_age = -1; // -1: session cookie, 0: delete
    bool secure = false;
    bool http_only = true;
};
std::string format_set_cookie(const SetCookie& c);

// Decodes %XX and (for forms) '+'. nullopt on a malformed escape.
std::optional<std::string> percent_decode(std::string_view in, bool plus_as_space);
std::string percent_encode(std::string_view in); // RFC 3986 unreserved kept
// For query and form values (and RFC 6749 client credentials): every byte except the
// unreserved A-Z a-z 0-9 - . _ ~ as %XX ('/' and ' ' included).
std::string form_urlencode(std::string_view in);

// application/x-www-form-urlencoded or a query string; first value wins per name.
// nullopt when any escape is malformed.
using Params = std::vector<std::pair<std::string, std::string>>;
std::optional<Params> parse_form(std::string_view body);
std::optional<std::string_view> param(const Params& p, std::string_view name);

std::string html_escape(std::string_view in);
std::string json_escape(std::string_view in); // without the surrounding quotes
// An identity value as a request header carries it: control characters (and DEL) become
// spaces, so a value can never end the header or start another. Writes v.size() bytes to
// `out` and returns that count. Every allowed request copies its identity this way: it
// checks eight bytes at a time and copies the clean ones whole.
std::size_t copy_header_safe(char* out, std::string_view v) noexcept;

// A return target is accepted only as a local absolute path ("/..."): no scheme, host,
// backslash, control character or their percent-encoded forms, at any decoding depth.
bool is_safe_return_path(std::string_view rd);
// rd when safe, otherwise "/".
std::string safe_return_path(std::string_view rd);

// Header names as servers compare them: case-insensitive, and '_' equals '-' (underscored
// names reach CGI-like upstreams under the same variable name). Inline: it runs for every
// request header on the hot path.
inline bool same_header_name(std::string_view a, std::string_view b) noexcept {
    if (a.size() != b.size()) return false;
    for (std::size_t i = 0; i < a.size(); ++i) {
        char x = a[i], y = b[i];
        if (x >= 'A' && x <= 'Z') x = static_cast<char>(x - 'A' + 'a');
        if (y >= 'A' && y <= 'Z') y = static_cast<char>(y - 'A' + 'a');
        if (x == '_') x = '-';
        if (y == '_') y = '-';
        if (x != y) return false;
    }
    return true;
}

// True when the client is a script/API client rather than a browser navigation.
bool is_api_client(std::string_view accept, std::string_view x_requested_with);

} // namespace authgate::http
