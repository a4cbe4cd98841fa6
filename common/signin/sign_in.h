// The one step every way of proving identity ends in (password today; SSO; later TOTP,
// passkeys, API keys): the proof hands over who it established, and complete_sign_in
// checks the account, asks whether a further factor is required, starts a fresh session
// (the browser's old one ends, the user's index and cap apply) and answers.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "authgate/gate.h"
#include "authgate/users.h"

namespace authgate::signin {

// What a proof of identity established.
struct ProvenIdentity {
    std::string user;
    std::string email;
    std::string name;
    std::vector<std::string> groups;
    std::vector<std::string> roles;     // role names (what they permit is decided per request)
    std::string method;                 // the session's method: "pwd", "sso:<provider>"
    std::string source;                 // where the user record lives: "file", "store", "sso"
    std::string proof;                  // how, for the log: "a password", "provider \"corp\""
    std::optional<Millis> auth_time_ms; // when the user authenticated (default: now)
    // The account as the proof read it (a password is checked against it); nullopt:
    // complete_sign_in reads it.
    std::optional<User> account;
    // Single sign-on: the provider, the IdP's subject and session id, the provider's
    // tokens sealed for the session (empty: none kept) and when to refresh them (0: never).
    std::string sso_provider;
    std::string sso_sub;
    std::string sso_sid;
    std::string sso_tokens;
    Millis sso_refresh_at_ms = 0;
    // Indexes the session joins besides the user's (back-channel logout: by sid and sub).
    std::vector<std::string> indexes;
    std::string rd; // where the browser goes once signed in (validated again here)
};

// The further-factor step, consulted once the account is checked and before any session
// exists. This is where TOTP, passkeys as a second factor and MFA rules plug in: from the
// methods proven so far and the account they decide whether the sign-in is done, or
// answer with its next step (complete_sign_in then starts no session).
struct FactorStep {
    std::optional<Decision> next; // nullopt: the proof so far suffices
};
using FurtherFactor = Task<FactorStep> (*)(Ports ports, const GateConfig& cfg,
                                           const RequestView& req, const ProvenIdentity& who,
                                           const User* account);
// Today's rule: one proof suffices (no further factor can be configured yet).
Task<FactorStep> further_factor(Ports ports, const GateConfig& cfg, const RequestView& req,
                                const ProvenIdentity& who, const User* account);

enum class SignInStatus {
    signed_in,         // answer: 303 to rd with the new session's cookie
    next_factor,       // answer: the further-factor step's; no session started
    refused,           // the account is disabled or gone (reason says which)
    store_unavailable, // nothing half-written stays behind
};
struct SignInResult {
    SignInStatus status = SignInStatus::store_unavailable;
    Decision answer;
    std::string store_key; // signed_in: the new session's
    std::string reason;    // refused: for the log
};

// The request must outlive the returned Task. Each proof renders refusals its own way
// (the password form answers 401 as for a wrong password) and adds its own cookies.
Task<SignInResult> complete_sign_in(Ports ports, const GateConfig& cfg, const RequestView& req,
                                    ProvenIdentity who, FurtherFactor further = further_factor);

} // namespace authgate::signin
