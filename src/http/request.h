/*
 * The request context: everything a handler needs about one request (its
 * arena, route, path parameters, query, parsed JSON body, client address,
 * the caller as authenticated by the router, the app) and the reply helpers
 * that build every response.
 */
#ifndef PB_HTTP_REQUEST_H
#define PB_HTTP_REQUEST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <jansson.h>
#include <microhttpd.h>

#include "core/arena.h"
#include "core/buf.h"
#include "core/err.h"
#include "core/id.h"
#include "model/auth.h"
#include "model/roles.h"

struct pb_app;
struct pb_route;

#define PB_REQUEST_MAX_PARAMS  8
#define PB_REQUEST_MAX_HEADERS 8
/* What the arena of one request may hand out (the body lives in `body`, apart). */
#define PB_REQUEST_ARENA_LIMIT (1024 * 1024)

struct pb_request_pair {
    const char *name;
    const char *value;
};

struct pb_request {
    struct pb_arena *arena; /* freed with the request */
    struct MHD_Connection *conn;
    struct pb_app *app;
    const struct pb_route *routes; /* the table the server runs with */
    size_t nroutes;
    bool tls;
    char id[PB_ID_LEN + 1];       /* also the X-Request-Id header and the log's request id */
    const char *method;           /* as sent: "GET", "HEAD", ... */
    const char *path;             /* decoded path, without the query */
    const struct pb_route *route; /* NULL when nothing matched */
    struct pb_request_pair params[PB_REQUEST_MAX_PARAMS]; /* {name} segments */
    size_t nparams;
    struct pb_buf body; /* bounded by route->body_limit */
    bool body_too_large;
    json_t *json; /* the parsed body of a JSON route, or NULL; owned */
    char client_addr[64];
    enum pb_role role; /* PB_ROLE_NONE until authenticated */
    /*
     * The caller, set by the router on non-public routes: the principal of
     * the session cookie or of the API key. `session_token` is the raw cookie
     * value (for the CSRF token); it is wiped when the request is freed.
     */
    bool authenticated;
    bool via_cookie;
    struct pb_principal principal;
    char session_token[PB_TOKEN_LEN + 1]; /* "" unless via_cookie */
    int64_t started_us;
    int status; /* of the reply, 0 before */
    bool replied;
    /*
     * Set while a body of moderate size is still to come: a reply made then
     * (a refusal before the body was read) waits in `deferred` until the body
     * has been read and dropped. Closing with unread data would make the
     * kernel reset the connection, and the client could lose the answer.
     */
    bool body_pending;
    struct MHD_Response *deferred;
    size_t drained; /* body bytes read and dropped after a refusal */
    struct pb_request_pair reply_headers[PB_REQUEST_MAX_HEADERS];
    size_t nreply_headers;
    /* The state of a streamed body (route->stream_body), freed with the request. */
    void *upload;
    void (*upload_free)(void *upload);
    size_t streamed; /* bytes of body handed to route->stream_body */
};

/* A new context, or NULL when out of memory. `method` and `path` are copied. */
struct pb_request *
pb_request_new(struct MHD_Connection *conn, struct pb_app *app, const struct pb_route *routes,
               size_t nroutes, bool tls, const char *method, const char *path);

void
pb_request_free(struct pb_request *req);

/* The value of path parameter {name}, or NULL. */
const char *
pb_request_param(const struct pb_request *req, const char *name);

/* A query-string argument (decoded), or NULL. Never log it: it may be personal. */
const char *
pb_request_query(const struct pb_request *req, const char *name);

/* The authenticated caller, or NULL (public routes, or nobody logged in). */
const struct pb_principal *
pb_request_principal(const struct pb_request *req);

/*
 * The caller of an authenticated route, or NULL after replying 401 (which
 * the router normally did already: a guard for handlers).
 */
const struct pb_principal *
pb_request_caller(struct pb_request *req);

/* A request header, or NULL. */
const char *
pb_request_header(const struct pb_request *req, const char *name);

/* Adds a header to the coming reply (both strings are copied). Returns 0 or -1. */
int
pb_request_add_reply_header(struct pb_request *req, const char *name, const char *value);

/* Replies with compact UTF-8 JSON; steals the reference to `json`. */
void
pb_reply_json(struct pb_request *req, int status, json_t *json);

/*
 * Replies {"code", "hint", "detail", "field"?} with the error's status.
 * `field` may be NULL; the detail must never hold a personal value.
 */
void
pb_reply_error(struct pb_request *req, enum pb_err err, const char *field, const char *detail_fmt,
               ...) __attribute__((format(printf, 4, 5)));

/* Replies with a copy of `len` bytes. */
void
pb_reply_bytes(struct pb_request *req, int status, const char *content_type, const void *data,
               size_t len);

/*
 * Queues `resp` (consumed) after adding the security headers, X-Request-Id,
 * the headers of pb_request_add_reply_header() and, on API and error
 * responses, Cache-Control: no-store. Every reply goes through here.
 */
void
pb_reply_response(struct pb_request *req, int status, struct MHD_Response *resp);

/*
 * The source of a streamed body: copies up to `max` bytes into `buf` and
 * returns how many, 0 at the end, or -1 on an error (the connection is then
 * closed, so the client sees a cut body, never one that looks whole). It
 * runs on the server's thread after the handler returned, when the
 * request's arena is gone: `cls` must own everything it needs.
 */
typedef ssize_t (*pb_stream_read_fn)(void *cls, char *buf, size_t max);
/* Called once when the response is done with: sent whole, cut short, or never sent. */
typedef void (*pb_stream_free_fn)(void *cls);

/*
 * Replies with a body of unknown length read from `read` in blocks of
 * 64 KiB (chunked transfer encoding), as `content_type`; with `filename`
 * (may be NULL) as a download (Content-Disposition: attachment). Goes
 * through pb_reply_response like every reply. Takes `cls` over whatever
 * happens: `free_fn` is called exactly once, also when no reply can be made.
 */
void
pb_reply_stream(struct pb_request *req, int status, const char *content_type, const char *filename,
                pb_stream_read_fn read, pb_stream_free_fn free_fn, void *cls);

/* Queues a reply deferred while the body was pending (the body is now read). */
void
pb_reply_flush_deferred(struct pb_request *req);

#endif
