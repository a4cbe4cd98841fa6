// Compact binary records: unsigned LEB128 varints and length-prefixed strings.
// The reader never reads past its input and reports any malformation.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace authgate::bytes {

class Writer {
  public:
    void u8(std::uint8_t v) { out_.push_back(static_cast<char>(v)); }
    void varint(std::uint64_t v) {
        while (v >= 0x80) {
            out_.push_back(static_cast<char>((v & 0x7f) | 0x80));
            v >>= 7;
        }
        out_.push_back(static_cast<char>(v));
    }
    void str(std::string_view s) {
        varint(s.size());
        out_.append(s);
    }
    std::string take() { return std::move(out_); }

  private:
    std::string out_;
};

class Reader {
  public:
    explicit Reader(std::string_view in) : in_(in) {}

    bool u8(std::uint8_t& v) {
        if (in_.empty()) return false;
        v = static_cast<std::uint8_t>(in_.front());
        in_.remove_prefix(1);
        return true;
    }
    bool varint(std::uint64_t& v) {
        v = 0;
        for (int shift = 0; shift < 64; shift += 7) {
            std::uint8_t b = 0;
            if (!u8(b)) return false;
            if (shift == 63 && (b & 0x7e) != 0) return false;
            v |= static_cast<std::uint64_t>(b & 0x7f) << shift;
            if ((b & 0x80) == 0) return true;
        }
        return false;
    }
    bool str(std::string& s, std::size_t max_len) {
        std::uint64_t n = 0;
        if (!varint(n) || n > max_len || n > in_.size()) return false;
        s.assign(in_.substr(0, n));
        in_.remove_prefix(n);
        return true;
    }
    bool at_end() const { return in_.empty(); }

  private:
    std::string_view in_;
};

} // namespace authgate::bytes
