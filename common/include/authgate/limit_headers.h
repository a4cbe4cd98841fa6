// TEMPORARY (replaced by the nets branch): rate-limit response headers.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string_view>
#include <vector>

#include "authgate/limits.h"
#include "authgate/request.h"

namespace authgate::limit {

enum HeaderStyle : unsigned { kIetf = 1, kTrio = 2, kXRateLimit = 4 };

void add_headers(std::vector<Header>& out, unsigned styles, std::string_view policy,
                 const Rule& rule, const Verdict& v, std::int64_t now_ms);
std::optional<unsigned> parse_header_styles(std::span<const std::string_view> words);

} // namespace authgate::limit
