// TEMPORARY (replaced by the nets branch).
#include "authgate/networks.h"

#include <arpa/inet.h>
#include <charconv>
#include <cstring>

namespace authgate::net {

namespace {
bool v4_mapped(const Address& a) {
    static constexpr std::uint8_t p[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
    return std::memcmp(a.bytes.data(), p, 12) == 0;
}
} // namespace

std::optional<Address> parse_address(std::string_view text) {
    if (text.starts_with('[') && text.ends_with(']')) text = text.substr(1, text.size() - 2);
    if (text.empty() || text.size() > 45) return std::nullopt;
    char buf[46];
    std::memcpy(buf, text.data(), text.size());
    buf[text.size()] = '\0';
    Address a;
    if (text.find(':') == std::string_view::npos) {
        in_addr v4{};
        if (inet_pton(AF_INET, buf, &v4) != 1) return std::nullopt;
        a.bytes[10] = a.bytes[11] = 0xff;
        std::memcpy(a.bytes.data() + 12, &v4, 4);
        return a;
    }
    if (inet_pton(AF_INET6, buf, a.bytes.data()) != 1) return std::nullopt;
    return a;
}

std::string address_text(const Address& a) {
    char buf[INET6_ADDRSTRLEN];
    if (v4_mapped(a)) return inet_ntop(AF_INET, a.bytes.data() + 12, buf, sizeof buf);
    return inet_ntop(AF_INET6, a.bytes.data(), buf, sizeof buf);
}

bool Network::contains(const Address& a) const noexcept {
    unsigned full = prefix / 8, rest = prefix % 8;
    if (std::memcmp(a.bytes.data(), base.bytes.data(), full) != 0) return false;
    if (rest == 0) return true;
    auto mask = static_cast<std::uint8_t>(0xff << (8 - rest));
    return (a.bytes[full] & mask) == (base.bytes[full] & mask);
}

std::string Network::text() const {
    bool v4 = v4_mapped(base) && prefix >= 96;
    return address_text(base) + "/" + std::to_string(v4 ? prefix - 96 : prefix);
}

std::optional<Network> parse_network(std::string_view text) {
    auto slash = text.find('/');
    auto a = parse_address(text.substr(0, slash));
    if (!a) return std::nullopt;
    bool v4 = v4_mapped(*a) && text.find(':') == std::string_view::npos;
    unsigned max = v4 ? 32 : 128, p = max;
    if (slash != std::string_view::npos) {
        std::string_view t = text.substr(slash + 1);
        auto [end, ec] = std::from_chars(t.data(), t.data() + t.size(), p);
        if (ec != std::errc{} || end != t.data() + t.size() || p > max || t.empty())
            return std::nullopt;
    }
    Network n;
    n.prefix = v4 ? p + 96 : p;
    for (unsigned i = 0; i < 16; ++i) {
        unsigned bits = n.prefix > i * 8 ? std::min(8U, n.prefix - i * 8) : 0;
        auto mask = static_cast<std::uint8_t>(bits == 0 ? 0 : 0xff << (8 - bits));
        n.base.bytes[i] = a->bytes[i] & mask;
    }
    return n;
}

bool contains_any(std::span<const Network> nets, const Address& a) noexcept {
    for (const auto& n : nets) {
        if (n.contains(a)) return true;
    }
    return false;
}

} // namespace authgate::net
