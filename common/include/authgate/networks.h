// TEMPORARY (replaced by the nets branch): IP addresses and networks.
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
};
std::optional<Address> parse_address(std::string_view text);
std::string address_text(const Address& a);

struct Network {
    Address base;
    unsigned prefix = 128;
    bool contains(const Address& a) const noexcept;
    std::string text() const;
};
std::optional<Network> parse_network(std::string_view text);
bool contains_any(std::span<const Network> nets, const Address& a) noexcept;

} // namespace authgate::net
