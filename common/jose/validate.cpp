// Claim rules for ID tokens, logout tokens and bearer access tokens.
#include <algorithm>
#include <cctype>

#include <nlohmann/json.hpp>

#include "authgate/crypto.h"
#include "authgate/jose.h"

namespace authgate::jose {

namespace {

using nlohmann::json;

Checked<void> check_audience(const Claims& claims, const Expectations& expect) {
    const json& root = claims.object();
    auto aud = root.find("aud");
    if (aud == root.end()) return reject(Error::audience_mismatch, "no aud");
    std::size_t count = 0;
    bool found = false;
    if (aud->is_string()) {
        count = 1;
        found = *aud == expect.audience;
    } else if (aud->is_array()) {
        for (const auto& a : *aud) {
            if (!a.is_string()) return reject(Error::token_invalid, "aud has a non-string");
            ++count;
            found = found || a == expect.audience;
        }
    } else {
        return reject(Error::token_invalid, "aud is neither string nor array");
    }
    if (!found || expect.audience.empty()) {
        return reject(Error::audience_mismatch, "aud does not contain the client id");
    }
    if (!expect.check_azp) return {};
    if (root.contains("azp")) {
        auto azp = claims.string("azp");
        if (!azp || *azp != expect.audience) {
            return reject(Error::audience_mismatch, "azp is not the client id");
        }
    } else if (count > 1) {
        return reject(Error::audience_mismatch, "several audiences and no azp");
    }
    return {};
}

Checked<void> check_times(const Claims& claims, const Expectations& expect, Millis now_ms) {
    auto times = {"exp", "nbf", "iat"};
    for (const char* name : times) {
        if (claims.has(name) && !claims.time_ms(name)) {
            return reject(Error::token_invalid, std::string(name) + " is not a NumericDate");
        }
    }
    auto exp = claims.time_ms("exp");
    if (!exp && expect.require_exp) return reject(Error::token_invalid, "no exp");
    if (exp && now_ms >= *exp + expect.skew_ms) return reject(Error::token_expired, "expired");
    if (auto nbf = claims.time_ms("nbf"); nbf && *nbf > now_ms + expect.skew_ms) {
        return reject(Error::token_invalid, "not yet valid (nbf)");
    }
    auto iat = claims.time_ms("iat");
    if (!iat && (expect.require_iat || expect.max_age_ms > 0)) {
        return reject(Error::token_invalid, "no iat");
    }
    if (iat && *iat > now_ms + expect.skew_ms) {
        return reject(Error::token_invalid, "issued in the future (iat)");
    }
    if (iat && expect.max_age_ms > 0 && now_ms - *iat > expect.max_age_ms + expect.skew_ms) {
        return reject(Error::token_expired, "issued too long ago (iat)");
    }
    return {};
}

bool equals_ignoring_case(std::string_view a, std::string_view b) {
    return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
               return std::tolower(static_cast<unsigned char>(x)) ==
                      std::tolower(static_cast<unsigned char>(y));
           });
}

// aud is exactly the client id (a string, or a list of that one string).
bool only_audience_is(const Claims& claims, std::string_view client_id) {
    const json& root = claims.object();
    auto aud = root.find("aud");
    if (aud == root.end() || client_id.empty()) return false;
    if (aud->is_string()) return *aud == client_id;
    return aud->is_array() && aud->size() == 1 && (*aud)[0].is_string() && (*aud)[0] == client_id;
}

// See AccessTokenRules. Media types compare without case; "application/" is optional.
Checked<void> check_access_token_kind(const Token& token, const AccessTokenRules& rules) {
    std::string_view typ = token.typ;
    if (typ.size() > 12 && equals_ignoring_case(typ.substr(0, 12), "application/")) {
        typ.remove_prefix(12);
    }
    if (equals_ignoring_case(typ, "at+jwt")) return {};
    if (typ.size() > 4 && equals_ignoring_case(typ.substr(typ.size() - 4), "+jwt")) {
        return reject(Error::token_invalid, "typ names another kind of JWT than an access token");
    }
    for (const char* marker : {"nonce", "at_hash", "c_hash"}) {
        if (token.claims.has(marker)) {
            return reject(Error::token_invalid,
                          std::string("an ID token (") + marker + ") is not an access token");
        }
    }
    if (!rules.client_audience && only_audience_is(token.claims, rules.client_id)) {
        return reject(Error::token_invalid,
                      "the only audience is the client id: an ID token, not an access token "
                      "(audience=<client_id> admits such tokens)");
    }
    return {};
}

bool has_all_scopes(const std::vector<std::string>& have, std::span<const std::string> need) {
    return std::all_of(need.begin(), need.end(), [&](const std::string& s) {
        return std::find(have.begin(), have.end(), s) != have.end();
    });
}

} // namespace

Checked<void> validate_claims(const Claims& claims, const Expectations& expect, Millis now_ms) {
    auto iss = claims.string("iss");
    if (!iss || expect.issuer.empty() || *iss != expect.issuer) {
        return reject(Error::issuer_mismatch, "iss is not the expected issuer");
    }
    if (auto aud = check_audience(claims, expect); !aud) return aud;
    if (auto t = check_times(claims, expect, now_ms); !t) return t;
    if (expect.nonce) {
        auto nonce = claims.string("nonce");
        if (!nonce || expect.nonce->empty() ||
            !crypto::constant_time_equal(*nonce, *expect.nonce)) {
            return reject(Error::nonce_mismatch, "nonce does not match the flow's");
        }
    }
    return {};
}

Checked<Token> verify_id_token(std::string_view compact, const KeySet& keys,
                               std::span<const Alg> allowed, const Expectations& expect,
                               Millis now_ms) {
    auto token = verify_jws(compact, keys, allowed);
    if (!token) return token;
    Expectations rules = expect;
    rules.require_exp = true; // OIDC Core 2: exp and iat are required in ID tokens
    rules.require_iat = true;
    if (auto v = validate_claims(token->claims, rules, now_ms); !v) return v.rejection();
    if (!token->claims.sub() || token->claims.sub()->empty()) {
        return reject(Error::token_invalid, "no sub");
    }
    return token;
}

Checked<LogoutToken> verify_logout_token(std::string_view compact, const KeySet& keys,
                                         std::span<const Alg> allowed, const Expectations& expect,
                                         Millis now_ms) {
    auto token = verify_jws(compact, keys, allowed);
    if (!token) return token.rejection();
    if (!token->typ.empty() && token->typ != "logout+jwt") {
        return reject(Error::token_invalid, "typ is not logout+jwt");
    }
    Expectations rules = expect;
    rules.nonce.reset();
    rules.require_exp = false;
    rules.require_iat = true;
    const Claims& c = token->claims;
    if (auto v = validate_claims(c, rules, now_ms); !v) return v.rejection();

    const json& root = c.object();
    auto events = root.find("events");
    if (events == root.end() || !events->is_object()) {
        return reject(Error::token_invalid, "no events object");
    }
    auto event = events->find(kBackchannelLogoutEvent);
    if (event == events->end() || !event->is_object()) {
        return reject(Error::token_invalid, "no back-channel logout event");
    }
    if (c.has("nonce")) return reject(Error::token_invalid, "logout token has a nonce");

    LogoutToken out;
    out.issuer = c.string("iss").value_or("");
    out.sub = c.sub().value_or("");
    out.sid = c.sid().value_or("");
    out.jti = c.jti().value_or("");
    out.iat_ms = c.time_ms("iat").value_or(0);
    if (out.sub.empty() && out.sid.empty()) return reject(Error::token_invalid, "no sid or sub");
    if (out.jti.empty()) return reject(Error::token_invalid, "no jti");
    return out;
}

Checked<Token> verify_access_token(std::string_view compact, const KeySet& keys,
                                   std::span<const Alg> allowed, const Expectations& expect,
                                   const AccessTokenRules& rules,
                                   std::span<const std::string> required_scopes, Millis now_ms) {
    auto token = verify_jws(compact, keys, allowed);
    if (!token) return token;
    if (auto v = validate_access_token(*token, expect, rules, required_scopes, now_ms); !v) {
        return v.rejection();
    }
    return token;
}

Checked<void> validate_access_token(const Token& token, const Expectations& expect,
                                    const AccessTokenRules& rules,
                                    std::span<const std::string> required_scopes, Millis now_ms) {
    const Claims& claims = token.claims;
    Expectations claim_rules = expect;
    claim_rules.check_azp = false;
    claim_rules.require_exp = true;
    claim_rules.nonce.reset();
    if (auto v = validate_claims(claims, claim_rules, now_ms); !v) return v;
    if (auto kind = check_access_token_kind(token, rules); !kind) return kind;
    if (!has_all_scopes(claims.scopes(), required_scopes)) {
        return reject(Error::insufficient_scope, "a required scope is missing");
    }
    return {};
}

} // namespace authgate::jose
