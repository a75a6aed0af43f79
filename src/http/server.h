/*
 * The HTTPS server: libmicrohttpd with GnuTLS, a thread pool, the router,
 * security headers on every response, an access-log line per request, and
 * a graceful stop (in-flight requests finish).
 */
#ifndef PB_HTTP_SERVER_H
#define PB_HTTP_SERVER_H

#include "core/err.h"
#include "model/app.h" /* struct pb_app: what handlers share; borrowed by the server */

struct pb_server;

/*
 * Listens on app->config->listen (port 0 picks a free port; see
 * pb_server_port) with TLS from tls_cert/tls_key unless tls is off.
 * A port in use or a bad certificate fails here, with `why` naming it.
 */
enum pb_err
pb_server_start(struct pb_app *app, struct pb_server **out, char why[PB_WHY_MAX]);

/* The TCP port the server listens on. */
int
pb_server_port(const struct pb_server *server);

/*
 * Stops accepting connections, lets requests in flight finish for up to
 * `grace_seconds`, then closes everything and frees the server.
 */
void
pb_server_stop(struct pb_server *server, int grace_seconds);

#endif
