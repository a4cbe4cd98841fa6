// The client address of a request (see client_address.h), and the walk over forwarding
// headers behind it (net::forwarded_client, networks.h).
#include "authgate/client_address.h"

#include <algorithm>
#include <array>

#include "authgate/networks.h"

namespace authgate {

namespace net {

namespace {

bool is_ows(char c) noexcept { return c == ' ' || c == '\t'; }

std::string_view trim_ows(std::string_view s) noexcept {
    while (!s.empty() && is_ows(s.front())) s.remove_prefix(1);
    while (!s.empty() && is_ows(s.back())) s.remove_suffix(1);
    return s;
}

bool lower_equals(std::string_view s, std::string_view lower) noexcept {
    if (s.size() != lower.size()) return false;
    for (std::size_t i = 0; i < s.size(); ++i) {
        char c = s[i];
        if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
        if (c != lower[i]) return false;
    }
    return true;
}

// The right-most kMaxForwardedHops hops seen; an empty one stands for a malformed hop.
class Hops {
  public:
    void add(std::string_view node) noexcept { ring_[next_++ % ring_.size()] = node; }
    std::size_t size() const noexcept { return std::min(next_, ring_.size()); }
    // i = 0 is the right-most hop.
    std::string_view from_right(std::size_t i) const noexcept {
        return ring_[(next_ - 1 - i) % ring_.size()];
    }

  private:
    std::array<std::string_view, kMaxForwardedHops> ring_{};
    std::size_t next_ = 0;
};

// RFC 7239 node-port: 1..5 digits, or an obfuscated "_name".
bool is_port(std::string_view p) noexcept {
    if (p.empty()) return false;
    if (p.front() == '_') {
        return p.size() > 1 && std::all_of(p.begin() + 1, p.end(), [](char c) {
                   return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') ||
                          (c >= 'A' && c <= 'Z') || c == '.' || c == '_' || c == '-';
               });
    }
    return p.size() <= 5 &&
           std::all_of(p.begin(), p.end(), [](char c) { return c >= '0' && c <= '9'; });
}

// A hop's address: "1.2.3.4", "1.2.3.4:80", "[2001:db8::1]", "[2001:db8::1]:80" or a bare
// "2001:db8::1".
std::optional<Address> node_address(std::string_view node) noexcept {
    if (!node.empty() && node.front() == '[') {
        auto close = node.find(']');
        if (close == std::string_view::npos) return std::nullopt;
        auto rest = node.substr(close + 1);
        if (!rest.empty() && (rest.front() != ':' || !is_port(rest.substr(1)))) {
            return std::nullopt;
        }
        return parse_address(node.substr(0, close + 1));
    }
    auto colon = node.find(':');
    if (colon != std::string_view::npos && node.find(':', colon + 1) == std::string_view::npos) {
        if (!is_port(node.substr(colon + 1))) return std::nullopt;
        node = node.substr(0, colon); // IPv4 with a port
    }
    return parse_address(node);
}

// Where the next `sep` outside a quoted string is (s.size() when none).
std::size_t next_separator(std::string_view s, std::size_t from, char sep) noexcept {
    bool quoted = false;
    for (std::size_t i = from; i < s.size(); ++i) {
        char c = s[i];
        if (quoted && c == '\\') {
            ++i;
        } else if (c == '"') {
            quoted = !quoted;
        } else if (!quoted && c == sep) {
            return i;
        }
    }
    return s.size();
}

void add_xff_hops(Hops& hops, std::string_view line) noexcept {
    while (true) {
        auto comma = line.find(',');
        auto item = trim_ows(line.substr(0, comma));
        if (!item.empty()) hops.add(item);
        if (comma == std::string_view::npos) return;
        line.remove_prefix(comma + 1);
    }
}

// The for= node of one Forwarded element; empty when it has none, has two, or is malformed.
// A node never needs a quoted-pair, so a quoted value holding '\' counts as malformed.
std::string_view forwarded_for(std::string_view element) noexcept {
    std::string_view found;
    bool seen = false;
    for (std::size_t at = 0; at <= element.size();) {
        auto end = next_separator(element, at, ';');
        auto pair = trim_ows(element.substr(at, end - at));
        at = end + 1;
        if (pair.empty()) continue;
        auto eq = pair.find('=');
        if (eq == std::string_view::npos) return {};
        if (!lower_equals(trim_ows(pair.substr(0, eq)), "for")) continue;
        if (seen) return {};
        seen = true;
        auto value = trim_ows(pair.substr(eq + 1));
        if (!value.empty() && value.front() == '"') {
            if (value.size() < 2 || value.back() != '"') return {};
            value = value.substr(1, value.size() - 2);
            if (value.find_first_of("\"\\") != std::string_view::npos) return {};
        }
        found = value;
    }
    return found;
}

void add_forwarded_hops(Hops& hops, std::string_view line) noexcept {
    for (std::size_t at = 0; at <= line.size();) {
        auto end = next_separator(line, at, ',');
        auto element = trim_ows(line.substr(at, end - at));
        at = end + 1;
        if (!element.empty()) hops.add(forwarded_for(element));
    }
}

} // namespace

Address forwarded_client(const Address& peer, std::span<const std::string_view> header_lines,
                         bool forwarded_syntax, std::span<const Network> trusted) {
    if (!contains_any(trusted, peer)) return peer;
    Hops hops;
    for (auto line : header_lines) {
        if (forwarded_syntax) {
            add_forwarded_hops(hops, line);
        } else {
            add_xff_hops(hops, line);
        }
    }
    Address last_trusted = peer;
    for (std::size_t i = 0; i < hops.size(); ++i) {
        auto hop = node_address(hops.from_right(i));
        if (!hop) return last_trusted;
        if (!contains_any(trusted, *hop)) return *hop;
        last_trusted = *hop;
    }
    return last_trusted;
}

} // namespace net

std::string_view client_address(const GateConfig& cfg, const RequestView& req,
                                std::string& storage) {
    if (cfg.trusted_proxies.empty()) return req.client_addr;
    auto peer = net::parse_address(req.client_addr);
    if (!peer) return req.client_addr; // a unix socket
    std::span<const std::string_view> lines = req.forwarded_for;
    if (cfg.trusted_proxy_forwarded) lines = req.forwarded;
    auto client =
        net::forwarded_client(*peer, lines, cfg.trusted_proxy_forwarded, cfg.trusted_proxies);
    if (client == *peer) return req.client_addr;
    storage = net::address_text(client);
    return storage;
}

} // namespace authgate
