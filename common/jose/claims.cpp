// Typed, non-throwing access to a JSON claims object.
#include <cmath>

#include <nlohmann/json.hpp>

#include "authgate/jose.h"
#include "base/text.h"

namespace authgate::jose {

namespace {

using nlohmann::json;

// Latest NumericDate accepted (year 9999), so that milliseconds never overflow.
constexpr double kMaxNumericDate = 253'402'300'799.0;

const json* member(const json& obj, std::string_view name) {
    if (!obj.is_object()) return nullptr;
    auto it = obj.find(name);
    return it == obj.end() ? nullptr : &*it;
}

// The exact member name first (claim names may contain dots, e.g. namespaced URLs), then
// the dotted path through nested objects.
const json* lookup(const json& root, std::string_view path) {
    if (const json* exact = member(root, path)) return exact;
    if (path.find('.') == std::string_view::npos) return nullptr;
    const json* at = &root;
    for (std::string_view part : text::split(path, '.')) {
        if (part.empty()) return nullptr;
        at = member(*at, part);
        if (at == nullptr) return nullptr;
    }
    return at;
}

void split_spaces(std::string_view s, std::vector<std::string>& out) {
    for (std::string_view part : text::split(s, ' ')) {
        if (!part.empty()) out.emplace_back(part);
    }
}

} // namespace

Claims::Claims() : json_(std::make_shared<const json>(json::object())) {}

Result<Claims> Claims::parse(std::string_view text, std::size_t max_bytes) {
    if (text.size() > max_bytes) return fail("claims too large");
    auto doc = std::make_shared<json>(json::parse(text, nullptr, false));
    if (doc->is_discarded() || !doc->is_object()) return fail("claims are not a JSON object");
    return Claims(std::move(doc));
}

bool Claims::has(std::string_view name) const { return member(*json_, name) != nullptr; }

std::optional<std::string> Claims::string(std::string_view path) const {
    const json* v = lookup(*json_, path);
    if (v == nullptr || !v->is_string()) return std::nullopt;
    return v->get<std::string>();
}

std::optional<std::vector<std::string>> Claims::strings(std::string_view path) const {
    const json* v = lookup(*json_, path);
    if (v == nullptr) return std::nullopt;
    std::vector<std::string> out;
    if (v->is_string()) {
        out.push_back(v->get<std::string>());
        return out;
    }
    if (!v->is_array()) return std::nullopt;
    for (const auto& item : *v) {
        if (item.is_string()) out.push_back(item.get<std::string>());
    }
    return out;
}

std::optional<bool> Claims::boolean(std::string_view path) const {
    const json* v = lookup(*json_, path);
    if (v == nullptr) return std::nullopt;
    if (v->is_boolean()) return v->get<bool>();
    if (v->is_string()) {
        const auto& s = v->get_ref<const std::string&>();
        if (s == "true") return true;
        if (s == "false") return false;
    }
    return std::nullopt;
}

std::optional<Millis> Claims::time_ms(std::string_view name) const {
    const json* v = member(*json_, name);
    if (v == nullptr || !v->is_number()) return std::nullopt;
    if (v->is_number_unsigned()) {
        auto s = v->get<std::uint64_t>();
        if (s > static_cast<std::uint64_t>(kMaxNumericDate)) return std::nullopt;
        return static_cast<Millis>(s) * 1000;
    }
    if (v->is_number_integer()) {
        auto s = v->get<std::int64_t>();
        if (s < 0 || s > static_cast<std::int64_t>(kMaxNumericDate)) return std::nullopt;
        return s * 1000;
    }
    double s = v->get<double>();
    if (!std::isfinite(s) || s < 0 || s > kMaxNumericDate) return std::nullopt;
    return static_cast<Millis>(std::floor(s * 1000.0));
}

std::vector<std::string> Claims::scopes() const {
    std::vector<std::string> out;
    if (const json* scope = member(*json_, "scope"); scope != nullptr && scope->is_string()) {
        split_spaces(scope->get_ref<const std::string&>(), out);
        return out;
    }
    if (const json* scp = member(*json_, "scp")) {
        if (scp->is_string()) {
            split_spaces(scp->get_ref<const std::string&>(), out);
        } else if (scp->is_array()) {
            for (const auto& item : *scp) {
                if (item.is_string()) out.push_back(item.get<std::string>());
            }
        }
    }
    return out;
}

} // namespace authgate::jose
