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

// The limit directives' parsers (limit_directive.cpp), bound in the directive table.
Result<void> limit_zone_apply(Settings& s, Args args);
Result<void> limit_apply(Settings& s, Args args);
Result<unsigned> limit_headers(Args a);
Result<AnonymousLimit> anonymous_limit(Args a);
Result<TrustedProxies> trusted_proxies(Args a);

// A value as error messages quote it: "value".
inline std::string quoted(std::string_view s) { return "\"" + std::string(s) + "\""; }

} // namespace authgate::config
