/*
 * List exports through the real server: the exact CSV (RFC 4180, CRLF,
 * formulas neutralised) and JSON bodies, sensitive values for those who may
 * see them, the download headers, streaming (chunked, no length), 403 for
 * authors, 404 for another account's or an unknown list, 400 naming
 * "format", the audit entry with its row count, a list of 1,200 contacts
 * across batch boundaries with erased contacts skipped, and a client that
 * goes away midway (audited as incomplete). Runs on SQLite, or on
 * PostgreSQL when PB_TEST_STORE_URL is set.
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
#include <strings.h>
#include <unistd.h>

#include <curl/curl.h>
#include <jansson.h>

#include "core/buf.h"
#include "core/err.h"
#include "core/id.h"
#include "core/strutil.h"
#include "model/contact.h"
#include "model/export.h"
#include "model/tenant.h"
#include "support/calls.h"
#include "support/testapp.h"

#define PASSWORD "Copper-Meadow-Signal-417"
#define BIG      1200

static struct pb_testapp t;

static char acme_id[32], owner_id[32], admin_id[32], author_id[32], other_id[32],
    other_owner_id[32];
static struct pb_http_client owner, admin, author, other_owner;

/* The small list, another account's list, the list of 1,200. */
static char list_id[PB_ID_LEN + 1], other_list[PB_ID_LEN + 1], big_list[PB_ID_LEN + 1];

/* ---- helpers ---- */

/* The message of a failed assertion, built before the reply is freed. */
static char failure[8192];

static void
get_string(const struct pb_http_reply *r, const char *key, char *out, size_t size)
{
    const char *s = json_string_value(json_object_get(r->json, key));
    if (s == NULL)
        fail_msg("no \"%s\" in %s", key, r->body);
    pb_strlcpy(out, s, size);
}

static void
make_list(struct pb_http_client *c, const char *name, char id[PB_ID_LEN + 1])
{
    char body[256];
    struct pb_http_reply r;
    snprintf(body, sizeof(body), "{\"name\":\"%s\",\"public\":false}", name);
    pb_test_call(&t, c, "POST", "/api/v1/lists", body, 201, &r);
    get_string(&r, "id", id, PB_ID_LEN + 1);
    pb_http_reply_free(&r);
}

/* POST /contacts with `body`; the new contact's id into `id`. */
static void
make_contact(const char *body, char id[PB_ID_LEN + 1])
{
    struct pb_http_reply r;
    pb_test_call(&t, &owner, "POST", "/api/v1/contacts", body, 201, &r);
    get_string(&r, "id", id, PB_ID_LEN + 1);
    pb_http_reply_free(&r);
}

/* The created_at of a contact as the API shows it. */
static void
created_at(const char *id, char out[32])
{
    char path[128];
    struct pb_http_reply r;
    snprintf(path, sizeof(path), "/api/v1/contacts/%s", id);
    pb_test_call(&t, &owner, "GET", path, NULL, 200, &r);
    get_string(&r, "created_at", out, 32);
    pb_http_reply_free(&r);
}

/* Asserts two texts equal, showing both in full when they differ. */
static void
assert_text(const char *got, const char *want)
{
    if (strcmp(got, want) != 0) {
        snprintf(failure, sizeof(failure), "got:\n%.3000s\nwanted:\n%.3000s", got, want);
        fail_msg("%s", failure);
    }
}

static void
assert_header(const struct pb_http_reply *r, const char *name, const char *want)
{
    char value[512];
    if (!pb_http_reply_header(r, name, value, sizeof(value)))
        fail_msg("no %s header in:\n%s", name, r->headers);
    if (strcasecmp(value, want) != 0)
        fail_msg("%s: \"%s\", wanted \"%s\"", name, value, want);
}

/* ---- the audit log ---- */

/* The newest "contacts.exported" entry of Acme (a new reference), or NULL; `*count` of them. */
static json_t *
newest_export_entry(int *count)
{
    struct pb_http_reply r;
    pb_test_call(&t, &owner, "GET", "/api/v1/audit?limit=100", NULL, 200, &r);
    json_t *found = NULL;
    int n = 0;
    size_t i;
    json_t *item;
    json_array_foreach(json_object_get(r.json, "items"), i, item)
    {
        const char *action = json_string_value(json_object_get(item, "action"));
        if (action == NULL || strcmp(action, "contacts.exported") != 0)
            continue;
        if (found == NULL)
            found = json_incref(item);
        n++;
    }
    pb_http_reply_free(&r);
    if (count != NULL)
        *count = n;
    return found;
}

/* Asserts the newest export entry: list, format, rows, complete, the actor. */
static void
expect_audit(const char *list, const char *format, long rows, bool complete,
             const char *actor_user_id)
{
    json_t *e = newest_export_entry(NULL);
    assert_non_null(e);
    json_t *d = json_object_get(e, "detail");
    char *text = json_dumps(e, JSON_COMPACT);
    snprintf(failure, sizeof(failure), "audit entry: %s", text ? text : "?");
    free(text);
    const char *user = json_string_value(json_object_get(e, "actor_user_id"));
    bool right = json_is_string(json_object_get(d, "list_id")) &&
                 strcmp(json_string_value(json_object_get(d, "list_id")), list) == 0 &&
                 json_is_string(json_object_get(d, "format")) &&
                 strcmp(json_string_value(json_object_get(d, "format")), format) == 0 &&
                 json_integer_value(json_object_get(d, "rows")) == rows &&
                 json_is_boolean(json_object_get(d, "complete")) &&
                 json_is_true(json_object_get(d, "complete")) == complete &&
                 (actor_user_id == NULL ? json_is_null(json_object_get(e, "actor_user_id"))
                                        : user != NULL && strcmp(user, actor_user_id) == 0);
    json_decref(e);
    if (!right)
        fail_msg("%s (wanted list %s, %s, %ld rows, complete %d)", failure, list, format, rows,
                 complete);
}

/* ---- writing behind the API's back (what the API cannot do: erase, store a line break) ---- */

struct tamper {
    const char *contact_id;
    const char *notes; /* a value to store as it is, or NULL to erase the contact */
};

static enum pb_qs
tamper_tx(struct pb_tx *tx, void *cls)
{
    struct tamper *w = cls;
    if (w->notes != NULL) {
        struct pb_contact_value v;
        memset(&v, 0, sizeof(v));
        pb_strlcpy(v.account_id, acme_id, sizeof(v.account_id));
        pb_strlcpy(v.contact_id, w->contact_id, sizeof(v.contact_id));
        pb_strlcpy(v.field_key, "notes", sizeof(v.field_key));
        pb_strlcpy(v.value_text, w->notes, sizeof(v.value_text));
        return tx->ops->value_put(tx->conn, &v);
    }
    struct pb_contact c;
    enum pb_qs qs = tx->ops->contact_get(tx->conn, acme_id, w->contact_id, &c);
    if (qs <= 0)
        return qs < 0 ? qs : PB_QS_HARD_ERROR;
    /* As an erasure leaves it: no address, a pseudonym, still a member for the counters. */
    c.email_sealed_len = 0;
    c.email_bidx_len = 0;
    pb_strlcpy(c.status, "erased", sizeof(c.status));
    snprintf(c.pseudonym, sizeof(c.pseudonym), "erased-%s", c.id);
    return tx->ops->contact_update(tx->conn, &c);
}

static void
tamper(const char *contact_id, const char *notes)
{
    struct tamper w = {contact_id, notes};
    assert_int_equal(pb_tenant_tx(&t.app, acme_id, PB_TX_WRITE, tamper_tx, &w), PB_ERR_OK);
}

/* ---- setup ---- */

static int
setup(void **state)
{
    (void)state;
    curl_global_init(CURL_GLOBAL_DEFAULT);
    pb_testapp_start(&t, 0);
    pb_testapp_account(&t, "Acme", "enterprise", acme_id);
    pb_testapp_user(&t, acme_id, "owner@acme.example.org", "owner", PASSWORD, owner_id);
    pb_testapp_user(&t, acme_id, "admin@acme.example.org", "admin", PASSWORD, admin_id);
    pb_testapp_user(&t, acme_id, "author@acme.example.org", "author", PASSWORD, author_id);
    pb_testapp_account(&t, "Other", "enterprise", other_id);
    pb_testapp_user(&t, other_id, "owner@other.example.org", "owner", PASSWORD, other_owner_id);
    pb_test_login(&t, &owner, "owner@acme.example.org", PASSWORD);
    pb_test_login(&t, &admin, "admin@acme.example.org", PASSWORD);
    pb_test_login(&t, &author, "author@acme.example.org", PASSWORD);
    pb_test_login(&t, &other_owner, "owner@other.example.org", PASSWORD);
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

/* ---- the small list, exactly ---- */

/* The members of the small list that the export shows, sorted by id, and what they hold. */
struct member {
    char id[PB_ID_LEN + 1];
    const char *email;
    const char *csv;  /* the row after the address */
    const char *json; /* the "fields" object */
    char created[32];
};

static struct member members[4];

static int
member_cmp(const void *a, const void *b)
{
    return strcmp(((const struct member *)a)->id, ((const struct member *)b)->id);
}

static void
small_list_exports_exactly(void **state)
{
    (void)state;
    pb_test_call_ok(&t, &owner, "POST", "/api/v1/fields",
                    "{\"key\":\"city\",\"label\":\"City\",\"type\":\"text\"}", 201);
    pb_test_call_ok(&t, &owner, "POST", "/api/v1/fields",
                    "{\"key\":\"notes\",\"label\":\"Notes\",\"type\":\"text\"}", 201);
    pb_test_call_ok(
        &t, &owner, "POST", "/api/v1/fields",
        "{\"key\":\"secret\",\"label\":\"Secret\",\"type\":\"text\",\"sensitive\":true}", 201);
    pb_test_call_ok(&t, &owner, "POST", "/api/v1/fields",
                    "{\"key\":\"age\",\"label\":\"Age\",\"type\":\"number\"}", 201);
    make_list(&owner, "Export", list_id);
    make_list(&other_owner, "Elsewhere", other_list);

    char body[1024];
    struct member *m = members;
    /* A plain one with a sensitive value. */
    snprintf(body, sizeof(body),
             "{\"email\":\"jan@example.be\",\"lists\":[\"%s\"],"
             "\"fields\":{\"city\":\"Gent\",\"secret\":\"s3cret\",\"age\":42}}",
             list_id);
    make_contact(body, m->id);
    m->email = "jan@example.be";
    m->csv = "42,Gent,,s3cret";
    m->json = "{\"age\":\"42\",\"city\":\"Gent\",\"secret\":\"s3cret\"}";
    m++;
    /* A formula, and a value with a comma and quotes. */
    snprintf(body, sizeof(body),
             "{\"email\":\"inject@example.be\",\"lists\":[\"%s\"],"
             "\"fields\":{\"city\":\"=HYPERLINK(\\\"http://x\\\")\","
             "\"notes\":\"Peeters, \\\"Jan\\\"\"}}",
             list_id);
    make_contact(body, m->id);
    m->email = "inject@example.be";
    m->csv = ",\"'=HYPERLINK(\"\"http://x\"\")\",\"Peeters, \"\"Jan\"\"\",";
    m->json = "{\"city\":\"=HYPERLINK(\\\"http://x\\\")\",\"notes\":\"Peeters, \\\"Jan\\\"\"}";
    m++;
    /* No values at all. */
    snprintf(body, sizeof(body), "{\"email\":\"plain@example.be\",\"lists\":[\"%s\"]}", list_id);
    make_contact(body, m->id);
    m->email = "plain@example.be";
    m->csv = ",,,";
    m->json = "{}";
    m++;
    /* A negative number and a line break (stored behind the API's back: text refuses it). */
    snprintf(body, sizeof(body),
             "{\"email\":\"Break@Example.be\",\"lists\":[\"%s\"],\"fields\":{\"age\":-5}}",
             list_id);
    make_contact(body, m->id);
    tamper(m->id, "line 1\r\nline 2\n");
    m->email = "Break@example.be";
    m->csv = "'-5,,\"line 1\r\nline 2\n\",";
    m->json = "{\"age\":\"-5\",\"notes\":\"line 1\\r\\nline 2\\n\"}";

    /* Not shown: an erased member, an unsubscribed one, a contact outside the list. */
    char erased[PB_ID_LEN + 1], gone[PB_ID_LEN + 1], outside[PB_ID_LEN + 1], path[256];
    snprintf(body, sizeof(body),
             "{\"email\":\"erased@example.be\",\"lists\":[\"%s\"],\"fields\":{\"city\":\"X\"}}",
             list_id);
    make_contact(body, erased);
    tamper(erased, NULL);
    snprintf(body, sizeof(body), "{\"email\":\"gone@example.be\",\"lists\":[\"%s\"]}", list_id);
    make_contact(body, gone);
    snprintf(path, sizeof(path), "/api/v1/lists/%s/members/%s", list_id, gone);
    pb_test_call_ok(&t, &owner, "DELETE", path, NULL, 204);
    make_contact("{\"email\":\"outside@example.be\"}", outside);

    qsort(members, 4, sizeof(members[0]), member_cmp);
    for (int i = 0; i < 4; i++)
        created_at(members[i].id, members[i].created);

    struct pb_buf want;
    pb_buf_init(&want, 1 << 20);
    pb_buf_append_str(&want, "email,age,city,notes,secret\r\n");
    for (int i = 0; i < 4; i++)
        pb_buf_printf(&want, "%s,%s\r\n", members[i].email, members[i].csv);

    struct pb_http_reply r;
    snprintf(path, sizeof(path), "/api/v1/lists/%s/export", list_id);
    pb_test_call(&t, &owner, "GET", path, NULL, 200, &r);
    assert_text(r.body, want.data);
    char disposition[128];
    snprintf(disposition, sizeof(disposition), "attachment; filename=\"list-%s.csv\"", list_id);
    assert_header(&r, "Content-Type", "text/csv; charset=utf-8");
    assert_header(&r, "Content-Disposition", disposition);
    assert_header(&r, "Cache-Control", "no-store");
    assert_header(&r, "X-Content-Type-Options", "nosniff");
    /* Streamed: chunked, no length known up front. */
    assert_header(&r, "Transfer-Encoding", "chunked");
    char ignored[64];
    assert_false(pb_http_reply_header(&r, "Content-Length", ignored, sizeof(ignored)));
    pb_http_reply_free(&r);
    expect_audit(list_id, "csv", 4, true, owner_id);

    /* ?format=csv is the same; the admin sees sensitive values too. */
    snprintf(path, sizeof(path), "/api/v1/lists/%s/export?format=csv", list_id);
    pb_test_call(&t, &admin, "GET", path, NULL, 200, &r);
    assert_text(r.body, want.data);
    pb_http_reply_free(&r);
    expect_audit(list_id, "csv", 4, true, admin_id);

    /* JSON: an array of objects, one a line. */
    pb_buf_reset(&want);
    pb_buf_append_str(&want, "[");
    for (int i = 0; i < 4; i++)
        pb_buf_printf(
            &want, "%s\n{\"id\":\"%s\",\"email\":\"%s\",\"fields\":%s,\"created_at\":\"%s\"}",
            i > 0 ? "," : "", members[i].id, members[i].email, members[i].json, members[i].created);
    pb_buf_append_str(&want, "\n]\n");
    snprintf(path, sizeof(path), "/api/v1/lists/%s/export?format=json", list_id);
    pb_test_call(&t, &owner, "GET", path, NULL, 200, &r);
    assert_text(r.body, want.data);
    assert_non_null(r.json);
    assert_int_equal(json_array_size(r.json), 4);
    snprintf(disposition, sizeof(disposition), "attachment; filename=\"list-%s.json\"", list_id);
    assert_header(&r, "Content-Type", "application/json; charset=utf-8");
    assert_header(&r, "Content-Disposition", disposition);
    pb_http_reply_free(&r);
    expect_audit(list_id, "json", 4, true, owner_id);
    pb_buf_release(&want, 0);

    /* An empty list. */
    char empty[PB_ID_LEN + 1];
    make_list(&owner, "Empty", empty);
    snprintf(path, sizeof(path), "/api/v1/lists/%s/export?format=json", empty);
    pb_test_call(&t, &owner, "GET", path, NULL, 200, &r);
    assert_text(r.body, "[]\n");
    pb_http_reply_free(&r);
    snprintf(path, sizeof(path), "/api/v1/lists/%s/export", empty);
    pb_test_call(&t, &owner, "GET", path, NULL, 200, &r);
    assert_text(r.body, "email,age,city,notes,secret\r\n");
    pb_http_reply_free(&r);
    expect_audit(empty, "csv", 0, true, owner_id);
}

/* ---- who may export what ---- */

static void
refusals(void **state)
{
    (void)state;
    char path[256];
    int before = 0, after = 0;
    json_decref(newest_export_entry(&before));

    snprintf(path, sizeof(path), "/api/v1/lists/%s/export", list_id);
    pb_test_expect_error(&t, &author, "GET", path, NULL, 403, PB_ERR_FORBIDDEN, NULL);
    /* Another account's list, an unknown id, no id at all: no such list. */
    pb_test_expect_error(&t, &other_owner, "GET", path, NULL, 404, PB_ERR_NOT_FOUND, NULL);
    snprintf(path, sizeof(path), "/api/v1/lists/%s/export", other_list);
    pb_test_expect_error(&t, &owner, "GET", path, NULL, 404, PB_ERR_NOT_FOUND, NULL);
    pb_test_expect_error(&t, &owner, "GET", "/api/v1/lists/01ARZ3NDEKTSV4RRFFQ69G5FAV/export", NULL,
                         404, PB_ERR_NOT_FOUND, NULL);
    pb_test_expect_error(&t, &owner, "GET", "/api/v1/lists/not-an-id/export", NULL, 404,
                         PB_ERR_NOT_FOUND, NULL);
    /* Formats. */
    snprintf(path, sizeof(path), "/api/v1/lists/%s/export?format=xlsx", list_id);
    pb_test_expect_error(&t, &owner, "GET", path, NULL, 400, PB_ERR_BAD_REQUEST, "format");
    snprintf(path, sizeof(path), "/api/v1/lists/%s/export?format=", list_id);
    pb_test_expect_error(&t, &owner, "GET", path, NULL, 400, PB_ERR_BAD_REQUEST, "format");
    snprintf(path, sizeof(path), "/api/v1/lists/%s/export?format=CSV", list_id);
    pb_test_expect_error(&t, &owner, "GET", path, NULL, 400, PB_ERR_BAD_REQUEST, "format");
    /* Not logged in. */
    struct pb_http_client nobody;
    memset(&nobody, 0, sizeof(nobody));
    snprintf(path, sizeof(path), "/api/v1/lists/%s/export", list_id);
    pb_test_expect_error(&t, &nobody, "GET", path, NULL, 401, PB_ERR_UNAUTHENTICATED, NULL);

    /* HEAD: the headers of the download, no export. */
    struct pb_http_reply r;
    pb_test_call(&t, &owner, "HEAD", path, NULL, 200, &r);
    assert_header(&r, "Content-Type", "text/csv; charset=utf-8");
    pb_http_reply_free(&r);

    /* Nothing refused was exported. */
    json_decref(newest_export_entry(&after));
    assert_int_equal(after, before);
}

/* ---- what the model gives a caller without contacts.view_addresses ---- */

static void
masked_without_reveal(void **state)
{
    (void)state;
    struct pb_export_params p = {
        .account_id = acme_id,
        .list_id = list_id,
        .format = PB_EXPORT_CSV,
        .reveal = false,
        .actor = "test",
    };
    struct pb_export *x = NULL;
    assert_int_equal(pb_export_open(&t.app, &p, &x), PB_ERR_OK);
    struct pb_buf got;
    pb_buf_init(&got, 1 << 20);
    char buf[7]; /* small reads: rows cross them */
    size_t n;
    do {
        assert_int_equal(pb_export_read(x, buf, sizeof(buf), &n), PB_ERR_OK);
        pb_buf_append(&got, buf, n);
    } while (n > 0);
    int64_t rows = 0;
    bool complete = false;
    assert_int_equal(pb_export_close(x, &rows, &complete), PB_ERR_OK);
    assert_int_equal(rows, 4);
    assert_true(complete);
    /* No secret column, addresses masked. */
    struct pb_buf want;
    pb_buf_init(&want, 1 << 20);
    pb_buf_append_str(&want, "email,age,city,notes\r\n");
    for (int i = 0; i < 4; i++) {
        char masked[32];
        snprintf(masked, sizeof(masked), "%c***@***.be", members[i].email[0]);
        const char *rest = members[i].csv;
        const char *secret = strrchr(rest, ','); /* the last column */
        pb_buf_printf(&want, "%s,%.*s\r\n", masked, (int)(secret - rest), rest);
    }
    assert_text(got.data, want.data);
    pb_buf_release(&got, 1);
    pb_buf_release(&want, 0);
    expect_audit(list_id, "csv", 4, true, NULL);

    /* Unknown or another account's list: not found, nothing recorded. */
    p.list_id = other_list;
    assert_int_equal(pb_export_open(&t.app, &p, &x), PB_ERR_NOT_FOUND);
    p.list_id = "nope";
    assert_int_equal(pb_export_open(&t.app, &p, &x), PB_ERR_NOT_FOUND);
}

/* ---- a list larger than a batch ---- */

static char big_ids[BIG][PB_ID_LEN + 1];
static char big_sorted[BIG][PB_ID_LEN + 1];

static int
id_cmp(const void *a, const void *b)
{
    return strcmp(a, b);
}

/* The notes of big contact `i`: 1000 bytes, its number at the end. */
static void
big_notes(int i, char out[1001])
{
    memset(out, 'n', 1000);
    snprintf(out + 995, 6, "%05d", i);
}

/* Its secret: 1000 characters in 1995 bytes ("é" is two), its number at the end. */
static void
big_secret(int i, char out[2001])
{
    for (int k = 0; k < 995; k++)
        memcpy(out + 2 * k, "\xC3\xA9", 2);
    snprintf(out + 1990, 6, "%05d", i);
}

/* The number big contact `id` was made with. */
static int
big_number(const char *id)
{
    for (int i = 0; i < BIG; i++)
        if (strcmp(big_ids[i], id) == 0)
            return i;
    fail_msg("%s is not a big contact", id);
    return -1;
}

/* Whether sorted position `s` is erased: the last of the first 500 and the first after. */
static bool
big_erased(int s)
{
    return s == PB_EXPORT_BATCH - 1 || s == PB_EXPORT_BATCH;
}

/* Reads a whole export through the model in small pieces. */
static void
read_all(struct pb_export *x, struct pb_buf *out)
{
    char buf[4093]; /* rows and batches cross reads */
    size_t n;
    do {
        assert_int_equal(pb_export_read(x, buf, sizeof(buf), &n), PB_ERR_OK);
        assert_int_equal(pb_buf_append(out, buf, n), PB_ERR_OK);
    } while (n > 0);
}

static void
big_list_crosses_batches(void **state)
{
    (void)state;
    make_list(&owner, "Big", big_list);
    struct pb_principal who;
    memset(&who, 0, sizeof(who));
    pb_strlcpy(who.account_id, acme_id, sizeof(who.account_id));
    pb_strlcpy(who.user_id, owner_id, sizeof(who.user_id));
    who.role = PB_ROLE_OWNER;
    struct pb_consent_origin origin = {.channel = "api", .actor = "test"};
    for (int i = 0; i < BIG; i++) {
        char email[64], notes[1001], secret[2001];
        snprintf(email, sizeof(email), "big%05d@example.be", i);
        big_notes(i, notes);
        big_secret(i, secret);
        struct pb_contact_new in;
        memset(&in, 0, sizeof(in));
        in.email = email;
        in.fields = json_pack("{s:s, s:s, s:i}", "notes", notes, "secret", secret, "age", i);
        in.list_ids[0] = big_list;
        in.list_count = 1;
        const char *field = NULL;
        char why[PB_WHY_MAX] = "";
        enum pb_err err = pb_contact_create(&t.app, &who, &in, &origin, big_ids[i], &field, why);
        json_decref(in.fields);
        if (err != PB_ERR_OK)
            fail_msg("contact %d: %s (%s)", i, pb_err_hint(err), why);
    }
    memcpy(big_sorted, big_ids, sizeof(big_sorted));
    qsort(big_sorted, BIG, sizeof(big_sorted[0]), id_cmp);
    for (int s = 0; s < BIG; s++)
        if (big_erased(s))
            tamper(big_sorted[s], NULL);

    /*
     * Without the secret column (reveal off) a batch of 500 rows fits the
     * export's buffer: batches end where the store's pages of 500 end, and
     * the two erased contacts sit on that boundary.
     */
    struct pb_buf want, got;
    pb_buf_init(&want, 8 << 20);
    pb_buf_init(&got, 8 << 20);
    pb_buf_append_str(&want, "email,age,city,notes\r\n");
    for (int s = 0; s < BIG; s++) {
        if (big_erased(s))
            continue;
        int i = big_number(big_sorted[s]);
        char notes[1001];
        big_notes(i, notes);
        pb_buf_printf(&want, "b***@***.be,%d,,%s\r\n", i, notes);
    }
    assert_true(want.len / (BIG - 2) * PB_EXPORT_BATCH < 1024 * 1024);
    struct pb_export_params p = {.account_id = acme_id,
                                 .list_id = big_list,
                                 .format = PB_EXPORT_CSV,
                                 .reveal = false,
                                 .actor = "test"};
    struct pb_export *x = NULL;
    assert_int_equal(pb_export_open(&t.app, &p, &x), PB_ERR_OK);
    read_all(x, &got);
    int64_t rows = 0;
    bool complete = false;
    assert_int_equal(pb_export_close(x, &rows, &complete), PB_ERR_OK);
    assert_int_equal(rows, BIG - 2);
    assert_true(complete);
    assert_int_equal(got.len, want.len);
    assert_text(got.data, want.data);
    expect_audit(big_list, "csv", BIG - 2, true, NULL);

    /*
     * With it, 500 rows no longer fit: a batch ends where the buffer is
     * full and the next starts after the last row rendered. The whole CSV,
     * exactly.
     */
    pb_buf_reset(&want);
    pb_buf_append_str(&want, "email,age,city,notes,secret\r\n");
    for (int s = 0; s < BIG; s++) {
        if (big_erased(s))
            continue;
        int i = big_number(big_sorted[s]);
        char notes[1001], secret[2001];
        big_notes(i, notes);
        big_secret(i, secret);
        pb_buf_printf(&want, "big%05d@example.be,%d,,%s,%s\r\n", i, i, notes, secret);
    }
    assert_true(want.len / (BIG - 2) * PB_EXPORT_BATCH > 1024 * 1024);
    char path[256];
    struct pb_http_reply r;
    snprintf(path, sizeof(path), "/api/v1/lists/%s/export", big_list);
    pb_test_call(&t, &admin, "GET", path, NULL, 200, &r);
    assert_int_equal(strlen(r.body), want.len);
    assert_text(r.body, want.data);
    pb_http_reply_free(&r);
    pb_buf_release(&want, 0);
    pb_buf_release(&got, 1);
    expect_audit(big_list, "csv", BIG - 2, true, admin_id);

    /* JSON: every member once, in id order, sealed values opened. */
    snprintf(path, sizeof(path), "/api/v1/lists/%s/export?format=json", big_list);
    pb_test_call(&t, &owner, "GET", path, NULL, 200, &r);
    assert_non_null(r.json);
    assert_int_equal(json_array_size(r.json), BIG - 2);
    int s = 0;
    size_t k;
    json_t *item;
    json_array_foreach(r.json, k, item)
    {
        while (big_erased(s))
            s++;
        const char *id = json_string_value(json_object_get(item, "id"));
        assert_non_null(id);
        assert_string_equal(id, big_sorted[s]);
        int i = big_number(id);
        char email[64], notes[1001], secret[2001], age[16];
        snprintf(email, sizeof(email), "big%05d@example.be", i);
        big_notes(i, notes);
        big_secret(i, secret);
        snprintf(age, sizeof(age), "%d", i);
        json_t *fields = json_object_get(item, "fields");
        assert_string_equal(json_string_value(json_object_get(item, "email")), email);
        assert_string_equal(json_string_value(json_object_get(fields, "notes")), notes);
        assert_string_equal(json_string_value(json_object_get(fields, "secret")), secret);
        assert_string_equal(json_string_value(json_object_get(fields, "age")), age);
        assert_int_equal(json_object_size(fields), 3);
        s++;
    }
    pb_http_reply_free(&r);
    expect_audit(big_list, "json", BIG - 2, true, owner_id);
}

/* ---- a client that goes away ---- */

/* Takes the first piece of the body, then hangs up. */
static size_t
hang_up(char *ptr, size_t size, size_t n, void *user)
{
    (void)ptr;
    *(size_t *)user += size * n;
    return 0;
}

static void
client_goes_away(void **state)
{
    (void)state;
    int before = 0, after = 0;
    json_decref(newest_export_entry(&before));
    char url[256], cookie[300];
    snprintf(url, sizeof(url), "%s/api/v1/lists/%s/export", t.base_url, big_list);
    snprintf(cookie, sizeof(cookie), "%s", owner.cookie);
    size_t got = 0;
    CURL *curl = curl_easy_init();
    curl_easy_setopt(curl, CURLOPT_URL, url);
    curl_easy_setopt(curl, CURLOPT_CAINFO, t.config.tls_cert);
    curl_easy_setopt(curl, CURLOPT_COOKIE, cookie);
    curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, hang_up);
    curl_easy_setopt(curl, CURLOPT_WRITEDATA, &got);
    curl_easy_setopt(curl, CURLOPT_TIMEOUT, 30L);
    CURLcode rc = curl_easy_perform(curl);
    curl_easy_cleanup(curl);
    assert_int_equal(rc, CURLE_WRITE_ERROR);
    assert_true(got > 0);

    /* The server notices on its next write; the entry follows shortly. */
    after = before;
    for (int i = 0; i < 200 && after == before; i++) {
        json_decref(newest_export_entry(&after));
        if (after == before)
            usleep(50 * 1000);
    }
    assert_int_equal(after, before + 1);
    json_t *e = newest_export_entry(NULL);
    json_t *d = json_object_get(e, "detail");
    assert_string_equal(json_string_value(json_object_get(d, "list_id")), big_list);
    assert_true(json_is_false(json_object_get(d, "complete")));
    json_int_t rows = json_integer_value(json_object_get(d, "rows"));
    assert_true(rows >= 0 && rows < BIG - 2);
    assert_string_equal(json_string_value(json_object_get(e, "actor_user_id")), owner_id);
    json_decref(e);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(small_list_exports_exactly), cmocka_unit_test(refusals),
        cmocka_unit_test(masked_without_reveal),      cmocka_unit_test(big_list_crosses_batches),
        cmocka_unit_test(client_goes_away),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
