/*
 * The SMTP client (RFC 5321) with PIPELINING (RFC 2920), STARTTLS
 * (RFC 3207) and AUTH PLAIN/LOGIN (RFC 4954), on non-blocking sockets
 * whose every wait is a poll() bounded by a deadline. TLS is GnuTLS with
 * our own transport functions, so TLS reads and writes share those
 * deadlines and never raise SIGPIPE.
 */
#include "mail/smtp.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#include <gnutls/gnutls.h>
#include <gnutls/x509.h>
#include <sodium.h>

#include "core/clock.h"

#define LINE_MAX_BYTES  512 /* a reply line, CRLF included (RFC 5321 4.5.3.1.5) */
#define REPLY_MAX_LINES 100
#define RBUF_SIZE       4096
#define WBUF_SIZE       16384
#define PIPE_WINDOW     100 /* commands written before their replies are read */
#define ADDR_MAX        320 /* 64 local part + @ + 255 domain */
#define CRED_MAX        255 /* user name or password */
#define QUIT_TIMEOUT_MS 2000

struct pb_smtp {
    int fd;
    gnutls_session_t tls; /* NULL while plain */
    gnutls_certificate_credentials_t cred;
    bool broken;    /* an I/O or protocol failure: only QUIT and free remain */
    bool need_rset; /* a transaction was left open */
    bool timed_out; /* the last wait hit the deadline */
    int io_errno;   /* the errno of the last failed socket call */
    int64_t deadline_us;
    int command_ms;
    int data_ms;
    bool ext_pipelining, ext_starttls, ext_8bitmime, ext_smtputf8, ext_size;
    bool auth_any, auth_plain, auth_login;
    unsigned long size_max; /* 0: no limit announced */
    char host[256];
    unsigned port;
    char rbuf[RBUF_SIZE];
    size_t rpos, rlen;
    char wbuf[WBUF_SIZE];
    size_t wlen;
};

struct reply {
    int code;
    char text[256]; /* "550 5.1.1 user unknown", lines joined by spaces */
};

/* Called for each line of a reply (without code and separator). */
typedef void (*line_fn)(struct pb_smtp *s, int index, const char *text);

static enum pb_smtp_class
fail(struct pb_smtp_error *err, enum pb_smtp_class cls, int code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static enum pb_smtp_class
fail(struct pb_smtp_error *err, enum pb_smtp_class cls, int code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err->text, sizeof(err->text), fmt, ap);
    va_end(ap);
    for (char *p = err->text; *p; p++)
        if ((unsigned char)*p < 0x20 || *p == 0x7f)
            *p = '?';
    size_t n = strlen(err->text);
    while (n > 0 && err->text[n - 1] == ' ')
        err->text[--n] = '\0';
    err->cls = cls;
    err->code = code;
    return cls;
}

static void
set_ok(struct pb_smtp_error *err)
{
    err->cls = PB_SMTP_OK;
    err->code = 0;
    err->text[0] = '\0';
}

/* strerror_r, lower-cased at the start: "connection refused". */
static void
errno_text(int e, char *out, size_t size)
{
    if (strerror_r(e, out, size) != 0)
        snprintf(out, size, "error %d", e);
    if (out[0] >= 'A' && out[0] <= 'Z' && !(out[1] >= 'A' && out[1] <= 'Z'))
        out[0] = (char)(out[0] - 'A' + 'a');
}

static int
remaining_ms(const struct pb_smtp *s)
{
    int64_t left = s->deadline_us - pb_clock_mono_us();
    if (left <= 0)
        return 0;
    return (int)((left + 999) / 1000);
}

static void
set_deadline(struct pb_smtp *s, int ms)
{
    s->deadline_us = pb_clock_mono_us() + (int64_t)ms * 1000;
}

/* Waits until the socket is ready for `events`; false on timeout or error. */
static bool
wait_fd(struct pb_smtp *s, short events)
{
    for (;;) {
        int ms = remaining_ms(s);
        if (ms == 0) {
            s->timed_out = true;
            s->io_errno = ETIMEDOUT;
            return false;
        }
        struct pollfd p = {.fd = s->fd, .events = events};
        int n = poll(&p, 1, ms);
        if (n > 0)
            return true;
        if (n < 0 && errno != EINTR) {
            s->io_errno = errno;
            return false;
        }
    }
}

/* GnuTLS transport: blocking with the connection's deadline, no SIGPIPE. */
static ssize_t
tls_push(gnutls_transport_ptr_t ptr, const void *data, size_t len)
{
    struct pb_smtp *s = ptr;
    for (;;) {
        ssize_t n = send(s->fd, data, len, MSG_NOSIGNAL);
        if (n >= 0)
            return n;
        if (errno == EINTR)
            continue;
        if ((errno != EAGAIN && errno != EWOULDBLOCK) || !wait_fd(s, POLLOUT)) {
            if (errno != EAGAIN && errno != EWOULDBLOCK)
                s->io_errno = errno;
            gnutls_transport_set_errno(s->tls, s->io_errno ? s->io_errno : EIO);
            return -1;
        }
    }
}

static ssize_t
tls_pull(gnutls_transport_ptr_t ptr, void *data, size_t len)
{
    struct pb_smtp *s = ptr;
    for (;;) {
        ssize_t n = recv(s->fd, data, len, 0);
        if (n >= 0)
            return n;
        if (errno == EINTR)
            continue;
        if ((errno != EAGAIN && errno != EWOULDBLOCK) || !wait_fd(s, POLLIN)) {
            if (errno != EAGAIN && errno != EWOULDBLOCK)
                s->io_errno = errno;
            gnutls_transport_set_errno(s->tls, s->io_errno ? s->io_errno : EIO);
            return -1;
        }
    }
}

static int
tls_pull_timeout(gnutls_transport_ptr_t ptr, unsigned int ms)
{
    struct pb_smtp *s = ptr;
    int left = remaining_ms(s);
    int wait = (ms == GNUTLS_INDEFINITE_TIMEOUT || ms > (unsigned)left) ? left : (int)ms;
    struct pollfd p = {.fd = s->fd, .events = POLLIN};
    int n;
    do
        n = poll(&p, 1, wait);
    while (n < 0 && errno == EINTR);
    if (n == 0 && wait == left)
        s->timed_out = true;
    return n;
}

/* Describes a failed read or write of `step` into err (CONNECTION or PROTOCOL). */
static enum pb_smtp_class
io_fail(struct pb_smtp *s, int tls_ret, bool eof, bool writing, const char *step,
        struct pb_smtp_error *err)
{
    s->broken = true;
    if (s->timed_out || tls_ret == GNUTLS_E_TIMEDOUT)
        return fail(err, PB_SMTP_CONNECTION, 0, "timeout %s %s",
                    writing ? "sending" : "waiting for the reply to", step);
    if (eof)
        return fail(err, PB_SMTP_CONNECTION, 0,
                    "connection closed by %s:%u while waiting for the reply to %s", s->host,
                    s->port, step);
    if (tls_ret < 0 && tls_ret != GNUTLS_E_PUSH_ERROR && tls_ret != GNUTLS_E_PULL_ERROR)
        return fail(err, PB_SMTP_PROTOCOL, 0, "TLS error %s %s: %s",
                    writing ? "sending" : "waiting for the reply to", step,
                    gnutls_strerror(tls_ret));
    char e[128];
    errno_text(s->io_errno ? s->io_errno : EIO, e, sizeof(e));
    return fail(err, PB_SMTP_CONNECTION, 0, "connection to %s:%u lost %s %s: %s", s->host, s->port,
                writing ? "sending" : "waiting for the reply to", step, e);
}

/* Reads some bytes into the read buffer; 0 on EOF, <0 on failure (tls code or -1). */
static ssize_t
fill(struct pb_smtp *s)
{
    if (s->rpos > 0) {
        memmove(s->rbuf, s->rbuf + s->rpos, s->rlen - s->rpos);
        s->rlen -= s->rpos;
        s->rpos = 0;
    }
    char *dst = s->rbuf + s->rlen;
    size_t room = sizeof(s->rbuf) - s->rlen;
    if (s->tls != NULL) {
        for (;;) {
            ssize_t n = gnutls_record_recv(s->tls, dst, room);
            if (n == GNUTLS_E_AGAIN || n == GNUTLS_E_INTERRUPTED)
                continue;
            if (n == GNUTLS_E_PREMATURE_TERMINATION)
                return 0;
            if (n > 0)
                s->rlen += (size_t)n;
            return n;
        }
    }
    /* A reply is read after a write: it is rarely there yet, so wait first (no recv in vain). */
    if (!wait_fd(s, POLLIN))
        return -1;
    for (;;) {
        ssize_t n = recv(s->fd, dst, room, 0);
        if (n > 0) {
            s->rlen += (size_t)n;
            return n;
        }
        if (n == 0)
            return 0;
        if (errno == EINTR)
            continue;
        if (errno != EAGAIN && errno != EWOULDBLOCK) {
            s->io_errno = errno;
            return -1;
        }
        if (!wait_fd(s, POLLIN))
            return -1;
    }
}

/* One reply line into `line` (without CRLF). */
static enum pb_smtp_class
read_line(struct pb_smtp *s, const char *step, char line[LINE_MAX_BYTES], struct pb_smtp_error *err)
{
    for (;;) {
        char *start = s->rbuf + s->rpos;
        size_t avail = s->rlen - s->rpos;
        char *nl = memchr(start, '\n', avail);
        if (nl != NULL) {
            size_t n = (size_t)(nl - start) + 1; /* with LF */
            if (n > LINE_MAX_BYTES)
                break;
            size_t content = n - 1;
            if (content > 0 && start[content - 1] == '\r')
                content--;
            memcpy(line, start, content);
            line[content] = '\0';
            s->rpos += n;
            return PB_SMTP_OK;
        }
        if (avail >= LINE_MAX_BYTES)
            break;
        ssize_t got = fill(s);
        if (got <= 0)
            return io_fail(s, got < 0 && s->tls != NULL ? (int)got : 0, got == 0, false, step, err);
    }
    s->broken = true;
    return fail(err, PB_SMTP_PROTOCOL, 0, "reply to %s: line longer than %d bytes", step,
                LINE_MAX_BYTES);
}

/* Reads a whole (possibly multi-line) reply within `timeout_ms`. */
static enum pb_smtp_class
read_reply(struct pb_smtp *s, const char *step, int timeout_ms, line_fn each, struct reply *rep,
           struct pb_smtp_error *err)
{
    char line[LINE_MAX_BYTES];
    size_t tlen = 0;
    set_deadline(s, timeout_ms);
    s->timed_out = false;
    rep->code = 0;
    rep->text[0] = '\0';
    for (int i = 0;; i++) {
        if (i >= REPLY_MAX_LINES) {
            s->broken = true;
            return fail(err, PB_SMTP_PROTOCOL, 0, "reply to %s: more than %d lines", step,
                        REPLY_MAX_LINES);
        }
        enum pb_smtp_class cls = read_line(s, step, line, err);
        if (cls != PB_SMTP_OK)
            return cls;
        size_t n = strlen(line);
        bool shaped = n >= 3 && line[0] >= '2' && line[0] <= '5' && line[1] >= '0' &&
                      line[1] <= '9' && line[2] >= '0' && line[2] <= '9' &&
                      (n == 3 || line[3] == ' ' || line[3] == '-');
        int code = shaped ? (line[0] - '0') * 100 + (line[1] - '0') * 10 + (line[2] - '0') : 0;
        if (!shaped || (i > 0 && code != rep->code)) {
            s->broken = true;
            return fail(err, PB_SMTP_PROTOCOL, 0, "unparseable reply to %s: \"%.80s\"", step, line);
        }
        rep->code = code;
        const char *text = n > 4 ? line + 4 : "";
        if (each != NULL)
            each(s, i, text);
        int w = i == 0
                    ? snprintf(rep->text, sizeof(rep->text), "%d%s%s", code, *text ? " " : "", text)
                    : snprintf(rep->text + tlen, sizeof(rep->text) - tlen, " %s", text);
        if (w > 0)
            tlen += (size_t)w;
        if (tlen >= sizeof(rep->text))
            tlen = sizeof(rep->text) - 1;
        if (n == 3 || line[3] == ' ')
            break;
    }
    if (rep->code == 421)
        s->broken = true; /* the server is closing the connection */
    return PB_SMTP_OK;
}

/* The class of a reply code that is not the one expected. */
static enum pb_smtp_class
reply_fail(struct pb_smtp *s, const char *step, const struct reply *rep, struct pb_smtp_error *err)
{
    enum pb_smtp_class cls = PB_SMTP_PROTOCOL;
    if (rep->code >= 400 && rep->code < 500)
        cls = PB_SMTP_TEMPORARY;
    else if (rep->code >= 500)
        cls = PB_SMTP_PERMANENT;
    else
        s->broken = true; /* a 2xx or 3xx where it makes no sense: out of step */
    return fail(err, cls, rep->code, "%s: %s", step, rep->text);
}

/* Writes `len` bytes of `data` whole, within the command deadline. */
static enum pb_smtp_class
write_all(struct pb_smtp *s, const char *data, size_t len, const char *step,
          struct pb_smtp_error *err)
{
    size_t off = 0;
    set_deadline(s, s->command_ms);
    s->timed_out = false;
    while (off < len) {
        ssize_t n;
        if (s->tls != NULL) {
            n = gnutls_record_send(s->tls, data + off, len - off);
            if (n == GNUTLS_E_AGAIN || n == GNUTLS_E_INTERRUPTED)
                continue;
            if (n < 0)
                return io_fail(s, (int)n, false, true, step, err);
        } else {
            n = send(s->fd, data + off, len - off, MSG_NOSIGNAL);
            if (n < 0) {
                if (errno == EINTR)
                    continue;
                if ((errno == EAGAIN || errno == EWOULDBLOCK) && wait_fd(s, POLLOUT))
                    continue;
                if (errno != EAGAIN && errno != EWOULDBLOCK)
                    s->io_errno = errno;
                return io_fail(s, 0, false, true, step, err);
            }
        }
        off += (size_t)n;
        set_deadline(s, s->command_ms); /* the deadline is for progress, not the whole */
    }
    return PB_SMTP_OK;
}

/*
 * Writes a[0, alen) then b[0, blen): one sendmsg on a plain socket (a
 * message's last bytes and its final "." go out together), two writes
 * under TLS.
 */
static enum pb_smtp_class
write_two(struct pb_smtp *s, const char *a, size_t alen, const char *b, size_t blen,
          const char *step, struct pb_smtp_error *err)
{
    if (s->tls != NULL) {
        enum pb_smtp_class cls = write_all(s, a, alen, step, err);
        return cls == PB_SMTP_OK ? write_all(s, b, blen, step, err) : cls;
    }
    set_deadline(s, s->command_ms);
    s->timed_out = false;
    struct iovec iov[2] = {{(void *)(uintptr_t)a, alen}, {(void *)(uintptr_t)b, blen}};
    int first = 0;
    while (first < 2) {
        if (iov[first].iov_len == 0) {
            first++;
            continue;
        }
        struct msghdr mh = {.msg_iov = iov + first, .msg_iovlen = (size_t)(2 - first)};
        ssize_t n = sendmsg(s->fd, &mh, MSG_NOSIGNAL);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            if ((errno == EAGAIN || errno == EWOULDBLOCK) && wait_fd(s, POLLOUT))
                continue;
            if (errno != EAGAIN && errno != EWOULDBLOCK)
                s->io_errno = errno;
            return io_fail(s, 0, false, true, step, err);
        }
        set_deadline(s, s->command_ms);
        size_t k = (size_t)n;
        while (first < 2 && k >= iov[first].iov_len) {
            k -= iov[first].iov_len;
            first++;
        }
        if (first < 2) {
            iov[first].iov_base = (char *)iov[first].iov_base + k;
            iov[first].iov_len -= k;
        }
    }
    return PB_SMTP_OK;
}

static enum pb_smtp_class
flush(struct pb_smtp *s, const char *step, struct pb_smtp_error *err)
{
    size_t len = s->wlen;
    s->wlen = 0;
    return len > 0 ? write_all(s, s->wbuf, len, step, err) : PB_SMTP_OK;
}

/*
 * Appends to the write buffer. What does not fit in it anyway (a message's
 * body) goes out straight from the caller's memory after what is buffered:
 * no copy.
 */
static enum pb_smtp_class
put(struct pb_smtp *s, const char *data, size_t len, const char *step, struct pb_smtp_error *err)
{
    if (len >= sizeof(s->wbuf)) {
        enum pb_smtp_class cls = flush(s, step, err);
        return cls == PB_SMTP_OK ? write_all(s, data, len, step, err) : cls;
    }
    while (len > 0) {
        if (s->wlen == sizeof(s->wbuf)) {
            enum pb_smtp_class cls = flush(s, step, err);
            if (cls != PB_SMTP_OK)
                return cls;
        }
        size_t n = sizeof(s->wbuf) - s->wlen;
        if (n > len)
            n = len;
        memcpy(s->wbuf + s->wlen, data, n);
        s->wlen += n;
        data += n;
        len -= n;
    }
    return PB_SMTP_OK;
}

static enum pb_smtp_class
putf(struct pb_smtp *s, const char *step, struct pb_smtp_error *err, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static enum pb_smtp_class
putf(struct pb_smtp *s, const char *step, struct pb_smtp_error *err, const char *fmt, ...)
{
    char line[LINE_MAX_BYTES + ADDR_MAX];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(line, sizeof(line), fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= sizeof(line))
        return fail(err, PB_SMTP_PERMANENT, 0, "%s: command too long", step);
    return put(s, line, (size_t)n, step, err);
}

/* Sends one command and reads its reply, which must have code `want`. */
static enum pb_smtp_class
command(struct pb_smtp *s, const char *step, const char *cmd, int want, line_fn each,
        struct reply *rep, struct pb_smtp_error *err)
{
    enum pb_smtp_class cls = put(s, cmd, strlen(cmd), step, err);
    if (cls == PB_SMTP_OK)
        cls = flush(s, step, err);
    if (cls == PB_SMTP_OK)
        cls = read_reply(s, step, s->command_ms, each, rep, err);
    if (cls == PB_SMTP_OK && rep->code != want)
        cls = reply_fail(s, step, rep, err);
    return cls;
}

static enum pb_smtp_class
tcp_connect(struct pb_smtp *s, int timeout_ms, struct pb_smtp_error *err)
{
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM};
    struct addrinfo *res = NULL;
    char port[16];
    snprintf(port, sizeof(port), "%u", s->port);
    int rc = getaddrinfo(s->host, port, &hints, &res);
    if (rc != 0)
        return fail(err, PB_SMTP_CONNECTION, 0, "connect to %s:%u: %s", s->host, s->port,
                    gai_strerror(rc));
    int last = ECONNREFUSED;
    set_deadline(s, timeout_ms);
    s->timed_out = false;
    for (struct addrinfo *ai = res; ai != NULL && s->fd < 0; ai = ai->ai_next) {
        int fd =
            socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, ai->ai_protocol);
        if (fd < 0) {
            last = errno;
            continue;
        }
        /*
         * The client buffers its writes itself: without TCP_NODELAY, the
         * short tail of a message over the write buffer waits for the
         * acknowledgement of the rest (Nagle), ~40 ms a message.
         */
        int one = 1;
        (void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
        if (connect(fd, ai->ai_addr, ai->ai_addrlen) != 0) {
            if (errno != EINPROGRESS) {
                last = errno;
                close(fd);
                continue;
            }
            s->fd = fd;
            int soerr = 0;
            socklen_t sl = sizeof(soerr);
            if (!wait_fd(s, POLLOUT))
                soerr = s->timed_out ? ETIMEDOUT : s->io_errno;
            else if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &sl) != 0)
                soerr = errno;
            if (soerr != 0) {
                last = soerr;
                s->fd = -1;
                close(fd);
                if (s->timed_out)
                    break;
                continue;
            }
        }
        s->fd = fd;
    }
    freeaddrinfo(res);
    if (s->fd >= 0)
        return PB_SMTP_OK;
    if (s->timed_out)
        return fail(err, PB_SMTP_CONNECTION, 0, "connect to %s:%u: timeout after %d ms", s->host,
                    s->port, timeout_ms);
    char e[128];
    errno_text(last, e, sizeof(e));
    return fail(err, PB_SMTP_CONNECTION, 0, "connect to %s:%u: %s", s->host, s->port, e);
}

static bool
is_numeric_host(const char *host)
{
    unsigned char a[sizeof(struct in6_addr)];
    return inet_pton(AF_INET, host, a) == 1 || inet_pton(AF_INET6, host, a) == 1;
}

static enum pb_smtp_class
tls_start(struct pb_smtp *s, const struct pb_smtp_config *cfg, struct pb_smtp_error *err)
{
    int rc = gnutls_certificate_allocate_credentials(&s->cred);
    if (rc < 0) {
        s->cred = NULL;
        return fail(err, PB_SMTP_PROTOCOL, 0, "TLS: %s", gnutls_strerror(rc));
    }
    if (!cfg->no_verify) {
        if (cfg->ca_file != NULL)
            rc = gnutls_certificate_set_x509_trust_file(s->cred, cfg->ca_file, GNUTLS_X509_FMT_PEM);
        else
            rc = gnutls_certificate_set_x509_system_trust(s->cred);
        if (rc <= 0)
            return fail(err, PB_SMTP_PROTOCOL, 0, "TLS: no trust anchors loaded from %s%s%s",
                        cfg->ca_file ? cfg->ca_file : "the system store", rc < 0 ? ": " : "",
                        rc < 0 ? gnutls_strerror(rc) : "");
    }
    rc = gnutls_init(&s->tls, GNUTLS_CLIENT);
    if (rc < 0) {
        s->tls = NULL;
        return fail(err, PB_SMTP_PROTOCOL, 0, "TLS: %s", gnutls_strerror(rc));
    }
    rc = gnutls_set_default_priority(s->tls);
    if (rc >= 0)
        rc = gnutls_credentials_set(s->tls, GNUTLS_CRD_CERTIFICATE, s->cred);
    if (rc >= 0 && !is_numeric_host(s->host))
        rc = gnutls_server_name_set(s->tls, GNUTLS_NAME_DNS, s->host, strlen(s->host));
    if (rc < 0)
        return fail(err, PB_SMTP_PROTOCOL, 0, "TLS: %s", gnutls_strerror(rc));
    if (!cfg->no_verify)
        gnutls_session_set_verify_cert(s->tls, s->host, 0);
    gnutls_transport_set_ptr(s->tls, s);
    gnutls_transport_set_push_function(s->tls, tls_push);
    gnutls_transport_set_pull_function(s->tls, tls_pull);
    gnutls_transport_set_pull_timeout_function(s->tls, tls_pull_timeout);
    set_deadline(s, s->command_ms);
    s->timed_out = false;
    do
        rc = gnutls_handshake(s->tls);
    while (rc < 0 && !gnutls_error_is_fatal(rc));
    if (rc >= 0)
        return PB_SMTP_OK;
    s->broken = true;
    if (rc == GNUTLS_E_CERTIFICATE_VERIFICATION_ERROR) {
        gnutls_datum_t why = {NULL, 0};
        unsigned status = gnutls_session_get_verify_cert_status(s->tls);
        gnutls_certificate_verification_status_print(status, GNUTLS_CRT_X509, &why, 0);
        fail(err, PB_SMTP_PROTOCOL, 0, "TLS handshake with %s:%u: %s", s->host, s->port,
             why.data ? (const char *)why.data : "certificate verification failed");
        gnutls_free(why.data);
        return PB_SMTP_PROTOCOL;
    }
    if (s->timed_out || rc == GNUTLS_E_TIMEDOUT)
        return fail(err, PB_SMTP_CONNECTION, 0, "timeout during the TLS handshake with %s:%u",
                    s->host, s->port);
    if (rc == GNUTLS_E_PUSH_ERROR || rc == GNUTLS_E_PULL_ERROR ||
        rc == GNUTLS_E_PREMATURE_TERMINATION)
        return fail(err, PB_SMTP_CONNECTION, 0, "connection to %s:%u lost during the TLS handshake",
                    s->host, s->port);
    return fail(err, PB_SMTP_PROTOCOL, 0, "TLS handshake with %s:%u: %s", s->host, s->port,
                gnutls_strerror(rc));
}

/* Whether `text` is `word`, alone or followed by a space or '='. */
static const char *
keyword(const char *text, const char *word)
{
    size_t n = strlen(word);
    if (strncasecmp(text, word, n) != 0)
        return NULL;
    if (text[n] == '\0')
        return text + n;
    if (text[n] == ' ' || text[n] == '=')
        return text + n + 1;
    return NULL;
}

static void
ehlo_line(struct pb_smtp *s, int index, const char *text)
{
    const char *arg;
    if (index == 0)
        return; /* the server's name and greeting */
    if (keyword(text, "PIPELINING"))
        s->ext_pipelining = true;
    else if (keyword(text, "STARTTLS"))
        s->ext_starttls = true;
    else if (keyword(text, "8BITMIME"))
        s->ext_8bitmime = true;
    else if (keyword(text, "SMTPUTF8"))
        s->ext_smtputf8 = true;
    else if ((arg = keyword(text, "SIZE")) != NULL) {
        s->ext_size = true;
        s->size_max = strtoul(arg, NULL, 10);
    } else if ((arg = keyword(text, "AUTH")) != NULL) {
        s->auth_any = true;
        while (*arg) {
            size_t n = strcspn(arg, " ");
            if (n == 5 && strncasecmp(arg, "PLAIN", 5) == 0)
                s->auth_plain = true;
            if (n == 5 && strncasecmp(arg, "LOGIN", 5) == 0)
                s->auth_login = true;
            arg += n;
            arg += strspn(arg, " ");
        }
    }
}

static enum pb_smtp_class
ehlo(struct pb_smtp *s, const char *name, bool helo_ok, struct pb_smtp_error *err)
{
    char cmd[300];
    struct reply rep = {0};
    s->ext_pipelining = s->ext_starttls = s->ext_8bitmime = s->ext_smtputf8 = false;
    s->ext_size = s->auth_any = s->auth_plain = s->auth_login = false;
    s->size_max = 0;
    snprintf(cmd, sizeof(cmd), "EHLO %s\r\n", name);
    enum pb_smtp_class cls = command(s, "EHLO", cmd, 250, ehlo_line, &rep, err);
    if (cls != PB_SMTP_PERMANENT || !helo_ok || rep.code == 0)
        return cls;
    snprintf(cmd, sizeof(cmd), "HELO %s\r\n", name); /* an SMTP-only relay */
    return command(s, "HELO", cmd, 250, NULL, &rep, err);
}

static bool
base64(const unsigned char *in, size_t len, char *out, size_t size)
{
    if (sodium_base64_ENCODED_LEN(len, sodium_base64_VARIANT_ORIGINAL) > size)
        return false;
    sodium_bin2base64(out, size, in, len, sodium_base64_VARIANT_ORIGINAL);
    return true;
}

/* AUTH PLAIN, or LOGIN; every buffer that held the password is wiped. */
static enum pb_smtp_class
authenticate(struct pb_smtp *s, const char *user, const char *password, struct pb_smtp_error *err)
{
    unsigned char raw[2 * CRED_MAX + 2];
    char b64[sodium_base64_ENCODED_LEN(sizeof(raw), sodium_base64_VARIANT_ORIGINAL)];
    char cmd[sizeof(b64) + 16];
    struct reply rep;
    enum pb_smtp_class cls;
    size_t ul = strlen(user), pl = strlen(password);
    if (ul > CRED_MAX || pl > CRED_MAX)
        return fail(err, PB_SMTP_PERMANENT, 0, "AUTH: user name or password too long");
    if (!s->auth_any)
        return fail(err, PB_SMTP_PERMANENT, 0, "AUTH: %s:%u does not offer authentication", s->host,
                    s->port);
    if (s->auth_plain) {
        raw[0] = '\0';
        memcpy(raw + 1, user, ul);
        raw[1 + ul] = '\0';
        memcpy(raw + 2 + ul, password, pl);
        base64(raw, ul + pl + 2, b64, sizeof(b64));
        snprintf(cmd, sizeof(cmd), "AUTH PLAIN %s\r\n", b64);
        cls = command(s, "AUTH PLAIN", cmd, 235, NULL, &rep, err);
    } else if (s->auth_login) {
        cls = command(s, "AUTH LOGIN", "AUTH LOGIN\r\n", 334, NULL, &rep, err);
        if (cls == PB_SMTP_OK) {
            base64((const unsigned char *)user, ul, b64, sizeof(b64));
            snprintf(cmd, sizeof(cmd), "%s\r\n", b64);
            cls = command(s, "AUTH LOGIN (user name)", cmd, 334, NULL, &rep, err);
        }
        if (cls == PB_SMTP_OK) {
            base64((const unsigned char *)password, pl, b64, sizeof(b64));
            snprintf(cmd, sizeof(cmd), "%s\r\n", b64);
            cls = command(s, "AUTH LOGIN (password)", cmd, 235, NULL, &rep, err);
        }
    } else {
        cls = fail(err, PB_SMTP_PERMANENT, 0,
                   "AUTH: %s:%u offers no usable mechanism (PLAIN or LOGIN)", s->host, s->port);
    }
    sodium_memzero(raw, sizeof(raw));
    sodium_memzero(b64, sizeof(b64));
    sodium_memzero(cmd, sizeof(cmd));
    sodium_memzero(s->wbuf, sizeof(s->wbuf));
    return cls;
}

void
pb_smtp_config_init(struct pb_smtp_config *cfg)
{
    memset(cfg, 0, sizeof(*cfg));
    cfg->tls = PB_SMTP_TLS_STARTTLS;
    cfg->port = 587;
    cfg->connect_timeout_ms = PB_SMTP_CONNECT_TIMEOUT_MS;
    cfg->command_timeout_ms = PB_SMTP_COMMAND_TIMEOUT_MS;
    cfg->data_timeout_ms = PB_SMTP_DATA_TIMEOUT_MS;
    cfg->no_verify = false;
}

static void
close_conn(struct pb_smtp *s)
{
    if (s->tls != NULL)
        gnutls_deinit(s->tls);
    if (s->cred != NULL)
        gnutls_certificate_free_credentials(s->cred);
    if (s->fd >= 0)
        close(s->fd);
    s->tls = NULL;
    s->cred = NULL;
    s->fd = -1;
}

static bool
header_safe(const char *v, size_t max)
{
    if (strlen(v) > max)
        return false;
    for (const char *p = v; *p; p++)
        if ((unsigned char)*p <= ' ' || *p == 0x7f)
            return false;
    return true;
}

enum pb_smtp_class
pb_smtp_connect(const struct pb_smtp_config *cfg, struct pb_smtp **out, struct pb_smtp_error *err)
{
    struct pb_smtp *s = NULL;
    enum pb_smtp_class cls;
    struct reply rep;
    *out = NULL;
    set_ok(err);
    const char *name = cfg->ehlo_name ? cfg->ehlo_name : "localhost";
    if (cfg->host == NULL || strlen(cfg->host) >= sizeof(s->host) || cfg->port == 0 ||
        cfg->port > 65535 || !header_safe(name, 255) ||
        (cfg->tls != PB_SMTP_TLS_STARTTLS && cfg->tls != PB_SMTP_TLS_SMTPS &&
         cfg->tls != PB_SMTP_TLS_NONE))
        return fail(err, PB_SMTP_PERMANENT, 0, "SMTP configuration: bad host, port or EHLO name");
    s = calloc(1, sizeof(*s));
    if (s == NULL)
        return fail(err, PB_SMTP_TEMPORARY, 0, "connect: out of memory");
    s->fd = -1;
    memcpy(s->host, cfg->host, strlen(cfg->host) + 1);
    s->port = cfg->port;
    s->command_ms =
        cfg->command_timeout_ms > 0 ? cfg->command_timeout_ms : PB_SMTP_COMMAND_TIMEOUT_MS;
    s->data_ms = cfg->data_timeout_ms > 0 ? cfg->data_timeout_ms : PB_SMTP_DATA_TIMEOUT_MS;
    int connect_ms =
        cfg->connect_timeout_ms > 0 ? cfg->connect_timeout_ms : PB_SMTP_CONNECT_TIMEOUT_MS;

    cls = tcp_connect(s, connect_ms, err);
    if (cls == PB_SMTP_OK && cfg->tls == PB_SMTP_TLS_SMTPS)
        cls = tls_start(s, cfg, err);
    if (cls == PB_SMTP_OK)
        cls = read_reply(s, "the greeting", s->command_ms, NULL, &rep, err);
    if (cls == PB_SMTP_OK && rep.code != 220)
        cls = reply_fail(s, "greeting", &rep, err);
    if (cls == PB_SMTP_OK)
        cls = ehlo(s, name, cfg->tls == PB_SMTP_TLS_NONE && cfg->user == NULL, err);
    if (cls == PB_SMTP_OK && cfg->tls == PB_SMTP_TLS_STARTTLS) {
        if (!s->ext_starttls) {
            cls = fail(err, PB_SMTP_PROTOCOL, 0, "STARTTLS required but %s:%u does not offer it",
                       s->host, s->port);
            goto out;
        }
        cls = command(s, "STARTTLS", "STARTTLS\r\n", 220, NULL, &rep, err);
        if (cls == PB_SMTP_OK && s->rpos != s->rlen) {
            /* Plain text after the 220 would be taken as protected (CVE-2011-0411). */
            cls = fail(err, PB_SMTP_PROTOCOL, 0, "STARTTLS: %s:%u sent data after its reply",
                       s->host, s->port);
            goto out;
        }
        if (cls == PB_SMTP_OK)
            cls = tls_start(s, cfg, err);
        if (cls == PB_SMTP_OK)
            cls = ehlo(s, name, false, err);
    }
    if (cls == PB_SMTP_OK && cfg->user != NULL)
        cls = authenticate(s, cfg->user, cfg->password ? cfg->password : "", err);
out:
    if (cls != PB_SMTP_OK) {
        close_conn(s);
        free(s);
        return cls;
    }
    *out = s;
    return PB_SMTP_OK;
}

/* An address we can put between <>: no controls, spaces, brackets; "" only if allowed. */
static bool
address_ok(const char *a, bool empty_ok)
{
    if (a == NULL)
        return false;
    size_t n = strlen(a);
    if (n == 0)
        return empty_ok;
    if (n > ADDR_MAX)
        return false;
    for (const char *p = a; *p; p++) {
        unsigned char c = (unsigned char)*p;
        if (c <= ' ' || c == 0x7f || c == '<' || c == '>')
            return false;
    }
    return true;
}

/* Whether any byte has its high bit set (a word at a time: whole messages go through here). */
static bool
has_8bit(const char *p, size_t len)
{
    uint64_t any = 0;
    size_t i = 0;
#if defined(__SSE2__)
    __m128i acc = _mm_setzero_si128();
    for (; i + 16 <= len; i += 16)
        acc = _mm_or_si128(acc, _mm_loadu_si128((const __m128i *)(const void *)(p + i)));
    if (_mm_movemask_epi8(acc) != 0)
        return true;
#endif
    for (; i + 8 <= len; i += 8) {
        uint64_t w;
        memcpy(&w, p + i, sizeof(w));
        any |= w;
    }
    for (; i < len; i++)
        any |= (unsigned char)p[i];
    return (any & UINT64_C(0x8080808080808080)) != 0;
}

enum pb_smtp_class
pb_smtp_reset(struct pb_smtp *s, struct pb_smtp_error *err)
{
    struct reply rep;
    set_ok(err);
    if (s == NULL || s->broken)
        return fail(err, PB_SMTP_CONNECTION, 0, "RSET: the connection is no longer usable");
    enum pb_smtp_class cls = command(s, "RSET", "RSET\r\n", 250, NULL, &rep, err);
    if (cls == PB_SMTP_OK)
        s->need_rset = false;
    else
        s->broken = true; /* a server that cannot reset is out of step */
    return cls;
}

/* Where the first CR or LF of msg[i, len) is; len when there is none. */
static size_t
next_break(const char *msg, size_t i, size_t len)
{
#if defined(__SSE2__)
    /* 16 bytes at a time: the lines of a message are short, but there are many. */
    const __m128i cr = _mm_set1_epi8('\r'), lf = _mm_set1_epi8('\n');
    for (; i + 16 <= len; i += 16) {
        __m128i x = _mm_loadu_si128((const __m128i *)(const void *)(msg + i));
        unsigned mask =
            (unsigned)_mm_movemask_epi8(_mm_or_si128(_mm_cmpeq_epi8(x, cr), _mm_cmpeq_epi8(x, lf)));
        if (mask != 0)
            return i + (size_t)__builtin_ctz(mask);
    }
#endif
    for (; i < len; i++)
        if (msg[i] == '\r' || msg[i] == '\n')
            return i;
    return len;
}

/*
 * Writes the message dot-stuffed with CRLF line ends (a CR, an LF or CRLF
 * in it is a line break), then the final ".". Runs of lines that are
 * already right (CRLF, no leading dot: all of a message from mail/mime.c)
 * are written as they are, straight from `msg`.
 */
static enum pb_smtp_class
put_message(struct pb_smtp *s, const char *msg, size_t len, struct pb_smtp_error *err)
{
    static const char step[] = "the message (DATA)";
    size_t i = 0, run = 0; /* msg[run, i) is yet to be written as it is */
    while (i < len) {
        size_t end = next_break(msg, i, len); /* the line is msg[i, end) */
        bool crlf = end + 1 < len && msg[end] == '\r' && msg[end + 1] == '\n';
        bool stuff = msg[i] == '.';
        if (stuff || !crlf) {
            /* The line is written changed: what came before it first. */
            if (put(s, msg + run, i - run, step, err) != PB_SMTP_OK ||
                (stuff && put(s, ".", 1, step, err) != PB_SMTP_OK) ||
                put(s, msg + i, end - i, step, err) != PB_SMTP_OK ||
                put(s, "\r\n", 2, step, err) != PB_SMTP_OK)
                return err->cls;
            i = crlf ? end + 2 : end < len ? end + 1 : len;
            run = i;
        } else {
            i = end + 2;
        }
    }
    if (i - run + 3 <= sizeof(s->wbuf) - s->wlen) {
        if (put(s, msg + run, i - run, step, err) != PB_SMTP_OK ||
            put(s, ".\r\n", 3, step, err) != PB_SMTP_OK)
            return err->cls;
        return flush(s, step, err);
    }
    /* Too big to buffer: what is buffered first, then the rest with the "." in one write. */
    if (flush(s, step, err) != PB_SMTP_OK)
        return err->cls;
    return write_two(s, msg + run, i - run, ".\r\n", 3, step, err);
}

static enum pb_smtp_class
prepare_result(struct pb_smtp_result *res, size_t nrcpt)
{
    set_ok(&res->error);
    res->naccepted = 0;
    res->nrcpt = 0;
    if (nrcpt > SIZE_MAX / sizeof(*res->rcpt))
        return fail(&res->error, PB_SMTP_PERMANENT, 0, "send: too many recipients");
    if (nrcpt > res->cap) {
        struct pb_smtp_error *p = realloc(res->rcpt, nrcpt * sizeof(*p));
        if (p == NULL)
            return fail(&res->error, PB_SMTP_TEMPORARY, 0, "send: out of memory");
        res->rcpt = p;
        res->cap = nrcpt;
    }
    res->nrcpt = nrcpt;
    for (size_t i = 0; i < nrcpt; i++) {
        set_ok(&res->rcpt[i]);
        res->rcpt[i].code = -1; /* undecided */
    }
    return PB_SMTP_OK;
}

/* Ends a send: every recipient not rejected on its own gets the message's outcome. */
static enum pb_smtp_class
finish(struct pb_smtp *s, struct pb_smtp_result *res)
{
    for (size_t i = 0; i < res->nrcpt; i++) {
        struct pb_smtp_error *r = &res->rcpt[i];
        if (r->cls != PB_SMTP_OK)
            continue;
        if (res->error.cls != PB_SMTP_OK)
            *r = res->error;
        else
            res->naccepted++;
    }
    if (s != NULL && (res->error.cls == PB_SMTP_CONNECTION || res->error.cls == PB_SMTP_PROTOCOL))
        s->broken = true;
    return res->error.cls;
}

enum pb_smtp_class
pb_smtp_send(struct pb_smtp *s, const char *from, const char *const *rcpts, size_t nrcpt,
             const char *message, size_t len, struct pb_smtp_result *res)
{
    struct pb_smtp_error *err = &res->error;
    struct reply rep;
    enum pb_smtp_class cls;
    if (prepare_result(res, nrcpt) != PB_SMTP_OK)
        return err->cls;
    if (s == NULL || s->broken) {
        fail(err, PB_SMTP_CONNECTION, 0, "send: the connection is no longer usable");
        return finish(s, res);
    }
    if (!address_ok(from, true)) {
        fail(err, PB_SMTP_PERMANENT, 0, "MAIL FROM: invalid sender address");
        return finish(s, res);
    }
    bool utf8 = has_8bit(from, strlen(from));
    if (utf8 && !s->ext_smtputf8) {
        fail(err, PB_SMTP_PERMANENT, 0, "MAIL FROM: non-ASCII address, no SMTPUTF8");
        return finish(s, res);
    }
    if (s->ext_size && s->size_max > 0 && len > s->size_max) {
        fail(err, PB_SMTP_PERMANENT, 0,
             "MAIL FROM: the message (%zu bytes) exceeds %s's limit"
             " of %lu bytes",
             len, s->host, s->size_max);
        return finish(s, res);
    }
    size_t nvalid = 0;
    for (size_t i = 0; i < nrcpt; i++) {
        bool ok = address_ok(rcpts[i], false);
        bool u = ok && has_8bit(rcpts[i], strlen(rcpts[i]));
        if (!ok || (u && !s->ext_smtputf8)) {
            fail(&res->rcpt[i], PB_SMTP_PERMANENT, 0, "RCPT TO: %s",
                 ok ? "non-ASCII address, no SMTPUTF8" : "invalid recipient address");
            continue;
        }
        utf8 = utf8 || u;
        nvalid++;
    }
    if (nvalid == 0) {
        fail(err, PB_SMTP_PERMANENT, 0, "RCPT TO: no valid recipient");
        return finish(s, res);
    }
    if (s->need_rset && pb_smtp_reset(s, err) != PB_SMTP_OK)
        return finish(s, res);

    /*
     * The commands MAIL, RCPT (each valid one) and DATA, written in windows
     * of PIPE_WINDOW (1 without PIPELINING); the replies of a window are read
     * after it is written, in order.
     */
    size_t ncmd = nvalid + 2, window = s->ext_pipelining ? PIPE_WINDOW : 1;
    size_t next = 0, next_rcpt = 0, reply_rcpt = 0, naccepted = 0;
    bool mail_ok = false, data_go = false, stop = false;
    s->need_rset = true;
    while (next < ncmd && !stop) {
        size_t first = next, w_rcpt = next_rcpt;
        for (; next < ncmd && next - first < window; next++) {
            if (next == 0) {
                cls = putf(s, "MAIL FROM", err, "MAIL FROM:<%s>", from);
                if (cls == PB_SMTP_OK && s->ext_size)
                    cls = putf(s, "MAIL FROM", err, " SIZE=%zu", len);
                if (cls == PB_SMTP_OK && s->ext_8bitmime && has_8bit(message, len))
                    cls = put(s, " BODY=8BITMIME", 14, "MAIL FROM", err);
                if (cls == PB_SMTP_OK && utf8)
                    cls = put(s, " SMTPUTF8", 9, "MAIL FROM", err);
                if (cls == PB_SMTP_OK)
                    cls = put(s, "\r\n", 2, "MAIL FROM", err);
            } else if (next == ncmd - 1) {
                cls = put(s, "DATA\r\n", 6, "DATA", err);
            } else {
                while (res->rcpt[next_rcpt].code != -1)
                    next_rcpt++;
                cls = putf(s, "RCPT TO", err, "RCPT TO:<%s>\r\n", rcpts[next_rcpt++]);
            }
            if (cls != PB_SMTP_OK)
                return finish(s, res);
        }
        if (flush(s, first == 0 ? "MAIL FROM" : "RCPT TO", err) != PB_SMTP_OK)
            return finish(s, res);
        reply_rcpt = w_rcpt;
        for (size_t c = first; c < next; c++) {
            const char *step = c == 0 ? "MAIL FROM" : c == ncmd - 1 ? "DATA" : "RCPT TO";
            if (read_reply(s, step, s->command_ms, NULL, &rep, err) != PB_SMTP_OK)
                return finish(s, res);
            if (c == 0) {
                mail_ok = rep.code / 100 == 2;
                if (!mail_ok) {
                    reply_fail(s, step, &rep, err);
                    stop = true;
                }
            } else if (c == ncmd - 1) {
                data_go = rep.code == 354;
                if (!data_go && mail_ok && naccepted > 0)
                    reply_fail(s, step, &rep, err);
            } else {
                while (res->rcpt[reply_rcpt].code != -1)
                    reply_rcpt++;
                struct pb_smtp_error *r = &res->rcpt[reply_rcpt++];
                if (!mail_ok) {
                    continue; /* MAIL's failure applies */
                } else if (rep.code / 100 == 2) {
                    naccepted++;
                    r->code = rep.code;
                } else {
                    reply_fail(s, step, &rep, r);
                }
            }
            if (s->broken) {
                if (err->cls == PB_SMTP_OK)
                    fail(err, rep.code == 421 ? PB_SMTP_TEMPORARY : PB_SMTP_PROTOCOL, rep.code,
                         "%s: %s", step, rep.text);
                return finish(s, res);
            }
        }
        if (!stop && next == ncmd - 1 && naccepted == 0)
            stop = true; /* one by one: no recipient, so no DATA */
    }
    if (!mail_ok)
        return finish(s, res);
    if (naccepted == 0) {
        if (data_go) {
            /* A server that said 354 anyway gets an empty message ended at once. */
            if (put(s, ".\r\n", 3, "DATA", err) != PB_SMTP_OK ||
                flush(s, "DATA", err) != PB_SMTP_OK ||
                read_reply(s, "end of DATA", s->data_ms, NULL, &rep, err) != PB_SMTP_OK)
                return finish(s, res);
        }
        /* The message's outcome: the first temporary refusal, else the first one. */
        for (size_t i = 0; i < nrcpt; i++) {
            const struct pb_smtp_error *r = &res->rcpt[i];
            if (r->cls != PB_SMTP_OK && (err->cls == PB_SMTP_OK || r->cls == PB_SMTP_TEMPORARY))
                *err = *r;
            if (err->cls == PB_SMTP_TEMPORARY)
                break;
        }
        struct pb_smtp_error rerr;
        if (pb_smtp_reset(s, &rerr) != PB_SMTP_OK && rerr.cls != PB_SMTP_TEMPORARY)
            *err = rerr;
        return finish(s, res);
    }
    if (!data_go)
        return finish(s, res);
    if (put_message(s, message, len, err) != PB_SMTP_OK)
        return finish(s, res);
    if (read_reply(s, "end of DATA", s->data_ms, NULL, &rep, err) != PB_SMTP_OK)
        return finish(s, res);
    s->need_rset = false; /* the transaction is over, whatever the reply */
    if (rep.code / 100 != 2)
        reply_fail(s, "end of DATA", &rep, err);
    return finish(s, res);
}

bool
pb_smtp_usable(const struct pb_smtp *s)
{
    return s != NULL && !s->broken;
}

bool
pb_smtp_has_pipelining(const struct pb_smtp *s)
{
    return s->ext_pipelining;
}

bool
pb_smtp_is_tls(const struct pb_smtp *s)
{
    return s->tls != NULL;
}

void
pb_smtp_result_release(struct pb_smtp_result *res)
{
    free(res->rcpt);
    res->rcpt = NULL;
    res->cap = 0;
    res->nrcpt = 0;
}

void
pb_smtp_quit_and_free(struct pb_smtp *s)
{
    if (s == NULL)
        return;
    if (!s->broken && s->fd >= 0) {
        struct pb_smtp_error err;
        struct reply rep;
        s->command_ms = s->command_ms < QUIT_TIMEOUT_MS ? s->command_ms : QUIT_TIMEOUT_MS;
        if (command(s, "QUIT", "QUIT\r\n", 221, NULL, &rep, &err) == PB_SMTP_OK && s->tls != NULL) {
            set_deadline(s, QUIT_TIMEOUT_MS);
            gnutls_bye(s->tls, GNUTLS_SHUT_WR);
        }
    }
    close_conn(s);
    free(s);
}
