// Typed members of the IdP's JSON answers: absent or null leaves the output untouched,
// any other type than the expected one is an error.
#pragma once

#include <nlohmann/json.hpp>

#include <string>
#include <vector>

namespace authgate::oidc {

inline bool read_string(const nlohmann::json& doc, const char* name, std::string& out) {
    auto it = doc.find(name);
    if (it == doc.end() || it->is_null()) return true;
    if (!it->is_string()) return false;
    out = it->get<std::string>();
    return true;
}

inline bool read_strings(const nlohmann::json& doc, const char* name,
                         std::vector<std::string>& out) {
    auto it = doc.find(name);
    if (it == doc.end() || it->is_null()) return true;
    if (!it->is_array()) return false;
    for (const auto& v : *it) {
        if (!v.is_string()) return false;
        out.push_back(v.get<std::string>());
    }
    return true;
}

} // namespace authgate::oidc
