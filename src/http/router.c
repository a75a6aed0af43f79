/*
 * The router: match, authenticate, check the permission and the body,
 * then run the handler. Permissions are checked here and nowhere else.
 */
#include "http/router.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "core/log.h"
#include "http/json.h"
#include "http/request.h"

/*
 * Matches `path` against `pattern` segment by segment; {name} captures one
 * non-empty segment into req->params. Returns whether it matched.
 */
static bool
match_pattern(struct pb_request *req, const char *pattern, const char *path, bool capture)
{
    size_t nparams = 0;
    const char *p = pattern;
    const char *s = path;
    while (*p != '\0' && *s != '\0') {
        if (*p != '/' || *s != '/')
            return false;
        p++;
        s++;
        size_t plen = strcspn(p, "/");
        size_t slen = strcspn(s, "/");
        if (plen >= 2 && p[0] == '{' && p[plen - 1] == '}') {
            if (slen == 0)
                return false;
            if (capture) {
                if (nparams == PB_REQUEST_MAX_PARAMS)
                    return false;
                req->params[nparams].name = pb_arena_strndup(req->arena, p + 1, plen - 2);
                req->params[nparams].value = pb_arena_strndup(req->arena, s, slen);
                if (req->params[nparams].name == NULL || req->params[nparams].value == NULL)
                    return false;
                nparams++;
            }
        } else if (plen != slen || memcmp(p, s, plen) != 0) {
            return false;
        }
        p += plen;
        s += slen;
    }
    if (*p != '\0' || *s != '\0')
        return false;
    if (capture)
        req->nparams = nparams;
    return true;
}

/* Adds `method` to the Allow list unless it is there already. */
static void
allow_add(char *allow, size_t size, const char *method)
{
    size_t mlen = strlen(method);
    for (const char *a = allow; (a = strstr(a, method)) != NULL; a += mlen)
        if ((a == allow || a[-1] == ' ') && (a[mlen] == ',' || a[mlen] == '\0'))
            return;
    size_t len = strlen(allow);
    if (len + mlen + 3 > size)
        return;
    if (len > 0)
        memcpy(allow + len, ", ", 2), len += 2;
    memcpy(allow + len, method, mlen + 1);
}

/* Finds the route; replies 404 or 405 (with Allow) when there is none. */
static const struct pb_route *
find_route(struct pb_request *req)
{
    /* HEAD is GET without the body; MHD leaves the body out by itself. */
    const char *method = strcmp(req->method, "HEAD") == 0 ? "GET" : req->method;
    char allow[128] = "";
    for (size_t i = 0; i < req->nroutes; i++) {
        const struct pb_route *route = &req->routes[i];
        if (strcmp(route->method, method) == 0) {
            if (match_pattern(req, route->pattern, req->path, true))
                return route;
        } else if (match_pattern(req, route->pattern, req->path, false)) {
            allow_add(allow, sizeof(allow), route->method);
            if (strcmp(route->method, "GET") == 0)
                allow_add(allow, sizeof(allow), "HEAD");
        }
    }
    if (allow[0] == '\0') {
        pb_reply_error(req, PB_ERR_NOT_FOUND, NULL, "no resource at this path");
        return NULL;
    }
    if (pb_request_add_reply_header(req, MHD_HTTP_HEADER_ALLOW, allow) != 0) {
        pb_reply_error(req, PB_ERR_NOMEM, NULL, "out of memory");
        return NULL;
    }
    pb_reply_error(req, PB_ERR_METHOD_NOT_ALLOWED, NULL, "%s is not allowed here; allowed: %s",
                   method, allow);
    return NULL;
}

/*
 * Who is calling: the session cookie __Host-pb_session or an
 * "Authorization: Bearer" API key. Sessions and API keys arrive with the
 * next issue; until then nobody is authenticated.
 */
static enum pb_role
authenticate(struct pb_request *req)
{
    (void)req;
    return PB_ROLE_NONE;
}

/* Whether the body is to be parsed as JSON (unsafe methods of non-raw routes). */
static bool
wants_json(const struct pb_request *req)
{
    return !req->route->raw_body &&
           (strcmp(req->method, "POST") == 0 || strcmp(req->method, "PUT") == 0 ||
            strcmp(req->method, "PATCH") == 0);
}

void
pb_router_begin(struct pb_request *req)
{
    const struct pb_route *route = find_route(req);
    if (route == NULL)
        return;
    req->route = route;

    if (route->perm != PB_PERM_PUBLIC) {
        req->role = authenticate(req);
        if (req->role == PB_ROLE_NONE) {
            pb_reply_error(req, PB_ERR_UNAUTHENTICATED, NULL, "this resource needs a login");
            return;
        }
    }
    if (!pb_role_allows(req->role, route->perm)) {
        pb_reply_error(req, PB_ERR_FORBIDDEN, NULL, "the permission %s is needed",
                       pb_perm_name(route->perm));
        return;
    }
    /*
     * CSRF: when the caller authenticated with the session cookie and the
     * method is unsafe, a route with `csrf` set will require X-CSRF-Token to
     * match the session's token here (arrives with sessions).
     */

    /* A body announced larger than the limit is refused before it is read. */
    const char *length = pb_request_header(req, MHD_HTTP_HEADER_CONTENT_LENGTH);
    if (length != NULL) {
        errno = 0;
        char *end;
        uintmax_t n = strtoumax(length, &end, 10);
        if (errno != 0 || end == length || *end != '\0' || n > route->body_limit) {
            pb_reply_error(req, PB_ERR_BODY_TOO_LARGE, NULL,
                           "this endpoint accepts at most %zu bytes", route->body_limit);
            return;
        }
    }
    pb_buf_init(&req->body, route->body_limit);
}

void
pb_router_body(struct pb_request *req, const char *data, size_t len)
{
    if (req->status != 0 || req->body_too_large)
        return;
    if (pb_buf_append(&req->body, data, len) != PB_ERR_OK) {
        /* Keep nothing more: the rest of the body is read and dropped. */
        req->body_too_large = true;
        pb_buf_release(&req->body, 0);
        pb_buf_init(&req->body, 0);
    }
}

void
pb_router_dispatch(struct pb_request *req)
{
    if (req->status != 0)
        return;
    if (req->route == NULL) {
        pb_reply_error(req, PB_ERR_INTERNAL, NULL, "no route");
        return;
    }
    if (req->body_too_large) {
        pb_reply_error(req, PB_ERR_BODY_TOO_LARGE, NULL, "this endpoint accepts at most %zu bytes",
                       req->route->body_limit);
        return;
    }
    if (req->body.len > 0 && wants_json(req) && pb_json_parse_body(req) != 0)
        return;
    req->route->handler(req);
    if (req->status == 0) {
        pb_error("handler of %s %s gave no reply", req->route->method, req->route->pattern);
        pb_reply_error(req, PB_ERR_INTERNAL, NULL, "the handler gave no reply");
    }
}
