// The identity header and cookie names the gate owns under one configuration root, and
// what a location strips because of them.
#include "authgate/config.h"

#include <algorithm>
#include <cctype>

namespace authgate {

namespace {

bool equal_ignoring_case(std::string_view a, std::string_view b) {
    return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
               return std::tolower(static_cast<unsigned char>(x)) ==
                      std::tolower(static_cast<unsigned char>(y));
           });
}

void add_header(std::vector<std::string>& to, const std::string& name) {
    if (name.empty()) return;
    for (const auto& h : to) {
        if (equal_ignoring_case(h, name)) return;
    }
    to.push_back(name);
}

void add_cookie(std::vector<std::string>& to, const std::string& name) {
    if (std::find(to.begin(), to.end(), name) == to.end()) to.push_back(name);
}

void add_cookie_pair(std::vector<std::string>& to, const std::string& name) {
    add_cookie(to, name);
    add_cookie(to, kHostCookiePrefix + name);
}

} // namespace

OwnedNames::OwnedNames() {
    const auto defaults = config::default_identity_headers();
    for (const std::string* h :
         {&defaults.user, &defaults.email, &defaults.name, &defaults.groups, &defaults.roles}) {
        add_header(headers, *h);
    }
    for (const char* c : {kDefaultSessionCookie, kCsrfCookie, kFlowCookie}) {
        add_cookie_pair(cookies, c);
    }
}

void OwnedNames::add(const config::Settings& level) {
    if (level.identity_headers) {
        const auto& ih = *level.identity_headers;
        for (const std::string* h : {&ih.user, &ih.email, &ih.name, &ih.groups, &ih.roles}) {
            add_header(headers, *h);
        }
    }
    if (level.cookie_name) add_cookie_pair(cookies, *level.cookie_name);
}

void OwnedNames::give(GateConfig& g) const {
    for (const auto& h : headers) add_header(g.protected_headers, h);
    g.protected_header_lengths = 0;
    for (const auto& h : g.protected_headers) {
        g.protected_header_lengths |= std::uint64_t{1} << GateConfig::header_length_bit(h.size());
    }
    for (const auto& c : cookies) add_cookie(g.gate_cookies, c);
    // A name that contains another gate cookie name needs no search of its own.
    g.gate_cookie_probes.clear();
    for (const auto& c : g.gate_cookies) {
        bool covered = std::any_of(
            g.gate_cookies.begin(), g.gate_cookies.end(), [&](const std::string& other) {
                return other.size() < c.size() && c.find(other) != std::string::npos;
            });
        if (!covered) add_cookie(g.gate_cookie_probes, c);
    }
}

} // namespace authgate
