/*
 * The router: match, authenticate, check the permission and the body,
 * then run the handler. Permissions are checked here and nowhere else.
 */
#include "http/router.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <sodium.h>

#include "core/log.h"
#include "http/json.h"
#include "http/request.h"
#include "model/auth.h"

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

/* Whether `c` may appear in a cookie value (RFC 6265 cookie-octet). */
static bool
is_cookie_octet(char c)
{
    return c >= 0x21 && c <= 0x7e && c != '"' && c != ',' && c != ';' && c != '\\';
}

/*
 * Finds the session cookie in one Cookie header ("a=1; __Host-pb_session=T;
 * b=2", spaces or tabs around the pairs, the value possibly in double quotes).
 * Copies its value into `out` and returns true; false when it is absent,
 * empty or longer than a session token.
 */
static bool
cookie_find(const char *header, char out[PB_TOKEN_LEN + 1])
{
    static const char name[] = PB_SESSION_COOKIE;
    const size_t name_len = sizeof(name) - 1;
    const char *p = header;
    while (*p != '\0') {
        while (*p == ' ' || *p == '\t' || *p == ';')
            p++;
        const char *pair = p;
        size_t pair_len = strcspn(p, ";");
        p += pair_len;
        const char *eq = memchr(pair, '=', pair_len);
        if (eq == NULL)
            continue;
        /* The name, without the spaces a sloppy client may leave before '='. */
        size_t nlen = (size_t)(eq - pair);
        while (nlen > 0 && (pair[nlen - 1] == ' ' || pair[nlen - 1] == '\t'))
            nlen--;
        if (nlen != name_len || memcmp(pair, name, name_len) != 0)
            continue;
        const char *v = eq + 1;
        size_t vlen = pair_len - (size_t)(v - pair);
        while (vlen > 0 && (*v == ' ' || *v == '\t'))
            v++, vlen--;
        while (vlen > 0 && (v[vlen - 1] == ' ' || v[vlen - 1] == '\t'))
            vlen--;
        if (vlen >= 2 && v[0] == '"' && v[vlen - 1] == '"')
            v++, vlen -= 2;
        if (vlen == 0 || vlen > PB_TOKEN_LEN)
            return false;
        for (size_t i = 0; i < vlen; i++)
            if (!is_cookie_octet(v[i]))
                return false;
        memcpy(out, v, vlen);
        out[vlen] = '\0';
        return true;
    }
    return false;
}

struct cookie_search {
    char *out;
    bool found;
};

/* MHD_KeyValueIterator over the request headers: the first session cookie of any Cookie header. */
static enum MHD_Result
on_header(void *cls, enum MHD_ValueKind kind, const char *key, const char *value)
{
    (void)kind;
    struct cookie_search *search = cls;
    if (key == NULL || value == NULL || strcasecmp(key, MHD_HTTP_HEADER_COOKIE) != 0)
        return MHD_YES;
    if (cookie_find(value, search->out)) {
        search->found = true;
        return MHD_NO;
    }
    return MHD_YES;
}

/* The token of "Authorization: Bearer TOKEN" (scheme case-insensitive), or NULL. */
static const char *
bearer_token(struct pb_request *req)
{
    static const char scheme[] = "Bearer";
    const char *value = pb_request_header(req, MHD_HTTP_HEADER_AUTHORIZATION);
    if (value == NULL)
        return NULL;
    while (*value == ' ' || *value == '\t')
        value++;
    if (strncasecmp(value, scheme, sizeof(scheme) - 1) != 0)
        return NULL;
    value += sizeof(scheme) - 1;
    if (*value != ' ' && *value != '\t')
        return NULL;
    while (*value == ' ' || *value == '\t')
        value++;
    size_t len = strcspn(value, " \t");
    const char *rest = value + len;
    while (*rest == ' ' || *rest == '\t')
        rest++;
    if (len == 0 || len > 256 || *rest != '\0')
        return NULL;
    return pb_arena_strndup(req->arena, value, len);
}

/*
 * Who is calling: the session cookie __Host-pb_session, else an
 * "Authorization: Bearer" API key. Fills req->principal and friends.
 * Returns PB_ERR_OK (authenticated or not: see req->authenticated) or the
 * error of a store that could not answer.
 */
static enum pb_err
authenticate(struct pb_request *req)
{
    struct cookie_search search = {req->session_token, false};
    if (req->conn != NULL)
        MHD_get_connection_values(req->conn, MHD_HEADER_KIND, on_header, &search);
    if (search.found) {
        enum pb_err err = pb_auth_session(req->app, req->session_token, &req->principal);
        if (err == PB_ERR_OK) {
            req->authenticated = true;
            req->via_cookie = true;
            req->role = req->principal.role;
            return PB_ERR_OK;
        }
        if (err != PB_ERR_UNAUTHENTICATED)
            return err;
        /* An ended session: an API key may still be there. */
        sodium_memzero(req->session_token, sizeof(req->session_token));
        memset(&req->principal, 0, sizeof(req->principal));
    }
    const char *bearer = bearer_token(req);
    if (bearer != NULL) {
        enum pb_err err = pb_auth_api_key(req->app, bearer, &req->principal);
        if (err == PB_ERR_OK) {
            req->authenticated = true;
            req->role = req->principal.role;
            return PB_ERR_OK;
        }
        memset(&req->principal, 0, sizeof(req->principal));
        if (err != PB_ERR_UNAUTHENTICATED)
            return err;
    }
    return PB_ERR_OK;
}

/* Whether the method changes state (and so needs the CSRF token with a cookie). */
static bool
is_unsafe(const char *method)
{
    return strcmp(method, "POST") == 0 || strcmp(method, "PUT") == 0 ||
           strcmp(method, "PATCH") == 0 || strcmp(method, "DELETE") == 0;
}

/* Whether the body is to be parsed as JSON (unsafe methods of non-raw routes). */
static bool
wants_json(const struct pb_request *req)
{
    return !req->route->raw_body && is_unsafe(req->method);
}

/*
 * The steps after the route is known, in this order: authenticated (401),
 * the TOTP step (401), forced enrolment (403), the permission (403), CSRF
 * (403). Returns 0, or -1 after replying.
 */
static int
check_access(struct pb_request *req)
{
    const struct pb_route *route = req->route;
    if (route->perm == PB_PERM_PUBLIC)
        return 0;
    enum pb_err err = authenticate(req);
    if (err != PB_ERR_OK) {
        pb_warn("cannot authenticate: %s", pb_err_name(err));
        pb_reply_error(req, err, NULL, "cannot check the credentials now; try again");
        return -1;
    }
    if (!req->authenticated) {
        pb_reply_error(req, PB_ERR_UNAUTHENTICATED, NULL, "this resource needs a login");
        return -1;
    }
    if (req->principal.mfa_pending && (route->flags & PB_ROUTE_MFA_STEP) == 0) {
        pb_reply_error(req, PB_ERR_MFA_REQUIRED, NULL,
                       "this session waits for its two-factor code");
        return -1;
    }
    if (req->principal.must_enrol && (route->flags & PB_ROUTE_ENROLMENT) == 0) {
        pb_reply_error(req, PB_ERR_ENROLMENT_REQUIRED, NULL,
                       "turn two-factor authentication on before anything else");
        return -1;
    }
    if (!pb_role_allows(req->role, route->perm)) {
        pb_reply_error(req, PB_ERR_FORBIDDEN, NULL, "the permission %s is needed",
                       pb_perm_name(route->perm));
        return -1;
    }
    if (req->via_cookie && route->csrf && is_unsafe(req->method)) {
        const char *sent = pb_request_header(req, "X-CSRF-Token");
        if (sent == NULL || !pb_auth_csrf_valid(req->session_token, sent)) {
            pb_reply_error(req, PB_ERR_CSRF, NULL,
                           sent == NULL ? "the X-CSRF-Token header is missing"
                                        : "the X-CSRF-Token header does not match the session");
            return -1;
        }
    }
    return 0;
}

void
pb_router_begin(struct pb_request *req)
{
    const struct pb_route *route = find_route(req);
    if (route == NULL)
        return;
    req->route = route;
    if (check_access(req) != 0)
        return;

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
    if (req->route != NULL && req->route->stream_body != NULL) {
        /* Counted, not kept: the route's own code takes each piece as it comes. */
        req->streamed += len;
        if (req->streamed > req->route->body_limit)
            req->body_too_large = true;
        else
            req->route->stream_body(req, data, len);
        return;
    }
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
