/* Unit tests for the permission table (model/roles.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "model/roles.h"

static void
owners_hold_every_permission_admins_all_but_the_owners_own(void **state)
{
    (void)state;
    for (int p = 0; p < PB_PERM_COUNT; p++) {
        assert_true(pb_role_allows(PB_ROLE_OWNER, (enum pb_perm)p));
        assert_true(pb_role_allows(PB_ROLE_ADMIN, (enum pb_perm)p) ==
                    (p != PB_PERM_AUDIT_READ && p != PB_PERM_OWNERS_MANAGE &&
                     p != PB_PERM_SUPPRESSION_OVERRIDE));
    }
}

static void
authors_search_and_write_but_never_see_addresses(void **state)
{
    (void)state;
    static const enum pb_perm denied[] = {
        PB_PERM_CONTACTS_VIEW_ADDRESSES,
        PB_PERM_CONTACTS_IMPORT,
        PB_PERM_CONTACTS_EXPORT,
        PB_PERM_CONSENT_HISTORY,
        PB_PERM_ERASURE_RUN,
        PB_PERM_CAMPAIGNS_SEND,
        PB_PERM_USERS_MANAGE,
        PB_PERM_SETTINGS_MANAGE,
        PB_PERM_SUPPRESSION_OVERRIDE,
    };
    for (size_t i = 0; i < sizeof(denied) / sizeof(denied[0]); i++)
        assert_false(pb_role_allows(PB_ROLE_AUTHOR, denied[i]));
    assert_true(pb_role_allows(PB_ROLE_AUTHOR, PB_PERM_CONTACTS_SEARCH));
    assert_true(pb_role_allows(PB_ROLE_AUTHOR, PB_PERM_CAMPAIGNS_WRITE));
    assert_true(pb_role_allows(PB_ROLE_AUTHOR, PB_PERM_AUTHENTICATED));
}

static void
nobody_holds_only_public(void **state)
{
    (void)state;
    assert_true(pb_role_allows(PB_ROLE_NONE, PB_PERM_PUBLIC));
    for (int p = 1; p < PB_PERM_COUNT; p++)
        assert_false(pb_role_allows(PB_ROLE_NONE, (enum pb_perm)p));
    assert_false(pb_role_allows((enum pb_role)42, PB_PERM_PUBLIC));
    assert_false(pb_role_allows(PB_ROLE_OWNER, PB_PERM_COUNT));
}

static void
names_round_trip(void **state)
{
    (void)state;
    assert_int_equal(pb_role_parse("owner"), PB_ROLE_OWNER);
    assert_int_equal(pb_role_parse("author"), PB_ROLE_AUTHOR);
    assert_int_equal(pb_role_parse("root"), PB_ROLE_NONE);
    assert_string_equal(pb_role_name(PB_ROLE_ADMIN), "admin");
    assert_string_equal(pb_perm_name(PB_PERM_CONTACTS_IMPORT), "contacts.import");
    for (int p = 0; p < PB_PERM_COUNT; p++)
        assert_string_not_equal(pb_perm_name((enum pb_perm)p), "unknown");
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(owners_hold_every_permission_admins_all_but_the_owners_own),
        cmocka_unit_test(authors_search_and_write_but_never_see_addresses),
        cmocka_unit_test(nobody_holds_only_public),
        cmocka_unit_test(names_round_trip),
    };
    return cmocka_run_group_tests_name("roles", tests, NULL, NULL);
}
