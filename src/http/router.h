/*
 * The router: a static table of routes (method, path pattern, permission,
 * body limit, CSRF need) and the steps every request goes through —
 * match (404/405), authenticate (401), permission (403), body limit (413),
 * JSON body (415/400), then the handler. Only the router checks permissions.
 */
#ifndef PB_HTTP_ROUTER_H
#define PB_HTTP_ROUTER_H

#include <stdbool.h>
#include <stddef.h>

#include "http/server.h"
#include "model/roles.h"

struct pb_request;

/* A handler replies through pb_reply_*(); not replying is a 500. */
typedef void (*pb_handler)(struct pb_request *req);

/* The body limit of an ordinary JSON endpoint. */
#define PB_JSON_BODY_LIMIT (64 * 1024)

/*
 * Route flags: what a session in an unfinished state may still reach.
 * A session whose TOTP step is due reaches only MFA_STEP routes (else 401
 * MFA_REQUIRED); a user who must enrol in 2FA reaches only ENROLMENT routes
 * (else 403 ENROLMENT_REQUIRED).
 */
#define PB_ROUTE_MFA_STEP  0x1u
#define PB_ROUTE_ENROLMENT 0x2u

struct pb_route {
    const char *method;  /* "GET", "POST", ...; HEAD is served by the GET route */
    const char *pattern; /* "/api/v1/lists/{id}": {name} captures one segment */
    pb_handler handler;
    enum pb_perm perm;
    size_t body_limit; /* bytes; 0 refuses any body with 413 */
    bool csrf;         /* cookie-authenticated calls must carry X-CSRF-Token */
    bool raw_body;     /* the handler reads req->body as it is (no JSON parsing) */
    unsigned flags;    /* PB_ROUTE_* */
    /*
     * Set for a body too large to keep in memory (an import's upload): each
     * piece of the body goes here as it arrives, within body_limit, instead
     * of into req->body; the handler runs once the whole body is in. It keeps
     * its state in req->upload.
     */
    void (*stream_body)(struct pb_request *req, const char *data, size_t len);
};

/* The production table (routes.c). */
extern const struct pb_route pb_routes[];
extern const size_t pb_routes_count;

/*
 * Called by the server once the headers are in: matches the route,
 * authenticates, checks the permission and the announced body size.
 * May reply at once (the body is then never read).
 */
void
pb_router_begin(struct pb_request *req);

/* A piece of the request body; past the route's limit it is dropped, never kept. */
void
pb_router_body(struct pb_request *req, const char *data, size_t len);

/* The whole request is in: parses the JSON body and runs the handler. */
void
pb_router_dispatch(struct pb_request *req);

/*
 * pb_server_start() with another route table (implemented in server.c).
 * For tests, which need endpoints production must not have; `routes` is
 * borrowed and must outlive the server.
 */
enum pb_err
pb_server_start_with_routes(struct pb_app *app, const struct pb_route *routes, size_t nroutes,
                            struct pb_server **out, char why[PB_WHY_MAX]);

#endif
