// JOSE for the OIDC relying party and bearer locations: JWKS key sets, compact JWS
// verification with the algorithm pinned to the key, and claim validation. Pure functions:
// the caller passes the time and fetches documents itself. Signatures are checked by
// libcjose; claims (which cjose ignores) are checked here.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "authgate/error.h"
#include "authgate/ports.h"
#include "authgate/result.h"

namespace authgate::jose {

// A rejected token: a stable Error (for $authgate_status, re-fetch decisions, HTTP status)
// and a detail for the log that never contains token material.
struct Rejection {
    Error error = Error::token_invalid;
    std::string detail;
};

inline Rejection reject(Error error, std::string detail) {
    return Rejection{error, std::move(detail)};
}

// What Checked<T>::error() returns: the stable Error (detail() gives the log text).
inline Error error_of(const Rejection& r) noexcept { return r.error; }

// A JOSE check: a T, or the Rejection that says why not (the project's one Result template).
template <class T> using Checked = Result<T, Rejection>;

// ---- Algorithms and keys -------------------------------------------------------------

// The signature algorithms this gate verifies. There is no symmetric key here, so HS*
// and "none" are never accepted, whatever the configuration says.
enum class Alg { rs256, rs384, rs512, ps256, ps384, ps512, es256, es384, es512 };

std::optional<Alg> alg_from_name(std::string_view name);
std::string_view alg_name(Alg alg) noexcept;

enum class KeyType { rsa, ec_p256, ec_p384, ec_p521 };

// Whether a key of this type can verify the algorithm (RSA: RS*/PS*; EC: the curve's ES).
bool key_fits_alg(KeyType type, Alg alg) noexcept;

struct KeySetLimits {
    std::size_t max_bytes = 64 * std::size_t{1024}; // whole JWKS document
    std::size_t max_keys = 50;                      // entries in "keys", usable or not
    std::size_t min_rsa_bits = 2048;
};

// Public signing keys from a JWKS document. Immutable after parse, cheap to copy (shared),
// safe to read from several threads.
class KeySet {
  public:
    struct Info {
        std::string kid;        // empty when the JWK has none
        std::optional<Alg> alg; // the JWK's "alg", which pins the key to that algorithm
        KeyType type = KeyType::rsa;
    };
    // Why entries were left out; each counted once.
    struct Skipped {
        std::size_t not_signing = 0; // "use" other than "sig", or key_ops without "verify"
        std::size_t unsupported = 0; // kty/crv/alg this gate does not verify (oct, OKP, ...)
        std::size_t private_key = 0; // carried private material: never used
        std::size_t invalid = 0;     // malformed or too weak (short RSA modulus)
        std::size_t total() const { return not_signing + unsupported + private_key + invalid; }
    };

    KeySet();
    // Fails only when the document itself is unusable (not JSON, no "keys" array, over the
    // limits). A document whose keys are all skipped parses to an empty set.
    static Result<KeySet> parse(std::string_view jwks_json, const KeySetLimits& limits = {});

    std::size_t size() const;
    bool empty() const { return size() == 0; }
    const Info& key(std::size_t i) const;
    const Skipped& skipped() const;
    bool has_kid(std::string_view kid) const;

    struct Impl;
    const Impl& impl() const { return *impl_; }

  private:
    explicit KeySet(std::shared_ptr<const Impl> impl) : impl_(std::move(impl)) {}
    std::shared_ptr<const Impl> impl_;
};

// ---- Claims --------------------------------------------------------------------------

// The JSON object of a verified token's payload (or of a userinfo answer), with typed,
// non-throwing accessors. Cheap to copy (shared, immutable).
class Claims {
  public:
    Claims();
    // A JSON object, at most max_bytes long.
    static Result<Claims> parse(std::string_view json,
                                std::size_t max_bytes = 64 * std::size_t{1024});

    bool has(std::string_view name) const; // top-level member present (any type)
    // A string claim. `path` is a member name or, when no member has that exact name, a
    // dotted path through nested objects ("realm_access.roles" style).
    std::optional<std::string> string(std::string_view path) const;
    // An array of strings (other elements skipped) or a single string as a one-item list.
    std::optional<std::vector<std::string>> strings(std::string_view path) const;
    // A boolean; the strings "true"/"false" (some IdPs send those) count too.
    std::optional<bool> boolean(std::string_view path) const;
    // A NumericDate (seconds since the epoch, integer or fractional) in milliseconds;
    // nullopt when absent, not a number, negative or absurdly large.
    std::optional<Millis> time_ms(std::string_view name) const;
    // Scopes from "scope" (space-separated string) or, failing that, "scp" (array or string).
    std::vector<std::string> scopes() const;

    std::optional<std::string> sub() const { return string("sub"); }
    std::optional<std::string> sid() const { return string("sid"); }
    std::optional<std::string> jti() const { return string("jti"); }
    std::optional<std::string> email() const { return string("email"); }
    std::optional<bool> email_verified() const { return boolean("email_verified"); }
    std::optional<std::string> name() const { return string("name"); }
    std::optional<std::string> preferred_username() const { return string("preferred_username"); }

    const nlohmann::json& object() const { return *json_; }

  private:
    explicit Claims(std::shared_ptr<const nlohmann::json> j) : json_(std::move(j)) {}
    std::shared_ptr<const nlohmann::json> json_;
};

// ---- Compact JWS verification --------------------------------------------------------

struct Token {
    Alg alg = Alg::rs256;
    std::string kid; // header kid, empty when absent
    std::string typ; // header typ, empty when absent
    Claims claims;
};

constexpr std::size_t kMaxTokenBytes = 64 * std::size_t{1024};

// Verifies a compact JWS and parses its payload as claims (checks no claim).
// - the header alg must be in `allowed` (and never none/HS*): token_alg_not_allowed;
// - a header kid selects the key; a kid the set lacks: token_unknown_key (re-fetch);
// - no kid: the one key that fits the alg, if exactly one does;
// - the alg is pinned to the key: the JWK's alg when given, else the key type's family
//   (a PS256 token against an RS256 key, or ES384 against a P-256 key, is refused);
// - anything malformed, a "crit" header, or a bad signature: token_invalid.
Checked<Token> verify_jws(std::string_view compact, const KeySet& keys,
                          std::span<const Alg> allowed);

// ---- Claim validation ----------------------------------------------------------------

struct Expectations {
    std::string issuer;               // iss must equal this exactly
    std::string audience;             // aud (string or array) must contain this (client id)
    std::optional<std::string> nonce; // when set: the nonce claim must equal it
    Millis skew_ms = 60'000;          // clock tolerance for exp, nbf and iat
    Millis max_age_ms = 0;            // when > 0: iat must be at most this old
    bool require_exp = true;
    // azp must equal the audience when present, and is required when aud has several
    // values (ID tokens). Access tokens carry the requesting client in azp: off there.
    bool check_azp = true;
    bool require_iat = false;
};

Checked<void> validate_claims(const Claims& claims, const Expectations& expect, Millis now_ms);

// Signature and claims of an OIDC ID token (exp, iat and sub required); expect.nonce
// should carry the flow's nonce.
Checked<Token> verify_id_token(std::string_view compact, const KeySet& keys,
                               std::span<const Alg> allowed, const Expectations& expect,
                               Millis now_ms);

// OIDC Back-Channel Logout token.
struct LogoutToken {
    std::string issuer;
    std::string sub; // empty when only sid was given
    std::string sid; // empty when only sub was given
    std::string jti; // for replay protection by the caller
    Millis iat_ms = 0;
};
// Signature, iss, aud and iat (required; max_age_ms applies) as for ID tokens, exp when
// present; then: typ (if present) is "logout+jwt", events holds the back-channel logout
// event as an object, nonce is absent, sid or sub is present, jti is present.
// expect.nonce and expect.require_exp are ignored.
Checked<LogoutToken> verify_logout_token(std::string_view compact, const KeySet& keys,
                                         std::span<const Alg> allowed, const Expectations& expect,
                                         Millis now_ms);

inline constexpr std::string_view kBackchannelLogoutEvent =
    "http://schemas.openid.net/event/backchannel-logout";

// What tells a provider's access tokens apart from its ID tokens (same issuer, same keys).
// A JWS typed "at+jwt" (RFC 9068) is an access token. Otherwise a token is refused as an
// ID token when it carries nonce, at_hash or c_hash, when its typ names another kind of
// JWT ("logout+jwt"...), or when its only audience is the client id, unless the location
// explicitly asked for that audience (some IdPs issue access tokens for their own client).
struct AccessTokenRules {
    std::string client_id;        // the provider's client id (an ID token's audience)
    bool client_audience = false; // the location configured audience=<client_id>
};

// A bearer JWT access token for an API location: signature, the rules above, iss, aud
// (the resource's audience), exp required, azp not checked, and every required scope
// present (insufficient_scope otherwise).
Checked<Token> verify_access_token(std::string_view compact, const KeySet& keys,
                                   std::span<const Alg> allowed, const Expectations& expect,
                                   const AccessTokenRules& rules,
                                   std::span<const std::string> required_scopes, Millis now_ms);
// The same checks but the signature (for a token whose signature was verified before).
Checked<void> validate_access_token(const Token& token, const Expectations& expect,
                                    const AccessTokenRules& rules,
                                    std::span<const std::string> required_scopes, Millis now_ms);

} // namespace authgate::jose
