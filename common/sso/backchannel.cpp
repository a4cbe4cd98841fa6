// POST {prefix}backchannel-logout/{provider}: the IdP tells every relying party that a
// user's IdP session ended. The logout token is verified like an ID token; the sessions
// it names (by sid, else by sub) end on every server sharing the store.
#include "sso/flows.h"

#include "answer/responses.h"
#include "authgate/http.h"
#include "authgate/oidc.h"
#include "authgate/store_keys.h"
#include "sso/identity.h"
#include "sso/provider_state.h"

namespace authgate::sso {

namespace {

constexpr Millis kJtiTtl = 600'000;

Decision answer(int status, std::string_view error, std::string_view description) {
    std::string body;
    if (!error.empty()) {
        body = "{\"error\":\"" + std::string(error) + "\",\"error_description\":\"" +
               http::json_escape(description) + "\"}\n";
    }
    auto d = answer::json(status, std::move(body));
    d.headers.push_back({"Cache-Control", "no-store"});
    return d;
}

} // namespace

Task<Decision> backchannel_logout(Ports ports, const GateConfig& cfg, const RequestView& req,
                                  const ProviderConfig& provider) {
    (void)cfg;
    const auto& pc = provider.conf;
    auto form = http::parse_form(req.body);
    std::string_view token = form ? http::param(*form, "logout_token").value_or("") : "";
    if (token.empty() || token.size() > jose::kMaxTokenBytes) {
        auto d = answer(400, "invalid_request", "logout_token is required");
        d.error = Error::bad_request;
        co_return d;
    }
    auto meta = co_await provider_metadata(ports, provider);
    if (!meta.ok()) {
        auto d = answer(502, "temporarily_unavailable", "the provider's metadata is unavailable");
        d.error = Error::idp_unreachable;
        d.notice = meta.detail;
        co_return d;
    }
    auto algs = provider_algs(provider);
    jose::Expectations expect;
    expect.issuer = meta.value->issuer;
    expect.audience = pc.client_id;
    expect.skew_ms = pc.skew;
    expect.max_age_ms = kJtiTtl - 2 * pc.skew; // older tokens could replay after jti expiry
    auto checked = co_await verify_with_rotation<jose::LogoutToken>(
        ports, provider, *meta.value, [&](const jose::KeySet& keys, Millis at) {
            return jose::verify_logout_token(token, keys, algs, expect, at);
        });
    if (!checked) {
        auto d = answer(400, "invalid_request", "the logout token is not valid");
        d.error = checked.error();
        d.notice = "provider \"" + pc.name + "\" back-channel logout rejected: " + checked.detail();
        co_return d;
    }
    // A logout token works once.
    std::string jti_key =
        "j:{" + http::percent_encode(pc.name) + "}:" + http::percent_encode(checked->jti);
    auto first = co_await ports.store.set_if_absent(jti_key, "1", kJtiTtl);
    if (!first.ok()) {
        auto d = answer(503, "temporarily_unavailable", "the session store is unavailable");
        d.error = Error::store_unavailable;
        co_return d;
    }
    if (!first.value) {
        auto d = answer(400, "invalid_request", "the logout token was already used");
        d.error = Error::token_invalid;
        d.notice = "provider \"" + pc.name + "\" back-channel logout token replayed";
        co_return d;
    }

    Millis now = ports.clock.now_ms();
    std::string index = !checked->sid.empty() ? sid_index_key(pc.name, checked->sid)
                                              : sub_index_key(pc.name, checked->sub);
    auto members = co_await ports.store.index_members(index, now);
    if (!members.ok()) {
        auto d = answer(503, "temporarily_unavailable", "the session store is unavailable");
        d.error = Error::store_unavailable;
        co_return d;
    }
    std::size_t ended = 0;
    for (const auto& key : members.value) {
        auto r = co_await end_session(ports.store, key);
        if (!r.ok()) {
            auto d = answer(503, "temporarily_unavailable", "the session store is unavailable");
            d.error = Error::store_unavailable;
            co_return d;
        }
        ended += r.value ? 1 : 0;
        co_await ports.store.index_remove(index, key);
    }
    auto d = answer(200, "", "");
    d.notice = "provider \"" + pc.name + "\" back-channel logout ended " + std::to_string(ended) +
               " session(s)";
    co_return d;
}

} // namespace authgate::sso
