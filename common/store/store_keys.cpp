#include "authgate/store_keys.h"

#include <algorithm>

#include "authgate/http.h"
#include "base/bytes.h"

namespace authgate {

namespace {

constexpr std::uint8_t kIndexVersion = 1;

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

std::string sid_index_key(std::string_view provider, std::string_view sid) {
    return "o:{" + http::percent_encode(provider) + "}:sid:" + http::percent_encode(sid);
}

std::string sub_index_key(std::string_view provider, std::string_view sub) {
    return "o:{" + http::percent_encode(provider) + "}:sub:" + http::percent_encode(sub);
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

std::optional<std::string> merged_record(std::optional<std::string_view> current,
                                         Store::Fields update) {
    Store::Fields fields;
    if (current) decode_fields(*current, fields); // unreadable: replaced by the update
    merge_fields(fields, std::move(update));
    std::string value = encode_fields(fields);
    if (value.size() > kMaxRecordBytes) return std::nullopt;
    return value;
}

void sort_index(IndexEntries& entries) {
    std::stable_sort(entries.begin(), entries.end(),
                     [](const auto& a, const auto& b) { return a.first < b.first; });
}

IndexUpdate update_index_record(std::optional<std::string_view> current, std::string_view member,
                                Millis expires_at_ms, bool remove, Millis now_ms) {
    IndexEntries entries;
    if (current) decode_index(*current, entries); // unreadable: starts over
    std::erase_if(entries, [&](const auto& e) { return e.first <= now_ms || e.second == member; });
    if (!remove && expires_at_ms > now_ms) {
        if (entries.size() >= kMaxIndexMembers) return {IndexUpdate::Outcome::full, {}, 0};
        entries.emplace_back(expires_at_ms, std::string(member));
    }
    if (entries.empty()) return {};
    Millis latest = 0;
    for (const auto& e : entries) latest = std::max(latest, e.first);
    std::string value = encode_index(entries);
    if (value.size() > kMaxRecordBytes) return {IndexUpdate::Outcome::full, {}, 0};
    return {IndexUpdate::Outcome::write, std::move(value), latest};
}

} // namespace authgate
