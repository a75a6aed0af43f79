/*
 * Fields, lists, contacts, consent statements, evidence images and the
 * consent log through the real server: CRUD and bad input naming the field,
 * consent required on public lists with nothing written when refused, the
 * history of one address, keyset pagination, masking for authors on every
 * contact-returning endpoint, evidence checked by content and served back
 * byte-identical, the hash chain, subject access, and sensitive values and
 * addresses absent from the raw SQLite files. Runs on SQLite, or on
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

#include <curl/curl.h>
#include <jansson.h>

#include "core/err.h"
#include "core/id.h"
#include "core/strutil.h"
#include "support/calls.h"
#include "support/png.h"
#include "support/testapp.h"

#define PASSWORD "Copper-Meadow-Signal-417"

static struct pb_testapp t;

/* The main account (enterprise) with an owner and an author; another account and its owner. */
static char acme_id[32], owner_id[32], author_id[32], other_id[32], other_owner_id[32];
static struct pb_http_client owner, author, other_owner;

/* Lists made by lists_crud and used later. */
static char public_list[PB_ID_LEN + 1], private_list[PB_ID_LEN + 1], other_list[PB_ID_LEN + 1];

/* ---- helpers ---- */

/* A string member of the reply (asserted present), copied into `out`. */
static void
get_string(const struct pb_http_reply *r, const char *key, char *out, size_t size)
{
    const char *s = json_string_value(json_object_get(r->json, key));
    if (s == NULL)
        fail_msg("no \"%s\" in %s", key, r->body);
    pb_strlcpy(out, s, size);
}

/* POST a new list; its id into `id`. */
static void
make_list(struct pb_http_client *c, const char *name, bool is_public, char id[PB_ID_LEN + 1])
{
    char body[256];
    struct pb_http_reply r;
    snprintf(body, sizeof(body), "{\"name\":\"%s\",\"public\":%s}", name,
             is_public ? "true" : "false");
    pb_test_call(&t, c, "POST", "/api/v1/lists", body, 201, &r);
    get_string(&r, "id", id, PB_ID_LEN + 1);
    assert_true(pb_id_valid(id));
    pb_http_reply_free(&r);
}

/* POST /contacts with `body`, expecting 201; the new contact's id into `id`. */
static void
make_contact(struct pb_http_client *c, const char *body, char id[PB_ID_LEN + 1])
{
    struct pb_http_reply r;
    pb_test_call(&t, c, "POST", "/api/v1/contacts", body, 201, &r);
    get_string(&r, "id", id, PB_ID_LEN + 1);
    assert_true(pb_id_valid(id));
    pb_http_reply_free(&r);
}

/* The member_count of a list as GET /lists/{id} shows it. */
static long
member_count(struct pb_http_client *c, const char *list_id)
{
    char path[128];
    struct pb_http_reply r;
    snprintf(path, sizeof(path), "/api/v1/lists/%s", list_id);
    pb_test_call(&t, c, "GET", path, NULL, 200, &r);
    json_t *n = json_object_get(r.json, "member_count");
    if (!json_is_integer(n))
        fail_msg("no member_count in %s", r.body);
    long count = (long)json_integer_value(n);
    pb_http_reply_free(&r);
    return count;
}

/* Whether GET /contacts/search finds `email` (as the owner). */
static bool
found(const char *email)
{
    char path[256];
    struct pb_http_reply r;
    snprintf(path, sizeof(path), "/api/v1/contacts/search?email=%s", email);
    pb_test_call(&t, &owner, "GET", path, NULL, 200, &r);
    json_t *f = json_object_get(r.json, "found");
    assert_true(json_is_boolean(f));
    bool yes = json_is_true(f);
    pb_http_reply_free(&r);
    return yes;
}

/* Somewhere in `json`, an object whose `key` is the string `value`, or NULL. */
static json_t *
find_object(json_t *json, const char *key, const char *value)
{
    if (json_is_object(json)) {
        const char *s = json_string_value(json_object_get(json, key));
        if (s != NULL && strcmp(s, value) == 0)
            return json;
        const char *k;
        json_t *v;
        json_object_foreach(json, k, v)
        {
            json_t *hit = find_object(v, key, value);
            if (hit != NULL)
                return hit;
        }
    } else if (json_is_array(json)) {
        size_t i;
        json_t *v;
        json_array_foreach(json, i, v)
        {
            json_t *hit = find_object(v, key, value);
            if (hit != NULL)
                return hit;
        }
    }
    return NULL;
}

/* Objects in `json` whose `key` is the string `value`. */
static int
count_objects(json_t *json, const char *key, const char *value)
{
    int n = 0;
    if (json_is_object(json)) {
        const char *s = json_string_value(json_object_get(json, key));
        if (s != NULL && strcmp(s, value) == 0)
            n++;
        const char *k;
        json_t *v;
        json_object_foreach(json, k, v) n += count_objects(v, key, value);
    } else if (json_is_array(json)) {
        size_t i;
        json_t *v;
        json_array_foreach(json, i, v) n += count_objects(v, key, value);
    }
    return n;
}

/* ---- raw bodies (evidence images) ---- */

struct raw_reply {
    struct pb_http_reply r; /* status and headers; body and json unused */
    unsigned char *data;
    size_t len;
};

static size_t
raw_on_body(char *ptr, size_t size, size_t n, void *user)
{
    struct raw_reply *out = user;
    size_t add = size * n;
    unsigned char *p = realloc(out->data, out->len + add + 1);
    if (p == NULL)
        return 0;
    memcpy(p + out->len, ptr, add);
    out->data = p;
    out->len += add;
    out->data[out->len] = '\0';
    return add;
}

static size_t
raw_on_header(char *ptr, size_t size, size_t n, void *user)
{
    struct raw_reply *out = user;
    size_t add = size * n, have = strlen(out->r.headers);
    if (have + add < sizeof(out->r.headers)) {
        memcpy(out->r.headers + have, ptr, add);
        out->r.headers[have + add] = '\0';
    }
    return add;
}

/*
 * A request with a binary body (`data` NULL: none) of `content_type`. A
 * transfer cut off by the server after its answer (a refused large body) is
 * not an error when the status came.
 */
static long
raw_http_with(struct pb_http_client *c, const char *method, const char *path,
              const char *content_type, const void *data, size_t len, const char *extra,
              struct raw_reply *out)
{
    memset(out, 0, sizeof(*out));
    CURL *curl = curl_easy_init();
    assert_non_null(curl);
    struct curl_slist *headers = NULL;
    char url[1024], line[512];
    snprintf(url, sizeof(url), "%s%s", t.base_url, path);
    curl_easy_setopt(curl, CURLOPT_URL, url);
    curl_easy_setopt(curl, CURLOPT_CAINFO, t.config.tls_cert);
    curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, method);
    if (data != NULL) {
        curl_easy_setopt(curl, CURLOPT_POSTFIELDS, data);
        curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
        snprintf(line, sizeof(line), "Content-Type: %s", content_type);
        headers = curl_slist_append(headers, line);
    }
    if (c->cookie[0] != '\0')
        curl_easy_setopt(curl, CURLOPT_COOKIE, c->cookie);
    if (c->csrf[0] != '\0') {
        snprintf(line, sizeof(line), "X-CSRF-Token: %s", c->csrf);
        headers = curl_slist_append(headers, line);
    }
    if (c->bearer[0] != '\0') {
        snprintf(line, sizeof(line), "Authorization: Bearer %s", c->bearer);
        headers = curl_slist_append(headers, line);
    }
    if (extra != NULL)
        headers = curl_slist_append(headers, extra);
    curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, raw_on_body);
    curl_easy_setopt(curl, CURLOPT_WRITEDATA, out);
    curl_easy_setopt(curl, CURLOPT_HEADERFUNCTION, raw_on_header);
    curl_easy_setopt(curl, CURLOPT_HEADERDATA, out);
    curl_easy_setopt(curl, CURLOPT_TIMEOUT, 60L);
    CURLcode rc = curl_easy_perform(curl);
    curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &out->r.status);
    curl_slist_free_all(headers);
    curl_easy_cleanup(curl);
    if (rc != CURLE_OK && out->r.status == 0)
        fail_msg("%s %s: %s", method, path, curl_easy_strerror(rc));
    if (out->data == NULL) {
        out->data = calloc(1, 1);
        assert_non_null(out->data);
    }
    return out->r.status;
}

static long
raw_http(struct pb_http_client *c, const char *method, const char *path, const char *content_type,
         const void *data, size_t len, struct raw_reply *out)
{
    return raw_http_with(c, method, path, content_type, data, len, NULL, out);
}

static void
raw_free(struct raw_reply *r)
{
    free(r->data);
    r->data = NULL;
}

/* POST /evidence with a PNG of `shade` as `c`, expecting `status`; the id into `id`. */
static void
upload_png(struct pb_http_client *c, unsigned char shade, long status, char id[PB_ID_LEN + 1])
{
    struct pb_test_png png;
    pb_test_png_make(&png, shade);
    struct raw_reply r;
    raw_http(c, "POST", "/api/v1/evidence", "image/png", png.p, png.n, &r);
    if (r.r.status != status)
        fail_msg("POST /evidence: expected %ld, got %ld: %s", status, r.r.status, r.data);
    json_t *json = json_loads((const char *)r.data, 0, NULL);
    assert_non_null(json);
    const char *got = json_string_value(json_object_get(json, "id"));
    assert_non_null(got);
    assert_true(pb_id_valid(got));
    pb_strlcpy(id, got, PB_ID_LEN + 1);
    assert_string_equal(json_string_value(json_object_get(json, "type")), "image/png");
    assert_int_equal(json_integer_value(json_object_get(json, "size")), png.n);
    const char *sha = json_string_value(json_object_get(json, "sha256"));
    assert_non_null(sha);
    assert_int_equal(strlen(sha), 64);
    json_decref(json);
    raw_free(&r);
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
    pb_testapp_user(&t, acme_id, "author@acme.example.org", "author", PASSWORD, author_id);
    pb_testapp_account(&t, "Other", "enterprise", other_id);
    pb_testapp_user(&t, other_id, "owner@other.example.org", "owner", PASSWORD, other_owner_id);
    pb_test_login(&t, &owner, "owner@acme.example.org", PASSWORD);
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

/* ---- fields ---- */

static void
fields_crud(void **state)
{
    (void)state;
    struct pb_http_reply r;
    pb_test_call(&t, &owner, "POST", "/api/v1/fields",
                 "{\"key\":\"city\",\"label\":\"City\",\"type\":\"text\"}", 201, &r);
    assert_string_equal(json_string_value(json_object_get(r.json, "key")), "city");
    assert_string_equal(json_string_value(json_object_get(r.json, "label")), "City");
    assert_string_equal(json_string_value(json_object_get(r.json, "type")), "text");
    assert_true(json_is_false(json_object_get(r.json, "sensitive")));
    assert_true(json_is_string(json_object_get(r.json, "created_at")));
    pb_http_reply_free(&r);

    pb_test_call_ok(&t, &owner, "POST", "/api/v1/fields",
                    "{\"key\":\"age\",\"label\":\"Age\",\"type\":\"number\"}", 201);
    pb_test_call_ok(&t, &owner, "POST", "/api/v1/fields",
                    "{\"key\":\"birthday\",\"label\":\"Birthday\",\"type\":\"date\"}", 201);
    pb_test_call_ok(&t, &owner, "POST", "/api/v1/fields",
                    "{\"key\":\"vip\",\"label\":\"VIP\",\"type\":\"bool\"}", 201);
    pb_test_call(
        &t, &owner, "POST", "/api/v1/fields",
        "{\"key\":\"health\",\"label\":\"Health note\",\"type\":\"text\",\"sensitive\":true}", 201,
        &r);
    assert_true(json_is_true(json_object_get(r.json, "sensitive")));
    pb_http_reply_free(&r);

    /* Bad input, each naming its field. */
    pb_test_expect_error(&t, &owner, "POST", "/api/v1/fields",
                         "{\"key\":\"9lives\",\"label\":\"X\",\"type\":\"text\"}", 422, 0, "key");
    pb_test_expect_error(&t, &owner, "POST", "/api/v1/fields",
                         "{\"key\":\"Bad-Key\",\"label\":\"X\",\"type\":\"text\"}", 422, 0, "key");
    pb_test_expect_error(&t, &owner, "POST", "/api/v1/fields",
                         "{\"key\":\"email\",\"label\":\"X\",\"type\":\"text\"}", 422, 0, "key");
    pb_test_expect_error(&t, &owner, "POST", "/api/v1/fields",
                         "{\"key\":\"colour\",\"label\":\"X\",\"type\":\"colour\"}", 422, 0,
                         "type");
    pb_test_expect_error(&t, &owner, "POST", "/api/v1/fields",
                         "{\"key\":\"city\",\"label\":\"X\",\"type\":\"text\"}", 409,
                         PB_ERR_CONFLICT, "key");
    pb_test_expect_error(&t, &owner, "POST", "/api/v1/fields", "{\"key\":\"x\",\"type\":\"text\"}",
                         400, PB_ERR_MISSING_FIELD, "label");
    pb_test_expect_error(&t, &owner, "POST", "/api/v1/fields",
                         "{\"key\":\"x\",\"label\":\"X\",\"type\":\"text\",\"extra\":1}", 400,
                         PB_ERR_UNKNOWN_FIELD, "extra");
    char long_key[200];
    memset(long_key, 'k', 100);
    long_key[100] = '\0';
    char body[400];
    snprintf(body, sizeof(body), "{\"key\":\"%s\",\"label\":\"X\",\"type\":\"text\"}", long_key);
    pb_test_expect_error(&t, &owner, "POST", "/api/v1/fields", body, 422, 0, "key");

    /* Update, list, delete. */
    pb_test_call(&t, &owner, "PATCH", "/api/v1/fields/city", "{\"label\":\"Town\"}", 200, &r);
    assert_string_equal(json_string_value(json_object_get(r.json, "label")), "Town");
    assert_true(json_is_false(json_object_get(r.json, "sensitive")));
    pb_http_reply_free(&r);
    pb_test_expect_error(&t, &owner, "PATCH", "/api/v1/fields/nosuch", "{\"label\":\"X\"}", 404,
                         PB_ERR_NOT_FOUND, NULL);
    pb_test_call_ok(&t, &owner, "POST", "/api/v1/fields",
                    "{\"key\":\"tmp\",\"label\":\"Tmp\",\"type\":\"text\"}", 201);
    pb_test_call_ok(&t, &owner, "DELETE", "/api/v1/fields/tmp", NULL, 204);
    pb_test_expect_error(&t, &owner, "DELETE", "/api/v1/fields/tmp", NULL, 404, PB_ERR_NOT_FOUND,
                         NULL);

    pb_test_call(&t, &owner, "GET", "/api/v1/fields", NULL, 200, &r);
    json_t *items = json_object_get(r.json, "items");
    assert_true(json_is_array(items));
    assert_int_equal(json_array_size(items), 5);
    assert_true(json_is_null(json_object_get(r.json, "next_cursor")));
    assert_non_null(find_object(items, "key", "health"));
    assert_null(find_object(items, "key", "tmp"));
    pb_http_reply_free(&r);
    /* Another account has none of them; authors may read the definitions but not change them. */
    pb_test_call(&t, &other_owner, "GET", "/api/v1/fields", NULL, 200, &r);
    assert_int_equal(json_array_size(json_object_get(r.json, "items")), 0);
    pb_http_reply_free(&r);
    pb_test_call_ok(&t, &author, "GET", "/api/v1/fields", NULL, 200);
    pb_test_expect_error(&t, &author, "POST", "/api/v1/fields",
                         "{\"key\":\"a\",\"label\":\"A\",\"type\":\"text\"}", 403, PB_ERR_FORBIDDEN,
                         NULL);
}

/* ---- lists ---- */

static void
lists_crud(void **state)
{
    (void)state;
    struct pb_http_reply r;
    pb_test_call(&t, &owner, "POST", "/api/v1/lists",
                 "{\"name\":\"Newsletter\",\"public\":true,\"description\":\"Monthly news\"}", 201,
                 &r);
    get_string(&r, "id", public_list, sizeof(public_list));
    assert_string_equal(json_string_value(json_object_get(r.json, "name")), "Newsletter");
    assert_string_equal(json_string_value(json_object_get(r.json, "description")), "Monthly news");
    assert_true(json_is_true(json_object_get(r.json, "public")));
    assert_int_equal(json_integer_value(json_object_get(r.json, "member_count")), 0);
    pb_http_reply_free(&r);
    make_list(&owner, "Staff", false, private_list);
    make_list(&other_owner, "Theirs", true, other_list);

    char path[128];
    snprintf(path, sizeof(path), "/api/v1/lists/%s", private_list);
    pb_test_call(&t, &owner, "PATCH", path, "{\"name\":\"Team\",\"description\":\"Internal\"}", 200,
                 &r);
    assert_string_equal(json_string_value(json_object_get(r.json, "name")), "Team");
    assert_true(json_is_false(json_object_get(r.json, "public")));
    pb_http_reply_free(&r);
    pb_test_call(&t, &owner, "GET", path, NULL, 200, &r);
    assert_string_equal(json_string_value(json_object_get(r.json, "description")), "Internal");
    pb_http_reply_free(&r);

    pb_test_expect_error(&t, &owner, "POST", "/api/v1/lists", "{\"name\":\"\",\"public\":true}",
                         422, 0, "name");
    pb_test_expect_error(&t, &owner, "POST", "/api/v1/lists", "{\"name\":\"X\"}", 400,
                         PB_ERR_MISSING_FIELD, "public");
    pb_test_expect_error(&t, &owner, "POST", "/api/v1/lists", "{\"name\":\"X\",\"public\":\"yes\"}",
                         400, PB_ERR_WRONG_TYPE, "public");

    /* Delete, and another account's list is not there. */
    char tmp[PB_ID_LEN + 1];
    make_list(&owner, "Temporary", false, tmp);
    snprintf(path, sizeof(path), "/api/v1/lists/%s", tmp);
    pb_test_call_ok(&t, &owner, "DELETE", path, NULL, 204);
    pb_test_expect_error(&t, &owner, "GET", path, NULL, 404, PB_ERR_NOT_FOUND, NULL);
    snprintf(path, sizeof(path), "/api/v1/lists/%s", other_list);
    pb_test_expect_error(&t, &owner, "GET", path, NULL, 404, PB_ERR_NOT_FOUND, NULL);
    pb_test_expect_error(&t, &owner, "PATCH", path, "{\"name\":\"Mine\"}", 404, PB_ERR_NOT_FOUND,
                         NULL);
    pb_test_expect_error(&t, &owner, "DELETE", path, NULL, 404, PB_ERR_NOT_FOUND, NULL);
    pb_test_expect_error(&t, &owner, "GET", "/api/v1/lists/not-an-id", NULL, 404, PB_ERR_NOT_FOUND,
                         NULL);

    /* Paged: limit 1 gives the two lists on two pages. */
    pb_test_call(&t, &owner, "GET", "/api/v1/lists?limit=1", NULL, 200, &r);
    assert_int_equal(json_array_size(json_object_get(r.json, "items")), 1);
    char cursor[PB_ID_LEN + 1];
    get_string(&r, "next_cursor", cursor, sizeof(cursor));
    pb_http_reply_free(&r);
    snprintf(path, sizeof(path), "/api/v1/lists?limit=1&cursor=%s", cursor);
    pb_test_call(&t, &owner, "GET", path, NULL, 200, &r);
    assert_int_equal(json_array_size(json_object_get(r.json, "items")), 1);
    pb_http_reply_free(&r);
    pb_test_call(&t, &owner, "GET", "/api/v1/lists", NULL, 200, &r);
    assert_int_equal(json_array_size(json_object_get(r.json, "items")), 2);
    assert_true(json_is_null(json_object_get(r.json, "next_cursor")));
    assert_null(find_object(r.json, "id", other_list));
    pb_http_reply_free(&r);
}

/* ---- contacts and consent ---- */

static void
contacts_need_consent(void **state)
{
    (void)state;
    char body[1024], id[PB_ID_LEN + 1];

    /* A public list without a statement: refused, nothing written. */
    snprintf(body, sizeof(body), "{\"email\":\"jan@example.be\",\"lists\":[\"%s\"]}", public_list);
    pb_test_expect_error(&t, &owner, "POST", "/api/v1/contacts", body, 422, PB_ERR_CONSENT_REQUIRED,
                         "consent");
    assert_false(found("jan@example.be"));
    assert_int_equal(member_count(&owner, public_list), 0);

    /* With an inline statement. */
    snprintf(body, sizeof(body),
             "{\"email\":\"jan@example.be\",\"lists\":[\"%s\"],\"fields\":{\"city\":\"Gent\"},"
             "\"consent\":{\"basis\":\"consent\",\"description\":\"Signed up at the fair 2026\"}}",
             public_list);
    struct pb_http_reply r;
    pb_test_call(&t, &owner, "POST", "/api/v1/contacts", body, 201, &r);
    get_string(&r, "id", id, sizeof(id));
    assert_string_equal(json_string_value(json_object_get(r.json, "email")), "jan@example.be");
    pb_http_reply_free(&r);
    assert_true(found("jan@example.be"));
    assert_int_equal(member_count(&owner, public_list), 1);

    /* Its history: added and subscribed, with the statement. */
    pb_test_call(&t, &owner, "GET", "/api/v1/consent?email=jan@example.be", NULL, 200, &r);
    if (find_object(r.json, "type", "added") == NULL ||
        find_object(r.json, "type", "subscribed") == NULL)
        fail_msg("no added and subscribed events in %s", r.body);
    json_t *st = find_object(r.json, "description", "Signed up at the fair 2026");
    if (st == NULL || strcmp(json_string_value(json_object_get(st, "basis")), "consent") != 0)
        fail_msg("no statement in %s", r.body);
    /* The subscription names that statement, the API channel and the user. */
    json_t *sub = find_object(json_object_get(r.json, "events"), "type", "subscribed");
    const char *sid = json_string_value(json_object_get(sub, "statement_id"));
    assert_non_null(sid);
    assert_string_equal(json_string_value(json_object_get(st, "id")), sid);
    assert_string_equal(json_string_value(json_object_get(sub, "list_id")), public_list);
    assert_string_equal(json_string_value(json_object_get(sub, "channel")), "api");
    char actor[64];
    snprintf(actor, sizeof(actor), "user:%s", owner_id);
    assert_string_equal(json_string_value(json_object_get(sub, "actor")), actor);
    assert_non_null(strstr(r.body, "jan@example.be"));
    pb_http_reply_free(&r);
    pb_test_call(&t, &owner, "GET", "/api/v1/consent?email=nobody@example.be", NULL, 200, &r);
    assert_true(json_is_false(json_object_get(r.json, "found")));
    pb_http_reply_free(&r);
    pb_test_expect_error(&t, &owner, "GET", "/api/v1/consent", NULL, 400, 0, "email");

    /* A statement made once, reused by id. */
    pb_test_call(&t, &owner, "POST", "/api/v1/consent-statements",
                 "{\"basis\":\"contract\",\"description\":\"Customers of the web shop\"}", 201, &r);
    char statement[PB_ID_LEN + 1];
    get_string(&r, "id", statement, sizeof(statement));
    assert_string_equal(json_string_value(json_object_get(r.json, "basis")), "contract");
    assert_int_equal(json_array_size(json_object_get(r.json, "evidence_ids")), 0);
    pb_http_reply_free(&r);
    snprintf(
        body, sizeof(body),
        "{\"email\":\"piet@example.be\",\"lists\":[\"%s\"],\"consent\":{\"statement_id\":\"%s\"}}",
        public_list, statement);
    make_contact(&owner, body, id);
    pb_test_call(&t, &owner, "GET", "/api/v1/consent?email=piet@example.be", NULL, 200, &r);
    if (find_object(r.json, "description", "Customers of the web shop") == NULL)
        fail_msg("the reused statement is not in %s", r.body);
    pb_http_reply_free(&r);
    assert_int_equal(member_count(&owner, public_list), 2);

    /* Statements: bad basis, unknown id, another account's id. */
    pb_test_expect_error(&t, &owner, "POST", "/api/v1/consent-statements",
                         "{\"basis\":\"because\",\"description\":\"x\"}", 422, 0, "basis");
    pb_test_expect_error(&t, &owner, "POST", "/api/v1/consent-statements",
                         "{\"basis\":\"consent\"}", 400, PB_ERR_MISSING_FIELD, "description");
    snprintf(
        body, sizeof(body),
        "{\"email\":\"kees@example.be\",\"lists\":[\"%s\"],\"consent\":{\"statement_id\":\"%s\"}}",
        public_list, "01HZZZZZZZZZZZZZZZZZZZZZZZ");
    pb_test_expect_error(&t, &owner, "POST", "/api/v1/contacts", body, 404, PB_ERR_NOT_FOUND,
                         "consent.statement_id");
    assert_false(found("kees@example.be"));

    /* A private list needs no statement. */
    snprintf(body, sizeof(body), "{\"email\":\"intern@example.be\",\"lists\":[\"%s\"]}",
             private_list);
    make_contact(&owner, body, id);
    assert_int_equal(member_count(&owner, private_list), 1);
}

static void
contacts_bad_input(void **state)
{
    (void)state;
    char body[1024];
    pb_test_expect_error(&t, &owner, "POST", "/api/v1/contacts",
                         "{\"email\":\"a@example.be\",\"fields\":{\"x\":\"1\"}}", 422, 0,
                         "fields.x");
    pb_test_expect_error(&t, &owner, "POST", "/api/v1/contacts",
                         "{\"email\":\"a@example.be\",\"fields\":{\"age\":\"abc\"}}", 422, 0,
                         "fields.age");
    pb_test_expect_error(&t, &owner, "POST", "/api/v1/contacts",
                         "{\"email\":\"a@example.be\",\"fields\":{\"birthday\":\"2026-13-40\"}}",
                         422, 0, "fields.birthday");
    pb_test_expect_error(&t, &owner, "POST", "/api/v1/contacts",
                         "{\"email\":\"a@example.be\",\"fields\":{\"vip\":\"maybe\"}}", 422, 0,
                         "fields.vip");
    pb_test_expect_error(&t, &owner, "POST", "/api/v1/contacts", "{\"email\":\"not an address\"}",
                         422, PB_ERR_EMAIL_INVALID, "email");
    pb_test_expect_error(&t, &owner, "POST", "/api/v1/contacts", "{\"email\":\"a@@example.be\"}",
                         422, PB_ERR_EMAIL_INVALID, "email");
    pb_test_expect_error(&t, &owner, "POST", "/api/v1/contacts", "{\"fields\":{}}", 400,
                         PB_ERR_MISSING_FIELD, "email");
    pb_test_expect_error(&t, &owner, "POST", "/api/v1/contacts",
                         "{\"email\":\"a@example.be\",\"fields\":[]}", 400, PB_ERR_WRONG_TYPE,
                         "fields");
    assert_false(found("a@example.be"));

    /* Well-typed values are taken. */
    char id[PB_ID_LEN + 1];
    make_contact(
        &owner,
        "{\"email\":\"typed@example.be\",\"fields\":{\"age\":42,\"birthday\":\"2001-02-03\","
        "\"vip\":true}}",
        id);

    /* Duplicates, also with the domain in another case. */
    pb_test_expect_error(&t, &owner, "POST", "/api/v1/contacts", "{\"email\":\"jan@example.be\"}",
                         409, PB_ERR_CONFLICT, "email");
    pb_test_expect_error(&t, &owner, "POST", "/api/v1/contacts", "{\"email\":\"jan@EXAMPLE.BE\"}",
                         409, PB_ERR_CONFLICT, "email");
    assert_true(found("jan@Example.Be"));

    /* Another account's list, and one that cannot exist. */
    snprintf(body, sizeof(body), "{\"email\":\"b@example.be\",\"lists\":[\"%s\"]}", other_list);
    pb_test_expect_error(&t, &owner, "POST", "/api/v1/contacts", body, 404, PB_ERR_NOT_FOUND,
                         "lists");
    pb_test_expect_error(&t, &owner, "POST", "/api/v1/contacts",
                         "{\"email\":\"b@example.be\",\"lists\":[\"x\"]}", 404, PB_ERR_NOT_FOUND,
                         "lists");
    assert_false(found("b@example.be"));

    /* PATCH with a wrong type, then a good value. */
    char path[128];
    snprintf(path, sizeof(path), "/api/v1/contacts/%s", id);
    pb_test_expect_error(&t, &owner, "PATCH", path, "{\"fields\":{\"age\":\"old\"}}", 422, 0,
                         "fields.age");
    struct pb_http_reply r;
    pb_test_call(&t, &owner, "PATCH", path, "{\"fields\":{\"city\":\"Brugge\"}}", 200, &r);
    assert_non_null(strstr(r.body, "Brugge"));
    pb_http_reply_free(&r);
    pb_test_call(&t, &other_owner, "GET", path, NULL, 404, &r);
    pb_http_reply_free(&r);
    pb_test_expect_error(&t, &other_owner, "PATCH", path, "{\"fields\":{\"city\":\"X\"}}", 404,
                         PB_ERR_NOT_FOUND, NULL);
}

static void
members_follow_counts(void **state)
{
    (void)state;
    char body[1024], a[PB_ID_LEN + 1], b[PB_ID_LEN + 1], path[256];
    make_contact(&owner, "{\"email\":\"m1@example.be\"}", a);
    make_contact(&owner, "{\"email\":\"m2@example.be\"}", b);
    long before = member_count(&owner, public_list);

    snprintf(path, sizeof(path), "/api/v1/lists/%s/members", public_list);
    snprintf(body, sizeof(body), "{\"contact_ids\":[\"%s\",\"%s\"]}", a, b);
    pb_test_expect_error(&t, &owner, "POST", path, body, 422, PB_ERR_CONSENT_REQUIRED, "consent");
    assert_int_equal(member_count(&owner, public_list), before);

    snprintf(body, sizeof(body),
             "{\"contact_ids\":[\"%s\",\"%s\"],\"consent\":{\"basis\":\"legitimate_interests\","
             "\"description\":\"Existing customers\"}}",
             a, b);
    struct pb_http_reply r;
    pb_test_call(&t, &owner, "POST", path, body, 200, &r);
    assert_int_equal(json_integer_value(json_object_get(r.json, "changed")), 2);
    pb_http_reply_free(&r);
    assert_int_equal(member_count(&owner, public_list), before + 2);
    /* Again: nothing changes. */
    pb_test_call(&t, &owner, "POST", path, body, 200, &r);
    assert_int_equal(json_integer_value(json_object_get(r.json, "changed")), 0);
    pb_http_reply_free(&r);
    assert_int_equal(member_count(&owner, public_list), before + 2);

    snprintf(path, sizeof(path), "/api/v1/lists/%s/members/%s", public_list, a);
    pb_test_call_ok(&t, &owner, "DELETE", path, NULL, 204);
    assert_int_equal(member_count(&owner, public_list), before + 1);
    pb_test_call(&t, &owner, "GET", "/api/v1/consent?email=m1@example.be", NULL, 200, &r);
    if (find_object(r.json, "type", "unsubscribed") == NULL)
        fail_msg("no unsubscribed event in %s", r.body);
    pb_http_reply_free(&r);

    /* The list of another account, or its members: 404. */
    snprintf(path, sizeof(path), "/api/v1/lists/%s/members", other_list);
    snprintf(body, sizeof(body),
             "{\"contact_ids\":[\"%s\"],\"consent\":{\"basis\":\"consent\","
             "\"description\":\"x\"}}",
             a);
    pb_test_expect_error(&t, &owner, "POST", path, body, 404, PB_ERR_NOT_FOUND, "*");
    snprintf(path, sizeof(path), "/api/v1/lists/%s/members", public_list);
    snprintf(body, sizeof(body),
             "{\"contact_ids\":[\"%s\"],\"consent\":{\"basis\":\"consent\","
             "\"description\":\"x\"}}",
             a);
    pb_test_call(&t, &other_owner, "POST", path, body, 404, &r);
    pb_http_reply_free(&r);
}

/* Every contact id of the account (or of one list), following next_cursor. */
static size_t
list_all(struct pb_http_client *c, const char *base, int limit, char ids[][PB_ID_LEN + 1],
         size_t max, int *pages)
{
    char path[256], cursor[PB_ID_LEN + 1] = "";
    size_t n = 0;
    *pages = 0;
    for (;;) {
        struct pb_http_reply r;
        snprintf(path, sizeof(path), "%s%slimit=%d%s%s", base, strchr(base, '?') ? "&" : "?", limit,
                 cursor[0] ? "&cursor=" : "", cursor);
        pb_test_call(&t, c, "GET", path, NULL, 200, &r);
        (*pages)++;
        json_t *items = json_object_get(r.json, "items");
        assert_true(json_is_array(items));
        assert_true(json_array_size(items) <= (size_t)limit);
        size_t i;
        json_t *item;
        json_array_foreach(items, i, item)
        {
            assert_true(n < max);
            const char *id = json_string_value(json_object_get(item, "id"));
            assert_non_null(id);
            for (size_t k = 0; k < n; k++)
                assert_string_not_equal(ids[k], id);
            pb_strlcpy(ids[n++], id, PB_ID_LEN + 1);
        }
        json_t *next = json_object_get(r.json, "next_cursor");
        assert_non_null(next);
        if (json_is_null(next)) {
            pb_http_reply_free(&r);
            return n;
        }
        assert_int_equal(json_array_size(items), (size_t)limit);
        pb_strlcpy(cursor, json_string_value(next), sizeof(cursor));
        pb_http_reply_free(&r);
        assert_true(*pages < 100);
    }
}

static void
contacts_paginate(void **state)
{
    (void)state;
    char list[PB_ID_LEN + 1], body[256], id[PB_ID_LEN + 1], made[7][PB_ID_LEN + 1];
    make_list(&owner, "Seven", false, list);
    for (int i = 0; i < 7; i++) {
        snprintf(body, sizeof(body), "{\"email\":\"page%d@example.be\",\"lists\":[\"%s\"]}", i,
                 list);
        make_contact(&owner, body, id);
        pb_strlcpy(made[i], id, sizeof(made[i]));
    }
    char base[128], ids[16][PB_ID_LEN + 1];
    int pages = 0;
    snprintf(base, sizeof(base), "/api/v1/contacts?list=%s", list);
    size_t n = list_all(&owner, base, 3, ids, 16, &pages);
    assert_int_equal(n, 7);
    assert_int_equal(pages, 3);
    for (int i = 0; i < 7; i++) {
        bool seen = false;
        for (size_t k = 0; k < n; k++)
            seen = seen || strcmp(ids[k], made[i]) == 0;
        assert_true(seen);
    }
    assert_int_equal(member_count(&owner, list), 7);
    /* All contacts of the account: more than these seven, each once. */
    char all[64][PB_ID_LEN + 1];
    n = list_all(&owner, "/api/v1/contacts", 5, all, 64, &pages);
    assert_true(n > 7);
    pb_test_expect_error(&t, &owner, "GET", "/api/v1/contacts?limit=0", NULL, 400,
                         PB_ERR_BAD_REQUEST, "limit");
    pb_test_expect_error(&t, &owner, "GET", "/api/v1/contacts?cursor=nope", NULL, 400,
                         PB_ERR_BAD_REQUEST, "cursor");
    char path[128];
    snprintf(path, sizeof(path), "/api/v1/contacts?list=%s", other_list);
    struct pb_http_reply r;
    pb_test_http(&t, &owner, "GET", path, NULL, &r);
    /* Another account's list shows nothing of it: 404, or an empty page. */
    if (r.status == 200)
        assert_int_equal(json_array_size(json_object_get(r.json, "items")), 0);
    else
        assert_int_equal(r.status, 404);
    pb_http_reply_free(&r);
}

/* ---- authors ---- */

static void
authors_see_masked(void **state)
{
    (void)state;
    static const char *secret = "Allergic-to-penicillin-77";
    char body[1024], id[PB_ID_LEN + 1], path[256];
    snprintf(body, sizeof(body),
             "{\"email\":\"jozefien@example.be\",\"lists\":[\"%s\"],\"fields\":{\"health\":\"%s\","
             "\"city\":\"Leuven\"}}",
             private_list, secret);
    make_contact(&owner, body, id);

    /* The owner sees the address and the sensitive value. */
    struct pb_http_reply r;
    pb_test_call(&t, &owner, "GET", "/api/v1/contacts/search?email=jozefien@example.be", NULL, 200,
                 &r);
    assert_true(json_is_true(json_object_get(r.json, "found")));
    json_t *contact = json_object_get(r.json, "contact");
    assert_string_equal(json_string_value(json_object_get(contact, "email")),
                        "jozefien@example.be");
    assert_non_null(strstr(r.body, secret));
    pb_http_reply_free(&r);
    snprintf(path, sizeof(path), "/api/v1/contacts/%s", id);
    pb_test_call(&t, &owner, "GET", path, NULL, 200, &r);
    assert_non_null(strstr(r.body, secret));
    assert_non_null(strstr(r.body, "jozefien@example.be"));
    pb_http_reply_free(&r);

    /* The author: masked everywhere, no sensitive value, never the address in the raw body. */
    pb_test_call(&t, &author, "GET", "/api/v1/contacts/search?email=jozefien@example.be", NULL, 200,
                 &r);
    assert_true(json_is_true(json_object_get(r.json, "found")));
    contact = json_object_get(r.json, "contact");
    assert_string_equal(json_string_value(json_object_get(contact, "email")), "j***@***.be");
    assert_null(strstr(r.body, "jozefien"));
    assert_null(strstr(r.body, "example.be"));
    assert_null(strstr(r.body, secret));
    pb_http_reply_free(&r);

    pb_test_call(&t, &author, "GET", path, NULL, 200, &r);
    assert_string_equal(json_string_value(json_object_get(r.json, "email")), "j***@***.be");
    assert_null(strstr(r.body, "@example.be"));
    assert_null(strstr(r.body, secret));
    assert_non_null(strstr(r.body, "Leuven")); /* not sensitive */
    pb_http_reply_free(&r);

    const char *lists[] = {"/api/v1/contacts?limit=200", NULL};
    char by_list[128];
    snprintf(by_list, sizeof(by_list), "/api/v1/contacts?list=%s", private_list);
    lists[1] = by_list;
    for (size_t i = 0; i < 2; i++) {
        pb_test_call(&t, &author, "GET", lists[i], NULL, 200, &r);
        json_t *items = json_object_get(r.json, "items");
        assert_true(json_array_size(items) > 0);
        assert_null(strstr(r.body, "@example.be"));
        assert_null(strstr(r.body, "jozefien"));
        assert_null(strstr(r.body, secret));
        size_t k;
        json_t *item;
        json_array_foreach(items, k, item)
        {
            const char *email = json_string_value(json_object_get(item, "email"));
            assert_non_null(email);
            assert_non_null(strstr(email, "***@***."));
        }
        pb_http_reply_free(&r);
    }
    /* The owner's list shows the addresses. */
    pb_test_call(&t, &owner, "GET", by_list, NULL, 200, &r);
    assert_non_null(strstr(r.body, "jozefien@example.be"));
    pb_http_reply_free(&r);

    /* What authors may not reach. */
    pb_test_expect_error(&t, &author, "GET", "/api/v1/consent?email=jozefien@example.be", NULL, 403,
                         PB_ERR_FORBIDDEN, NULL);
    pb_test_expect_error(&t, &author, "GET", "/api/v1/subject-access?email=jozefien@example.be",
                         NULL, 403, PB_ERR_FORBIDDEN, NULL);
    pb_test_expect_error(&t, &author, "GET", "/api/v1/consent/verify", NULL, 403, PB_ERR_FORBIDDEN,
                         NULL);
    pb_test_expect_error(&t, &author, "POST", "/api/v1/contacts", "{\"email\":\"x@example.be\"}",
                         403, PB_ERR_FORBIDDEN, NULL);
    pb_test_expect_error(&t, &author, "PATCH", path, "{\"fields\":{\"city\":\"X\"}}", 403,
                         PB_ERR_FORBIDDEN, NULL);
    char evidence[PB_ID_LEN + 1];
    upload_png(&owner, 0x10, 201, evidence);
    snprintf(path, sizeof(path), "/api/v1/evidence/%s", evidence);
    pb_test_expect_error(&t, &author, "GET", path, NULL, 403, PB_ERR_FORBIDDEN, NULL);
}

/* ---- evidence ---- */

static void
evidence_by_content(void **state)
{
    (void)state;
    struct pb_test_png png;
    pb_test_png_make(&png, 0x80);
    char id[PB_ID_LEN + 1], again[PB_ID_LEN + 1], path[128];
    upload_png(&owner, 0x80, 201, id);

    /* Back byte-identical, as an attachment. */
    struct raw_reply r;
    snprintf(path, sizeof(path), "/api/v1/evidence/%s", id);
    raw_http(&owner, "GET", path, NULL, NULL, 0, &r);
    assert_int_equal(r.r.status, 200);
    assert_int_equal(r.len, png.n);
    assert_memory_equal(r.data, png.p, png.n);
    char value[256], expected[128];
    assert_true(pb_http_reply_header(&r.r, "Content-Type", value, sizeof(value)));
    assert_string_equal(value, "image/png");
    assert_true(pb_http_reply_header(&r.r, "Content-Disposition", value, sizeof(value)));
    snprintf(expected, sizeof(expected), "attachment; filename=\"evidence-%s.png\"", id);
    assert_string_equal(value, expected);
    assert_true(pb_http_reply_header(&r.r, "X-Content-Type-Options", value, sizeof(value)));
    assert_string_equal(value, "nosniff");
    assert_true(pb_http_reply_header(&r.r, "Cache-Control", value, sizeof(value)));
    assert_non_null(strstr(value, "no-store"));
    raw_free(&r);

    /* The same again: the same evidence (200). A declared type decides nothing. */
    upload_png(&owner, 0x80, 200, again);
    assert_string_equal(id, again);
    raw_http(&owner, "POST", "/api/v1/evidence", "text/plain", png.p, png.n, &r);
    assert_int_equal(r.r.status, 200);
    raw_free(&r);

    /* Refused by content, each with a reason. */
    static const char svg[] = "<svg xmlns=\"http://www.w3.org/2000/svg\"><script>alert(1)"
                              "</script></svg>";
    static const char html[] = "<!doctype html><html><body>hi</body></html>";
    struct pb_test_png polyglot;
    pb_test_png_make(&polyglot, 0x81);
    pb_test_png_append(&polyglot, "<script>alert(1)</script>", 25);
    struct {
        const char *type;
        const void *data;
        size_t len;
    } bad[] = {
        {"image/svg+xml", svg, sizeof(svg) - 1},
        {"image/png", html, sizeof(html) - 1},
        {"image/png", polyglot.p, polyglot.n},
        {"image/png", png.p, png.n - 12}, /* truncated: no IEND */
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        raw_http(&owner, "POST", "/api/v1/evidence", bad[i].type, bad[i].data, bad[i].len, &r);
        if (r.r.status != 422)
            fail_msg("bad image %zu: expected 422, got %ld: %s", i, r.r.status, r.data);
        json_t *json = json_loads((const char *)r.data, 0, NULL);
        const char *detail = json_string_value(json_object_get(json, "detail"));
        assert_non_null(detail);
        assert_true(strlen(detail) > 0);
        json_decref(json);
        raw_free(&r);
    }

    /* 11 MiB: 413. */
    size_t big_len = 11u * 1024 * 1024;
    unsigned char *big = calloc(1, big_len);
    assert_non_null(big);
    memcpy(big, png.p, png.n);
    raw_http(&owner, "POST", "/api/v1/evidence", "image/png", big, big_len, &r);
    assert_int_equal(r.r.status, 413);
    raw_free(&r);
    free(big);

    /* Statements with evidence: ours is taken, another account's is not there. */
    char theirs[PB_ID_LEN + 1], body[512];
    upload_png(&other_owner, 0x90, 201, theirs);
    snprintf(
        body, sizeof(body),
        "{\"basis\":\"consent\",\"description\":\"Form screenshot\",\"evidence_ids\":[\"%s\"]}",
        id);
    struct pb_http_reply jr;
    pb_test_call(&t, &owner, "POST", "/api/v1/consent-statements", body, 201, &jr);
    json_t *ids = json_object_get(jr.json, "evidence_ids");
    assert_int_equal(json_array_size(ids), 1);
    assert_string_equal(json_string_value(json_array_get(ids, 0)), id);
    pb_http_reply_free(&jr);
    snprintf(
        body, sizeof(body),
        "{\"basis\":\"consent\",\"description\":\"Form screenshot\",\"evidence_ids\":[\"%s\"]}",
        theirs);
    pb_test_expect_error(&t, &owner, "POST", "/api/v1/consent-statements", body, 404,
                         PB_ERR_NOT_FOUND, "evidence_ids");
    snprintf(path, sizeof(path), "/api/v1/evidence/%s", theirs);
    pb_test_expect_error(&t, &owner, "GET", path, NULL, 404, PB_ERR_NOT_FOUND, NULL);
    snprintf(body, sizeof(body),
             "{\"email\":\"ev@example.be\",\"lists\":[\"%s\"],\"consent\":{\"basis\":\"consent\","
             "\"description\":\"x\",\"evidence_ids\":[\"%s\"]}}",
             public_list, theirs);
    pb_test_expect_error(&t, &owner, "POST", "/api/v1/contacts", body, 404, PB_ERR_NOT_FOUND,
                         "consent.evidence_ids");
    assert_false(found("ev@example.be"));
}

/* ---- the chain and subject access ---- */

static void
verify_and_subject_access(void **state)
{
    (void)state;
    /* A fresh account, so that the number of events is known. */
    char acct[32], user[32], list[PB_ID_LEN + 1], id[PB_ID_LEN + 1], body[512], path[256];
    struct pb_http_client c = {0};
    pb_testapp_account(&t, "Verify", "standard", acct);
    pb_testapp_user(&t, acct, "owner@verify.example.org", "owner", PASSWORD, user);
    pb_test_login(&t, &c, "owner@verify.example.org", PASSWORD);
    make_list(&c, "Public", true, list);
    snprintf(body, sizeof(body),
             "{\"email\":\"sara@example.be\",\"lists\":[\"%s\"],\"consent\":{\"basis\":\"consent\","
             "\"description\":\"Opt-in on the website\"}}",
             list);
    make_contact(&c, body, id);
    snprintf(path, sizeof(path), "/api/v1/lists/%s/members/%s", list, id);
    pb_test_call_ok(&t, &c, "DELETE", path, NULL, 204);

    struct pb_http_reply r;
    pb_test_call(&t, &c, "GET", "/api/v1/consent/verify", NULL, 200, &r);
    if (!json_is_true(json_object_get(r.json, "ok")))
        fail_msg("chain not ok: %s", r.body);
    assert_int_equal(json_integer_value(json_object_get(r.json, "events")), 3);
    pb_http_reply_free(&r);

    pb_test_call(&t, &c, "GET", "/api/v1/subject-access?email=sara@example.be", NULL, 200, &r);
    char value[256];
    assert_true(pb_http_reply_header(&r, "Content-Disposition", value, sizeof(value)));
    assert_string_equal(value, "attachment; filename=\"subject-access.json\"");
    assert_string_equal(json_string_value(json_object_get(r.json, "report")),
                        "GDPR art. 15/20 subject access");
    assert_string_equal(json_string_value(json_object_get(r.json, "account_id")), acct);
    assert_true(json_is_string(json_object_get(r.json, "generated_at")));
    json_t *data = json_object_get(r.json, "data");
    assert_true(json_is_object(data));
    assert_non_null(strstr(r.body, "sara@example.be"));
    assert_int_equal(count_objects(data, "type", "added"), 1);
    assert_int_equal(count_objects(data, "type", "subscribed"), 1);
    assert_int_equal(count_objects(data, "type", "unsubscribed"), 1);
    assert_non_null(find_object(data, "description", "Opt-in on the website"));
    pb_http_reply_free(&r);
    pb_test_expect_error(&t, &c, "GET", "/api/v1/subject-access", NULL, 400, 0, "email");
    pb_test_call(&t, &c, "GET", "/api/v1/subject-access?email=nobody@example.be", NULL, 200, &r);
    assert_true(json_is_false(json_object_get(json_object_get(r.json, "data"), "found")));
    pb_http_reply_free(&r);

    /* Other accounts' logs are apart: the main account's chain verifies too. */
    pb_test_call(&t, &owner, "GET", "/api/v1/consent/verify", NULL, 200, &r);
    assert_true(json_is_true(json_object_get(r.json, "ok")));
    assert_true(json_integer_value(json_object_get(r.json, "events")) > 3);
    pb_http_reply_free(&r);
}

/* ---- channel and actor ---- */

/* The first event of `type` in the history of `email`, as the owner sees it (a new reference). */
static json_t *
event_of(const char *email, const char *type)
{
    char path[256];
    struct pb_http_reply r;
    snprintf(path, sizeof(path), "/api/v1/consent?email=%s", email);
    pb_test_call(&t, &owner, "GET", path, NULL, 200, &r);
    json_t *e = find_object(json_object_get(r.json, "events"), "type", type);
    if (e == NULL)
        fail_msg("no %s event in %s", type, r.body);
    json_incref(e);
    pb_http_reply_free(&r);
    return e;
}

static void
channel_and_actor(void **state)
{
    (void)state;
    /* The web UI says so with X-Postbode-Channel: ui (and only exactly that). */
    static const char ui_body[] = "{\"email\":\"via-ui@example.be\"}";
    struct raw_reply rr;
    raw_http_with(&owner, "POST", "/api/v1/contacts", "application/json", ui_body,
                  sizeof(ui_body) - 1, "X-Postbode-Channel: ui", &rr);
    if (rr.r.status != 201)
        fail_msg("POST /contacts (ui): %ld %s", rr.r.status, rr.data);
    raw_free(&rr);
    json_t *e = event_of("via-ui@example.be", "added");
    assert_string_equal(json_string_value(json_object_get(e, "channel")), "ui");
    json_decref(e);
    static const char other_body[] = "{\"email\":\"via-cli@example.be\"}";
    raw_http_with(&owner, "POST", "/api/v1/contacts", "application/json", other_body,
                  sizeof(other_body) - 1, "X-Postbode-Channel: cli", &rr);
    assert_int_equal(rr.r.status, 201);
    raw_free(&rr);
    e = event_of("via-cli@example.be", "added");
    assert_string_equal(json_string_value(json_object_get(e, "channel")), "api");
    json_decref(e);

    /* An API key: actor api_key:ID, channel api whatever the header says. */
    struct pb_http_reply r;
    pb_test_call(&t, &owner, "POST", "/api/v1/api-keys", "{\"name\":\"importer\"}", 201, &r);
    struct pb_http_client bot = {0};
    char key_id[PB_ID_LEN + 1], actor[64];
    get_string(&r, "token", bot.bearer, sizeof(bot.bearer));
    get_string(&r, "id", key_id, sizeof(key_id));
    pb_http_reply_free(&r);
    static const char key_body[] = "{\"email\":\"via-key@example.be\"}";
    raw_http_with(&bot, "POST", "/api/v1/contacts", "application/json", key_body,
                  sizeof(key_body) - 1, "X-Postbode-Channel: ui", &rr);
    if (rr.r.status != 201)
        fail_msg("POST /contacts (key): %ld %s", rr.r.status, rr.data);
    raw_free(&rr);
    e = event_of("via-key@example.be", "added");
    assert_string_equal(json_string_value(json_object_get(e, "channel")), "api");
    snprintf(actor, sizeof(actor), "api_key:%s", key_id);
    assert_string_equal(json_string_value(json_object_get(e, "actor")), actor);
    json_decref(e);
}

/* ---- sealed at rest ---- */

/* Whether the file at `path` holds `needle` (a missing file holds nothing). */
static bool
file_contains(const char *path, const char *needle)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL)
        return false;
    size_t cap = 1 << 20, len = 0, n;
    unsigned char *data = malloc(cap);
    assert_non_null(data);
    while ((n = fread(data + len, 1, cap - len, f)) > 0) {
        len += n;
        if (len == cap) {
            cap *= 2;
            data = realloc(data, cap);
            assert_non_null(data);
        }
    }
    fclose(f);
    size_t nlen = strlen(needle);
    bool hit = false;
    for (size_t i = 0; !hit && i + nlen <= len; i++)
        hit = data[i] == (unsigned char)needle[0] && memcmp(data + i, needle, nlen) == 0;
    free(data);
    return hit;
}

static void
sensitive_values_sealed(void **state)
{
    (void)state;
    static const char *value = "Diagnosis-Zebra-31415";
    static const char *email = "sealed.person@privacy-test.be";
    char body[512], id[PB_ID_LEN + 1], path[256];
    snprintf(body, sizeof(body), "{\"email\":\"%s\",\"fields\":{\"health\":\"%s\"}}", email, value);
    make_contact(&owner, body, id);
    struct pb_http_reply r;
    snprintf(path, sizeof(path), "/api/v1/contacts/%s", id);
    pb_test_call(&t, &owner, "GET", path, NULL, 200, &r);
    assert_non_null(strstr(r.body, value));
    assert_non_null(strstr(r.body, email));
    pb_http_reply_free(&r);

    if (getenv("PB_TEST_STORE_URL") != NULL || strncmp(t.store_url, "sqlite:", 7) != 0)
        return; /* the raw-file check is for SQLite */
    const char *db = t.store_url + 7;
    char wal[1100];
    snprintf(wal, sizeof(wal), "%s-wal", db);
    assert_true(file_contains(db, "SQLite format 3")); /* the right file */
    assert_false(file_contains(db, value));
    assert_false(file_contains(wal, value));
    assert_false(file_contains(db, email));
    assert_false(file_contains(wal, email));
    assert_false(file_contains(db, "privacy-test.be"));
    assert_false(file_contains(wal, "privacy-test.be"));
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(fields_crud),
        cmocka_unit_test(lists_crud),
        cmocka_unit_test(contacts_need_consent),
        cmocka_unit_test(contacts_bad_input),
        cmocka_unit_test(members_follow_counts),
        cmocka_unit_test(contacts_paginate),
        cmocka_unit_test(authors_see_masked),
        cmocka_unit_test(evidence_by_content),
        cmocka_unit_test(verify_and_subject_access),
        cmocka_unit_test(channel_and_actor),
        cmocka_unit_test(sensitive_values_sealed),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
