/*
 * Users, API keys, the account's settings and the audit log through the
 * real server: invitations (the mail read back from Postfix's smtp-sink),
 * keyset pagination, every error with its field, the last owner, other
 * accounts' ids, keys that authenticate and then stop. Runs on SQLite, or
 * on PostgreSQL when PB_TEST_STORE_URL is set.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <ctype.h>
#include <dirent.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <curl/curl.h>
#include <jansson.h>
#include <sodium.h>

#include "core/err.h"
#include "core/file.h"
#include "core/id.h"
#include "core/log.h"
#include "core/strutil.h"
#include "crypto/totp.h"
#include "core/clock.h"
#include "model/account.h"
#include "model/outbox.h"
#include "support/sink.h"
#include "support/testapp.h"
#include "support/tmpdir.h"

#define PASSWORD "Copper-Meadow-Signal-417"
#define INVITEE  "invitee@acme.example.org"

static struct pb_testapp t;
static char sink_dir[PATH_MAX];
static bool sink_running;

/* The main account (enterprise) and its people. */
static char acme_id[32], owner_id[32], admin_id[32], author_id[32];
static struct pb_http_client owner, admin, author;
/* Another enterprise account, a standard one, and their owners. */
static char other_id[32], other_owner_id[32], std_id[32], std_owner_id[32];
static struct pb_http_client other_owner, std_owner;

/* ---- helpers ---- */

static void
sink_stop(void)
{
    if (!sink_running)
        return;
    sink_running = false;
    pb_test_sink_stop(sink_dir);
}

/* A request whose reply must have `status`; the reply is kept in `r` (free it). */
static void
call(struct pb_http_client *c, const char *method, const char *path, const char *body, long status,
     struct pb_http_reply *r)
{
    pb_test_http(&t, c, method, path, body, r);
    if (r->status != status)
        fail_msg("%s %s: expected %ld, got %ld: %s", method, path, status, r->status, r->body);
}

/* The same, when the reply's body does not matter. */
static void
call_ok(struct pb_http_client *c, const char *method, const char *path, const char *body,
        long status)
{
    struct pb_http_reply r;
    call(c, method, path, body, status, &r);
    pb_http_reply_free(&r);
}

/* Asserts an error reply: status, code and (NULL: none) field. */
static void
expect_error(struct pb_http_client *c, const char *method, const char *path, const char *body,
             enum pb_err err, const char *field)
{
    struct pb_http_reply r;
    call(c, method, path, body, pb_err_status(err), &r);
    json_t *code = json_object_get(r.json, "code");
    if (!json_is_integer(code) || json_integer_value(code) != (json_int_t)err)
        fail_msg("%s %s: expected code %d (%s), got %s", method, path, (int)err, pb_err_name(err),
                 r.body);
    const char *got = json_string_value(json_object_get(r.json, "field"));
    if (field == NULL && got != NULL)
        fail_msg("%s %s: expected no field, got %s", method, path, r.body);
    if (field != NULL && (got == NULL || strcmp(got, field) != 0))
        fail_msg("%s %s: expected field \"%s\", got %s", method, path, field, r.body);
    pb_http_reply_free(&r);
}

/* POST /users as `c`; the new user's id into `id`. */
static void
invite(struct pb_http_client *c, const char *email, const char *role, char id[32])
{
    char body[512];
    struct pb_http_reply r;
    snprintf(body, sizeof(body), "{\"email\":\"%s\",\"role\":\"%s\"}", email, role);
    call(c, "POST", "/api/v1/users", body, 201, &r);
    const char *got = json_string_value(json_object_get(r.json, "id"));
    assert_non_null(got);
    assert_true(pb_id_valid(got));
    assert_string_equal(json_string_value(json_object_get(r.json, "email")), email);
    assert_string_equal(json_string_value(json_object_get(r.json, "role")), role);
    assert_true(json_is_false(json_object_get(r.json, "totp_enabled")));
    assert_true(json_is_string(json_object_get(r.json, "created_at")));
    /* Neither the set-password link nor any secret goes into the reply. */
    assert_null(strstr(r.body, "token"));
    assert_null(strstr(r.body, "password"));
    assert_null(strstr(r.body, "reset"));
    pb_strlcpy(id, got, 32);
    pb_http_reply_free(&r);
}

/* Every user id of the caller's account, following next_cursor with `limit` per page. */
static size_t
list_all(struct pb_http_client *c, const char *base, int limit, char ids[][PB_ID_LEN + 1],
         size_t max, int *pages)
{
    char path[256], cursor[PB_ID_LEN + 1] = "";
    size_t n = 0;
    *pages = 0;
    for (;;) {
        struct pb_http_reply r;
        if (cursor[0] == '\0')
            snprintf(path, sizeof(path), "%s?limit=%d", base, limit);
        else
            snprintf(path, sizeof(path), "%s?limit=%d&cursor=%s", base, limit, cursor);
        call(c, "GET", path, NULL, 200, &r);
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
            pb_strlcpy(ids[n++], id, PB_ID_LEN + 1);
        }
        json_t *next = json_object_get(r.json, "next_cursor");
        assert_non_null(next);
        if (json_is_null(next)) {
            pb_http_reply_free(&r);
            return n;
        }
        assert_true(json_is_string(next));
        /* A page that announces another one is full. */
        assert_int_equal(json_array_size(items), (size_t)limit);
        pb_strlcpy(cursor, json_string_value(next), sizeof(cursor));
        pb_http_reply_free(&r);
        assert_true(*pages < 100);
    }
}

/* The audit entry of `action` whose detail names `user_id`, or NULL (a new reference). */
static json_t *
find_audit(struct pb_http_client *c, const char *action, const char *user_id)
{
    struct pb_http_reply r;
    call(c, "GET", "/api/v1/audit?limit=200", NULL, 200, &r);
    json_t *items = json_object_get(r.json, "items"), *found = NULL;
    assert_true(json_is_array(items));
    size_t i;
    json_t *item;
    json_array_foreach(items, i, item)
    {
        json_t *detail = json_object_get(item, "detail");
        assert_true(json_is_object(detail));
        const char *a = json_string_value(json_object_get(item, "action"));
        const char *u = json_string_value(json_object_get(detail, "user_id"));
        if (a != NULL && strcmp(a, action) == 0 && u != NULL && strcmp(u, user_id) == 0) {
            found = json_incref(item);
            break;
        }
    }
    pb_http_reply_free(&r);
    return found;
}

/* Whether the audit log holds an `action` by `actor`. */
static bool
has_audit_action(struct pb_http_client *c, const char *action, const char *actor)
{
    struct pb_http_reply r;
    call(c, "GET", "/api/v1/audit?limit=200", NULL, 200, &r);
    bool found = false;
    size_t i;
    json_t *item;
    json_array_foreach(json_object_get(r.json, "items"), i, item)
    {
        const char *a = json_string_value(json_object_get(item, "action"));
        const char *u = json_string_value(json_object_get(item, "actor_user_id"));
        found =
            found || (a != NULL && u != NULL && strcmp(a, action) == 0 && strcmp(u, actor) == 0);
    }
    pb_http_reply_free(&r);
    return found;
}

/* RFC 4648 base32 (upper case, no padding) into bytes; returns the length. */
static size_t
base32_decode(const char *text, unsigned char *out, size_t size)
{
    static const char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
    unsigned buffer = 0;
    int bits = 0;
    size_t n = 0;
    for (const char *p = text; *p != '\0'; p++) {
        const char *at = strchr(alphabet, *p);
        assert_non_null(at);
        buffer = (buffer << 5) | (unsigned)(at - alphabet);
        bits += 5;
        if (bits >= 8) {
            bits -= 8;
            assert_true(n < size);
            out[n++] = (unsigned char)((buffer >> bits) & 0xffu);
        }
    }
    return n;
}

/*
 * Whether `text` has a header line "To:" (or the envelope's recipient) naming
 * `email` (lower case).
 */
static bool
addressed_to(const char *text, const char *email)
{
    for (const char *line = text; line != NULL && *line != '\0';) {
        size_t len = strcspn(line, "\n");
        if (len == 0 || (len == 1 && line[0] == '\r'))
            break; /* end of the headers */
        if ((strncasecmp(line, "To:", 3) == 0 || strncasecmp(line, "X-Rcpt-Args:", 12) == 0)) {
            char copy[1024];
            snprintf(copy, sizeof(copy), "%.*s", (int)len, line);
            for (char *p = copy; *p != '\0'; p++)
                *p = (char)tolower((unsigned char)*p);
            if (strstr(copy, email) != NULL)
                return true;
        }
        line = line[len] == '\n' ? line + len + 1 : line + len;
    }
    return false;
}

/* ---- setup ---- */

static int
setup(void **state)
{
    (void)state;
    int port = pb_test_sink_start(sink_dir);
    sink_running = true;
    pb_testapp_start(&t, port);

    pb_testapp_account(&t, "Acme", "enterprise", acme_id);
    pb_testapp_user(&t, acme_id, "owner@acme.example.org", "owner", PASSWORD, owner_id);
    pb_testapp_user(&t, acme_id, "admin@acme.example.org", "admin", PASSWORD, admin_id);
    pb_testapp_user(&t, acme_id, "author@acme.example.org", "author", PASSWORD, author_id);
    pb_testapp_account(&t, "Other", "enterprise", other_id);
    pb_testapp_user(&t, other_id, "owner@other.example.org", "owner", PASSWORD, other_owner_id);
    pb_testapp_account(&t, "Standard", "standard", std_id);
    pb_testapp_user(&t, std_id, "owner@std.example.org", "owner", PASSWORD, std_owner_id);

    memset(&owner, 0, sizeof(owner));
    memset(&admin, 0, sizeof(admin));
    memset(&author, 0, sizeof(author));
    memset(&other_owner, 0, sizeof(other_owner));
    memset(&std_owner, 0, sizeof(std_owner));
    pb_test_login(&t, &owner, "owner@acme.example.org", PASSWORD);
    pb_test_login(&t, &admin, "admin@acme.example.org", PASSWORD);
    pb_test_login(&t, &author, "author@acme.example.org", PASSWORD);
    pb_test_login(&t, &other_owner, "owner@other.example.org", PASSWORD);
    pb_test_login(&t, &std_owner, "owner@std.example.org", PASSWORD);
    return 0;
}

static int
teardown(void **state)
{
    (void)state;
    pb_testapp_stop(&t);
    sink_stop();
    return 0;
}

/* ---- users ---- */

static void
invitation_is_mailed(void **state)
{
    (void)state;
    char id[32];
    invite(&owner, INVITEE, "admin", id);

    /* The new user is listed. */
    struct pb_http_reply r;
    call(&owner, "GET", "/api/v1/users", NULL, 200, &r);
    bool listed = false;
    size_t i;
    json_t *item;
    json_array_foreach(json_object_get(r.json, "items"), i, item)
    {
        if (strcmp(json_string_value(json_object_get(item, "id")), id) == 0) {
            listed = true;
            assert_string_equal(json_string_value(json_object_get(item, "email")), INVITEE);
            assert_null(json_object_get(item, "password_hash"));
        }
    }
    assert_true(listed);
    assert_true(json_is_null(json_object_get(r.json, "next_cursor")));
    pb_http_reply_free(&r);

    /* The mail goes out through the relay: smtp-sink dumps it. */
    int sent = 0, failed = 0;
    assert_int_equal(pb_outbox_deliver_due(&t.app, 10, &sent, &failed), PB_ERR_OK);
    assert_true(sent >= 1);
    assert_int_equal(failed, 0);

    char dir[PATH_MAX + 8];
    snprintf(dir, sizeof(dir), "%s/mail", sink_dir);
    DIR *d = opendir(dir);
    assert_non_null(d);
    int found = 0;
    for (struct dirent *e; (e = readdir(d)) != NULL;) {
        if (e->d_name[0] == '.')
            continue;
        char path[PATH_MAX + 300];
        snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
        FILE *f = fopen(path, "r");
        assert_non_null(f);
        static char text[256 * 1024];
        size_t len = fread(text, 1, sizeof(text) - 1, f);
        fclose(f);
        text[len] = '\0';
        if (!addressed_to(text, INVITEE))
            continue;
        pb_test_qp_decode(text);
        const char *link = strstr(text, "/reset-password#token=");
        assert_non_null(link);
        /* A real token follows: base64url, 43 characters. */
        const char *token = link + strlen("/reset-password#token=");
        assert_true(
            strspn(token, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_") >=
            PB_TOKEN_LEN);
        found++;
    }
    closedir(d);
    assert_int_equal(found, 1);
}

static void
users_are_paginated(void **state)
{
    (void)state;
    /* An account of its own, so that the count is known: its owner and 5 invited users. */
    char paging_id[32], paging_owner_id[32], created[5][32];
    struct pb_http_client c;
    memset(&c, 0, sizeof(c));
    pb_testapp_account(&t, "Paging", "enterprise", paging_id);
    pb_testapp_user(&t, paging_id, "owner@paging.example.org", "owner", PASSWORD, paging_owner_id);
    pb_test_login(&t, &c, "owner@paging.example.org", PASSWORD);
    static const char *const roles[5] = {"admin", "author", "admin", "author", "owner"};
    for (int i = 0; i < 5; i++) {
        char email[64];
        snprintf(email, sizeof(email), "user%d@paging.example.org", i);
        invite(&c, email, roles[i], created[i]);
    }

    char ids[64][PB_ID_LEN + 1], all[64][PB_ID_LEN + 1];
    int pages = 0, one_page = 0;
    size_t n = list_all(&c, "/api/v1/users", 2, ids, 64, &pages);
    size_t total = list_all(&c, "/api/v1/users", 200, all, 64, &one_page);
    assert_int_equal(total, 6);
    assert_int_equal(one_page, 1);
    /* No gaps, no duplicates, the same order as in one page (id order). */
    assert_int_equal(n, total);
    assert_int_equal(pages, 3);
    for (size_t i = 0; i < n; i++) {
        assert_string_equal(ids[i], all[i]);
        if (i > 0)
            assert_true(strcmp(ids[i - 1], ids[i]) < 0);
    }
    for (int k = 0; k < 5; k++) {
        bool seen = false;
        for (size_t i = 0; i < n; i++)
            seen = seen || strcmp(ids[i], created[k]) == 0;
        assert_true(seen);
    }
    /* Pages of 5: a full page announcing a second one of 1. */
    n = list_all(&c, "/api/v1/users", 5, ids, 64, &pages);
    assert_int_equal(n, 6);
    assert_int_equal(pages, 2);
    /* Another account's users never show. */
    n = list_all(&owner, "/api/v1/users", 200, ids, 64, &pages);
    for (size_t i = 0; i < n; i++)
        for (int k = 0; k < 5; k++)
            assert_string_not_equal(ids[i], created[k]);

    /* Bad parameters are named. */
    static const char *const bad_limits[] = {
        "0", "201", "-1", "abc", "2x", "", "+3", " 4", "99999999999999999999"};
    for (size_t i = 0; i < sizeof(bad_limits) / sizeof(bad_limits[0]); i++) {
        char *escaped = curl_easy_escape(NULL, bad_limits[i], 0);
        char path[128];
        snprintf(path, sizeof(path), "/api/v1/users?limit=%s", escaped);
        curl_free(escaped);
        expect_error(&c, "GET", path, NULL, PB_ERR_BAD_REQUEST, "limit");
    }
    call_ok(&c, "GET", "/api/v1/users?limit=1", NULL, 200);
    call_ok(&c, "GET", "/api/v1/users?limit=200", NULL, 200);
    expect_error(&c, "GET", "/api/v1/users?cursor=nope", NULL, PB_ERR_BAD_REQUEST, "cursor");
    expect_error(&c, "GET", "/api/v1/users?cursor=", NULL, PB_ERR_BAD_REQUEST, "cursor");
    /* A well-formed cursor past the end gives an empty last page. */
    struct pb_http_reply r;
    call(&c, "GET", "/api/v1/users?cursor=7ZZZZZZZZZZZZZZZZZZZZZZZZZ", NULL, 200, &r);
    assert_int_equal(json_array_size(json_object_get(r.json, "items")), 0);
    assert_true(json_is_null(json_object_get(r.json, "next_cursor")));
    pb_http_reply_free(&r);
}

static void
create_errors_name_their_field(void **state)
{
    (void)state;
    /* The email is unique across the platform, whatever its case. */
    expect_error(&owner, "POST", "/api/v1/users",
                 "{\"email\":\"admin@acme.example.org\",\"role\":\"admin\"}", PB_ERR_EMAIL_TAKEN,
                 "email");
    expect_error(&owner, "POST", "/api/v1/users",
                 "{\"email\":\"OWNER@Other.Example.org\",\"role\":\"admin\"}", PB_ERR_EMAIL_TAKEN,
                 "email");
    expect_error(&owner, "POST", "/api/v1/users",
                 "{\"email\":\"not-an-address\",\"role\":\"admin\"}", PB_ERR_EMAIL_INVALID,
                 "email");
    expect_error(&owner, "POST", "/api/v1/users", "{\"email\":\"\",\"role\":\"admin\"}",
                 PB_ERR_EMAIL_INVALID, "email");
    expect_error(&owner, "POST", "/api/v1/users",
                 "{\"email\":\"new1@acme.example.org\",\"role\":\"superuser\"}",
                 PB_ERR_ROLE_UNKNOWN, "role");
    expect_error(&owner, "POST", "/api/v1/users",
                 "{\"email\":\"new1@acme.example.org\",\"role\":\"\"}", PB_ERR_ROLE_UNKNOWN,
                 "role");
    expect_error(&std_owner, "POST", "/api/v1/users",
                 "{\"email\":\"writer@std.example.org\",\"role\":\"author\"}",
                 PB_ERR_ROLE_NEEDS_ENTERPRISE, "role");
    /* Shape errors come from the strict unpacking. */
    expect_error(&owner, "POST", "/api/v1/users", "{\"email\":\"new1@acme.example.org\"}",
                 PB_ERR_MISSING_FIELD, "role");
    expect_error(&owner, "POST", "/api/v1/users",
                 "{\"email\":\"new1@acme.example.org\",\"role\":\"admin\",\"password\":\"x\"}",
                 PB_ERR_UNKNOWN_FIELD, "password");
    expect_error(&owner, "POST", "/api/v1/users", "{\"email\":7,\"role\":\"admin\"}",
                 PB_ERR_WRONG_TYPE, "email");
    expect_error(&owner, "POST", "/api/v1/users", "{\"email\":", PB_ERR_BAD_JSON, NULL);
    /* None of these created anyone. */
    struct pb_http_reply r;
    call(&owner, "GET", "/api/v1/users?limit=200", NULL, 200, &r);
    assert_null(strstr(r.body, "new1@"));
    assert_null(strstr(r.body, "writer@"));
    pb_http_reply_free(&r);
    call(&std_owner, "GET", "/api/v1/users", NULL, 200, &r);
    assert_int_equal(json_array_size(json_object_get(r.json, "items")), 1);
    pb_http_reply_free(&r);
}

static void
role_change_is_audited(void **state)
{
    (void)state;
    char id[32], path[128];
    invite(&owner, "editor@acme.example.org", "author", id);
    snprintf(path, sizeof(path), "/api/v1/users/%s", id);

    struct pb_http_reply r;
    call(&owner, "PATCH", path, "{\"role\":\"admin\"}", 200, &r);
    assert_string_equal(json_string_value(json_object_get(r.json, "id")), id);
    assert_string_equal(json_string_value(json_object_get(r.json, "role")), "admin");
    assert_string_equal(json_string_value(json_object_get(r.json, "email")),
                        "editor@acme.example.org");
    pb_http_reply_free(&r);

    json_t *entry = find_audit(&owner, "user.role_changed", id);
    assert_non_null(entry);
    assert_string_equal(json_string_value(json_object_get(entry, "actor_user_id")), owner_id);
    assert_true(pb_id_valid(json_string_value(json_object_get(entry, "id"))));
    const char *at = json_string_value(json_object_get(entry, "at"));
    assert_non_null(at);
    assert_int_equal(strlen(at), 20);
    assert_int_equal(at[19], 'Z');
    assert_true(json_is_string(json_object_get(entry, "client_ip")));
    json_t *detail = json_object_get(entry, "detail");
    assert_string_equal(json_string_value(json_object_get(detail, "from")), "author");
    assert_string_equal(json_string_value(json_object_get(detail, "to")), "admin");
    json_decref(entry);
    /* The invitation is in the log too, with the owner as actor. */
    entry = find_audit(&owner, "user.created", id);
    assert_non_null(entry);
    json_decref(entry);

    /* Bad roles and bodies. */
    expect_error(&owner, "PATCH", path, "{\"role\":\"root\"}", PB_ERR_ROLE_UNKNOWN, "role");
    expect_error(&owner, "PATCH", path, "{}", PB_ERR_MISSING_FIELD, "role");
    expect_error(&owner, "PATCH", path, "{\"role\":\"admin\",\"email\":\"x@y.org\"}",
                 PB_ERR_UNKNOWN_FIELD, "email");
    expect_error(&owner, "PATCH", path, "{\"role\":true}", PB_ERR_WRONG_TYPE, "role");

    /* An admin manages users too (users.manage), and deletion is audited. */
    call_ok(&admin, "PATCH", path, "{\"role\":\"author\"}", 200);
    call_ok(&admin, "DELETE", path, NULL, 204);
    expect_error(&admin, "DELETE", path, NULL, PB_ERR_NOT_FOUND, NULL);
    expect_error(&admin, "PATCH", path, "{\"role\":\"admin\"}", PB_ERR_NOT_FOUND, NULL);
    entry = find_audit(&owner, "user.deleted", id);
    assert_non_null(entry);
    assert_string_equal(json_string_value(json_object_get(entry, "actor_user_id")), admin_id);
    json_decref(entry);

    /* The audit log pages newest first, without duplicates. */
    char ids[256][PB_ID_LEN + 1], all[256][PB_ID_LEN + 1];
    int pages = 0, one_page = 0;
    size_t n = list_all(&owner, "/api/v1/audit", 3, ids, 256, &pages);
    size_t total = list_all(&owner, "/api/v1/audit", 200, all, 256, &one_page);
    assert_true(total >= 4);
    assert_int_equal(n, total);
    for (size_t i = 0; i < n; i++) {
        assert_string_equal(ids[i], all[i]);
        if (i > 0)
            assert_true(strcmp(ids[i - 1], ids[i]) > 0);
    }
    expect_error(&owner, "GET", "/api/v1/audit?limit=0", NULL, PB_ERR_BAD_REQUEST, "limit");
    expect_error(&owner, "GET", "/api/v1/audit?cursor=x", NULL, PB_ERR_BAD_REQUEST, "cursor");
}

static void
last_owner_stays(void **state)
{
    (void)state;
    char path[128], second[32], second_path[128];
    snprintf(path, sizeof(path), "/api/v1/users/%s", owner_id);
    expect_error(&owner, "PATCH", path, "{\"role\":\"admin\"}", PB_ERR_LAST_OWNER, "role");
    expect_error(&owner, "DELETE", path, NULL, PB_ERR_LAST_OWNER, NULL);
    /* An admin may not remove an owner at all, last or not. */
    expect_error(&admin, "DELETE", path, NULL, PB_ERR_FORBIDDEN, NULL);

    /* With a second owner, either may step down; the last one again may not. */
    invite(&owner, "owner2@acme.example.org", "owner", second);
    snprintf(second_path, sizeof(second_path), "/api/v1/users/%s", second);
    call_ok(&owner, "PATCH", second_path, "{\"role\":\"admin\"}", 200);
    expect_error(&owner, "PATCH", path, "{\"role\":\"author\"}", PB_ERR_LAST_OWNER, "role");
    call_ok(&owner, "PATCH", second_path, "{\"role\":\"owner\"}", 200);
    call_ok(&owner, "DELETE", second_path, NULL, 204);
    expect_error(&owner, "DELETE", path, NULL, PB_ERR_LAST_OWNER, NULL);
    /* The owner is still there, still an owner. */
    struct pb_http_reply r;
    call(&owner, "GET", "/api/v1/session", NULL, 200, &r);
    assert_string_equal(json_string_value(json_object_get(json_object_get(r.json, "user"), "role")),
                        "owner");
    pb_http_reply_free(&r);
}

static void
admins_cannot_make_or_unmake_owners(void **state)
{
    (void)state;
    char admin_path[128], owner_path[128], second[32], second_path[128];
    snprintf(admin_path, sizeof(admin_path), "/api/v1/users/%s", admin_id);
    snprintf(owner_path, sizeof(owner_path), "/api/v1/users/%s", owner_id);
    /* No promoting oneself, no inviting an owner, no demoting one. */
    expect_error(&admin, "PATCH", admin_path, "{\"role\":\"owner\"}", PB_ERR_FORBIDDEN, "role");
    expect_error(&admin, "POST", "/api/v1/users",
                 "{\"email\":\"boss@acme.example.org\",\"role\":\"owner\"}", PB_ERR_FORBIDDEN,
                 "role");
    invite(&owner, "owner3@acme.example.org", "owner", second);
    snprintf(second_path, sizeof(second_path), "/api/v1/users/%s", second);
    expect_error(&admin, "PATCH", second_path, "{\"role\":\"author\"}", PB_ERR_FORBIDDEN, "role");
    expect_error(&admin, "DELETE", second_path, NULL, PB_ERR_FORBIDDEN, NULL);
    /* Admins still manage non-owners; owners manage owners. */
    call_ok(&admin, "PATCH", admin_path, "{\"role\":\"admin\"}", 200);
    call_ok(&owner, "DELETE", second_path, NULL, 204);
    struct pb_http_reply r;
    call(&admin, "GET", "/api/v1/session", NULL, 200, &r);
    assert_string_equal(json_string_value(json_object_get(json_object_get(r.json, "user"), "role")),
                        "admin");
    pb_http_reply_free(&r);
}

static void
other_accounts_ids_are_404(void **state)
{
    (void)state;
    char path[128], fresh[PB_ID_LEN + 1];
    snprintf(path, sizeof(path), "/api/v1/users/%s", other_owner_id);
    expect_error(&owner, "PATCH", path, "{\"role\":\"admin\"}", PB_ERR_NOT_FOUND, NULL);
    expect_error(&owner, "DELETE", path, NULL, PB_ERR_NOT_FOUND, NULL);
    /* The same answer as for an id nobody has, or no id at all. */
    pb_id_new(fresh);
    snprintf(path, sizeof(path), "/api/v1/users/%s", fresh);
    expect_error(&owner, "PATCH", path, "{\"role\":\"admin\"}", PB_ERR_NOT_FOUND, NULL);
    expect_error(&owner, "DELETE", path, NULL, PB_ERR_NOT_FOUND, NULL);
    expect_error(&owner, "DELETE", "/api/v1/users/not-an-id", NULL, PB_ERR_NOT_FOUND, NULL);
    /* The other account's owner is untouched. */
    struct pb_http_reply r;
    call(&other_owner, "GET", "/api/v1/users", NULL, 200, &r);
    json_t *items = json_object_get(r.json, "items");
    assert_int_equal(json_array_size(items), 1);
    assert_string_equal(json_string_value(json_object_get(json_array_get(items, 0), "role")),
                        "owner");
    pb_http_reply_free(&r);
}

static void
only_owners_read_the_audit_log(void **state)
{
    (void)state;
    expect_error(&admin, "GET", "/api/v1/audit", NULL, PB_ERR_FORBIDDEN, NULL);
    expect_error(&author, "GET", "/api/v1/audit", NULL, PB_ERR_FORBIDDEN, NULL);
    call_ok(&owner, "GET", "/api/v1/audit", NULL, 200);
    /* Each owner sees only the log of their own account. */
    struct pb_http_reply r;
    call(&other_owner, "GET", "/api/v1/audit?limit=200", NULL, 200, &r);
    assert_null(strstr(r.body, owner_id));
    assert_null(strstr(r.body, admin_id));
    pb_http_reply_free(&r);
}

/* ---- API keys ---- */

/* POST /api-keys as `c`; the id into `id`, the token into `token`. */
static void
create_key(struct pb_http_client *c, const char *name, char id[32], char token[128])
{
    char body[256];
    struct pb_http_reply r;
    snprintf(body, sizeof(body), "{\"name\":\"%s\"}", name);
    call(c, "POST", "/api/v1/api-keys", body, 201, &r);
    const char *got_id = json_string_value(json_object_get(r.json, "id"));
    const char *got_token = json_string_value(json_object_get(r.json, "token"));
    const char *prefix = json_string_value(json_object_get(r.json, "prefix"));
    assert_non_null(got_id);
    assert_non_null(got_token);
    assert_non_null(prefix);
    assert_string_equal(json_string_value(json_object_get(r.json, "name")), name);
    assert_true(json_is_string(json_object_get(r.json, "created_at")));
    assert_true(pb_str_starts_with(got_token, "pbk_"));
    assert_true(strlen(prefix) > 0);
    assert_true(strlen(prefix) < strlen(got_token));
    assert_true(pb_str_starts_with(got_token, prefix));
    pb_strlcpy(id, got_id, 32);
    pb_strlcpy(token, got_token, 128);
    pb_http_reply_free(&r);
}

static void
api_keys_work_and_are_revoked(void **state)
{
    (void)state;
    char id[32], token[128], owner_key[32], owner_token[128];
    create_key(&admin, "deploy script", id, token);

    /* The list shows the key, never its token. */
    struct pb_http_reply r;
    call(&admin, "GET", "/api/v1/api-keys", NULL, 200, &r);
    json_t *items = json_object_get(r.json, "items");
    assert_int_equal(json_array_size(items), 1);
    json_t *item = json_array_get(items, 0);
    assert_string_equal(json_string_value(json_object_get(item, "id")), id);
    assert_string_equal(json_string_value(json_object_get(item, "name")), "deploy script");
    assert_true(json_is_string(json_object_get(item, "prefix")));
    assert_true(json_is_string(json_object_get(item, "created_at")));
    assert_true(json_is_null(json_object_get(item, "last_used_at")));
    assert_null(json_object_get(item, "token"));
    assert_null(strstr(r.body, token));
    assert_null(strstr(r.body, token + 12)); /* no part of the secret either */
    pb_http_reply_free(&r);

    /* The key acts as its user, with that user's role, without CSRF. */
    struct pb_http_client bearer;
    memset(&bearer, 0, sizeof(bearer));
    pb_strlcpy(bearer.bearer, token, sizeof(bearer.bearer));
    call(&bearer, "GET", "/api/v1/session", NULL, 200, &r);
    assert_string_equal(json_string_value(json_object_get(json_object_get(r.json, "user"), "id")),
                        admin_id);
    assert_string_equal(json_string_value(json_object_get(json_object_get(r.json, "user"), "role")),
                        "admin");
    assert_null(json_object_get(r.json, "csrf_token"));
    pb_http_reply_free(&r);
    call_ok(&bearer, "GET", "/api/v1/users", NULL, 200);
    call_ok(&bearer, "PATCH", "/api/v1/account", "{}", 200);
    expect_error(&bearer, "GET", "/api/v1/audit", NULL, PB_ERR_FORBIDDEN, NULL);
    /* Its use is recorded. */
    call(&admin, "GET", "/api/v1/api-keys", NULL, 200, &r);
    item = json_array_get(json_object_get(r.json, "items"), 0);
    assert_true(json_is_string(json_object_get(item, "last_used_at")) ||
                json_is_null(json_object_get(item, "last_used_at")));
    pb_http_reply_free(&r);

    /* Another user's key is not yours to see or revoke. */
    create_key(&owner, "owner's key", owner_key, owner_token);
    char path[128];
    snprintf(path, sizeof(path), "/api/v1/api-keys/%s", owner_key);
    expect_error(&admin, "DELETE", path, NULL, PB_ERR_NOT_FOUND, NULL);
    call(&admin, "GET", "/api/v1/api-keys", NULL, 200, &r);
    assert_null(strstr(r.body, owner_key));
    pb_http_reply_free(&r);
    struct pb_http_client owner_bearer;
    memset(&owner_bearer, 0, sizeof(owner_bearer));
    pb_strlcpy(owner_bearer.bearer, owner_token, sizeof(owner_bearer.bearer));
    call_ok(&owner_bearer, "GET", "/api/v1/audit", NULL, 200);
    expect_error(&other_owner, "DELETE", path, NULL, PB_ERR_NOT_FOUND, NULL);
    call_ok(&owner_bearer, "GET", "/api/v1/session", NULL, 200);

    /* Revoked: the key gets 401 from then on; a second revocation is 404. */
    snprintf(path, sizeof(path), "/api/v1/api-keys/%s", id);
    call_ok(&admin, "DELETE", path, NULL, 204);
    expect_error(&bearer, "GET", "/api/v1/session", NULL, PB_ERR_UNAUTHENTICATED, NULL);
    expect_error(&bearer, "GET", "/api/v1/users", NULL, PB_ERR_UNAUTHENTICATED, NULL);
    expect_error(&admin, "DELETE", path, NULL, PB_ERR_NOT_FOUND, NULL);
    expect_error(&admin, "DELETE", "/api/v1/api-keys/nope", NULL, PB_ERR_NOT_FOUND, NULL);
    call(&admin, "GET", "/api/v1/api-keys", NULL, 200, &r);
    assert_int_equal(json_array_size(json_object_get(r.json, "items")), 0);
    pb_http_reply_free(&r);
    /* The owner's key still works; the owner revokes it with the key itself. */
    snprintf(path, sizeof(path), "/api/v1/api-keys/%s", owner_key);
    call_ok(&owner_bearer, "DELETE", path, NULL, 204);
    expect_error(&owner_bearer, "GET", "/api/v1/session", NULL, PB_ERR_UNAUTHENTICATED, NULL);

    /* Key creation and revocation are audited, with the admin as actor. */
    assert_true(has_audit_action(&owner, "api_key.created", admin_id));
    assert_true(has_audit_action(&owner, "api_key.revoked", admin_id));
}

static void
api_key_names_are_checked(void **state)
{
    (void)state;
    char name[102], body[160], id[32], token[128];
    memset(name, 'n', 101);
    name[101] = '\0';
    snprintf(body, sizeof(body), "{\"name\":\"%s\"}", name);
    expect_error(&author, "POST", "/api/v1/api-keys", body, PB_ERR_NAME_INVALID, "name");
    expect_error(&author, "POST", "/api/v1/api-keys", "{\"name\":\"\"}", PB_ERR_NAME_INVALID,
                 "name");
    expect_error(&author, "POST", "/api/v1/api-keys", "{}", PB_ERR_MISSING_FIELD, "name");
    expect_error(&author, "POST", "/api/v1/api-keys", "{\"name\":1}", PB_ERR_WRONG_TYPE, "name");
    expect_error(&author, "POST", "/api/v1/api-keys", "{\"name\":\"a\",\"role\":\"owner\"}",
                 PB_ERR_UNKNOWN_FIELD, "role");
    /* 100 characters (not bytes) is the limit. */
    name[100] = '\0';
    create_key(&author, name, id, token);
    /* An author's key acts as an author. */
    struct pb_http_client bearer;
    memset(&bearer, 0, sizeof(bearer));
    pb_strlcpy(bearer.bearer, token, sizeof(bearer.bearer));
    expect_error(&bearer, "GET", "/api/v1/users", NULL, PB_ERR_FORBIDDEN, NULL);
    call_ok(&bearer, "GET", "/api/v1/account", NULL, 200);
    char path[128];
    snprintf(path, sizeof(path), "/api/v1/api-keys/%s", id);
    call_ok(&author, "DELETE", path, NULL, 204);
}

/* ---- the account ---- */

static void
account_settings(void **state)
{
    (void)state;
    /* An account of its own: requiring 2FA locks its owner into enrolment. */
    char settings_id[32], settings_owner_id[32];
    struct pb_http_client c;
    memset(&c, 0, sizeof(c));
    pb_testapp_account(&t, "Settings & Co", "standard", settings_id);
    pb_testapp_user(&t, settings_id, "owner@settings.example.org", "owner", PASSWORD,
                    settings_owner_id);
    pb_test_login(&t, &c, "owner@settings.example.org", PASSWORD);

    struct pb_http_reply r;
    call(&c, "GET", "/api/v1/account", NULL, 200, &r);
    assert_string_equal(json_string_value(json_object_get(r.json, "id")), settings_id);
    assert_string_equal(json_string_value(json_object_get(r.json, "name")), "Settings & Co");
    assert_string_equal(json_string_value(json_object_get(r.json, "plan")), "standard");
    assert_true(json_is_false(json_object_get(r.json, "require_2fa")));
    assert_null(json_object_get(r.json, "data_key"));
    assert_string_equal(json_string_value(json_object_get(r.json, "tracking")), "aggregate");
    /* Storage limitation is off until an owner or admin turns it on (test_storage_limit). */
    assert_true(json_is_integer(json_object_get(r.json, "erase_unlisted_after_days")));
    assert_int_equal(json_integer_value(json_object_get(r.json, "erase_unlisted_after_days")), 0);
    assert_int_equal(json_integer_value(json_object_get(r.json, "erase_unconfirmed_after_days")),
                     0);
    assert_int_equal(json_object_size(r.json), 7);
    pb_http_reply_free(&r);
    /* Everyone of an account reads it (an author of the enterprise one here). */
    call(&author, "GET", "/api/v1/account", NULL, 200, &r);
    assert_string_equal(json_string_value(json_object_get(r.json, "id")), acme_id);
    assert_string_equal(json_string_value(json_object_get(r.json, "plan")), "enterprise");
    pb_http_reply_free(&r);
    expect_error(&author, "PATCH", "/api/v1/account", "{\"require_2fa\":true}", PB_ERR_FORBIDDEN,
                 NULL);

    /* Strict bodies. */
    expect_error(&c, "PATCH", "/api/v1/account", "{\"require_2fa\":false,\"plan\":\"enterprise\"}",
                 PB_ERR_UNKNOWN_FIELD, "plan");
    expect_error(&c, "PATCH", "/api/v1/account", "{\"tracking\":true}", PB_ERR_WRONG_TYPE,
                 "tracking");
    expect_error(&c, "PATCH", "/api/v1/account", "{\"colour\":\"red\"}", PB_ERR_UNKNOWN_FIELD,
                 "colour");
    expect_error(&c, "PATCH", "/api/v1/account", "{\"require_2fa\":\"yes\"}", PB_ERR_WRONG_TYPE,
                 "require_2fa");
    expect_error(&c, "PATCH", "/api/v1/account", "{\"require_2fa\":1}", PB_ERR_WRONG_TYPE,
                 "require_2fa");
    expect_error(&c, "PATCH", "/api/v1/account", "{\"require_2fa\":null}", PB_ERR_WRONG_TYPE,
                 "require_2fa");
    expect_error(&c, "PATCH", "/api/v1/account", "[]", PB_ERR_WRONG_TYPE, NULL);

    /* An empty patch changes nothing; false stays false. */
    call(&c, "PATCH", "/api/v1/account", "{}", 200, &r);
    assert_true(json_is_false(json_object_get(r.json, "require_2fa")));
    pb_http_reply_free(&r);
    call(&c, "PATCH", "/api/v1/account", "{\"require_2fa\":false}", 200, &r);
    assert_true(json_is_false(json_object_get(r.json, "require_2fa")));
    pb_http_reply_free(&r);

    /* On, then off, through the model's own view too. */
    call(&c, "PATCH", "/api/v1/account", "{\"require_2fa\":true}", 200, &r);
    assert_true(json_is_true(json_object_get(r.json, "require_2fa")));
    assert_string_equal(json_string_value(json_object_get(r.json, "id")), settings_id);
    pb_http_reply_free(&r);
    struct pb_account account;
    assert_int_equal(pb_account_get(&t.app, settings_id, &account), PB_ERR_OK);
    assert_true(account.require_2fa);
    /* The owner has no TOTP: from now on only enrolment is open to them. */
    expect_error(&c, "GET", "/api/v1/account", NULL, PB_ERR_ENROLMENT_REQUIRED, NULL);
    expect_error(&c, "PATCH", "/api/v1/account", "{\"require_2fa\":false}",
                 PB_ERR_ENROLMENT_REQUIRED, NULL);

    /* Enrolment is open: once the owner has TOTP, the switch goes back off. */
    call(&c, "POST", "/api/v1/me/totp", NULL, 200, &r);
    const char *secret_b32 = json_string_value(json_object_get(r.json, "secret"));
    assert_non_null(secret_b32);
    unsigned char secret[PB_TOTP_SECRET_BYTES];
    assert_int_equal(base32_decode(secret_b32, secret, sizeof(secret)), PB_TOTP_SECRET_BYTES);
    pb_http_reply_free(&r);
    char code[PB_TOTP_DIGITS + 1], body[64];
    assert_int_equal(
        pb_totp_generate(secret, sizeof(secret), pb_clock_now(), PB_TOTP_DIGITS, 1, code),
        PB_ERR_OK);
    snprintf(body, sizeof(body), "{\"code\":\"%s\"}", code);
    call_ok(&c, "POST", "/api/v1/me/totp/confirm", body, 200);
    call(&c, "PATCH", "/api/v1/account", "{\"require_2fa\":false}", 200, &r);
    assert_true(json_is_false(json_object_get(r.json, "require_2fa")));
    pb_http_reply_free(&r);
    assert_int_equal(pb_account_get(&t.app, settings_id, &account), PB_ERR_OK);
    assert_false(account.require_2fa);
    call(&c, "GET", "/api/v1/account", NULL, 200, &r);
    assert_true(json_is_false(json_object_get(r.json, "require_2fa")));
    pb_http_reply_free(&r);
    /* Other accounts are untouched. */
    assert_int_equal(pb_account_get(&t.app, acme_id, &account), PB_ERR_OK);
    assert_false(account.require_2fa);
    /* An admin holds settings.manage: an empty patch on the enterprise account. */
    call_ok(&admin, "PATCH", "/api/v1/account", "{}", 200);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(invitation_is_mailed),
        cmocka_unit_test(users_are_paginated),
        cmocka_unit_test(create_errors_name_their_field),
        cmocka_unit_test(role_change_is_audited),
        cmocka_unit_test(last_owner_stays),
        cmocka_unit_test(admins_cannot_make_or_unmake_owners),
        cmocka_unit_test(other_accounts_ids_are_404),
        cmocka_unit_test(only_owners_read_the_audit_log),
        cmocka_unit_test(api_keys_work_and_are_revoked),
        cmocka_unit_test(api_key_names_are_checked),
        cmocka_unit_test(account_settings),
    };
    if (sodium_init() < 0 || pb_totp_init() != PB_ERR_OK)
        return 1;
    pb_log_set_level(PB_LOG_ERROR);
    curl_global_init(CURL_GLOBAL_DEFAULT);
    int failed = cmocka_run_group_tests(tests, setup, teardown);
    curl_global_cleanup();
    return failed;
}
