/* The request context and the reply helpers every response goes through. */
#include "http/request.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <sodium.h>

#include "core/clock.h"
#include "core/log.h"
#include "http/headers.h"

static void
client_address(struct MHD_Connection *conn, char out[64])
{
    snprintf(out, 64, "-");
    const union MHD_ConnectionInfo *info =
        MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
    if (info == NULL || info->client_addr == NULL)
        return;
    const struct sockaddr *sa = info->client_addr;
    if (sa->sa_family == AF_INET)
        inet_ntop(AF_INET, &((const struct sockaddr_in *)(const void *)sa)->sin_addr, out, 64);
    else if (sa->sa_family == AF_INET6)
        inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr, out, 64);
}

struct pb_request *
pb_request_new(struct MHD_Connection *conn, struct pb_app *app, const struct pb_route *routes,
               size_t nroutes, bool tls, const char *method, const char *path)
{
    struct pb_arena *arena = pb_arena_new(PB_REQUEST_ARENA_LIMIT);
    if (arena == NULL)
        return NULL;
    struct pb_request *req = pb_arena_alloc(arena, sizeof(*req));
    if (req == NULL)
        goto fail;
    req->arena = arena;
    req->conn = conn;
    req->app = app;
    req->routes = routes;
    req->nroutes = nroutes;
    req->tls = tls;
    req->started_us = pb_clock_mono_us();
    pb_id_new(req->id);
    req->method = pb_arena_strdup(arena, method);
    req->path = pb_arena_strdup(arena, path);
    if (req->method == NULL || req->path == NULL)
        goto fail;
    pb_buf_init(&req->body, 0);
    req->role = PB_ROLE_NONE;
    if (conn != NULL)
        client_address(conn, req->client_addr);
    return req;
fail:
    pb_arena_free(arena);
    return NULL;
}

void
pb_request_free(struct pb_request *req)
{
    if (req == NULL)
        return;
    sodium_memzero(req->session_token, sizeof(req->session_token));
    sodium_memzero(&req->principal, sizeof(req->principal));
    if (req->deferred != NULL)
        MHD_destroy_response(req->deferred);
    if (req->upload != NULL && req->upload_free != NULL)
        req->upload_free(req->upload);
    json_decref(req->json);
    pb_buf_release(&req->body, 0);
    pb_arena_free(req->arena);
}

const char *
pb_request_param(const struct pb_request *req, const char *name)
{
    for (size_t i = 0; i < req->nparams; i++)
        if (strcmp(req->params[i].name, name) == 0)
            return req->params[i].value;
    return NULL;
}

const char *
pb_request_query(const struct pb_request *req, const char *name)
{
    return MHD_lookup_connection_value(req->conn, MHD_GET_ARGUMENT_KIND, name);
}

const struct pb_principal *
pb_request_principal(const struct pb_request *req)
{
    return req->authenticated ? &req->principal : NULL;
}

const struct pb_principal *
pb_request_caller(struct pb_request *req)
{
    const struct pb_principal *who = pb_request_principal(req);
    if (who == NULL)
        pb_reply_error(req, PB_ERR_UNAUTHENTICATED, NULL, "log in first");
    return who;
}

const char *
pb_request_header(const struct pb_request *req, const char *name)
{
    return MHD_lookup_connection_value(req->conn, MHD_HEADER_KIND, name);
}

int
pb_request_add_reply_header(struct pb_request *req, const char *name, const char *value)
{
    if (req->nreply_headers == PB_REQUEST_MAX_HEADERS)
        return -1;
    struct pb_request_pair *h = &req->reply_headers[req->nreply_headers];
    h->name = pb_arena_strdup(req->arena, name);
    h->value = pb_arena_strdup(req->arena, value);
    if (h->name == NULL || h->value == NULL)
        return -1;
    req->nreply_headers++;
    return 0;
}

void
pb_reply_response(struct pb_request *req, int status, struct MHD_Response *resp)
{
    if (resp == NULL) {
        pb_error("cannot create a response (out of memory)");
        req->status = status;
        return;
    }
    if (req->status != 0) {
        pb_error("a second reply (%d) to one request was dropped", status);
        MHD_destroy_response(resp);
        return;
    }
    int rc = pb_headers_add_security(resp, req->tls);
    if (rc == 0)
        rc = pb_headers_set(resp, "X-Request-Id", req->id);
    for (size_t i = 0; rc == 0 && i < req->nreply_headers; i++)
        rc = pb_headers_set(resp, req->reply_headers[i].name, req->reply_headers[i].value);
    /* API answers and errors are personal or transient: never stored by a cache. */
    if (rc == 0 && (status >= 400 || strncmp(req->path, "/api/", 5) == 0))
        rc = pb_headers_set(resp, "Cache-Control", "no-store");
    if (rc != 0) {
        pb_error("cannot add the response headers (out of memory)");
        MHD_destroy_response(resp);
        req->status = status;
        return;
    }
    req->status = status;
    if (req->body_pending) {
        req->deferred = resp; /* queued by pb_reply_flush_deferred once the body is read */
        return;
    }
    if (MHD_queue_response(req->conn, (unsigned int)status, resp) != MHD_YES)
        pb_warn("cannot queue the %d response", status);
    else
        req->replied = true;
    MHD_destroy_response(resp);
}

void
pb_reply_flush_deferred(struct pb_request *req)
{
    struct MHD_Response *resp = req->deferred;
    req->body_pending = false;
    if (resp == NULL)
        return;
    req->deferred = NULL;
    if (MHD_queue_response(req->conn, (unsigned int)req->status, resp) != MHD_YES)
        pb_warn("cannot queue the %d response", req->status);
    else
        req->replied = true;
    MHD_destroy_response(resp);
}

void
pb_reply_bytes(struct pb_request *req, int status, const char *content_type, const void *data,
               size_t len)
{
    struct MHD_Response *resp =
        MHD_create_response_from_buffer(len, (void *)data, MHD_RESPMEM_MUST_COPY);
    if (resp != NULL && content_type != NULL &&
        MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, content_type) != MHD_YES) {
        MHD_destroy_response(resp);
        resp = NULL;
    }
    pb_reply_response(req, status, resp);
}

void
pb_reply_json(struct pb_request *req, int status, json_t *json)
{
    char *text = json != NULL ? json_dumps(json, JSON_COMPACT | JSON_ENCODE_ANY) : NULL;
    json_decref(json);
    if (text == NULL) {
        static const char nomem[] = "{\"code\":101,\"hint\":\"out of memory\",\"detail\":\"\"}";
        pb_reply_bytes(req, 503, "application/json; charset=utf-8", nomem, sizeof(nomem) - 1);
        return;
    }
    struct MHD_Response *resp =
        MHD_create_response_from_buffer(strlen(text), text, MHD_RESPMEM_MUST_FREE);
    if (resp == NULL) {
        free(text);
        pb_reply_response(req, status, NULL);
        return;
    }
    if (MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE,
                                "application/json; charset=utf-8") != MHD_YES ||
        pb_headers_set(resp, "Cache-Control", "no-store") != 0) {
        MHD_destroy_response(resp);
        resp = NULL;
    }
    pb_reply_response(req, status, resp);
}

void
pb_reply_error(struct pb_request *req, enum pb_err err, const char *field, const char *detail_fmt,
               ...)
{
    char detail[1024] = "";
    if (detail_fmt != NULL) {
        va_list ap;
        va_start(ap, detail_fmt);
        vsnprintf(detail, sizeof(detail), detail_fmt, ap);
        va_end(ap);
    }
    json_t *body =
        json_pack("{s:i, s:s, s:s}", "code", (int)err, "hint", pb_err_hint(err), "detail", detail);
    if (body == NULL) /* the detail was not UTF-8 */
        body =
            json_pack("{s:i, s:s, s:s}", "code", (int)err, "hint", pb_err_hint(err), "detail", "");
    if (body != NULL && field != NULL) {
        json_t *f = json_string(field);
        if (f == NULL)
            f = json_string("?");
        json_object_set_new(body, "field", f);
    }
    pb_reply_json(req, pb_err_status(err), body);
}

/* ---- streamed replies ---- */

/* What MHD reads a streamed body from (see pb_reply_stream). */
enum { STREAM_BLOCK = 64 * 1024 };

struct stream {
    pb_stream_read_fn read;
    pb_stream_free_fn free_fn;
    void *cls;
    char request_id[PB_ID_LEN + 1]; /* for the log lines of the source, on MHD's thread */
};

/* Runs on MHD's thread; the request id is set for the source's log lines and put back. */
static ssize_t
stream_read(void *cls, uint64_t pos, char *buf, size_t max)
{
    struct stream *s = cls;
    char prev[40];
    (void)pos;
    snprintf(prev, sizeof(prev), "%s", pb_log_request_id());
    pb_log_set_request_id(s->request_id);
    ssize_t n = s->read(s->cls, buf, max);
    pb_log_set_request_id(strcmp(prev, "-") != 0 ? prev : NULL);
    if (n < 0)
        return MHD_CONTENT_READER_END_WITH_ERROR;
    if (n == 0)
        return MHD_CONTENT_READER_END_OF_STREAM;
    return n;
}

static void
stream_free(void *cls)
{
    struct stream *s = cls;
    char prev[40];
    snprintf(prev, sizeof(prev), "%s", pb_log_request_id());
    pb_log_set_request_id(s->request_id);
    s->free_fn(s->cls);
    pb_log_set_request_id(strcmp(prev, "-") != 0 ? prev : NULL);
    free(s);
}

/* `attachment; filename="NAME"` with anything but [A-Za-z0-9._-] in NAME replaced by _. */
static void
disposition(const char *filename, char out[160])
{
    size_t n = (size_t)snprintf(out, 160, "attachment; filename=\"");
    for (const char *p = filename; *p != '\0' && n < 160 - 3; p++) {
        char c = *p;
        bool safe = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == '.' || c == '_' || c == '-';
        out[n++] = safe ? c : '_';
    }
    out[n++] = '"';
    out[n] = '\0';
}

void
pb_reply_stream(struct pb_request *req, int status, const char *content_type, const char *filename,
                pb_stream_read_fn read, pb_stream_free_fn free_fn, void *cls)
{
    struct stream *s = malloc(sizeof(*s));
    if (s == NULL) {
        free_fn(cls);
        pb_reply_error(req, PB_ERR_NOMEM, NULL, "cannot start the download now");
        return;
    }
    s->read = read;
    s->free_fn = free_fn;
    s->cls = cls;
    snprintf(s->request_id, sizeof(s->request_id), "%s", req->id);
    /* From here on MHD owns `s`: destroying the response calls stream_free. */
    struct MHD_Response *resp = MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, STREAM_BLOCK,
                                                                  stream_read, s, stream_free);
    if (resp == NULL) {
        stream_free(s);
        pb_reply_error(req, PB_ERR_NOMEM, NULL, "cannot start the download now");
        return;
    }
    char value[160];
    int ok = content_type == NULL ||
             MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, content_type) == MHD_YES;
    if (ok && filename != NULL) {
        disposition(filename, value);
        ok = MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_DISPOSITION, value) == MHD_YES;
    }
    if (!ok) {
        MHD_destroy_response(resp);
        pb_reply_error(req, PB_ERR_NOMEM, NULL, "cannot start the download now");
        return;
    }
    pb_reply_response(req, status, resp);
}
