/*
 * Authentication through the real server (issue 3): login and its cookie,
 * CSRF, logout, TOTP enrolment and the second step (wrong, malformed and
 * replayed codes, recovery codes), forced enrolment, session expiry,
 * throttling, API keys, forgot/reset with the mail read from smtp-sink's
 * dump, a dead relay, and bad input. Each test runs on a fresh Postbode
 * (SQLite, or PostgreSQL when PB_TEST_STORE_URL is set).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <ctype.h>
#include <dirent.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <curl/curl.h>
#include <jansson.h>
#include <sodium.h>

#include "core/clock.h"
#include "core/log.h"
#include "core/strutil.h"
#include "crypto/totp.h"
#include "model/account.h"
#include "model/apikey.h"
#include "model/auth.h"
#include "model/mfa.h"
#include "model/outbox.h"
#include "support/sink.h"
#include "support/testapp.h"
#include "support/tmpdir.h"

#define PASSWORD     "tulip-harbour-granite-17"
#define NEW_PASSWORD "lantern-orchard-pebble-42"
#define OWNER_EMAIL  "owner@example.org"
#define ADMIN_EMAIL  "admin@example.org"

static struct pb_testapp t;
static bool started;
static bool sink_running;
static char sink_dir[PATH_MAX];

static void
sink_stop(void);
static char account_id[32];
static char owner_id[32];
static int64_t offset_ms;

/* ---- set-up ---- */

static void
app_start(int mail_port)
{
    pb_testapp_start(&t, mail_port);
    started = true;
    pb_testapp_account(&t, "Acme", "standard", account_id);
    pb_testapp_user(&t, account_id, OWNER_EMAIL, "owner", PASSWORD, owner_id);
}

static void
app_stop(void)
{
    if (started)
        pb_testapp_stop(&t);
    started = false;
}

static int
teardown(void **state)
{
    (void)state;
    app_stop();
    sink_stop();
    offset_ms = 0;
    pb_clock_set_offset_ms(0);
    return 0;
}

/* Moves the wall clock forward by `ms` (cumulative; teardown resets it). */
static void
advance_ms(int64_t ms)
{
    offset_ms += ms;
    pb_clock_set_offset_ms(offset_ms);
}

/* ---- HTTP helpers ---- */

static long
call(struct pb_http_client *c, const char *method, const char *path, const char *body,
     struct pb_http_reply *r)
{
    return pb_test_http(&t, c, method, path, body, r);
}

/* Checks an error reply: status, code and field (NULL: none). */
static void
assert_error(const struct pb_http_reply *r, long status, int code, const char *field)
{
    if (r->status != status)
        fail_msg("status %ld, expected %ld: %s", r->status, status, r->body);
    assert_non_null(r->json);
    assert_int_equal(json_integer_value(json_object_get(r->json, "code")), code);
    assert_true(json_is_string(json_object_get(r->json, "hint")));
    assert_true(json_is_string(json_object_get(r->json, "detail")));
    const json_t *f = json_object_get(r->json, "field");
    if (field == NULL)
        assert_null(f);
    else {
        assert_non_null(f);
        assert_string_equal(json_string_value(f), field);
    }
}

/* Sends a request and checks that it fails with `status`, `code` and `field`. */
static void
expect_error(struct pb_http_client *c, const char *method, const char *path, const char *body,
             long status, int code, const char *field)
{
    struct pb_http_reply r;
    call(c, method, path, body, &r);
    assert_error(&r, status, code, field);
    pb_http_reply_free(&r);
}

static void
expect_status(struct pb_http_client *c, const char *method, const char *path, const char *body,
              long status)
{
    struct pb_http_reply r;
    call(c, method, path, body, &r);
    if (r.status != status)
        fail_msg("%s %s: status %ld, expected %ld: %s", method, path, r.status, status, r.body);
    pb_http_reply_free(&r);
}

/* POST /session; the reply is left to the caller. */
static long
login_raw(struct pb_http_client *c, const char *email, const char *password,
          struct pb_http_reply *r)
{
    json_t *body = json_pack("{s:s, s:s}", "email", email, "password", password);
    char *text = json_dumps(body, JSON_COMPACT);
    long status = call(c, "POST", "/api/v1/session", text, r);
    free(text);
    json_decref(body);
    const char *csrf = json_string_value(json_object_get(r->json, "csrf_token"));
    if (status == 200 && csrf != NULL)
        pb_strlcpy(c->csrf, csrf, sizeof(c->csrf));
    return status;
}

/* Logs in and checks whether the TOTP step is due. */
static void
login_expect(struct pb_http_client *c, const char *email, const char *password, bool mfa)
{
    struct pb_http_reply r;
    if (login_raw(c, email, password, &r) != 200)
        fail_msg("login: %ld %s", r.status, r.body);
    assert_int_equal(json_is_true(json_object_get(r.json, "mfa_required")), mfa);
    pb_http_reply_free(&r);
}

/* The session token of a client (the cookie's value). */
static const char *
cookie_token(const struct pb_http_client *c)
{
    const char *eq = strchr(c->cookie, '=');
    assert_non_null(eq);
    return eq + 1;
}

/* The principal of a client's session, straight from the model. */
static void
principal_of(const struct pb_http_client *c, struct pb_principal *out)
{
    assert_int_equal(pb_auth_session(&t.app, cookie_token(c), out), PB_ERR_OK);
}

static void
logout(struct pb_http_client *c)
{
    expect_status(c, "DELETE", "/api/v1/session", NULL, 204);
    assert_string_equal(c->cookie, "");
    c->csrf[0] = '\0';
}

/* ---- TOTP helpers ---- */

/* RFC 4648 base32 (upper case, no padding) into bytes; returns the length. */
static size_t
base32_decode(const char *text, unsigned char *out, size_t size)
{
    static const char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
    unsigned buffer = 0;
    int bits = 0;
    size_t n = 0;
    for (const char *p = text; *p != '\0' && *p != '='; p++) {
        const char *at = strchr(alphabet, *p);
        assert_non_null(at);
        buffer = (buffer << 5) | (unsigned)(at - alphabet);
        bits += 5;
        if (bits >= 8) {
            bits -= 8;
            assert_true(n < size);
            out[n++] = (unsigned char)((buffer >> bits) & 0xff);
        }
    }
    return n;
}

struct totp_user {
    unsigned char secret[PB_TOTP_SECRET_BYTES];
    char recovery[PB_RECOVERY_CODES][PB_RECOVERY_CODE_LEN + 1];
};

/* The code of the current (offset) time step, into out[7]. */
static void
code_now(const struct totp_user *u, char out[PB_TOTP_DIGITS + 1])
{
    assert_int_equal(
        pb_totp_generate(u->secret, sizeof(u->secret), pb_clock_now(), PB_TOTP_DIGITS, 1, out),
        PB_ERR_OK);
}

/* A six-digit code that matches none of the steps around now. */
static void
code_wrong(const struct totp_user *u, char out[PB_TOTP_DIGITS + 1])
{
    char near[3][PB_TOTP_DIGITS + 1];
    for (int i = 0; i < 3; i++)
        assert_int_equal(pb_totp_generate(u->secret, sizeof(u->secret),
                                          pb_clock_now() + (i - 1) * PB_TOTP_STEP, PB_TOTP_DIGITS,
                                          1, near[i]),
                         PB_ERR_OK);
    for (unsigned v = 0;; v += 111111) {
        snprintf(out, PB_TOTP_DIGITS + 1, "%06u", v % 1000000);
        if (strcmp(out, near[0]) != 0 && strcmp(out, near[1]) != 0 && strcmp(out, near[2]) != 0)
            return;
    }
}

static char *
code_body(const char *key, const char *code)
{
    json_t *j = json_pack("{s:s}", key, code);
    char *text = json_dumps(j, JSON_COMPACT);
    json_decref(j);
    return text;
}

/* Enrols the client's user in TOTP (start and confirm) and keeps the secret and codes. */
static void
enrol(struct pb_http_client *c, struct totp_user *u)
{
    struct pb_http_reply r;
    long status = call(c, "POST", "/api/v1/me/totp", NULL, &r);
    if (status != 200)
        fail_msg("enrol: %ld %s", status, r.body);
    const char *secret = json_string_value(json_object_get(r.json, "secret"));
    const char *uri = json_string_value(json_object_get(r.json, "otpauth_uri"));
    const char *svg = json_string_value(json_object_get(r.json, "qr_svg"));
    assert_non_null(secret);
    assert_non_null(uri);
    assert_non_null(svg);
    assert_int_equal(json_object_size(r.json), 3);
    assert_int_equal(strlen(secret), PB_TOTP_SECRET_B32LEN);
    assert_int_equal(strspn(secret, "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"), PB_TOTP_SECRET_B32LEN);
    assert_true(pb_str_starts_with(uri, "otpauth://totp/"));
    assert_non_null(strstr(uri, secret));
    assert_non_null(strstr(svg, "<svg"));
    assert_non_null(strstr(svg, "</svg>"));
    assert_int_equal(base32_decode(secret, u->secret, sizeof(u->secret)), PB_TOTP_SECRET_BYTES);
    pb_http_reply_free(&r);

    /* Malformed codes are refused before anything else. */
    expect_error(c, "POST", "/api/v1/me/totp/confirm", "{\"code\":\"12 456\"}", 400,
                 PB_ERR_TOTP_MALFORMED, "code");
    expect_error(c, "POST", "/api/v1/me/totp/confirm", NULL, 400, PB_ERR_MISSING_FIELD, "code");

    char code[PB_TOTP_DIGITS + 1];
    code_now(u, code);
    char *body = code_body("code", code);
    status = call(c, "POST", "/api/v1/me/totp/confirm", body, &r);
    free(body);
    if (status != 200)
        fail_msg("confirm: %ld %s", status, r.body);
    const json_t *codes = json_object_get(r.json, "recovery_codes");
    assert_true(json_is_array(codes));
    assert_int_equal(json_array_size(codes), PB_RECOVERY_CODES);
    for (size_t i = 0; i < PB_RECOVERY_CODES; i++) {
        const char *rc = json_string_value(json_array_get(codes, i));
        assert_non_null(rc);
        assert_int_equal(strlen(rc), PB_RECOVERY_CODE_LEN);
        pb_strlcpy(u->recovery[i], rc, sizeof(u->recovery[i]));
        for (size_t j = 0; j < i; j++)
            assert_string_not_equal(u->recovery[i], u->recovery[j]);
    }
    pb_http_reply_free(&r);
}

/* POST /session/mfa with `key` = `value`; returns the status. */
static long
mfa_step(struct pb_http_client *c, const char *key, const char *value, struct pb_http_reply *r)
{
    char *body = code_body(key, value);
    long status = call(c, "POST", "/api/v1/session/mfa", body, r);
    free(body);
    const char *csrf = json_string_value(json_object_get(r->json, "csrf_token"));
    if (status == 200 && csrf != NULL)
        pb_strlcpy(c->csrf, csrf, sizeof(c->csrf));
    return status;
}

/* ---- login, cookie, session ---- */

static void
login_sets_host_cookie(void **state)
{
    (void)state;
    app_start(0);
    struct pb_http_client c = {0};
    struct pb_http_reply r;
    assert_int_equal(login_raw(&c, OWNER_EMAIL, PASSWORD, &r), 200);
    char cookie[512];
    assert_true(pb_http_reply_header(&r, "Set-Cookie", cookie, sizeof(cookie)));
    const char *token = cookie_token(&c);
    assert_int_equal(strlen(token), PB_TOKEN_LEN);
    char expected[512];
    snprintf(expected, sizeof(expected),
             "__Host-pb_session=%s; Path=/; Secure; HttpOnly; SameSite=Strict", token);
    assert_string_equal(cookie, expected);
    assert_null(strstr(cookie, "Domain"));
    assert_null(strstr(cookie, "domain"));
    /* Exactly mfa_required and csrf_token. */
    assert_int_equal(json_object_size(r.json), 2);
    assert_true(json_is_false(json_object_get(r.json, "mfa_required")));
    const char *csrf = json_string_value(json_object_get(r.json, "csrf_token"));
    assert_non_null(csrf);
    assert_string_not_equal(csrf, token);
    char cache[64];
    assert_true(pb_http_reply_header(&r, "Cache-Control", cache, sizeof(cache)));
    assert_string_equal(cache, "no-store");
    pb_http_reply_free(&r);

    /* Who am I. */
    call(&c, "GET", "/api/v1/session", NULL, &r);
    assert_int_equal(r.status, 200);
    const json_t *user = json_object_get(r.json, "user");
    assert_string_equal(json_string_value(json_object_get(user, "id")), owner_id);
    assert_string_equal(json_string_value(json_object_get(user, "email")), OWNER_EMAIL);
    assert_string_equal(json_string_value(json_object_get(user, "role")), "owner");
    assert_true(json_is_false(json_object_get(user, "totp_enabled")));
    const json_t *account = json_object_get(r.json, "account");
    assert_string_equal(json_string_value(json_object_get(account, "id")), account_id);
    assert_string_equal(json_string_value(json_object_get(account, "plan")), "standard");
    assert_string_equal(json_string_value(json_object_get(r.json, "csrf_token")), c.csrf);
    assert_true(json_is_false(json_object_get(r.json, "mfa_pending")));
    assert_true(json_is_false(json_object_get(r.json, "must_enrol")));
    assert_string_equal(json_string_value(json_object_get(r.json, "via")), "session");
    assert_null(strstr(r.body, PASSWORD));
    pb_http_reply_free(&r);

    /* The cookie among others, with spaces, is still found. */
    struct pb_http_client messy = {0};
    snprintf(messy.cookie, sizeof(messy.cookie), "theme=dark;  __Host-pb_session=%s ;lang=nl",
             token);
    expect_status(&messy, "GET", "/api/v1/session", NULL, 200);
    snprintf(messy.cookie, sizeof(messy.cookie), "a=1; b; __Host-pb_session=\"%s\"", token);
    expect_status(&messy, "GET", "/api/v1/session", NULL, 200);
    /* Another cookie's name that merely ends like it does not count. */
    snprintf(messy.cookie, sizeof(messy.cookie), "x__Host-pb_session=%s", token);
    expect_error(&messy, "GET", "/api/v1/session", NULL, 401, PB_ERR_UNAUTHENTICATED, NULL);
}

static void
wrong_password_and_unknown_email_answer_alike(void **state)
{
    (void)state;
    app_start(0);
    struct pb_http_client c = {0};
    struct pb_http_reply wrong, unknown;
    assert_int_equal(login_raw(&c, OWNER_EMAIL, "not-the-password-at-all", &wrong), 401);
    assert_int_equal(login_raw(&c, "nobody@example.org", PASSWORD, &unknown), 401);
    assert_error(&wrong, 401, PB_ERR_LOGIN_FAILED, NULL);
    assert_string_equal(wrong.body, unknown.body);
    char cookie[256];
    assert_false(pb_http_reply_header(&wrong, "Set-Cookie", cookie, sizeof(cookie)));
    assert_false(pb_http_reply_header(&unknown, "Set-Cookie", cookie, sizeof(cookie)));
    assert_string_equal(c.cookie, "");
    pb_http_reply_free(&wrong);
    pb_http_reply_free(&unknown);
}

static void
session_needs_a_login(void **state)
{
    (void)state;
    app_start(0);
    struct pb_http_client c = {0};
    expect_error(&c, "GET", "/api/v1/session", NULL, 401, PB_ERR_UNAUTHENTICATED, NULL);
    snprintf(c.cookie, sizeof(c.cookie), "__Host-pb_session=%s",
             "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA");
    expect_error(&c, "GET", "/api/v1/session", NULL, 401, PB_ERR_UNAUTHENTICATED, NULL);
    snprintf(c.cookie, sizeof(c.cookie), "__Host-pb_session=");
    expect_error(&c, "GET", "/api/v1/session", NULL, 401, PB_ERR_UNAUTHENTICATED, NULL);
    expect_error(&c, "DELETE", "/api/v1/session", NULL, 401, PB_ERR_UNAUTHENTICATED, NULL);
    expect_error(&c, "GET", "/api/v1/users", NULL, 401, PB_ERR_UNAUTHENTICATED, NULL);
}

static void
csrf_is_required_and_logout_ends_the_session(void **state)
{
    (void)state;
    app_start(0);
    struct pb_http_client c = {0};
    login_expect(&c, OWNER_EMAIL, PASSWORD, false);
    char token[128];
    pb_strlcpy(token, c.cookie, sizeof(token));

    c.no_csrf = true;
    expect_error(&c, "DELETE", "/api/v1/session", NULL, 403, PB_ERR_CSRF, NULL);
    c.no_csrf = false;
    char good[128];
    pb_strlcpy(good, c.csrf, sizeof(good));
    pb_strlcpy(c.csrf, "bm90LXRoZS1jc3JmLXRva2VuLW9mLXRoaXMtc2Vzc2lvbg", sizeof(c.csrf));
    expect_error(&c, "DELETE", "/api/v1/session", NULL, 403, PB_ERR_CSRF, NULL);
    /* Another session's token does not do either. */
    struct pb_http_client other = {0};
    login_expect(&other, OWNER_EMAIL, PASSWORD, false);
    pb_strlcpy(c.csrf, other.csrf, sizeof(c.csrf));
    expect_error(&c, "DELETE", "/api/v1/session", NULL, 403, PB_ERR_CSRF, NULL);
    expect_error(&c, "POST", "/api/v1/me/totp", NULL, 403, PB_ERR_CSRF, NULL);
    pb_strlcpy(c.csrf, good, sizeof(c.csrf));
    /* The session survived all that. */
    expect_status(&c, "GET", "/api/v1/session", NULL, 200);
    assert_string_equal(c.cookie, token);

    struct pb_http_reply r;
    call(&c, "DELETE", "/api/v1/session", NULL, &r);
    assert_int_equal(r.status, 204);
    char cookie[512];
    assert_true(pb_http_reply_header(&r, "Set-Cookie", cookie, sizeof(cookie)));
    assert_string_equal(cookie,
                        "__Host-pb_session=; Path=/; Secure; HttpOnly; SameSite=Strict; Max-Age=0");
    pb_http_reply_free(&r);
    /* The old cookie is dead on the server, not only in the browser. */
    pb_strlcpy(c.cookie, token, sizeof(c.cookie));
    expect_error(&c, "GET", "/api/v1/session", NULL, 401, PB_ERR_UNAUTHENTICATED, NULL);
    /* The other session is untouched. */
    expect_status(&other, "GET", "/api/v1/session", NULL, 200);
}

/* ---- TOTP ---- */

static void
totp_enrol_login_replay_recovery_disable(void **state)
{
    (void)state;
    app_start(0);
    struct pb_http_client c = {0};
    struct pb_http_reply r;
    struct totp_user u;
    login_expect(&c, OWNER_EMAIL, PASSWORD, false);
    /* Not pending: the second step has nothing to do. */
    expect_error(&c, "POST", "/api/v1/session/mfa", "{\"code\":\"123456\"}", 409, PB_ERR_CONFLICT,
                 NULL);
    expect_error(&c, "POST", "/api/v1/me/totp/confirm", "{\"code\":\"123456\"}", 409,
                 PB_ERR_TOTP_NOT_PENDING, NULL);
    expect_error(&c, "DELETE", "/api/v1/me/totp", "{\"code\":\"123456\"}", 409, PB_ERR_TOTP_OFF,
                 NULL);
    enrol(&c, &u);
    call(&c, "GET", "/api/v1/session", NULL, &r);
    assert_true(json_is_true(json_object_get(json_object_get(r.json, "user"), "totp_enabled")));
    pb_http_reply_free(&r);
    /* On already: a second enrolment is refused. */
    expect_error(&c, "POST", "/api/v1/me/totp", NULL, 409, PB_ERR_TOTP_ALREADY_ON, NULL);
    logout(&c);

    /* Log in again: the second step is due. */
    advance_ms(30000);
    login_expect(&c, OWNER_EMAIL, PASSWORD, true);
    char pending[256];
    pb_strlcpy(pending, c.cookie, sizeof(pending));
    expect_error(&c, "GET", "/api/v1/users", NULL, 401, PB_ERR_MFA_REQUIRED, NULL);
    expect_error(&c, "POST", "/api/v1/me/totp", NULL, 401, PB_ERR_MFA_REQUIRED, NULL);
    call(&c, "GET", "/api/v1/session", NULL, &r);
    assert_int_equal(r.status, 200);
    assert_true(json_is_true(json_object_get(r.json, "mfa_pending")));
    pb_http_reply_free(&r);
    /* The step needs the CSRF token like every unsafe cookie call. */
    c.no_csrf = true;
    expect_error(&c, "POST", "/api/v1/session/mfa", "{\"code\":\"123456\"}", 403, PB_ERR_CSRF,
                 NULL);
    c.no_csrf = false;

    char code[PB_TOTP_DIGITS + 1];
    code_wrong(&u, code);
    assert_int_equal(mfa_step(&c, "code", code, &r), 401);
    assert_error(&r, 401, PB_ERR_TOTP_WRONG, "code");
    pb_http_reply_free(&r);
    assert_int_equal(mfa_step(&c, "code", "12 456", &r), 400);
    assert_error(&r, 400, PB_ERR_TOTP_MALFORMED, "code");
    pb_http_reply_free(&r);
    assert_int_equal(mfa_step(&c, "code", "abcdef", &r), 400);
    assert_error(&r, 400, PB_ERR_TOTP_MALFORMED, "code");
    pb_http_reply_free(&r);
    expect_error(&c, "POST", "/api/v1/session/mfa", "{}", 400, PB_ERR_MISSING_FIELD, "code");
    expect_error(&c, "POST", "/api/v1/session/mfa", "{\"code\":\"123456\",\"recovery_code\":\"x\"}",
                 400, PB_ERR_BAD_REQUEST, "recovery_code");
    expect_error(&c, "POST", "/api/v1/session/mfa", "{\"code\":123456}", 400, PB_ERR_WRONG_TYPE,
                 "code");
    expect_error(&c, "POST", "/api/v1/session/mfa", "{\"otp\":\"123456\"}", 400,
                 PB_ERR_UNKNOWN_FIELD, "otp");

    code_now(&u, code);
    assert_int_equal(mfa_step(&c, "code", code, &r), 200);
    assert_int_equal(json_object_size(r.json), 1);
    assert_non_null(json_object_get(r.json, "csrf_token"));
    pb_http_reply_free(&r);
    /* A new session: a new cookie; the pending one is gone. */
    assert_string_not_equal(c.cookie, pending);
    assert_int_equal(strlen(cookie_token(&c)), PB_TOKEN_LEN);
    call(&c, "GET", "/api/v1/session", NULL, &r);
    assert_int_equal(r.status, 200);
    assert_true(json_is_false(json_object_get(r.json, "mfa_pending")));
    assert_string_equal(json_string_value(json_object_get(r.json, "csrf_token")), c.csrf);
    pb_http_reply_free(&r);
    expect_status(&c, "GET", "/api/v1/users", NULL, 200);
    struct pb_http_client old = {0};
    pb_strlcpy(old.cookie, pending, sizeof(old.cookie));
    expect_error(&old, "GET", "/api/v1/session", NULL, 401, PB_ERR_UNAUTHENTICATED, NULL);

    /* The same code on a new login is refused: never accepted twice. */
    struct pb_http_client c2 = {0};
    login_expect(&c2, OWNER_EMAIL, PASSWORD, true);
    assert_int_equal(mfa_step(&c2, "code", code, &r), 401);
    assert_error(&r, 401, PB_ERR_TOTP_WRONG, "code");
    pb_http_reply_free(&r);
    expect_error(&c2, "GET", "/api/v1/users", NULL, 401, PB_ERR_MFA_REQUIRED, NULL);

    /* A recovery code works once, and only once. */
    assert_int_equal(mfa_step(&c2, "recovery_code", u.recovery[0], &r), 200);
    pb_http_reply_free(&r);
    expect_status(&c2, "GET", "/api/v1/users", NULL, 200);
    struct pb_http_client c3 = {0};
    login_expect(&c3, OWNER_EMAIL, PASSWORD, true);
    assert_int_equal(mfa_step(&c3, "recovery_code", u.recovery[0], &r), 401);
    assert_error(&r, 401, PB_ERR_RECOVERY_CODE_WRONG, "recovery_code");
    pb_http_reply_free(&r);
    assert_int_equal(mfa_step(&c3, "recovery_code", u.recovery[1], &r), 200);
    pb_http_reply_free(&r);
    expect_status(&c3, "GET", "/api/v1/session", NULL, 200);

    /* Turning it off takes a valid code: a new one, of the next step. */
    expect_error(&c, "DELETE", "/api/v1/me/totp", NULL, 400, PB_ERR_MISSING_FIELD, "code");
    expect_error(&c, "DELETE", "/api/v1/me/totp", "{\"code\":\"12 456\"}", 400,
                 PB_ERR_TOTP_MALFORMED, "code");
    char *body = code_body("code", code); /* the used one */
    expect_error(&c, "DELETE", "/api/v1/me/totp", body, 401, PB_ERR_TOTP_WRONG, "code");
    free(body);
    advance_ms(30000);
    code_now(&u, code);
    body = code_body("code", code);
    expect_status(&c, "DELETE", "/api/v1/me/totp", body, 204);
    free(body);
    call(&c, "GET", "/api/v1/session", NULL, &r);
    assert_true(json_is_false(json_object_get(json_object_get(r.json, "user"), "totp_enabled")));
    pb_http_reply_free(&r);
    logout(&c);
    login_expect(&c, OWNER_EMAIL, PASSWORD, false);
    expect_status(&c, "GET", "/api/v1/users", NULL, 200);
}

static void
forced_enrolment(void **state)
{
    (void)state;
    app_start(0);
    char admin_id[32];
    pb_testapp_user(&t, account_id, ADMIN_EMAIL, "admin", PASSWORD, admin_id);
    struct pb_http_client owner = {0}, admin = {0};
    login_expect(&owner, OWNER_EMAIL, PASSWORD, false);
    struct pb_principal who;
    principal_of(&owner, &who);
    struct pb_account_patch patch = {.set_require_2fa = true, .require_2fa = true};
    assert_int_equal(pb_account_update(&t.app, &who, &patch, "127.0.0.1"), PB_ERR_OK);

    login_expect(&admin, ADMIN_EMAIL, PASSWORD, false);
    expect_error(&admin, "GET", "/api/v1/users", NULL, 403, PB_ERR_ENROLMENT_REQUIRED, NULL);
    expect_error(&admin, "GET", "/api/v1/account", NULL, 403, PB_ERR_ENROLMENT_REQUIRED, NULL);
    struct pb_http_reply r;
    call(&admin, "GET", "/api/v1/session", NULL, &r);
    assert_int_equal(r.status, 200);
    assert_true(json_is_true(json_object_get(r.json, "must_enrol")));
    pb_http_reply_free(&r);
    /* An existing session of a user without TOTP is held too. */
    expect_error(&owner, "GET", "/api/v1/users", NULL, 403, PB_ERR_ENROLMENT_REQUIRED, NULL);

    struct totp_user u;
    enrol(&admin, &u);
    call(&admin, "GET", "/api/v1/session", NULL, &r);
    assert_true(json_is_false(json_object_get(r.json, "must_enrol")));
    pb_http_reply_free(&r);
    expect_status(&admin, "GET", "/api/v1/users", NULL, 200);
    /* Logging out is always possible. */
    logout(&owner);
}

/* ---- session expiry ---- */

static void
session_idle_timeout(void **state)
{
    (void)state;
    app_start(0);
    struct pb_http_client c = {0};
    login_expect(&c, OWNER_EMAIL, PASSWORD, false);
    advance_ms(29 * 60 * 1000);
    expect_status(&c, "GET", "/api/v1/session", NULL, 200);
    advance_ms(31 * 60 * 1000);
    expect_error(&c, "GET", "/api/v1/session", NULL, 401, PB_ERR_UNAUTHENTICATED, NULL);
    /* A new login works. */
    login_expect(&c, OWNER_EMAIL, PASSWORD, false);
    expect_status(&c, "GET", "/api/v1/session", NULL, 200);
}

static void
session_absolute_timeout(void **state)
{
    (void)state;
    app_start(0);
    struct pb_http_client c = {0};
    login_expect(&c, OWNER_EMAIL, PASSWORD, false);
    /* Kept alive every 20 minutes up to 11 h 40 min. */
    for (int i = 1; i <= 35; i++) {
        advance_ms(20 * 60 * 1000);
        struct pb_http_reply r;
        if (call(&c, "GET", "/api/v1/session", NULL, &r) != 200)
            fail_msg("after %d minutes: %ld %s", i * 20, r.status, r.body);
        pb_http_reply_free(&r);
    }
    advance_ms(21 * 60 * 1000); /* 12 h 1 min: well within the idle limit, past the absolute */
    expect_error(&c, "GET", "/api/v1/session", NULL, 401, PB_ERR_UNAUTHENTICATED, NULL);
}

/* ---- throttling ---- */

/*
 * Ten wrong passwords for `email`; returns the Retry-After of the last 429
 * (0 when there was none) and the statuses into `statuses`.
 */
static long
hammer(const char *email, long statuses[10])
{
    struct pb_http_client c = {0};
    long retry_after = 0;
    for (int i = 0; i < 10; i++) {
        struct pb_http_reply r;
        statuses[i] = login_raw(&c, email, "wrong-password-number-x", &r);
        if (statuses[i] == 429) {
            assert_error(&r, 429, PB_ERR_THROTTLED, NULL);
            char value[32];
            assert_true(pb_http_reply_header(&r, "Retry-After", value, sizeof(value)));
            retry_after = strtol(value, NULL, 10);
            assert_true(retry_after > 0);
        } else {
            assert_error(&r, 401, PB_ERR_LOGIN_FAILED, NULL);
        }
        pb_http_reply_free(&r);
    }
    return retry_after;
}

static void
throttling_known_email(void **state)
{
    (void)state;
    app_start(0);
    long statuses[10];
    long retry_after = hammer(OWNER_EMAIL, statuses);
    assert_int_equal(statuses[0], 401);
    assert_int_equal(statuses[9], 429);
    assert_true(retry_after > 0);
    /* Even the right password is refused while the delay runs. */
    struct pb_http_client c = {0};
    struct pb_http_reply r;
    assert_int_equal(login_raw(&c, OWNER_EMAIL, PASSWORD, &r), 429);
    char value[32];
    assert_true(pb_http_reply_header(&r, "Retry-After", value, sizeof(value)));
    long again = strtol(value, NULL, 10);
    assert_true(again > 0);
    assert_string_equal(c.cookie, "");
    pb_http_reply_free(&r);
    /* Past the delay it works. */
    advance_ms((again + 2) * 1000);
    login_expect(&c, OWNER_EMAIL, PASSWORD, false);
    expect_status(&c, "GET", "/api/v1/session", NULL, 200);
}

static void
throttling_unknown_email_answers_alike(void **state)
{
    (void)state;
    app_start(0);
    long known[10], unknown[10];
    hammer(OWNER_EMAIL, known);
    /* A fresh instance, so that the client address starts clean as well. */
    app_stop();
    offset_ms = 0;
    pb_clock_set_offset_ms(0);
    app_start(0);
    long retry_after = hammer("nobody@example.org", unknown);
    /*
     * The same answers: failures first, 429 at the end. (Where in between the
     * first 429 falls depends on how the attempts straddle a second.)
     */
    for (int i = 0; i < 5; i++)
        if (known[i] != 401 || unknown[i] != 401)
            fail_msg("attempt %d: %ld for a known email, %ld for an unknown one", i + 1, known[i],
                     unknown[i]);
    assert_int_equal(known[9], 429);
    assert_int_equal(unknown[9], 429);
    assert_true(retry_after > 0);
    struct pb_http_client c = {0};
    struct pb_http_reply r;
    assert_int_equal(login_raw(&c, "nobody@example.org", PASSWORD, &r), 429);
    char value[32];
    assert_true(pb_http_reply_header(&r, "Retry-After", value, sizeof(value)));
    long again = strtol(value, NULL, 10);
    pb_http_reply_free(&r);
    advance_ms((again + 2) * 1000);
    assert_int_equal(login_raw(&c, "nobody@example.org", PASSWORD, &r), 401);
    assert_error(&r, 401, PB_ERR_LOGIN_FAILED, NULL);
    pb_http_reply_free(&r);
}

/* ---- API keys ---- */

static void
api_key_bearer(void **state)
{
    (void)state;
    app_start(0);
    struct pb_http_client owner = {0};
    login_expect(&owner, OWNER_EMAIL, PASSWORD, false);
    struct pb_principal who;
    principal_of(&owner, &who);
    struct pb_api_key key;
    char token[PB_API_KEY_LEN + 1];
    assert_int_equal(pb_apikey_create(&t.app, &who, "ci", "127.0.0.1", &key, token), PB_ERR_OK);
    assert_true(pb_str_starts_with(token, PB_API_KEY_PREFIX));

    struct pb_http_client bot = {0};
    pb_strlcpy(bot.bearer, token, sizeof(bot.bearer));
    struct pb_http_reply r;
    call(&bot, "GET", "/api/v1/session", NULL, &r);
    if (r.status != 200)
        fail_msg("bearer: %ld %s", r.status, r.body);
    assert_string_equal(json_string_value(json_object_get(r.json, "via")), "api_key");
    assert_null(json_object_get(r.json, "csrf_token"));
    assert_string_equal(json_string_value(json_object_get(json_object_get(r.json, "user"), "id")),
                        owner_id);
    pb_http_reply_free(&r);
    expect_status(&bot, "GET", "/api/v1/users", NULL, 200);
    /* No CSRF token with a bearer: the unsafe call reaches the handler. */
    expect_error(&bot, "DELETE", "/api/v1/me/totp", "{\"code\":\"123456\"}", 409, PB_ERR_TOTP_OFF,
                 NULL);
    /* A key has no session to end. */
    expect_error(&bot, "DELETE", "/api/v1/session", NULL, 409, PB_ERR_CONFLICT, NULL);
    /* A dead cookie next to a good key: the key counts. */
    snprintf(bot.cookie, sizeof(bot.cookie), "__Host-pb_session=%s",
             "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA");
    expect_status(&bot, "GET", "/api/v1/session", NULL, 200);
    bot.cookie[0] = '\0';

    /* Unknown and malformed keys. */
    struct pb_http_client stranger = {0};
    pb_strlcpy(stranger.bearer, "pbk_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
               sizeof(stranger.bearer));
    expect_error(&stranger, "GET", "/api/v1/session", NULL, 401, PB_ERR_UNAUTHENTICATED, NULL);
    pb_strlcpy(stranger.bearer, "x y", sizeof(stranger.bearer));
    expect_error(&stranger, "GET", "/api/v1/session", NULL, 401, PB_ERR_UNAUTHENTICATED, NULL);

    /* Revoked: refused. */
    assert_int_equal(pb_apikey_revoke(&t.app, &who, key.id, "127.0.0.1"), PB_ERR_OK);
    expect_error(&bot, "GET", "/api/v1/session", NULL, 401, PB_ERR_UNAUTHENTICATED, NULL);
}

/* ---- forgot / reset ---- */

static int
sink_start(void)
{
    int port = pb_test_sink_start(sink_dir);
    sink_running = true;
    return port;
}

static void
sink_stop(void)
{
    if (!sink_running)
        return;
    sink_running = false;
    assert_int_equal(pb_test_sink_stop(sink_dir), 0);
}

/* The mails in the dump directory: how many, and the reset token of the one that has it. */
static int
read_reset_token(char token[128])
{
    char dir[PATH_MAX + 8];
    snprintf(dir, sizeof(dir), "%s/mail", sink_dir);
    DIR *d = opendir(dir);
    assert_non_null(d);
    int count = 0;
    token[0] = '\0';
    for (struct dirent *e; (e = readdir(d)) != NULL;) {
        if (e->d_name[0] == '.')
            continue;
        count++;
        char path[PATH_MAX * 2];
        snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
        FILE *f = fopen(path, "rb");
        assert_non_null(f);
        static char text[256 * 1024];
        size_t n = fread(text, 1, sizeof(text) - 1, f);
        fclose(f);
        text[n] = '\0';
        assert_null(strstr(text, PASSWORD));
        pb_test_qp_decode(text);
        const char *link = strstr(text, "/reset-password#token=");
        if (link != NULL) {
            link += strlen("/reset-password#token=");
            size_t len = strspn(link, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
                                      "0123456789-_.~");
            assert_true(len > 0 && len < 128);
            memcpy(token, link, len);
            token[len] = '\0';
        }
    }
    closedir(d);
    return count;
}

static char *
reset_body(const char *token, const char *password)
{
    json_t *j = json_pack("{s:s, s:s}", "token", token, "password", password);
    char *text = json_dumps(j, JSON_COMPACT);
    json_decref(j);
    return text;
}

static void
forgot_and_reset_password(void **state)
{
    (void)state;
    int port = sink_start();
    app_start(port);
    struct pb_http_client s1 = {0}, s2 = {0}, anon = {0};
    login_expect(&s1, OWNER_EMAIL, PASSWORD, false);
    login_expect(&s2, OWNER_EMAIL, PASSWORD, false);

    struct pb_http_reply r;
    call(&anon, "POST", "/api/v1/password/forgot", "{\"email\":\"" OWNER_EMAIL "\"}", &r);
    assert_int_equal(r.status, 202);
    assert_string_equal(r.body, "{}");
    pb_http_reply_free(&r);
    call(&anon, "POST", "/api/v1/password/forgot", "{\"email\":\"nobody@example.org\"}", &r);
    assert_int_equal(r.status, 202);
    assert_string_equal(r.body, "{}");
    pb_http_reply_free(&r);
    expect_status(&anon, "POST", "/api/v1/password/forgot", "{\"email\":\"not an address\"}", 202);
    expect_error(&anon, "POST", "/api/v1/password/forgot", "{}", 400, PB_ERR_MISSING_FIELD,
                 "email");
    expect_error(&anon, "POST", "/api/v1/password/forgot", "{\"email\":5}", 400, PB_ERR_WRONG_TYPE,
                 "email");

    int sent = 0, failed = 0;
    assert_int_equal(pb_outbox_deliver_due(&t.app, 10, &sent, &failed), PB_ERR_OK);
    assert_int_equal(sent, 1);
    assert_int_equal(failed, 0);
    char token[128];
    /* smtp-sink writes the dump as the message ends; give it a moment. */
    int mails = 0;
    for (int i = 0; i < 100 && (mails = read_reset_token(token)) == 0; i++)
        usleep(50 * 1000);
    assert_int_equal(mails, 1); /* none for the unknown address */
    assert_true(token[0] != '\0');

    /* A weak or over-long password is refused and does not use the token up. */
    char *body = reset_body(token, "passwordpassword");
    expect_error(&anon, "POST", "/api/v1/password/reset", body, 422, PB_ERR_PASSWORD_POLICY,
                 "password");
    free(body);
    char long_password[201];
    memset(long_password, 'q', 200);
    long_password[200] = '\0';
    body = reset_body(token, long_password);
    expect_error(&anon, "POST", "/api/v1/password/reset", body, 422, PB_ERR_PASSWORD_POLICY,
                 "password");
    free(body);
    body = reset_body("not-a-token", NEW_PASSWORD);
    expect_error(&anon, "POST", "/api/v1/password/reset", body, 400, PB_ERR_TOKEN_INVALID, "token");
    free(body);
    expect_error(&anon, "POST", "/api/v1/password/reset", "{\"token\":\"x\"}", 400,
                 PB_ERR_MISSING_FIELD, "password");

    body = reset_body(token, NEW_PASSWORD);
    expect_status(&anon, "POST", "/api/v1/password/reset", body, 204);
    /* Used once: never again. */
    expect_error(&anon, "POST", "/api/v1/password/reset", body, 400, PB_ERR_TOKEN_INVALID, "token");
    free(body);

    /* Every earlier session is gone; only the new password logs in. */
    expect_error(&s1, "GET", "/api/v1/session", NULL, 401, PB_ERR_UNAUTHENTICATED, NULL);
    expect_error(&s2, "GET", "/api/v1/session", NULL, 401, PB_ERR_UNAUTHENTICATED, NULL);
    struct pb_http_client c = {0};
    assert_int_equal(login_raw(&c, OWNER_EMAIL, PASSWORD, &r), 401);
    pb_http_reply_free(&r);
    login_expect(&c, OWNER_EMAIL, NEW_PASSWORD, false);
    expect_status(&c, "GET", "/api/v1/session", NULL, 200);

    app_stop();
    sink_stop();
}

static void
reset_token_expires(void **state)
{
    (void)state;
    int port = sink_start();
    app_start(port);
    struct pb_http_client anon = {0};
    expect_status(&anon, "POST", "/api/v1/password/forgot", "{\"email\":\"" OWNER_EMAIL "\"}", 202);
    int sent = 0, failed = 0;
    assert_int_equal(pb_outbox_deliver_due(&t.app, 10, &sent, &failed), PB_ERR_OK);
    assert_int_equal(sent, 1);
    char token[128];
    for (int i = 0; i < 100 && read_reset_token(token) == 0; i++)
        usleep(50 * 1000);
    assert_true(token[0] != '\0');
    advance_ms(31 * 60 * 1000);
    char *body = reset_body(token, NEW_PASSWORD);
    expect_error(&anon, "POST", "/api/v1/password/reset", body, 400, PB_ERR_TOKEN_INVALID, "token");
    free(body);
    app_stop();
    sink_stop();
}

static void
forgot_with_a_dead_relay(void **state)
{
    (void)state;
    int port = pb_test_run_for_number("build/asan/tests/freeport");
    assert_true(port > 0);
    app_start(port);
    struct pb_http_client anon = {0};
    expect_status(&anon, "POST", "/api/v1/password/forgot", "{\"email\":\"" OWNER_EMAIL "\"}", 202);
    int sent = -1, failed = -1;
    assert_int_equal(pb_outbox_deliver_due(&t.app, 10, &sent, &failed), PB_ERR_OK);
    assert_int_equal(sent, 0);
    assert_int_equal(failed, 1);
    /* Still queued: tried again once it is due. */
    advance_ms(15 * 60 * 1000);
    assert_int_equal(pb_outbox_deliver_due(&t.app, 10, &sent, &failed), PB_ERR_OK);
    assert_int_equal(sent, 0);
    assert_int_equal(failed, 1);
    /* Nothing else changed: the password still works. */
    struct pb_http_client c = {0};
    login_expect(&c, OWNER_EMAIL, PASSWORD, false);
}

/* ---- bad input ---- */

static void
bad_input(void **state)
{
    (void)state;
    app_start(0);
    struct pb_http_client c = {0};
    expect_error(&c, "POST", "/api/v1/session", "{\"email\":", 400, PB_ERR_BAD_JSON, NULL);
    expect_error(&c, "POST", "/api/v1/session", "[1,2]", 400, PB_ERR_WRONG_TYPE, NULL);
    expect_error(&c, "POST", "/api/v1/session",
                 "{\"email\":\"" OWNER_EMAIL "\",\"password\":\"" PASSWORD "\",\"admin\":true}",
                 400, PB_ERR_UNKNOWN_FIELD, "admin");
    expect_error(&c, "POST", "/api/v1/session", "{\"email\":\"" OWNER_EMAIL "\"}", 400,
                 PB_ERR_MISSING_FIELD, "password");
    expect_error(&c, "POST", "/api/v1/session", "{\"email\":\"" OWNER_EMAIL "\",\"password\":7}",
                 400, PB_ERR_WRONG_TYPE, "password");
    expect_error(&c, "POST", "/api/v1/session",
                 "{\"email\":\"a@example.org\",\"email\":\"b@example.org\",\"password\":\"x\"}",
                 400, PB_ERR_BAD_JSON, NULL);
    expect_error(&c, "POST", "/api/v1/session", NULL, 400, PB_ERR_BAD_JSON, NULL);

    char big[5 * 1024 + 64];
    int n = snprintf(big, sizeof(big), "{\"email\":\"" OWNER_EMAIL "\",\"password\":\"");
    memset(big + n, 'p', 5 * 1024);
    snprintf(big + n + 5 * 1024, sizeof(big) - (size_t)n - 5 * 1024, "\"}");
    expect_error(&c, "POST", "/api/v1/session", big, 413, PB_ERR_BODY_TOO_LARGE, NULL);

    expect_error(&c, "POST", "/api/v1/password/reset", "{\"token\":\"x\",\"password\":", 400,
                 PB_ERR_BAD_JSON, NULL);
    expect_error(&c, "POST", "/api/v1/password/reset",
                 "{\"token\":\"x\",\"password\":\"abcdefghijklmn\",\"extra\":1}", 400,
                 PB_ERR_UNKNOWN_FIELD, "extra");
    expect_error(&c, "POST", "/api/v1/password/forgot", "{\"email\":\"a@b.org\",\"x\":1}", 400,
                 PB_ERR_UNKNOWN_FIELD, "x");
    /* A login with an absurd password is just a failed login, never a crash. */
    json_t *j =
        json_pack("{s:s, s:s}", "email", OWNER_EMAIL, "password",
                  "ppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppp"
                  "ppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppp"
                  "pppppppppppppppppppppppppppppppppppppppppppppppppppppp");
    char *body = json_dumps(j, JSON_COMPACT);
    json_decref(j);
    expect_error(&c, "POST", "/api/v1/session", body, 401, PB_ERR_LOGIN_FAILED, NULL);
    free(body);

    /* Logged in: bodies of the TOTP routes. */
    login_expect(&c, OWNER_EMAIL, PASSWORD, false);
    expect_error(&c, "POST", "/api/v1/me/totp", "{\"x\":1}", 400, PB_ERR_UNKNOWN_FIELD, "x");
    expect_error(&c, "POST", "/api/v1/me/totp/confirm", "{\"code\":", 400, PB_ERR_BAD_JSON, NULL);
    expect_error(&c, "POST", "/api/v1/me/totp/confirm", "{\"code\":\"123456\",\"y\":2}", 400,
                 PB_ERR_UNKNOWN_FIELD, "y");
    expect_error(&c, "DELETE", "/api/v1/me/totp", "{\"code\":", 400, PB_ERR_BAD_JSON, NULL);
    expect_error(&c, "DELETE", "/api/v1/session", "{}", 413, PB_ERR_BODY_TOO_LARGE, NULL);
    expect_status(&c, "GET", "/api/v1/session", NULL, 200);
}

int
main(void)
{
    if (sodium_init() < 0 || pb_totp_init() != PB_ERR_OK)
        return 1;
    pb_log_set_level(PB_LOG_ERROR);
    curl_global_init(CURL_GLOBAL_DEFAULT);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(login_sets_host_cookie, teardown),
        cmocka_unit_test_teardown(wrong_password_and_unknown_email_answer_alike, teardown),
        cmocka_unit_test_teardown(session_needs_a_login, teardown),
        cmocka_unit_test_teardown(csrf_is_required_and_logout_ends_the_session, teardown),
        cmocka_unit_test_teardown(totp_enrol_login_replay_recovery_disable, teardown),
        cmocka_unit_test_teardown(forced_enrolment, teardown),
        cmocka_unit_test_teardown(session_idle_timeout, teardown),
        cmocka_unit_test_teardown(session_absolute_timeout, teardown),
        cmocka_unit_test_teardown(throttling_known_email, teardown),
        cmocka_unit_test_teardown(throttling_unknown_email_answers_alike, teardown),
        cmocka_unit_test_teardown(api_key_bearer, teardown),
        cmocka_unit_test_teardown(forgot_and_reset_password, teardown),
        cmocka_unit_test_teardown(reset_token_expires, teardown),
        cmocka_unit_test_teardown(forgot_with_a_dead_relay, teardown),
        cmocka_unit_test_teardown(bad_input, teardown),
    };
    int failed = cmocka_run_group_tests(tests, NULL, NULL);
    curl_global_cleanup();
    return failed;
}
