// JWKS parsing, JWS verification with pinned algorithms, and claim rules for ID, logout
// and bearer tokens, with keys generated and tokens signed here (cjose/OpenSSL).
#include "support/support.h"

#include <cjose/cjose.h>
#include <nlohmann/json.hpp>

#include "authgate/crypto.h"
#include "authgate/jose.h"

using namespace authgate;
using namespace authgate::jose;
using nlohmann::json;

namespace {

constexpr Millis kNow = 1'700'000'000'000;
constexpr std::int64_t kNowS = kNow / 1000;
constexpr const char* kIssuer = "https://idp.example.com/realms/main";
constexpr const char* kClient = "gate-client";

struct TestKey {
    cjose_jwk_t* jwk = nullptr;
    json pub; // public JWK
};

TestKey make_key(cjose_jwk_t* jwk) {
    assert_non_null(jwk);
    cjose_err err{};
    char* text = cjose_jwk_to_json(jwk, false, &err);
    assert_non_null(text);
    TestKey k{jwk, json::parse(text)};
    free(text); // NOLINT: cjose allocates with malloc by default
    return k;
}

TestKey rsa_key(std::size_t bits = 2048) {
    static const std::uint8_t kE[] = {0x01, 0x00, 0x01};
    cjose_err err{};
    return make_key(cjose_jwk_create_RSA_random(bits, kE, sizeof kE, &err));
}

TestKey ec_key(cjose_jwk_ec_curve crv) {
    cjose_err err{};
    return make_key(cjose_jwk_create_EC_random(crv, &err));
}

// Keys generated once for the whole file (RSA generation is slow).
struct Keys {
    TestKey rsa = rsa_key();
    TestKey rsa2 = rsa_key();
    TestKey p256 = ec_key(CJOSE_JWK_EC_P_256);
    TestKey p384 = ec_key(CJOSE_JWK_EC_P_384);
};
Keys* g_keys = nullptr;

json jwk_entry(const TestKey& k, const char* kid, const char* alg = nullptr) {
    json j = k.pub;
    if (kid != nullptr) j["kid"] = kid;
    if (alg != nullptr) j["alg"] = alg;
    j["use"] = "sig";
    return j;
}

KeySet keyset(const json& entries) {
    auto ks = KeySet::parse(json{{"keys", entries}}.dump());
    assert_true(ks.ok());
    return *ks;
}

// The usual set: an RSA key pinned to RS256 and a P-256 key without alg.
KeySet standard_set() {
    return keyset(
        json::array({jwk_entry(g_keys->rsa, "rsa1", "RS256"), jwk_entry(g_keys->p256, "ec1")}));
}

std::string b64(std::string_view s) { return crypto::base64url_encode(crypto::bytes(s)); }

std::string sign(const TestKey& k, const char* alg, const char* kid, const json& claims,
                 const char* typ = nullptr) {
    cjose_err err{};
    cjose_header_t* h = cjose_header_new(&err);
    assert_true(cjose_header_set(h, "alg", alg, &err));
    if (kid != nullptr) assert_true(cjose_header_set(h, "kid", kid, &err));
    if (typ != nullptr) assert_true(cjose_header_set(h, "typ", typ, &err));
    std::string payload = claims.dump();
    cjose_jws_t* jws = cjose_jws_sign(k.jwk, h, reinterpret_cast<const uint8_t*>(payload.data()),
                                      payload.size(), &err);
    assert_non_null(jws);
    const char* out = nullptr;
    assert_true(cjose_jws_export(jws, &out, &err));
    std::string compact = out;
    cjose_jws_release(jws);
    cjose_header_release(h);
    return compact;
}

json id_claims() {
    return json{{"iss", kIssuer},     {"aud", kClient},    {"sub", "user-1"},
                {"exp", kNowS + 300}, {"iat", kNowS - 10}, {"nonce", "n-123"}};
}

Expectations expect() {
    Expectations e;
    e.issuer = kIssuer;
    e.audience = kClient;
    e.nonce = "n-123";
    return e;
}

const std::vector<Alg> kAllowed{Alg::rs256, Alg::ps256, Alg::es256, Alg::es384};

void expect_error(const Checked<Token>& r, Error e) {
    if (r.ok()) fail_msg("token accepted, expected %s", std::string(error_name(e)).c_str());
    if (r.error() != e) {
        fail_msg("got %s (%s), expected %s", std::string(error_name(r.error())).c_str(),
                 r.detail().c_str(), std::string(error_name(e)).c_str());
    }
}

Checked<Token> id(const std::string& compact, const Expectations& e = expect()) {
    return verify_id_token(compact, standard_set(), kAllowed, e, kNow);
}

// ---- key sets ----

void jwks_keeps_kid_alg_and_skips_what_it_cannot_use(void**) {
    json priv_key;
    {
        cjose_err err{};
        char* text = cjose_jwk_to_json(g_keys->p256.jwk, true, &err);
        priv_key = json::parse(text);
        free(text); // NOLINT
    }
    json enc = jwk_entry(g_keys->rsa2, "enc1");
    enc["use"] = "enc";
    json ops = jwk_entry(g_keys->rsa2, "ops1");
    ops["key_ops"] = {"encrypt"};
    json hs = {{"kty", "oct"}, {"k", "c2VjcmV0"}, {"kid", "hs"}};
    json okp = {{"kty", "OKP"}, {"crv", "Ed25519"}, {"x", "AAAA"}, {"kid", "ed"}};
    json oaep = jwk_entry(g_keys->rsa2, "oaep", "RSA-OAEP");
    json wrong_family = jwk_entry(g_keys->p256, "ec-rs", "RS256");
    json garbage = {{"kty", "RSA"}, {"n", "!!"}, {"e", "AQAB"}};
    json padded = jwk_entry(g_keys->rsa2, "padded"); // cjose would assert on "A=" inside
    padded["e"] = "A=AB";
    json missing = {{"kty", "EC"}, {"crv", "P-256"}, {"x", "AAAA"}};
    TestKey weak_key = rsa_key(1024);
    json weak = jwk_entry(weak_key, "weak");
    cjose_jwk_release(weak_key.jwk);
    json entries = json::array({jwk_entry(g_keys->rsa, "rsa1", "RS256"),
                                jwk_entry(g_keys->p384, "ec384"), priv_key, enc, ops, hs, okp, oaep,
                                wrong_family, garbage, padded, missing, weak, 42});
    auto ks = KeySet::parse(json{{"keys", entries}}.dump());
    assert_true(ks.ok());
    assert_int_equal(ks->size(), 2);
    assert_true(ks->key(0).kid == "rsa1" && ks->key(0).alg == Alg::rs256 &&
                ks->key(0).type == KeyType::rsa);
    assert_true(ks->key(1).kid == "ec384" && !ks->key(1).alg &&
                ks->key(1).type == KeyType::ec_p384);
    assert_true(ks->has_kid("rsa1") && !ks->has_kid("hs"));
    assert_int_equal(ks->skipped().private_key, 2); // EC private JWK and the oct key
    assert_int_equal(ks->skipped().not_signing, 2);
    assert_int_equal(ks->skipped().unsupported, 2); // OKP, RSA-OAEP
    assert_int_equal(ks->skipped().invalid, 6);
    assert_int_equal(ks->skipped().total(), 12);
}

void jwks_document_errors(void**) {
    assert_false(KeySet::parse("").ok());
    assert_false(KeySet::parse("{").ok());
    assert_false(KeySet::parse("[]").ok());
    assert_false(KeySet::parse("{\"keys\":{}}").ok());
    assert_false(KeySet::parse("{\"nokeys\":[]}").ok());
    assert_true(KeySet::parse("{\"keys\":[]}").ok());
    json many = json::array();
    for (int i = 0; i < 3; ++i) many.push_back(jwk_entry(g_keys->p256, "k"));
    KeySetLimits limits;
    limits.max_keys = 2;
    assert_false(KeySet::parse(json{{"keys", many}}.dump(), limits).ok());
    limits = {};
    limits.max_bytes = 10;
    assert_false(KeySet::parse("{\"keys\":[]}   ", limits).ok());
}

// ---- signatures and algorithms ----

void valid_rs256_and_es256_tokens(void**) {
    auto r = id(sign(g_keys->rsa, "RS256", "rsa1", id_claims()));
    assert_true(r.ok());
    assert_true(r->alg == Alg::rs256 && r->kid == "rsa1");
    assert_true(r->claims.sub() == "user-1");
    auto e = id(sign(g_keys->p256, "ES256", "ec1", id_claims()));
    assert_true(e.ok());
    assert_true(e->alg == Alg::es256);
}

void alg_none_rejected(void**) {
    std::string h = b64(R"({"alg":"none","kid":"rsa1"})");
    std::string p = b64(id_claims().dump());
    expect_error(id(h + "." + p + "."), Error::token_invalid);
    expect_error(id(h + "." + p + ".c2ln"), Error::token_alg_not_allowed);
    std::string h2 = b64(R"({"alg":"none"})");
    expect_error(id(h2 + "." + p + ".c2ln"), Error::token_alg_not_allowed);
}

void hs256_with_public_key_as_secret_rejected(void**) {
    // The classic confusion: the RSA public key's bytes used as an HMAC secret.
    std::string secret = g_keys->rsa.pub.dump();
    std::string n = *crypto::base64url_decode(g_keys->rsa.pub["n"].get<std::string>());
    for (const std::string& key : {secret, n}) {
        std::string input = b64(R"({"alg":"HS256","kid":"rsa1"})") + "." + b64(id_claims().dump());
        auto mac = crypto::hmac_sha256(crypto::bytes(key), input);
        std::string token = input + "." + crypto::base64url_encode(mac);
        expect_error(id(token), Error::token_alg_not_allowed);
    }
}

void ps256_against_rs256_pinned_key(void**) {
    // Same RSA key, but the JWK says RS256: a PS256 signature must not be accepted.
    expect_error(id(sign(g_keys->rsa, "PS256", "rsa1", id_claims())), Error::token_alg_not_allowed);
    // Without a pin the RSA family is allowed.
    KeySet unpinned = keyset(json::array({jwk_entry(g_keys->rsa, "rsa1")}));
    assert_true(verify_id_token(sign(g_keys->rsa, "PS256", "rsa1", id_claims()), unpinned, kAllowed,
                                expect(), kNow)
                    .ok());
}

void alg_outside_allow_list_or_curve(void**) {
    std::vector<Alg> only_es{Alg::es256};
    expect_error(verify_id_token(sign(g_keys->rsa, "RS256", "rsa1", id_claims()), standard_set(),
                                 only_es, expect(), kNow),
                 Error::token_alg_not_allowed);
    expect_error(id(sign(g_keys->rsa, "RS512", "rsa1", id_claims())), Error::token_alg_not_allowed);
    // ES384 is allowed, but the key with that kid is P-256.
    expect_error(id(sign(g_keys->p384, "ES384", "ec1", id_claims())), Error::token_alg_not_allowed);
}

void unknown_kid_is_distinct(void**) {
    auto r = id(sign(g_keys->rsa2, "RS256", "rotated", id_claims()));
    expect_error(r, Error::token_unknown_key);
}

void no_kid_uses_the_single_fitting_key(void**) {
    // ES256 without kid: only ec1 fits.
    assert_true(id(sign(g_keys->p256, "ES256", nullptr, id_claims())).ok());
    // RS256 without kid, two RSA keys: ambiguous.
    KeySet two = keyset(
        json::array({jwk_entry(g_keys->rsa, "a", "RS256"), jwk_entry(g_keys->rsa2, "b", "RS256")}));
    expect_error(verify_id_token(sign(g_keys->rsa, "RS256", nullptr, id_claims()), two, kAllowed,
                                 expect(), kNow),
                 Error::token_invalid);
    // No key fits at all.
    KeySet ec_only = keyset(json::array({jwk_entry(g_keys->p256, "ec1")}));
    expect_error(verify_id_token(sign(g_keys->rsa, "RS256", nullptr, id_claims()), ec_only,
                                 kAllowed, expect(), kNow),
                 Error::token_unknown_key);
}

void tampered_tokens_rejected(void**) {
    std::string good = sign(g_keys->rsa, "RS256", "rsa1", id_claims());
    auto dot1 = good.find('.');
    auto dot2 = good.find('.', dot1 + 1);
    json evil = id_claims();
    evil["sub"] = "admin";
    std::string swapped = good.substr(0, dot1 + 1) + b64(evil.dump()) + good.substr(dot2);
    expect_error(id(swapped), Error::token_invalid);
    std::string sig_flip = good;
    sig_flip[dot2 + 5] = sig_flip[dot2 + 5] == 'A' ? 'B' : 'A';
    expect_error(id(sig_flip), Error::token_invalid);
    // Signed by another key under the known kid.
    expect_error(id(sign(g_keys->rsa2, "RS256", "rsa1", id_claims())), Error::token_invalid);
    // Structure.
    for (const std::string& bad :
         {std::string(), std::string("a.b"), std::string("a.b.c.d"), good + ".x",
          good.substr(0, dot2 + 1), std::string("!!!.") + good.substr(dot1 + 1),
          b64("[1]") + good.substr(dot1),
          b64(R"({"alg":"RS256","crit":["exp"]})") + good.substr(dot1),
          b64(R"({"alg":"RS256","kid":7})") + good.substr(dot1),
          std::string(kMaxTokenBytes + 1, 'a')}) {
        expect_error(id(bad), Error::token_invalid);
    }
    // A signed payload that is not a JSON object.
    cjose_err err{};
    cjose_header_t* h = cjose_header_new(&err);
    assert_true(cjose_header_set(h, "alg", "RS256", &err));
    assert_true(cjose_header_set(h, "kid", "rsa1", &err));
    static const uint8_t kText[] = "not json";
    cjose_jws_t* jws = cjose_jws_sign(g_keys->rsa.jwk, h, kText, sizeof kText - 1, &err);
    const char* out = nullptr;
    assert_true(cjose_jws_export(jws, &out, &err));
    expect_error(id(out), Error::token_invalid);
    cjose_jws_release(jws);
    cjose_header_release(h);
}

// Regression: a signature segment with '=' inside ("...A=AT...") reached cjose, whose
// base64url decoder asserts on it and aborted the process (found by fuzz_jws).
void padded_or_odd_segments_never_reach_cjose(void**) {
    std::string good = sign(g_keys->rsa, "RS256", "rsa1", id_claims());
    auto dot2 = good.rfind('.');
    std::string padded = good.substr(0, dot2 + 1) + "hkSuA=AT15Xwg7Mt";
    expect_error(id(padded), Error::token_invalid);
    expect_error(id(good + "="), Error::token_invalid);
    expect_error(id(good.substr(0, dot2 + 1) + "AAAAA"), Error::token_invalid); // 5 % 4 == 1
    expect_error(id(good.substr(0, dot2 + 1) + "AA+/"), Error::token_invalid);
}

// ---- claims ----

void time_rules(void**) {
    json c = id_claims();
    c["exp"] = kNowS - 120;
    expect_error(id(sign(g_keys->rsa, "RS256", "rsa1", c)), Error::token_expired);
    c["exp"] = kNowS - 30; // within the 60 s skew
    assert_true(id(sign(g_keys->rsa, "RS256", "rsa1", c)).ok());
    c = id_claims();
    c.erase("exp");
    expect_error(id(sign(g_keys->rsa, "RS256", "rsa1", c)), Error::token_invalid);
    c = id_claims();
    c["exp"] = "tomorrow";
    expect_error(id(sign(g_keys->rsa, "RS256", "rsa1", c)), Error::token_invalid);
    c = id_claims();
    c["nbf"] = kNowS + 600;
    expect_error(id(sign(g_keys->rsa, "RS256", "rsa1", c)), Error::token_invalid);
    c["nbf"] = kNowS + 30;
    assert_true(id(sign(g_keys->rsa, "RS256", "rsa1", c)).ok());
    c = id_claims();
    c.erase("iat");
    expect_error(id(sign(g_keys->rsa, "RS256", "rsa1", c)), Error::token_invalid);
    c = id_claims();
    c["iat"] = kNowS + 600;
    expect_error(id(sign(g_keys->rsa, "RS256", "rsa1", c)), Error::token_invalid);
    c = id_claims();
    c["iat"] = kNowS - 3600;
    Expectations e = expect();
    e.max_age_ms = 600'000;
    expect_error(id(sign(g_keys->rsa, "RS256", "rsa1", c), e), Error::token_expired);
    c["iat"] = static_cast<double>(kNowS) - 5.5; // fractional NumericDate
    assert_true(id(sign(g_keys->rsa, "RS256", "rsa1", c), e).ok());
}

void issuer_audience_azp_nonce(void**) {
    json c = id_claims();
    c["iss"] = "https://idp.example.com/realms/other";
    expect_error(id(sign(g_keys->rsa, "RS256", "rsa1", c)), Error::issuer_mismatch);
    c = id_claims();
    c["iss"] = std::string(kIssuer) + "/";
    expect_error(id(sign(g_keys->rsa, "RS256", "rsa1", c)), Error::issuer_mismatch);
    c = id_claims();
    c["aud"] = "other-client";
    expect_error(id(sign(g_keys->rsa, "RS256", "rsa1", c)), Error::audience_mismatch);
    c["aud"] = json::array({"other", kClient});
    expect_error(id(sign(g_keys->rsa, "RS256", "rsa1", c)), Error::audience_mismatch); // no azp
    c["azp"] = "other";
    expect_error(id(sign(g_keys->rsa, "RS256", "rsa1", c)), Error::audience_mismatch);
    c["azp"] = kClient;
    assert_true(id(sign(g_keys->rsa, "RS256", "rsa1", c)).ok());
    c = id_claims();
    c["azp"] = "other"; // single aud, but azp present and wrong
    expect_error(id(sign(g_keys->rsa, "RS256", "rsa1", c)), Error::audience_mismatch);
    c = id_claims();
    c["aud"] = json::array({kClient});
    assert_true(id(sign(g_keys->rsa, "RS256", "rsa1", c)).ok());
    c = id_claims();
    c["nonce"] = "n-124";
    expect_error(id(sign(g_keys->rsa, "RS256", "rsa1", c)), Error::nonce_mismatch);
    c.erase("nonce");
    expect_error(id(sign(g_keys->rsa, "RS256", "rsa1", c)), Error::nonce_mismatch);
    c = id_claims();
    c.erase("sub");
    expect_error(id(sign(g_keys->rsa, "RS256", "rsa1", c)), Error::token_invalid);
}

void claim_access_for_mapping(void**) {
    auto c = Claims::parse(R"({
        "sub":"u1","sid":"s1","jti":"j1","email":"a@example.com","email_verified":"true",
        "name":"Alice","preferred_username":"alice",
        "realm_access":{"roles":["admin","dev",7]},
        "https://example.com/roles":"ops","groups":"single",
        "scope":"openid  profile email","scp":["ignored"],"n":{"deep":{"x":"y"}}})");
    assert_true(c.ok());
    assert_true(c->sub() == "u1" && c->sid() == "s1" && c->jti() == "j1");
    assert_true(c->email() == "a@example.com" && c->email_verified() == true);
    assert_true(c->name() == "Alice" && c->preferred_username() == "alice");
    assert_true(c->strings("realm_access.roles") == std::vector<std::string>({"admin", "dev"}));
    assert_true(c->string("https://example.com/roles") == "ops");
    assert_true(c->strings("groups") == std::vector<std::string>({"single"}));
    assert_true(c->string("n.deep.x") == "y");
    assert_false(c->string("n.deep").has_value());
    assert_false(c->string("n..x").has_value());
    assert_false(c->string("missing.path").has_value());
    assert_true(c->scopes() == std::vector<std::string>({"openid", "profile", "email"}));
    auto scp = Claims::parse(R"({"scp":["read","write"]})");
    assert_true(scp->scopes() == std::vector<std::string>({"read", "write"}));
    assert_false(Claims::parse("[]").ok());
    assert_false(Claims::parse("{\"a\":").ok());
    assert_false(Claims::parse("\xff").ok());
    assert_false(Claims::parse("{\"exp\":1e400}").ok() &&
                 Claims::parse("{\"exp\":1e400}")->time_ms("exp").has_value());
    auto neg = Claims::parse(R"({"exp":-5,"big":1e300,"u":18446744073709551615})");
    assert_false(neg->time_ms("exp") || neg->time_ms("big") || neg->time_ms("u"));
}

// ---- logout tokens ----

json logout_claims() {
    return json{
        {"iss", kIssuer},   {"aud", kClient},
        {"iat", kNowS - 5}, {"jti", "jti-1"},
        {"sid", "sess-1"},  {"events", {{std::string(kBackchannelLogoutEvent), json::object()}}}};
}

Checked<LogoutToken> logout(const json& claims, const char* typ = "logout+jwt") {
    return verify_logout_token(sign(g_keys->rsa, "RS256", "rsa1", claims, typ), standard_set(),
                               kAllowed, expect(), kNow);
}

void logout_token_rules(void**) {
    auto ok = logout(logout_claims());
    assert_true(ok.ok());
    assert_true(ok->sid == "sess-1" && ok->sub.empty() && ok->jti == "jti-1");
    assert_true(logout(logout_claims(), nullptr).ok()); // typ is optional
    assert_int_equal(logout(logout_claims(), "JWT").error(), Error::token_invalid);

    json c = logout_claims();
    c["nonce"] = "n-123";
    assert_int_equal(logout(c).error(), Error::token_invalid);
    c = logout_claims();
    c.erase("events");
    assert_int_equal(logout(c).error(), Error::token_invalid);
    c["events"] = {{"http://other/event", json::object()}};
    assert_int_equal(logout(c).error(), Error::token_invalid);
    c["events"] = {{std::string(kBackchannelLogoutEvent), "yes"}};
    assert_int_equal(logout(c).error(), Error::token_invalid);
    c = logout_claims();
    c.erase("jti");
    assert_int_equal(logout(c).error(), Error::token_invalid);
    c = logout_claims();
    c.erase("sid");
    assert_int_equal(logout(c).error(), Error::token_invalid);
    c["sub"] = "user-1";
    assert_true(logout(c).ok());
    c = logout_claims();
    c.erase("iat");
    assert_int_equal(logout(c).error(), Error::token_invalid);
    c = logout_claims();
    c["aud"] = "someone-else";
    assert_int_equal(logout(c).error(), Error::audience_mismatch);
    c = logout_claims();
    c["iss"] = "https://evil.example.com";
    assert_int_equal(logout(c).error(), Error::issuer_mismatch);
    c = logout_claims();
    c["exp"] = kNowS - 600;
    assert_int_equal(logout(c).error(), Error::token_expired);
}

// ---- bearer access tokens ----

const AccessTokenRules kRules{"gate", false};

// Regression (issue 8): ID tokens were accepted as bearer access tokens.
void id_tokens_are_not_access_tokens(void**) {
    auto claims = [](json extra) {
        json c = {{"iss", kIssuer}, {"aud", "api"}, {"sub", "u1"}, {"exp", kNowS + 60}};
        for (auto& [k, v] : extra.items()) c[k] = v;
        return c;
    };
    Expectations api;
    api.issuer = kIssuer;
    api.audience = "api";
    Expectations client = api;
    client.audience = "gate";
    auto check = [&](const json& c, const Expectations& e, const AccessTokenRules& r,
                     const char* typ = nullptr) {
        return verify_access_token(sign(g_keys->p256, "ES256", "ec1", c, typ), standard_set(),
                                   kAllowed, e, r, {}, kNow);
    };
    assert_true(check(claims({}), api, kRules).ok());
    for (const char* marker : {"nonce", "at_hash", "c_hash"}) {
        expect_error(check(claims({{marker, "x"}}), api, kRules), Error::token_invalid);
        expect_error(check(claims({{marker, "x"}, {"aud", "gate"}}), client, {"gate", true}),
                     Error::token_invalid);
    }
    // Only the client id as audience: an ID token, unless the location asked for it.
    for (const json& aud : {json("gate"), json::array({"gate"})}) {
        expect_error(check(claims({{"aud", aud}}), client, kRules), Error::token_invalid);
        assert_true(check(claims({{"aud", aud}}), client, {"gate", true}).ok());
    }
    assert_true(check(claims({{"aud", json::array({"gate", "api"})}}), client, kRules).ok());
    // RFC 9068 typ at+jwt says "access token", in any case, with or without application/.
    for (const char* typ : {"at+jwt", "application/at+jwt", "AT+JWT"}) {
        assert_true(check(claims({{"aud", "gate"}}), client, kRules, typ).ok());
    }
    expect_error(check(claims({}), api, kRules, "logout+jwt"), Error::token_invalid);
    assert_true(check(claims({}), api, kRules, "JWT").ok());
    // The cached path applies the same rules to an already verified token.
    auto verified = verify_jws(sign(g_keys->p256, "ES256", "ec1", claims({{"aud", "gate"}})),
                               standard_set(), kAllowed);
    assert_true(verified.ok());
    assert_true(validate_access_token(*verified, client, {"gate", true}, {}, kNow).ok());
    assert_int_equal(validate_access_token(*verified, client, kRules, {}, kNow).error(),
                     Error::token_invalid);
}

void access_token_scopes(void**) {
    json c = {{"iss", kIssuer},    {"aud", json::array({"api", "other"})},
              {"azp", "some-spa"}, {"sub", "svc"},
              {"exp", kNowS + 60}, {"scope", "read write"}};
    Expectations e;
    e.issuer = kIssuer;
    e.audience = "api";
    std::vector<std::string> need{"read"};
    std::string t = sign(g_keys->p256, "ES256", "ec1", c);
    assert_true(verify_access_token(t, standard_set(), kAllowed, e, kRules, need, kNow).ok());
    need = {"read", "admin"};
    expect_error(verify_access_token(t, standard_set(), kAllowed, e, kRules, need, kNow),
                 Error::insufficient_scope);
    e.audience = "not-api";
    expect_error(verify_access_token(t, standard_set(), kAllowed, e, kRules, {}, kNow),
                 Error::audience_mismatch);
    c.erase("exp");
    e.audience = "api";
    expect_error(verify_access_token(sign(g_keys->p256, "ES256", "ec1", c), standard_set(),
                                     kAllowed, e, kRules, {}, kNow),
                 Error::token_invalid);
}

} // namespace

int main() {
    Keys keys;
    g_keys = &keys;
    const CMUnitTest tests[] = {
        cmocka_unit_test(jwks_keeps_kid_alg_and_skips_what_it_cannot_use),
        cmocka_unit_test(jwks_document_errors),
        cmocka_unit_test(valid_rs256_and_es256_tokens),
        cmocka_unit_test(alg_none_rejected),
        cmocka_unit_test(hs256_with_public_key_as_secret_rejected),
        cmocka_unit_test(ps256_against_rs256_pinned_key),
        cmocka_unit_test(alg_outside_allow_list_or_curve),
        cmocka_unit_test(unknown_kid_is_distinct),
        cmocka_unit_test(no_kid_uses_the_single_fitting_key),
        cmocka_unit_test(tampered_tokens_rejected),
        cmocka_unit_test(padded_or_odd_segments_never_reach_cjose),
        cmocka_unit_test(time_rules),
        cmocka_unit_test(issuer_audience_azp_nonce),
        cmocka_unit_test(claim_access_for_mapping),
        cmocka_unit_test(logout_token_rules),
        cmocka_unit_test(access_token_scopes),
        cmocka_unit_test(id_tokens_are_not_access_tokens),
    };
    int rc = cmocka_run_group_tests(tests, nullptr, nullptr);
    for (TestKey* k : {&keys.rsa, &keys.rsa2, &keys.p256, &keys.p384}) cjose_jwk_release(k->jwk);
    return rc;
}
