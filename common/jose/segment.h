// Input checks before text reaches cjose (private to common/jose).
#pragma once

#include <algorithm>
#include <string_view>

namespace authgate::jose {

// A non-empty unpadded base64url string of a length that can encode bytes. cjose's
// base64url decoder asserts (aborting the process) on some padded or odd-length input,
// e.g. "A=" inside a string, so every token segment and key member is checked first.
inline bool is_base64url_segment(std::string_view s) {
    if (s.empty() || s.size() % 4 == 1) return false;
    return std::all_of(s.begin(), s.end(), [](char c) {
        return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
               c == '-' || c == '_';
    });
}

} // namespace authgate::jose
