// GET/POST {prefix}login: the password sign-in form and its submission.
#include "gate/endpoints.h"

#include "answer/responses.h"
#include "authgate/http.h"
#include "authgate/session.h"
#include "authgate/store_keys.h"
#include "authgate/users.h"
#include "signin/session_start.h"
#include "signin/sign_in.h"

namespace authgate::gate {

namespace {

constexpr std::size_t kCsrfNonceBytes = 16;
constexpr std::size_t kCsrfTagBytes = 16;
constexpr std::size_t kMaxUsername = 128;
constexpr std::size_t kMaxPassword = 1024;

bool well_formed_nonce(std::string_view v) {
    auto raw = crypto::base64url_decode(v);
    return raw && raw->size() == kCsrfNonceBytes;
}

// The form token is a MAC of the browser's CSRF cookie: a forged form cannot carry it,
// and it needs no server-side state before sign-in.
std::string csrf_token(const GateConfig& cfg, std::string_view nonce) {
    auto tag = cfg.keys->mac(KeyPurpose::csrf, std::string("login:") + std::string(nonce));
    return crypto::base64url_encode(std::span<const std::uint8_t>(tag.data(), kCsrfTagBytes));
}

bool csrf_valid(const GateConfig& cfg, const RequestView& req, std::string_view token) {
    auto tag = crypto::base64url_decode(token);
    if (!tag || tag->size() != kCsrfTagBytes) return false;
    bool ok = false;
    for (auto nonce : http::cookie_values(req.cookie_headers, answer::csrf_cookie_name(cfg, req))) {
        if (!well_formed_nonce(nonce)) continue;
        ok |= cfg.keys->verify_mac(KeyPurpose::csrf, std::string("login:") + std::string(nonce),
                                   *tag);
    }
    return ok;
}

Decision login_form(Ports ports, const GateConfig& cfg, const RequestView& req, int status,
                    std::string_view rd, std::string_view username, std::string_view error) {
    std::string nonce;
    for (auto v : http::cookie_values(req.cookie_headers, answer::csrf_cookie_name(cfg, req))) {
        if (well_formed_nonce(v)) {
            nonce = std::string(v);
            break;
        }
    }
    bool fresh = nonce.empty();
    if (fresh) nonce = signin::random_token(ports.random, kCsrfNonceBytes);
    std::string action = cfg.prefix + "login";
    std::string safe_rd = http::safe_return_path(rd);
    // One button per SSO provider; the password form where passwords can work.
    std::vector<std::string> urls;
    std::vector<TemplateVars> buttons;
    urls.reserve(cfg.providers.size());
    for (const auto& p : cfg.providers) {
        std::string url = cfg.prefix + "sso/" + p->conf.name;
        if (safe_rd != "/") url += "?rd=" + http::percent_encode(safe_rd);
        urls.push_back(std::move(url));
        buttons.push_back(
            {{"sso_url", urls.back()}, {"sso_label", p->conf.label}, {"sso_name", p->conf.name}});
    }
    bool passwords = cfg.users != nullptr || ports.store.durable() || cfg.providers.empty();
    std::string_view has_providers = buttons.empty() ? "" : "1";
    auto d =
        answer::page(status, cfg.templates->login.render({{"action", action},
                                                          {"rd", safe_rd},
                                                          {"csrf", csrf_token(cfg, nonce)},
                                                          {"error", error},
                                                          {"username", username},
                                                          {"prefix", cfg.prefix},
                                                          {"has_providers", has_providers},
                                                          {"has_password", passwords ? "1" : ""}},
                                                         {{"providers", std::move(buttons)}}));
    if (fresh) d.set_cookies.push_back(answer::set_csrf_cookie(cfg, req, nonce));
    return d;
}

// The password proof: the user (users file, then run-time users) and their hash.
struct PasswordProof {
    enum Status { proven, failed, store_unavailable, busy } status = failed;
    bool user_disabled = false; // for the log of a failure
    signin::ProvenIdentity who;
};

Task<PasswordProof> prove_password(Ports ports, const GateConfig& cfg, const std::string& username,
                                   const std::string& password) {
    PasswordProof out;
    if (username.empty() || username.size() > kMaxUsername || password.size() > kMaxPassword) {
        co_return out;
    }
    auto found = co_await find_user(cfg.users.get(), ports.store, username);
    if (found.status != StoreStatus::ok) {
        out.status = PasswordProof::store_unavailable;
        co_return out;
    }
    const std::optional<User>& user = found.user;
    // Unknown users cost one hash verification too: no enumeration by timing.
    const std::string& hash =
        user && !user->password_hash.empty() ? user->password_hash : cfg.decoy_hash;
    bool verified = false;
    bool scheduled = co_await ports.offload.run(
        [&hash, &password, &verified] { verified = verify_password(hash, password); });
    if (!scheduled) {
        out.status = PasswordProof::busy;
        co_return out;
    }
    if (!user || user->password_hash.empty() || !verified) {
        out.user_disabled = user && user->disabled;
        co_return out;
    }
    out.status = PasswordProof::proven;
    out.who.user = user->name;
    out.who.email = user->email;
    out.who.name = user->display_name;
    out.who.groups = user->groups;
    out.who.roles = user->roles;
    out.who.method = "pwd";
    out.who.source = std::string(found.source);
    out.who.proof = "a password";
    out.who.account = std::move(found.user);
    co_return out;
}

Decision bad_credentials(Ports ports, const GateConfig& cfg, const RequestView& req,
                         std::string_view rd, const std::string& username, bool disabled) {
    auto d = login_form(ports, cfg, req, 401, rd, username, error_message(Error::bad_credentials));
    d.error = Error::bad_credentials;
    d.notice = "sign-in failed for user \"" + http::json_escape(username.substr(0, 64)) + "\"" +
               (disabled ? " (disabled)" : "");
    return d;
}

} // namespace

Decision login_page(Ports ports, const GateConfig& cfg, const RequestView& req) {
    auto query = http::parse_form(req.query);
    std::string_view rd = "/";
    if (query) {
        if (auto v = http::param(*query, "rd")) rd = *v;
    }
    return login_form(ports, cfg, req, 200, rd, "", "");
}

Task<Decision> login_submit(Ports ports, const GateConfig& cfg, const RequestView& req) {
    auto form = http::parse_form(req.body);
    if (!form) co_return answer::error_page(cfg, Error::bad_request);
    std::string rd(http::param(*form, "rd").value_or("/"));
    std::string username(http::param(*form, "username").value_or(""));
    std::string password(http::param(*form, "password").value_or(""));

    if (!csrf_valid(cfg, req, http::param(*form, "csrf").value_or(""))) {
        auto d =
            login_form(ports, cfg, req, 403, rd, username, error_message(Error::csrf_mismatch));
        d.error = Error::csrf_mismatch;
        d.notice = "sign-in form rejected: CSRF token mismatch";
        co_return d;
    }

    auto proof = co_await prove_password(ports, cfg, username, password);
    if (proof.status == PasswordProof::store_unavailable) {
        co_return answer::error_page(cfg, Error::store_unavailable);
    }
    if (proof.status == PasswordProof::busy) {
        // Hashing is bounded per worker: a flood of sign-ins is refused, not queued.
        auto busy = answer::error_page(cfg, Error::store_unavailable);
        busy.headers.push_back({"Retry-After", "1"});
        busy.notice = "sign-in refused: too many password checks in progress";
        co_return busy;
    }
    if (proof.status == PasswordProof::failed) {
        co_return bad_credentials(ports, cfg, req, rd, username, proof.user_disabled);
    }

    proof.who.rd = rd;
    auto done = co_await signin::complete_sign_in(ports, cfg, req, std::move(proof.who));
    switch (done.status) {
    case signin::SignInStatus::signed_in:
    case signin::SignInStatus::next_factor:
        done.answer.set_cookies.push_back(answer::clear_csrf_cookie(cfg, req));
        co_return std::move(done.answer);
    case signin::SignInStatus::refused:
        // A disabled user learns no more than from a wrong password.
        co_return bad_credentials(ports, cfg, req, rd, username, true);
    case signin::SignInStatus::store_unavailable: break;
    }
    co_return answer::error_page(cfg, Error::store_unavailable);
}

} // namespace authgate::gate
