// Which IdP endpoint URLs the gate may call or send browsers to.
#include "authgate/oidc.h"

#include <algorithm>

namespace authgate::oidc {

namespace {

bool starts_with_nocase(std::string_view s, std::string_view prefix) {
    if (s.size() < prefix.size()) return false;
    for (std::size_t i = 0; i < prefix.size(); ++i) {
        char c = s[i];
        if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
        if (c != prefix[i]) return false;
    }
    return true;
}

bool is_port(std::string_view s) {
    if (s.empty() || s.size() > 5) return false;
    return std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

bool is_loopback(std::string_view host) {
    std::string lower(host);
    for (char& c : lower) {
        if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    }
    return lower == "127.0.0.1" || lower == "::1" || lower == "localhost";
}

} // namespace

bool is_allowed_endpoint(std::string_view url) {
    if (url.size() > 2048) return false;
    for (unsigned char c : url) {
        if (c <= 0x20 || c >= 0x7f || c == '\\' || c == '#') return false;
    }
    bool tls = starts_with_nocase(url, "https://");
    if (!tls && !starts_with_nocase(url, "http://")) return false;
    std::string_view rest = url.substr(tls ? 8 : 7);
    std::string_view authority = rest.substr(0, rest.find_first_of("/?"));
    if (authority.find('@') != std::string_view::npos) return false;

    std::string_view host;
    std::string_view after;
    if (!authority.empty() && authority.front() == '[') {
        auto close = authority.find(']');
        if (close == std::string_view::npos) return false;
        host = authority.substr(1, close - 1);
        after = authority.substr(close + 1);
    } else {
        auto colon = authority.find(':');
        host = authority.substr(0, colon);
        after = colon == std::string_view::npos ? std::string_view{} : authority.substr(colon);
    }
    if (host.empty()) return false;
    if (!after.empty() && (after.front() != ':' || !is_port(after.substr(1)))) return false;
    return tls || is_loopback(host);
}

} // namespace authgate::oidc
