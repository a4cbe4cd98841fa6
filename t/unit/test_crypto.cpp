// Hashes, HMAC (RFC 4231 vectors), HKDF, encodings and constant-time comparison.
#include "support/support.h"

#include "authgate/crypto.h"

using namespace authgate::crypto;

namespace {

std::string hex(const Digest& d) {
    static const char* k = "0123456789abcdef";
    std::string out;
    for (auto b : d) {
        out += k[b >> 4];
        out += k[b & 15];
    }
    return out;
}

void sha256_vector(void**) {
    assert_string_equal(hex(sha256("abc")).c_str(),
                        "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

void hmac_rfc4231(void**) {
    // Test case 2.
    assert_string_equal(hex(hmac_sha256(bytes("Jefe"), "what do ya want for nothing?")).c_str(),
                        "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
    // Test case 6: a key longer than the block size.
    std::string key(131, '\xaa');
    assert_string_equal(
        hex(hmac_sha256(bytes(key), "Test Using Larger Than Block-Size Key - Hash Key First"))
            .c_str(),
        "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54");
    HmacKey k(bytes("Jefe"));
    HmacKey copy = k;
    assert_string_equal(hex(copy.mac("what do ya want for nothing?")).c_str(),
                        "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
}

void base64_round_trips(void**) {
    for (std::string s : {"", "f", "fo", "foo", "foob", "fooba", "foobar", "\xff\xfe\x00"}) {
        auto enc = base64url_encode(bytes(s));
        auto dec = base64url_decode(enc);
        assert_true(dec.has_value() && *dec == s);
    }
    assert_string_equal(base64_decode("Zm9vYmFy")->c_str(), "foobar");
    assert_string_equal(base64_decode("Zm9vYg==")->c_str(), "foob");
    assert_false(base64url_decode("Zm9vYg=").has_value());
    assert_false(base64url_decode("Zh").has_value()); // non-zero padding bits
    assert_false(base64url_decode("a").has_value());
    assert_false(base64_decode("Zm9v_mFy").has_value());
}

void constant_time_compare(void**) {
    assert_true(constant_time_equal("abc", "abc"));
    assert_false(constant_time_equal("abc", "abd"));
    assert_false(constant_time_equal("abc", "ab"));
    assert_true(constant_time_equal("", ""));
}

} // namespace

int main() {
    const CMUnitTest tests[] = {
        cmocka_unit_test(sha256_vector),
        cmocka_unit_test(hmac_rfc4231),
        cmocka_unit_test(base64_round_trips),
        cmocka_unit_test(constant_time_compare),
    };
    return cmocka_run_group_tests(tests, nullptr, nullptr);
}
