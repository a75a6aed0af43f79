/*
 * Integration tests of the HTTP server: the real server (TLS, thread pool)
 * started in-process on a free port, driven with libcurl (certificate
 * verification on) and a raw GnuTLS client for protocol versions.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include <curl/curl.h>
#include <gnutls/gnutls.h>
#include <jansson.h>
#include <sodium.h>

#include "api/api.h"
#include "core/clock.h"
#include "core/config.h"
#include "core/log.h"
#include "crypto/cert.h"
#include "http/assets.h"
#include "http/json.h"
#include "http/request.h"
#include "http/router.h"
#include "http/server.h"
#include "store/store.h"
#include "support/tmpdir.h"

#define SMALL_LIMIT 1024

static char tmp[PATH_MAX];
static char cert_path[PATH_MAX + 16];
static char key_path[PATH_MAX + 16];
static struct pb_config config;
static struct pb_app app;
static struct pb_server *server;
static int port;
static atomic_int slow_started;

/* ---- the test route table: endpoints production must not have ---- */

static void
items_create(struct pb_request *req)
{
    const char *name = NULL;
    int admin = 0;
    int count = 0;
    if (pb_json_unpack(req, req->json, "{s:s, s?b, s?i}", "name", &name, "admin", &admin, "count",
                       &count) != 0)
        return;
    pb_reply_json(req, 201,
                  json_pack("{s:s, s:b, s:i}", "name", name, "admin", admin, "count", count));
}

static void
items_get(struct pb_request *req)
{
    pb_reply_json(req, 200, json_pack("{s:s}", "id", pb_request_param(req, "id")));
}

static void
small_post(struct pb_request *req)
{
    pb_reply_json(req, 200, json_pack("{s:i}", "len", (int)req->body.len));
}

static void
private_get(struct pb_request *req)
{
    pb_reply_json(req, 200, json_pack("{s:s}", "secret", "never"));
}

static void
slow_get(struct pb_request *req)
{
    atomic_store(&slow_started, 1);
    sleep(1);
    pb_reply_json(req, 200, json_pack("{s:s}", "slow", "done"));
}

static const struct pb_route test_routes[] = {
    {"GET", "/healthz", pb_api_healthz, PB_PERM_PUBLIC, 0, false, false, 0, NULL},
    {"POST", "/api/v1/items", items_create, PB_PERM_PUBLIC, PB_JSON_BODY_LIMIT, false, false, 0,
     NULL},
    {"GET", "/api/v1/items/{id}", items_get, PB_PERM_PUBLIC, 0, false, false, 0, NULL},
    {"POST", "/api/v1/small", small_post, PB_PERM_PUBLIC, SMALL_LIMIT, false, true, 0, NULL},
    {"GET", "/api/v1/private", private_get, PB_PERM_AUTHENTICATED, 0, false, false, 0, NULL},
    {"POST", "/api/v1/private", private_get, PB_PERM_SETTINGS_MANAGE, PB_JSON_BODY_LIMIT, true,
     false, 0, NULL},
    {"GET", "/api/v1/slow", slow_get, PB_PERM_PUBLIC, 0, false, false, 0, NULL},
    {"GET", "/", pb_static_get, PB_PERM_PUBLIC, 0, false, false, 0, NULL},
    {"GET", "/{file}", pb_static_get, PB_PERM_PUBLIC, 0, false, false, 0, NULL},
};
#define NTEST_ROUTES (sizeof(test_routes) / sizeof(test_routes[0]))

/* ---- a small libcurl client ---- */

struct reply {
    long status;
    char body[128 * 1024];
    size_t len;
    char headers[16 * 1024];
    size_t hlen;
    CURLcode rc;
};

static size_t
on_body(char *data, size_t size, size_t n, void *cls)
{
    struct reply *r = cls;
    size_t len = size * n;
    if (r->len + len >= sizeof(r->body))
        return 0;
    memcpy(r->body + r->len, data, len);
    r->len += len;
    r->body[r->len] = '\0';
    return len;
}

static size_t
on_header(char *data, size_t size, size_t n, void *cls)
{
    struct reply *r = cls;
    size_t len = size * n;
    /* Only the headers of the last response (after a 100 Continue). */
    if (len > 5 && strncmp(data, "HTTP/", 5) == 0)
        r->hlen = 0;
    if (r->hlen + len >= sizeof(r->headers))
        return 0;
    memcpy(r->headers + r->hlen, data, len);
    r->hlen += len;
    r->headers[r->hlen] = '\0';
    return len;
}

struct chunked_body {
    size_t left;
};

static size_t
on_read(char *buf, size_t size, size_t n, void *cls)
{
    struct chunked_body *b = cls;
    size_t len = size * n;
    if (len > 500)
        len = 500; /* several chunks */
    if (len > b->left)
        len = b->left;
    memset(buf, 'x', len);
    b->left -= len;
    return len;
}

struct req_opts {
    const char *method;
    const char *path;
    const char *content_type;
    const char *body; /* NULL: none */
    size_t chunked;   /* >0: send that many bytes with Transfer-Encoding: chunked */
    const char *header;
    long tls_version; /* CURL_SSLVERSION_* or 0 */
    int port;         /* 0: the shared server */
    bool plain;       /* http:// */
};

static CURL *
new_handle(void)
{
    CURL *c = curl_easy_init();
    assert_non_null(c);
    curl_easy_setopt(c, CURLOPT_CAINFO, cert_path);
    curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 1L);
    curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 2L);
    curl_easy_setopt(c, CURLOPT_TIMEOUT, 20L);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    return c;
}

static void
perform(CURL *c, const struct req_opts *o, struct reply *r)
{
    char url[512];
    snprintf(url, sizeof(url), "%s://127.0.0.1:%d%s", o->plain ? "http" : "https",
             o->port ? o->port : port, o->path);
    memset(r, 0, sizeof(*r));
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, r);
    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(c, CURLOPT_HEADERDATA, r);
    struct curl_slist *headers = NULL;
    char ct[256];
    struct chunked_body chunked = {o->chunked};
    if (o->content_type != NULL) {
        snprintf(ct, sizeof(ct), "Content-Type: %s", o->content_type);
        headers = curl_slist_append(headers, ct);
    }
    if (o->header != NULL)
        headers = curl_slist_append(headers, o->header);
    if (o->body != NULL) {
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, o->body);
        curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, (long)strlen(o->body));
    } else if (o->chunked > 0) {
        curl_easy_setopt(c, CURLOPT_POST, 1L);
        curl_easy_setopt(c, CURLOPT_READFUNCTION, on_read);
        curl_easy_setopt(c, CURLOPT_READDATA, &chunked);
        headers = curl_slist_append(headers, "Transfer-Encoding: chunked");
    }
    if (o->method != NULL && strcmp(o->method, "HEAD") == 0)
        curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
    else if (o->method != NULL)
        curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, o->method);
    if (o->tls_version != 0)
        curl_easy_setopt(c, CURLOPT_SSLVERSION, o->tls_version);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, headers);
    r->rc = curl_easy_perform(c);
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &r->status);
    curl_slist_free_all(headers);
}

static void
request(const struct req_opts *o, struct reply *r)
{
    CURL *c = new_handle();
    perform(c, o, r);
    curl_easy_cleanup(c);
    if (r->rc != CURLE_OK)
        fail_msg("%s %s: %s", o->method ? o->method : "GET", o->path, curl_easy_strerror(r->rc));
}

static struct reply *
new_reply(void)
{
    struct reply *r = calloc(1, sizeof(*r));
    assert_non_null(r);
    return r;
}

/* The value of header `name` in the reply, or NULL (copied into a static buffer). */
static const char *
header(const struct reply *r, const char *name)
{
    static _Thread_local char value[1024];
    size_t nlen = strlen(name);
    for (const char *line = r->headers; *line; line = strchr(line, '\n') + 1) {
        if (strncasecmp(line, name, nlen) == 0 && line[nlen] == ':') {
            const char *v = line + nlen + 1;
            while (*v == ' ')
                v++;
            size_t vlen = strcspn(v, "\r\n");
            snprintf(value, sizeof(value), "%.*s", (int)vlen, v);
            return value;
        }
        if (strchr(line, '\n') == NULL)
            break;
    }
    return NULL;
}

static void
assert_header(const struct reply *r, const char *name, const char *expected)
{
    const char *v = header(r, name);
    if (v == NULL)
        fail_msg("header %s missing", name);
    assert_string_equal(v, expected);
}

static void
assert_security_headers(const struct reply *r, bool tls)
{
    assert_header(r, "Content-Security-Policy",
                  "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' "
                  "data:; connect-src 'self'; object-src 'none'; base-uri 'none'; form-action "
                  "'self'; frame-ancestors 'none'");
    assert_header(r, "X-Content-Type-Options", "nosniff");
    assert_header(r, "Referrer-Policy", "no-referrer");
    assert_header(r, "X-Frame-Options", "DENY");
    assert_header(r, "Cross-Origin-Opener-Policy", "same-origin");
    assert_header(r, "Permissions-Policy", "camera=(), microphone=(), geolocation=()");
    if (tls)
        assert_header(r, "Strict-Transport-Security", "max-age=63072000; includeSubDomains");
    else
        assert_null(header(r, "Strict-Transport-Security"));
    assert_null(header(r, "Server"));
    const char *id = header(r, "X-Request-Id");
    assert_non_null(id);
    assert_int_equal(strlen(id), PB_ID_LEN);
}

/* Checks the error body: exactly code, hint, detail and (when given) field. */
static void
assert_error(const struct reply *r, long status, int code, const char *field)
{
    if (r->status != status)
        fail_msg("status %ld, expected %ld: %s", r->status, status, r->body);
    assert_header(r, "Content-Type", "application/json; charset=utf-8");
    assert_header(r, "Cache-Control", "no-store");
    json_error_t e;
    json_t *j = json_loads(r->body, 0, &e);
    assert_non_null(j);
    assert_int_equal(json_integer_value(json_object_get(j, "code")), code);
    assert_true(json_is_string(json_object_get(j, "hint")));
    assert_true(json_string_length(json_object_get(j, "hint")) > 0);
    assert_true(json_is_string(json_object_get(j, "detail")));
    if (field != NULL) {
        assert_string_equal(json_string_value(json_object_get(j, "field")), field);
        assert_int_equal(json_object_size(j), 4);
    } else {
        assert_null(json_object_get(j, "field"));
        assert_int_equal(json_object_size(j), 3);
    }
    json_decref(j);
}

/* ---- setup ---- */

static void
make_config(struct pb_config *c, const char *listen)
{
    pb_config_defaults(c);
    snprintf(c->listen, sizeof(c->listen), "%s", listen);
    snprintf(c->tls_cert, sizeof(c->tls_cert), "%s", cert_path);
    snprintf(c->tls_key, sizeof(c->tls_key), "%s", key_path);
    c->threads = 4;
}

static int
group_setup(void **state)
{
    (void)state;
    if (sodium_init() < 0)
        return -1;
    pb_log_set_level(PB_LOG_WARN);
    curl_global_init(CURL_GLOBAL_DEFAULT);
    pb_test_tmpdir(tmp);
    snprintf(cert_path, sizeof(cert_path), "%s/tls/cert.pem", tmp);
    snprintf(key_path, sizeof(key_path), "%s/tls/key.pem", tmp);
    char why[PB_WHY_MAX];
    if (pb_cert_create_self_signed(cert_path, key_path, why) != PB_ERR_OK) {
        fprintf(stderr, "certificate: %s\n", why);
        return -1;
    }
    make_config(&config, "127.0.0.1:0");
    app.config = &config;
    if (pb_server_start_with_routes(&app, test_routes, NTEST_ROUTES, &server, why) != PB_ERR_OK) {
        fprintf(stderr, "server: %s\n", why);
        return -1;
    }
    port = pb_server_port(server);
    return port > 0 ? 0 : -1;
}

static int
group_teardown(void **state)
{
    (void)state;
    pb_server_stop(server, 5);
    pb_test_rmtree(tmp);
    curl_global_cleanup();
    return 0;
}

/* ---- TLS ---- */

static void
tls_12_and_13_handshakes_work(void **state)
{
    (void)state;
    struct reply *r = new_reply();
    struct req_opts o = {.path = "/healthz",
                         .tls_version = CURL_SSLVERSION_TLSv1_2 | CURL_SSLVERSION_MAX_TLSv1_2};
    request(&o, r);
    assert_int_equal(r->status, 200);
    o.tls_version = CURL_SSLVERSION_TLSv1_3 | CURL_SSLVERSION_MAX_TLSv1_3;
    request(&o, r);
    assert_int_equal(r->status, 200);
    free(r);
}

/* A raw GnuTLS handshake with the given priorities; returns GnuTLS's result and the version. */
static int
raw_handshake(const char *priorities, gnutls_protocol_t *version)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(fd >= 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
    gnutls_session_t s;
    gnutls_certificate_credentials_t cred;
    assert_int_equal(gnutls_certificate_allocate_credentials(&cred), 0);
    assert_int_equal(gnutls_init(&s, GNUTLS_CLIENT), 0);
    assert_int_equal(gnutls_priority_set_direct(s, priorities, NULL), 0);
    gnutls_credentials_set(s, GNUTLS_CRD_CERTIFICATE, cred);
    gnutls_transport_set_int(s, fd);
    gnutls_handshake_set_timeout(s, 5000);
    int rc;
    do
        rc = gnutls_handshake(s);
    while (rc < 0 && !gnutls_error_is_fatal(rc));
    *version = gnutls_protocol_get_version(s);
    if (rc == 0)
        gnutls_bye(s, GNUTLS_SHUT_RDWR);
    gnutls_deinit(s);
    gnutls_certificate_free_credentials(cred);
    close(fd);
    return rc;
}

static void
tls_11_is_refused(void **state)
{
    (void)state;
    gnutls_protocol_t version;
    /* Positive control: the same client code succeeds with TLS 1.2. */
    assert_int_equal(raw_handshake("NORMAL:-VERS-ALL:+VERS-TLS1.2", &version), 0);
    assert_int_equal(version, GNUTLS_TLS1_2);
    int rc = raw_handshake("NORMAL:-VERS-ALL:+VERS-TLS1.1", &version);
    assert_true(rc < 0);
    /* Also refused: a TLS 1.2 client that offers no AEAD cipher. */
    rc = raw_handshake("NORMAL:-VERS-ALL:+VERS-TLS1.2:-CIPHER-ALL:+AES-128-CBC:-MAC-ALL:+SHA1",
                       &version);
    assert_true(rc < 0);
}

/* ---- headers, health, errors ---- */

static void
healthz_answers_ok_with_headers(void **state)
{
    (void)state;
    struct reply *r = new_reply();
    request(&(struct req_opts){.path = "/healthz"}, r);
    assert_int_equal(r->status, 200);
    assert_string_equal(r->body, "{\"status\":\"ok\"}");
    assert_header(r, "Content-Type", "application/json; charset=utf-8");
    assert_header(r, "Cache-Control", "no-store");
    assert_security_headers(r, true);

    char first_id[64];
    snprintf(first_id, sizeof(first_id), "%s", header(r, "X-Request-Id"));
    request(&(struct req_opts){.method = "HEAD", .path = "/healthz"}, r);
    assert_int_equal(r->status, 200);
    assert_int_equal(r->len, 0);
    assert_security_headers(r, true);
    assert_string_not_equal(header(r, "X-Request-Id"), first_id);
    free(r);
}

static void
unknown_path_is_404_json(void **state)
{
    (void)state;
    struct reply *r = new_reply();
    request(&(struct req_opts){.path = "/api/v1/nothing/here"}, r);
    assert_error(r, 404, 104, NULL);
    assert_security_headers(r, true);
    request(&(struct req_opts){.path = "/api/v1/items/"}, r); /* an empty {id} */
    assert_error(r, 404, 104, NULL);
    request(&(struct req_opts){.path = "/healthz/"}, r);
    assert_error(r, 404, 104, NULL);
    free(r);
}

static void
path_parameters_are_captured(void **state)
{
    (void)state;
    struct reply *r = new_reply();
    request(&(struct req_opts){.path = "/api/v1/items/01ARZ3NDEKTSV4RRFFQ69G5FAV?x=1"}, r);
    assert_int_equal(r->status, 200);
    assert_string_equal(r->body, "{\"id\":\"01ARZ3NDEKTSV4RRFFQ69G5FAV\"}");
    free(r);
}

static void
wrong_method_is_405_with_allow(void **state)
{
    (void)state;
    struct reply *r = new_reply();
    request(&(struct req_opts){.method = "POST", .path = "/healthz", .body = ""}, r);
    assert_error(r, 405, 105, NULL);
    assert_header(r, "Allow", "GET, HEAD");
    assert_security_headers(r, true);
    request(&(struct req_opts){.method = "DELETE", .path = "/api/v1/items"}, r);
    assert_error(r, 405, 105, NULL);
    assert_header(r, "Allow", "POST");
    request(&(struct req_opts){.method = "DELETE", .path = "/api/v1/private"}, r);
    assert_error(r, 405, 105, NULL);
    assert_header(r, "Allow", "GET, HEAD, POST");
    free(r);
}

static void
authenticated_route_is_401(void **state)
{
    (void)state;
    struct reply *r = new_reply();
    request(&(struct req_opts){.path = "/api/v1/private"}, r);
    assert_error(r, 401, 110, NULL);
    assert_security_headers(r, true);
    assert_null(strstr(r->body, "never"));
    /* Refused before the body is read or parsed. */
    request(&(struct req_opts){.method = "POST",
                               .path = "/api/v1/private",
                               .content_type = "application/json",
                               .body = "{not json"},
            r);
    assert_error(r, 401, 110, NULL);
    free(r);
}

/* ---- JSON bodies ---- */

static void
json_post(struct reply *r, const char *content_type, const char *body)
{
    request(
        &(struct req_opts){
            .method = "POST", .path = "/api/v1/items", .content_type = content_type, .body = body},
        r);
}

static void
json_body_is_parsed_and_unpacked(void **state)
{
    (void)state;
    struct reply *r = new_reply();
    json_post(r, "application/json", "{\"name\":\"Zoë\",\"admin\":true}");
    assert_int_equal(r->status, 201);
    assert_string_equal(r->body, "{\"name\":\"Zoë\",\"admin\":true,\"count\":0}");
    assert_header(r, "Cache-Control", "no-store");
    json_post(r, "application/json; charset=utf-8", "{\"name\":\"a\",\"count\":3}");
    assert_int_equal(r->status, 201);
    free(r);
}

static void
json_errors_name_the_problem(void **state)
{
    (void)state;
    struct reply *r = new_reply();

    json_post(r, "text/plain", "{\"name\":\"a\"}");
    assert_error(r, 415, 109, NULL);
    json_post(r, NULL, "{\"name\":\"a\"}"); /* curl's default form type */
    assert_error(r, 415, 109, NULL);

    json_post(r, "application/json", "{\"name\":");
    assert_error(r, 400, 106, NULL);
    assert_non_null(strstr(r->body, "\"detail\":\"line 1 column"));
    json_post(r, "application/json", "{\"name\":\"a\",\"name\":\"b\"}");
    assert_error(r, 400, 106, NULL);
    assert_non_null(strstr(r->body, "duplicate"));
    json_post(r, "application/json", "{\"name\":\"a\"} trailing");
    assert_error(r, 400, 106, NULL);

    json_post(r, "application/json", "{}");
    assert_error(r, 400, 113, "name");
    json_post(r, "application/json", "{\"admin\":true}");
    assert_error(r, 400, 113, "name");

    json_post(r, "application/json", "{\"name\":5}");
    assert_error(r, 400, 114, "name");
    json_post(r, "application/json", "{\"name\":\"a\",\"admin\":\"yes\"}");
    assert_error(r, 400, 114, "admin");
    json_post(r, "application/json", "{\"name\":\"a\",\"count\":1.5}");
    assert_error(r, 400, 114, "count");
    json_post(r, "application/json", "[1,2]");
    assert_error(r, 400, 114, NULL);

    json_post(r, "application/json", "{\"name\":\"a\",\"extra\":1}");
    assert_error(r, 400, 115, "extra");

    /* No body at all on a JSON endpoint. */
    json_post(r, "application/json", "");
    assert_error(r, 400, 106, NULL);
    free(r);
}

/* ---- body limits ---- */

static void
body_over_limit_is_413(void **state)
{
    (void)state;
    struct reply *r = new_reply();
    char *big = malloc(SMALL_LIMIT * 2 + 1);
    assert_non_null(big);
    memset(big, 'x', SMALL_LIMIT * 2);
    big[SMALL_LIMIT * 2] = '\0';

    /* At the limit: accepted (a raw-body route). */
    big[SMALL_LIMIT] = '\0';
    request(&(struct req_opts){.method = "POST", .path = "/api/v1/small", .body = big}, r);
    assert_int_equal(r->status, 200);
    assert_string_equal(r->body, "{\"len\":1024}");
    big[SMALL_LIMIT] = 'x';

    /* Content-Length over the limit: refused before reading. */
    request(&(struct req_opts){.method = "POST", .path = "/api/v1/small", .body = big}, r);
    assert_error(r, 413, 108, NULL);
    assert_security_headers(r, true);

    /* Chunked, so the size is only known while reading. */
    request(&(struct req_opts){.method = "POST", .path = "/api/v1/small", .chunked = 4000}, r);
    assert_error(r, 413, 108, NULL);
    request(&(struct req_opts){.method = "POST", .path = "/api/v1/small", .chunked = 1000}, r);
    assert_int_equal(r->status, 200);
    assert_string_equal(r->body, "{\"len\":1000}");

    /* A route taking no body refuses one. */
    request(&(struct req_opts){.method = "GET", .path = "/healthz", .body = "x"}, r);
    assert_error(r, 413, 108, NULL);

    /* The JSON limit: 64 KiB. */
    char *huge = malloc(PB_JSON_BODY_LIMIT + 100);
    assert_non_null(huge);
    memset(huge, ' ', PB_JSON_BODY_LIMIT + 99);
    memcpy(huge, "{\"name\":\"a\"}", 12);
    huge[PB_JSON_BODY_LIMIT + 99] = '\0';
    json_post(r, "application/json", huge);
    assert_error(r, 413, 108, NULL);
    huge[PB_JSON_BODY_LIMIT] = '\0';
    json_post(r, "application/json", huge);
    assert_int_equal(r->status, 201);
    free(huge);
    free(big);
    free(r);
}

/* ---- static files ---- */

static void
static_files_have_etags(void **state)
{
    (void)state;
    struct reply *r = new_reply();
    request(&(struct req_opts){.path = "/"}, r);
    assert_int_equal(r->status, 200);
    assert_header(r, "Content-Type", "text/html; charset=utf-8");
    assert_non_null(strstr(r->body, "<title>Postbode — privacy-first email marketing</title>"));
    assert_header(r, "Cache-Control", "no-cache");
    assert_security_headers(r, true);
    char etag[128];
    assert_non_null(header(r, "ETag"));
    snprintf(etag, sizeof(etag), "%s", header(r, "ETag"));
    assert_int_equal(etag[0], '"');
    char if_none_match[256];
    snprintf(if_none_match, sizeof(if_none_match), "If-None-Match: %s", etag);

    request(&(struct req_opts){.path = "/", .header = if_none_match}, r);
    assert_int_equal(r->status, 304);
    assert_int_equal(r->len, 0);
    assert_security_headers(r, true);
    request(&(struct req_opts){.path = "/index.html", .header = if_none_match}, r);
    assert_int_equal(r->status, 304);
    request(&(struct req_opts){.path = "/", .header = "If-None-Match: \"0000\""}, r);
    assert_int_equal(r->status, 200);

    request(&(struct req_opts){.path = "/style.css"}, r);
    assert_int_equal(r->status, 200);
    assert_header(r, "Content-Type", "text/css; charset=utf-8");
    assert_string_not_equal(header(r, "ETag"), etag);

    request(&(struct req_opts){.path = "/missing.js"}, r);
    assert_error(r, 404, 104, NULL);
    assert_security_headers(r, true);
    free(r);
}

/* ---- load ---- */

#define THREADS    8
#define PER_THREAD 25
static atomic_int ok_count;

static void *
hammer(void *arg)
{
    (void)arg;
    CURL *c = new_handle();
    struct reply *r = calloc(1, sizeof(*r));
    for (int i = 0; r != NULL && i < PER_THREAD; i++) {
        /* Every other request on a fresh connection: handshakes and keep-alive both. */
        if (i % 2)
            curl_easy_setopt(c, CURLOPT_FRESH_CONNECT, 1L);
        else
            curl_easy_setopt(c, CURLOPT_FRESH_CONNECT, 0L);
        perform(c, &(struct req_opts){.path = "/healthz"}, r);
        if (r->rc == CURLE_OK && r->status == 200 && strcmp(r->body, "{\"status\":\"ok\"}") == 0)
            atomic_fetch_add(&ok_count, 1);
    }
    free(r);
    curl_easy_cleanup(c);
    return NULL;
}

static void
two_hundred_concurrent_requests(void **state)
{
    (void)state;
    pthread_t t[THREADS];
    atomic_store(&ok_count, 0);
    for (int i = 0; i < THREADS; i++)
        assert_int_equal(pthread_create(&t[i], NULL, hammer, NULL), 0);
    for (int i = 0; i < THREADS; i++)
        pthread_join(t[i], NULL);
    assert_int_equal(atomic_load(&ok_count), THREADS * PER_THREAD);
}

/* ---- start failures and graceful stop ---- */

static void
port_in_use_and_bad_certificate_are_reported(void **state)
{
    (void)state;
    struct pb_config c;
    char listen[64], why[PB_WHY_MAX];
    snprintf(listen, sizeof(listen), "127.0.0.1:%d", port);
    make_config(&c, listen);
    struct pb_app a = {.config = &c};
    struct pb_server *s = NULL;
    assert_int_equal(pb_server_start(&a, &s, why), PB_ERR_HTTP_LISTEN);
    assert_null(s);
    char expected[128];
    snprintf(expected, sizeof(expected), "cannot listen on %s: address already in use", listen);
    assert_string_equal(why, expected);

    make_config(&c, "127.0.0.1:0");
    snprintf(c.tls_cert, sizeof(c.tls_cert), "%s/nope.pem", tmp);
    assert_int_equal(pb_server_start(&a, &s, why), PB_ERR_HTTP_TLS);
    assert_non_null(strstr(why, c.tls_cert));

    /* The key as certificate: a file that exists but is no certificate. */
    make_config(&c, "127.0.0.1:0");
    snprintf(c.tls_cert, sizeof(c.tls_cert), "%s", key_path);
    assert_int_equal(pb_server_start(&a, &s, why), PB_ERR_HTTP_TLS);
    assert_non_null(strstr(why, key_path));
}

struct slow_call {
    int port;
    struct reply *r;
};

static void *
slow_client(void *arg)
{
    struct slow_call *call = arg;
    CURL *c = new_handle();
    perform(c, &(struct req_opts){.path = "/api/v1/slow", .port = call->port}, call->r);
    curl_easy_cleanup(c);
    return NULL;
}

static void
stop_lets_requests_in_flight_finish(void **state)
{
    (void)state;
    struct pb_config c;
    char why[PB_WHY_MAX];
    make_config(&c, "127.0.0.1:0");
    struct pb_app a = {.config = &c};
    struct pb_server *s = NULL;
    assert_int_equal(pb_server_start_with_routes(&a, test_routes, NTEST_ROUTES, &s, why),
                     PB_ERR_OK);
    struct slow_call call = {pb_server_port(s), new_reply()};
    atomic_store(&slow_started, 0);
    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, slow_client, &call), 0);
    while (!atomic_load(&slow_started))
        usleep(5000);
    int64_t start = pb_clock_mono_us();
    pb_server_stop(s, 5);
    int64_t waited = pb_clock_mono_us() - start;
    pthread_join(t, NULL);
    assert_int_equal(call.r->rc, CURLE_OK);
    assert_int_equal(call.r->status, 200);
    assert_string_equal(call.r->body, "{\"slow\":\"done\"}");
    assert_true(waited > 500000 && waited < 4000000);

    /* Nobody listens any more. */
    struct reply *r = new_reply();
    CURL *h = new_handle();
    perform(h, &(struct req_opts){.path = "/healthz", .port = call.port}, r);
    assert_int_equal(r->rc, CURLE_COULDNT_CONNECT);
    curl_easy_cleanup(h);
    free(r);
    free(call.r);
}

/* The production table and app: /healthz with a real store when one opens, "/" and 405. */
static void
production_routes_and_store(void **state)
{
    (void)state;
    struct pb_config c;
    char why[PB_WHY_MAX], url[PATH_MAX + 32];
    make_config(&c, "127.0.0.1:0");
    struct pb_app a = {.config = &c};
    snprintf(url, sizeof(url), "sqlite:%s/test.db", tmp);
    struct pb_store *store = NULL;
    int from, to;
    if (pb_store_open(url, 2, &store, why) == PB_ERR_OK &&
        pb_store_migrate(store, &from, &to, why) == PB_ERR_OK)
        a.control = store;
    else
        fprintf(stderr, "# store not available (%s): /healthz tested without it\n", why);

    struct pb_server *s = NULL;
    assert_int_equal(pb_server_start(&a, &s, why), PB_ERR_OK);
    int p = pb_server_port(s);
    struct reply *r = new_reply();
    request(&(struct req_opts){.path = "/healthz", .port = p}, r);
    assert_int_equal(r->status, 200);
    assert_string_equal(r->body, "{\"status\":\"ok\"}");
    assert_security_headers(r, true);
    request(&(struct req_opts){.method = "PUT", .path = "/healthz", .port = p}, r);
    assert_error(r, 405, 105, NULL);
    assert_header(r, "Allow", "GET, HEAD");
    request(&(struct req_opts){.path = "/", .port = p}, r);
    assert_int_equal(r->status, 200);
    assert_non_null(strstr(r->body, "<title>"));
    request(&(struct req_opts){.path = "/api/v1/echo", .port = p}, r);
    assert_error(r, 404, 104, NULL);
    pb_server_stop(s, 5);
    if (store != NULL)
        pb_store_close(store);
    free(r);
}

static void
plain_http_has_no_hsts(void **state)
{
    (void)state;
    struct pb_config c;
    char why[PB_WHY_MAX];
    make_config(&c, "127.0.0.1:0");
    c.tls = false;
    snprintf(c.tls_cert, sizeof(c.tls_cert), "/nonexistent/cert.pem"); /* not read */
    struct pb_app a = {.config = &c};
    struct pb_server *s = NULL;
    assert_int_equal(pb_server_start(&a, &s, why), PB_ERR_OK);
    struct reply *r = new_reply();
    request(&(struct req_opts){.path = "/healthz", .port = pb_server_port(s), .plain = true}, r);
    assert_int_equal(r->status, 200);
    assert_security_headers(r, false);
    pb_server_stop(s, 5);
    free(r);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(tls_12_and_13_handshakes_work),
        cmocka_unit_test(tls_11_is_refused),
        cmocka_unit_test(healthz_answers_ok_with_headers),
        cmocka_unit_test(unknown_path_is_404_json),
        cmocka_unit_test(path_parameters_are_captured),
        cmocka_unit_test(wrong_method_is_405_with_allow),
        cmocka_unit_test(authenticated_route_is_401),
        cmocka_unit_test(json_body_is_parsed_and_unpacked),
        cmocka_unit_test(json_errors_name_the_problem),
        cmocka_unit_test(body_over_limit_is_413),
        cmocka_unit_test(static_files_have_etags),
        cmocka_unit_test(two_hundred_concurrent_requests),
        cmocka_unit_test(port_in_use_and_bad_certificate_are_reported),
        cmocka_unit_test(stop_lets_requests_in_flight_finish),
        cmocka_unit_test(production_routes_and_store),
        cmocka_unit_test(plain_http_has_no_hsts),
    };
    return cmocka_run_group_tests_name("http", tests, group_setup, group_teardown);
}
