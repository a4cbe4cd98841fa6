// Shared by the fuzz targets: libFuzzer's entry point and byte helpers.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size);

inline std::string_view as_view(const uint8_t* data, size_t size) {
    return {reinterpret_cast<const char*>(data), size};
}

// Splits the input at NUL bytes, for targets that take several strings.
inline std::vector<std::string_view> fields(const uint8_t* data, size_t size) {
    std::vector<std::string_view> out;
    std::string_view s = as_view(data, size);
    while (true) {
        auto nul = s.find('\0');
        out.push_back(s.substr(0, nul));
        if (nul == std::string_view::npos) break;
        s.remove_prefix(nul + 1);
    }
    return out;
}
