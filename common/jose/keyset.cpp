// JWKS parsing: public RSA and EC signing keys, each kept with its kid and pinned alg.
#include <nlohmann/json.hpp>

#include "jose/keyset_impl.h"
#include "jose/segment.h"

namespace authgate::jose {

namespace {

using nlohmann::json;

enum class Verdict { use, not_signing, unsupported, private_key, invalid };

// Members that carry private or symmetric key material (RFC 7518 section 6).
constexpr std::array<const char*, 8> kPrivateMembers{"d", "p", "q", "dp", "dq", "qi", "oth", "k"};

bool string_member(const json& jwk, const char* name, std::string& out) {
    auto it = jwk.find(name);
    if (it == jwk.end() || !it->is_string()) return false;
    out = it->get<std::string>();
    return !out.empty();
}

// A key member cjose will base64url-decode.
bool b64_member(const json& jwk, const char* name, std::string& out) {
    return string_member(jwk, name, out) && is_base64url_segment(out);
}

Verdict purpose(const json& jwk) {
    if (auto use = jwk.find("use"); use != jwk.end()) {
        if (!use->is_string()) return Verdict::invalid;
        if (use->get_ref<const std::string&>() != "sig") return Verdict::not_signing;
    }
    if (auto ops = jwk.find("key_ops"); ops != jwk.end()) {
        if (!ops->is_array()) return Verdict::invalid;
        bool verify = false;
        for (const auto& op : *ops) verify = verify || (op.is_string() && op == "verify");
        if (!verify) return Verdict::not_signing;
    }
    return Verdict::use;
}

// The public members only, for cjose, plus the key type they describe.
Verdict public_part(const json& jwk, json& out, KeyType& type) {
    std::string kty;
    if (!string_member(jwk, "kty", kty)) return Verdict::invalid;
    if (kty == "RSA") {
        std::string n;
        std::string e;
        if (!b64_member(jwk, "n", n) || !b64_member(jwk, "e", e)) return Verdict::invalid;
        out = json{{"kty", "RSA"}, {"n", n}, {"e", e}};
        type = KeyType::rsa;
        return Verdict::use;
    }
    if (kty == "EC") {
        std::string crv;
        std::string x;
        std::string y;
        if (!string_member(jwk, "crv", crv) || !b64_member(jwk, "x", x) ||
            !b64_member(jwk, "y", y)) {
            return Verdict::invalid;
        }
        if (crv == "P-256") {
            type = KeyType::ec_p256;
        } else if (crv == "P-384") {
            type = KeyType::ec_p384;
        } else if (crv == "P-521") {
            type = KeyType::ec_p521;
        } else {
            return Verdict::unsupported;
        }
        out = json{{"kty", "EC"}, {"crv", crv}, {"x", x}, {"y", y}};
        return Verdict::use;
    }
    return Verdict::unsupported; // oct (symmetric), OKP (EdDSA), anything else
}

Verdict load(const json& jwk, const KeySetLimits& limits, KeySet::Impl::Entry& entry) {
    if (!jwk.is_object()) return Verdict::invalid;
    for (const char* m : kPrivateMembers) {
        if (jwk.contains(m)) return Verdict::private_key;
    }
    if (auto v = purpose(jwk); v != Verdict::use) return v;

    json pub;
    if (auto v = public_part(jwk, pub, entry.info.type); v != Verdict::use) return v;

    if (auto kid = jwk.find("kid"); kid != jwk.end()) {
        if (!kid->is_string()) return Verdict::invalid;
        entry.info.kid = kid->get<std::string>();
    }
    if (auto alg = jwk.find("alg"); alg != jwk.end()) {
        if (!alg->is_string()) return Verdict::invalid;
        entry.info.alg = alg_from_name(alg->get_ref<const std::string&>());
        if (!entry.info.alg) return Verdict::unsupported; // HS*, RSA-OAEP, EdDSA, ...
        if (!key_fits_alg(entry.info.type, *entry.info.alg)) return Verdict::invalid;
    }

    std::string text = pub.dump(-1, ' ', false, json::error_handler_t::replace);
    cjose_err err{};
    entry.jwk.reset(cjose_jwk_import(text.c_str(), text.size(), &err));
    if (!entry.jwk) return Verdict::invalid;
    if (entry.info.type == KeyType::rsa &&
        cjose_jwk_get_keysize(entry.jwk.get(), &err) < limits.min_rsa_bits) {
        return Verdict::invalid;
    }
    return Verdict::use;
}

} // namespace

KeySet::KeySet() : impl_(std::make_shared<const Impl>()) {}

Result<KeySet> KeySet::parse(std::string_view jwks_json, const KeySetLimits& limits) {
    if (jwks_json.size() > limits.max_bytes) return fail("JWKS document too large");
    json doc = json::parse(jwks_json, nullptr, false);
    if (doc.is_discarded() || !doc.is_object()) return fail("JWKS is not a JSON object");
    auto keys = doc.find("keys");
    if (keys == doc.end() || !keys->is_array()) return fail("JWKS has no \"keys\" array");
    if (keys->size() > limits.max_keys) {
        return fail("JWKS has " + std::to_string(keys->size()) + " keys, more than " +
                    std::to_string(limits.max_keys));
    }

    auto impl = std::make_shared<Impl>();
    for (const auto& jwk : *keys) {
        Impl::Entry entry;
        switch (load(jwk, limits, entry)) {
        case Verdict::use: impl->keys.push_back(std::move(entry)); break;
        case Verdict::not_signing: ++impl->skipped.not_signing; break;
        case Verdict::unsupported: ++impl->skipped.unsupported; break;
        case Verdict::private_key: ++impl->skipped.private_key; break;
        case Verdict::invalid: ++impl->skipped.invalid; break;
        }
    }
    return KeySet(std::move(impl));
}

std::size_t KeySet::size() const { return impl_->keys.size(); }

const KeySet::Info& KeySet::key(std::size_t i) const { return impl_->keys.at(i).info; }

const KeySet::Skipped& KeySet::skipped() const { return impl_->skipped; }

bool KeySet::has_kid(std::string_view kid) const {
    for (const auto& e : impl_->keys) {
        if (e.info.kid == kid) return true;
    }
    return false;
}

} // namespace authgate::jose
