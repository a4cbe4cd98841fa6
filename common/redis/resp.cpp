#include <charconv>

#include "authgate/redis.h"

namespace authgate::redis {

namespace {

void append_length(std::string& out, char kind, std::size_t n) {
    char digits[24];
    auto end = std::to_chars(digits, digits + sizeof digits, n).ptr;
    out += kind;
    out.append(digits, end);
    out += "\r\n";
}

struct Reader {
    std::string_view in;
    std::size_t pos = 0;
    const ReplyLimits& limits;

    // The line from pos up to CRLF (exclusive); pos moves past the CRLF.
    Parse line(std::string_view& out) {
        std::size_t end = in.find("\r\n", pos);
        if (end == std::string_view::npos) {
            return in.size() - pos > limits.max_line ? Parse::error : Parse::partial;
        }
        if (end - pos > limits.max_line) return Parse::error;
        out = in.substr(pos, end - pos);
        pos = end + 2;
        return Parse::done;
    }

    static bool number(std::string_view text, std::int64_t& n) {
        if (text.empty()) return false;
        auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), n);
        return ec == std::errc{} && end == text.data() + text.size();
    }

    Parse bulk(std::int64_t len, Reply& out) {
        if (len == -1) {
            out.type = Reply::Type::nil;
            return Parse::done;
        }
        if (len < 0 || static_cast<std::uint64_t>(len) > limits.max_bulk) return Parse::error;
        auto n = static_cast<std::size_t>(len);
        if (in.size() - pos < n + 2) return Parse::partial;
        if (in.substr(pos + n, 2) != "\r\n") return Parse::error;
        out.type = Reply::Type::string;
        out.str.assign(in.substr(pos, n));
        pos += n + 2;
        return Parse::done;
    }

    Parse array(std::int64_t count, Reply& out, std::size_t depth) {
        if (count == -1) {
            out.type = Reply::Type::nil;
            return Parse::done;
        }
        if (count < 0 || static_cast<std::uint64_t>(count) > limits.max_elements ||
            depth >= limits.max_depth) {
            return Parse::error;
        }
        out.type = Reply::Type::array;
        // Every element takes at least 3 bytes: never reserve more than the input holds.
        auto n = static_cast<std::size_t>(count);
        out.elements.reserve(std::min(n, (in.size() - pos) / 3));
        for (std::size_t i = 0; i < n; ++i) {
            Parse p = reply(out.elements.emplace_back(), depth + 1);
            if (p != Parse::done) return p;
        }
        return Parse::done;
    }

    Parse reply(Reply& out, std::size_t depth) {
        if (pos >= in.size()) return Parse::partial;
        char kind = in[pos++];
        std::string_view text;
        if (Parse p = line(text); p != Parse::done) return p;
        std::int64_t n = 0;
        switch (kind) {
        case '+':
        case '-':
            out.type = kind == '+' ? Reply::Type::status : Reply::Type::error;
            out.str.assign(text);
            return Parse::done;
        case ':':
            if (!number(text, n)) return Parse::error;
            out.type = Reply::Type::integer;
            out.integer = n;
            return Parse::done;
        case '$': return number(text, n) ? bulk(n, out) : Parse::error;
        case '*': return number(text, n) ? array(n, out, depth) : Parse::error;
        default: return Parse::error;
        }
    }
};

} // namespace

std::string format_command(std::span<const std::string> argv) {
    std::size_t size = 16;
    for (const auto& a : argv) size += a.size() + 16;
    std::string out;
    out.reserve(size);
    append_length(out, '*', argv.size());
    for (const auto& a : argv) {
        append_length(out, '$', a.size());
        out += a;
        out += "\r\n";
    }
    return out;
}

void format_beat(std::string_view channel, Millis sent_ms, std::string& out) {
    char payload[24];
    auto end = std::to_chars(payload, payload + sizeof payload, sent_ms).ptr;
    auto sent = std::string_view(payload, static_cast<std::size_t>(end - payload));
    out.clear();
    out += "*3\r\n$7\r\nPUBLISH\r\n";
    for (std::string_view a : {channel, sent}) {
        append_length(out, '$', a.size());
        out += a;
        out += "\r\n";
    }
}

Parse parse_reply(std::string_view in, Reply& out, std::size_t& used, const ReplyLimits& limits) {
    Reader r{in, 0, limits};
    out = Reply{};
    Parse p = r.reply(out, 0);
    used = p == Parse::done ? r.pos : 0;
    return p;
}

} // namespace authgate::redis
