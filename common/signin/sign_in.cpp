#include "signin/sign_in.h"

#include "answer/responses.h"
#include "authgate/http.h"
#include "authgate/session.h"
#include "signin/session_start.h"

namespace authgate::signin {

namespace {

struct AccountCheck {
    SignInStatus status = SignInStatus::signed_in; // signed_in: may go on
    std::optional<User> account;
    std::string reason;
};

// A user disabled here (users file or run-time record) stays out, whatever proved who
// they are; a user whose record the session would live by must still exist.
Task<AccountCheck> check_account(Ports ports, const GateConfig& cfg, ProvenIdentity& who) {
    AccountCheck out;
    if (who.account) {
        out.account = std::move(who.account);
        who.account.reset();
    } else {
        auto found = co_await find_user(cfg.users.get(), ports.store, who.user);
        if (found.status != StoreStatus::ok) {
            out.status = SignInStatus::store_unavailable;
            co_return out;
        }
        out.account = std::move(found.user);
    }
    if (!out.account && (who.source == "file" || who.source == "store")) {
        out.status = SignInStatus::refused;
        out.reason = "no such user";
    } else if (out.account && out.account->disabled) {
        out.status = SignInStatus::refused;
        out.reason = "disabled";
    }
    co_return out;
}

Session session_of(Ports ports, const GateConfig& cfg, ProvenIdentity& who) {
    Millis now = ports.clock.now_ms();
    Session s;
    s.created_ms = s.last_seen_ms = now;
    s.auth_time_ms = who.auth_time_ms.value_or(now);
    s.expires_ms = now + cfg.session_lifetime;
    s.user = std::move(who.user);
    s.email = std::move(who.email);
    s.name = std::move(who.name);
    s.groups = std::move(who.groups);
    s.roles = std::move(who.roles);
    s.methods = {std::move(who.method)};
    s.source = std::move(who.source);
    s.sso_provider = std::move(who.sso_provider);
    s.sso_sub = std::move(who.sso_sub);
    s.sso_sid = std::move(who.sso_sid);
    s.sso_tokens = std::move(who.sso_tokens);
    s.sso_refresh_at_ms = who.sso_refresh_at_ms;
    s.csrf = random_token(ports.random, 16);
    return s;
}

} // namespace

Task<FactorStep> further_factor(Ports, const GateConfig&, const RequestView&, const ProvenIdentity&,
                                const User*) {
    co_return FactorStep{};
}

Task<SignInResult> complete_sign_in(Ports ports, const GateConfig& cfg, const RequestView& req,
                                    ProvenIdentity who, FurtherFactor further) {
    SignInResult out;
    auto checked = co_await check_account(ports, cfg, who);
    if (checked.status != SignInStatus::signed_in) {
        out.status = checked.status;
        out.reason = std::move(checked.reason);
        co_return out;
    }
    auto step =
        co_await further(ports, cfg, req, who, checked.account ? &*checked.account : nullptr);
    if (step.next) {
        out.status = SignInStatus::next_factor;
        out.answer = std::move(*step.next);
        co_return out;
    }

    std::string rd = http::safe_return_path(who.rd);
    std::string proof = std::move(who.proof);
    std::vector<std::string> indexes = std::move(who.indexes);
    Session s = session_of(ports, cfg, who);
    auto started = co_await start_session(ports, cfg, req, s);
    if (!started) co_return out; // store_unavailable
    for (const auto& index : indexes) {
        auto added =
            co_await ports.store.index_add(index, started->store_key, s.expires_ms, s.created_ms);
        if (!added.ok()) {
            // A session that back-channel logout could not find must not outlive a failed
            // sign-in.
            co_await end_session(ports.store, started->store_key);
            co_return out;
        }
    }

    out.status = SignInStatus::signed_in;
    out.store_key = std::move(started->store_key);
    out.answer = answer::redirect(303, std::move(rd));
    out.answer.set_cookies.push_back(std::move(started->set_cookie));
    out.answer.notice =
        "user \"" + http::json_escape(s.user.substr(0, 64)) + "\" signed in with " + proof;
    co_return out;
}

} // namespace authgate::signin
