// Users file parsing and argon2id password verification.
#include "support/support.h"

#include "authgate/users.h"

using namespace authgate;

namespace {

std::string alice_hash() {
    static std::string h = [] {
        testing::CountingRandom random;
        auto r = hash_password("alice-pass-1", random, PasswordCost{1024, 1, 1});
        assert_true(r.ok());
        return *r;
    }();
    return h;
}

void verifies_password(void**) {
    std::string h = alice_hash();
    assert_true(is_argon2id_hash(h));
    assert_true(verify_password(h, "alice-pass-1"));
    assert_false(verify_password(h, "alice-pass-2"));
    assert_false(verify_password(h, ""));
    assert_false(verify_password("$argon2id$v=19$m=1024,t=1,p=1$garbage", "x"));
    assert_false(verify_password("plaintext", "plaintext"));
    assert_false(verify_password("$argon2i$v=19$m=1024,t=1,p=1$c2FsdHNhbHQ$aGFzaA", "x"));
}

void parses_users_file(void**) {
    std::string text = "# users\n\nalice:" + alice_hash() +
                       ":alice@example.com:Alice A:admins, staff:\n"
                       "carol:" +
                       alice_hash() + ":carol@example.com:Carol::disabled\n";
    auto db = UserDb::parse(text);
    assert_true(db.ok());
    assert_int_equal(db->size(), 2);
    const User* a = db->find("alice");
    assert_non_null(a);
    assert_true(a->email == "alice@example.com" && a->display_name == "Alice A");
    assert_true((a->groups == std::vector<std::string>{"admins", "staff"}));
    assert_false(a->disabled);
    assert_true(db->find("carol")->disabled);
    assert_null(db->find("bob"));
    // The decoy for unknown names has the default cost, not the file's.
    std::string decoy = decoy_hash();
    assert_true(decoy.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"));
    assert_false(verify_password(decoy, ""));
}

void users_file_errors_name_the_line(void**) {
    struct Case {
        std::string text;
        const char* expect;
    } cases[] = {
        {"alice:" + alice_hash() + ":a@x:A:g\n", "line 1: expected 6 or 7 fields"},
        {"\n\nalice:plain:a@x:A:g:\n", "line 3: password of \"alice\" is not an argon2id hash"},
        {"al ice:" + alice_hash() + ":a@x:A:g:\n", "line 1: invalid user name"},
        {"alice:" + alice_hash() + ":a@x:A:g:frozen\n", "unknown flag \"frozen\""},
        {"alice:" + alice_hash() + ":a@x:A:g:\nalice:" + alice_hash() + ":a@x:A:g:\n",
         "line 2: duplicate user \"alice\""},
        {"alice:" + alice_hash() + ":a@x:A:bad group:\n", "invalid group"},
        {"alice:" + alice_hash() + ":a@x:A:g::bad role\n", "line 1: invalid role \"bad role\""},
        {"alice:" + alice_hash() + ":a@x:A:g::r:extra\n", "expected 6 or 7 fields"},
    };
    for (const auto& c : cases) {
        auto db = UserDb::parse(c.text);
        assert_false(db.ok());
        if (db.error().find(c.expect) == std::string::npos) {
            fail_msg("expected \"%s\" in \"%s\"", c.expect, db.error().c_str());
        }
    }
}

// Six-field lines (files from before roles) still parse, with no roles; a seventh field
// lists role names, and the identity built from the entry carries them.
void users_file_roles_field(void**) {
    std::string text = "alice:" + alice_hash() + ":a@x:Alice:staff::editor, viewer,editor\n" +
                       "bob:" + alice_hash() + ":b@x:Bob:staff:\n" + "carol:" + alice_hash() +
                       ":c@x:Carol::disabled:\n";
    auto db = UserDb::parse(text);
    if (!db.ok()) fail_msg("%s", db.error().c_str());
    const User* a = db->find("alice");
    assert_true((a->roles == std::vector<std::string>{"editor", "viewer"}));
    assert_true((a->identity->roles == std::vector<std::string>{"editor", "viewer"}));
    assert_string_equal(a->identity->header_roles.c_str(), "editor,viewer");
    assert_true(db->find("bob")->roles.empty());
    assert_true(db->find("carol")->roles.empty());
    assert_true(db->find("carol")->disabled);

    // Run-time user records: a "roles" field, malformed names dropped; written back whole.
    auto u =
        user_from_fields("dave", {{"password", alice_hash()}, {"roles", "ops,bad role,,admin"}});
    assert_true(u.ok());
    assert_true((u->roles == std::vector<std::string>{"ops", "admin"}));
    bool wrote = false;
    for (const auto& [k, v] : user_to_fields(*u)) {
        if (k == "roles") wrote = v == "ops,admin";
    }
    assert_true(wrote);
    auto none = user_from_fields("erin", {{"password", alice_hash()}});
    assert_true(none.ok() && none->roles.empty());
}

} // namespace

int main() {
    const CMUnitTest tests[] = {
        cmocka_unit_test(verifies_password),
        cmocka_unit_test(parses_users_file),
        cmocka_unit_test(users_file_errors_name_the_line),
        cmocka_unit_test(users_file_roles_field),
    };
    return cmocka_run_group_tests(tests, nullptr, nullptr);
}
