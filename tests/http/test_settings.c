/*
 * The sending settings through the real server: the SMTP relay (round trip,
 * defaults, the password never in a reply, the audit log or the raw SQLite
 * files, kept when left out and removed with "", asked again for a new
 * host, every bad value named), DKIM keys (both algorithms with DNS records
 * whose p= decodes to a key of the right size, listing, replacing,
 * deleting, bad names, the limit per account, and keys loaded for the
 * sender that sign and match what was published), 403 for authors on every
 * settings route, the account's tracking mode, and the campaigns part of a
 * person's consent history. Runs on SQLite, or on PostgreSQL when
 * PB_TEST_STORE_URL is set.
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

#include <curl/curl.h>
#include <gnutls/abstract.h>
#include <gnutls/gnutls.h>
#include <jansson.h>
#include <sodium.h>

#include "core/buf.h"
#include "core/clock.h"
#include "core/err.h"
#include "core/id.h"
#include "core/strutil.h"
#include "mail/dkim.h"
#include "model/dkim_keys.h"
#include "model/relay.h"
#include "model/tenant.h"
#include "support/calls.h"
#include "support/testapp.h"

#define PASSWORD "Copper-Meadow-Signal-417"
/* The relay passwords: they must never come back, nor sit plain in the database. */
#define RELAY_PASSWORD   "Relay-Secret-Walrus-8841"
#define RELAY_PASSWORD_2 "Second-Relay-Heron-5520"

static struct pb_testapp t;

/* Acme (enterprise) with an owner and an author. */
static char acme_id[32], owner_id[32], author_id[32];
static struct pb_http_client owner, author;

/* ---- helpers ---- */

/* The message of a failed assertion, built before the reply is freed. */
static char failure[8192];

/* A request that must answer `status`, and whose body must not hold either relay password. */
static void
call(const char *method, const char *path, const char *body, long status, struct pb_http_reply *r)
{
    pb_test_call(&t, &owner, method, path, body, status, r);
    if (strstr(r->body, RELAY_PASSWORD) != NULL || strstr(r->body, RELAY_PASSWORD_2) != NULL) {
        snprintf(failure, sizeof(failure), "%s %s answered a relay password: %s", method, path,
                 r->body);
        pb_http_reply_free(r);
        fail_msg("%s", failure);
    }
}

static const char *
str(const struct pb_http_reply *r, const char *key)
{
    const char *s = json_string_value(json_object_get(r->json, key));
    if (s == NULL)
        fail_msg("no string \"%s\" in %s", key, r->body);
    return s;
}

static long
num(const struct pb_http_reply *r, const char *key)
{
    json_t *n = json_object_get(r->json, key);
    if (!json_is_integer(n))
        fail_msg("no integer \"%s\" in %s", key, r->body);
    return (long)json_integer_value(n);
}

static bool
flag(const struct pb_http_reply *r, const char *key)
{
    json_t *b = json_object_get(r->json, key);
    if (!json_is_boolean(b))
        fail_msg("no boolean \"%s\" in %s", key, r->body);
    return json_is_true(b);
}

/* PUT /settings/smtp with `body`, expecting 200 and the relay in the GET shape. */
static void
put_relay(const char *body, struct pb_http_reply *r)
{
    call("PUT", "/api/v1/settings/smtp", body, 200, r);
}

/* The relay as pb_relay_load gives it to the sender. */
static void
load_relay(struct pb_relay_config *cfg)
{
    assert_int_equal(pb_relay_load(&t.app, acme_id, cfg), PB_ERR_OK);
}

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

/* The newest audit entry with `action` (a new reference), or NULL. */
static json_t *
newest_audit(const char *action)
{
    struct pb_http_reply r;
    call("GET", "/api/v1/audit?limit=100", NULL, 200, &r);
    json_t *found = NULL;
    size_t i;
    json_t *item;
    json_array_foreach(json_object_get(r.json, "items"), i, item)
    {
        const char *a = json_string_value(json_object_get(item, "action"));
        if (found == NULL && a != NULL && strcmp(a, action) == 0)
            found = json_incref(item);
    }
    pb_http_reply_free(&r);
    return found;
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
    pb_test_login(&t, &owner, "owner@acme.example.org", PASSWORD);
    pb_test_login(&t, &author, "author@acme.example.org", PASSWORD);
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

/* ---- the SMTP relay ---- */

static void
smtp_round_trip(void **state)
{
    (void)state;
    struct pb_http_reply r;
    struct pb_relay_config cfg;

    /* None yet. */
    pb_test_expect_error(&t, &owner, "GET", "/api/v1/settings/smtp", NULL, 404, PB_ERR_NOT_FOUND,
                         NULL);
    assert_int_equal(pb_relay_load(&t.app, acme_id, &cfg), PB_ERR_NOT_FOUND);

    /* The defaults: STARTTLS on 587, 4 connections, no rate limit. */
    put_relay(
        "{\"host\":\"Smtp.Example.ORG\",\"username\":\"mailer\",\"password\":\"" RELAY_PASSWORD
        "\"}",
        &r);
    assert_string_equal(str(&r, "host"), "smtp.example.org");
    assert_int_equal(num(&r, "port"), 587);
    assert_string_equal(str(&r, "tls"), "starttls");
    assert_string_equal(str(&r, "username"), "mailer");
    assert_true(flag(&r, "has_password"));
    assert_int_equal(num(&r, "max_connections"), 4);
    assert_int_equal(num(&r, "rate_per_second"), 0);
    assert_int_equal(strlen(str(&r, "updated_at")), 20);
    assert_null(json_object_get(r.json, "password"));
    char *put_body = json_dumps(r.json, JSON_COMPACT | JSON_SORT_KEYS);
    pb_http_reply_free(&r);

    /* GET answers what PUT answered. */
    call("GET", "/api/v1/settings/smtp", NULL, 200, &r);
    char *get_body = json_dumps(r.json, JSON_COMPACT | JSON_SORT_KEYS);
    pb_http_reply_free(&r);
    assert_non_null(put_body);
    assert_non_null(get_body);
    assert_string_equal(put_body, get_body);
    free(put_body);
    free(get_body);

    /* The sender gets the password opened. */
    load_relay(&cfg);
    assert_string_equal(cfg.host, "smtp.example.org");
    assert_int_equal(cfg.port, 587);
    assert_int_equal(cfg.tls, PB_SMTP_TLS_STARTTLS);
    assert_string_equal(cfg.user, "mailer");
    assert_string_equal(cfg.password, RELAY_PASSWORD);
    assert_int_equal(cfg.max_connections, 4);
    sodium_memzero(&cfg, sizeof(cfg));

    /* Replaced without a password: the stored one is kept; smtps defaults to 465. */
    put_relay("{\"host\":\"smtp.example.org\",\"tls\":\"smtps\",\"username\":\"mailer\","
              "\"max_connections\":8,\"rate_per_second\":250}",
              &r);
    assert_int_equal(num(&r, "port"), 465);
    assert_string_equal(str(&r, "tls"), "smtps");
    assert_true(flag(&r, "has_password"));
    assert_int_equal(num(&r, "max_connections"), 8);
    assert_int_equal(num(&r, "rate_per_second"), 250);
    pb_http_reply_free(&r);
    load_relay(&cfg);
    assert_int_equal(cfg.tls, PB_SMTP_TLS_SMTPS);
    assert_int_equal(cfg.port, 465);
    assert_int_equal(cfg.rate_per_second, 250);
    assert_string_equal(cfg.password, RELAY_PASSWORD);
    sodium_memzero(&cfg, sizeof(cfg));

    /* Another host must be given the password again: nothing changes until it is. */
    pb_test_expect_error(&t, &owner, "PUT", "/api/v1/settings/smtp",
                         "{\"host\":\"relay.elsewhere.example\",\"username\":\"mailer\"}", 422,
                         PB_ERR_INVALID, "password");
    load_relay(&cfg);
    assert_string_equal(cfg.host, "smtp.example.org");
    assert_string_equal(cfg.password, RELAY_PASSWORD);
    sodium_memzero(&cfg, sizeof(cfg));
    put_relay("{\"host\":\"relay.elsewhere.example\",\"port\":2525,\"username\":\"mailer\","
              "\"password\":\"" RELAY_PASSWORD_2 "\"}",
              &r);
    assert_int_equal(num(&r, "port"), 2525);
    assert_true(flag(&r, "has_password"));
    pb_http_reply_free(&r);
    load_relay(&cfg);
    assert_string_equal(cfg.host, "relay.elsewhere.example");
    assert_string_equal(cfg.password, RELAY_PASSWORD_2);
    sodium_memzero(&cfg, sizeof(cfg));

    /* "" removes it. */
    put_relay("{\"host\":\"relay.elsewhere.example\",\"username\":\"mailer\",\"password\":\"\"}",
              &r);
    assert_false(flag(&r, "has_password"));
    pb_http_reply_free(&r);
    load_relay(&cfg);
    assert_string_equal(cfg.password, "");

    /* No username: no AUTH, shown as null. */
    put_relay("{\"host\":\"relay.elsewhere.example\"}", &r);
    assert_true(json_is_null(json_object_get(r.json, "username")));
    assert_false(flag(&r, "has_password"));
    pb_http_reply_free(&r);

    /* tls "none" on this host, by name or address; port 25 by default. */
    const char *const local[] = {"localhost", "127.0.0.1", "127.9.8.7", "::1"};
    for (size_t i = 0; i < sizeof(local) / sizeof(local[0]); i++) {
        char body[256];
        snprintf(body, sizeof(body), "{\"host\":\"%s\",\"tls\":\"none\"}", local[i]);
        put_relay(body, &r);
        assert_string_equal(str(&r, "host"), local[i]);
        assert_string_equal(str(&r, "tls"), "none");
        assert_int_equal(num(&r, "port"), 25);
        pb_http_reply_free(&r);
    }
    load_relay(&cfg);
    assert_int_equal(cfg.tls, PB_SMTP_TLS_NONE);
    assert_string_equal(cfg.host, "::1");
}

static void
smtp_audited_never_the_password(void **state)
{
    (void)state;
    struct pb_http_reply r;
    put_relay(
        "{\"host\":\"smtp.example.org\",\"username\":\"mailer\",\"password\":\"" RELAY_PASSWORD
        "\"}",
        &r);
    pb_http_reply_free(&r);
    json_t *e = newest_audit("settings.smtp_changed");
    assert_non_null(e);
    json_t *d = json_object_get(e, "detail");
    char *text = json_dumps(e, JSON_COMPACT);
    assert_non_null(text);
    snprintf(failure, sizeof(failure), "audit entry: %s", text);
    bool right = strstr(text, RELAY_PASSWORD) == NULL &&
                 json_is_string(json_object_get(d, "host")) &&
                 strcmp(json_string_value(json_object_get(d, "host")), "smtp.example.org") == 0 &&
                 json_is_string(json_object_get(d, "password")) &&
                 strcmp(json_string_value(json_object_get(d, "password")), "set") == 0 &&
                 json_is_string(json_object_get(e, "actor_user_id")) &&
                 strcmp(json_string_value(json_object_get(e, "actor_user_id")), owner_id) == 0;
    free(text);
    json_decref(e);
    if (!right)
        fail_msg("%s", failure);

    /* The whole audit log, as a body, holds no relay password. */
    call("GET", "/api/v1/audit?limit=100", NULL, 200, &r);
    pb_http_reply_free(&r);

    if (getenv("PB_TEST_STORE_URL") != NULL || strncmp(t.store_url, "sqlite:", 7) != 0)
        return; /* the raw-file check is for SQLite */
    const char *db = t.store_url + 7;
    char wal[1100];
    snprintf(wal, sizeof(wal), "%s-wal", db);
    assert_true(file_contains(db, "SQLite format 3")); /* the right file */
    /* The host is stored plain (so it must be found), the passwords never. */
    assert_true(file_contains(db, "smtp.example.org") || file_contains(wal, "smtp.example.org"));
    assert_false(file_contains(db, RELAY_PASSWORD));
    assert_false(file_contains(wal, RELAY_PASSWORD));
    assert_false(file_contains(db, RELAY_PASSWORD_2));
    assert_false(file_contains(wal, RELAY_PASSWORD_2));
}

static void
smtp_bad_input(void **state)
{
    (void)state;
    struct pb_http_reply r;
    put_relay("{\"host\":\"smtp.example.org\",\"port\":587,\"username\":\"mailer\","
              "\"password\":\"" RELAY_PASSWORD "\"}",
              &r);
    char *before = json_dumps(r.json, JSON_COMPACT | JSON_SORT_KEYS);
    pb_http_reply_free(&r);
    assert_non_null(before);

    static const struct {
        const char *body;
        long status;
        int code;
        const char *field;
    } bad[] = {
        {"{\"host\":\"smtp.example.org\",\"tls\":\"none\"}", 422, PB_ERR_INVALID, "tls"},
        {"{\"host\":\"10.0.0.5\",\"tls\":\"none\"}", 422, PB_ERR_INVALID, "tls"},
        {"{\"host\":\"localhost.example.org\",\"tls\":\"none\"}", 422, PB_ERR_INVALID, "tls"},
        {"{\"host\":\"smtp.example.org\",\"tls\":\"ssl\"}", 422, PB_ERR_INVALID, "tls"},
        {"{\"host\":\"smtp.example.org\",\"port\":0}", 422, PB_ERR_INVALID, "port"},
        {"{\"host\":\"smtp.example.org\",\"port\":65536}", 422, PB_ERR_INVALID, "port"},
        {"{\"host\":\"smtp.example.org\",\"port\":4294967883}", 422, PB_ERR_INVALID, "port"},
        {"{\"host\":\"smtp.example.org\",\"port\":\"587\"}", 400, PB_ERR_WRONG_TYPE, "port"},
        {"{\"host\":\"smtp.example.org\",\"max_connections\":0}", 422, PB_ERR_INVALID,
         "max_connections"},
        {"{\"host\":\"smtp.example.org\",\"max_connections\":33}", 422, PB_ERR_INVALID,
         "max_connections"},
        {"{\"host\":\"smtp.example.org\",\"rate_per_second\":-1}", 422, PB_ERR_INVALID,
         "rate_per_second"},
        {"{\"host\":\"smtp.example.org\",\"rate_per_second\":100001}", 422, PB_ERR_INVALID,
         "rate_per_second"},
        {"{\"host\":\"smtp example.org\"}", 422, PB_ERR_INVALID, "host"},
        {"{\"host\":\"-smtp.example.org\"}", 422, PB_ERR_INVALID, "host"},
        {"{\"host\":\"smtp..example.org\"}", 422, PB_ERR_INVALID, "host"},
        {"{\"host\":\"300.1.1.1\"}", 422, PB_ERR_INVALID, "host"},
        {"{\"host\":\"[::1]\"}", 422, PB_ERR_INVALID, "host"},
        {"{\"host\":\"\"}", 422, PB_ERR_INVALID, "host"},
        {"{\"port\":587}", 400, PB_ERR_MISSING_FIELD, "host"},
        {"{\"host\":\"smtp.example.org\",\"password\":\"x\"}", 422, PB_ERR_INVALID, "username"},
        {"{\"host\":\"smtp.example.org\",\"colour\":\"blue\"}", 400, PB_ERR_UNKNOWN_FIELD,
         "colour"},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        pb_test_expect_error(&t, &owner, "PUT", "/api/v1/settings/smtp", bad[i].body, bad[i].status,
                             bad[i].code, bad[i].field);

    /* Too long: a host of 256 characters, a password over the limit. */
    char body[1024], longer[400];
    memset(longer, 'a', 256);
    longer[256] = '\0';
    snprintf(body, sizeof(body), "{\"host\":\"%s\"}", longer);
    pb_test_expect_error(&t, &owner, "PUT", "/api/v1/settings/smtp", body, 422, PB_ERR_INVALID,
                         "host");
    snprintf(body, sizeof(body),
             "{\"host\":\"smtp.example.org\",\"username\":\"mailer\",\"password\":\"%s\"}", longer);
    pb_test_expect_error(&t, &owner, "PUT", "/api/v1/settings/smtp", body, 422, PB_ERR_INVALID,
                         "password");

    /* Nothing was written by any of them. */
    call("GET", "/api/v1/settings/smtp", NULL, 200, &r);
    char *after = json_dumps(r.json, JSON_COMPACT | JSON_SORT_KEYS);
    pb_http_reply_free(&r);
    assert_non_null(after);
    assert_string_equal(before, after);
    free(before);
    free(after);
}

static void
authors_forbidden(void **state)
{
    (void)state;
    static const struct {
        const char *method, *path, *body;
    } routes[] = {
        {"GET", "/api/v1/settings/smtp", NULL},
        {"PUT", "/api/v1/settings/smtp", "{\"host\":\"evil.example.org\"}"},
        {"GET", "/api/v1/settings/dkim", NULL},
        {"PUT", "/api/v1/settings/dkim",
         "{\"domain\":\"example.org\",\"selector\":\"x\",\"algorithm\":\"ed25519-sha256\"}"},
        {"DELETE", "/api/v1/settings/dkim/example.org/x", NULL},
        {"PATCH", "/api/v1/account", "{\"tracking\":\"individual\"}"},
    };
    for (size_t i = 0; i < sizeof(routes) / sizeof(routes[0]); i++)
        pb_test_expect_error(&t, &author, routes[i].method, routes[i].path, routes[i].body, 403,
                             PB_ERR_FORBIDDEN, NULL);
    /* Nothing changed: the owner's relay is not the author's. */
    struct pb_http_reply r;
    pb_test_http(&t, &owner, "GET", "/api/v1/settings/smtp", NULL, &r);
    assert_true(r.status == 404 || strstr(r.body, "evil.example.org") == NULL);
    pb_http_reply_free(&r);
}

/* ---- DKIM keys ---- */

/* The p= of a DNS record value, decoded from base64 into `out`; its length. */
static size_t
record_key(const char *value, unsigned char *out, size_t size)
{
    const char *p = strstr(value, "p=");
    assert_non_null(p);
    size_t len = 0;
    if (sodium_base642bin(out, size, p + 2, strlen(p + 2), NULL, &len, NULL,
                          sodium_base64_VARIANT_ORIGINAL) != 0)
        fail_msg("p= is not base64: %s", value);
    return len;
}

/* The size in bits of an RSA public key given as DER SubjectPublicKeyInfo. */
static unsigned
rsa_bits(const unsigned char *der, size_t len)
{
    gnutls_pubkey_t pub;
    unsigned bits = 0;
    gnutls_datum_t d = {(unsigned char *)der, (unsigned)len};
    assert_int_equal(gnutls_pubkey_init(&pub), 0);
    assert_int_equal(gnutls_pubkey_import(pub, &d, GNUTLS_X509_FMT_DER), 0);
    assert_int_equal(gnutls_pubkey_get_pk_algorithm(pub, &bits), GNUTLS_PK_RSA);
    gnutls_pubkey_deinit(pub);
    return bits;
}

/* Asserts a key as the API shows it: its names and DNS record. */
static void
check_key(json_t *k, const char *domain, const char *selector, const char *algorithm)
{
    char name[256], prefix[64];
    json_t *dns = json_object_get(k, "dns");
    snprintf(name, sizeof(name), "%s._domainkey.%s", selector, domain);
    snprintf(prefix, sizeof(prefix),
             "v=DKIM1; k=%s; p=", strcmp(algorithm, "rsa-sha256") == 0 ? "rsa" : "ed25519");
    const char *value = json_string_value(json_object_get(dns, "value"));
    char *text = json_dumps(k, JSON_COMPACT);
    snprintf(failure, sizeof(failure), "key: %s", text ? text : "?");
    free(text);
    if (!json_is_string(json_object_get(k, "domain")) ||
        strcmp(json_string_value(json_object_get(k, "domain")), domain) != 0 ||
        !json_is_string(json_object_get(k, "selector")) ||
        strcmp(json_string_value(json_object_get(k, "selector")), selector) != 0 ||
        !json_is_string(json_object_get(k, "algorithm")) ||
        strcmp(json_string_value(json_object_get(k, "algorithm")), algorithm) != 0 ||
        !json_is_string(json_object_get(k, "created_at")) ||
        !json_is_string(json_object_get(dns, "name")) ||
        strcmp(json_string_value(json_object_get(dns, "name")), name) != 0 ||
        !json_is_string(json_object_get(dns, "type")) ||
        strcmp(json_string_value(json_object_get(dns, "type")), "TXT") != 0 || value == NULL ||
        strncmp(value, prefix, strlen(prefix)) != 0)
        fail_msg("%s", failure);
    unsigned char der[1024];
    size_t len = record_key(value, der, sizeof(der));
    if (strcmp(algorithm, "rsa-sha256") == 0)
        assert_int_equal(rsa_bits(der, len), 2048);
    else
        assert_int_equal(len, 32);
}

/* PUT /settings/dkim, expecting 200 and the key back. */
static void
put_key(const char *domain, const char *selector, const char *algorithm, const char *want_domain,
        const char *want_selector)
{
    char body[512];
    struct pb_http_reply r;
    snprintf(body, sizeof(body), "{\"domain\":\"%s\",\"selector\":\"%s\",\"algorithm\":\"%s\"}",
             domain, selector, algorithm);
    call("PUT", "/api/v1/settings/dkim", body, 200, &r);
    check_key(r.json, want_domain, want_selector, algorithm);
    pb_http_reply_free(&r);
}

/* GET /settings/dkim: the items (a new reference). */
static json_t *
list_keys(void)
{
    struct pb_http_reply r;
    call("GET", "/api/v1/settings/dkim", NULL, 200, &r);
    json_t *items = json_incref(json_object_get(r.json, "items"));
    pb_http_reply_free(&r);
    assert_true(json_is_array(items));
    return items;
}

static void
dkim_keys(void **state)
{
    (void)state;
    json_t *items = list_keys();
    assert_int_equal(json_array_size(items), 0);
    json_decref(items);

    put_key("Mail.Example.ORG", "pb2024", "rsa-sha256", "mail.example.org", "pb2024");
    put_key("mail.example.org", "ed", "ed25519-sha256", "mail.example.org", "ed");

    /* Listed in selector order, both with their records. */
    items = list_keys();
    assert_int_equal(json_array_size(items), 2);
    check_key(json_array_get(items, 0), "mail.example.org", "ed", "ed25519-sha256");
    check_key(json_array_get(items, 1), "mail.example.org", "pb2024", "rsa-sha256");
    assert_null(json_object_get(json_array_get(items, 0), "private_key"));
    json_decref(items);

    /* The same domain and selector again: replaced, with a new key. */
    struct pb_http_reply r;
    call("GET", "/api/v1/settings/dkim", NULL, 200, &r);
    char *old = json_dumps(r.json, JSON_COMPACT);
    pb_http_reply_free(&r);
    put_key("mail.example.org", "ed", "ed25519-sha256", "mail.example.org", "ed");
    items = list_keys();
    assert_int_equal(json_array_size(items), 2);
    char *now = json_dumps(items, JSON_COMPACT);
    assert_non_null(old);
    assert_non_null(now);
    const char *p_old = strstr(old, "k=ed25519; p="), *p_new = strstr(now, "k=ed25519; p=");
    assert_non_null(p_old);
    assert_non_null(p_new);
    assert_memory_not_equal(p_old, p_new, 13 + 43); /* 32 bytes are 43+ base64 characters */
    free(old);
    free(now);
    json_decref(items);

    json_t *e = newest_audit("settings.dkim_changed");
    assert_non_null(e);
    json_t *d = json_object_get(e, "detail");
    assert_true(json_is_true(json_object_get(d, "replaced")));
    assert_string_equal(json_string_value(json_object_get(d, "selector")), "ed");
    json_decref(e);

    /* Delete: 204, then gone (404 again); the other key stays. */
    pb_test_call_ok(&t, &owner, "DELETE", "/api/v1/settings/dkim/mail.example.org/pb2024", NULL,
                    204);
    pb_test_expect_error(&t, &owner, "DELETE", "/api/v1/settings/dkim/mail.example.org/pb2024",
                         NULL, 404, PB_ERR_NOT_FOUND, NULL);
    pb_test_expect_error(&t, &owner, "DELETE", "/api/v1/settings/dkim/other.example.org/ed", NULL,
                         404, PB_ERR_NOT_FOUND, NULL);
    pb_test_expect_error(&t, &owner, "DELETE", "/api/v1/settings/dkim/bad_domain/ed", NULL, 404,
                         PB_ERR_NOT_FOUND, NULL);
    items = list_keys();
    assert_int_equal(json_array_size(items), 1);
    check_key(json_array_get(items, 0), "mail.example.org", "ed", "ed25519-sha256");
    json_decref(items);
    e = newest_audit("settings.dkim_deleted");
    assert_non_null(e);
    assert_string_equal(
        json_string_value(json_object_get(json_object_get(e, "detail"), "selector")), "pb2024");
    json_decref(e);
}

static void
dkim_bad_input(void **state)
{
    (void)state;
    static const struct {
        const char *domain, *selector, *algorithm, *field;
    } bad[] = {
        {"localhost", "s1", "ed25519-sha256", "domain"},
        {"exa mple.org", "s1", "ed25519-sha256", "domain"},
        {"-a.example.org", "s1", "ed25519-sha256", "domain"},
        {"a-.example.org", "s1", "ed25519-sha256", "domain"},
        {"example.org.", "s1", "ed25519-sha256", "domain"},
        {"", "s1", "ed25519-sha256", "domain"},
        {"example.org", "a_b", "ed25519-sha256", "selector"},
        {"example.org", "", "ed25519-sha256", "selector"},
        {"example.org", "s1", "rsa-sha1", "algorithm"},
        {"example.org", "s1", "ed25519", "algorithm"},
    };
    char body[512];
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        snprintf(body, sizeof(body), "{\"domain\":\"%s\",\"selector\":\"%s\",\"algorithm\":\"%s\"}",
                 bad[i].domain, bad[i].selector, bad[i].algorithm);
        pb_test_expect_error(&t, &owner, "PUT", "/api/v1/settings/dkim", body, 422, PB_ERR_INVALID,
                             bad[i].field);
    }
    /* A selector of 64 characters, a label of 64 in the domain. */
    char long_label[80];
    memset(long_label, 'x', 64);
    long_label[64] = '\0';
    snprintf(body, sizeof(body),
             "{\"domain\":\"example.org\",\"selector\":\"%s\",\"algorithm\":\"ed25519-sha256\"}",
             long_label);
    pb_test_expect_error(&t, &owner, "PUT", "/api/v1/settings/dkim", body, 422, PB_ERR_INVALID,
                         "selector");
    snprintf(body, sizeof(body),
             "{\"domain\":\"%s.org\",\"selector\":\"s\",\"algorithm\":\"ed25519-sha256\"}",
             long_label);
    pb_test_expect_error(&t, &owner, "PUT", "/api/v1/settings/dkim", body, 422, PB_ERR_INVALID,
                         "domain");
    pb_test_expect_error(&t, &owner, "PUT", "/api/v1/settings/dkim",
                         "{\"domain\":\"example.org\",\"selector\":\"s\",\"algorithm\":\"rsa-"
                         "sha256\",\"bits\":1024}",
                         400, PB_ERR_UNKNOWN_FIELD, "bits");
    pb_test_expect_error(&t, &owner, "PUT", "/api/v1/settings/dkim",
                         "{\"domain\":\"example.org\",\"selector\":\"s\"}", 400,
                         PB_ERR_MISSING_FIELD, "algorithm");

    /* None of them was stored. */
    json_t *items = list_keys();
    size_t i;
    json_t *k;
    json_array_foreach(items, i, k)
    {
        assert_string_not_equal(json_string_value(json_object_get(k, "domain")), "example.org");
    }
    json_decref(items);
}

static void
dkim_limit_per_account(void **state)
{
    (void)state;
    json_t *items = list_keys();
    size_t have = json_array_size(items);
    json_decref(items);
    assert_true(have < PB_DKIM_KEYS_MAX);

    char selector[16], path[128];
    for (size_t i = have; i < PB_DKIM_KEYS_MAX; i++) {
        snprintf(selector, sizeof(selector), "lim%zu", i);
        put_key("limit.example.net", selector, "ed25519-sha256", "limit.example.net", selector);
    }
    pb_test_expect_error(&t, &owner, "PUT", "/api/v1/settings/dkim",
                         "{\"domain\":\"limit.example.net\",\"selector\":\"one-more\","
                         "\"algorithm\":\"ed25519-sha256\"}",
                         422, PB_ERR_INVALID, NULL);
    /* Replacing one is still possible at the limit. */
    snprintf(selector, sizeof(selector), "lim%zu", have);
    put_key("limit.example.net", selector, "ed25519-sha256", "limit.example.net", selector);
    items = list_keys();
    assert_int_equal(json_array_size(items), PB_DKIM_KEYS_MAX);
    json_decref(items);

    for (size_t i = have; i < PB_DKIM_KEYS_MAX; i++) {
        snprintf(path, sizeof(path), "/api/v1/settings/dkim/limit.example.net/lim%zu", i);
        pb_test_call_ok(&t, &owner, "DELETE", path, NULL, 204);
    }
    items = list_keys();
    assert_int_equal(json_array_size(items), have);
    json_decref(items);
}

/* The p= of the listed key of `domain` and `selector` (malloc'd), or NULL. */
static char *
listed_public(const char *domain, const char *selector)
{
    json_t *items = list_keys();
    char *found = NULL;
    size_t i;
    json_t *k;
    json_array_foreach(items, i, k)
    {
        if (strcmp(json_string_value(json_object_get(k, "domain")), domain) != 0 ||
            strcmp(json_string_value(json_object_get(k, "selector")), selector) != 0)
            continue;
        const char *value = json_string_value(json_object_get(json_object_get(k, "dns"), "value"));
        const char *p = value != NULL ? strstr(value, "p=") : NULL;
        if (p != NULL)
            found = strdup(p + 2);
    }
    json_decref(items);
    return found;
}

static void
dkim_keys_load_and_sign(void **state)
{
    (void)state;
    put_key("send.example.com", "rsa1", "rsa-sha256", "send.example.com", "rsa1");
    put_key("send.example.com", "ed1", "ed25519-sha256", "send.example.com", "ed1");
    put_key("other.example.com", "ed1", "ed25519-sha256", "other.example.com", "ed1");

    struct pb_dkim_key *keys[4] = {NULL};
    int n = -1;
    assert_int_equal(pb_dkim_keys_load(&t.app, acme_id, "Send.Example.com", keys, 4, &n),
                     PB_ERR_OK);
    assert_int_equal(n, 2);

    static const char msg[] = "From: News <news@send.example.com>\r\n"
                              "To: someone@example.net\r\n"
                              "Subject: Hello\r\n"
                              "Date: Sat, 29 Nov 2025 09:00:00 +0000\r\n"
                              "Message-ID: <1@send.example.com>\r\n"
                              "\r\n"
                              "Hello there.\r\n";
    const char *selectors[2] = {"ed1", "rsa1"}; /* selector order */
    for (int i = 0; i < n; i++) {
        /* The loaded key is the one published. */
        char *pub = NULL, *listed = listed_public("send.example.com", selectors[i]);
        assert_int_equal(pb_dkim_key_public(keys[i], &pub), PB_ERR_OK);
        assert_non_null(listed);
        assert_string_equal(pub, listed);
        free(pub);
        free(listed);

        struct pb_buf sig;
        pb_buf_init(&sig, 4096);
        assert_int_equal(pb_dkim_sign(keys[i], msg, sizeof(msg) - 1, pb_clock_now(), NULL, &sig),
                         PB_ERR_OK);
        char want[64];
        assert_non_null(sig.data);
        assert_true(strncmp(sig.data, "DKIM-Signature:", 15) == 0);
        assert_non_null(strstr(sig.data, "d=send.example.com"));
        snprintf(want, sizeof(want), "s=%s", selectors[i]);
        assert_non_null(strstr(sig.data, want));
        assert_non_null(strstr(sig.data, i == 0 ? "a=ed25519-sha256" : "a=rsa-sha256"));
        pb_buf_release(&sig, 0);
        pb_dkim_key_free(keys[i]);
    }

    /* At most `max`; none for a domain without keys. */
    n = -1;
    assert_int_equal(pb_dkim_keys_load(&t.app, acme_id, "send.example.com", keys, 1, &n),
                     PB_ERR_OK);
    assert_int_equal(n, 1);
    pb_dkim_key_free(keys[0]);
    n = -1;
    assert_int_equal(pb_dkim_keys_load(&t.app, acme_id, "nokeys.example.com", keys, 4, &n),
                     PB_ERR_OK);
    assert_int_equal(n, 0);

    pb_test_call_ok(&t, &owner, "DELETE", "/api/v1/settings/dkim/send.example.com/rsa1", NULL, 204);
    pb_test_call_ok(&t, &owner, "DELETE", "/api/v1/settings/dkim/send.example.com/ed1", NULL, 204);
    pb_test_call_ok(&t, &owner, "DELETE", "/api/v1/settings/dkim/other.example.com/ed1", NULL, 204);
}

/* ---- the account's tracking mode ---- */

static const char *
account_tracking(struct pb_http_reply *r)
{
    call("GET", "/api/v1/account", NULL, 200, r);
    return str(r, "tracking");
}

static void
tracking_mode(void **state)
{
    (void)state;
    struct pb_http_reply r;
    assert_string_equal(account_tracking(&r), "aggregate"); /* the privacy-first default */
    pb_http_reply_free(&r);

    call("PATCH", "/api/v1/account", "{\"tracking\":\"individual\"}", 200, &r);
    assert_string_equal(str(&r, "tracking"), "individual");
    pb_http_reply_free(&r);
    assert_string_equal(account_tracking(&r), "individual");
    pb_http_reply_free(&r);
    json_t *e = newest_audit("account.updated");
    assert_non_null(e);
    assert_string_equal(
        json_string_value(json_object_get(json_object_get(e, "detail"), "tracking")), "individual");
    json_decref(e);

    /* Bad values: named, nothing changed. */
    pb_test_expect_error(&t, &owner, "PATCH", "/api/v1/account", "{\"tracking\":\"loud\"}", 422,
                         PB_ERR_INVALID, "tracking");
    pb_test_expect_error(&t, &owner, "PATCH", "/api/v1/account",
                         "{\"require_2fa\":false,\"tracking\":\"Individual\"}", 422, PB_ERR_INVALID,
                         "tracking");
    pb_test_expect_error(&t, &owner, "PATCH", "/api/v1/account", "{\"tracking\":1}", 400,
                         PB_ERR_WRONG_TYPE, "tracking");
    assert_string_equal(account_tracking(&r), "individual");
    pb_http_reply_free(&r);

    /* Both settings at once, then back to the default. */
    call("PATCH", "/api/v1/account", "{\"require_2fa\":false,\"tracking\":\"off\"}", 200, &r);
    assert_string_equal(str(&r, "tracking"), "off");
    assert_false(flag(&r, "require_2fa"));
    pb_http_reply_free(&r);
    call("PATCH", "/api/v1/account", "{\"tracking\":\"aggregate\"}", 200, &r);
    assert_string_equal(str(&r, "tracking"), "aggregate");
    pb_http_reply_free(&r);
}

/* ---- the campaigns of a person's history ---- */

struct received_case {
    const char *account_id;
    const char *list_id;
    const char *contact_id;
    struct pb_campaign campaign;
    int64_t sent_at;
};

static void
claimed(void *cls, const struct pb_recipient *r)
{
    (*(int *)cls)++;
    (void)r;
}

/* What the sender and the tracking links would do: a campaign sent to the list, opened once. */
static enum pb_qs
received_tx(struct pb_tx *tx, void *cls)
{
    struct received_case *rc = cls;
    const char *a = rc->account_id, *cid = rc->campaign.id;
    char last[PB_ID_LEN + 1];
    int64_t added = 0;
    int claims = 0;
    bool first = false, applied = false;
    struct pb_recipient_outcome sent = {
        .contact_id = rc->contact_id, .state = "sent", .attempts = 1, .sent_at = rc->sent_at};
    enum pb_qs qs;
    if ((qs = tx->ops->campaign_insert(tx->conn, &rc->campaign)) != PB_QS_ONE ||
        (qs = tx->ops->recipient_snapshot(tx->conn, a, cid, "", 100, last, &added)) < 0 ||
        (qs = tx->ops->recipient_claim(tx->conn, a, cid, rc->sent_at, "test", rc->sent_at + 60, 10,
                                       claimed, &claims)) < 0 ||
        (qs = tx->ops->recipient_finish_many(tx->conn, a, cid, "test", &sent, 1, &applied)) < 0 ||
        (qs = tx->ops->recipient_open(tx->conn, a, cid, rc->contact_id, rc->sent_at + 5, &first)) <
            0)
        return qs < 0 ? qs : PB_QS_HARD_ERROR;
    return added == 1 && claims == 1 && applied && first ? PB_QS_ONE : PB_QS_HARD_ERROR;
}

static void
history_shows_campaigns(void **state)
{
    (void)state;
    struct pb_http_reply r;
    char list_id[PB_ID_LEN + 1], contact_id[PB_ID_LEN + 1], body[256];
    call("POST", "/api/v1/lists", "{\"name\":\"Newsletter\",\"public\":false}", 201, &r);
    pb_strlcpy(list_id, str(&r, "id"), sizeof(list_id));
    pb_http_reply_free(&r);
    snprintf(body, sizeof(body), "{\"email\":\"reader@example.be\",\"lists\":[\"%s\"]}", list_id);
    call("POST", "/api/v1/contacts", body, 201, &r);
    pb_strlcpy(contact_id, str(&r, "id"), sizeof(contact_id));
    pb_http_reply_free(&r);

    /* Not a recipient of anything yet. */
    call("GET", "/api/v1/consent?email=reader@example.be", NULL, 200, &r);
    assert_true(json_is_array(json_object_get(r.json, "campaigns")));
    assert_int_equal(json_array_size(json_object_get(r.json, "campaigns")), 0);
    pb_http_reply_free(&r);

    static char html[] = "<p>Hello</p>", text[] = "Hello";
    struct received_case rc = {.account_id = acme_id, .list_id = list_id, .contact_id = contact_id};
    struct pb_campaign *cp = &rc.campaign;
    pb_id_new(cp->id);
    pb_strlcpy(cp->account_id, acme_id, sizeof(cp->account_id));
    pb_strlcpy(cp->name, "November news", sizeof(cp->name));
    pb_strlcpy(cp->subject, "News", sizeof(cp->subject));
    pb_strlcpy(cp->from_addr, "Acme <news@acme.example.org>", sizeof(cp->from_addr));
    cp->html = html;
    cp->text = text;
    pb_strlcpy(cp->state, "sending", sizeof(cp->state));
    pb_strlcpy(cp->created_by, "user:", sizeof(cp->created_by));
    pb_strlcpy(cp->list_ids[0], list_id, sizeof(cp->list_ids[0]));
    cp->list_count = 1;
    cp->created_at = cp->updated_at = pb_clock_now();
    rc.sent_at = 1764406800; /* 2025-11-29T09:00:00Z */
    assert_int_equal(pb_tenant_tx(&t.app, acme_id, PB_TX_WRITE, received_tx, &rc), PB_ERR_OK);

    call("GET", "/api/v1/consent?email=reader@example.be", NULL, 200, &r);
    json_t *campaigns = json_object_get(r.json, "campaigns");
    json_t *c = json_array_get(campaigns, 0);
    char *dump = json_dumps(campaigns, JSON_COMPACT);
    snprintf(failure, sizeof(failure), "campaigns: %s", dump ? dump : "?");
    free(dump);
    bool right =
        json_array_size(campaigns) == 1 && json_is_string(json_object_get(c, "campaign_id")) &&
        strcmp(json_string_value(json_object_get(c, "campaign_id")), cp->id) == 0 &&
        json_is_string(json_object_get(c, "name")) &&
        strcmp(json_string_value(json_object_get(c, "name")), "November news") == 0 &&
        json_is_string(json_object_get(c, "state")) &&
        strcmp(json_string_value(json_object_get(c, "state")), "sent") == 0 &&
        json_is_string(json_object_get(c, "sent_at")) &&
        strcmp(json_string_value(json_object_get(c, "sent_at")), "2025-11-29T09:00:00Z") == 0 &&
        json_integer_value(json_object_get(c, "opens")) == 1 &&
        json_is_integer(json_object_get(c, "clicks")) &&
        json_integer_value(json_object_get(c, "clicks")) == 0 &&
        json_is_null(json_object_get(c, "unsubscribed_at"));
    pb_http_reply_free(&r);
    if (!right)
        fail_msg("%s", failure);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(smtp_round_trip),
        cmocka_unit_test(smtp_audited_never_the_password),
        cmocka_unit_test(smtp_bad_input),
        cmocka_unit_test(authors_forbidden),
        cmocka_unit_test(dkim_keys),
        cmocka_unit_test(dkim_bad_input),
        cmocka_unit_test(dkim_limit_per_account),
        cmocka_unit_test(dkim_keys_load_and_sign),
        cmocka_unit_test(tracking_mode),
        cmocka_unit_test(history_shows_campaigns),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
