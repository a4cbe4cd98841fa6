#include <charconv>

#include "authgate/redis.h"
#include "authgate/store_keys.h"

namespace authgate::redis {

bool announces(std::string_view key) { return is_session_key(key); }

namespace {

std::string_view text_of(const Reply& r) {
    return r.is(Reply::Type::string) || r.is(Reply::Type::status) ? std::string_view(r.str)
                                                                  : std::string_view();
}

} // namespace

// ["message", channel, payload], ["subscribe", channel, count], ["pong", ""].
Message decode_message(const Reply& reply) {
    Message m;
    if (!reply.is(Reply::Type::array) || reply.elements.size() < 2) return m;
    std::string_view kind = text_of(reply.elements[0]);
    if (kind == "pong") {
        m.kind = Message::Kind::pong;
        return m;
    }
    if (reply.elements.size() < 3) return m;
    m.channel = text_of(reply.elements[1]);
    if (kind == "message" && reply.elements[2].is(Reply::Type::string)) {
        m.kind = Message::Kind::message;
        m.payload = reply.elements[2].str;
    } else if (kind == "subscribe") {
        m.kind = Message::Kind::subscribed;
    }
    return m;
}

std::string beat_payload(Millis sent_ms) { return std::to_string(sent_ms); }

std::optional<Millis> parse_beat(std::string_view payload) {
    Millis sent = 0;
    auto [end, ec] = std::from_chars(payload.data(), payload.data() + payload.size(), sent);
    if (payload.empty() || ec != std::errc{} || end != payload.data() + payload.size()) {
        return std::nullopt;
    }
    return sent;
}

} // namespace authgate::redis
