/*
 * Test support: a whole Postbode (fresh store, master key, certificate,
 * HTTPS server on a free port) running in the test process, and a small
 * libcurl client that keeps a session cookie and CSRF token like a browser.
 *
 * The store is a new SQLite file, or, when PB_TEST_STORE_URL names a
 * PostgreSQL server, a new database created on it and dropped at the end.
 */
#ifndef PB_TEST_TESTAPP_H
#define PB_TEST_TESTAPP_H

#include <limits.h>
#include <stdbool.h>

#include <jansson.h>

#include "core/config.h"
#include "http/server.h"
#include "model/app.h"

struct pb_testapp {
    char dir[PATH_MAX];
    char store_url[1024];
    char pg_admin_url[1024]; /* the server's maintenance URL when on PostgreSQL */
    char pg_db[64];
    struct pb_config config;
    struct pb_store *control;
    struct pb_placement *placement;
    struct pb_keys *keys;
    struct pb_app app;
    struct pb_server *server;
    struct pb_runner *runner; /* NULL unless pb_testapp_start_jobs was called */
    struct pb_sender *sender; /* NULL unless pb_testapp_start_sender was called */
    int port;
    char base_url[64]; /* https://localhost:PORT */
};

/* Starts everything; aborts the test program on any failure. `mail_port` 0: no relay. */
void
pb_testapp_start(struct pb_testapp *t, int mail_port);

void
pb_testapp_stop(struct pb_testapp *t);

/* Starts the job runner with Postbode's job kinds (stopped by pb_testapp_stop). */
void
pb_testapp_start_jobs(struct pb_testapp *t);

/* Starts two sender threads (campaigns), stopped by pb_testapp_stop. */
void
pb_testapp_start_sender(struct pb_testapp *t);

/* Waits (up to 20 s) until job `id` of `account_id` is done; aborts if it failed. */
void
pb_testapp_wait_job(struct pb_testapp *t, const char *account_id, const char *id);

/* Creates an account ("standard" or "enterprise"); its id into `id`. */
void
pb_testapp_account(struct pb_testapp *t, const char *name, const char *plan, char id[32]);

/* Creates a user with a password; its id into `id`. */
void
pb_testapp_user(struct pb_testapp *t, const char *account_id, const char *email, const char *role,
                const char *password, char id[32]);

/* A browser-like client: the session cookie and CSRF token it was given. */
struct pb_http_client {
    char cookie[256]; /* "__Host-pb_session=..." or "" */
    char csrf[128];   /* sent as X-CSRF-Token when set */
    char bearer[128]; /* sent as Authorization: Bearer when set */
    bool no_csrf;     /* leave X-CSRF-Token out even when known */
};

struct pb_http_reply {
    long status;
    char *body;          /* NUL-terminated */
    json_t *json;        /* parsed body, or NULL */
    char headers[16384]; /* raw response headers */
};

/*
 * Sends a request (body NULL for none, sent as application/json). Keeps a
 * Set-Cookie of the session in `c` (an empty value clears it). Returns the status.
 */
long
pb_test_http(struct pb_testapp *t, struct pb_http_client *c, const char *method, const char *path,
             const char *json_body, struct pb_http_reply *out);

/* pb_test_http with `len` bytes of `data` sent as they are, as `content_type`. */
long
pb_test_http_raw(struct pb_testapp *t, struct pb_http_client *c, const char *method,
                 const char *path, const char *content_type, const void *data, size_t len,
                 struct pb_http_reply *out);

/* One part of a multipart/form-data body: a form value, or a file when `data` is set. */
struct pb_test_part {
    const char *name;
    const char *value; /* a form value (when data is NULL) */
    const void *data;  /* a file's bytes */
    size_t len;
};

/* POSTs `n` parts as multipart/form-data (as a browser's form upload). Returns the status. */
long
pb_test_multipart(struct pb_testapp *t, struct pb_http_client *c, const char *path,
                  const struct pb_test_part *parts, int n, struct pb_http_reply *out);

/* The value of a response header (case-insensitive name) into `out`; false when absent. */
bool
pb_http_reply_header(const struct pb_http_reply *r, const char *name, char *out, size_t size);

void
pb_http_reply_free(struct pb_http_reply *r);

/* Logs in with email and password (no TOTP); fills the client's cookie and CSRF token. */
void
pb_test_login(struct pb_testapp *t, struct pb_http_client *c, const char *email,
              const char *password);

#endif
