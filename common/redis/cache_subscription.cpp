#include "authgate/cache_subscription.h"

#include <array>
#include <cstdint>

namespace authgate::redis {

void make_beat_id(BeatBoard& board, Random& random) {
    std::array<std::uint8_t, 8> token{};
    random.fill(token);
    static constexpr char kHex[] = "0123456789abcdef";
    for (std::size_t i = 0; i < token.size(); ++i) {
        board.id[2 * i] = kHex[token[i] >> 4];
        board.id[2 * i + 1] = kHex[token[i] & 15];
    }
    board.id[16] = '\0';
}

CacheSubscription::CacheSubscription(SessionCache& cache, const Keyspace& keyspace,
                                     BeatBoard& board)
    : cache_(cache), board_(board), channel_(keyspace.channel()),
      beat_channel_(keyspace.beat_channel(board.id)) {}

std::vector<std::string> CacheSubscription::subscribe_command() const {
    return {"SUBSCRIBE", channel_, beat_channel_};
}

bool CacheSubscription::on_reply(const Reply& reply, Millis now) {
    Message m = decode_message(reply);
    if (m.kind == Message::Kind::message) {
        if (m.channel == channel_) {
            cache_.invalidate(m.payload);
        } else if (m.channel == beat_channel_) {
            if (auto sent = parse_beat(m.payload)) cache_.heartbeat(*sent);
        }
        return false;
    }
    // Both channels are confirmed in order; the heartbeat channel comes last.
    if (m.kind == Message::Kind::subscribed && m.channel == beat_channel_ && !confirmed_) {
        confirmed_ = true;
        cache_.subscribed(now);
        return true;
    }
    return false;
}

void CacheSubscription::lost() {
    confirmed_ = false;
    cache_.lost();
}

std::optional<std::string_view> CacheSubscription::tick(Millis now) {
    if (cache_.take_demand()) last_demand_ms_ = now;
    bool wanted = now - last_demand_ms_ <= cache_.limits().max_age;
    if (!wanted || !confirmed_) return std::nullopt;
    Millis last = board_.last_beat_ms.load(std::memory_order_relaxed);
    // Another process's beat covers this interval (a clock set back never blocks beats).
    if (now - last < kSessionCacheBeatInterval && now >= last) return std::nullopt;
    if (!board_.last_beat_ms.compare_exchange_strong(last, now)) return std::nullopt;
    format_beat(beat_channel_, now, beat_command_);
    return std::string_view(beat_command_);
}

} // namespace authgate::redis
