// IP addresses and networks as the gate compares them (trusted proxies, block lists), and
// the rule that finds a client's address behind trusted proxies. Pure: no I/O.
//
// One address form for both families: an IPv4 address is held as its IPv4-mapped IPv6 form
// (::ffff:a.b.c.d), so "1.2.3.4" and "::ffff:1.2.3.4" are the same address, and an IPv4
// network a.b.c.d/p is the mapped network with prefix 96 + p.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>

namespace authgate::net {

struct Address {
    std::array<std::uint8_t, 16> bytes{};

    bool is_v4() const noexcept; // an IPv4 address (IPv4-mapped)
    friend bool operator==(const Address&, const Address&) = default;
};

// "1.2.3.4", "2001:db8::1", "[2001:db8::1]", "::ffff:1.2.3.4"; nothing else: no leading
// zeros in IPv4 parts, no zone ("%eth0"), no port, no blanks.
std::optional<Address> parse_address(std::string_view text) noexcept;
// Canonical text: IPv4 dotted ("1.2.3.4", also for a mapped address), IPv6 as RFC 5952
// (lower case, longest run of two or more zero groups as "::", the first on a tie).
std::string address_text(const Address& a);

struct Network {
    Address base;        // host bits cleared
    unsigned prefix = 0; // over the 128-bit form: an IPv4 /p is 96 + p

    bool contains(const Address& a) const noexcept;
    // "10.0.0.0/8", "2001:db8::/32": IPv4 form when the base is mapped and prefix >= 96.
    std::string text() const;
};

// "10.0.0.0/8", "1.2.3.4" (/32), "2001:db8::/32", "::1" (/128); host bits set in the base
// are cleared ("10.1.2.3/8" is 10.0.0.0/8). IPv4 prefixes 0..32, IPv6 0..128, no leading
// zeros, no brackets.
std::optional<Network> parse_network(std::string_view text) noexcept;

bool contains_any(std::span<const Network> nets, const Address& a) noexcept;

// The most hops of a forwarding header the walk looks at (the right-most ones).
inline constexpr std::size_t kMaxForwardedHops = 64;

// The client behind `peer`: the peer itself unless it is trusted; otherwise the hops of
// X-Forwarded-For (or, with forwarded_syntax, the for= of RFC 7239 Forwarded), header lines
// in order, are walked from the right, skipping trusted hops: the first untrusted hop is the
// client. A hop that is no address ("unknown", "_hidden", garbage) ends the walk at the last
// trusted hop (the proxy that sent it); when every hop is trusted, the left-most one.
// Hops may carry a port ("1.2.3.4:80", "[2001:db8::1]:80"); empty list items are skipped.
Address forwarded_client(const Address& peer, std::span<const std::string_view> header_lines,
                         bool forwarded_syntax, std::span<const Network> trusted);

} // namespace authgate::net
