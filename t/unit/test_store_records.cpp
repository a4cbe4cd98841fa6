// Records that stores without native hashes and sorted sets keep as one value (shared
// memory, tests). Regressions (issue 8): an update that could not be stored used to remove
// the old record first (item 16), and a full index silently forgot its oldest member, so
// a session escaped sign-out-everywhere (item 8).
#include "support/support.h"

#include "authgate/store_keys.h"

using namespace authgate;
using namespace authgate::testing;

namespace {

constexpr Millis kNow = 1'000'000;

std::string index_of(std::size_t n, Millis first_expiry) {
    IndexEntries entries;
    for (std::size_t i = 0; i < n; ++i) {
        entries.emplace_back(first_expiry + static_cast<Millis>(i), "s:" + std::to_string(i));
    }
    return encode_index(entries);
}

void oversized_field_update_is_refused(void**) {
    std::string current = *merged_record(std::nullopt, {{"email", "a@example.com"}});
    auto merged = merged_record(current, {{"name", "A"}});
    Store::Fields f;
    assert_true(decode_fields(*merged, f));
    assert_int_equal(f.size(), 2);
    // Many large fields: over kMaxRecordBytes, so no new record (the caller keeps the old).
    Store::Fields big;
    for (int i = 0; i < 20; ++i)
        big.emplace_back("f" + std::to_string(i), std::string(60'000, 'x'));
    assert_false(merged_record(current, std::move(big)).has_value());
}

void full_index_refuses_instead_of_forgetting(void**) {
    std::string full = index_of(kMaxIndexMembers, kNow + 10'000);
    auto added = update_index_record(full, "s:new", kNow + 50'000, false, kNow);
    assert_int_equal(static_cast<int>(added.outcome), static_cast<int>(IndexUpdate::Outcome::full));
    // Re-adding a member it has, removing one, or dropping expired ones still works.
    auto again = update_index_record(full, "s:5", kNow + 60'000, false, kNow);
    assert_int_equal(static_cast<int>(again.outcome),
                     static_cast<int>(IndexUpdate::Outcome::write));
    auto removed = update_index_record(full, "s:0", 0, true, kNow);
    IndexEntries left;
    assert_true(decode_index(removed.value, left));
    assert_int_equal(left.size(), kMaxIndexMembers - 1);
    auto later = update_index_record(full, "s:new", kNow + 50'000, false, kNow + 10'000);
    assert_int_equal(static_cast<int>(later.outcome),
                     static_cast<int>(IndexUpdate::Outcome::write));
    assert_true(decode_index(later.value, left));
    assert_int_equal(left.size(), kMaxIndexMembers); // the expired first one made room
}

void index_too_large_in_bytes_is_refused(void**) {
    IndexEntries entries;
    std::string member(1000, 'm');
    for (std::size_t i = 0; i < 1040; ++i) {
        entries.emplace_back(kNow + 1000, member + std::to_string(i));
    }
    std::string current = encode_index(entries);
    auto u = update_index_record(current, member + "x", kNow + 2000, false, kNow);
    assert_int_equal(static_cast<int>(u.outcome), static_cast<int>(IndexUpdate::Outcome::full));
}

void last_member_removed_erases_the_index(void**) {
    std::string one = index_of(1, kNow + 10);
    auto u = update_index_record(one, "s:0", 0, true, kNow);
    assert_int_equal(static_cast<int>(u.outcome), static_cast<int>(IndexUpdate::Outcome::erase));
    auto fresh = update_index_record(std::nullopt, "s:a", kNow + 10, false, kNow);
    assert_int_equal(static_cast<int>(fresh.outcome),
                     static_cast<int>(IndexUpdate::Outcome::write));
    assert_int_equal(fresh.expires_ms, kNow + 10);
}

// The memory store follows the same decisions: a refused update leaves the old record.
void memory_store_keeps_records_on_refused_updates(void**) {
    ManualClock clock(kNow);
    MemoryStore store(clock);
    assert_true(run(store.hash_set("u:{a}", {{"email", "a@example.com"}})).ok());
    Store::Fields big;
    for (int i = 0; i < 20; ++i)
        big.emplace_back("f" + std::to_string(i), std::string(60'000, 'x'));
    assert_false(run(store.hash_set("u:{a}", std::move(big))).ok());
    auto kept = run(store.hash_get("u:{a}"));
    assert_true(kept.value.has_value());
    assert_int_equal(kept.value->size(), 1);

    for (std::size_t i = 0; i < kMaxIndexMembers; ++i) {
        assert_true(run(store.index_add("u:{a}:sessions", "s:" + std::to_string(i),
                                        kNow + 10'000 + static_cast<Millis>(i), kNow))
                        .ok());
    }
    assert_false(run(store.index_add("u:{a}:sessions", "s:late", kNow + 90'000, kNow)).ok());
    auto members = run(store.index_members("u:{a}:sessions", kNow)).value;
    assert_int_equal(members.size(), kMaxIndexMembers);
    assert_string_equal(members.front().c_str(), "s:0"); // earliest expiry first, kept
}

void members_come_earliest_expiry_first(void**) {
    ManualClock clock(kNow);
    MemoryStore store(clock);
    run(store.index_add("i", "late", kNow + 300, kNow));
    run(store.index_add("i", "early", kNow + 100, kNow));
    run(store.index_add("i", "middle", kNow + 200, kNow));
    auto m = run(store.index_members("i", kNow)).value;
    assert_int_equal(m.size(), 3);
    assert_string_equal(m[0].c_str(), "early");
    assert_string_equal(m[2].c_str(), "late");
}

void compare_and_set_replaces_only_the_expected_value(void**) {
    ManualClock clock(kNow);
    MemoryStore store(clock);
    assert_false(run(store.compare_and_set("k", "v1", "v2", 1000)).value); // gone: not created
    assert_int_equal(store.size(), 0);
    run(store.set("k", "v1", 1000));
    assert_false(run(store.compare_and_set("k", "other", "v2", 1000)).value);
    assert_string_equal(run(store.get("k")).value->c_str(), "v1");
    assert_true(run(store.compare_and_set("k", "v1", "v2", 1000)).value);
    assert_string_equal(run(store.get("k")).value->c_str(), "v2");
}

} // namespace

int main() {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(oversized_field_update_is_refused),
        cmocka_unit_test(full_index_refuses_instead_of_forgetting),
        cmocka_unit_test(index_too_large_in_bytes_is_refused),
        cmocka_unit_test(last_member_removed_erases_the_index),
        cmocka_unit_test(memory_store_keeps_records_on_refused_updates),
        cmocka_unit_test(members_come_earliest_expiry_first),
        cmocka_unit_test(compare_and_set_replaces_only_the_expected_value),
    };
    return cmocka_run_group_tests(tests, nullptr, nullptr);
}
