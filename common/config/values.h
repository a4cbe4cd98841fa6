// Validators for directive values (parse_duration/parse_size are in authgate/config.h).
#pragma once

#include <string_view>

#include "authgate/config.h"

namespace authgate::config {

bool is_token(std::string_view s);
bool is_domain(std::string_view s);
bool is_url_path_prefix(std::string_view s);

} // namespace authgate::config
