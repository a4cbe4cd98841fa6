// Secrets at rest: AES-256-GCM sealing under the key ring, with context binding and rotation.
#include "support/support.h"

#include "authgate/keys.h"

using namespace authgate;

namespace {

KeyRing ring(std::string_view text) {
    auto k = KeyRing::parse(text);
    assert_true(k.ok());
    return *k;
}

void round_trip(void**) {
    auto k = ring(testing::test_key_file());
    testing::CountingRandom random;
    std::string sealed = k.seal("JBSWY3DPEHPK3PXP", "totp:alice", random);
    assert_true(sealed.starts_with("v1.k1."));
    assert_true(sealed.find("JBSWY3DPEHPK3PXP") == std::string::npos);
    auto opened = k.open(sealed, "totp:alice");
    assert_true(opened.ok());
    assert_string_equal(opened->c_str(), "JBSWY3DPEHPK3PXP");
    assert_true(k.open(k.seal("", "x", random), "x").ok());            // empty plaintext
    assert_true(k.seal("a", "c", random) != k.seal("a", "c", random)); // fresh nonce each time
}

void tampering_and_wrong_context_fail(void**) {
    auto k = ring(testing::test_key_file());
    testing::CountingRandom random;
    std::string sealed = k.seal("refresh-token-value", "refresh:alice", random);
    assert_false(k.open(sealed, "refresh:bob").ok());
    for (std::size_t i = 6; i < sealed.size(); ++i) {
        std::string t = sealed;
        t[i] = t[i] == 'A' ? 'B' : 'A';
        assert_false(k.open(t, "refresh:alice").ok());
    }
    for (const char* bad : {"", "v1", "v1.k1", "v1.k1.", "v2.k1.AAAA",
                            "v1.zz.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", "v1.k1.!!!!"}) {
        assert_false(k.open(bad, "x").ok());
    }
}

void rotated_keys_still_open(void**) {
    auto old_only = ring("old c2Vjb25kLWtleS1zZWNvbmQta2V5LXNlY29uZC1rZXkh\n");
    auto rotated = ring(testing::test_key_file()); // k1 primary, old kept
    testing::CountingRandom random;
    std::string before = old_only.seal("seed", "totp:bob", random);
    auto opened = rotated.open(before, "totp:bob");
    assert_true(opened.ok());
    assert_string_equal(opened->c_str(), "seed");
    assert_true(rotated.seal("seed", "totp:bob", random).starts_with("v1.k1."));
    auto other = ring("k1 b3RoZXItb3RoZXItb3RoZXItb3RoZXItb3RoZXItb3RoZXI=\n");
    assert_false(other.open(rotated.seal("s", "c", random), "c").ok()); // same id, other secret
}

} // namespace

int main() {
    const CMUnitTest tests[] = {
        cmocka_unit_test(round_trip),
        cmocka_unit_test(tampering_and_wrong_context_fail),
        cmocka_unit_test(rotated_keys_still_open),
    };
    return cmocka_run_group_tests(tests, nullptr, nullptr);
}
