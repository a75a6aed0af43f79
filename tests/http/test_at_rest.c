/*
 * What a stolen database reveals (mission feature 2): after contacts with
 * sensitive field values are written, neither the SQLite file and its WAL
 * nor a pg_dump of the PostgreSQL database holds the addresses or the
 * sensitive values; the non-sensitive value is there (proving the search
 * itself works). Then a field turned sensitive seals its existing values,
 * and turned back opens them, through the job runner.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <sodium.h>

#include "core/strutil.h"
#include "model/contact.h"
#include "model/field.h"
#include "model/list.h"
#include "support/testapp.h"

static struct pb_testapp t;
static struct pb_principal owner;

/* Everything the store holds, as bytes: the SQLite files, or a pg_dump. */
static char *
dump_store(size_t *len)
{
    char command[2048];
    if (pb_str_starts_with(t.store_url, "sqlite:")) {
        /* The WAL too: recent writes live there until a checkpoint. */
        snprintf(command, sizeof(command), "cat '%s' '%s-wal' 2>/dev/null",
                 t.store_url + strlen("sqlite:"), t.store_url + strlen("sqlite:"));
    } else {
        snprintf(command, sizeof(command),
                 "PGDUMP=$(ls -d /usr/lib/postgresql/*/bin/pg_dump | sort -V | tail -1);"
                 " \"$PGDUMP\" --no-owner '%s'",
                 t.store_url);
    }
    FILE *p = popen(command, "r");
    assert_non_null(p);
    size_t cap = 1 << 20, n = 0;
    char *data = malloc(cap);
    size_t got;
    while ((got = fread(data + n, 1, cap - n, p)) > 0) {
        n += got;
        if (n == cap) {
            cap *= 2;
            data = realloc(data, cap);
            assert_non_null(data);
        }
    }
    assert_int_equal(pclose(p), 0);
    assert_true(n > 1000);
    *len = n;
    return data;
}

static bool
contains(const char *hay, size_t len, const char *needle)
{
    size_t n = strlen(needle);
    for (size_t i = 0; i + n <= len; i++)
        if (memcmp(hay + i, needle, n) == 0)
            return true;
    return false;
}

static void
make_field(const char *key, bool sensitive)
{
    struct pb_field in, out;
    const char *field = NULL;
    char why[PB_WHY_MAX];
    memset(&in, 0, sizeof(in));
    pb_strlcpy(in.key, key, sizeof(in.key));
    pb_strlcpy(in.label, key, sizeof(in.label));
    pb_strlcpy(in.type, "text", sizeof(in.type));
    in.sensitive = sensitive;
    assert_int_equal(pb_field_create(&t.app, &owner, &in, &out, &field, why), PB_ERR_OK);
}

static void
add_contact(const char *email, const char *iban, const char *city, const char *note)
{
    char id[PB_ID_LEN + 1], why[PB_WHY_MAX];
    const char *field = NULL;
    json_t *fields = json_pack("{s:s, s:s, s:s}", "iban", iban, "city", city, "note", note);
    struct pb_contact_new in = {.email = email, .fields = fields};
    struct pb_consent_origin origin = {PB_CHANNEL_API, "test", NULL, NULL};
    assert_int_equal(pb_contact_create(&t.app, &owner, &in, &origin, id, &field, why), PB_ERR_OK);
    json_decref(fields);
}

static int
setup(void **state)
{
    (void)state;
    pb_testapp_start(&t, 0);
    pb_testapp_start_jobs(&t);
    char account[32], user[32];
    pb_testapp_account(&t, "At rest", "enterprise", account);
    pb_testapp_user(&t, account, "owner@atrest.example.org", "owner", "correct horse battery",
                    user);
    memset(&owner, 0, sizeof(owner));
    pb_strlcpy(owner.account_id, account, sizeof(owner.account_id));
    pb_strlcpy(owner.user_id, user, sizeof(owner.user_id));
    owner.role = PB_ROLE_OWNER;
    return 0;
}

static int
teardown(void **state)
{
    (void)state;
    pb_testapp_stop(&t);
    return 0;
}

static void
sealed_values_and_addresses_never_reach_the_disk(void **state)
{
    (void)state;
    make_field("iban", true);
    make_field("city", false);
    make_field("note", false);
    for (int i = 0; i < 20; i++) {
        char email[64], iban[32];
        snprintf(email, sizeof(email), "zeldzaam.adres.%02d@voorbeeld.be", i);
        snprintf(iban, sizeof(iban), "BE71096123456%03d", i);
        add_contact(email, iban, "Oostduinkerke-Bad", "plain note");
    }
    size_t len = 0;
    char *bytes = dump_store(&len);
    /* The control: a non-sensitive value is stored as it is. */
    assert_true(contains(bytes, len, "Oostduinkerke-Bad"));
    for (int i = 0; i < 20; i++) {
        char email[64], iban[32];
        snprintf(email, sizeof(email), "zeldzaam.adres.%02d", i);
        snprintf(iban, sizeof(iban), "BE71096123456%03d", i);
        if (contains(bytes, len, email) || contains(bytes, len, iban))
            fail_msg("contact %d: its address or IBAN is readable in the store", i);
    }
    assert_false(contains(bytes, len, "voorbeeld.be"));
    free(bytes);
}

static void
turning_sensitive_on_seals_existing_values_and_off_opens_them(void **state)
{
    (void)state;
    make_field("iban", false);
    make_field("city", false);
    make_field("note", true);
    add_contact("one@voorbeeld.be", "BE00CLEARIBAN0001", "Gent", "geheime notitie een");
    add_contact("two@voorbeeld.be", "BE00CLEARIBAN0002", "Gent", "geheime notitie twee");
    size_t len = 0;
    char *bytes = dump_store(&len);
    assert_true(contains(bytes, len, "BE00CLEARIBAN0001"));
    assert_false(contains(bytes, len, "geheime notitie"));
    free(bytes);

    /* On: the existing IBANs are sealed. */
    struct pb_field out;
    const char *field = NULL;
    char why[PB_WHY_MAX];
    bool on = true, off = false;
    char job[PB_ID_LEN + 1];
    assert_int_equal(pb_field_update(&t.app, &owner, "iban", NULL, &on, &out, job, &field, why),
                     PB_ERR_OK);
    assert_true(out.sensitive);
    assert_true(pb_id_valid(job));
    pb_testapp_wait_job(&t, owner.account_id, job);
    /* SQLite keeps old page images in the WAL until a checkpoint; secure_delete wipes them then. */
    if (pb_str_starts_with(t.store_url, "sqlite:")) {
        char command[1200];
        snprintf(command, sizeof(command),
                 "sqlite3 '%s' 'PRAGMA wal_checkpoint(TRUNCATE);' >/dev/null",
                 t.store_url + strlen("sqlite:"));
        assert_int_equal(system(command), 0);
    }
    bytes = dump_store(&len);
    assert_false(contains(bytes, len, "BE00CLEARIBAN000"));
    free(bytes);
    /* The owner still reads them. */
    bool found = false;
    json_t *contact = NULL;
    assert_int_equal(pb_contact_search(&t.app, &owner, "one@voorbeeld.be", true, &found, &contact),
                     PB_ERR_OK);
    assert_true(found);
    assert_string_equal(
        json_string_value(json_object_get(json_object_get(contact, "fields"), "iban")),
        "BE00CLEARIBAN0001");
    json_decref(contact);

    /* Off: opened again, readable the same. */
    assert_int_equal(pb_field_update(&t.app, &owner, "note", NULL, &off, &out, job, &field, why),
                     PB_ERR_OK);
    pb_testapp_wait_job(&t, owner.account_id, job);
    /* Nothing changes, nothing is queued. */
    assert_int_equal(pb_field_update(&t.app, &owner, "note", NULL, &off, &out, job, &field, why),
                     PB_ERR_OK);
    assert_string_equal(job, "");
    bytes = dump_store(&len);
    assert_true(contains(bytes, len, "geheime notitie twee"));
    free(bytes);
    assert_int_equal(pb_contact_search(&t.app, &owner, "TWO@voorbeeld.be", false, &found, &contact),
                     PB_ERR_OK);
    assert_true(found);
    assert_string_equal(json_string_value(json_object_get(contact, "email")), "t***@***.be");
    assert_string_equal(
        json_string_value(json_object_get(json_object_get(contact, "fields"), "note")),
        "geheime notitie twee");
    /* Without reveal, a sealed value is left out. */
    assert_null(json_object_get(json_object_get(contact, "fields"), "iban"));
    json_decref(contact);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(sealed_values_and_addresses_never_reach_the_disk, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(
            turning_sensitive_on_seals_existing_values_and_off_opens_them, setup, teardown),
    };
    return cmocka_run_group_tests_name("data at rest", tests, NULL, NULL);
}
