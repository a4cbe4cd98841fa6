// authgatectl: administration from the command line.
//   authgatectl hash-password     read a password from stdin, print its argon2id hash
//   authgatectl gen-key [ID]      print a key-file line with a fresh 256-bit secret
//   authgatectl directives        print the directive reference (Markdown)
//   authgatectl user-disable|user-enable|user-delete|end-sessions NAME REDIS...
//                                 run-time users in Redis (REDIS: the authgate_redis
//                                 arguments, e.g. 127.0.0.1:6379 prefix=authgate:, or
//                                 sentinel:NAME sentinels=HOST:PORT,HOST:PORT ...);
//                                 disable, delete and end-sessions end every session of
//                                 the user at once, announced to the gates' caches
#include <csignal>
#include <cstdio>
#include <initializer_list>
#include <iostream>
#include <span>
#include <string>
#include <unistd.h>
#include <utility>

#include <openssl/crypto.h>

#include "authgate/config.h"
#include "authgate/crypto.h"
#include "authgate/gate.h"
#include "authgate/run_inline.h"
#include "authgate/store_keys.h"
#include "authgate/users.h"
#include "sync_redis_store.h"

namespace {

int usage() {
    std::cerr << "usage: authgatectl hash-password | gen-key [ID] | directives\n"
                 "       authgatectl user-disable|user-enable|user-delete|end-sessions NAME "
                 "REDIS_ADDRESS [db=N user=U password_file=F prefix=P]\n"
                 "       (REDIS_ADDRESS sentinel:NAME takes sentinels=HOST:PORT[,HOST:PORT...])\n";
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

std::string context_list(unsigned bits,
                         std::initializer_list<std::pair<unsigned, const char*>> names) {
    std::string out;
    for (const auto& [bit, name] : names) {
        if ((bits & bit) == 0) continue;
        if (!out.empty()) out += ", ";
        out += name;
    }
    return out;
}

template <class Option>
void print_options(std::string_view directive, std::span<const Option> options) {
    std::cout << "\n`" << directive << "` options (`key=value`):\n\n";
    std::cout << "| option | default | meaning |\n|---|---|---|\n";
    for (const auto& o : options) {
        std::cout << "| `" << o.name << "` | "
                  << (o.default_value.empty() ? "—" : "`" + cell(o.default_value) + "`") << " | "
                  << cell(o.help) << " |\n";
    }
}

int directives_cmd() {
    using namespace authgate::config;
    std::cout << "| nginx directive | nginx context | Apache directive | Apache context | default "
                 "| example | meaning |\n";
    std::cout << "|---|---|---|---|---|---|---|\n";
    for (const auto& d : directives()) {
        std::cout << "| `" << d.name << "` | "
                  << context_list(d.contexts,
                                  {{kMain, "http"}, {kServer, "server"}, {kLocation, "location"}})
                  << " | `" << d.apache_name << "` | "
                  << context_list(d.apache_contexts, {{kServerConfig, "server config"},
                                                      {kVirtualHost, "virtual host"},
                                                      {kDirectory, "directory"}})
                  << " | " << (d.default_value.empty() ? "—" : "`" + cell(d.default_value) + "`")
                  << " | `" << d.name << (d.example.empty() ? "" : " ") << d.example << ";` | "
                  << cell(d.help) << " |\n";
    }
    print_options("authgate_redis", redis_options());
    print_options("authgate_oidc_provider", provider_options());
    return 0;
}

int user_cmd(const std::string& cmd, const std::string& name, int argc, char** argv) {
    using namespace authgate;
    std::vector<std::string_view> args(argv, argv + argc);
    auto settings = tools::redis_arguments(args);
    if (!settings) {
        std::cerr << "authgatectl: redis: " << settings.error() << "\n";
        return 2;
    }
    auto store = tools::SyncRedisStore::connect(*settings);
    if (!store) {
        std::cerr << "authgatectl: " << store.error() << "\n";
        return 1;
    }
    tools::SyncRedisStore& redis = **store;
    Store& s = redis.store();
    std::string record = user_record_key(name);
    if (cmd == "user-enable" || cmd == "user-disable") {
        auto existing = run_inline(s.hash_get(record));
        if (!existing.ok()) {
            std::cerr << "authgatectl: redis unavailable\n";
            return 1;
        }
        if (!existing.value && cmd == "user-enable") {
            std::cerr << "authgatectl: no run-time user \"" << name << "\"\n";
            return 1;
        }
        std::string flag = cmd == "user-disable" ? "1" : "0";
        if (!run_inline(s.hash_set(record, {{"disabled", flag}})).ok()) {
            std::cerr << "authgatectl: redis unavailable\n";
            return 1;
        }
        std::cout << "user \"" << name << "\" " << (flag == "1" ? "disabled" : "enabled") << "\n";
        if (cmd == "user-enable") return 0;
    } else if (cmd == "user-delete") {
        auto removed = run_inline(s.del(record));
        if (!removed.ok()) {
            std::cerr << "authgatectl: redis unavailable\n";
            return 1;
        }
        std::cout << "user \"" << name << "\" " << (removed.value ? "deleted" : "had no record")
                  << "\n";
    }
    SystemClock clock;
    auto ended = run_inline(revoke_user_sessions(s, name, clock.now_ms()));
    if (!ended.ok()) {
        std::cerr << "authgatectl: redis unavailable while ending sessions (" << ended.value
                  << " ended)\n";
        return 1;
    }
    std::cout << ended.value << " session(s) ended\n";
    if (!redis.all_announced()) {
        std::cerr << "authgatectl: the redis user may not PUBLISH: gates with a session cache "
                     "notice within their session_cache age\n";
    }
    return 0;
}

} // namespace

int main(int argc, char** argv) {
    std::signal(SIGPIPE, SIG_IGN); // a Redis that goes away mid-command is an error, not death
    if (argc < 2) return usage();
    std::string cmd = argv[1];
    if (cmd == "hash-password" && argc == 2) return hash_password_cmd();
    if (cmd == "gen-key" && argc <= 3) return gen_key_cmd(argc == 3 ? argv[2] : "k1");
    if (cmd == "directives" && argc == 2) return directives_cmd();
    if ((cmd == "user-disable" || cmd == "user-enable" || cmd == "user-delete" ||
         cmd == "end-sessions") &&
        argc >= 4) {
        return user_cmd(cmd, argv[2], argc - 3, argv + 3);
    }
    return usage();
}
