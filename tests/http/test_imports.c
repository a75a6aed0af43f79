/*
 * CSV imports through the real server and the job runner: a multipart
 * upload, the job's progress and counts, every imported address with its
 * values (sensitive ones sealed), memberships and an `imported` consent
 * event naming the statement and the job; a re-import changes nothing;
 * upsert updates; row-level problems are reported by line while the rest
 * imports; file-level problems fail the job with nothing imported; bad
 * requests are refused naming the part; authors get 403. Runs on SQLite,
 * or on PostgreSQL when PB_TEST_STORE_URL is set.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <curl/curl.h>
#include <jansson.h>

#include "core/buf.h"
#include "core/id.h"
#include "core/strutil.h"
#include "support/calls.h"
#include "support/testapp.h"

#define PASSWORD "Copper-Meadow-Signal-417"

static struct pb_testapp t;
static char acme_id[32], owner_id[32], author_id[32], other_id[32], other_owner_id[32];
static struct pb_http_client owner, author, other_owner;
static char public_list[PB_ID_LEN + 1], private_list[PB_ID_LEN + 1], other_list[PB_ID_LEN + 1];

/* ---- helpers ---- */

static void
make_list(struct pb_http_client *c, const char *name, bool is_public, char id[PB_ID_LEN + 1])
{
    char body[256];
    snprintf(body, sizeof(body), "{\"name\": \"%s\", \"public\": %s}", name,
             is_public ? "true" : "false");
    struct pb_http_reply r;
    pb_test_call(&t, c, "POST", "/api/v1/lists", body, 201, &r);
    pb_strlcpy(id, json_string_value(json_object_get(r.json, "id")), PB_ID_LEN + 1);
    pb_http_reply_free(&r);
}

/* Uploads `csv` into `list` as `c`, with the basis given (NULL: no statement) and `extra` parts. */
static long
upload(struct pb_http_client *c, const char *csv, size_t len, const char *list, const char *basis,
       const char *mode, const char *columns, struct pb_http_reply *r)
{
    struct pb_test_part parts[6];
    int n = 0;
    parts[n++] = (struct pb_test_part){"file", NULL, csv, len};
    parts[n++] = (struct pb_test_part){"list_ids", list, NULL, 0};
    if (basis != NULL) {
        parts[n++] = (struct pb_test_part){"basis", basis, NULL, 0};
        parts[n++] = (struct pb_test_part){"description", "sign-up form at the 2026 fair", NULL, 0};
    }
    if (mode != NULL)
        parts[n++] = (struct pb_test_part){"mode", mode, NULL, 0};
    if (columns != NULL)
        parts[n++] = (struct pb_test_part){"columns", columns, NULL, 0};
    return pb_test_multipart(&t, c, "/api/v1/imports", parts, n, r);
}

/* Starts an import that must be accepted; its id into `id`. */
static void
start_import(const char *csv, size_t len, const char *list, const char *basis, const char *mode,
             char id[PB_ID_LEN + 1])
{
    struct pb_http_reply r;
    long status = upload(&owner, csv, len, list, basis, mode, NULL, &r);
    if (status != 202) {
        char msg[1024];
        snprintf(msg, sizeof(msg), "import refused: %ld %s", status, r.body);
        pb_http_reply_free(&r);
        fail_msg("%s", msg);
    }
    pb_strlcpy(id, json_string_value(json_object_get(r.json, "id")), PB_ID_LEN + 1);
    pb_http_reply_free(&r);
}

/* Waits until the import ends; its final state as JSON (a new reference). */
static json_t *
wait_import(const char *id)
{
    char path[128];
    snprintf(path, sizeof(path), "/api/v1/imports/%s?limit=1000", id);
    for (int i = 0; i < 1200; i++) {
        struct pb_http_reply r;
        pb_test_call(&t, &owner, "GET", path, NULL, 200, &r);
        const char *state = json_string_value(json_object_get(r.json, "state"));
        if (state != NULL && (strcmp(state, "done") == 0 || strcmp(state, "failed") == 0)) {
            json_t *out = json_incref(r.json);
            pb_http_reply_free(&r);
            return out;
        }
        pb_http_reply_free(&r);
        usleep(50 * 1000);
    }
    fail_msg("import %s not finished after 60 s", id);
    return NULL;
}

static json_t *
import_csv(const char *csv, const char *list, const char *basis, const char *mode)
{
    char id[PB_ID_LEN + 1];
    start_import(csv, strlen(csv), list, basis, mode, id);
    return wait_import(id);
}

static long long
count(json_t *imp, const char *name)
{
    return json_integer_value(json_object_get(json_object_get(imp, "counts"), name));
}

static const char *
import_state(json_t *imp)
{
    return json_string_value(json_object_get(imp, "state"));
}

/* The reason recorded for `line`, or NULL. */
static const char *
reject_reason(json_t *imp, long long line)
{
    size_t i;
    json_t *r;
    json_array_foreach(json_object_get(imp, "rejects"), i, r)
    {
        if (json_integer_value(json_object_get(r, "line")) == line)
            return json_string_value(json_object_get(r, "reason"));
    }
    return NULL;
}

static long long
member_count(const char *list)
{
    char path[128];
    snprintf(path, sizeof(path), "/api/v1/lists/%s", list);
    struct pb_http_reply r;
    pb_test_call(&t, &owner, "GET", path, NULL, 200, &r);
    long long n = json_integer_value(json_object_get(r.json, "member_count"));
    pb_http_reply_free(&r);
    return n;
}

/* The contact with `email` as the owner sees it (NULL: none). New reference. */
static json_t *
contact(const char *email)
{
    char path[512];
    char *q = curl_easy_escape(NULL, email, 0);
    snprintf(path, sizeof(path), "/api/v1/contacts/search?email=%s", q);
    curl_free(q);
    struct pb_http_reply r;
    pb_test_call(&t, &owner, "GET", path, NULL, 200, &r);
    json_t *c = json_object_get(r.json, "contact");
    json_t *out = json_is_object(c) ? json_incref(c) : NULL;
    pb_http_reply_free(&r);
    return out;
}

/* The number of events in the account's chain, and whether it verifies. */
static long long
chain_events(void)
{
    struct pb_http_reply r;
    pb_test_call(&t, &owner, "GET", "/api/v1/consent/verify", NULL, 200, &r);
    assert_true(json_is_true(json_object_get(r.json, "ok")));
    long long n = json_integer_value(json_object_get(r.json, "events"));
    pb_http_reply_free(&r);
    return n;
}

/* ---- setup ---- */

static int
setup(void **state)
{
    (void)state;
    curl_global_init(CURL_GLOBAL_DEFAULT);
    pb_testapp_start(&t, 0);
    pb_testapp_start_jobs(&t);
    pb_testapp_account(&t, "Acme", "enterprise", acme_id);
    pb_testapp_user(&t, acme_id, "owner@acme.example.org", "owner", PASSWORD, owner_id);
    pb_testapp_user(&t, acme_id, "author@acme.example.org", "author", PASSWORD, author_id);
    pb_testapp_account(&t, "Other", "enterprise", other_id);
    pb_testapp_user(&t, other_id, "owner@other.example.org", "owner", PASSWORD, other_owner_id);
    pb_test_login(&t, &owner, "owner@acme.example.org", PASSWORD);
    pb_test_login(&t, &author, "author@acme.example.org", PASSWORD);
    pb_test_login(&t, &other_owner, "owner@other.example.org", PASSWORD);
    pb_test_call_ok(&t, &owner, "POST", "/api/v1/fields",
                    "{\"key\": \"first_name\", \"label\": \"First name\", \"type\": \"text\"}",
                    201);
    pb_test_call_ok(&t, &owner, "POST", "/api/v1/fields",
                    "{\"key\": \"phone\", \"label\": \"Phone\", \"type\": \"text\", "
                    "\"sensitive\": true}",
                    201);
    pb_test_call_ok(&t, &owner, "POST", "/api/v1/fields",
                    "{\"key\": \"age\", \"label\": \"Age\", \"type\": \"number\"}", 201);
    make_list(&owner, "Newsletter", true, public_list);
    make_list(&owner, "Internal", false, private_list);
    make_list(&other_owner, "Theirs", true, other_list);
    return 0;
}

static int
teardown(void **state)
{
    (void)state;
    pb_testapp_stop(&t);
    curl_global_cleanup();
    return 0;
}

/* ---- tests ---- */

/* A file with a BOM, ';', quotes, a newline in a cell and a bad row of each kind. */
static const char mixed_csv[] =
    "\xEF\xBB\xBF"
    "Email;First_Name;phone;age\r\n"                  /* line 1 */
    "ann@example.org;Ann;+32 470 11 22 33;41\r\n"     /* 2 */
    "not-an-address;Bob;;\r\n"                        /* 3: invalid address */
    "cy@example.org;\"Cy\nPart two\";;\r\n"           /* 4-5: a newline: not in a text field */
    "dee@example.org;Dee\r\n"                         /* 6: ragged */
    "ANN@example.org;Ann again;;\r\n"                 /* 7: the same as line 2 */
    "eve@example.org;\"=HYPERLINK(\"\"x\"\")\";;\r\n" /* 8: kept verbatim */
    "fay@example.org;Fay;;forty\r\n"                  /* 9: not a number */
    "\r\n"                                            /* 10: blank, skipped */
    "gus@example.org;Gus;;7\r\n";                     /* 11 */

static void
imports_rows_and_reports(void **state)
{
    (void)state;
    long long events_before = chain_events();
    json_t *imp = import_csv(mixed_csv, public_list, "consent", NULL);
    assert_string_equal(import_state(imp), "done");
    assert_int_equal(json_integer_value(json_object_get(imp, "rows_total")), 8);
    assert_int_equal(json_integer_value(json_object_get(imp, "rows_done")), 8);
    assert_int_equal(count(imp, "added"), 3); /* ann, eve, gus */
    assert_int_equal(count(imp, "invalid"), 4);
    assert_int_equal(count(imp, "duplicates"), 1);
    assert_int_equal(count(imp, "skipped"), 0);
    assert_non_null(reject_reason(imp, 3));
    assert_non_null(strstr(reject_reason(imp, 3), "not a valid address"));
    assert_non_null(strstr(reject_reason(imp, 6), "2 cells where the header has 4"));
    assert_non_null(strstr(reject_reason(imp, 7), "same address as line 2"));
    assert_non_null(strstr(reject_reason(imp, 9), "column \"age\""));
    assert_non_null(strstr(reject_reason(imp, 4), "column \"first_name\""));
    assert_null(reject_reason(imp, 2));
    assert_null(reject_reason(imp, 8));
    assert_int_equal(json_array_size(json_object_get(imp, "rejects")), 5);
    const char *statement = json_string_value(json_object_get(imp, "statement_id"));
    assert_non_null(statement);
    char import_id[PB_ID_LEN + 1];
    pb_strlcpy(import_id, json_string_value(json_object_get(imp, "id")), sizeof(import_id));
    char statement_id[PB_ID_LEN + 1];
    pb_strlcpy(statement_id, statement, sizeof(statement_id));
    json_decref(imp);

    assert_int_equal(member_count(public_list), 3);
    /* One `imported` event per address, chained after the others. */
    assert_int_equal(chain_events(), events_before + 3);

    json_t *ann = contact("ann@example.org");
    assert_non_null(ann);
    json_t *fields = json_object_get(ann, "fields");
    assert_string_equal(json_string_value(json_object_get(fields, "first_name")), "Ann");
    assert_string_equal(json_string_value(json_object_get(fields, "phone")), "+32 470 11 22 33");
    assert_string_equal(json_string_value(json_object_get(fields, "age")), "41");
    json_decref(ann);
    assert_null(contact("cy@example.org"));
    json_t *eve = contact("eve@example.org");
    assert_string_equal(
        json_string_value(json_object_get(json_object_get(eve, "fields"), "first_name")),
        "=HYPERLINK(\"x\")");
    json_decref(eve);
    json_t *bob = contact("not-an-address");
    assert_null(bob);
    struct pb_http_reply rep;

    /* The audit log says who started which import, without the file. */
    pb_test_call(&t, &owner, "GET", "/api/v1/audit", NULL, 200, &rep);
    assert_non_null(strstr(rep.body, "contacts.import_started"));
    assert_non_null(strstr(rep.body, import_id));
    assert_null(strstr(rep.body, "ann@example.org"));
    pb_http_reply_free(&rep);

    /* The history of one address: the imported event names the statement and the job. */
    struct pb_http_reply r;
    pb_test_call(&t, &owner, "GET", "/api/v1/consent?email=gus@example.org", NULL, 200, &r);
    json_t *events = json_object_get(r.json, "events");
    assert_int_equal(json_array_size(events), 1);
    json_t *e = json_array_get(events, 0);
    assert_string_equal(json_string_value(json_object_get(e, "type")), "imported");
    assert_string_equal(json_string_value(json_object_get(e, "channel")), "import");
    assert_string_equal(json_string_value(json_object_get(e, "statement_id")), statement_id);
    assert_string_equal(json_string_value(json_object_get(e, "list_id")), public_list);
    char ref[64];
    snprintf(ref, sizeof(ref), "job:%s", import_id);
    assert_string_equal(json_string_value(json_object_get(e, "ref")), ref);
    assert_true(strncmp(json_string_value(json_object_get(e, "actor")), "user:", 5) == 0);
    pb_http_reply_free(&r);
}

static void
reimport_changes_nothing(void **state)
{
    (void)state;
    json_t *first = import_csv(mixed_csv, public_list, "consent", NULL);
    json_decref(first);
    long long members = member_count(public_list), events = chain_events();
    json_t *again = import_csv(mixed_csv, public_list, "consent", NULL);
    assert_string_equal(import_state(again), "done");
    assert_int_equal(count(again, "added"), 0);
    assert_int_equal(count(again, "updated"), 0);
    assert_int_equal(count(again, "skipped"), 3);
    assert_int_equal(count(again, "invalid"), 4);
    json_decref(again);
    assert_int_equal(member_count(public_list), members);
    assert_int_equal(chain_events(), events);
}

static void
upsert_updates_values(void **state)
{
    (void)state;
    const char csv[] = "email,first_name,age\nupsy@example.org,Old,30\n";
    json_decref(import_csv(csv, private_list, NULL, NULL));
    /* add mode leaves an existing contact as it is */
    json_t *imp =
        import_csv("email,first_name,age\nupsy@example.org,New,31\n", private_list, NULL, "add");
    assert_int_equal(count(imp, "skipped"), 1);
    json_decref(imp);
    json_t *c = contact("upsy@example.org");
    assert_string_equal(json_string_value(json_object_get(json_object_get(c, "fields"), "age")),
                        "30");
    json_decref(c);
    imp =
        import_csv("email,first_name,age\nupsy@example.org,New,31\n", private_list, NULL, "upsert");
    assert_int_equal(count(imp, "updated"), 1);
    assert_int_equal(count(imp, "added"), 0);
    json_decref(imp);
    c = contact("upsy@example.org");
    assert_string_equal(json_string_value(json_object_get(json_object_get(c, "fields"), "age")),
                        "31");
    assert_string_equal(
        json_string_value(json_object_get(json_object_get(c, "fields"), "first_name")), "New");
    json_decref(c);
}

/* Many rows: batches, progress, and a duplicate far from its first line. */
static void
imports_across_batches(void **state)
{
    (void)state;
    char list[PB_ID_LEN + 1];
    make_list(&owner, "Big", true, list);
    struct pb_buf csv;
    pb_buf_init(&csv, 4 * 1024 * 1024);
    assert_int_equal(pb_buf_append_str(&csv, "email,first_name,phone\n"), PB_ERR_OK);
    enum { ROWS = 5000 };
    for (int i = 0; i < ROWS; i++)
        assert_int_equal(
            pb_buf_printf(&csv, "person%d@batch.example.org,Person %d,+32 %d\n", i, i, 100000 + i),
            PB_ERR_OK);
    assert_int_equal(pb_buf_append_str(&csv, "person10@batch.example.org,Again,\n"), PB_ERR_OK);
    char id[PB_ID_LEN + 1];
    start_import(csv.data, csv.len, list, "legitimate_interests", NULL, id);
    pb_buf_release(&csv, 0);
    json_t *imp = wait_import(id);
    assert_string_equal(import_state(imp), "done");
    assert_int_equal(count(imp, "added"), ROWS);
    assert_int_equal(count(imp, "duplicates"), 1);
    assert_non_null(reject_reason(imp, ROWS + 2));
    assert_int_equal(json_integer_value(json_object_get(imp, "rows_total")), ROWS + 1);
    json_decref(imp);
    assert_int_equal(member_count(list), ROWS);
    json_t *c = contact("person4999@batch.example.org");
    assert_string_equal(json_string_value(json_object_get(json_object_get(c, "fields"), "phone")),
                        "+32 104999");
    json_decref(c);
}

/* A file-level problem fails the job and imports nothing. */
static void
expect_failed(const char *csv, size_t len, const char *why_part)
{
    char list[PB_ID_LEN + 1], id[PB_ID_LEN + 1];
    make_list(&owner, "Failing", false, list);
    start_import(csv, len, list, NULL, NULL, id);
    json_t *imp = wait_import(id);
    assert_string_equal(import_state(imp), "failed");
    const char *error = json_string_value(json_object_get(imp, "error"));
    if (error == NULL || strstr(error, why_part) == NULL)
        fail_msg("error \"%s\" does not say \"%s\"", error ? error : "(none)", why_part);
    assert_int_equal(count(imp, "added"), 0);
    json_decref(imp);
    assert_int_equal(member_count(list), 0);
}

static void
file_level_problems_import_nothing(void **state)
{
    (void)state;
    const char latin1[] = "email,first_name\nlat1@example.org,Ann\nlat2@example.org,Ren\xE9\n";
    expect_failed(latin1, strlen(latin1), "not UTF-8");
    assert_null(contact("lat1@example.org"));
    const char header_only[] = "email,first_name\n";
    expect_failed(header_only, strlen(header_only), "no rows");
    const char open_quote[] = "email,first_name\nq1@example.org,\"Ann\nq2@example.org,Bob\n";
    expect_failed(open_quote, strlen(open_quote), "never closed");
    assert_null(contact("q1@example.org"));
    /* A 2 MiB line: refused without holding it. */
    size_t big = 2 * 1024 * 1024;
    char *huge = malloc(big + 64);
    assert_non_null(huge);
    int n = snprintf(huge, 64, "email,first_name\nh1@example.org,");
    memset(huge + n, 'x', big);
    memcpy(huge + n + big, "\n", 2);
    expect_failed(huge, (size_t)n + big + 1, "longer than 1 MiB");
    free(huge);
    assert_null(contact("h1@example.org"));
}

static void
row_level_problems_keep_the_rest(void **state)
{
    (void)state;
    char list[PB_ID_LEN + 1];
    make_list(&owner, "Rows", false, list);
    const char csv[] = "email,first_name\n"
                       "nul@example.org,A\0B\n"
                       "stray@example.org,ab\"c\n"
                       "fine@example.org,Fine\n";
    char id[PB_ID_LEN + 1];
    start_import(csv, sizeof(csv) - 1, list, NULL, NULL, id);
    json_t *imp = wait_import(id);
    assert_string_equal(import_state(imp), "done");
    assert_int_equal(count(imp, "added"), 1);
    assert_int_equal(count(imp, "invalid"), 2);
    assert_non_null(strstr(reject_reason(imp, 2), "NUL"));
    assert_non_null(strstr(reject_reason(imp, 3), "quote"));
    json_decref(imp);
    json_t *c = contact("fine@example.org");
    assert_non_null(c);
    json_decref(c);
}

static void
bad_requests_name_the_part(void **state)
{
    (void)state;
    struct pb_http_reply r;
    const char csv[] = "email\nx@example.org\n";
    /* A public list needs a statement: nothing is queued. */
    upload(&owner, csv, strlen(csv), public_list, NULL, NULL, NULL, &r);
    pb_test_check_error(&r, "public list without consent", 422, 719, "consent");
    pb_http_reply_free(&r);
    upload(&owner, csv, strlen(csv), other_list, "consent", NULL, NULL, &r);
    pb_test_check_error(&r, "another account's list", 404, 104, "list_ids");
    pb_http_reply_free(&r);
    upload(&owner, "", 0, private_list, NULL, NULL, NULL, &r);
    pb_test_check_error(&r, "an empty file", 422, 103, "file");
    pb_http_reply_free(&r);
    const char unknown[] = "email,shoe_size\nx@example.org,44\n";
    upload(&owner, unknown, strlen(unknown), private_list, NULL, NULL, NULL, &r);
    pb_test_check_error(&r, "an unknown column", 422, 720, "columns");
    assert_non_null(strstr(json_string_value(json_object_get(r.json, "detail")), "shoe_size"));
    pb_http_reply_free(&r);
    /* ... which a mapping may leave out. */
    upload(&owner, unknown, strlen(unknown), private_list, NULL, NULL, "{\"shoe_size\": null}", &r);
    assert_int_equal(r.status, 202);
    json_t *imp = wait_import(json_string_value(json_object_get(r.json, "id")));
    pb_http_reply_free(&r);
    assert_int_equal(count(imp, "added") + count(imp, "skipped"), 1);
    json_decref(imp);
    const char twice[] = "email,first_name,First_Name\nx@example.org,Ann,Anna\n";
    upload(&owner, twice, strlen(twice), private_list, NULL, NULL, NULL, &r);
    pb_test_check_error(&r, "two columns for one field", 422, 103, "columns");
    assert_non_null(
        strstr(json_string_value(json_object_get(r.json, "detail")), "columns 2 and 3"));
    pb_http_reply_free(&r);
    const char no_email[] = "first_name\nAnn\n";
    upload(&owner, no_email, strlen(no_email), private_list, NULL, NULL, NULL, &r);
    pb_test_check_error(&r, "no email column", 422, 103, "file");
    pb_http_reply_free(&r);
    upload(&owner, csv, strlen(csv), private_list, NULL, "merge", NULL, &r);
    pb_test_check_error(&r, "a bad mode", 422, 103, "mode");
    pb_http_reply_free(&r);
    upload(&owner, csv, strlen(csv), private_list, "whim", NULL, NULL, &r);
    pb_test_check_error(&r, "a bad basis", 422, 103, "consent.basis");
    pb_http_reply_free(&r);
    /* Not multipart at all, and no file part. */
    pb_test_expect_error(&t, &owner, "POST", "/api/v1/imports", "{\"list_ids\": []}", 415, 109,
                         NULL);
    /* A multipart body cut off in the middle of the file part: refused, nothing queued. */
    const char cut[] =
        "--XYZ\r\nContent-Disposition: form-data; name=\"list_ids\"\r\n\r\n%s\r\n"
        "--XYZ\r\nContent-Disposition: form-data; name=\"file\"; "
        "filename=\"a.csv\"\r\nContent-Type: text/csv\r\n\r\nemail\ncut@example.org\n";
    char cut_body[512];
    int cut_len = snprintf(cut_body, sizeof(cut_body), cut, private_list);
    pb_test_http_raw(&t, &owner, "POST", "/api/v1/imports", "multipart/form-data; boundary=XYZ",
                     cut_body, (size_t)cut_len, &r);
    pb_test_check_error(&r, "a multipart body cut off", 422, 103, "file");
    pb_http_reply_free(&r);
    assert_null(contact("cut@example.org"));
    struct pb_test_part only_lists[] = {{"list_ids", private_list, NULL, 0}};
    pb_test_multipart(&t, &owner, "/api/v1/imports", only_lists, 1, &r);
    pb_test_check_error(&r, "no file part", 422, 103, "file");
    pb_http_reply_free(&r);
    pb_test_expect_error(&t, &owner, "GET", "/api/v1/imports/01ARZ3NDEKTSV4RRFFQ69G5FAV", NULL, 404,
                         104, NULL);
}

/* A 1x1 PNG: a screenshot stands in for the evidence of a sign-up form. */
static const unsigned char png[] = {
    0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0x00, 0x00, 0x00, 0x0d, 0x49, 0x48,
    0x44, 0x52, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x01, 0x08, 0x06, 0x00, 0x00,
    0x00, 0x1f, 0x15, 0xc4, 0x89, 0x00, 0x00, 0x00, 0x0d, 0x49, 0x44, 0x41, 0x54, 0x78,
    0xda, 0x63, 0x64, 0xf8, 0xcf, 0x50, 0x0f, 0x00, 0x03, 0x86, 0x01, 0x80, 0x5a, 0x34,
    0x7d, 0x6b, 0x00, 0x00, 0x00, 0x00, 0x49, 0x45, 0x4e, 0x44, 0xae, 0x42, 0x60, 0x82};

static void
evidence_on_the_statement(void **state)
{
    (void)state;
    /* Upload the screenshot (raw body), then name it in the import. */
    struct pb_http_reply up;
    long status = pb_test_http_raw(&t, &owner, "POST", "/api/v1/evidence", "image/png", png,
                                   sizeof(png), &up);
    assert_true(status == 201 || status == 200);
    json_t *ev = json_incref(up.json);
    pb_http_reply_free(&up);
    char evidence_id[PB_ID_LEN + 1];
    pb_strlcpy(evidence_id, json_string_value(json_object_get(ev, "id")), sizeof(evidence_id));
    json_decref(ev);

    const char csv[] = "email\nshot@example.org\n";
    struct pb_test_part parts[] = {
        {"file", NULL, csv, strlen(csv)},
        {"list_ids", public_list, NULL, 0},
        {"basis", "consent", NULL, 0},
        {"description", "the form on the website, screenshot attached", NULL, 0},
        {"evidence_ids", evidence_id, NULL, 0},
    };
    struct pb_http_reply r;
    pb_test_multipart(&t, &owner, "/api/v1/imports", parts, 5, &r);
    assert_int_equal(r.status, 202);
    json_t *imp = wait_import(json_string_value(json_object_get(r.json, "id")));
    pb_http_reply_free(&r);
    assert_int_equal(count(imp, "added"), 1);
    json_decref(imp);
    pb_test_call(&t, &owner, "GET", "/api/v1/consent?email=shot@example.org", NULL, 200, &r);
    json_t *e = json_array_get(json_object_get(r.json, "events"), 0);
    const char *sid = json_string_value(json_object_get(e, "statement_id"));
    json_t *st = json_object_get(json_object_get(r.json, "statements"), sid ? sid : "");
    json_t *evidence = json_object_get(st, "evidence");
    assert_int_equal(json_array_size(evidence), 1);
    assert_string_equal(json_string_value(json_object_get(json_array_get(evidence, 0), "id")),
                        evidence_id);
    pb_http_reply_free(&r);
    /* An evidence id the account does not have is refused, naming it. */
    parts[4].value = "01ARZ3NDEKTSV4RRFFQ69G5FAV";
    pb_test_multipart(&t, &owner, "/api/v1/imports", parts, 5, &r);
    pb_test_check_error(&r, "unknown evidence", 404, 104, "consent.evidence_ids");
    pb_http_reply_free(&r);
}

static void
authors_cannot_import(void **state)
{
    (void)state;
    struct pb_http_reply r;
    const char csv[] = "email\nx@example.org\n";
    upload(&author, csv, strlen(csv), private_list, NULL, NULL, NULL, &r);
    pb_test_check_error(&r, "author import", 403, 111, NULL);
    pb_http_reply_free(&r);
    /* Nor read another's import, nor can another account read ours. */
    char id[PB_ID_LEN + 1], path[128];
    start_import(csv, strlen(csv), private_list, NULL, NULL, id);
    json_decref(wait_import(id));
    snprintf(path, sizeof(path), "/api/v1/imports/%s", id);
    pb_test_expect_error(&t, &author, "GET", path, NULL, 403, 111, NULL);
    pb_test_expect_error(&t, &other_owner, "GET", path, NULL, 404, 104, NULL);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(imports_rows_and_reports),
        cmocka_unit_test(reimport_changes_nothing),
        cmocka_unit_test(upsert_updates_values),
        cmocka_unit_test(imports_across_batches),
        cmocka_unit_test(file_level_problems_import_nothing),
        cmocka_unit_test(row_level_problems_keep_the_rest),
        cmocka_unit_test(bad_requests_name_the_part),
        cmocka_unit_test(evidence_on_the_statement),
        cmocka_unit_test(authors_cannot_import),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
