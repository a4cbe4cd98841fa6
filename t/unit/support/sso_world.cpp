#include "support/sso_world.h"

#include "authgate/http.h"

namespace authgate::testing {

using nlohmann::json;

namespace {
constexpr const char* kSecret = "client-secret";
}

SsoWorld::SsoWorld(const SigningKey& signing_key, const std::string& provider_args,
                   const std::vector<std::pair<std::string, std::string>>& more)
    : key(&signing_key) {
    FileReader read = [](const std::string& path) -> Result<std::string> {
        if (path == "/keys") return test_key_file();
        if (path == "/secret") return std::string(kSecret) + "\n";
        return fail("no such file " + path);
    };
    config::Settings s;
    std::vector<std::pair<std::string, std::string>> all = {
        {"authgate", "on"},
        {"authgate_key_file", "/keys"},
        {"authgate_public_origin", "https://app.example.com"},
        {"authgate_oidc_provider", std::string("corp issuer=") + kIssuer +
                                       " client_id=gate client_secret_file=/secret " +
                                       provider_args}};
    all.insert(all.end(), more.begin(), more.end());
    for (auto& [name, value] : all) {
        std::vector<std::string_view> args;
        std::string_view rest = value;
        while (!rest.empty()) {
            auto sp = rest.find(' ');
            if (sp != 0) args.push_back(rest.substr(0, sp));
            rest = sp == std::string_view::npos ? std::string_view{} : rest.substr(sp + 1);
        }
        auto applied = config::find_directive(name)->apply(s, args);
        if (!applied) fail_msg("%s: %s", name.c_str(), applied.error().c_str());
    }
    config::apply_defaults(s);
    auto g = resolve(s, cache, read);
    if (!g) fail_msg("%s", g.error().c_str());
    cfg = std::move(*g);
    std::string base = kIssuer;
    http.routes[base + "/.well-known/openid-configuration"] = {
        200, "application/json",
        json{{"issuer", kIssuer},
             {"authorization_endpoint", base + "/auth"},
             {"token_endpoint", base + "/token"},
             {"jwks_uri", base + "/jwks"},
             {"userinfo_endpoint", base + "/me"},
             {"end_session_endpoint", base + "/end"}}
            .dump()};
    http.routes[base + "/jwks"] = {200, "application/json", jwks_of({key})};
}

std::size_t SsoWorld::fetches(std::string_view url_suffix) const {
    std::size_t n = 0;
    for (const auto& r : http.requests) n += r.url.ends_with(url_suffix) ? 1 : 0;
    return n;
}

std::string Browser::cookie_header() const {
    std::string out;
    for (const auto& c : cookies) out += (out.empty() ? "" : "; ") + c;
    return out;
}

void Browser::take(const Decision& d) {
    for (const auto& sc : d.set_cookies) {
        std::string pair = sc.substr(0, sc.find(';'));
        std::string name = pair.substr(0, pair.find('='));
        std::erase_if(cookies, [&](const std::string& c) { return c.starts_with(name + "="); });
        if (pair.size() > name.size() + 1 && sc.find("Max-Age=0") == std::string::npos) {
            cookies.push_back(pair);
        }
    }
}

Decision get(SsoWorld& w, Browser& b, const std::string& uri, bool endpoint) {
    std::string header = b.cookie_header();
    RequestView v;
    v.method = "GET";
    v.uri = uri;
    auto q = uri.find('?');
    v.path = std::string_view(uri).substr(0, q);
    v.query = q == std::string::npos ? std::string_view{} : std::string_view(uri).substr(q + 1);
    v.accept = "text/html";
    v.host = "app.example.com";
    if (!header.empty()) v.cookie_headers.push_back(header);
    auto d = endpoint ? run(handle_endpoint(w.ports(), w.cfg, v))
                      : run(check_access(w.ports(), w.cfg, v));
    b.take(d);
    return d;
}

std::string query_param(const std::string& url, const std::string& name) {
    auto q = url.find('?');
    auto params = http::parse_form(std::string_view(url).substr(q + 1));
    return std::string(http::param(*params, name).value_or(""));
}

json claims_for(const std::string& nonce, Millis now, const json& extra) {
    json c = {{"iss", kIssuer},
              {"aud", "gate"},
              {"sub", "sub-1"},
              {"sid", "idp-session-1"},
              {"iat", now / 1000},
              {"exp", now / 1000 + 300},
              {"nonce", nonce},
              {"preferred_username", "alice"},
              {"email", "alice@example.com"},
              {"email_verified", true},
              {"groups", json::array({"admins", "staff"})}};
    c.update(extra);
    return c;
}

Decision sign_in(SsoWorld& w, Browser& b, const json& extra, const SigningKey* key,
                 const std::string& refresh_token) {
    auto start = get(w, b, "/_authgate/sso/corp?rd=/app");
    assert_int_equal(start.status, 302);
    std::string state = query_param(start.location, "state");
    std::string nonce = query_param(start.location, "nonce");
    json token = {{"access_token", "at"},
                  {"token_type", "Bearer"},
                  {"expires_in", 300},
                  {"id_token", sign_jwt(key ? *key : *w.key,
                                        claims_for(nonce, w.clock.now_ms(), extra).dump())}};
    if (!refresh_token.empty()) token["refresh_token"] = refresh_token;
    w.http.routes[std::string(kIssuer) + "/token"] = {200, "application/json", token.dump()};
    return get(w, b, "/_authgate/callback/corp?code=c1&state=" + state);
}

} // namespace authgate::testing
