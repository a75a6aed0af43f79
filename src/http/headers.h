/*
 * Security headers: the set every response carries (errors and static files
 * included), and the cache policy of API and error responses.
 */
#ifndef PB_HTTP_HEADERS_H
#define PB_HTTP_HEADERS_H

#include <stdbool.h>

#include <microhttpd.h>

/* The Content-Security-Policy of every page: no inline script or style. */
#define PB_HEADERS_CSP                                                                             \
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "              \
    "connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; "                 \
    "frame-ancestors 'none'"

/* Adds the security headers; HSTS only when the connection is TLS. Returns 0 or -1. */
int
pb_headers_add_security(struct MHD_Response *resp, bool tls);

/* Sets `name` to `value`, replacing what the response had. Returns 0 or -1. */
int
pb_headers_set(struct MHD_Response *resp, const char *name, const char *value);

#endif
