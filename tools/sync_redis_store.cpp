#include "sync_redis_store.h"

#include <hiredis/hiredis.h>

#include <fstream>

namespace authgate::tools {

namespace {

Result<std::string> read_password(const std::string& path) {
    std::ifstream in(path);
    if (!in) return fail("cannot read password_file \"" + path + "\"");
    std::string line;
    std::getline(in, line);
    while (!line.empty() && (line.back() == '\r' || line.back() == ' ')) line.pop_back();
    if (line.empty()) return fail("password_file \"" + path + "\" is empty");
    return line;
}

redis::Reply::Type type_of(int hiredis_type) {
    using T = redis::Reply::Type;
    switch (hiredis_type) {
    case REDIS_REPLY_STRING: return T::string;
    case REDIS_REPLY_STATUS: return T::status;
    case REDIS_REPLY_ERROR: return T::error;
    case REDIS_REPLY_INTEGER: return T::integer;
    case REDIS_REPLY_ARRAY: return T::array;
    default: return T::nil;
    }
}

void copy_reply(const redisReply* r, redis::Reply& out) {
    out.type = type_of(r->type);
    out.integer = r->integer;
    if (r->str != nullptr) out.str.assign(r->str, r->len);
    if (r->type != REDIS_REPLY_ARRAY) return;
    out.elements.resize(r->elements);
    for (size_t i = 0; i < r->elements; ++i) {
        if (r->element[i] != nullptr) copy_reply(r->element[i], out.elements[i]);
    }
}

bool refused(const std::optional<redis::Reply>& r) {
    return !r || r->is(redis::Reply::Type::error);
}

} // namespace

SyncRedisStore::~SyncRedisStore() { redisFree(c_); }

Result<std::unique_ptr<SyncRedisStore>> SyncRedisStore::connect(const config::RedisSettings& s) {
    if (!s.master_name.empty()) return fail("sentinel addresses are not supported here");
    timeval tv{static_cast<time_t>(s.connect_timeout / 1000),
               static_cast<suseconds_t>((s.connect_timeout % 1000) * 1000)};
    redisContext* c = s.unix_path.empty() ? redisConnectWithTimeout(s.host.c_str(), s.port, tv)
                                          : redisConnectUnixWithTimeout(s.unix_path.c_str(), tv);
    if (c == nullptr) return fail("cannot connect to redis");
    std::unique_ptr<SyncRedisStore> store(new SyncRedisStore(c, s.prefix));
    if (c->err != 0) return fail(std::string("cannot connect to redis: ") + c->errstr);
    timeval ctv{static_cast<time_t>(s.command_timeout / 1000 + 1), 0};
    redisSetTimeout(c, ctv);
    if (!s.password_file.empty()) {
        auto pw = read_password(s.password_file);
        if (!pw) return fail(pw.error());
        std::vector<std::string> auth = {"AUTH"};
        if (!s.user.empty()) auth.push_back(s.user);
        auth.push_back(*pw);
        auto r = store->command(auth);
        if (refused(r)) return fail("redis refused AUTH: " + (r ? r->str : std::string()));
    }
    if (s.db != 0) {
        auto r = store->command({"SELECT", std::to_string(s.db)});
        if (refused(r)) return fail("redis refused SELECT: " + (r ? r->str : std::string()));
    }
    return store;
}

std::optional<redis::Reply> SyncRedisStore::command(const std::vector<std::string>& argv) {
    Task<std::optional<redis::Reply>> task = call(redis::format_command(argv));
    task.start();
    return task.result();
}

// Blocking: the Task completes inline.
Task<std::optional<redis::Reply>> SyncRedisStore::call(std::string command) {
    std::optional<redis::Reply> out;
    if (redisAppendFormattedCommand(c_, command.data(), command.size()) != REDIS_OK) co_return out;
    void* raw = nullptr;
    if (redisGetReply(c_, &raw) != REDIS_OK || raw == nullptr) co_return out;
    std::unique_ptr<redisReply, void (*)(void*)> reply(static_cast<redisReply*>(raw),
                                                       freeReplyObject);
    copy_reply(reply.get(), out.emplace());
    co_return out;
}

} // namespace authgate::tools
