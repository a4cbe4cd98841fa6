// IP addresses and networks (see networks.h).
#include "authgate/networks.h"

#include <arpa/inet.h>

#include <algorithm>
#include <cstring>

namespace authgate::net {

namespace {

constexpr std::array<std::uint8_t, 12> kMappedPrefix = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
constexpr unsigned kV4Offset = 96;
// "ffff:ffff:ffff:ffff:ffff:ffff:255.255.255.255" is the longest IPv6 text.
constexpr std::size_t kMaxV6Text = 45;

bool is_digit(char c) noexcept { return c >= '0' && c <= '9'; }

// A decimal number without sign or leading zeros, at most `max`.
std::optional<unsigned> parse_decimal(std::string_view s, unsigned max) noexcept {
    if (s.empty() || s.size() > 3 || (s.size() > 1 && s[0] == '0')) return std::nullopt;
    unsigned v = 0;
    for (char c : s) {
        if (!is_digit(c)) return std::nullopt;
        v = v * 10 + static_cast<unsigned>(c - '0');
    }
    if (v > max) return std::nullopt;
    return v;
}

std::optional<Address> parse_v4(std::string_view s) noexcept {
    Address a;
    std::copy(kMappedPrefix.begin(), kMappedPrefix.end(), a.bytes.begin());
    for (std::size_t i = 0; i < 4; ++i) {
        auto dot = s.find('.');
        if ((i < 3) == (dot == std::string_view::npos)) return std::nullopt;
        auto octet = parse_decimal(s.substr(0, dot), 255);
        if (!octet) return std::nullopt;
        a.bytes[12 + i] = static_cast<std::uint8_t>(*octet);
        s.remove_prefix(i < 3 ? dot + 1 : s.size());
    }
    return a;
}

std::optional<Address> parse_v6(std::string_view s) noexcept {
    if (s.size() < 2 || s.size() > kMaxV6Text) return std::nullopt;
    for (char c : s) {
        bool hex = is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
        if (!hex && c != ':' && c != '.') return std::nullopt;
    }
    // An embedded IPv4 tail gets the same strict check as a plain IPv4 address.
    auto last_colon = s.rfind(':');
    if (last_colon == std::string_view::npos) return std::nullopt;
    auto tail = s.substr(last_colon + 1);
    if (tail.find('.') != std::string_view::npos && !parse_v4(tail)) return std::nullopt;
    char buf[kMaxV6Text + 1];
    std::memcpy(buf, s.data(), s.size());
    buf[s.size()] = '\0';
    Address a;
    if (inet_pton(AF_INET6, buf, a.bytes.data()) != 1) return std::nullopt;
    return a;
}

void append_v4(std::string& out, const Address& a) {
    for (std::size_t i = 12; i < 16; ++i) {
        if (i > 12) out += '.';
        out += std::to_string(a.bytes[i]);
    }
}

void append_v6(std::string& out, const Address& a) {
    unsigned groups[8];
    for (std::size_t i = 0; i < 8; ++i) {
        groups[i] = static_cast<unsigned>(a.bytes[2 * i]) << 8 | a.bytes[2 * i + 1];
    }
    // The longest run of zero groups (two or more), the first one on a tie.
    std::size_t best = 8, best_len = 1;
    for (std::size_t i = 0; i < 8;) {
        if (groups[i] != 0) {
            ++i;
            continue;
        }
        std::size_t j = i;
        while (j < 8 && groups[j] == 0) ++j;
        if (j - i > best_len) {
            best = i;
            best_len = j - i;
        }
        i = j;
    }
    static constexpr char kHex[] = "0123456789abcdef";
    for (std::size_t i = 0; i < 8; ++i) {
        if (i == best) {
            out += "::";
            i += best_len - 1;
            continue;
        }
        if (i > 0 && i != best + best_len) out += ':';
        bool started = false;
        for (int shift = 12; shift >= 0; shift -= 4) {
            unsigned nibble = groups[i] >> shift & 0xfU;
            if (nibble == 0 && !started && shift > 0) continue;
            started = true;
            out += kHex[nibble];
        }
    }
}

// The bits of `a` past `prefix` cleared.
Address masked(Address a, unsigned prefix) noexcept {
    for (std::size_t i = 0; i < 16; ++i) {
        unsigned first_bit = static_cast<unsigned>(i) * 8;
        if (prefix >= first_bit + 8) continue;
        unsigned keep = prefix > first_bit ? prefix - first_bit : 0;
        a.bytes[i] &= static_cast<std::uint8_t>(0xffU << (8 - keep));
    }
    return a;
}

} // namespace

bool Address::is_v4() const noexcept {
    return std::equal(kMappedPrefix.begin(), kMappedPrefix.end(), bytes.begin());
}

std::optional<Address> parse_address(std::string_view text) noexcept {
    if (text.size() >= 2 && text.front() == '[' && text.back() == ']') {
        return parse_v6(text.substr(1, text.size() - 2)); // never "[1.2.3.4]": no ':'
    }
    if (text.find(':') != std::string_view::npos) return parse_v6(text);
    return parse_v4(text);
}

std::string address_text(const Address& a) {
    std::string out;
    if (a.is_v4()) {
        append_v4(out, a);
    } else {
        append_v6(out, a);
    }
    return out;
}

bool Network::contains(const Address& a) const noexcept {
    unsigned full = prefix / 8;
    if (std::memcmp(a.bytes.data(), base.bytes.data(), full) != 0) return false;
    unsigned rest = prefix % 8;
    if (rest == 0) return true;
    auto mask = static_cast<std::uint8_t>(0xffU << (8 - rest));
    return (a.bytes[full] & mask) == base.bytes[full];
}

std::string Network::text() const {
    std::string out;
    unsigned shown = prefix;
    if (base.is_v4() && prefix >= kV4Offset) {
        append_v4(out, base);
        shown -= kV4Offset;
    } else {
        append_v6(out, base);
    }
    out += '/';
    out += std::to_string(shown);
    return out;
}

std::optional<Network> parse_network(std::string_view text) noexcept {
    auto slash = text.find('/');
    auto addr_text = text.substr(0, slash);
    if (addr_text.empty() || addr_text.front() == '[') return std::nullopt;
    bool v6 = addr_text.find(':') != std::string_view::npos;
    auto addr = v6 ? parse_v6(addr_text) : parse_v4(addr_text);
    if (!addr) return std::nullopt;
    unsigned prefix = 128;
    if (slash != std::string_view::npos) {
        auto bits = parse_decimal(text.substr(slash + 1), v6 ? 128 : 32);
        if (!bits) return std::nullopt;
        prefix = v6 ? *bits : kV4Offset + *bits;
    }
    return Network{masked(*addr, prefix), prefix};
}

bool contains_any(std::span<const Network> nets, const Address& a) noexcept {
    return std::any_of(nets.begin(), nets.end(), [&](const Network& n) { return n.contains(a); });
}

} // namespace authgate::net
