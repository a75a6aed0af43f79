/* A whole Postbode in the test process, and a browser-like libcurl client. */
#include "support/testapp.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <curl/curl.h>
#include <libpq-fe.h>
#include <sodium.h>

#include "core/strutil.h"
#include "crypto/cert.h"
#include "crypto/keys.h"
#include "crypto/totp.h"
#include "jobs/kinds.h"
#include "jobs/sender.h"
#include "model/job.h"
#include "model/account.h"
#include "model/user.h"
#include "support/tmpdir.h"

static void
die(const char *what, const char *why)
{
    fprintf(stderr, "testapp: %s: %s\n", what, why);
    abort();
}

/* Runs one statement on the PostgreSQL server at `url`. */
static void
pg_exec(const char *url, const char *sql)
{
    PGconn *pg = PQconnectdb(url);
    if (PQstatus(pg) != CONNECTION_OK)
        die("postgres", PQerrorMessage(pg));
    PGresult *res = PQexec(pg, sql);
    if (PQresultStatus(res) != PGRES_COMMAND_OK)
        die(sql, PQerrorMessage(pg));
    PQclear(res);
    PQfinish(pg);
}

/* A fresh store: a new SQLite file, or a new database on the test PostgreSQL server. */
static void
fresh_store(struct pb_testapp *t)
{
    const char *pg = getenv("PB_TEST_STORE_URL");
    if (pg == NULL || !pb_str_starts_with(pg, "postgres")) {
        snprintf(t->store_url, sizeof(t->store_url), "sqlite:%s/postbode.db", t->dir);
        return;
    }
    unsigned char rnd[6];
    char hex[13];
    randombytes_buf(rnd, sizeof(rnd));
    sodium_bin2hex(hex, sizeof(hex), rnd, sizeof(rnd));
    snprintf(t->pg_db, sizeof(t->pg_db), "pbtest_%s", hex);
    pb_strlcpy(t->pg_admin_url, pg, sizeof(t->pg_admin_url));
    char sql[128];
    snprintf(sql, sizeof(sql), "CREATE DATABASE %s", t->pg_db);
    pg_exec(pg, sql);
    /* The same URL with the new database's name as its path. */
    const char *slash = strchr(strstr(pg, "://") + 3, '/');
    const char *query = slash ? strchr(slash, '?') : NULL;
    int host_len = slash ? (int)(slash - pg) : (int)strlen(pg);
    snprintf(t->store_url, sizeof(t->store_url), "%.*s/%s%s", host_len, pg, t->pg_db,
             query ? query : "");
}

void
pb_testapp_start(struct pb_testapp *t, int mail_port)
{
    char why[PB_WHY_MAX] = "";
    memset(t, 0, sizeof(*t));
    if (sodium_init() < 0 || pb_totp_init() != PB_ERR_OK)
        die("init", "libsodium or liboath failed to start");
    pb_test_tmpdir(t->dir);
    fresh_store(t);
    pb_config_defaults(&t->config);
    pb_strlcpy(t->config.data_dir, t->dir, sizeof(t->config.data_dir));
    pb_strlcpy(t->config.listen, "127.0.0.1:0", sizeof(t->config.listen));
    pb_strlcpy(t->config.store_url, t->store_url, sizeof(t->config.store_url));
    t->config.threads = 4;
    t->config.shutdown_grace_seconds = 5;
    if (mail_port > 0) {
        snprintf(t->config.mail_relay, sizeof(t->config.mail_relay), "smtp://127.0.0.1:%d",
                 mail_port);
        pb_strlcpy(t->config.mail_tls, "none", sizeof(t->config.mail_tls));
    }
    if (pb_config_finish(&t->config, why) != PB_ERR_OK)
        die("config", why);
    if (pb_cert_create_self_signed(t->config.tls_cert, t->config.tls_key, why) != PB_ERR_OK)
        die("certificate", why);
    bool created;
    if (pb_keys_create_master(t->config.master_key_file, &created, why) != PB_ERR_OK ||
        pb_keys_load(t->config.master_key_file, &t->keys, why) != PB_ERR_OK)
        die("master key", why);
    int from, to;
    if (pb_store_open(t->store_url, 4, &t->control, why) != PB_ERR_OK ||
        pb_store_migrate(t->control, &from, &to, why) != PB_ERR_OK)
        die("store", why);
    if (pb_placement_ensure_local(t->control) != PB_ERR_OK ||
        pb_placement_new(t->control, 2, &t->placement) != PB_ERR_OK)
        die("placement", "cannot set up");
    if (pb_app_init(&t->app, &t->config, t->control, t->placement, t->keys) != PB_ERR_OK)
        die("app", "cannot set up");
    if (pb_server_start(&t->app, &t->server, why) != PB_ERR_OK)
        die("server", why);
    t->port = pb_server_port(t->server);
    snprintf(t->base_url, sizeof(t->base_url), "https://localhost:%d", t->port);
}

void
pb_testapp_start_jobs(struct pb_testapp *t)
{
    if (pb_job_kinds_register() != PB_ERR_OK ||
        pb_runner_start(&t->app, "test-node", 1, &t->runner) != PB_ERR_OK)
        die("jobs", "cannot start the runner");
}

void
pb_testapp_start_sender(struct pb_testapp *t)
{
    if (pb_sender_start(&t->app, "test-node", 2, &t->sender) != PB_ERR_OK)
        die("sender", "cannot start the sender threads");
}

void
pb_testapp_wait_job(struct pb_testapp *t, const char *account_id, const char *id)
{
    for (int i = 0; i < 400; i++) {
        json_t *job = NULL;
        if (pb_job_get_json(&t->app, account_id, id, &job) != PB_ERR_OK)
            die("job", "cannot read it");
        const char *state = json_string_value(json_object_get(job, "state"));
        bool done = state != NULL && strcmp(state, "done") == 0;
        bool failed = state != NULL && strcmp(state, "failed") == 0;
        json_decref(job);
        if (failed)
            die("job", "it failed");
        if (done)
            return;
        usleep(50 * 1000);
    }
    die("job", "not done after 20 s");
}

void
pb_testapp_stop(struct pb_testapp *t)
{
    pb_sender_stop(t->sender);
    pb_runner_stop(t->runner);
    pb_server_stop(t->server, 5);
    pb_app_release(&t->app);
    pb_placement_free(t->placement);
    pb_store_close(t->control);
    pb_keys_free(t->keys);
    if (t->pg_db[0] != '\0') {
        char sql[128];
        snprintf(sql, sizeof(sql), "DROP DATABASE %s WITH (FORCE)", t->pg_db);
        pg_exec(t->pg_admin_url, sql);
    }
    pb_test_rmtree(t->dir);
}

void
pb_testapp_account(struct pb_testapp *t, const char *name, const char *plan, char id[32])
{
    char why[PB_WHY_MAX] = "";
    struct pb_account account;
    if (pb_account_create(&t->app, name, plan, NULL, &account, why) != PB_ERR_OK)
        die("account", why);
    pb_strlcpy(id, account.id, 32);
}

void
pb_testapp_user(struct pb_testapp *t, const char *account_id, const char *email, const char *role,
                const char *password, char id[32])
{
    char why[PB_WHY_MAX] = "", link[1024];
    struct pb_user user;
    struct pb_user_new req = {account_id, email, role, password, false};
    if (pb_user_create(&t->app, &req, NULL, NULL, &user, link, why) != PB_ERR_OK)
        die("user", why);
    pb_strlcpy(id, user.id, 32);
}

struct body_sink {
    char *data;
    size_t len;
};

static size_t
on_body(char *ptr, size_t size, size_t n, void *user)
{
    struct body_sink *b = user;
    size_t add = size * n;
    char *grown = realloc(b->data, b->len + add + 1);
    if (grown == NULL)
        return 0;
    memcpy(grown + b->len, ptr, add);
    b->data = grown;
    b->len += add;
    b->data[b->len] = '\0';
    return add;
}

static size_t
on_header(char *ptr, size_t size, size_t n, void *user)
{
    struct pb_http_reply *r = user;
    size_t add = size * n, have = strlen(r->headers);
    if (have + add < sizeof(r->headers)) {
        memcpy(r->headers + have, ptr, add);
        r->headers[have + add] = '\0';
    }
    return add;
}

bool
pb_http_reply_header(const struct pb_http_reply *r, const char *name, char *out, size_t size)
{
    size_t name_len = strlen(name);
    for (const char *line = r->headers; line && *line; line = strchr(line, '\n')) {
        if (*line == '\n')
            line++;
        if (strncasecmp(line, name, name_len) == 0 && line[name_len] == ':') {
            const char *v = line + name_len + 1;
            while (*v == ' ')
                v++;
            size_t len = strcspn(v, "\r\n");
            snprintf(out, size, "%.*s", (int)len, v);
            return true;
        }
    }
    return false;
}

/* Keeps the session cookie the server set, like a browser would. */
static void
keep_cookie(struct pb_http_client *c, const struct pb_http_reply *r)
{
    char value[512];
    if (!pb_http_reply_header(r, "Set-Cookie", value, sizeof(value)))
        return;
    size_t len = strcspn(value, ";");
    value[len] = '\0';
    const char *eq = strchr(value, '=');
    if (eq != NULL && eq[1] == '\0')
        c->cookie[0] = '\0'; /* cleared */
    else
        pb_strlcpy(c->cookie, value, sizeof(c->cookie));
}

/* What the client sends like a browser (cookie, CSRF token) or a script (bearer token). */
static struct curl_slist *
client_headers(CURL *curl, const struct pb_http_client *c, struct curl_slist *headers)
{
    char line[512];
    if (c != NULL && c->cookie[0] != '\0')
        curl_easy_setopt(curl, CURLOPT_COOKIE, c->cookie);
    if (c != NULL && c->csrf[0] != '\0' && !c->no_csrf) {
        snprintf(line, sizeof(line), "X-CSRF-Token: %s", c->csrf);
        headers = curl_slist_append(headers, line);
    }
    if (c != NULL && c->bearer[0] != '\0') {
        snprintf(line, sizeof(line), "Authorization: Bearer %s", c->bearer);
        headers = curl_slist_append(headers, line);
    }
    curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
    return headers;
}

long
pb_test_http(struct pb_testapp *t, struct pb_http_client *c, const char *method, const char *path,
             const char *json_body, struct pb_http_reply *out)
{
    return pb_test_http_raw(t, c, method, path, json_body ? "application/json" : NULL, json_body,
                            json_body ? strlen(json_body) : 0, out);
}

long
pb_test_http_raw(struct pb_testapp *t, struct pb_http_client *c, const char *method,
                 const char *path, const char *content_type, const void *data, size_t len,
                 struct pb_http_reply *out)
{
    memset(out, 0, sizeof(*out));
    CURL *curl = curl_easy_init();
    struct curl_slist *headers = NULL;
    struct body_sink body = {NULL, 0};
    char url[1024];
    snprintf(url, sizeof(url), "%s%s", t->base_url, path);
    curl_easy_setopt(curl, CURLOPT_URL, url);
    curl_easy_setopt(curl, CURLOPT_CAINFO, t->config.tls_cert);
    curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, method);
    if (strcmp(method, "HEAD") == 0)
        curl_easy_setopt(curl, CURLOPT_NOBODY, 1L);
    char type[256];
    if (data != NULL) {
        curl_easy_setopt(curl, CURLOPT_POSTFIELDS, data);
        curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
        snprintf(type, sizeof(type), "Content-Type: %s", content_type);
        headers = curl_slist_append(headers, type);
    }
    headers = client_headers(curl, c, headers);
    curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(curl, CURLOPT_WRITEDATA, &body);
    curl_easy_setopt(curl, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(curl, CURLOPT_HEADERDATA, out);
    curl_easy_setopt(curl, CURLOPT_TIMEOUT, 30L);
    CURLcode rc = curl_easy_perform(curl);
    if (rc != CURLE_OK)
        die("http", curl_easy_strerror(rc));
    curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &out->status);
    curl_slist_free_all(headers);
    curl_easy_cleanup(curl);
    out->body = body.data ? body.data : strdup("");
    out->json = json_loads(out->body, 0, NULL);
    if (c != NULL)
        keep_cookie(c, out);
    return out->status;
}

long
pb_test_multipart(struct pb_testapp *t, struct pb_http_client *c, const char *path,
                  const struct pb_test_part *parts, int n, struct pb_http_reply *out)
{
    memset(out, 0, sizeof(*out));
    CURL *curl = curl_easy_init();
    curl_mime *mime = curl_mime_init(curl);
    struct curl_slist *headers = NULL;
    struct body_sink body = {NULL, 0};
    char url[1024];
    for (int i = 0; i < n; i++) {
        curl_mimepart *part = curl_mime_addpart(mime);
        curl_mime_name(part, parts[i].name);
        if (parts[i].data != NULL) {
            curl_mime_data(part, parts[i].data, parts[i].len);
            curl_mime_filename(part, "contacts.csv");
            curl_mime_type(part, "text/csv");
        } else {
            curl_mime_data(part, parts[i].value, CURL_ZERO_TERMINATED);
        }
    }
    snprintf(url, sizeof(url), "%s%s", t->base_url, path);
    curl_easy_setopt(curl, CURLOPT_URL, url);
    curl_easy_setopt(curl, CURLOPT_CAINFO, t->config.tls_cert);
    curl_easy_setopt(curl, CURLOPT_MIMEPOST, mime);
    headers = client_headers(curl, c, headers);
    curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(curl, CURLOPT_WRITEDATA, &body);
    curl_easy_setopt(curl, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(curl, CURLOPT_HEADERDATA, out);
    curl_easy_setopt(curl, CURLOPT_TIMEOUT, 120L);
    CURLcode rc = curl_easy_perform(curl);
    if (rc != CURLE_OK)
        die("http", curl_easy_strerror(rc));
    curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &out->status);
    curl_slist_free_all(headers);
    curl_mime_free(mime);
    curl_easy_cleanup(curl);
    out->body = body.data ? body.data : strdup("");
    out->json = json_loads(out->body, 0, NULL);
    return out->status;
}

void
pb_http_reply_free(struct pb_http_reply *r)
{
    free(r->body);
    json_decref(r->json);
    r->body = NULL;
    r->json = NULL;
}

void
pb_test_login(struct pb_testapp *t, struct pb_http_client *c, const char *email,
              const char *password)
{
    json_t *body = json_pack("{s:s, s:s}", "email", email, "password", password);
    char *text = json_dumps(body, JSON_COMPACT);
    struct pb_http_reply r;
    long status = pb_test_http(t, c, "POST", "/api/v1/session", text, &r);
    free(text);
    json_decref(body);
    const char *csrf = json_string_value(json_object_get(r.json, "csrf_token"));
    if (status != 200 || csrf == NULL)
        die("login", r.body);
    pb_strlcpy(c->csrf, csrf, sizeof(c->csrf));
    pb_http_reply_free(&r);
}
