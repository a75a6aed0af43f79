/*
 * The right to be forgotten through the real server. POST /erasures wipes
 * a contact's address, field values, the evidence only it used and the
 * personal parts of its consent events, while the row stays under a
 * pseudonym: list counts and campaign statistics keep their numbers, the
 * consent chain still verifies, and nothing of the person is left in the
 * raw database bytes (the SQLite file and its WAL, or a pg_dump). The
 * suppression list then refuses the address (POST /contacts, CSV imports)
 * unless an owner overrides it with a fresh statement. Receipts, their
 * pagination, the author's 403, every kind of bad input, and several
 * requests erasing one person at once (one wins). Runs on SQLite,
 * or on PostgreSQL when PB_TEST_STORE_URL is set.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <limits.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "core/err.h"
#include "core/id.h"
#include "core/strutil.h"
#include "model/app.h"
#include "model/consent.h"
#include "model/erasure.h"
#include "model/tenant.h"
#include "store/store.h"
#include "support/calls.h"
#include "support/png.h"
#include "support/sink.h"
#include "support/testapp.h"

#define PASSWORD "Copper-Meadow-Signal-417"
#define FORM_IP  "203.0.113.77"
#define FORM_UA  "Mozilla/5.0 (Erasure-Test-Agent-5150)"

static struct pb_testapp t;
static char failure[8192];
static char sink_dir[PATH_MAX]; /* "" until the statistics test starts a sink */

/* An account of its own for each test: an owner, and an admin and an author when asked for. */
struct acct {
    char id[32], owner_id[32], admin_id[32], author_id[32];
    struct pb_http_client owner, admin, author;
};

/* ---- helpers: the API ---- */

static void
account_new(const char *name, bool staff, struct acct *a)
{
    char email[128];
    memset(a, 0, sizeof(*a));
    pb_testapp_account(&t, name, "enterprise", a->id);
    snprintf(email, sizeof(email), "owner@%s.example", name);
    pb_testapp_user(&t, a->id, email, "owner", PASSWORD, a->owner_id);
    pb_test_login(&t, &a->owner, email, PASSWORD);
    if (!staff)
        return;
    snprintf(email, sizeof(email), "admin@%s.example", name);
    pb_testapp_user(&t, a->id, email, "admin", PASSWORD, a->admin_id);
    pb_test_login(&t, &a->admin, email, PASSWORD);
    snprintf(email, sizeof(email), "author@%s.example", name);
    pb_testapp_user(&t, a->id, email, "author", PASSWORD, a->author_id);
    pb_test_login(&t, &a->author, email, PASSWORD);
}

static void
get_string(const struct pb_http_reply *r, const char *key, char *out, size_t size)
{
    const char *v = json_string_value(json_object_get(r->json, key));
    if (v == NULL) {
        snprintf(failure, sizeof(failure), "no \"%s\" in %s", key, r->body);
        fail_msg("%s", failure);
    }
    pb_strlcpy(out, v, size);
}

/* POST `body` to `path`, expecting 201; the new resource's id into `id`. */
static void
create(struct pb_http_client *c, const char *path, const char *body, char id[PB_ID_LEN + 1])
{
    struct pb_http_reply r;
    pb_test_call(&t, c, "POST", path, body, 201, &r);
    get_string(&r, "id", id, PB_ID_LEN + 1);
    assert_true(pb_id_valid(id));
    pb_http_reply_free(&r);
}

static void
make_list(struct pb_http_client *c, const char *name, bool is_public, char id[PB_ID_LEN + 1])
{
    char body[256];
    snprintf(body, sizeof(body), "{\"name\":\"%s\",\"public\":%s}", name,
             is_public ? "true" : "false");
    create(c, "/api/v1/lists", body, id);
}

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

/* GET /contacts/{id} (a new reference). */
static json_t *
contact_json(struct pb_http_client *c, const char *id)
{
    char path[128];
    struct pb_http_reply r;
    snprintf(path, sizeof(path), "/api/v1/contacts/%s", id);
    pb_test_call(&t, c, "GET", path, NULL, 200, &r);
    json_t *j = json_incref(r.json);
    pb_http_reply_free(&r);
    return j;
}

/* POST /erasures with `body`, expecting 201; the receipt (a new reference). */
static json_t *
erase_ok(struct pb_http_client *c, const char *body)
{
    struct pb_http_reply r;
    pb_test_call(&t, c, "POST", "/api/v1/erasures", body, 201, &r);
    json_t *j = json_incref(r.json);
    pb_http_reply_free(&r);
    assert_non_null(j);
    return j;
}

static json_t *
erase_email(struct pb_http_client *c, const char *email)
{
    char body[512];
    snprintf(body, sizeof(body), "{\"email\":\"%s\"}", email);
    return erase_ok(c, body);
}

static long
wiped_count(json_t *receipt, const char *key)
{
    json_t *v = json_object_get(json_object_get(receipt, "wiped"), key);
    if (!json_is_integer(v)) {
        char *text = json_dumps(receipt, JSON_COMPACT);
        snprintf(failure, sizeof(failure), "no wiped.%s in %s", key, text);
        free(text);
        fail_msg("%s", failure);
    }
    return (long)json_integer_value(v);
}

/* A receipt has the shape the contract gives it, and names `contact_id` and `actor`. */
static void
check_receipt(json_t *r, const char *contact_id, const char *actor)
{
    char *text = json_dumps(r, JSON_COMPACT);
    snprintf(failure, sizeof(failure), "receipt %s", text);
    free(text);
    const char *id = json_string_value(json_object_get(r, "id"));
    const char *pseudonym = json_string_value(json_object_get(r, "pseudonym"));
    const char *at = json_string_value(json_object_get(r, "erased_at"));
    const char *cid = json_string_value(json_object_get(r, "contact_id"));
    const char *who = json_string_value(json_object_get(r, "actor"));
    const char *reason = json_string_value(json_object_get(r, "reason"));
    if (id == NULL || !pb_id_valid(id) || pseudonym == NULL || strlen(pseudonym) != 25 ||
        strncmp(pseudonym, "anon-", 5) != 0 || at == NULL || strlen(at) != 20 || cid == NULL ||
        strcmp(cid, contact_id) != 0 || who == NULL || strcmp(who, actor) != 0 || reason == NULL ||
        strcmp(reason, "request") != 0 ||
        !json_is_true(json_object_get(json_object_get(r, "wiped"), "address")))
        fail_msg("%s", failure);
}

/* POST /evidence with a PNG of `shade`; its id into `id`. */
static void
upload_png(struct pb_http_client *c, unsigned char shade, char id[PB_ID_LEN + 1])
{
    struct pb_test_png png;
    pb_test_png_make(&png, shade);
    struct pb_http_reply r;
    pb_test_http_raw(&t, c, "POST", "/api/v1/evidence", "image/png", png.p, png.n, &r);
    if (r.status != 201) {
        snprintf(failure, sizeof(failure), "POST /evidence: %ld %s", r.status, r.body);
        pb_http_reply_free(&r);
        fail_msg("%s", failure);
    }
    get_string(&r, "id", id, PB_ID_LEN + 1);
    pb_http_reply_free(&r);
}

/* ---- helpers: the store, read behind the API's back ---- */

struct peek {
    const char *account_id;
    const char *contact_id;
    const char *evidence_id; /* NULL: none to read */
    struct pb_contact contact;
    bool has_contact;
    unsigned char *sealed; /* the evidence's sealed file (malloc'd) */
    size_t sealed_len;
    bool has_evidence;
    int events;   /* of the contact */
    int erased;   /* "erased" events among them */
    int personal; /* events with a client address, user agent or note */
    char erased_channel[16];
    char erased_actor[PB_ACTOR_MAX + 1];
};

static void
peek_event(void *cls, const struct pb_consent_event *e, const struct pb_consent_personal *p)
{
    struct peek *k = cls;
    k->events++;
    if (strcmp(e->type, "erased") == 0) {
        k->erased++;
        pb_strlcpy(k->erased_channel, e->channel, sizeof(k->erased_channel));
        pb_strlcpy(k->erased_actor, e->actor, sizeof(k->erased_actor));
        /* The erased event itself is about no list and no statement. */
        assert_string_equal(e->list_id, "");
        assert_string_equal(e->statement_id, "");
    }
    if (p != NULL && (p->client_ip[0] != '\0' || p->user_agent[0] != '\0' || p->note[0] != '\0'))
        k->personal++;
}

static enum pb_qs
peek_tx(struct pb_tx *tx, void *cls)
{
    struct peek *k = cls;
    free(k->sealed);
    k->sealed = NULL;
    k->sealed_len = 0;
    k->events = k->erased = k->personal = 0;
    k->has_contact = k->has_evidence = false;
    enum pb_qs qs = tx->ops->contact_get(tx->conn, k->account_id, k->contact_id, &k->contact);
    if (qs < 0)
        return qs;
    k->has_contact = qs > 0;
    if (k->evidence_id != NULL) {
        struct pb_evidence ev;
        qs = tx->ops->evidence_get(tx->conn, k->account_id, k->evidence_id, &ev, &k->sealed,
                                   &k->sealed_len);
        if (qs < 0)
            return qs;
        k->has_evidence = qs > 0;
    }
    return tx->ops->event_list_for_contact(tx->conn, k->account_id, k->contact_id, peek_event, k);
}

static void
peek(struct peek *k)
{
    assert_int_equal(pb_tenant_tx(&t.app, k->account_id, PB_TX_READ, peek_tx, k), PB_ERR_OK);
}

/* A "confirmed" event as a sign-up form records it: with the person's address and browser. */
struct form_event {
    const struct pb_data_key *key;
    const char *account_id;
    const char *contact_id;
    const char *list_id;
};

static enum pb_qs
form_event_tx(struct pb_tx *tx, void *cls)
{
    struct form_event *f = cls;
    struct pb_consent_origin origin = {PB_CHANNEL_FORM, "form", FORM_IP, FORM_UA};
    return pb_consent_append_tx(tx, f->key, f->account_id, "confirmed", f->contact_id, f->list_id,
                                NULL, &origin);
}

static void
add_form_event(const char *account_id, const char *contact_id, const char *list_id)
{
    struct form_event f = {NULL, account_id, contact_id, list_id};
    assert_int_equal(pb_app_data_key(&t.app, account_id, &f.key), PB_ERR_OK);
    assert_int_equal(pb_tenant_tx(&t.app, account_id, PB_TX_WRITE, form_event_tx, &f), PB_ERR_OK);
}

/* ---- helpers: the raw bytes of the database ---- */

struct blob {
    unsigned char *data;
    size_t len;
};

static bool
on_postgres(void)
{
    return !pb_str_starts_with(t.store_url, "sqlite:");
}

static void
blob_append(struct blob *b, FILE *f)
{
    unsigned char chunk[65536];
    size_t n;
    while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0) {
        unsigned char *grown = realloc(b->data, b->len + n);
        assert_non_null(grown);
        memcpy(grown + b->len, chunk, n);
        b->data = grown;
        b->len += n;
    }
}

/* The database file and its WAL (SQLite), or a dump of the whole database (PostgreSQL). */
static void
raw_snapshot(struct blob *b)
{
    memset(b, 0, sizeof(*b));
    if (!on_postgres()) {
        char path[PATH_MAX + 8];
        for (int i = 0; i < 2; i++) {
            snprintf(path, sizeof(path), "%s%s", t.store_url + 7, i == 0 ? "" : "-wal");
            FILE *f = fopen(path, "rb");
            if (i == 0)
                assert_non_null(f); /* the database file must be there; the WAL may not */
            if (f == NULL)
                continue;
            blob_append(b, f);
            fclose(f);
        }
        return;
    }
    const char *dump = access("/usr/lib/postgresql/15/bin/pg_dump", X_OK) == 0
                           ? "/usr/lib/postgresql/15/bin/pg_dump"
                           : "pg_dump";
    char command[2048];
    snprintf(command, sizeof(command), "%s --no-owner --no-privileges -d '%s'", dump, t.store_url);
    FILE *p = popen(command, "r");
    assert_non_null(p);
    blob_append(b, p);
    int rc = pclose(p);
    if (rc != 0 || b->len < 100)
        fail_msg("%s failed (%d)", command, rc);
}

static bool
blob_has(const struct blob *b, const void *needle, size_t n)
{
    const unsigned char *s = needle;
    for (size_t i = 0; n > 0 && i + n <= b->len; i++)
        if (b->data[i] == s[0] && memcmp(b->data + i, s, n) == 0)
            return true;
    return false;
}

static bool
blob_has_text(const struct blob *b, const char *text)
{
    return blob_has(b, text, strlen(text));
}

/* Binary column bytes: as they are in SQLite's pages, hex-encoded in a dump (bytea "\x..."). */
static bool
blob_has_bytes(const struct blob *b, const unsigned char *bytes, size_t n)
{
    if (!on_postgres())
        return blob_has(b, bytes, n);
    char *hex = malloc(2 * n + 1);
    assert_non_null(hex);
    for (size_t i = 0; i < n; i++)
        snprintf(hex + 2 * i, 3, "%02x", bytes[i]);
    bool hit = blob_has(b, hex, 2 * n);
    free(hex);
    return hit;
}

static void
blob_free(struct blob *b)
{
    free(b->data);
    b->data = NULL;
    b->len = 0;
}

/* ---- set-up ---- */

static int
setup(void **state)
{
    (void)state;
    pb_testapp_start(&t, 0);
    pb_testapp_start_jobs(&t);
    pb_testapp_start_sender(&t);
    return 0;
}

static int
teardown(void **state)
{
    (void)state;
    pb_testapp_stop(&t);
    if (sink_dir[0] != '\0' && pb_test_sink_stop(sink_dir) != 0)
        fprintf(stderr, "test_erasure: stopping the sink failed\n");
    return 0;
}

/* ---- 1. what an erasure wipes, and what it keeps ---- */

static void
test_erase_wipes(void **state)
{
    (void)state;
    struct acct a;
    account_new("wipes", false, &a);
    static const char *plain = "Zanzibar-Plain-Value-71823";
    static const char *secret = "Sensitive-Diagnosis-55120";
    static const char *address = "erase.me@wipes-test.be";
    char pub[PB_ID_LEN + 1], priv[PB_ID_LEN + 1], own_ev[PB_ID_LEN + 1], shared_ev[PB_ID_LEN + 1],
        statement[PB_ID_LEN + 1], x[PB_ID_LEN + 1], y[PB_ID_LEN + 1];
    char body[1024], path[256], actor[64];
    pb_test_call_ok(&t, &a.owner, "POST", "/api/v1/fields",
                    "{\"key\":\"city\",\"label\":\"City\",\"type\":\"text\"}", 201);
    pb_test_call_ok(
        &t, &a.owner, "POST", "/api/v1/fields",
        "{\"key\":\"health\",\"label\":\"Health\",\"type\":\"text\",\"sensitive\":true}", 201);
    make_list(&a.owner, "Public", true, pub);
    make_list(&a.owner, "Private", false, priv);
    upload_png(&a.owner, 0x11, own_ev);
    upload_png(&a.owner, 0x22, shared_ev);

    /* X: two values, the public list with a statement whose evidence only X's statement uses. */
    snprintf(body, sizeof(body),
             "{\"email\":\"%s\",\"fields\":{\"city\":\"%s\",\"health\":\"%s\"},\"lists\":[\"%s\"],"
             "\"consent\":{\"basis\":\"consent\",\"description\":\"Signed at the stand\","
             "\"evidence_ids\":[\"%s\"]}}",
             address, plain, secret, pub, own_ev);
    create(&a.owner, "/api/v1/contacts", body, x);
    /* Y, and a statement with the other image that both X and Y are on the private list by. */
    create(&a.owner, "/api/v1/contacts",
           "{\"email\":\"stays@wipes-test.be\",\"fields\":{\"city\":\"Gent\"}}", y);
    snprintf(body, sizeof(body),
             "{\"basis\":\"consent\",\"description\":\"Paper forms\",\"evidence_ids\":[\"%s\"]}",
             shared_ev);
    create(&a.owner, "/api/v1/consent-statements", body, statement);
    snprintf(path, sizeof(path), "/api/v1/lists/%s/members", priv);
    snprintf(body, sizeof(body),
             "{\"contact_ids\":[\"%s\",\"%s\"],\"consent\":{\"statement_id\":"
             "\"%s\"}}",
             x, y, statement);
    pb_test_call_ok(&t, &a.owner, "POST", path, body, 200);
    /* X confirmed through a form: its event holds the person's address and browser. */
    add_form_event(a.id, x, pub);

    long pub_before = member_count(&a.owner, pub), priv_before = member_count(&a.owner, priv);
    assert_int_equal(pub_before, 1);
    assert_int_equal(priv_before, 2);
    struct peek k = {.account_id = a.id, .contact_id = x, .evidence_id = own_ev};
    peek(&k);
    assert_true(k.has_contact && k.has_evidence);
    assert_int_equal(k.personal, 1);
    assert_int_equal(k.erased, 0);

    json_t *r = erase_email(&a.owner, address);
    snprintf(actor, sizeof(actor), "user:%s", a.owner_id);
    check_receipt(r, x, actor);
    assert_int_equal(wiped_count(r, "field_values"), 2);
    assert_int_equal(wiped_count(r, "evidence"), 1);
    assert_true(wiped_count(r, "event_personal_data") >= 1);
    assert_int_equal(wiped_count(r, "delivery_replies"), 0);
    char pseudonym[64];
    pb_strlcpy(pseudonym, json_string_value(json_object_get(r, "pseudonym")), sizeof(pseudonym));
    json_decref(r);

    /* The contact: erased, under its pseudonym, no address, no values; its lists as they were. */
    json_t *c = contact_json(&a.owner, x);
    char *text = json_dumps(c, JSON_COMPACT);
    snprintf(failure, sizeof(failure), "erased contact: %s", text);
    free(text);
    const char *status = json_string_value(json_object_get(c, "status"));
    const char *pn = json_string_value(json_object_get(c, "pseudonym"));
    json_t *email = json_object_get(c, "email");
    if (status == NULL || strcmp(status, "erased") != 0 || pn == NULL ||
        strcmp(pn, pseudonym) != 0 || (email != NULL && !json_is_null(email)) ||
        json_object_size(json_object_get(c, "fields")) != 0 ||
        json_array_size(json_object_get(c, "lists")) != 2 || strstr(failure, plain) != NULL ||
        strstr(failure, "wipes-test.be") != NULL)
        fail_msg("%s", failure);
    json_decref(c);
    assert_int_equal(member_count(&a.owner, pub), pub_before);
    assert_int_equal(member_count(&a.owner, priv), priv_before);

    /* The chain still verifies, with the erased event in it. */
    struct pb_http_reply rep;
    pb_test_call(&t, &a.owner, "GET", "/api/v1/consent/verify", NULL, 200, &rep);
    if (!json_is_true(json_object_get(rep.json, "ok"))) {
        snprintf(failure, sizeof(failure), "chain: %s", rep.body);
        pb_http_reply_free(&rep);
        fail_msg("%s", failure);
    }
    pb_http_reply_free(&rep);

    /* In the store: an erased event by the owner through the API, no personal part left. */
    peek(&k);
    assert_true(k.has_contact);
    assert_false(k.has_evidence);
    assert_int_equal(k.erased, 1);
    assert_int_equal(k.personal, 0);
    assert_true(k.events >= 4); /* added, subscribed (x2), confirmed, erased */
    assert_string_equal(k.erased_channel, "api");
    assert_string_equal(k.erased_actor, actor);
    assert_string_equal(k.contact.status, "erased");
    assert_string_equal(k.contact.pseudonym, pseudonym);
    assert_int_equal(k.contact.email_sealed_len, 0);
    assert_int_equal(k.contact.email_bidx_len, 0);

    /* The evidence only X's statement used is gone; the one Y's statement uses too stays. */
    snprintf(path, sizeof(path), "/api/v1/evidence/%s", own_ev);
    pb_test_expect_error(&t, &a.owner, "GET", path, NULL, 404, PB_ERR_NOT_FOUND, NULL);
    snprintf(path, sizeof(path), "/api/v1/evidence/%s", shared_ev);
    pb_test_call_ok(&t, &a.owner, "GET", path, NULL, 200);

    /* Y is untouched; the address is no contact any more. */
    c = contact_json(&a.owner, y);
    assert_string_equal(json_string_value(json_object_get(c, "status")), "active");
    assert_string_equal(json_string_value(json_object_get(json_object_get(c, "fields"), "city")),
                        "Gent");
    json_decref(c);
    snprintf(path, sizeof(path), "/api/v1/contacts/search?email=%s", address);
    pb_test_call(&t, &a.owner, "GET", path, NULL, 200, &rep);
    assert_true(json_is_false(json_object_get(rep.json, "found")));
    pb_http_reply_free(&rep);
    free(k.sealed);
}

/* ---- 2. nothing lingers in the raw bytes ---- */

static void
test_raw_bytes(void **state)
{
    (void)state;
    struct acct a;
    account_new("rawbytes", false, &a);
    static const char *plain = "Quetzalcoatl-Plain-Value-90417";
    static const char *address = "raw.bytes.person@lingering-test.be";
    char list[PB_ID_LEN + 1], ev[PB_ID_LEN + 1], x[PB_ID_LEN + 1], body[1024];
    pb_test_call_ok(&t, &a.owner, "POST", "/api/v1/fields",
                    "{\"key\":\"nick\",\"label\":\"Nick\",\"type\":\"text\"}", 201);
    make_list(&a.owner, "Public", true, list);
    upload_png(&a.owner, 0x5a, ev);
    snprintf(body, sizeof(body),
             "{\"email\":\"%s\",\"fields\":{\"nick\":\"%s\"},\"lists\":[\"%s\"],"
             "\"consent\":{\"basis\":\"consent\",\"description\":\"Web form\","
             "\"evidence_ids\":[\"%s\"]}}",
             address, plain, list, ev);
    create(&a.owner, "/api/v1/contacts", body, x);
    add_form_event(a.id, x, list);

    /* What to look for: read from the store before it is wiped. */
    struct peek k = {.account_id = a.id, .contact_id = x, .evidence_id = ev};
    peek(&k);
    assert_true(k.has_contact && k.has_evidence);
    assert_true(k.contact.email_sealed_len > 16 && k.contact.email_bidx_len == PB_BIDX_MAX);
    assert_true(k.sealed_len > 16);
    struct pb_contact before = k.contact;
    unsigned char *sealed_ev = k.sealed;
    size_t sealed_ev_len = k.sealed_len;
    k.sealed = NULL;

    /* The search can fail: before the erasure every one of them is there. */
    struct blob b;
    raw_snapshot(&b);
    assert_true(blob_has_text(&b, plain));
    assert_true(blob_has_text(&b, FORM_UA));
    assert_true(blob_has_bytes(&b, before.email_sealed, before.email_sealed_len));
    assert_true(blob_has_bytes(&b, before.email_bidx, before.email_bidx_len));
    assert_true(blob_has_bytes(&b, sealed_ev, sealed_ev_len));
    blob_free(&b);

    json_t *r = erase_email(&a.owner, address);
    json_decref(r);

    raw_snapshot(&b);
    if (!on_postgres())
        assert_true(blob_has_text(&b, "SQLite format 3")); /* the right file */
    else
        assert_true(blob_has_text(&b, "PostgreSQL database dump"));
    const char *left =
        blob_has_text(&b, plain)                                           ? "the field value"
        : blob_has_text(&b, FORM_UA)                                       ? "the form's user agent"
        : blob_has_text(&b, address)                                       ? "the address"
        : blob_has_bytes(&b, before.email_sealed, before.email_sealed_len) ? "the sealed address"
        : blob_has_bytes(&b, before.email_bidx, before.email_bidx_len)     ? "the blind index"
        : blob_has_bytes(&b, sealed_ev, sealed_ev_len)                     ? "the sealed evidence"
                                                                           : NULL;
    blob_free(&b);
    free(sealed_ev);
    if (left != NULL)
        fail_msg("%s is still in the raw bytes (%s)", left, on_postgres() ? "pg_dump" : "SQLite");
}

/* ---- 3. statistics before == after ---- */

/* The message the sink took for `to`, QP-decoded (malloc'd). */
static char *
mail_to(const char *to)
{
    char dir[PATH_MAX + 8], want[300];
    snprintf(dir, sizeof(dir), "%s/mail", sink_dir);
    snprintf(want, sizeof(want), "X-Rcpt-Args: <%s>", to);
    for (int tries = 0; tries < 500; tries++) {
        DIR *d = opendir(dir);
        struct dirent *e;
        while (d != NULL && (e = readdir(d)) != NULL) {
            if (e->d_name[0] == '.')
                continue;
            char file[PATH_MAX * 2];
            snprintf(file, sizeof(file), "%s/%s", dir, e->d_name);
            FILE *f = fopen(file, "rb");
            if (f == NULL)
                continue;
            struct blob b = {NULL, 0};
            blob_append(&b, f);
            fclose(f);
            char *text = realloc(b.data, b.len + 1);
            assert_non_null(text);
            text[b.len] = '\0';
            if (strstr(text, want) != NULL) {
                closedir(d);
                pb_test_qp_decode(text);
                return text;
            }
            free(text);
        }
        if (d != NULL)
            closedir(d);
        usleep(20 * 1000);
    }
    fail_msg("no mail to %s", to);
    return NULL;
}

static json_t *
stats_of(struct acct *a, const char *id)
{
    char path[128];
    struct pb_http_reply r;
    snprintf(path, sizeof(path), "/api/v1/campaigns/%s/stats", id);
    pb_test_call(&t, &a->owner, "GET", path, NULL, 200, &r);
    json_t *s = json_incref(r.json);
    pb_http_reply_free(&r);
    return s;
}

static void
test_stats_survive(void **state)
{
    (void)state;
    struct acct a;
    account_new("stats", false, &a);
    int port = pb_test_sink_start(sink_dir);
    char body[1024], list[PB_ID_LEN + 1], id[PB_ID_LEN + 1], contact[PB_ID_LEN + 1];
    char path[256], link[256];
    pb_test_call_ok(&t, &a.owner, "PATCH", "/api/v1/account", "{\"tracking\":\"individual\"}", 200);
    snprintf(body, sizeof(body), "{\"host\":\"127.0.0.1\",\"port\":%d,\"tls\":\"none\"}", port);
    pb_test_call_ok(&t, &a.owner, "PUT", "/api/v1/settings/smtp", body, 200);
    make_list(&a.owner, "Readers", false, list);
    for (int i = 0; i < 3; i++) {
        snprintf(body, sizeof(body), "{\"email\":\"s%02d@stats-test.be\",\"lists\":[\"%s\"]}", i,
                 list);
        create(&a.owner, "/api/v1/contacts", body, i == 0 ? contact : id);
    }
    json_t *o = json_pack("{s:s, s:s, s:s, s:s, s:[s]}", "name", "Tracked", "subject", "Tracked",
                          "from", "News <news@stats-test.be>", "html",
                          "<html><body><p>Hi</p><p><a href=\"https://stats-test.be/offer\">"
                          "Offer</a></p></body></html>",
                          "list_ids", list);
    char *text = json_dumps(o, JSON_COMPACT);
    json_decref(o);
    create(&a.owner, "/api/v1/campaigns", text, id);
    free(text);
    snprintf(path, sizeof(path), "/api/v1/campaigns/%s/send", id);
    pb_test_call_ok(&t, &a.owner, "POST", path, "{}", 202);
    json_t *s = NULL;
    for (int i = 0; i < 600; i++) {
        json_decref(s);
        s = stats_of(&a, id);
        if (json_integer_value(json_object_get(s, "sent")) == 3)
            break;
        usleep(50 * 1000);
    }
    assert_int_equal(json_integer_value(json_object_get(s, "sent")), 3);
    json_decref(s);

    /* s00 opens twice and clicks once. */
    char *mail = mail_to("s00@stats-test.be");
    struct pb_http_client anonymous;
    memset(&anonymous, 0, sizeof(anonymous));
    assert_true(pb_test_find_link(mail, 'o', link));
    pb_test_call_ok(&t, &anonymous, "GET", link, NULL, 200);
    pb_test_call_ok(&t, &anonymous, "GET", link, NULL, 200);
    assert_true(pb_test_find_link(mail, 'c', link));
    pb_test_call_ok(&t, &anonymous, "GET", link, NULL, 302);
    free(mail);

    json_t *before = stats_of(&a, id);
    assert_int_equal(json_integer_value(json_object_get(before, "opens")), 2);
    assert_int_equal(json_integer_value(json_object_get(before, "unique_opens")), 1);
    assert_int_equal(json_integer_value(json_object_get(before, "clicks")), 1);
    long members = member_count(&a.owner, list);
    assert_int_equal(members, 3);

    snprintf(body, sizeof(body), "{\"contact_id\":\"%s\"}", contact);
    json_t *r = erase_ok(&a.owner, body);
    assert_int_equal(wiped_count(r, "delivery_replies"), 0);
    json_decref(r);

    json_t *after = stats_of(&a, id);
    if (!json_equal(before, after)) {
        char *b = json_dumps(before, JSON_COMPACT | JSON_SORT_KEYS);
        char *c = json_dumps(after, JSON_COMPACT | JSON_SORT_KEYS);
        snprintf(failure, sizeof(failure), "statistics changed by an erasure:\n%s\n%s", b, c);
        free(b);
        free(c);
        json_decref(before);
        json_decref(after);
        fail_msg("%s", failure);
    }
    json_decref(before);
    json_decref(after);
    assert_int_equal(member_count(&a.owner, list), members);
}

/* ---- 4. the suppression list ---- */

/* Imports `csv` into `list` with `extra` form parts; the job's id, or "" when `status` != 202. */
static void
import_csv(struct pb_http_client *c, const char *list, const char *csv,
           const struct pb_test_part *extra, int nextra, long status, const char *field,
           char id[PB_ID_LEN + 1])
{
    struct pb_test_part parts[8] = {
        {"file", NULL, csv, strlen(csv)},
        {"list_ids", list, NULL, 0},
    };
    assert_true(nextra <= 6);
    for (int i = 0; i < nextra; i++)
        parts[2 + i] = extra[i];
    struct pb_http_reply r;
    pb_test_multipart(&t, c, "/api/v1/imports", parts, 2 + nextra, &r);
    id[0] = '\0';
    if (status != 202) {
        pb_test_check_error(&r, "POST /imports", status, 0, field);
        pb_http_reply_free(&r);
        return;
    }
    if (r.status != 202) {
        snprintf(failure, sizeof(failure), "import: %ld %s", r.status, r.body);
        pb_http_reply_free(&r);
        fail_msg("%s", failure);
    }
    get_string(&r, "id", id, PB_ID_LEN + 1);
    pb_http_reply_free(&r);
}

/* The import's report once its job is done (a new reference). */
static json_t *
import_report(struct acct *a, const char *id)
{
    char path[128];
    struct pb_http_reply r;
    pb_testapp_wait_job(&t, a->id, id);
    snprintf(path, sizeof(path), "/api/v1/imports/%s", id);
    pb_test_call(&t, &a->owner, "GET", path, NULL, 200, &r);
    json_t *j = json_incref(r.json);
    pb_http_reply_free(&r);
    return j;
}

static long
count_of(json_t *report, const char *key)
{
    return (long)json_integer_value(json_object_get(json_object_get(report, "counts"), key));
}

static bool
found(struct acct *a, const char *email)
{
    char path[256];
    struct pb_http_reply r;
    snprintf(path, sizeof(path), "/api/v1/contacts/search?email=%s", email);
    pb_test_call(&t, &a->owner, "GET", path, NULL, 200, &r);
    bool yes = json_is_true(json_object_get(r.json, "found"));
    pb_http_reply_free(&r);
    return yes;
}

static void
test_suppression(void **state)
{
    (void)state;
    struct acct a;
    account_new("suppress", true, &a);
    static const char *address = "comeback@suppress-test.be";
    char id[PB_ID_LEN + 1], list[PB_ID_LEN + 1], statement[PB_ID_LEN + 1], body[1024];
    make_list(&a.owner, "Private", false, list);
    snprintf(body, sizeof(body), "{\"email\":\"%s\",\"lists\":[\"%s\"]}", address, list);
    create(&a.owner, "/api/v1/contacts", body, id);
    json_decref(erase_email(&a.owner, address));

    /* Added again through the API: refused, also written differently; nothing is added. */
    snprintf(body, sizeof(body), "{\"email\":\"%s\"}", address);
    pb_test_expect_error(&t, &a.owner, "POST", "/api/v1/contacts", body, 409, PB_ERR_SUPPRESSED,
                         "email");
    pb_test_expect_error(&t, &a.admin, "POST", "/api/v1/contacts",
                         "{\"email\":\"ComeBack@Suppress-Test.BE\"}", 409, PB_ERR_SUPPRESSED,
                         "email");
    assert_false(found(&a, address));
    assert_int_equal(member_count(&a.owner, list), 1); /* the erased contact, still counted */

    /* The override: owners only, and only with a fresh statement. */
    snprintf(body, sizeof(body),
             "{\"email\":\"%s\",\"override_suppression\":true,\"consent\":{\"basis\":\"consent\","
             "\"description\":\"Asked to come back, by mail\"}}",
             address);
    pb_test_expect_error(&t, &a.admin, "POST", "/api/v1/contacts", body, 403, PB_ERR_FORBIDDEN,
                         "override_suppression");
    create(&a.owner, "/api/v1/consent-statements",
           "{\"basis\":\"consent\",\"description\":\"An old statement\"}", statement);
    char reuse[1024];
    snprintf(
        reuse, sizeof(reuse),
        "{\"email\":\"%s\",\"override_suppression\":true,\"consent\":{\"statement_id\":\"%s\"}}",
        address, statement);
    pb_test_expect_error(&t, &a.owner, "POST", "/api/v1/contacts", reuse, 422,
                         PB_ERR_CONSENT_REQUIRED, "consent");
    snprintf(reuse, sizeof(reuse), "{\"email\":\"%s\",\"override_suppression\":true}", address);
    pb_test_expect_error(&t, &a.owner, "POST", "/api/v1/contacts", reuse, 422,
                         PB_ERR_CONSENT_REQUIRED, "consent");
    assert_false(found(&a, address));
    create(&a.owner, "/api/v1/contacts", body, id);
    assert_true(found(&a, address));
    /* Back, so the next addition is a plain conflict; and it can be erased again. */
    snprintf(body, sizeof(body), "{\"email\":\"%s\"}", address);
    pb_test_expect_error(&t, &a.owner, "POST", "/api/v1/contacts", body, 409, PB_ERR_CONFLICT,
                         "email");
    json_t *r = erase_email(&a.owner, address);
    assert_string_equal(json_string_value(json_object_get(r, "contact_id")), id);
    json_decref(r);
    assert_false(found(&a, address));

    /* A CSV import: the erased line is rejected as suppressed, the new one added. */
    char csv[512], job[PB_ID_LEN + 1];
    snprintf(csv, sizeof(csv), "email\n%s\nnewcomer@suppress-test.be\n", address);
    import_csv(&a.owner, list, csv, NULL, 0, 202, NULL, job);
    json_t *rep = import_report(&a, job);
    char *text = json_dumps(rep, JSON_COMPACT);
    snprintf(failure, sizeof(failure), "import report: %s", text);
    free(text);
    json_t *rejects = json_object_get(rep, "rejects");
    json_t *first = json_array_get(rejects, 0);
    const char *reason = json_string_value(json_object_get(first, "reason"));
    if (count_of(rep, "suppressed") != 1 || count_of(rep, "added") != 1 ||
        json_array_size(rejects) != 1 || json_integer_value(json_object_get(first, "line")) != 2 ||
        reason == NULL || strstr(reason, "suppressed") == NULL || strstr(failure, address) != NULL)
        fail_msg("%s", failure);
    json_decref(rep);
    assert_false(found(&a, address));
    assert_true(found(&a, "newcomer@suppress-test.be"));

    /* The override in an import: 403 for an admin, a fresh statement needed, then added. */
    const struct pb_test_part yes[] = {
        {"override_suppression", "true", NULL, 0},
        {"basis", "consent", NULL, 0},
        {"description", "Came back at the fair", NULL, 0},
    };
    import_csv(&a.admin, list, csv, yes, 3, 403, "override_suppression", job);
    import_csv(&a.owner, list, csv, yes, 1, 422, "consent", job);
    const struct pb_test_part reused[] = {
        {"override_suppression", "true", NULL, 0},
        {"statement_id", statement, NULL, 0},
    };
    import_csv(&a.owner, list, csv, reused, 2, 422, "consent", job);
    const struct pb_test_part bad[] = {{"override_suppression", "yes", NULL, 0}};
    import_csv(&a.owner, list, csv, bad, 1, 422, "override_suppression", job);
    import_csv(&a.owner, list, csv, yes, 3, 202, NULL, job);
    rep = import_report(&a, job);
    assert_int_equal(count_of(rep, "suppressed"), 0);
    assert_int_equal(count_of(rep, "added"), 1);
    assert_int_equal(count_of(rep, "skipped"), 1);
    json_decref(rep);
    assert_true(found(&a, address));
}

/* ---- 5. who may, bad input, and the receipts ---- */

static void
test_permissions_and_receipts(void **state)
{
    (void)state;
    struct acct a;
    account_new("receipts", true, &a);
    char ids[3][PB_ID_LEN + 1], body[512], path[256];
    static const char *values[3] = {"Value-Alpha-3141", "Value-Beta-2718", "Value-Gamma-1618"};
    pb_test_call_ok(&t, &a.owner, "POST", "/api/v1/fields",
                    "{\"key\":\"code\",\"label\":\"Code\",\"type\":\"text\"}", 201);
    for (int i = 0; i < 3; i++) {
        snprintf(body, sizeof(body),
                 "{\"email\":\"p%d@receipts-test.be\",\"fields\":{\"code\":\"%s\"}}", i, values[i]);
        create(&a.owner, "/api/v1/contacts", body, ids[i]);
    }

    /* Authors may neither erase nor read the receipts. */
    pb_test_expect_error(&t, &a.author, "POST", "/api/v1/erasures",
                         "{\"email\":\"p0@receipts-test.be\"}", 403, PB_ERR_FORBIDDEN, NULL);
    pb_test_expect_error(&t, &a.author, "GET", "/api/v1/erasures", NULL, 403, PB_ERR_FORBIDDEN,
                         NULL);

    /* Bad input, each naming its field. */
    pb_test_expect_error(&t, &a.owner, "POST", "/api/v1/erasures", "{}", 422, PB_ERR_INVALID,
                         "email");
    snprintf(body, sizeof(body), "{\"email\":\"p0@receipts-test.be\",\"contact_id\":\"%s\"}",
             ids[0]);
    pb_test_expect_error(&t, &a.owner, "POST", "/api/v1/erasures", body, 422, PB_ERR_INVALID,
                         "contact_id");
    pb_test_expect_error(&t, &a.owner, "POST", "/api/v1/erasures", "{\"email\":\"not an address\"}",
                         422, PB_ERR_EMAIL_INVALID, "email");
    pb_test_expect_error(&t, &a.owner, "POST", "/api/v1/erasures", "{\"email\":42}", 400,
                         PB_ERR_WRONG_TYPE, "email");
    pb_test_expect_error(&t, &a.owner, "POST", "/api/v1/erasures", "{\"name\":\"x\"}", 400,
                         PB_ERR_UNKNOWN_FIELD, "name");
    pb_test_expect_error(&t, &a.owner, "POST", "/api/v1/erasures",
                         "{\"email\":\"nobody@receipts-test.be\"}", 404, PB_ERR_NOT_FOUND, "email");
    pb_test_expect_error(&t, &a.owner, "POST", "/api/v1/erasures",
                         "{\"contact_id\":\"01ARZ3NDEKTSV4RRFFQ69G5FAV\"}", 404, PB_ERR_NOT_FOUND,
                         "contact_id");
    pb_test_expect_error(&t, &a.owner, "POST", "/api/v1/erasures", "{\"contact_id\":\"nope\"}", 404,
                         PB_ERR_NOT_FOUND, "contact_id");

    /* Three erasures: by the owner (address), the admin (id), the owner (address). */
    char actor[64], receipt_ids[3][PB_ID_LEN + 1];
    for (int i = 0; i < 3; i++) {
        json_t *r;
        if (i == 1) {
            snprintf(body, sizeof(body), "{\"contact_id\":\"%s\"}", ids[i]);
            r = erase_ok(&a.admin, body);
            snprintf(actor, sizeof(actor), "user:%s", a.admin_id);
        } else {
            snprintf(body, sizeof(body), "p%d@receipts-test.be", i);
            r = erase_email(&a.owner, body);
            snprintf(actor, sizeof(actor), "user:%s", a.owner_id);
        }
        check_receipt(r, ids[i], actor);
        assert_int_equal(wiped_count(r, "field_values"), 1);
        pb_strlcpy(receipt_ids[i], json_string_value(json_object_get(r, "id")), PB_ID_LEN + 1);
        json_decref(r);
    }

    /* Twice: 409 722, by address (the suppression list knows) and by id (with the receipt). */
    pb_test_expect_error(&t, &a.owner, "POST", "/api/v1/erasures",
                         "{\"email\":\"p0@receipts-test.be\"}", 409, PB_ERR_ALREADY_ERASED,
                         "email");
    snprintf(body, sizeof(body), "{\"contact_id\":\"%s\"}", ids[1]);
    struct pb_http_reply r;
    pb_test_call(&t, &a.owner, "POST", "/api/v1/erasures", body, 409, &r);
    pb_test_check_error(&r, "erasing twice", 409, PB_ERR_ALREADY_ERASED, "contact_id");
    const char *detail = json_string_value(json_object_get(r.json, "detail"));
    assert_non_null(detail);
    assert_non_null(strstr(detail, receipt_ids[1]));
    pb_http_reply_free(&r);
    /* Another account knows none of them. */
    struct acct other;
    account_new("receipts-other", false, &other);
    pb_test_expect_error(&t, &other.owner, "POST", "/api/v1/erasures", body, 404, PB_ERR_NOT_FOUND,
                         "contact_id");

    /* The receipts, newest first, two a page, with no personal data in them. */
    pb_test_call(&t, &a.admin, "GET", "/api/v1/erasures?limit=2", NULL, 200, &r);
    json_t *items = json_object_get(r.json, "items");
    const char *next = json_string_value(json_object_get(r.json, "next_cursor"));
    if (json_array_size(items) != 2 || next == NULL) {
        snprintf(failure, sizeof(failure), "first page: %s", r.body);
        pb_http_reply_free(&r);
        fail_msg("%s", failure);
    }
    assert_string_equal(json_string_value(json_object_get(json_array_get(items, 0), "id")),
                        receipt_ids[2]);
    assert_string_equal(json_string_value(json_object_get(json_array_get(items, 1), "id")),
                        receipt_ids[1]);
    snprintf(actor, sizeof(actor), "user:%s", a.admin_id);
    check_receipt(json_array_get(items, 1), ids[1], actor);
    assert_null(strstr(r.body, "receipts-test.be"));
    for (int i = 0; i < 3; i++)
        assert_null(strstr(r.body, values[i]));
    snprintf(path, sizeof(path), "/api/v1/erasures?limit=2&cursor=%s", next);
    pb_http_reply_free(&r);
    pb_test_call(&t, &a.owner, "GET", path, NULL, 200, &r);
    items = json_object_get(r.json, "items");
    assert_int_equal(json_array_size(items), 1);
    assert_string_equal(json_string_value(json_object_get(json_array_get(items, 0), "id")),
                        receipt_ids[0]);
    assert_true(json_is_null(json_object_get(r.json, "next_cursor")));
    assert_null(strstr(r.body, "receipts-test.be"));
    pb_http_reply_free(&r);
    pb_test_expect_error(&t, &a.owner, "GET", "/api/v1/erasures?limit=0", NULL, 400, 0, "limit");
    pb_test_call(&t, &other.owner, "GET", "/api/v1/erasures", NULL, 200, &r);
    assert_int_equal(json_array_size(json_object_get(r.json, "items")), 0);
    pb_http_reply_free(&r);
}

/* ---- 6. several requests erasing one person at once ---- */

enum { RACERS = 4 };

struct racer {
    const char *account_id;
    const char *contact_id;
    pthread_barrier_t *start;
    enum pb_err err;
    struct pb_erasure receipt;
};

static void *
race(void *cls)
{
    struct racer *r = cls;
    struct pb_erasure_by by = {.account_id = r->account_id,
                               .actor = "cli",
                               .channel = PB_CHANNEL_CLI,
                               .reason = PB_ERASURE_REASON_REQUEST,
                               .checkpoint = true};
    const char *field = NULL;
    char why[PB_WHY_MAX];
    pthread_barrier_wait(r->start);
    r->err = pb_erasure_erase(&t.app, &by, NULL, r->contact_id, &r->receipt, &field, why);
    return NULL;
}

static void
test_concurrent(void **state)
{
    (void)state;
    struct acct a;
    account_new("racing", false, &a);
    char list[PB_ID_LEN + 1], x[PB_ID_LEN + 1], body[256];
    make_list(&a.owner, "Private", false, list);
    snprintf(body, sizeof(body), "{\"email\":\"racer@racing-test.be\",\"lists\":[\"%s\"]}", list);
    create(&a.owner, "/api/v1/contacts", body, x);
    pthread_barrier_t start;
    pthread_t threads[RACERS];
    struct racer racers[RACERS];
    assert_int_equal(pthread_barrier_init(&start, NULL, RACERS), 0);
    for (int i = 0; i < RACERS; i++) {
        memset(&racers[i], 0, sizeof(racers[i]));
        racers[i].account_id = a.id;
        racers[i].contact_id = x;
        racers[i].start = &start;
        racers[i].err = PB_ERR_INTERNAL;
        assert_int_equal(pthread_create(&threads[i], NULL, race, &racers[i]), 0);
    }
    for (int i = 0; i < RACERS; i++)
        pthread_join(threads[i], NULL);
    pthread_barrier_destroy(&start);
    /* Exactly one erased it; the others were told so, with that one's receipt. */
    int won = -1;
    for (int i = 0; i < RACERS; i++) {
        if (racers[i].err == PB_ERR_OK) {
            assert_int_equal(won, -1);
            won = i;
        } else if (racers[i].err != PB_ERR_ALREADY_ERASED) {
            fail_msg("racer %d: %s", i, pb_err_hint(racers[i].err));
        }
    }
    assert_true(won >= 0);
    for (int i = 0; i < RACERS; i++)
        assert_string_equal(racers[i].receipt.id, racers[won].receipt.id);
    struct pb_http_reply r;
    pb_test_call(&t, &a.owner, "GET", "/api/v1/erasures", NULL, 200, &r);
    assert_int_equal(json_array_size(json_object_get(r.json, "items")), 1);
    pb_http_reply_free(&r);
    pb_test_call(&t, &a.owner, "GET", "/api/v1/consent/verify", NULL, 200, &r);
    assert_true(json_is_true(json_object_get(r.json, "ok")));
    pb_http_reply_free(&r);
    struct peek k = {.account_id = a.id, .contact_id = x};
    peek(&k);
    assert_int_equal(k.erased, 1); /* one erased event, not four */
    assert_int_equal(member_count(&a.owner, list), 1);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_erase_wipes),
        cmocka_unit_test(test_raw_bytes),
        cmocka_unit_test(test_stats_survive),
        cmocka_unit_test(test_suppression),
        cmocka_unit_test(test_permissions_and_receipts),
        cmocka_unit_test(test_concurrent),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
