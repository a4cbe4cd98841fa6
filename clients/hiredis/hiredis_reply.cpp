#include "hiredis_reply.h"

#include <hiredis/hiredis.h>

#include <string_view>

namespace authgate::hiredis {

namespace {

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

void copy_at(const redisReply& reply, redis::Reply& out, std::size_t depth) {
    out.type = type_of(reply.type);
    out.integer = reply.integer;
    if (reply.str != nullptr) {
        out.str.assign(reply.str, reply.len);
    } else {
        out.str.clear();
    }
    if (reply.type != REDIS_REPLY_ARRAY || depth > kMaxReplyDepth) {
        out.elements.clear();
        return;
    }
    // Elements already there are overwritten in place: a reused `out` keeps its buffers.
    out.elements.resize(reply.elements);
    for (std::size_t i = 0; i < reply.elements; ++i) {
        if (reply.element[i] != nullptr) {
            copy_at(*reply.element[i], out.elements[i], depth + 1);
        } else {
            out.elements[i] = redis::Reply{};
        }
    }
}

} // namespace

void copy_reply(const redisReply& reply, redis::Reply& out) { copy_at(reply, out, 0); }

bool is_readonly_error(const redisReply& reply) noexcept {
    return reply.type == REDIS_REPLY_ERROR && reply.str != nullptr &&
           std::string_view(reply.str, reply.len).starts_with("READONLY");
}

} // namespace authgate::hiredis
