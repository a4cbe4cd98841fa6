// URLs and token-endpoint requests the relying party sends.
#include "authgate/crypto.h"
#include "authgate/http.h"
#include "authgate/oidc.h"

namespace authgate::oidc {

namespace {

void add(std::string& out, std::string_view name, std::string_view value) {
    if (!out.empty()) out.push_back('&');
    out += http::form_urlencode(name);
    out.push_back('=');
    out += http::form_urlencode(value);
}

void add_if(std::string& out, std::string_view name, std::string_view value) {
    if (!value.empty()) add(out, name, value);
}

// The endpoint (any fragment dropped) with the query appended after '?' or '&'.
std::string with_query(std::string_view endpoint, std::string_view query) {
    std::string url(endpoint.substr(0, endpoint.find('#')));
    if (query.empty()) return url;
    if (url.find('?') == std::string::npos) {
        url.push_back('?');
    } else if (url.back() != '?' && url.back() != '&') {
        url.push_back('&');
    }
    url += query;
    return url;
}

bool is_core_param(std::string_view name) {
    for (std::string_view core : {"response_type", "client_id", "redirect_uri", "scope", "state",
                                  "nonce", "code_challenge", "code_challenge_method"}) {
        if (name == core) return true;
    }
    return false;
}

HttpRequest token_request(std::string_view endpoint, const Client& client, std::string body) {
    HttpRequest r;
    r.method = "POST";
    r.url = std::string(endpoint);
    r.headers.emplace_back("Content-Type", "application/x-www-form-urlencoded");
    r.headers.emplace_back("Accept", "application/json");
    if (client.auth == ClientAuth::client_secret_basic) {
        // RFC 6749 2.3.1: id and secret are form-encoded before the Basic encoding.
        std::string pair = http::form_urlencode(client.client_id) + ":" +
                           http::form_urlencode(client.client_secret);
        r.headers.emplace_back("Authorization",
                               "Basic " + crypto::base64_encode(crypto::bytes(pair)));
    } else {
        add(body, "client_id", client.client_id);
        add(body, "client_secret", client.client_secret);
    }
    r.body = std::move(body);
    return r;
}

} // namespace

std::string authorization_url(std::string_view endpoint, const AuthorizationRequest& request) {
    std::string q;
    add(q, "response_type", "code");
    add(q, "client_id", request.client_id);
    add(q, "redirect_uri", request.redirect_uri);
    add(q, "scope", request.scope);
    add(q, "state", request.state);
    add_if(q, "nonce", request.nonce);
    if (!request.code_challenge.empty()) {
        add(q, "code_challenge", request.code_challenge);
        add(q, "code_challenge_method", "S256");
    }
    for (const auto& [name, value] : request.extra) {
        if (!name.empty() && !is_core_param(name)) add(q, name, value);
    }
    return with_query(endpoint, q);
}

HttpRequest authorization_code_request(std::string_view token_endpoint, const Client& client,
                                       std::string_view code, std::string_view redirect_uri,
                                       std::string_view code_verifier) {
    std::string body;
    add(body, "grant_type", "authorization_code");
    add(body, "code", code);
    add(body, "redirect_uri", redirect_uri);
    add_if(body, "code_verifier", code_verifier);
    return token_request(token_endpoint, client, std::move(body));
}

HttpRequest refresh_token_request(std::string_view token_endpoint, const Client& client,
                                  std::string_view refresh_token, std::string_view scope) {
    std::string body;
    add(body, "grant_type", "refresh_token");
    add(body, "refresh_token", refresh_token);
    add_if(body, "scope", scope);
    return token_request(token_endpoint, client, std::move(body));
}

std::string end_session_url(std::string_view endpoint, const EndSessionRequest& request) {
    std::string q;
    add_if(q, "id_token_hint", request.id_token_hint);
    add_if(q, "post_logout_redirect_uri", request.post_logout_redirect_uri);
    add_if(q, "state", request.state);
    add_if(q, "client_id", request.client_id);
    return with_query(endpoint, q);
}

} // namespace authgate::oidc
