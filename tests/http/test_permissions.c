/*
 * The permission matrix, generated from the production route table: every
 * non-public route against no credentials and each role (owner, admin,
 * author of one enterprise account), through the session cookie and
 * through API keys; and CSRF on every cookie-authenticated unsafe route.
 * Runs on SQLite, or on PostgreSQL when PB_TEST_STORE_URL is set.
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
#include <jansson.h>
#include <sodium.h>

#include "core/err.h"
#include "core/id.h"
#include "core/log.h"
#include "core/strutil.h"
#include "crypto/totp.h"
#include "http/router.h"
#include "model/apikey.h"
#include "model/auth.h"
#include "model/roles.h"
#include "support/testapp.h"

#define PASSWORD "Quiet-Harbour-Lantern-58"

/* The callers of the matrix: index 0 has no credentials at all. */
enum { NOBODY, OWNER, ADMIN, AUTHOR, NCALLERS };

static const char *const caller_names[NCALLERS] = {"nobody", "owner", "admin", "author"};
static const enum pb_role caller_roles[NCALLERS] = {PB_ROLE_NONE, PB_ROLE_OWNER, PB_ROLE_ADMIN,
                                                    PB_ROLE_AUTHOR};
static const char *const caller_emails[NCALLERS] = {
    NULL, "owner@perm.example.org", "admin@perm.example.org", "author@perm.example.org"};

static struct pb_testapp t;
static char account_id[32];
static struct pb_http_client clients[NCALLERS];

static int
setup(void **state)
{
    (void)state;
    pb_testapp_start(&t, 0);
    pb_testapp_account(&t, "Permission matrix", "enterprise", account_id);
    memset(clients, 0, sizeof(clients));
    for (int c = OWNER; c < NCALLERS; c++) {
        char id[32];
        pb_testapp_user(&t, account_id, caller_emails[c], pb_role_name(caller_roles[c]), PASSWORD,
                        id);
        pb_test_login(&t, &clients[c], caller_emails[c], PASSWORD);
    }
    return 0;
}

static int
teardown(void **state)
{
    (void)state;
    pb_testapp_stop(&t);
    return 0;
}

static bool
is_unsafe(const char *method)
{
    return strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0 &&
           strcmp(method, "OPTIONS") != 0;
}

static bool
ends_session(const struct pb_route *route)
{
    return strcmp(route->method, "DELETE") == 0 && strcmp(route->pattern, "/api/v1/session") == 0;
}

/* The route's pattern with every {name} replaced by a fresh, well-formed id. */
static void
concrete_path(const struct pb_route *route, char *out, size_t size)
{
    size_t n = 0;
    for (const char *p = route->pattern; *p != '\0' && n + 1 < size;) {
        if (*p == '{') {
            const char *close = strchr(p, '}');
            assert_non_null(close);
            char id[PB_ID_LEN + 1];
            pb_id_new(id);
            assert_true(n + PB_ID_LEN < size);
            memcpy(out + n, id, PB_ID_LEN);
            n += PB_ID_LEN;
            p = close + 1;
        } else {
            out[n++] = *p++;
        }
    }
    out[n] = '\0';
}

/*
 * The body sent: `{}` on unsafe methods of routes that take a body; none on
 * routes whose limit is 0 (they would answer 413 to any body, which says
 * nothing about permissions).
 */
static const char *
body_for(const struct pb_route *route)
{
    if (!is_unsafe(route->method) || route->body_limit == 0)
        return NULL;
    return "{}";
}

/* Asserts a 403 error of the API's shape with the code `err`. */
static void
assert_forbidden(const struct pb_http_reply *r, enum pb_err err, const char *what)
{
    if (r->status != 403)
        fail_msg("%s: expected 403, got %ld: %s", what, r->status, r->body);
    if (r->json == NULL || !json_is_object(r->json))
        fail_msg("%s: the 403 has no JSON error body: %s", what, r->body);
    json_t *code = json_object_get(r->json, "code");
    if (!json_is_integer(code) || json_integer_value(code) != (json_int_t)err)
        fail_msg("%s: expected code %d, got %s", what, (int)err, r->body);
    if (!json_is_string(json_object_get(r->json, "hint")) ||
        !json_is_string(json_object_get(r->json, "detail")))
        fail_msg("%s: the error body lacks hint/detail: %s", what, r->body);
    char type[128];
    if (!pb_http_reply_header(r, "Content-Type", type, sizeof(type)) ||
        strncmp(type, "application/json", 16) != 0)
        fail_msg("%s: the 403 is not application/json", what);
}

/* Checks one cell: `client` (NULL: no credentials) with `role` calls `route`. */
static void
check_cell(const struct pb_route *route, struct pb_http_client *client, enum pb_role role,
           const char *who)
{
    char path[512], what[640];
    concrete_path(route, path, sizeof(path));
    snprintf(what, sizeof(what), "%s %s as %s", route->method, route->pattern, who);
    struct pb_http_reply r;
    pb_test_http(&t, client, route->method, path, body_for(route), &r);
    if (role == PB_ROLE_NONE) {
        if (r.status != 401)
            fail_msg("%s: expected 401, got %ld: %s", what, r.status, r.body);
        json_t *code = json_object_get(r.json, "code");
        if (!json_is_integer(code) || json_integer_value(code) != PB_ERR_UNAUTHENTICATED)
            fail_msg("%s: expected code %d: %s", what, PB_ERR_UNAUTHENTICATED, r.body);
    } else if (!pb_role_allows(role, route->perm)) {
        assert_forbidden(&r, PB_ERR_FORBIDDEN, what);
    } else if (r.status == 401 || r.status == 403) {
        fail_msg("%s: holds %s, yet got %ld: %s", what, pb_perm_name(route->perm), r.status,
                 r.body);
    }
    pb_http_reply_free(&r);
}

/* The principal of a logged-in client, as the router would see it. */
static void
principal_of(const struct pb_http_client *client, struct pb_principal *out)
{
    const char *eq = strchr(client->cookie, '=');
    assert_non_null(eq);
    assert_int_equal(pb_auth_session(&t.app, eq + 1, out), PB_ERR_OK);
}

static void
role_by_session(void **state)
{
    (void)state;
    int cells = 0, routes = 0, public_routes = 0, relogins = 0;
    for (size_t i = 0; i < pb_routes_count; i++) {
        const struct pb_route *route = &pb_routes[i];
        if (route->perm == PB_PERM_PUBLIC) {
            /* Not part of the matrix: anyone may call them (healthz, login, static files). */
            public_routes++;
            continue;
        }
        routes++;
        for (int c = NOBODY; c < NCALLERS; c++) {
            check_cell(route, c == NOBODY ? NULL : &clients[c], caller_roles[c], caller_names[c]);
            cells++;
            if (c != NOBODY && ends_session(route)) {
                /* Logging out ended the session: log in again for the next routes. */
                assert_int_equal(clients[c].cookie[0], '\0');
                memset(&clients[c], 0, sizeof(clients[c]));
                pb_test_login(&t, &clients[c], caller_emails[c], PASSWORD);
                relogins++;
            }
        }
    }
    assert_true(routes > 0);
    assert_int_equal(cells, routes * NCALLERS);
    print_message("permission matrix (session cookie): %d route x caller cells checked "
                  "(%d routes x %d callers); %d public routes outside the matrix; "
                  "%d logins again after DELETE /session\n",
                  cells, routes, NCALLERS, public_routes, relogins);
}

static void
role_by_api_key(void **state)
{
    (void)state;
    struct pb_http_client keys[NCALLERS];
    memset(keys, 0, sizeof(keys));
    /* A key that was never issued gets 401 like no credentials at all. */
    snprintf(keys[NOBODY].bearer, sizeof(keys[NOBODY].bearer), "%s%s", PB_API_KEY_PREFIX,
             "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA");
    for (int c = OWNER; c < NCALLERS; c++) {
        struct pb_principal who;
        struct pb_api_key key;
        char token[PB_API_KEY_LEN + 1];
        principal_of(&clients[c], &who);
        assert_int_equal(pb_apikey_create(&t.app, &who, "matrix", "127.0.0.1", &key, token),
                         PB_ERR_OK);
        pb_strlcpy(keys[c].bearer, token, sizeof(keys[c].bearer));
        sodium_memzero(token, sizeof(token));
        sodium_memzero(&who, sizeof(who));
    }
    /* Every safe (read) route of the table: an API key needs no CSRF token either way. */
    int cells = 0, routes = 0;
    for (size_t i = 0; i < pb_routes_count; i++) {
        const struct pb_route *route = &pb_routes[i];
        if (route->perm == PB_PERM_PUBLIC || is_unsafe(route->method))
            continue;
        routes++;
        for (int c = NOBODY; c < NCALLERS; c++) {
            char who[32];
            snprintf(who, sizeof(who), "%s (API key)", caller_names[c]);
            check_cell(route, &keys[c], caller_roles[c], who);
            cells++;
        }
    }
    assert_true(routes >= 4);
    print_message("permission matrix (API keys): %d route x caller cells checked on %d read "
                  "routes\n",
                  cells, routes);
}

static void
csrf_is_required(void **state)
{
    (void)state;
    int cells = 0, routes = 0;
    for (size_t i = 0; i < pb_routes_count; i++) {
        const struct pb_route *route = &pb_routes[i];
        if (route->perm == PB_PERM_PUBLIC || !is_unsafe(route->method))
            continue;
        /* An unsafe authenticated route without CSRF protection is a mistake of the table. */
        if (!route->csrf)
            fail_msg("%s %s: unsafe, authenticated, yet csrf=false", route->method, route->pattern);
        routes++;
        for (int c = OWNER; c < NCALLERS; c++) {
            if (!pb_role_allows(caller_roles[c], route->perm))
                continue; /* refused earlier, by the permission: the matrix checks that */
            char path[512], what[640];
            struct pb_http_reply r;
            concrete_path(route, path, sizeof(path));
            /* Without the header... */
            clients[c].no_csrf = true;
            snprintf(what, sizeof(what), "%s %s as %s without X-CSRF-Token", route->method,
                     route->pattern, caller_names[c]);
            pb_test_http(&t, &clients[c], route->method, path, body_for(route), &r);
            clients[c].no_csrf = false;
            assert_forbidden(&r, PB_ERR_CSRF, what);
            pb_http_reply_free(&r);
            /* ...and with another session's token. */
            struct pb_http_client forged = clients[c];
            int other = c == OWNER ? ADMIN : OWNER;
            pb_strlcpy(forged.csrf, clients[other].csrf, sizeof(forged.csrf));
            snprintf(what, sizeof(what), "%s %s as %s with a wrong X-CSRF-Token", route->method,
                     route->pattern, caller_names[c]);
            pb_test_http(&t, &forged, route->method, path, body_for(route), &r);
            assert_forbidden(&r, PB_ERR_CSRF, what);
            pb_http_reply_free(&r);
            /* The session survived both refusals. */
            assert_true(forged.cookie[0] != '\0');
            cells += 2;
        }
    }
    assert_true(routes > 0);
    print_message("CSRF: %d refusals checked on %d unsafe routes\n", cells, routes);
}

/*
 * The matrix above takes each route's permission from the table itself, so
 * it proves the router enforces the table; this pins the table to the
 * contract for the routes of issue 3, so that a wrong permission fails too.
 */
static void
table_matches_the_contract(void **state)
{
    (void)state;
    static const struct {
        const char *method, *pattern;
        enum pb_perm perm;
    } pinned[] = {
        {"GET", "/healthz", PB_PERM_PUBLIC},
        {"POST", "/api/v1/session", PB_PERM_PUBLIC},
        {"GET", "/api/v1/session", PB_PERM_AUTHENTICATED},
        {"DELETE", "/api/v1/session", PB_PERM_AUTHENTICATED},
        {"POST", "/api/v1/session/mfa", PB_PERM_AUTHENTICATED},
        {"POST", "/api/v1/password/forgot", PB_PERM_PUBLIC},
        {"POST", "/api/v1/password/reset", PB_PERM_PUBLIC},
        {"POST", "/api/v1/me/totp", PB_PERM_AUTHENTICATED},
        {"POST", "/api/v1/me/totp/confirm", PB_PERM_AUTHENTICATED},
        {"DELETE", "/api/v1/me/totp", PB_PERM_AUTHENTICATED},
        {"GET", "/api/v1/users", PB_PERM_USERS_MANAGE},
        {"POST", "/api/v1/users", PB_PERM_USERS_MANAGE},
        {"PATCH", "/api/v1/users/{id}", PB_PERM_USERS_MANAGE},
        {"DELETE", "/api/v1/users/{id}", PB_PERM_USERS_MANAGE},
        {"GET", "/api/v1/api-keys", PB_PERM_AUTHENTICATED},
        {"POST", "/api/v1/api-keys", PB_PERM_AUTHENTICATED},
        {"DELETE", "/api/v1/api-keys/{id}", PB_PERM_AUTHENTICATED},
        {"GET", "/api/v1/account", PB_PERM_AUTHENTICATED},
        {"PATCH", "/api/v1/account", PB_PERM_SETTINGS_MANAGE},
        {"GET", "/api/v1/audit", PB_PERM_AUDIT_READ},
    };
    for (size_t k = 0; k < sizeof(pinned) / sizeof(pinned[0]); k++) {
        const struct pb_route *found = NULL;
        for (size_t i = 0; i < pb_routes_count && found == NULL; i++)
            if (strcmp(pb_routes[i].method, pinned[k].method) == 0 &&
                strcmp(pb_routes[i].pattern, pinned[k].pattern) == 0)
                found = &pb_routes[i];
        if (found == NULL)
            fail_msg("%s %s is missing from the route table", pinned[k].method, pinned[k].pattern);
        if (found->perm != pinned[k].perm)
            fail_msg("%s %s requires %s, the contract says %s", pinned[k].method, pinned[k].pattern,
                     pb_perm_name(found->perm), pb_perm_name(pinned[k].perm));
    }
    /* The contract's roles: authors never manage users or settings; only owners read the log. */
    assert_false(pb_role_allows(PB_ROLE_AUTHOR, PB_PERM_USERS_MANAGE));
    assert_false(pb_role_allows(PB_ROLE_AUTHOR, PB_PERM_SETTINGS_MANAGE));
    assert_false(pb_role_allows(PB_ROLE_ADMIN, PB_PERM_AUDIT_READ));
    assert_true(pb_role_allows(PB_ROLE_OWNER, PB_PERM_AUDIT_READ));
    /* Nothing but login, password recovery, health and static files is public under the table. */
    for (size_t i = 0; i < pb_routes_count; i++) {
        const struct pb_route *route = &pb_routes[i];
        if (route->perm != PB_PERM_PUBLIC || !pb_str_starts_with(route->pattern, "/api/"))
            continue;
        bool known = false;
        for (size_t k = 0; k < sizeof(pinned) / sizeof(pinned[0]); k++)
            known = known || (strcmp(pinned[k].method, route->method) == 0 &&
                              strcmp(pinned[k].pattern, route->pattern) == 0);
        if (!known)
            fail_msg("%s %s is public: is that on purpose? (pin it here if so)", route->method,
                     route->pattern);
    }
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(table_matches_the_contract),
        cmocka_unit_test(role_by_session),
        cmocka_unit_test(role_by_api_key),
        cmocka_unit_test(csrf_is_required),
    };
    if (sodium_init() < 0 || pb_totp_init() != PB_ERR_OK)
        return 1;
    pb_log_set_level(PB_LOG_ERROR);
    curl_global_init(CURL_GLOBAL_DEFAULT);
    int failed = cmocka_run_group_tests(tests, setup, teardown);
    curl_global_cleanup();
    return failed;
}
