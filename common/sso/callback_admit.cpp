// Callback step: the verified claims as the identity complete_sign_in starts a session
// for (claim mapping, the provider's admission rules, the tokens the session keeps), and
// the just-in-time user record once signed in.
#include "authgate/store_keys.h"
#include "sso/callback_steps.h"
#include "sso/identity.h"

namespace authgate::sso {

namespace {

// The provider's tokens the session keeps: the refresh token when refresh is on, the ID
// token for RP-initiated logout; refresh a little before the IdP's tokens lapse.
void keep_tokens(const CallbackContext& cx, const oidc::TokenResponse& tokens, Millis now,
                 Session& s) {
    const auto& pc = cx.provider.conf;
    bool keep_refresh = pc.refresh && !tokens.refresh_token.empty();
    if (keep_refresh || pc.rp_logout) {
        s.sso_tokens = seal_tokens(*cx.cfg.keys, cx.ports.random, s, tokens.id_token,
                                   keep_refresh ? tokens.refresh_token : "");
    }
    if (keep_refresh) {
        Millis lifetime = tokens.expires_in > 0 ? tokens.expires_in * 1000 : 300'000;
        s.sso_refresh_at_ms =
            now + std::max<Millis>(lifetime - std::min<Millis>(lifetime / 5, 30'000), 1'000);
    }
}

} // namespace

Step<signin::ProvenIdentity> admit(const CallbackContext& cx, const jose::Claims& id_token,
                                   const jose::Claims* userinfo, const oidc::TokenResponse& tokens,
                                   std::string rd) {
    const auto& pc = cx.provider.conf;
    Millis now = cx.ports.clock.now_ms();
    // map_identity and seal_tokens work on a session's fields.
    Session s;
    s.sso_provider = pc.name;
    s.sso_sub = id_token.sub().value_or("");
    s.sso_sid = id_token.sid().value_or("");
    auto mapped = map_identity(cx.provider, id_token, userinfo, s);
    if (mapped.error != Error::ok) {
        return Step<signin::ProvenIdentity>::refuse(refused(cx.cfg, mapped.error, mapped.reason));
    }
    keep_tokens(cx, tokens, now, s);

    signin::ProvenIdentity who;
    who.user = std::move(s.user);
    who.email = std::move(s.email);
    who.name = std::move(s.name);
    who.groups = std::move(s.groups);
    who.roles = std::move(s.roles);
    who.method = "sso:" + pc.name;
    who.source = "sso";
    who.proof = "provider \"" + pc.name + "\"";
    who.auth_time_ms = id_token.time_ms("auth_time").value_or(now);
    // Back-channel logout finds sessions by the IdP's sid, or by sub when it sends no sid.
    if (!s.sso_sid.empty()) who.indexes.push_back(sid_index_key(pc.name, s.sso_sid));
    if (!s.sso_sub.empty()) who.indexes.push_back(sub_index_key(pc.name, s.sso_sub));
    who.sso_provider = std::move(s.sso_provider);
    who.sso_sub = std::move(s.sso_sub);
    who.sso_sid = std::move(s.sso_sid);
    who.sso_tokens = std::move(s.sso_tokens);
    who.sso_refresh_at_ms = s.sso_refresh_at_ms;
    who.rd = std::move(rd);
    return Step<signin::ProvenIdentity>{std::move(who), {}};
}

// Administration sees SSO users; records of other sources (password users) are never
// touched.
Task<bool> record_user(const CallbackContext& cx, const signin::ProvenIdentity& who, Millis now) {
    Store& store = cx.ports.store;
    if (!store.durable()) co_return true;
    std::string key = user_record_key(who.user);
    auto existing = co_await store.hash_get(key);
    if (!existing.ok()) co_return false;
    std::string source = "sso:" + cx.provider.conf.name;
    if (existing.value) {
        bool ours = false;
        for (const auto& [k, v] : *existing.value) ours |= k == "source" && v == source;
        if (!ours) co_return true;
    }
    std::string groups;
    for (const auto& g : who.groups) {
        if (!groups.empty()) groups += ',';
        groups += g;
    }
    Store::Fields fields = {{"source", source},   {"email", who.email},
                            {"name", who.name},   {"groups", groups},
                            {"sub", who.sso_sub}, {"last_login", std::to_string(now / 1000)}};
    auto saved = co_await store.hash_set(key, std::move(fields));
    co_return saved.ok();
}

} // namespace authgate::sso
