// Policy the nginx adapter used to decide itself, now in the core: where the gate is active,
// checks between directives, store selection with Sentinel and password files, which
// client headers are stripped, the endpoints' body limit, and the one error table.
#include "support/support.h"

#include <set>

#include "authgate/config.h"
#include "authgate/error.h"
#include "authgate/request.h"
#include "authgate/store_plan.h"

using namespace authgate;
using namespace authgate::config;
using authgate::testing::test_key_file;

namespace {

void set(Settings& s, std::string_view name, std::vector<std::string_view> args,
         std::string place = {}) {
    const Directive* d = find_directive(name);
    assert_non_null(d);
    auto applied = d->apply(s, args);
    if (!applied) fail_msg("%s: %s", name.data(), applied.error().c_str());
    if (!place.empty()) record_origin(s, name, std::move(place));
}

bool contains(const std::string& text, std::string_view part) {
    return text.find(part) != std::string::npos;
}

// Names resolve to 10.0.0.<n> in order of asking; "nowhere" does not resolve.
struct FakeResolver {
    std::vector<std::string> asked;
    Resolver port() {
        return [this](const std::string& host, int port) -> Result<std::string> {
            asked.push_back(host + ":" + std::to_string(port));
            if (host == "nowhere")
                return fail("cannot resolve \"nowhere:" + std::to_string(port) + "\"");
            return "10.0.0." + std::to_string(asked.size());
        };
    }
};

FileReader files() {
    return [](const std::string& path) -> Result<std::string> {
        if (path == "/redis.pw") return std::string("s3cret\r\n");
        if (path == "/empty.pw") return std::string("\n");
        return fail("cannot open \"" + path + "\"");
    };
}

void the_gate_is_active_by_authgate_endpoint_or_bearer(void**) {
    Settings none, on, off, endpoint, bearer, bearer_off;
    assert_false(gate_active(none));
    set(on, "authgate", {"on"});
    assert_true(gate_active(on));
    set(off, "authgate", {"off"});
    assert_false(gate_active(off));
    set(endpoint, "authgate_endpoint", {});
    assert_true(gate_active(endpoint));
    // A location whose only protection is authgate_bearer is gated (not left open).
    set(bearer, "authgate_bearer", {"corp"});
    assert_true(gate_active(bearer));
    set(bearer_off, "authgate_bearer", {"off"});
    assert_false(gate_active(bearer_off));
}

void sentinels_need_a_sentinel_master(void**) {
    Settings s;
    set(s, "authgate_redis_sentinels", {"127.0.0.1:26379"}, "/etc/nginx.conf:7");
    auto r = check_main(s);
    assert_false(r.ok());
    assert_true(contains(r.error(), "authgate_redis_sentinels needs \"authgate_redis sentinel:"));
    assert_true(contains(r.error(), " in /etc/nginx.conf:7"));
    set(s, "authgate_redis", {"sentinel:mymaster"});
    assert_true(check_main(s).ok());
}

void without_redis_the_store_is_the_default_zone(void**) {
    FakeResolver dns;
    auto plan = plan_store(Settings{}, dns.port(), files());
    assert_true(plan.ok());
    assert_true(plan->kind == StorePlan::Kind::shm);
    assert_string_equal(plan->zone.name.c_str(), "authgate");
    assert_int_equal(plan->zone.size, 10 * 1024 * 1024);
    assert_true(plan->zone_origin.empty());
    Settings sized;
    set(sized, "authgate_shm_zone", {"gate:1m"}, "/n.conf:3");
    plan = plan_store(sized, dns.port(), files());
    assert_string_equal(plan->zone.name.c_str(), "gate");
    assert_string_equal(plan->zone_origin.c_str(), " in /n.conf:3");
}

void redis_and_a_zone_are_exclusive(void**) {
    FakeResolver dns;
    Settings s;
    set(s, "authgate_shm_zone", {"gate:1m"});
    set(s, "authgate_redis", {"127.0.0.1:6379"}, "/n.conf:4");
    auto plan = plan_store(s, dns.port(), files());
    assert_false(plan.ok());
    assert_string_equal(plan.error().c_str(),
                        "authgate_redis and authgate_shm_zone are exclusive in /n.conf:4");
    assert_true(dns.asked.empty()); // nothing resolved for a refused configuration
}

void redis_host_is_resolved_and_password_read(void**) {
    FakeResolver dns;
    Settings s;
    set(s, "authgate_redis",
        {"redis.example.com:6380", "db=2", "password_file=/redis.pw", "session_cache=off"});
    auto plan = plan_store(s, dns.port(), files());
    assert_true(plan.ok());
    assert_true(plan->kind == StorePlan::Kind::redis);
    assert_string_equal(plan->redis.address.ip.c_str(), "10.0.0.1");
    assert_int_equal(plan->redis.address.port, 6380);
    assert_string_equal(plan->redis.display.c_str(), "10.0.0.1:6380");
    assert_string_equal(plan->redis.password.c_str(), "s3cret"); // line break dropped
    assert_int_equal(plan->redis.db, 2);
    assert_int_equal(plan->redis.session_cache, 0);
    assert_int_equal(plan->redis.command_timeout, 500); // the option table's default
}

void redis_errors_name_the_directive_and_place(void**) {
    FakeResolver dns;
    Settings missing_pw;
    set(missing_pw, "authgate_redis", {"127.0.0.1:6379", "password_file=/nope"}, "/n.conf:9");
    auto r = plan_store(missing_pw, dns.port(), files());
    assert_false(r.ok());
    assert_true(contains(r.error(), "authgate_redis password_file cannot open \"/nope\""));
    assert_true(contains(r.error(), " in /n.conf:9"));

    Settings empty_pw;
    set(empty_pw, "authgate_redis", {"127.0.0.1:6379", "password_file=/empty.pw"});
    r = plan_store(empty_pw, dns.port(), files());
    assert_false(r.ok());
    assert_true(contains(r.error(), "password_file \"/empty.pw\" is empty"));

    Settings no_sentinels;
    set(no_sentinels, "authgate_redis", {"sentinel:mymaster"}, "/n.conf:2");
    r = plan_store(no_sentinels, dns.port(), files());
    assert_string_equal(r.error().c_str(), "authgate_redis \"sentinel:mymaster\" needs "
                                           "authgate_redis_sentinels in /n.conf:2");

    Settings unresolvable;
    set(unresolvable, "authgate_redis", {"sentinel:mymaster"});
    set(unresolvable, "authgate_redis_sentinels", {"127.0.0.1:26379", "nowhere:26380"},
        "/n.conf:5");
    r = plan_store(unresolvable, dns.port(), files());
    assert_false(r.ok());
    assert_true(contains(r.error(), "authgate_redis_sentinels cannot resolve \"nowhere:26380\""));
    assert_true(contains(r.error(), " in /n.conf:5"));
}

void sentinels_are_resolved_in_order(void**) {
    FakeResolver dns;
    Settings s;
    set(s, "authgate_redis", {"sentinel:mymaster"});
    set(s, "authgate_redis_sentinels", {"s1:26379", "s2:26380"});
    auto plan = plan_store(s, dns.port(), files());
    assert_true(plan.ok());
    assert_int_equal(plan->redis.sentinels.size(), 2);
    assert_string_equal(plan->redis.sentinels[1].display().c_str(), "10.0.0.2:26380");
    assert_string_equal(plan->redis.display.c_str(), "sentinel master mymaster");
    assert_string_equal(plan->redis.master_name.c_str(), "mymaster");
}

void unix_sockets_need_no_resolution(void**) {
    FakeResolver dns;
    Settings s;
    set(s, "authgate_redis", {"unix:/run/redis.sock"});
    auto plan = plan_store(s, dns.port(), files());
    assert_true(plan.ok());
    assert_string_equal(plan->redis.display.c_str(), "unix:/run/redis.sock");
    assert_true(dns.asked.empty());
}

void the_endpoint_must_sit_at_the_prefix(void**) {
    ResourceCache cache;
    FileReader keys = [](const std::string&) -> Result<std::string> { return test_key_file(); };
    Settings s;
    set(s, "authgate_endpoint", {}, "/n.conf:12");
    set(s, "authgate_key_file", {"/keys"});
    merge(s, Settings{});
    auto g = resolve(s, cache, keys);
    assert_true(g.ok());
    assert_true(check_endpoint_location(*g, s, "/_authgate/", false).ok());
    assert_true(check_endpoint_location(*g, s, "^/x", true).ok()); // regex: not comparable
    auto r = check_endpoint_location(*g, s, "/auth/", false);
    assert_false(r.ok());
    assert_string_equal(r.error().c_str(),
                        "authgate_endpoint is in location \"/auth/\" but authgate_prefix is "
                        "\"/_authgate/\"; they must match in /n.conf:12");
}

// A client must not pose as a signed-in user with X_Auth_User or x-auth-user either.
void protected_headers_match_like_servers_compare_them(void**) {
    ResourceCache cache;
    Settings s;
    merge(s, Settings{});
    auto g = resolve(s, cache, [](const std::string&) -> Result<std::string> { return fail("-"); });
    assert_true(g.ok());
    for (std::string_view name : {"X-Auth-User", "x-auth-user", "X_AUTH_USER", "X-Auth-Groups"}) {
        assert_true(g->protects_header(name));
    }
    for (std::string_view name : {"X-Auth-User2", "X-Auth", "Accept", ""}) {
        assert_false(g->protects_header(name));
    }
    assert_true(g->may_hold_gate_cookie("a=1; authgate_session=x"));
    assert_true(g->may_hold_gate_cookie("__Host-authgate_flow=y"));
    assert_false(g->may_hold_gate_cookie("theme=dark; lang=en"));
}

void a_body_over_the_limit_gets_413(void**) {
    assert_true(body_fits(kMaxEndpointBody));
    assert_false(body_fits(kMaxEndpointBody + 1));
    Decision d = body_too_large();
    assert_int_equal(d.status, 413);
    assert_true(d.error == Error::payload_too_large);
    assert_string_equal(d.body.c_str(), "The request body is too large.\n");
    assert_string_equal(d.content_type.c_str(), "text/plain; charset=utf-8");
}

void the_error_table_is_complete(void**) {
    std::set<std::string_view> names;
    for (int i = 0; i <= static_cast<int>(Error::internal); ++i) {
        auto e = static_cast<Error>(i);
        assert_true(names.insert(error_name(e)).second);
        assert_false(error_message(e).empty());
        assert_true(http_status(e) >= 200 && http_status(e) < 600);
    }
    assert_string_equal(std::string(error_name(Error::ok)).c_str(), "allowed");
    assert_int_equal(http_status(Error::state_mismatch), 400);
    assert_int_equal(http_status(Error::idp_unreachable), 502);
    assert_int_equal(http_status(Error::insufficient_scope), 403);
    assert_int_equal(http_status(Error::store_unavailable), 503);
}

} // namespace

int main() {
    const CMUnitTest tests[] = {
        cmocka_unit_test(the_gate_is_active_by_authgate_endpoint_or_bearer),
        cmocka_unit_test(sentinels_need_a_sentinel_master),
        cmocka_unit_test(without_redis_the_store_is_the_default_zone),
        cmocka_unit_test(redis_and_a_zone_are_exclusive),
        cmocka_unit_test(redis_host_is_resolved_and_password_read),
        cmocka_unit_test(redis_errors_name_the_directive_and_place),
        cmocka_unit_test(sentinels_are_resolved_in_order),
        cmocka_unit_test(unix_sockets_need_no_resolution),
        cmocka_unit_test(the_endpoint_must_sit_at_the_prefix),
        cmocka_unit_test(protected_headers_match_like_servers_compare_them),
        cmocka_unit_test(a_body_over_the_limit_gets_413),
        cmocka_unit_test(the_error_table_is_complete),
    };
    return cmocka_run_group_tests(tests, nullptr, nullptr);
}
