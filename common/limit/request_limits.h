// A location's rate limits (authgate_limit) and the anonymous endpoints' per-client limit,
// applied to a request: store keys, verdicts, the 429 answer and the headers.
#pragma once

#include <string>
#include <string_view>

#include "authgate/gate.h"

namespace authgate::gate {

// Zones keyed by the signed-in user run once the identity is known; the others run
// alongside the session lookup.
enum class LimitPhase { before_identity, with_identity };

struct LimitOutcome {
    bool refused = false;     // an enforced zone refused: answer 429
    bool unavailable = false; // an "unavailable=closed" zone's store could not answer: 503
    bool dry_refused = false; // a dry-run zone would have refused
    // The most constrained zone so far (fewest remaining; a refusal first), for the headers.
    const config::LimitZone* reported = nullptr;
    limit::Verdict verdict;
    std::string notice; // for the log; empty when none
};

// What a request is counted under in one zone; `who` is null without a signed-in user.
std::string limit_key(const GateConfig& cfg, const ResolvedLimit& l, const RequestView& req,
                      std::size_t index, std::string_view client, const Identity* who);

Task<LimitOutcome> run_limits(Ports ports, const GateConfig& cfg, const RequestView& req,
                              std::string_view client, const Identity* who, LimitPhase phase);
// The same without waiting, for stores that answer inline; false when one cannot (then
// nothing was counted and run_limits must be used).
bool run_limits_now(InlinePorts ports, const GateConfig& cfg, const RequestView& req,
                    std::string_view client, const Identity* who, LimitOutcome& out);
// Folds a later phase's outcome into the first.
void combine(LimitOutcome& into, LimitOutcome from);

// An outcome applied to the answer made without it: a refusal replaces it (429, or 503);
// otherwise the headers of the reported zone and a dry run's status are added.
void apply_limits(const GateConfig& cfg, const RequestView& req, Millis now,
                  const LimitOutcome& outcome, Decision& d);

// authgate_anonymous_limit for an endpoint anyone may call; nullopt: go on.
Task<std::optional<Decision>> anonymous_limit(Ports ports, const GateConfig& cfg,
                                              const RequestView& req, std::string_view client);

// The block list for the request's client: 403 when blocked; nullopt: go on.
Task<std::optional<Decision>> check_blocked(Ports ports, const GateConfig& cfg,
                                            const RequestView& req, std::string_view client);
// The same inline: nullopt when the process's copy must be refreshed first (then
// check_blocked must run); false when not blocked.
std::optional<bool> blocked_now(InlinePorts ports, std::string_view client, Millis now);
Decision blocked_answer(const GateConfig& cfg, const RequestView& req, Millis now,
                        std::string_view client);

} // namespace authgate::gate
