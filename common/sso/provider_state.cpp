#include "sso/provider_state.h"

namespace authgate::sso {

namespace {

constexpr Millis kMetadataTtl = 3'600'000;
constexpr Millis kKeysTtl = 3'600'000;
constexpr Millis kRetryAfterFailure = 5'000;
constexpr Millis kMinRefetchInterval = 1'000;

HttpRequest get_json(const ProviderConfig& p, const std::string& url) {
    HttpRequest r;
    r.url = url;
    r.ca_file = p.conf.ca_file;
    r.headers.emplace_back("Accept", "application/json");
    r.timeout_ms = p.conf.timeout;
    return r;
}

} // namespace

std::string http_failure(const HttpResponse& r, std::string_view what) {
    if (!r.ok()) return std::string(what) + ": " + r.error;
    if (r.status < 200 || r.status > 299) {
        return std::string(what) + ": HTTP status " + std::to_string(r.status);
    }
    return {};
}

std::vector<jose::Alg> provider_algs(const ProviderConfig& p) {
    std::vector<jose::Alg> out;
    for (const auto& name : p.conf.algs) {
        if (auto a = jose::alg_from_name(name)) out.push_back(*a);
    }
    return out;
}

// Every read and update of the provider's state holds rt.mutex; it is released while this
// flow fetches (and, inside wait(), while it waits for another flow's fetch).
Task<Fetched<oidc::ProviderMetadata>> provider_metadata(Ports ports, const ProviderConfig& p) {
    ProviderRuntime& rt = ports.providers.state(p);
    WaitList::Lock lock(rt.mutex);
    // While another flow fetches: a stale document is served, else wait for its outcome.
    while (rt.metadata_fetching && ports.parking != nullptr && !rt.metadata) {
        co_await rt.metadata_waiters.wait(lock, *ports.parking);
    }
    Millis now = ports.clock.now_ms();
    Fetched<oidc::ProviderMetadata> out;
    if (rt.metadata && (now < rt.metadata_expires_ms || rt.metadata_fetching)) {
        out.value = rt.metadata;
        co_return out;
    }
    const auto& c = p.conf;
    if (!c.discovery) {
        auto m = std::make_shared<oidc::ProviderMetadata>();
        m->issuer = c.issuer;
        m->authorization_endpoint = c.authorization_endpoint;
        m->token_endpoint = c.token_endpoint;
        m->jwks_uri = c.jwks_uri;
        m->userinfo_endpoint = c.userinfo_endpoint;
        m->end_session_endpoint = c.end_session_endpoint;
        rt.metadata = m;
        rt.metadata_expires_ms = INT64_MAX;
        out.value = rt.metadata;
        co_return out;
    }
    out.error = Error::idp_unreachable;
    if (now < rt.metadata_retry_ms && !rt.metadata) {
        out.detail = "discovery for provider \"" + c.name + "\" failed recently; retrying soon";
        co_return out;
    }
    std::string url = c.issuer;
    if (!url.empty() && url.back() == '/') url.pop_back();
    url += "/.well-known/openid-configuration";
    InFlight fetching(lock, rt.metadata_fetching, rt.metadata_waiters);
    lock.unlock();
    HttpRequest req = get_json(p, url);
    HttpResponse resp = co_await ports.http.fetch(req);
    std::string failure = http_failure(resp, "discovery " + url);
    std::shared_ptr<const oidc::ProviderMetadata> fetched;
    if (failure.empty()) {
        auto parsed = oidc::parse_discovery(resp.body, c.issuer);
        if (parsed) {
            // Explicit endpoints in the configuration win over discovered ones.
            if (!c.authorization_endpoint.empty())
                parsed->authorization_endpoint = c.authorization_endpoint;
            if (!c.token_endpoint.empty()) parsed->token_endpoint = c.token_endpoint;
            if (!c.jwks_uri.empty()) parsed->jwks_uri = c.jwks_uri;
            if (!c.userinfo_endpoint.empty()) parsed->userinfo_endpoint = c.userinfo_endpoint;
            if (!c.end_session_endpoint.empty())
                parsed->end_session_endpoint = c.end_session_endpoint;
            fetched = std::make_shared<const oidc::ProviderMetadata>(std::move(*parsed));
        } else {
            failure = "discovery " + url + ": " + parsed.error();
        }
    }
    now = ports.clock.now_ms();
    lock.lock();
    if (fetched) {
        rt.metadata = std::move(fetched);
        rt.metadata_expires_ms = now + kMetadataTtl;
        out.value = rt.metadata;
        out.error = Error::ok;
        co_return out;
    }
    rt.metadata_retry_ms = now + kRetryAfterFailure;
    // A stale document beats none while the IdP is briefly unreachable.
    if (rt.metadata) {
        out.value = rt.metadata;
        out.error = Error::ok;
        co_return out;
    }
    out.detail = "provider \"" + c.name + "\": " + failure;
    co_return out;
}

Task<Fetched<jose::KeySet>> provider_keys(Ports ports, const ProviderConfig& p,
                                          const oidc::ProviderMetadata& meta, bool refetch) {
    ProviderRuntime& rt = ports.providers.state(p);
    WaitList::Lock lock(rt.mutex);
    // While another flow fetches: known keys are used, else (or for an unknown kid) wait
    // for its outcome.
    while (rt.keys_fetching && ports.parking != nullptr && (!rt.keys || refetch)) {
        co_await rt.keys_waiters.wait(lock, *ports.parking);
    }
    Millis now = ports.clock.now_ms();
    Fetched<jose::KeySet> out;
    bool fresh = rt.keys && now < rt.keys_expires_ms;
    bool may_refetch = now - rt.keys_fetched_ms >= kMinRefetchInterval;
    if (fresh && (!refetch || !may_refetch)) {
        out.value = rt.keys;
        co_return out;
    }
    if (!fresh && !refetch && (!may_refetch || rt.keys_fetching) && rt.keys) {
        out.value = rt.keys;
        co_return out;
    }
    if (now < rt.keys_retry_ms) {
        // Failed recently: no new fetch on every request meanwhile.
        if (rt.keys) out.value = rt.keys;
        if (rt.keys && !refetch) co_return out;
        out.error = Error::idp_unreachable;
        out.detail = "JWKS for provider \"" + p.conf.name + "\" failed recently; retrying soon";
        co_return out;
    }
    rt.keys_fetched_ms = now;
    InFlight fetching(lock, rt.keys_fetching, rt.keys_waiters);
    lock.unlock();
    HttpRequest req = get_json(p, meta.jwks_uri);
    HttpResponse resp = co_await ports.http.fetch(req);
    std::string failure = http_failure(resp, "JWKS " + meta.jwks_uri);
    std::shared_ptr<const jose::KeySet> fetched;
    if (failure.empty()) {
        auto parsed = jose::KeySet::parse(resp.body);
        if (parsed) {
            fetched = std::make_shared<const jose::KeySet>(std::move(*parsed));
        } else {
            failure = "JWKS " + meta.jwks_uri + ": " + parsed.error();
        }
    }
    now = ports.clock.now_ms();
    lock.lock();
    if (fetched) {
        rt.keys = std::move(fetched);
        rt.keys_expires_ms = now + kKeysTtl;
        rt.keys_retry_ms = 0;
        rt.verified.keys_changed(); // a key may have been withdrawn
        out.value = rt.keys;
        co_return out;
    }
    rt.keys_retry_ms = now + kRetryAfterFailure;
    if (rt.keys && !refetch) {
        out.value = rt.keys; // keep using the known keys while the IdP is unreachable
        co_return out;
    }
    out.error = Error::idp_unreachable;
    out.detail = "provider \"" + p.conf.name + "\": " + failure;
    if (rt.keys) out.value = rt.keys;
    co_return out;
}

} // namespace authgate::sso
