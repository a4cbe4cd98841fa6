#include "authgate/store_keys.h"

#include <algorithm>

#include "base/bytes.h"

namespace authgate {

namespace {

constexpr std::uint8_t kIndexVersion = 1;
constexpr std::size_t kMaxIndexMembers = 4096;

void append_user_tag(std::string& out, std::string_view user) {
    out += '{';
    for (unsigned char c : user) {
        bool plain = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                     c == '-' || c == '.' || c == '_' || c == '@';
        if (plain) {
            out.push_back(static_cast<char>(c));
        } else {
            static constexpr char kHex[] = "0123456789ABCDEF";
            out.push_back('%');
            out.push_back(kHex[c >> 4]);
            out.push_back(kHex[c & 15]);
        }
    }
    out += '}';
}

} // namespace

std::string user_sessions_key(std::string_view user) {
    std::string out = "u:";
    append_user_tag(out, user);
    out += ":sessions";
    return out;
}

std::string user_record_key(std::string_view user) {
    std::string out = "u:";
    append_user_tag(out, user);
    return out;
}

std::string encode_fields(const Store::Fields& fields) {
    bytes::Writer w;
    w.u8(kIndexVersion);
    w.varint(fields.size());
    for (const auto& [k, v] : fields) {
        w.str(k);
        w.str(v);
    }
    return w.take();
}

bool decode_fields(std::string_view data, Store::Fields& out) {
    bytes::Reader r(data);
    std::uint8_t version = 0;
    std::uint64_t n = 0;
    if (!r.u8(version) || version != kIndexVersion || !r.varint(n) || n > 1024) return false;
    out.clear();
    for (std::uint64_t i = 0; i < n; ++i) {
        std::string k, v;
        if (!r.str(k, 1024) || !r.str(v, 65536)) return false;
        out.emplace_back(std::move(k), std::move(v));
    }
    return r.at_end();
}

void merge_fields(Store::Fields& fields, Store::Fields update) {
    for (auto& field : update) {
        auto it = std::find_if(fields.begin(), fields.end(),
                               [&](const auto& f) { return f.first == field.first; });
        if (it != fields.end()) {
            it->second = std::move(field.second);
        } else {
            fields.push_back(std::move(field));
        }
    }
}

std::string encode_index(const IndexEntries& entries) {
    bytes::Writer w;
    w.u8(kIndexVersion);
    w.varint(entries.size());
    for (const auto& [expires, member] : entries) {
        w.varint(static_cast<std::uint64_t>(expires));
        w.str(member);
    }
    return w.take();
}

bool decode_index(std::string_view data, IndexEntries& out) {
    bytes::Reader r(data);
    std::uint8_t version = 0;
    std::uint64_t n = 0;
    if (!r.u8(version) || version != kIndexVersion || !r.varint(n) || n > kMaxIndexMembers) {
        return false;
    }
    out.clear();
    for (std::uint64_t i = 0; i < n; ++i) {
        std::uint64_t expires = 0;
        std::string member;
        if (!r.varint(expires) || !r.str(member, 1024)) return false;
        out.emplace_back(static_cast<Millis>(expires), std::move(member));
    }
    return r.at_end();
}

Millis index_apply(IndexEntries& entries, std::string_view member, Millis expires_at_ms,
                   bool remove, Millis now_ms) {
    std::erase_if(entries, [&](const auto& e) { return e.first <= now_ms || e.second == member; });
    if (!remove && expires_at_ms > now_ms) {
        if (entries.size() >= kMaxIndexMembers) entries.erase(entries.begin());  // oldest first
        entries.emplace_back(expires_at_ms, std::string(member));
    }
    Millis latest = 0;
    for (const auto& e : entries) latest = std::max(latest, e.first);
    return latest;
}

} // namespace authgate
