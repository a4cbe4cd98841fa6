// Compact JWS verification: header checks, key selection with the alg pinned to the key,
// and the signature through cjose.
#include <algorithm>
#include <memory>

#include <cjose/header.h>
#include <cjose/jws.h>
#include <nlohmann/json.hpp>

#include "authgate/crypto.h"
#include "jose/keyset_impl.h"
#include "jose/segment.h"

namespace authgate::jose {

namespace {

using nlohmann::json;
using Entry = KeySet::Impl::Entry;

struct JwsRelease {
    void operator()(cjose_jws_t* jws) const { cjose_jws_release(jws); }
};

struct Header {
    std::string alg;
    std::string kid;
    std::string typ;
};

Checked<Header> parse_header(std::string_view encoded) {
    auto raw = crypto::base64url_decode(encoded);
    if (!raw) return reject(Error::token_invalid, "header is not base64url");
    json h = json::parse(*raw, nullptr, false);
    if (h.is_discarded() || !h.is_object()) {
        return reject(Error::token_invalid, "header is not a JSON object");
    }
    // No extension is understood here, so any critical one makes the token unusable.
    if (h.contains("crit")) return reject(Error::token_invalid, "header has crit");
    Header out;
    auto alg = h.find("alg");
    if (alg == h.end() || !alg->is_string()) return reject(Error::token_invalid, "no alg");
    out.alg = alg->get<std::string>();
    for (auto [name, field] : {std::pair{"kid", &out.kid}, std::pair{"typ", &out.typ}}) {
        auto it = h.find(name);
        if (it == h.end()) continue;
        if (!it->is_string())
            return reject(Error::token_invalid, std::string(name) + " not a string");
        *field = it->get<std::string>();
    }
    return out;
}

bool fits(const Entry& e, Alg alg) {
    return e.info.alg ? *e.info.alg == alg : key_fits_alg(e.info.type, alg);
}

// Candidate keys: those with the token's kid (token_unknown_key when none has it), or,
// without a kid, the single key that fits the alg.
Checked<std::vector<const Entry*>> select_keys(const KeySet::Impl& set, const Header& h, Alg alg) {
    std::vector<const Entry*> out;
    if (!h.kid.empty()) {
        bool known = false;
        for (const auto& e : set.keys) {
            if (e.info.kid != h.kid) continue;
            known = true;
            if (fits(e, alg)) out.push_back(&e);
        }
        if (!known) return reject(Error::token_unknown_key, "no key with the token's kid");
        if (out.empty()) {
            return reject(Error::token_alg_not_allowed,
                          std::string(alg_name(alg)) + " is not the alg of the key");
        }
        return out;
    }
    for (const auto& e : set.keys) {
        if (fits(e, alg)) out.push_back(&e);
    }
    if (out.empty()) return reject(Error::token_unknown_key, "no key fits the token's alg");
    if (out.size() > 1) {
        return reject(Error::token_invalid, "token has no kid and several keys fit its alg");
    }
    return out;
}

} // namespace

Checked<Token> verify_jws(std::string_view compact, const KeySet& keys,
                          std::span<const Alg> allowed) {
    if (compact.empty() || compact.size() > kMaxTokenBytes) {
        return reject(Error::token_invalid, "token empty or too large");
    }
    auto dot1 = compact.find('.');
    auto dot2 = dot1 == std::string_view::npos ? dot1 : compact.find('.', dot1 + 1);
    if (dot2 == std::string_view::npos || compact.find('.', dot2 + 1) != std::string_view::npos) {
        return reject(Error::token_invalid, "not a compact JWS");
    }
    if (!is_base64url_segment(compact.substr(0, dot1)) ||
        !is_base64url_segment(compact.substr(dot1 + 1, dot2 - dot1 - 1)) ||
        !is_base64url_segment(compact.substr(dot2 + 1))) {
        return reject(Error::token_invalid, "a segment is empty or not base64url");
    }

    auto header = parse_header(compact.substr(0, dot1));
    if (!header) return header.rejection();
    auto alg = alg_from_name(header->alg);
    if (!alg || std::find(allowed.begin(), allowed.end(), *alg) == allowed.end()) {
        // header->alg may be attacker text: name it only when it is a known one.
        return reject(Error::token_alg_not_allowed,
                      alg ? "alg " + header->alg + " not allowed" : "alg not supported");
    }
    auto candidates = select_keys(keys.impl(), *header, *alg);
    if (!candidates) return candidates.rejection();

    cjose_err err{};
    std::unique_ptr<cjose_jws_t, JwsRelease> jws(
        cjose_jws_import(compact.data(), compact.size(), &err));
    if (!jws) return reject(Error::token_invalid, "JWS not parsable");
    // cjose parses the header again: it must see the same alg as above.
    const char* cjose_alg = cjose_header_get(cjose_jws_get_protected(jws.get()), "alg", &err);
    if (cjose_alg == nullptr || header->alg != cjose_alg) {
        return reject(Error::token_invalid, "ambiguous alg header");
    }
    bool verified = false;
    for (const Entry* e : *candidates) {
        if (cjose_jws_verify(jws.get(), e->jwk.get(), &err)) {
            verified = true;
            break;
        }
    }
    if (!verified) return reject(Error::token_invalid, "bad signature");

    std::uint8_t* payload = nullptr;
    std::size_t payload_len = 0;
    if (!cjose_jws_get_plaintext(jws.get(), &payload, &payload_len, &err) || payload == nullptr) {
        return reject(Error::token_invalid, "no payload");
    }
    auto claims = Claims::parse(
        std::string_view(reinterpret_cast<const char*>(payload), payload_len), kMaxTokenBytes);
    if (!claims) return reject(Error::token_invalid, "payload is not a JSON object");

    Token token;
    token.alg = *alg;
    token.kid = std::move(header->kid);
    token.typ = std::move(header->typ);
    token.claims = std::move(*claims);
    return token;
}

} // namespace authgate::jose
