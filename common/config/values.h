// Validators for directive values (parse_duration/parse_size are in authgate/config.h).
#pragma once

#include <string>
#include <string_view>

#include "authgate/config.h"

namespace authgate::config {

bool is_token(std::string_view s);
bool is_scope_token(std::string_view s);
bool is_domain(std::string_view s);
bool is_url_path_prefix(std::string_view s);

// A value as error messages quote it: "value".
inline std::string quoted(std::string_view s) { return "\"" + std::string(s) + "\""; }

} // namespace authgate::config
