// Session codec, cookie values and expiry rules, with a manual clock.
#include "support/support.h"

#include "authgate/keys.h"
#include "authgate/session.h"
#include "session/verified_cookies.h"

using namespace authgate;
using authgate::testing::CountingRandom;

namespace {

Session sample() {
    Session s;
    s.created_ms = 1'700'000'000'000;
    s.auth_time_ms = s.created_ms;
    s.last_seen_ms = s.created_ms + 5;
    s.expires_ms = s.created_ms + 3'600'000;
    s.user = "alice";
    s.email = "alice@example.com";
    s.name = "Alice A";
    s.groups = {"admins", "staff"};
    s.roles = {"editor"};
    s.methods = {"pwd"};
    s.csrf = "csrf-token";
    s.source = "file";
    return s;
}

KeyRing keys(std::string_view text) {
    auto k = KeyRing::parse(text);
    assert_true(k.ok());
    return *k;
}

void codec_round_trip(void**) {
    Session s = sample();
    std::string enc = encode_session(s);
    assert_true(enc.size() < 200);
    auto back = decode_session(enc);
    assert_true(back.ok());
    assert_true(back->user == "alice" && back->email == s.email && back->name == s.name);
    assert_true(back->groups == s.groups && back->methods == s.methods);
    assert_true(back->roles == s.roles);

    // A v3 record (before roles: the same bytes without the trailing list) decodes with none.
    Session old = sample();
    old.roles.clear();
    std::string v3 = encode_session(old);
    assert_int_equal(v3.back(), 0); // the empty roles list
    v3.pop_back();
    v3[0] = 3;
    auto from_v3 = decode_session(v3);
    assert_true(from_v3.ok());
    assert_true(from_v3->roles.empty() && from_v3->user == "alice");
    assert_true(back->created_ms == s.created_ms && back->last_seen_ms == s.last_seen_ms &&
                back->expires_ms == s.expires_ms && back->csrf == s.csrf && back->source == "file");
}

void codec_rejects_malformed(void**) {
    std::string enc = encode_session(sample());
    for (std::size_t n = 0; n < enc.size(); ++n) {
        assert_false(decode_session(enc.substr(0, n)).ok()); // every truncation
    }
    assert_false(decode_session(enc + "x").ok()); // trailing garbage
    std::string wrong_version = enc;
    wrong_version[0] = 9; // unknown version
    auto r = decode_session(wrong_version);
    assert_false(r.ok());
    assert_non_null(strstr(r.error().c_str(), "version"));
    std::string huge_list = enc.substr(0, 1) + std::string(10, '\xff');
    assert_false(decode_session(huge_list).ok());
}

void cookie_round_trip_and_tampering(void**) {
    auto k = keys(testing::test_key_file());
    CountingRandom random;
    SessionId id = new_session_id(random);
    std::string value = session_cookie_value(id, k);
    assert_int_equal(value.size(), 64);
    auto parsed = parse_session_cookie(value, k);
    assert_true(parsed.has_value());
    assert_memory_equal(parsed->bytes.data(), id.bytes.data(), 32);

    for (std::size_t i = 0; i < value.size(); ++i) {
        std::string t = value;
        t[i] = t[i] == 'A' ? 'B' : 'A';
        assert_false(parse_session_cookie(t, k).has_value()); // any flipped character
    }
    assert_false(parse_session_cookie(value.substr(0, 63), k).has_value());
    assert_false(parse_session_cookie(value + "A", k).has_value());
    assert_false(parse_session_cookie("", k).has_value());
    assert_false(parse_session_cookie(std::string(64, '!'), k).has_value());

    auto other = keys("k1 b3RoZXItb3RoZXItb3RoZXItb3RoZXItb3RoZXItb3RoZXI=\n");
    assert_false(parse_session_cookie(value, other).has_value()); // another server's key
}

// The per-thread memo of verified cookies gives what the MAC check and the store-key hash
// give, and never serves a value it did not verify (tampered, or under another key ring).
void verified_cookie_memo_matches_the_check(void**) {
    auto k = keys(testing::test_key_file());
    CountingRandom random;
    SessionId id = new_session_id(random);
    std::string value = session_cookie_value(id, k);
    for (int round = 0; round < 2; ++round) { // a miss, then a hit
        auto v = verify_session_cookie(value, k);
        assert_true(v.has_value());
        assert_memory_equal(v->id.bytes.data(), id.bytes.data(), 32);
        assert_true(v->store_key() == session_store_key(id));
    }
    for (std::size_t i = 0; i < value.size(); ++i) {
        std::string t = value;
        t[i] = t[i] == 'A' ? 'B' : 'A';
        assert_false(verify_session_cookie(t, k).has_value()); // same slot for i >= 8
    }
    assert_false(verify_session_cookie(value.substr(0, 63), k).has_value());
    assert_false(verify_session_cookie("", k).has_value());
    auto other = keys("k1 b3RoZXItb3RoZXItb3RoZXItb3RoZXItb3RoZXItb3RoZXI=\n");
    assert_false(verify_session_cookie(value, other).has_value()); // memoized under k only
    auto reparsed = keys(testing::test_key_file());
    assert_true(reparsed.serial() != k.serial());
    assert_true(verify_session_cookie(value, reparsed).has_value());
}

void rotated_key_still_verifies(void**) {
    auto old_only = keys("old c2Vjb25kLWtleS1zZWNvbmQta2V5LXNlY29uZC1rZXkh\n");
    auto ring = keys(testing::test_key_file()); // new primary k1, old kept
    CountingRandom random;
    SessionId id = new_session_id(random);
    std::string issued_before_rotation = session_cookie_value(id, old_only);
    assert_true(parse_session_cookie(issued_before_rotation, ring).has_value());
}

void store_key_hides_cookie(void**) {
    CountingRandom random;
    SessionId id = new_session_id(random);
    std::string key = session_store_key(id);
    assert_true(key.starts_with("s:"));
    std::string raw(reinterpret_cast<const char*>(id.bytes.data()), 32);
    assert_true(key.find(crypto::base64url_encode(crypto::bytes(raw))) == std::string::npos);
}

void idle_and_lifetime_expiry(void**) {
    Session s = sample();
    Millis idle = 60'000;
    Millis t0 = s.last_seen_ms;
    assert_int_equal((int)session_state(s, t0 + 59'999, idle), (int)SessionState::valid);
    assert_int_equal((int)session_state(s, t0 + 60'000, idle), (int)SessionState::idle_expired);
    s.last_seen_ms = s.expires_ms - 1000;
    assert_int_equal((int)session_state(s, s.expires_ms, idle),
                     (int)SessionState::lifetime_expired);
    assert_true(session_ttl(s, s.expires_ms - 500, idle) == 500);
}

void touch_is_rate_limited(void**) {
    Session s = sample();
    Millis idle = 600'000; // touch step = 60 s
    assert_false(session_needs_touch(s, s.last_seen_ms + 59'000, idle));
    assert_true(session_needs_touch(s, s.last_seen_ms + 60'000, idle));
    Millis short_idle = 2000; // touch step = 200 ms
    assert_true(session_needs_touch(s, s.last_seen_ms + 200, short_idle));
}

void key_file_errors(void**) {
    assert_false(KeyRing::parse("").ok());
    assert_false(KeyRing::parse("# only comments\n").ok());
    auto short_key = KeyRing::parse("k1 c2hvcnQ=\n");
    assert_false(short_key.ok());
    assert_non_null(strstr(short_key.error().c_str(), "line 1"));
    assert_false(KeyRing::parse("k1\n").ok());
    assert_false(KeyRing::parse("k1 !!!notbase64!!!\n").ok());
    auto dup = KeyRing::parse(testing::test_key_file() + "k1 " +
                              "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=\n");
    assert_false(dup.ok());
    assert_non_null(strstr(dup.error().c_str(), "duplicate"));
}

} // namespace

int main() {
    const CMUnitTest tests[] = {
        cmocka_unit_test(codec_round_trip),
        cmocka_unit_test(codec_rejects_malformed),
        cmocka_unit_test(cookie_round_trip_and_tampering),
        cmocka_unit_test(verified_cookie_memo_matches_the_check),
        cmocka_unit_test(rotated_key_still_verifies),
        cmocka_unit_test(store_key_hides_cookie),
        cmocka_unit_test(idle_and_lifetime_expiry),
        cmocka_unit_test(touch_is_rate_limited),
        cmocka_unit_test(key_file_errors),
    };
    return cmocka_run_group_tests(tests, nullptr, nullptr);
}
