// Claim rules for ID tokens, logout tokens and bearer access tokens.
#include <algorithm>

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
        if (!nonce || expect.nonce->empty() || !crypto::constant_time_equal(*nonce, *expect.nonce)) {
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
    rules.require_exp = true;  // OIDC Core 2: exp and iat are required in ID tokens
    rules.require_iat = true;
    if (auto v = validate_claims(token->claims, rules, now_ms); !v) return v.rejection();
    if (!token->claims.sub() || token->claims.sub()->empty()) {
        return reject(Error::token_invalid, "no sub");
    }
    return token;
}

Checked<LogoutToken> verify_logout_token(std::string_view compact, const KeySet& keys,
                                         std::span<const Alg> allowed,
                                         const Expectations& expect, Millis now_ms) {
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
                                   std::span<const std::string> required_scopes,
                                   Millis now_ms) {
    auto token = verify_jws(compact, keys, allowed);
    if (!token) return token;
    if (auto v = validate_access_claims(token->claims, expect, required_scopes, now_ms); !v) {
        return v.rejection();
    }
    return token;
}

Checked<void> validate_access_claims(const Claims& claims, const Expectations& expect,
                                     std::span<const std::string> required_scopes,
                                     Millis now_ms) {
    Expectations rules = expect;
    rules.check_azp = false;
    rules.require_exp = true;
    rules.nonce.reset();
    if (auto v = validate_claims(claims, rules, now_ms); !v) return v;
    if (!has_all_scopes(claims.scopes(), required_scopes)) {
        return reject(Error::insufficient_scope, "a required scope is missing");
    }
    return {};
}

} // namespace authgate::jose
