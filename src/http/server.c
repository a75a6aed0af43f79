/*
 * The HTTPS server: libmicrohttpd (epoll, thread pool, GnuTLS) on a socket
 * we bind ourselves, the request life cycle (context, body, router, access
 * log) and the graceful stop.
 */
#include "http/server.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gnutls/gnutls.h>
#include <microhttpd.h>

#include "core/clock.h"
#include "core/file.h"
#include "core/log.h"
#include "http/request.h"
#include "http/router.h"

/* TLS 1.2 and 1.3 only, AEAD, ECDHE on fast curves first (X25519, P-256), our order first. */
#define TLS_PRIORITIES                                                                             \
    "SECURE256:+SECURE128:-VERS-ALL:+VERS-TLS1.3:+VERS-TLS1.2:-CIPHER-ALL:+AES-256-GCM:"           \
    "+AES-128-GCM:+CHACHA20-POLY1305:-MAC-ALL:+AEAD:-KX-ALL:+ECDHE-ECDSA:+ECDHE-RSA:"              \
    "-GROUP-ALL:+GROUP-X25519:+GROUP-SECP256R1:+GROUP-SECP384R1:%SERVER_PRECEDENCE"

#define CONNECTION_TIMEOUT_S 30
#define PEM_MAX              (1024 * 1024)

struct pb_server {
    struct MHD_Daemon *daemon;
    int listen_fd;
    int port;
    bool tls;
    struct pb_app *app;
    const struct pb_route *routes;
    size_t nroutes;
    char *cert_pem;
    char *key_pem;
    size_t key_len;
    atomic_int in_flight; /* requests begun and not yet completed */
};

static void
server_free(struct pb_server *server)
{
    if (server == NULL)
        return;
    free(server->cert_pem);
    if (server->key_pem != NULL) {
        explicit_bzero(server->key_pem, server->key_len);
        free(server->key_pem);
    }
    free(server);
}

/* "HOST:PORT" or "[V6]:PORT" into its parts. */
static int
split_listen(const char *listen, char host[256], char port[16])
{
    const char *colon;
    size_t hlen;
    const char *h = listen;
    if (listen[0] == '[') {
        const char *close = strchr(listen, ']');
        if (close == NULL || close[1] != ':')
            return -1;
        h = listen + 1;
        hlen = (size_t)(close - h);
        colon = close + 1;
    } else {
        colon = strrchr(listen, ':');
        if (colon == NULL)
            return -1;
        hlen = (size_t)(colon - listen);
    }
    size_t plen = strlen(colon + 1);
    if (hlen == 0 || hlen >= 256 || plen == 0 || plen >= 16)
        return -1;
    memcpy(host, h, hlen);
    host[hlen] = '\0';
    memcpy(port, colon + 1, plen + 1);
    for (const char *p = port; *p; p++)
        if (!isdigit((unsigned char)*p))
            return -1;
    return 0;
}

/* strerror() with a lower-case first letter, to sit inside a sentence. */
static void
reason(int err, char out[128])
{
    snprintf(out, 128, "%s", strerror(err));
    out[0] = (char)tolower((unsigned char)out[0]);
}

/* Binds and listens ourselves, so that a port in use is reported with errno. */
static enum pb_err
open_listen_socket(struct pb_server *server, const char *listen_addr, bool *ipv6,
                   char why[PB_WHY_MAX])
{
    char host[256], port[16], text[128];
    if (split_listen(listen_addr, host, port) != 0) {
        snprintf(why, PB_WHY_MAX, "cannot listen on %s: expected HOST:PORT", listen_addr);
        return PB_ERR_HTTP_LISTEN;
    }
    struct addrinfo hints = {.ai_family = AF_UNSPEC,
                             .ai_socktype = SOCK_STREAM,
                             .ai_flags = AI_PASSIVE | AI_NUMERICSERV};
    struct addrinfo *ai = NULL;
    int rc = getaddrinfo(host, port, &hints, &ai);
    if (rc != 0) {
        snprintf(why, PB_WHY_MAX, "cannot listen on %s: %s", listen_addr, gai_strerror(rc));
        return PB_ERR_HTTP_LISTEN;
    }
    enum pb_err err = PB_ERR_HTTP_LISTEN;
    int fd = socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0) {
        reason(errno, text);
        snprintf(why, PB_WHY_MAX, "cannot listen on %s: %s", listen_addr, text);
        goto out;
    }
    int on = 1;
    /* SO_REUSEADDR (restart while old connections linger) but never SO_REUSEPORT. */
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on));
    if (ai->ai_family == AF_INET6)
        setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &on, sizeof(on));
    if (bind(fd, ai->ai_addr, ai->ai_addrlen) != 0 || listen(fd, 511) != 0) {
        reason(errno, text);
        snprintf(why, PB_WHY_MAX, "cannot listen on %s: %s", listen_addr, text);
        close(fd);
        goto out;
    }
    struct sockaddr_storage ss;
    socklen_t len = sizeof(ss);
    if (getsockname(fd, (struct sockaddr *)&ss, &len) == 0)
        server->port = ntohs(ss.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&ss)->sin6_port
                                                      : ((struct sockaddr_in *)&ss)->sin_port);
    *ipv6 = ai->ai_family == AF_INET6;
    server->listen_fd = fd;
    err = PB_ERR_OK;
out:
    freeaddrinfo(ai);
    return err;
}

/* Reads the PEM files and checks that GnuTLS accepts them as a pair. */
static enum pb_err
load_tls(struct pb_server *server, const struct pb_config *config, char why[PB_WHY_MAX])
{
    char inner[PB_WHY_MAX];
    size_t cert_len = 0;
    if (pb_file_read_small(config->tls_cert, PEM_MAX, &server->cert_pem, &cert_len, inner) !=
        PB_ERR_OK) {
        snprintf(why, PB_WHY_MAX, "TLS certificate: %s", inner);
        return PB_ERR_HTTP_TLS;
    }
    if (pb_file_read_small(config->tls_key, PEM_MAX, &server->key_pem, &server->key_len, inner) !=
        PB_ERR_OK) {
        snprintf(why, PB_WHY_MAX, "TLS key: %s", inner);
        return PB_ERR_HTTP_TLS;
    }
    gnutls_certificate_credentials_t cred;
    if (gnutls_certificate_allocate_credentials(&cred) < 0) {
        snprintf(why, PB_WHY_MAX, "cannot load %s: out of memory", config->tls_cert);
        return PB_ERR_HTTP_TLS;
    }
    gnutls_datum_t cert = {(unsigned char *)server->cert_pem, (unsigned int)cert_len};
    gnutls_datum_t key = {(unsigned char *)server->key_pem, (unsigned int)server->key_len};
    int rc = gnutls_certificate_set_x509_key_mem(cred, &cert, &key, GNUTLS_X509_FMT_PEM);
    gnutls_certificate_free_credentials(cred);
    if (rc < 0) {
        snprintf(why, PB_WHY_MAX, "cannot use the TLS certificate %s with the key %s: %s",
                 config->tls_cert, config->tls_key, gnutls_strerror(rc));
        return PB_ERR_HTTP_TLS;
    }
    return PB_ERR_OK;
}

static void
mhd_log(void *cls, const char *fmt, va_list ap)
{
    (void)cls;
    pb_vlog(PB_LOG_DEBUG, fmt, ap);
}

/*
 * Whether the request announces a body that is cheaper to read and drop
 * than to cut off: a refusal made before the body is read then waits for
 * it (see pb_request.body_pending). Larger bodies are cut off at once.
 */
enum { DRAIN_MAX = 1024 * 1024 };

static bool
body_worth_draining(struct MHD_Connection *conn)
{
    const char *length =
        MHD_lookup_connection_value(conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
    const char *encoding =
        MHD_lookup_connection_value(conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_TRANSFER_ENCODING);
    if (length != NULL) {
        char *end;
        errno = 0;
        unsigned long long n = strtoull(length, &end, 10);
        return errno == 0 && end != length && *end == '\0' && n > 0 && n <= DRAIN_MAX;
    }
    return encoding != NULL; /* chunked: the router's body limit still bounds what is kept */
}

static enum MHD_Result
on_request(void *cls, struct MHD_Connection *conn, const char *url, const char *method,
           const char *version, const char *upload_data, size_t *upload_data_size, void **con_cls)
{
    struct pb_server *server = cls;
    struct pb_request *req = *con_cls;
    (void)version;
    if (req == NULL) {
        req = pb_request_new(conn, server->app, server->routes, server->nroutes, server->tls,
                             method, url);
        if (req == NULL) {
            pb_error("out of memory for a new request");
            return MHD_NO;
        }
        *con_cls = req;
        atomic_fetch_add(&server->in_flight, 1);
        pb_log_set_request_id(req->id);
        req->body_pending = body_worth_draining(conn);
        pb_router_begin(req);
    } else {
        pb_log_set_request_id(req->id);
        if (*upload_data_size > 0) {
            /* A refused request's body is dropped, up to a bound; past it, close. */
            if (req->status != 0 && (req->drained += *upload_data_size) > DRAIN_MAX) {
                pb_log_set_request_id(NULL);
                return MHD_NO;
            }
            pb_router_body(req, upload_data, *upload_data_size);
            *upload_data_size = 0;
        } else {
            pb_reply_flush_deferred(req);
            pb_router_dispatch(req);
        }
    }
    pb_log_set_request_id(NULL);
    /* A reply that could not be queued (nor waits for the body) leaves no way to answer: close. */
    bool stuck = req->status != 0 && !req->replied && req->deferred == NULL && !req->body_pending;
    return stuck ? MHD_NO : MHD_YES;
}

/* The end of a request, answered or not: the access-log line, then the context goes. */
static void
on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
             enum MHD_RequestTerminationCode toe)
{
    struct pb_server *server = cls;
    struct pb_request *req = *con_cls;
    (void)conn;
    if (req == NULL)
        return;
    pb_log_set_request_id(req->id);
    /* The route pattern, never the path: a path may hold personal data. */
    pb_info("%.16s %s %d %" PRId64 "us%s", req->method,
            req->route != NULL ? req->route->pattern : "-", req->status,
            pb_clock_mono_us() - req->started_us,
            toe == MHD_REQUEST_TERMINATED_COMPLETED_OK ? "" : " aborted");
    pb_log_set_request_id(NULL);
    pb_request_free(req);
    *con_cls = NULL;
    atomic_fetch_sub(&server->in_flight, 1);
}

enum pb_err
pb_server_start_with_routes(struct pb_app *app, const struct pb_route *routes, size_t nroutes,
                            struct pb_server **out, char why[PB_WHY_MAX])
{
    const struct pb_config *config = app->config;
    enum pb_err err;
    bool ipv6 = false;
    *out = NULL;
    why[0] = '\0';
    struct pb_server *server = calloc(1, sizeof(*server));
    if (server == NULL)
        return PB_ERR_NOMEM;
    server->listen_fd = -1;
    server->app = app;
    server->routes = routes;
    server->nroutes = nroutes;
    server->tls = config->tls;
    atomic_init(&server->in_flight, 0);

    if (server->tls && (err = load_tls(server, config, why)) != PB_ERR_OK)
        goto fail;
    if ((err = open_listen_socket(server, config->listen, &ipv6, why)) != PB_ERR_OK)
        goto fail;

    struct MHD_OptionItem tls_options[] = {
        {MHD_OPTION_HTTPS_MEM_CERT, 0, server->cert_pem},
        {MHD_OPTION_HTTPS_MEM_KEY, 0, server->key_pem},
        {MHD_OPTION_HTTPS_PRIORITIES, 0, (void *)TLS_PRIORITIES},
        {MHD_OPTION_END, 0, NULL},
    };
    struct MHD_OptionItem no_options[] = {{MHD_OPTION_END, 0, NULL}};
    unsigned int flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL | MHD_USE_ITC |
                         MHD_USE_ERROR_LOG | (server->tls ? MHD_USE_TLS : 0) |
                         (ipv6 ? MHD_USE_IPv6 : 0);
    server->daemon = MHD_start_daemon(
        flags, 0, NULL, NULL, on_request, server, MHD_OPTION_LISTEN_SOCKET, server->listen_fd,
        MHD_OPTION_THREAD_POOL_SIZE, (unsigned int)(config->threads > 1 ? config->threads : 0),
        MHD_OPTION_CONNECTION_LIMIT, (unsigned int)config->max_connections,
        MHD_OPTION_CONNECTION_TIMEOUT, (unsigned int)CONNECTION_TIMEOUT_S,
        MHD_OPTION_NOTIFY_COMPLETED, on_completed, server, MHD_OPTION_EXTERNAL_LOGGER, mhd_log,
        NULL, MHD_OPTION_ARRAY, server->tls ? tls_options : no_options, MHD_OPTION_END);
    if (server->daemon == NULL) {
        snprintf(why, PB_WHY_MAX, "cannot start the HTTP server on %s%s", config->listen,
                 server->tls ? " (check the TLS certificate and key)" : "");
        err = server->tls ? PB_ERR_HTTP_TLS : PB_ERR_HTTP_LISTEN;
        /* MHD may or may not have closed the socket it was given. */
        if (fcntl(server->listen_fd, F_GETFD) != -1)
            close(server->listen_fd);
        server->listen_fd = -1;
        goto fail;
    }
    const union MHD_DaemonInfo *info =
        MHD_get_daemon_info(server->daemon, MHD_DAEMON_INFO_BIND_PORT);
    if (info != NULL && info->port != 0)
        server->port = info->port;
    *out = server;
    return PB_ERR_OK;
fail:
    if (server->listen_fd >= 0)
        close(server->listen_fd);
    server_free(server);
    return err;
}

enum pb_err
pb_server_start(struct pb_app *app, struct pb_server **out, char why[PB_WHY_MAX])
{
    return pb_server_start_with_routes(app, pb_routes, pb_routes_count, out, why);
}

int
pb_server_port(const struct pb_server *server)
{
    return server->port;
}

void
pb_server_stop(struct pb_server *server, int grace_seconds)
{
    if (server == NULL)
        return;
    /* No new connections from here on; MHD hands the listen socket back. */
    int fd = MHD_quiesce_daemon(server->daemon);
    int64_t deadline = pb_clock_mono_us() + (int64_t)grace_seconds * 1000000;
    while (atomic_load(&server->in_flight) > 0 && pb_clock_mono_us() < deadline) {
        const union MHD_DaemonInfo *info =
            MHD_get_daemon_info(server->daemon, MHD_DAEMON_INFO_CURRENT_CONNECTIONS);
        if (info != NULL && info->num_connections == 0)
            break;
        usleep(10 * 1000);
    }
    if (atomic_load(&server->in_flight) > 0)
        pb_warn("stopping with %d requests still in flight", atomic_load(&server->in_flight));
    MHD_stop_daemon(server->daemon);
    if (fd >= 0)
        close(fd);
    server_free(server);
}
