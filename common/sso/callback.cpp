// GET {prefix}callback/{provider}: the IdP sends the browser back with a code (or an
// error). The flow state comes sealed from the browser's flow cookie and works once; the
// code is exchanged, the ID token verified, the claims mapped, and a fresh session started.
#include "sso/flows.h"

#include "authgate/http.h"
#include "authgate/keys.h"
#include "authgate/oidc.h"
#include "authgate/session.h"
#include "authgate/store_keys.h"
#include "authgate/users.h"
#include "gate/responses.h"
#include "gate/session_start.h"
#include "sso/identity.h"
#include "sso/provider_state.h"

namespace authgate::sso {

namespace {

constexpr std::size_t kMaxParam = 4096;
// Whatever the callback accepts, sealed (nonce, tag, base64url, key id), fits a session.
static_assert((oidc::kMaxIdTokenBytes + oidc::kMaxRefreshTokenBytes + 29) * 4 / 3 + 256 <
              kMaxSealedTokensBytes);

Decision refused(const GateConfig& cfg, Error e, std::string notice) {
    auto d = gate::error_page(cfg, e, true);
    d.notice = std::move(notice);
    return d;
}

// The IdP's own words, escaped by the template, shortened and stripped of control bytes.
std::string printable(std::string_view v, std::size_t max) {
    std::string out;
    for (char c : v.substr(0, max)) {
        out.push_back(static_cast<unsigned char>(c) < 0x20 || c == 0x7f ? ' ' : c);
    }
    return out;
}

// Just-in-time user record when users live in a durable store: administration sees SSO
// users. Records of other sources (password users) are never touched.
Task<bool> record_user(Ports ports, const ProviderConfig& p, const Session& s, Millis now) {
    if (!ports.store.durable()) co_return true;
    std::string key = user_record_key(s.user);
    auto existing = co_await ports.store.hash_get(key);
    if (!existing.ok()) co_return false;
    std::string source = "sso:" + p.conf.name;
    if (existing.value) {
        bool ours = false;
        for (const auto& [k, v] : *existing.value) ours |= k == "source" && v == source;
        if (!ours) co_return true;
    }
    std::string groups;
    for (const auto& g : s.groups) {
        if (!groups.empty()) groups += ',';
        groups += g;
    }
    Store::Fields fields = {{"source", source}, {"email", s.email},
                            {"name", s.name},   {"groups", groups},
                            {"sub", s.sso_sub}, {"last_login", std::to_string(now / 1000)}};
    auto saved = co_await ports.store.hash_set(key, std::move(fields));
    co_return saved.ok();
}

// A session that back-channel logout could not find must not outlive a failed sign-in.
Task<Decision> abandon(Ports ports, const GateConfig& cfg, const std::string& store_key) {
    co_await end_session(ports.store, store_key);
    co_return gate::error_page(cfg, Error::store_unavailable);
}

} // namespace

Task<Decision> callback(Ports ports, const GateConfig& cfg, const RequestView& req,
                        const ProviderConfig& provider) {
    const auto& pc = provider.conf;
    auto query = http::parse_form(req.query);
    if (!query) co_return gate::error_page(cfg, Error::bad_request);
    std::string_view state = http::param(*query, "state").value_or("");
    std::string_view code = http::param(*query, "code").value_or("");
    std::string_view idp_error = http::param(*query, "error").value_or("");
    std::optional<std::string_view> iss = http::param(*query, "iss");
    if (state.size() > kMaxParam || code.size() > kMaxParam) {
        co_return gate::error_page(cfg, Error::bad_request);
    }

    // The flow comes from this browser's sealed cookie; a state works once: the marker of a
    // consumed state is read here and written only once the IdP's answer is verified.
    Millis started_ms = ports.clock.now_ms();
    auto flows = read_flows(cfg, req);
    std::optional<oidc::FlowState> flow;
    bool found = false;
    if (auto i = oidc::find_flow(flows, state, started_ms)) {
        found = true;
        flow = std::move(flows[*i]);
        flows.erase(flows.begin() + static_cast<std::ptrdiff_t>(*i));
        auto used = co_await ports.store.get(used_state_key(state));
        if (!used.ok()) co_return gate::error_page(cfg, Error::store_unavailable);
        if (used.value) flow.reset();
    }
    // Every answer to a consumed (or replayed) flow drops it from the cookie.
    std::string flow_cookie_update = found ? flow_cookie(cfg, req, ports.random, flows) : "";
    auto with_cookie = [&](Decision d) {
        if (!flow_cookie_update.empty()) d.set_cookies.push_back(flow_cookie_update);
        return d;
    };

    // RFC 9207: an authorization response naming another issuer is a mix-up.
    if (flow && iss && *iss != pc.issuer) {
        co_return with_cookie(
            refused(cfg, Error::issuer_mismatch,
                    "SSO callback for provider \"" + pc.name + "\" with another issuer in iss"));
    }

    if (!idp_error.empty()) {
        // The IdP's own words only after a flow of this browser was consumed: anyone can
        // link to the callback with an error text of their choosing.
        std::string message(error_message(Error::idp_error));
        if (flow && flow->provider == pc.name) {
            std::string description =
                printable(http::param(*query, "error_description").value_or(""), 300);
            message = "The identity provider did not sign you in (" + printable(idp_error, 64) +
                      ")" + (description.empty() ? "." : ": " + description);
        }
        Decision d = gate::page(
            http_status(Error::idp_error),
            cfg.templates->error.render({{"status", std::to_string(http_status(Error::idp_error))},
                                         {"title", "Sign-in failed"},
                                         {"message", message},
                                         {"login_url", gate::login_url(cfg, flow ? flow->rd : "")},
                                         {"prefix", cfg.prefix}}));
        d.error = Error::idp_error;
        d.notice = "provider \"" + pc.name +
                   "\" answered error=" + http::json_escape(printable(idp_error, 64)) +
                   (flow ? "" : " (no flow)");
        if (!flow_cookie_update.empty()) d.set_cookies.push_back(flow_cookie_update);
        co_return d;
    }

    if (!flow) {
        co_return with_cookie(refused(cfg, Error::state_mismatch,
                                      state.empty()
                                          ? "SSO callback without state"
                                          : "SSO callback with an unknown, expired or used state"));
    }
    if (flow->provider != pc.name) {
        co_return with_cookie(
            refused(cfg, Error::state_mismatch, "SSO callback state of another provider"));
    }
    if (code.empty()) {
        co_return with_cookie(refused(cfg, Error::bad_request, "SSO callback without code"));
    }

    Millis now = ports.clock.now_ms();
    auto meta = co_await provider_metadata(ports, provider);
    if (!meta.ok()) co_return with_cookie(idp_unavailable(cfg, req, now, meta.detail));
    if (!iss && meta.value->authorization_response_iss_parameter_supported) {
        co_return with_cookie(refused(cfg, Error::issuer_mismatch,
                                      "SSO callback for provider \"" + pc.name +
                                          "\" without the iss its discovery announces"));
    }

    oidc::Client client{pc.client_id, provider.client_secret,
                        pc.auth_method == config::OidcProvider::AuthMethod::client_secret_post
                            ? oidc::ClientAuth::client_secret_post
                            : oidc::ClientAuth::client_secret_basic};
    HttpRequest token_request = oidc::authorization_code_request(
        meta.value->token_endpoint, client, code, redirect_uri(cfg, provider), flow->pkce_verifier);
    token_request.ca_file = pc.ca_file;
    token_request.timeout_ms = pc.timeout;
    HttpResponse token_answer = co_await ports.http.fetch(token_request);
    if (!token_answer.ok() || token_answer.status >= 500) {
        co_return with_cookie(idp_unavailable(
            cfg, req, now,
            "provider \"" + pc.name + "\" token endpoint: " +
                (token_answer.ok() ? "HTTP status " + std::to_string(token_answer.status)
                                   : token_answer.error)));
    }
    auto tokens = oidc::parse_token_response(token_answer.body);
    if (!tokens) {
        co_return with_cookie(refused(cfg, Error::idp_error,
                                      "provider \"" + pc.name + "\" token answer (HTTP " +
                                          std::to_string(token_answer.status) +
                                          "): " + tokens.error()));
    }
    if (tokens->is_error()) {
        co_return with_cookie(refused(cfg, Error::idp_error,
                                      "provider \"" + pc.name + "\" refused the code: " +
                                          http::json_escape(printable(tokens->error, 64))));
    }
    if (tokens->id_token.empty()) {
        co_return with_cookie(refused(cfg, Error::token_invalid,
                                      "provider \"" + pc.name + "\" answered without an ID token"));
    }
    // One limit for what a session carries: larger tokens would not survive being sealed
    // into the session record.
    if (tokens->id_token.size() > oidc::kMaxIdTokenBytes ||
        tokens->refresh_token.size() > oidc::kMaxRefreshTokenBytes) {
        co_return with_cookie(
            refused(cfg, Error::token_too_large,
                    "provider \"" + pc.name + "\" ID token of " +
                        std::to_string(tokens->id_token.size()) + " bytes (or refresh token of " +
                        std::to_string(tokens->refresh_token.size()) + ") over the limit"));
    }

    jose::Expectations expect;
    expect.issuer = meta.value->issuer;
    expect.audience = pc.client_id;
    expect.nonce = flow->nonce;
    expect.skew_ms = pc.skew;
    expect.require_iat = true;
    auto algs = provider_algs(provider);
    auto verified = co_await verify_with_rotation<jose::Token>(
        ports, provider, *meta.value, [&](const jose::KeySet& keys, Millis at) {
            return jose::verify_id_token(tokens->id_token, keys, algs, expect, at);
        });
    if (!verified) {
        if (verified.error() == Error::idp_unreachable) {
            co_return with_cookie(idp_unavailable(cfg, req, now, verified.detail()));
        }
        co_return with_cookie(
            refused(cfg, verified.error(),
                    "provider \"" + pc.name + "\" ID token rejected: " + verified.detail()));
    }
    // The IdP vouched for this flow: from now on its state is spent, on every server.
    Millis left = oidc::kFlowTtl - (now - flow->created_ms);
    auto marked = co_await ports.store.set_if_absent(used_state_key(state), "1",
                                                     std::max<Millis>(left, 1000));
    if (!marked.ok()) co_return with_cookie(gate::error_page(cfg, Error::store_unavailable));
    if (!marked.value) {
        co_return with_cookie(
            refused(cfg, Error::state_mismatch, "SSO callback with a state used meanwhile"));
    }
    const jose::Claims& claims = verified->claims;

    std::optional<jose::Claims> userinfo;
    if (pc.userinfo && !meta.value->userinfo_endpoint.empty()) {
        HttpRequest ui;
        ui.url = meta.value->userinfo_endpoint;
        ui.ca_file = pc.ca_file;
        ui.timeout_ms = pc.timeout;
        ui.headers = {{"Authorization", "Bearer " + tokens->access_token},
                      {"Accept", "application/json"}};
        HttpResponse answer = co_await ports.http.fetch(ui);
        std::string failure = http_failure(answer, "userinfo");
        if (!answer.ok() || answer.status >= 500) {
            co_return with_cookie(
                idp_unavailable(cfg, req, now, "provider \"" + pc.name + "\" " + failure));
        }
        if (!failure.empty()) {
            co_return with_cookie(
                refused(cfg, Error::idp_error, "provider \"" + pc.name + "\" " + failure));
        }
        auto parsed = oidc::parse_userinfo(answer.body, claims.sub().value_or(""));
        if (!parsed) {
            co_return with_cookie(
                refused(cfg, Error::token_invalid,
                        "provider \"" + pc.name + "\" userinfo rejected: " + parsed.error()));
        }
        userinfo = std::move(*parsed);
    }

    now = ports.clock.now_ms();
    Session s;
    s.created_ms = s.last_seen_ms = now;
    s.auth_time_ms = claims.time_ms("auth_time").value_or(now);
    s.expires_ms = now + cfg.session_lifetime;
    s.methods = {"sso:" + pc.name};
    s.source = "sso";
    s.sso_provider = pc.name;
    s.sso_sub = claims.sub().value_or("");
    s.sso_sid = claims.sid().value_or("");
    auto mapped = map_identity(provider, claims, userinfo ? &*userinfo : nullptr, s);
    if (mapped.error != Error::ok) co_return with_cookie(refused(cfg, mapped.error, mapped.reason));
    s.csrf = gate::random_token(ports.random, 16);
    bool keep_refresh = pc.refresh && !tokens->refresh_token.empty();
    if (keep_refresh || pc.rp_logout) {
        s.sso_tokens = seal_tokens(*cfg.keys, ports.random, s, tokens->id_token,
                                   keep_refresh ? tokens->refresh_token : "");
    }
    if (keep_refresh) {
        Millis lifetime = tokens->expires_in > 0 ? tokens->expires_in * 1000 : 300'000;
        // Refresh a little before the IdP's tokens lapse.
        s.sso_refresh_at_ms =
            now + std::max<Millis>(lifetime - std::min<Millis>(lifetime / 5, 30'000), 1'000);
    }

    // A user disabled here (users file or run-time record) stays out, whatever the IdP says.
    auto known = co_await find_user(cfg.users.get(), ports.store, s.user);
    if (known.status != StoreStatus::ok) {
        co_return with_cookie(gate::error_page(cfg, Error::store_unavailable));
    }
    if (known.user && known.user->disabled) {
        co_return with_cookie(refused(cfg, Error::forbidden,
                                      "user \"" + http::json_escape(s.user.substr(0, 64)) +
                                          "\" signed in with provider \"" + pc.name +
                                          "\" but is disabled"));
    }

    auto started = co_await gate::start_session(ports, cfg, req, s);
    if (!started) co_return gate::error_page(cfg, Error::store_unavailable);
    // Back-channel logout finds sessions by the IdP's sid, or by sub when it sends no sid.
    if (!s.sso_sid.empty()) {
        auto ok = co_await ports.store.index_add(sid_index_key(pc.name, s.sso_sid),
                                                 started->store_key, s.expires_ms, now);
        if (!ok.ok()) co_return co_await abandon(ports, cfg, started->store_key);
    }
    if (!s.sso_sub.empty()) {
        auto ok = co_await ports.store.index_add(sub_index_key(pc.name, s.sso_sub),
                                                 started->store_key, s.expires_ms, now);
        if (!ok.ok()) co_return co_await abandon(ports, cfg, started->store_key);
    }
    if (!co_await record_user(ports, provider, s, now)) {
        co_return gate::error_page(cfg, Error::store_unavailable);
    }

    auto d = gate::redirect(303, http::safe_return_path(flow->rd));
    d.set_cookies.push_back(std::move(started->set_cookie));
    d.set_cookies.push_back(std::move(flow_cookie_update));
    d.headers.push_back({"Cache-Control", "no-store"});
    d.notice = "user \"" + http::json_escape(s.user.substr(0, 64)) +
               "\" signed in with provider \"" + pc.name + "\"";
    co_return d;
}

} // namespace authgate::sso
