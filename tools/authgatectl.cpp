// authgatectl: administration from the command line.
//   authgatectl hash-password     read a password from stdin, print its argon2id hash
//   authgatectl gen-key [ID]      print a key-file line with a fresh 256-bit secret
//   authgatectl directives        print the directive reference (Markdown)
#include <cstdio>
#include <iostream>
#include <string>
#include <unistd.h>

#include <openssl/crypto.h>

#include "authgate/config.h"
#include "authgate/crypto.h"
#include "authgate/users.h"

namespace {

int usage() {
    std::cerr << "usage: authgatectl hash-password | gen-key [ID] | directives\n";
    return 2;
}

int hash_password_cmd() {
    if (isatty(STDIN_FILENO)) std::cerr << "Password: " << std::flush;
    std::string password;
    if (!std::getline(std::cin, password)) {
        std::cerr << "authgatectl: no password on stdin\n";
        return 1;
    }
    if (!password.empty() && password.back() == '\r') password.pop_back();
    if (password.empty()) {
        std::cerr << "authgatectl: empty password\n";
        return 1;
    }
    authgate::OpensslRandom random;
    auto hash = authgate::hash_password(password, random);
    OPENSSL_cleanse(password.data(), password.size());
    if (!hash) {
        std::cerr << "authgatectl: " << hash.error() << "\n";
        return 1;
    }
    std::cout << *hash << "\n";
    return 0;
}

int gen_key_cmd(const std::string& id) {
    authgate::OpensslRandom random;
    std::uint8_t secret[32];
    random.fill(secret);
    // Standard base64 with padding, as the key file expects.
    static constexpr char kAlphabet[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    std::string out;
    for (std::size_t i = 0; i < sizeof secret; i += 3) {
        std::uint32_t n = static_cast<std::uint32_t>(secret[i]) << 16;
        if (i + 1 < sizeof secret) n |= static_cast<std::uint32_t>(secret[i + 1]) << 8;
        if (i + 2 < sizeof secret) n |= secret[i + 2];
        out += kAlphabet[(n >> 18) & 63];
        out += kAlphabet[(n >> 12) & 63];
        out += i + 1 < sizeof secret ? kAlphabet[(n >> 6) & 63] : '=';
        out += i + 2 < sizeof secret ? kAlphabet[n & 63] : '=';
    }
    OPENSSL_cleanse(secret, sizeof secret);
    std::cout << id << " " << out << "\n";
    return 0;
}

std::string cell(std::string_view text) {
    std::string out;
    for (char c : text) {
        if (c == '|') out += '\\';
        out += c;
    }
    return out;
}

int directives_cmd() {
    using namespace authgate::config;
    std::cout << "| directive | context | default | example | meaning |\n";
    std::cout << "|---|---|---|---|---|\n";
    for (const auto& d : directives()) {
        std::string ctx;
        if (d.contexts & kMain) ctx += "http ";
        if (d.contexts & kServer) ctx += "server ";
        if (d.contexts & kLocation) ctx += "location";
        while (!ctx.empty() && ctx.back() == ' ') ctx.pop_back();
        std::cout << "| `" << d.name << "` | " << ctx << " | "
                  << (d.default_value.empty() ? "—" : "`" + cell(d.default_value) + "`")
                  << " | `" << d.name << (d.example.empty() ? "" : " ") << d.example << ";` | "
                  << cell(d.help) << " |\n";
    }
    return 0;
}

} // namespace

int main(int argc, char** argv) {
    if (argc < 2) return usage();
    std::string cmd = argv[1];
    if (cmd == "hash-password" && argc == 2) return hash_password_cmd();
    if (cmd == "gen-key" && argc <= 3) return gen_key_cmd(argc == 3 ? argv[2] : "k1");
    if (cmd == "directives" && argc == 2) return directives_cmd();
    return usage();
}
