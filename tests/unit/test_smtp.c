/*
 * Tests of the SMTP client (mail/smtp) against a real Postfix smtp-sink
 * and against scripted fake servers (threads in this process, with GnuTLS
 * on the server side for STARTTLS and SMTPS), and of the system message
 * builder (mail/message).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>

#include <gnutls/gnutls.h>
#include <sodium.h>

#include "core/buf.h"
#include "core/clock.h"
#include "crypto/cert.h"
#include "mail/message.h"
#include "mail/smtp.h"
#include "support/tmpdir.h"

/* ---- smtp-sink ---------------------------------------------------------- */

static const char *
sink_script(void)
{
    const char *s = getenv("PB_TEST_SMTP_SINK");
    return s ? s : "tests/support/smtp-sink.sh";
}

/* Starts smtp-sink with extra options (shell words) in `dir`; returns its port. */
static unsigned
sink_start(const char *dir, const char *options)
{
    char cmd[PATH_MAX * 2];
    snprintf(cmd, sizeof(cmd), "%s start '%s' -- %s", sink_script(), dir, options);
    FILE *p = popen(cmd, "r");
    assert_non_null(p);
    unsigned port = 0;
    int n = fscanf(p, "%u", &port);
    int rc = pclose(p);
    if (n != 1 || rc != 0 || port == 0)
        fail_msg("could not start smtp-sink: %s", cmd);
    return port;
}

static void
sink_stop(const char *dir)
{
    char cmd[PATH_MAX * 2];
    snprintf(cmd, sizeof(cmd), "%s stop '%s'", sink_script(), dir);
    assert_int_equal(system(cmd), 0);
}

#define MAX_DUMPS 8

/* Waits (up to 5 s) for `want` dump files and reads them. */
static size_t
read_dumps(const char *dir, size_t want, char *out[MAX_DUMPS])
{
    char mail[PATH_MAX + 8];
    snprintf(mail, sizeof(mail), "%s/mail", dir);
    size_t n = 0;
    for (int tries = 0; tries < 100; tries++) {
        n = 0;
        DIR *d = opendir(mail);
        struct dirent *e;
        while (d != NULL && (e = readdir(d)) != NULL)
            if (e->d_name[0] != '.')
                n++;
        if (d != NULL)
            closedir(d);
        if (n >= want)
            break;
        usleep(50000);
    }
    usleep(100000); /* let smtp-sink finish writing */
    n = 0;
    DIR *d = opendir(mail);
    struct dirent *e;
    while (d != NULL && (e = readdir(d)) != NULL && n < MAX_DUMPS) {
        if (e->d_name[0] == '.')
            continue;
        char path[PATH_MAX * 2];
        snprintf(path, sizeof(path), "%s/%s", mail, e->d_name);
        FILE *f = fopen(path, "r");
        assert_non_null(f);
        char *buf = calloc(1, 1 << 20);
        assert_non_null(buf);
        size_t got = fread(buf, 1, (1 << 20) - 1, f);
        buf[got] = '\0';
        fclose(f);
        out[n++] = buf;
    }
    if (d != NULL)
        closedir(d);
    return n;
}

/* The message as smtp-sink dumps it: LF line ends, after its Received header. */
static const char *
dump_body(const char *dump)
{
    const char *r = strstr(dump, "\nReceived: ");
    assert_non_null(r);
    /* Received takes three lines: "from ...", "\tby ...", "\tdate". */
    r = strchr(r + 1, '\n');
    assert_non_null(r);
    r = strchr(r + 1, '\n');
    assert_non_null(r);
    r = strchr(r + 1, '\n');
    assert_non_null(r);
    return r + 1;
}

static void
client_config(struct pb_smtp_config *cfg, unsigned port, enum pb_smtp_tls tls)
{
    pb_smtp_config_init(cfg);
    cfg->host = "127.0.0.1";
    cfg->port = port;
    cfg->tls = tls;
    cfg->ehlo_name = "test.example";
    cfg->connect_timeout_ms = 2000;
    cfg->command_timeout_ms = 3000;
    cfg->data_timeout_ms = 3000;
}

static void
sink_three_messages_pipelined(void **state)
{
    (void)state;
    char dir[PATH_MAX];
    pb_test_tmpdir(dir);
    unsigned port = sink_start(dir, "");
    struct pb_smtp_config cfg;
    struct pb_smtp_error err;
    struct pb_smtp *s = NULL;
    client_config(&cfg, port, PB_SMTP_TLS_NONE);
    assert_int_equal(pb_smtp_connect(&cfg, &s, &err), PB_SMTP_OK);
    assert_true(pb_smtp_has_pipelining(s));
    assert_false(pb_smtp_is_tls(s));

    char *simple = NULL;
    size_t simple_len = 0;
    assert_int_equal(pb_mail_build_simple("Postbode <noreply@example.org>", "ann@example.net",
                                          "Message one", "Hello Ann,\n.\nbye\n", &simple,
                                          &simple_len),
                     PB_ERR_OK);
    const char *m2 = "Subject: Message two\n\n.leading dot\n..two dots\n.\nend";
    const char *m3 = "Subject: Message three\r\nX-Test: yes\r\n\r\nline one\r\nline two\r\n";
    const char *r1[] = {"ann@example.net"};
    const char *r2[] = {"bob@example.net"};
    const char *r3[] = {"cy@example.net", "dee@example.net", "eve@example.com"};
    struct pb_smtp_result res = {0};
    assert_int_equal(pb_smtp_send(s, "noreply@example.org", r1, 1, simple, simple_len, &res),
                     PB_SMTP_OK);
    assert_int_equal(res.naccepted, 1);
    assert_int_equal(pb_smtp_send(s, "noreply@example.org", r2, 1, m2, strlen(m2), &res),
                     PB_SMTP_OK);
    assert_int_equal(pb_smtp_send(s, "", r3, 3, m3, strlen(m3), &res), PB_SMTP_OK);
    assert_int_equal(res.naccepted, 3);
    for (size_t i = 0; i < 3; i++)
        assert_int_equal(res.rcpt[i].cls, PB_SMTP_OK);
    pb_smtp_result_release(&res);
    pb_smtp_quit_and_free(s);

    char *dumps[MAX_DUMPS] = {0};
    size_t n = read_dumps(dir, 3, dumps);
    sink_stop(dir);
    assert_int_equal(n, 3);
    int seen = 0;
    for (size_t i = 0; i < n; i++) {
        const char *body = dump_body(dumps[i]);
        if (strstr(body, "Subject: Message one\n") != NULL) {
            seen |= 1;
            assert_non_null(strstr(dumps[i], "X-Mail-Args: <noreply@example.org>"));
            assert_non_null(strstr(dumps[i], "X-Rcpt-Args: <ann@example.net>\n"));
            assert_non_null(strstr(body, "Content-Transfer-Encoding: quoted-printable\n\n"
                                         "Hello Ann,\n.\nbye\n\n"));
            assert_non_null(strstr(body, "\nMessage-ID: <"));
        } else if (strstr(body, "Subject: Message two\n") != NULL) {
            seen |= 2;
            assert_string_equal(body,
                                "Subject: Message two\n\n.leading dot\n..two dots\n.\nend\n\n");
            assert_non_null(strstr(dumps[i], "X-Rcpt-Args: <bob@example.net>\n"));
        } else if (strstr(body, "Subject: Message three\n") != NULL) {
            seen |= 4;
            assert_string_equal(body,
                                "Subject: Message three\nX-Test: yes\n\nline one\nline two\n\n");
            assert_non_null(strstr(dumps[i], "X-Mail-Args: <>"));
            assert_non_null(strstr(dumps[i], "X-Rcpt-Args: <cy@example.net>\n"
                                             "X-Rcpt-Args: <dee@example.net>\n"
                                             "X-Rcpt-Args: <eve@example.com>\n"));
        }
        free(dumps[i]);
    }
    assert_int_equal(seen, 7);
    free(simple);
    pb_test_rmtree(dir);
}

static void
sink_many_recipients_large_message(void **state)
{
    (void)state;
    char dir[PATH_MAX];
    pb_test_tmpdir(dir);
    unsigned port = sink_start(dir, "");
    struct pb_smtp_config cfg;
    struct pb_smtp_error err;
    struct pb_smtp *s = NULL;
    client_config(&cfg, port, PB_SMTP_TLS_NONE);
    assert_int_equal(pb_smtp_connect(&cfg, &s, &err), PB_SMTP_OK);
    /* 250 recipients: three pipelined windows of at most 100 commands. */
    enum { N = 250 };
    static char addrs[N][32];
    const char *rcpts[N];
    for (int i = 0; i < N; i++) {
        snprintf(addrs[i], sizeof(addrs[i]), "r%03d@example.net", i);
        rcpts[i] = addrs[i];
    }
    /* 300 kB with lines of dots, so that the data spans many buffers. */
    size_t len = 300000;
    char *msg = malloc(len + 1);
    assert_non_null(msg);
    memcpy(msg, "Subject: big\n\n", 14);
    for (size_t i = 14; i < len; i++)
        msg[i] = (i % 50 == 0) ? '\n' : (i % 50 == 1 || i % 50 == 2) ? '.' : 'a' + (char)(i % 26);
    msg[len - 1] = '\n';
    msg[len] = '\0';
    struct pb_smtp_result res = {0};
    assert_int_equal(pb_smtp_send(s, "a@example.org", rcpts, N, msg, len, &res), PB_SMTP_OK);
    assert_int_equal(res.naccepted, N);
    pb_smtp_result_release(&res);
    pb_smtp_quit_and_free(s);
    char *dumps[MAX_DUMPS] = {0};
    assert_int_equal(read_dumps(dir, 1, dumps), 1);
    sink_stop(dir);
    const char *body = dump_body(dumps[0]);
    assert_int_equal(strlen(body), len + 1); /* smtp-sink adds an empty line */
    assert_memory_equal(body, msg, len);
    int count = 0;
    for (const char *p = dumps[0]; (p = strstr(p, "X-Rcpt-Args: <r")) != NULL; p++)
        count++;
    assert_int_equal(count, N);
    assert_non_null(strstr(dumps[0], "X-Rcpt-Args: <r249@example.net>"));
    free(dumps[0]);
    free(msg);
    pb_test_rmtree(dir);
}

static void
sink_rcpt_rejected_is_permanent(void **state)
{
    (void)state;
    char dir[PATH_MAX];
    pb_test_tmpdir(dir);
    /* -f RCPT rejects every RCPT with the hard reply (and turns PIPELINING off). */
    unsigned port = sink_start(dir, "-f RCPT -B '550 5.1.1 user unknown'");
    struct pb_smtp_config cfg;
    struct pb_smtp_error err;
    struct pb_smtp *s = NULL;
    client_config(&cfg, port, PB_SMTP_TLS_NONE);
    assert_int_equal(pb_smtp_connect(&cfg, &s, &err), PB_SMTP_OK);
    assert_false(pb_smtp_has_pipelining(s));
    const char *rcpts[] = {"nobody@example.net", "bad address", "other@example.net"};
    const char *msg = "Subject: x\n\nbody\n";
    struct pb_smtp_result res = {0};
    for (int round = 0; round < 2; round++) {
        assert_int_equal(pb_smtp_send(s, "a@example.org", rcpts, 3, msg, strlen(msg), &res),
                         PB_SMTP_PERMANENT);
        assert_int_equal(res.naccepted, 0);
        assert_int_equal(res.error.code, 550);
        assert_string_equal(res.error.text, "RCPT TO: 550 5.1.1 user unknown");
        assert_int_equal(res.rcpt[0].cls, PB_SMTP_PERMANENT);
        assert_int_equal(res.rcpt[0].code, 550);
        assert_int_equal(res.rcpt[1].cls, PB_SMTP_PERMANENT); /* refused before sending */
        assert_int_equal(res.rcpt[1].code, 0);
        assert_int_equal(res.rcpt[2].cls, PB_SMTP_PERMANENT);
        assert_true(pb_smtp_usable(s)); /* RSET instead of the data */
    }
    pb_smtp_result_release(&res);
    pb_smtp_quit_and_free(s);
    char *dumps[MAX_DUMPS] = {0};
    usleep(100000);
    assert_int_equal(read_dumps(dir, 0, dumps), 0);
    sink_stop(dir);
    pb_test_rmtree(dir);
}

static void
sink_data_451_is_temporary(void **state)
{
    (void)state;
    char dir[PATH_MAX];
    pb_test_tmpdir(dir);
    unsigned port = sink_start(dir, "-r DATA -b '451 4.3.0 try again later'");
    struct pb_smtp_config cfg;
    struct pb_smtp_error err;
    struct pb_smtp *s = NULL;
    client_config(&cfg, port, PB_SMTP_TLS_NONE);
    assert_int_equal(pb_smtp_connect(&cfg, &s, &err), PB_SMTP_OK);
    const char *rcpts[] = {"b@example.net", "c@example.net"};
    const char *msg = "Subject: x\n\nbody\n";
    struct pb_smtp_result res = {0};
    for (int round = 0; round < 2; round++) { /* the second one starts with RSET */
        assert_int_equal(pb_smtp_send(s, "a@example.org", rcpts, 2, msg, strlen(msg), &res),
                         PB_SMTP_TEMPORARY);
        assert_int_equal(res.error.code, 451);
        assert_string_equal(res.error.text, "DATA: 451 4.3.0 try again later");
        assert_int_equal(res.naccepted, 0);
        assert_int_equal(res.rcpt[0].cls, PB_SMTP_TEMPORARY);
        assert_int_equal(res.rcpt[1].code, 451);
        assert_true(pb_smtp_usable(s));
    }
    pb_smtp_result_release(&res);
    pb_smtp_quit_and_free(s);
    sink_stop(dir);
    pb_test_rmtree(dir);
}

static void
sink_end_of_data_rejected(void **state)
{
    (void)state;
    char dir[PATH_MAX];
    pb_test_tmpdir(dir);
    unsigned port = sink_start(dir, "-f . -B '554 5.7.1 spam'");
    struct pb_smtp_config cfg;
    struct pb_smtp_error err;
    struct pb_smtp *s = NULL;
    client_config(&cfg, port, PB_SMTP_TLS_NONE);
    assert_int_equal(pb_smtp_connect(&cfg, &s, &err), PB_SMTP_OK);
    const char *rcpts[] = {"b@example.net"};
    const char *msg = "Subject: x\n\nbody\n";
    struct pb_smtp_result res = {0};
    assert_int_equal(pb_smtp_send(s, "a@example.org", rcpts, 1, msg, strlen(msg), &res),
                     PB_SMTP_PERMANENT);
    assert_string_equal(res.error.text, "end of DATA: 554 5.7.1 spam");
    assert_int_equal(res.rcpt[0].code, 554);
    pb_smtp_result_release(&res);
    pb_smtp_quit_and_free(s);
    sink_stop(dir);
    pb_test_rmtree(dir);
}

static unsigned
closed_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof(a);
    assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
    assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &len), 0);
    close(fd); /* bound, never listening, now closed */
    return ntohs(a.sin_port);
}

static void
connection_refused(void **state)
{
    (void)state;
    struct pb_smtp_config cfg;
    struct pb_smtp_error err;
    struct pb_smtp *s = (struct pb_smtp *)&cfg; /* must be reset to NULL */
    unsigned port = closed_port();
    client_config(&cfg, port, PB_SMTP_TLS_NONE);
    assert_int_equal(pb_smtp_connect(&cfg, &s, &err), PB_SMTP_CONNECTION);
    assert_null(s);
    char want[128];
    snprintf(want, sizeof(want), "connect to 127.0.0.1:%u: connection refused", port);
    assert_string_equal(err.text, want);
}

/* ---- scripted fake servers ---------------------------------------------- */

/*
 * Script steps: "S:line" sends line CRLF; "C:prefix" reads a line that
 * must start with prefix; "D" reads message lines up to "."; "TLS" does
 * the server side of a TLS handshake; "READ:n" reads n bytes; "EOF" reads
 * until the client closes; "CLOSE" (or the end) closes the connection.
 */
struct fake {
    const char *const *script;
    const char *cert, *key;
    int lfd, fd;
    unsigned port;
    pthread_t thread;
    gnutls_session_t tls;
    gnutls_certificate_credentials_t cred;
    char in[4096];
    size_t inlen;
    char got[65536]; /* everything received (after TLS: the plain text) */
    size_t gotlen;
    char failure[256];
    int data_lines;
};

static ssize_t
fake_recv(struct fake *f, char *buf, size_t len)
{
    ssize_t n;
    if (f->tls != NULL) {
        do
            n = gnutls_record_recv(f->tls, buf, len);
        while (n == GNUTLS_E_AGAIN || n == GNUTLS_E_INTERRUPTED);
        return n < 0 ? -1 : n;
    }
    do
        n = recv(f->fd, buf, len, 0);
    while (n < 0 && errno == EINTR);
    return n;
}

static bool
fake_send(struct fake *f, const char *line)
{
    char buf[2048];
    int n = snprintf(buf, sizeof(buf), "%s\r\n", line);
    if (f->tls != NULL)
        return gnutls_record_send(f->tls, buf, (size_t)n) == n;
    return send(f->fd, buf, (size_t)n, MSG_NOSIGNAL) == n;
}

static void
fake_record(struct fake *f, const char *p, size_t n)
{
    if (n > sizeof(f->got) - 1 - f->gotlen)
        n = sizeof(f->got) - 1 - f->gotlen;
    memcpy(f->got + f->gotlen, p, n);
    f->gotlen += n;
    f->got[f->gotlen] = '\0';
}

/* Reads one line (CRLF stripped); false at EOF or error. */
static bool
fake_line(struct fake *f, char *line, size_t size)
{
    for (;;) {
        char *nl = memchr(f->in, '\n', f->inlen);
        if (nl != NULL) {
            size_t n = (size_t)(nl - f->in) + 1;
            size_t c = n - 1;
            if (c > 0 && f->in[c - 1] == '\r')
                c--;
            if (c >= size)
                c = size - 1;
            memcpy(line, f->in, c);
            line[c] = '\0';
            memmove(f->in, f->in + n, f->inlen - n);
            f->inlen -= n;
            return true;
        }
        if (f->inlen == sizeof(f->in))
            f->inlen = 0; /* an overlong line: drop it */
        ssize_t got = fake_recv(f, f->in + f->inlen, sizeof(f->in) - f->inlen);
        if (got <= 0)
            return false;
        fake_record(f, f->in + f->inlen, (size_t)got);
        f->inlen += (size_t)got;
    }
}

static bool
fake_tls(struct fake *f)
{
    if (gnutls_certificate_allocate_credentials(&f->cred) < 0 ||
        gnutls_certificate_set_x509_key_file(f->cred, f->cert, f->key, GNUTLS_X509_FMT_PEM) < 0 ||
        gnutls_init(&f->tls, GNUTLS_SERVER) < 0)
        return false;
    gnutls_set_default_priority(f->tls);
    gnutls_credentials_set(f->tls, GNUTLS_CRD_CERTIFICATE, f->cred);
    gnutls_transport_set_int(f->tls, f->fd);
    int rc;
    do
        rc = gnutls_handshake(f->tls);
    while (rc < 0 && !gnutls_error_is_fatal(rc));
    return rc >= 0;
}

static void *
fake_run(void *arg)
{
    struct fake *f = arg;
    struct pollfd p = {.fd = f->lfd, .events = POLLIN};
    if (poll(&p, 1, 5000) != 1) {
        snprintf(f->failure, sizeof(f->failure), "no client connected");
        return NULL;
    }
    f->fd = accept(f->lfd, NULL, NULL);
    struct timeval tv = {.tv_sec = 5};
    setsockopt(f->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    char line[2048];
    for (const char *const *step = f->script; *step != NULL && f->failure[0] == '\0'; step++) {
        const char *st = *step;
        if (strncmp(st, "S:", 2) == 0) {
            if (!fake_send(f, st + 2))
                snprintf(f->failure, sizeof(f->failure), "could not send %s", st);
        } else if (strncmp(st, "C:", 2) == 0) {
            if (!fake_line(f, line, sizeof(line)))
                snprintf(f->failure, sizeof(f->failure), "EOF, expected %s", st + 2);
            else if (strncmp(line, st + 2, strlen(st + 2)) != 0)
                snprintf(f->failure, sizeof(f->failure), "got \"%s\", expected %s", line, st + 2);
        } else if (strcmp(st, "D") == 0) {
            for (;;) {
                if (!fake_line(f, line, sizeof(line))) {
                    snprintf(f->failure, sizeof(f->failure), "EOF in data");
                    break;
                }
                if (strcmp(line, ".") == 0)
                    break;
                f->data_lines++;
            }
        } else if (strcmp(st, "TLS") == 0) {
            if (f->inlen != 0 || !fake_tls(f))
                snprintf(f->failure, sizeof(f->failure), "TLS handshake failed");
        } else if (strncmp(st, "READ:", 5) == 0) {
            size_t want = (size_t)atol(st + 5), have = f->inlen;
            char buf[4096];
            while (have < want) {
                ssize_t n = fake_recv(f, buf, sizeof(buf));
                if (n <= 0)
                    break;
                fake_record(f, buf, (size_t)n);
                have += (size_t)n;
            }
        } else if (strcmp(st, "EOF") == 0) {
            char buf[4096];
            ssize_t n;
            while ((n = fake_recv(f, buf, sizeof(buf))) > 0)
                fake_record(f, buf, (size_t)n);
        } else if (strcmp(st, "CLOSE") == 0) {
            break;
        }
    }
    if (f->tls != NULL)
        gnutls_deinit(f->tls);
    if (f->cred != NULL)
        gnutls_certificate_free_credentials(f->cred);
    f->tls = NULL;
    f->cred = NULL;
    close(f->fd);
    return NULL;
}

static struct fake *
fake_start(const char *const *script, const char *cert, const char *key)
{
    struct fake *f = calloc(1, sizeof(*f));
    assert_non_null(f);
    f->script = script;
    f->cert = cert;
    f->key = key;
    f->fd = -1;
    f->lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof(a);
    assert_int_equal(bind(f->lfd, (struct sockaddr *)&a, sizeof(a)), 0);
    assert_int_equal(listen(f->lfd, 4), 0);
    assert_int_equal(getsockname(f->lfd, (struct sockaddr *)&a, &len), 0);
    f->port = ntohs(a.sin_port);
    assert_int_equal(pthread_create(&f->thread, NULL, fake_run, f), 0);
    return f;
}

/* Waits for the script's end; fails the test if the client did not follow it. */
static void
fake_finish(struct fake *f)
{
    pthread_join(f->thread, NULL);
    close(f->lfd);
    if (f->failure[0] != '\0') {
        char why[256];
        snprintf(why, sizeof(why), "%s", f->failure);
        free(f);
        fail_msg("fake server: %s", why);
    }
}

static void
greeting_timeout(void **state)
{
    (void)state;
    static const char *const script[] = {"EOF", NULL};
    struct fake *f = fake_start(script, NULL, NULL);
    struct pb_smtp_config cfg;
    struct pb_smtp_error err;
    struct pb_smtp *s = NULL;
    client_config(&cfg, f->port, PB_SMTP_TLS_NONE);
    cfg.command_timeout_ms = 1000;
    int64_t t0 = pb_clock_mono_us();
    assert_int_equal(pb_smtp_connect(&cfg, &s, &err), PB_SMTP_CONNECTION);
    int64_t ms = (pb_clock_mono_us() - t0) / 1000;
    assert_true(ms >= 950 && ms < 2000);
    assert_string_equal(err.text, "timeout waiting for the reply to the greeting");
    fake_finish(f);
    assert_int_equal(f->gotlen, 0);
    free(f);
}

static void
connection_dropped_mid_data(void **state)
{
    (void)state;
    static const char *const script[] = {"S:220 fake ESMTP",
                                         "C:EHLO test.example",
                                         "S:250 fake",
                                         "C:MAIL FROM:<a@example.org>",
                                         "S:250 ok",
                                         "C:RCPT TO:<b@example.net>",
                                         "S:250 ok",
                                         "C:DATA",
                                         "S:354 go ahead",
                                         "READ:1000",
                                         "CLOSE",
                                         NULL};
    struct fake *f = fake_start(script, NULL, NULL);
    struct pb_smtp_config cfg;
    struct pb_smtp_error err;
    struct pb_smtp *s = NULL;
    client_config(&cfg, f->port, PB_SMTP_TLS_NONE);
    assert_int_equal(pb_smtp_connect(&cfg, &s, &err), PB_SMTP_OK);
    size_t len = 4 << 20;
    char *msg = malloc(len);
    assert_non_null(msg);
    for (size_t i = 0; i < len; i++)
        msg[i] = (i % 70 == 69) ? '\n' : 'x';
    const char *rcpts[] = {"b@example.net"};
    struct pb_smtp_result res = {0};
    assert_int_equal(pb_smtp_send(s, "a@example.org", rcpts, 1, msg, len, &res),
                     PB_SMTP_CONNECTION);
    assert_non_null(strstr(res.error.text, "DATA"));
    assert_int_equal(res.rcpt[0].cls, PB_SMTP_CONNECTION);
    assert_false(pb_smtp_usable(s));
    assert_int_equal(pb_smtp_send(s, "a@example.org", rcpts, 1, "x", 1, &res), PB_SMTP_CONNECTION);
    pb_smtp_result_release(&res);
    pb_smtp_quit_and_free(s); /* a dead peer: no QUIT, no SIGPIPE */
    free(msg);
    fake_finish(f);
    free(f);
}

static void
starttls_required_not_offered(void **state)
{
    (void)state;
    static const char *const script[] = {"S:220 fake ESMTP",
                                         "C:EHLO test.example",
                                         "S:250-fake",
                                         "S:250-PIPELINING",
                                         "S:250 AUTH PLAIN",
                                         "EOF",
                                         NULL};
    struct fake *f = fake_start(script, NULL, NULL);
    struct pb_smtp_config cfg;
    struct pb_smtp_error err;
    struct pb_smtp *s = NULL;
    client_config(&cfg, f->port, PB_SMTP_TLS_STARTTLS);
    cfg.user = "user";
    cfg.password = "pass";
    assert_int_equal(pb_smtp_connect(&cfg, &s, &err), PB_SMTP_PROTOCOL);
    assert_null(s);
    assert_non_null(strstr(err.text, "STARTTLS required"));
    fake_finish(f);
    assert_string_equal(f->got, "EHLO test.example\r\n"); /* nothing after EHLO */
    free(f);
}

struct certs {
    char dir[PATH_MAX];
    char cert[PATH_MAX + 16];
    char key[PATH_MAX + 16];
};

static void
make_certs(struct certs *c)
{
    char why[PB_WHY_MAX];
    pb_test_tmpdir(c->dir);
    snprintf(c->cert, sizeof(c->cert), "%s/cert.pem", c->dir);
    snprintf(c->key, sizeof(c->key), "%s/key.pem", c->dir);
    assert_int_equal(pb_cert_create_self_signed(c->cert, c->key, why), PB_ERR_OK);
}

static void
starttls_upgrade_and_pipelined_send(void **state)
{
    (void)state;
    static const char *const script[] = {"S:220-fake ESMTP",
                                         "S:220 second greeting line",
                                         "C:EHLO test.example",
                                         "S:250-fake",
                                         "S:250-PIPELINING",
                                         "S:250 STARTTLS",
                                         "C:STARTTLS",
                                         "S:220 go ahead",
                                         "TLS",
                                         "C:EHLO test.example",
                                         "S:250-fake",
                                         "S:250-SIZE 1000000",
                                         "S:250 PIPELINING",
                                         "C:MAIL FROM:<a@example.org> SIZE=",
                                         "C:RCPT TO:<b@example.net>",
                                         "C:DATA",
                                         "S:250 ok",
                                         "S:250 ok",
                                         "S:354 go ahead",
                                         "D",
                                         "S:250 2.0.0 queued",
                                         "C:QUIT",
                                         "S:221 bye",
                                         NULL};
    struct certs c;
    make_certs(&c);
    struct fake *f = fake_start(script, c.cert, c.key);
    struct pb_smtp_config cfg;
    struct pb_smtp_error err;
    struct pb_smtp *s = NULL;
    client_config(&cfg, f->port, PB_SMTP_TLS_STARTTLS);
    cfg.ca_file = c.cert; /* verification on, against the test's own certificate */
    assert_int_equal(pb_smtp_connect(&cfg, &s, &err), PB_SMTP_OK);
    assert_true(pb_smtp_is_tls(s));
    assert_true(pb_smtp_has_pipelining(s));
    const char *rcpts[] = {"b@example.net"};
    const char *msg = "Subject: over TLS\n\nsecret\n";
    struct pb_smtp_result res = {0};
    assert_int_equal(pb_smtp_send(s, "a@example.org", rcpts, 1, msg, strlen(msg), &res),
                     PB_SMTP_OK);
    assert_int_equal(res.naccepted, 1);
    pb_smtp_result_release(&res);
    pb_smtp_quit_and_free(s);
    fake_finish(f);
    assert_int_equal(f->data_lines, 3);
    assert_non_null(strstr(f->got, "Subject: over TLS\r\n\r\nsecret\r\n.\r\n"));
    free(f);
    pb_test_rmtree(c.dir);
}

static void
starttls_untrusted_certificate(void **state)
{
    (void)state;
    static const char *const script[] = {"S:220 fake", "C:EHLO test.example",
                                         "S:250-fake", "S:250 STARTTLS",
                                         "C:STARTTLS", "S:220 go",
                                         "EOF",        NULL};
    struct certs c;
    make_certs(&c);
    struct fake *f = fake_start(script, c.cert, c.key);
    struct pb_smtp_config cfg;
    struct pb_smtp_error err;
    struct pb_smtp *s = NULL;
    client_config(&cfg, f->port, PB_SMTP_TLS_STARTTLS);
    cfg.command_timeout_ms = 500; /* the server never answers the client's hello */
    enum pb_smtp_class cls = pb_smtp_connect(&cfg, &s, &err);
    if (cls != PB_SMTP_CONNECTION)
        fail_msg("%d: %s", cls, err.text);
    assert_non_null(strstr(err.text, "timeout during the TLS handshake with 127.0.0.1:"));
    fake_finish(f);
    free(f);

    /* Now a real handshake with a certificate the system store does not trust. */
    static const char *const script2[] = {"S:220 fake", "C:EHLO test.example",
                                          "S:250-fake", "S:250 STARTTLS",
                                          "C:STARTTLS", "S:220 go",
                                          "TLS",        NULL};
    f = fake_start(script2, c.cert, c.key);
    client_config(&cfg, f->port, PB_SMTP_TLS_STARTTLS);
    assert_int_equal(pb_smtp_connect(&cfg, &s, &err), PB_SMTP_PROTOCOL);
    assert_null(s);
    assert_non_null(strstr(err.text, "TLS handshake with 127.0.0.1:"));
    pthread_join(f->thread, NULL); /* its handshake fails too: not a test failure */
    close(f->lfd);
    free(f);

    /* And the same certificate with verification off (tests only). */
    static const char *const script3[] = {"S:220 fake", "C:EHLO test.example",
                                          "S:250-fake", "S:250 STARTTLS",
                                          "C:STARTTLS", "S:220 go",
                                          "TLS",        "C:EHLO test.example",
                                          "S:250 fake", "C:QUIT",
                                          "S:221 bye",  NULL};
    f = fake_start(script3, c.cert, c.key);
    client_config(&cfg, f->port, PB_SMTP_TLS_STARTTLS);
    cfg.no_verify = true;
    assert_int_equal(pb_smtp_connect(&cfg, &s, &err), PB_SMTP_OK);
    pb_smtp_quit_and_free(s);
    fake_finish(f);
    free(f);
    pb_test_rmtree(c.dir);
}

static void
smtps_auth_plain(void **state)
{
    (void)state;
    static const char *const script[] = {"TLS",
                                         "S:220 fake ESMTP",
                                         "C:EHLO test.example",
                                         "S:250-fake",
                                         "S:250 AUTH LOGIN PLAIN",
                                         "C:AUTH PLAIN AHVzZXIAcGFzcw==",
                                         "S:235 2.7.0 authenticated",
                                         "C:QUIT",
                                         "S:221 bye",
                                         NULL};
    struct certs c;
    make_certs(&c);
    struct fake *f = fake_start(script, c.cert, c.key);
    struct pb_smtp_config cfg;
    struct pb_smtp_error err;
    struct pb_smtp *s = NULL;
    client_config(&cfg, f->port, PB_SMTP_TLS_SMTPS);
    cfg.ca_file = c.cert;
    cfg.user = "user";
    cfg.password = "pass";
    assert_int_equal(pb_smtp_connect(&cfg, &s, &err), PB_SMTP_OK);
    assert_true(pb_smtp_is_tls(s));
    pb_smtp_quit_and_free(s);
    fake_finish(f);
    free(f);
    pb_test_rmtree(c.dir);
}

static void
auth_plain_and_login(void **state)
{
    (void)state;
    static const char *const plain_ok[] = {"S:220 fake",
                                           "C:EHLO test.example",
                                           "S:250-fake",
                                           "S:250 AUTH=PLAIN",
                                           "C:AUTH PLAIN AHVzZXIAcGFzcw==",
                                           "S:235 ok",
                                           "C:QUIT",
                                           "S:221 bye",
                                           NULL};
    static const char *const plain_bad[] = {"S:220 fake",
                                            "C:EHLO test.example",
                                            "S:250-fake",
                                            "S:250 AUTH PLAIN LOGIN",
                                            "C:AUTH PLAIN AHVzZXIAcGFzcw==",
                                            "S:535 5.7.8 authentication failed",
                                            "EOF",
                                            NULL};
    static const char *const login_ok[] = {"S:220 fake",
                                           "C:EHLO test.example",
                                           "S:250-fake",
                                           "S:250 AUTH LOGIN CRAM-MD5",
                                           "C:AUTH LOGIN",
                                           "S:334 VXNlcm5hbWU6",
                                           "C:dXNlcg==",
                                           "S:334 UGFzc3dvcmQ6",
                                           "C:cGFzcw==",
                                           "S:235 ok",
                                           "C:QUIT",
                                           "S:221 bye",
                                           NULL};
    static const char *const no_mech[] = {
        "S:220 fake", "C:EHLO test.example", "S:250-fake", "S:250 AUTH CRAM-MD5", "EOF", NULL};
    static const char *const no_auth[] = {"S:220 fake", "C:EHLO test.example", "S:250 fake", "EOF",
                                          NULL};
    struct {
        const char *const *script;
        enum pb_smtp_class want;
        const char *text;
    } cases[] = {
        {plain_ok, PB_SMTP_OK, ""},
        {plain_bad, PB_SMTP_PERMANENT, "AUTH PLAIN: 535 5.7.8 authentication failed"},
        {login_ok, PB_SMTP_OK, ""},
        {no_mech, PB_SMTP_PERMANENT, "offers no usable mechanism (PLAIN or LOGIN)"},
        {no_auth, PB_SMTP_PERMANENT, "does not offer authentication"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct fake *f = fake_start(cases[i].script, NULL, NULL);
        struct pb_smtp_config cfg;
        struct pb_smtp_error err;
        struct pb_smtp *s = NULL;
        client_config(&cfg, f->port, PB_SMTP_TLS_NONE);
        cfg.user = "user";
        cfg.password = "pass";
        assert_int_equal(pb_smtp_connect(&cfg, &s, &err), cases[i].want);
        assert_non_null(strstr(err.text, cases[i].text));
        assert_null(strstr(err.text, "pass"));
        pb_smtp_quit_and_free(s);
        fake_finish(f);
        free(f);
    }
}

static void
overlong_replies_are_protocol_errors(void **state)
{
    (void)state;
    char longline[620];
    memset(longline, 'x', sizeof(longline));
    memcpy(longline, "S:220 ", 6);
    longline[602] = '\0'; /* a 600-byte reply line */
    const char *script[] = {longline, "EOF", NULL};
    struct fake *f = fake_start(script, NULL, NULL);
    struct pb_smtp_config cfg;
    struct pb_smtp_error err;
    struct pb_smtp *s = NULL;
    client_config(&cfg, f->port, PB_SMTP_TLS_NONE);
    assert_int_equal(pb_smtp_connect(&cfg, &s, &err), PB_SMTP_PROTOCOL);
    assert_non_null(strstr(err.text, "longer than 512 bytes"));
    fake_finish(f);
    free(f);

    /* 101 lines in one reply. */
    const char *many[106];
    many[0] = "S:220 fake";
    many[1] = "C:EHLO";
    for (int i = 0; i < 101; i++)
        many[2 + i] = "S:250-x";
    many[103] = "S:250 x";
    many[104] = "EOF";
    many[105] = NULL;
    f = fake_start(many, NULL, NULL);
    client_config(&cfg, f->port, PB_SMTP_TLS_NONE);
    assert_int_equal(pb_smtp_connect(&cfg, &s, &err), PB_SMTP_PROTOCOL);
    assert_non_null(strstr(err.text, "more than 100 lines"));
    fake_finish(f);
    free(f);

    /* Garbage instead of a reply code. */
    static const char *const garbage[] = {"S:hello there", "EOF", NULL};
    f = fake_start(garbage, NULL, NULL);
    client_config(&cfg, f->port, PB_SMTP_TLS_NONE);
    assert_int_equal(pb_smtp_connect(&cfg, &s, &err), PB_SMTP_PROTOCOL);
    assert_non_null(strstr(err.text, "unparseable reply to the greeting"));
    fake_finish(f);
    free(f);
}

static void
pipelined_recipient_outcomes(void **state)
{
    (void)state;
    /*
     * The server reads MAIL, every RCPT and DATA before it answers any of
     * them: a client that waited for each reply would hang (and time out).
     */
    static const char *const script[] = {"S:220 fake",
                                         "C:EHLO test.example",
                                         "S:250-fake",
                                         "S:250 PIPELINING",
                                         "C:MAIL FROM:<a@example.org>",
                                         "C:RCPT TO:<ok@example.net>",
                                         "C:RCPT TO:<unknown@example.net>",
                                         "C:RCPT TO:<later@example.net>",
                                         "C:DATA",
                                         "S:250 2.1.0 ok",
                                         "S:250 2.1.5 ok",
                                         "S:550-5.1.1 user unknown",
                                         "S:550 5.1.1 see you",
                                         "S:451 4.2.0 try later",
                                         "S:354 go ahead",
                                         "D",
                                         "S:250 2.0.0 queued",
                                         "C:MAIL FROM:<a@example.org>",
                                         "C:RCPT TO:<unknown@example.net>",
                                         "C:DATA",
                                         "S:250 ok",
                                         "S:550 5.1.1 user unknown",
                                         "S:554 5.5.1 no valid recipients",
                                         "C:RSET",
                                         "S:250 ok",
                                         "C:MAIL FROM:<a@example.org>",
                                         "C:RCPT TO:<ok@example.net>",
                                         "C:DATA",
                                         "S:451 4.3.2 not now",
                                         "S:503 5.5.1 need MAIL",
                                         "S:503 5.5.1 need MAIL",
                                         "C:RSET",
                                         "S:250 ok",
                                         "C:QUIT",
                                         "S:221 bye",
                                         NULL};
    struct fake *f = fake_start(script, NULL, NULL);
    struct pb_smtp_config cfg;
    struct pb_smtp_error err;
    struct pb_smtp *s = NULL;
    client_config(&cfg, f->port, PB_SMTP_TLS_NONE);
    cfg.command_timeout_ms = 1500;
    assert_int_equal(pb_smtp_connect(&cfg, &s, &err), PB_SMTP_OK);
    const char *rcpts[] = {"ok@example.net", "unknown@example.net", "later@example.net"};
    const char *msg = "Subject: x\n\n.\n";
    struct pb_smtp_result res = {0};
    assert_int_equal(pb_smtp_send(s, "a@example.org", rcpts, 3, msg, strlen(msg), &res),
                     PB_SMTP_OK);
    assert_int_equal(res.naccepted, 1);
    assert_int_equal(res.rcpt[0].cls, PB_SMTP_OK);
    assert_int_equal(res.rcpt[1].cls, PB_SMTP_PERMANENT);
    assert_int_equal(res.rcpt[1].code, 550);
    assert_string_equal(res.rcpt[1].text, "RCPT TO: 550 5.1.1 user unknown 5.1.1 see you");
    assert_int_equal(res.rcpt[2].cls, PB_SMTP_TEMPORARY);
    assert_string_equal(res.rcpt[2].text, "RCPT TO: 451 4.2.0 try later");

    assert_int_equal(pb_smtp_send(s, "a@example.org", rcpts + 1, 1, msg, strlen(msg), &res),
                     PB_SMTP_PERMANENT);
    assert_string_equal(res.error.text, "RCPT TO: 550 5.1.1 user unknown");

    assert_int_equal(pb_smtp_send(s, "a@example.org", rcpts, 1, msg, strlen(msg), &res),
                     PB_SMTP_TEMPORARY);
    assert_string_equal(res.error.text, "MAIL FROM: 451 4.3.2 not now");
    assert_int_equal(res.rcpt[0].cls, PB_SMTP_TEMPORARY);
    pb_smtp_result_release(&res);
    assert_int_equal(pb_smtp_reset(s, &err), PB_SMTP_OK);
    pb_smtp_quit_and_free(s);
    fake_finish(f);
    assert_non_null(strstr(f->got, "DATA\r\nSubject: x\r\n\r\n..\r\n.\r\n"));
    free(f);
}

/* ---- mail/message ------------------------------------------------------- */

static char *
qp(const char *in)
{
    struct pb_buf b;
    pb_buf_init(&b, 1 << 20);
    assert_int_equal(pb_mail_message_qp(&b, in, strlen(in)), PB_ERR_OK);
    if (b.data == NULL)
        return strdup("");
    return b.data;
}

static int
unhex(char c)
{
    return c >= 'A' ? c - 'A' + 10 : c - '0';
}

/* An independent decoder for the round trip: soft breaks vanish, =XX decoded. */
static size_t
qp_decode(const char *in, char *out)
{
    size_t n = 0;
    for (const char *p = in; *p;) {
        if (p[0] == '=' && p[1] == '\r' && p[2] == '\n') {
            p += 3;
        } else if (p[0] == '=') {
            out[n++] = (char)(unhex(p[1]) * 16 + unhex(p[2]));
            p += 3;
        } else {
            out[n++] = *p++;
        }
    }
    out[n] = '\0';
    return n;
}

static void
check_qp(const char *in, const char *want)
{
    char *got = qp(in);
    assert_string_equal(got, want);
    free(got);
}

static void
qp_vectors(void **state)
{
    (void)state;
    check_qp("a=b", "a=3Db\r\n");
    check_qp("trailing space \nnext\t\nin the middle ok", "trailing space=20\r\nnext=09\r\n"
                                                          "in the middle ok\r\n");
    check_qp("caf\xc3\xa9 \xe2\x82\xac", "caf=C3=A9 =E2=82=AC\r\n");
    check_qp("x\r\ny\n\nz\rw", "x\r\ny\r\n\r\nz=0Dw\r\n");
    check_qp("", "");

    char in[400], want[400];
    memset(in, 'a', 100);
    in[100] = '\0';
    snprintf(want, sizeof(want), "%.75s=\r\n%.25s\r\n", in, in);
    check_qp(in, want); /* a soft break keeps lines at 76 with the '=' */
    in[75] = '\0';
    snprintf(want, sizeof(want), "%s\r\n", in);
    check_qp(in, want); /* 75 characters need no break */
    memset(in, 'a', 74);
    strcpy(in + 74, "=b");
    snprintf(want, sizeof(want), "%.74s=\r\n=3Db\r\n", in);
    check_qp(in, want); /* "=3D" is never split */
    memset(in, 'a', 74);
    strcpy(in + 74, " ");
    snprintf(want, sizeof(want), "%.74s=\r\n=20\r\n", in);
    check_qp(in, want); /* trailing space after a soft break is still encoded */

    /* Random bytes: every line at most 76 characters, and the round trip. */
    unsigned char raw[3000];
    randombytes_buf(raw, sizeof(raw));
    for (size_t i = 0; i < sizeof(raw); i++) {
        if (raw[i] == 0 || raw[i] == '\r')
            raw[i] = ' ';
        if (i % 97 == 0)
            raw[i] = '\n';
    }
    raw[sizeof(raw) - 1] = '\0';
    char *enc = qp((const char *)raw);
    for (const char *line = enc; *line;) {
        const char *end = strstr(line, "\r\n");
        assert_non_null(end);
        assert_true(end - line <= 76);
        for (const char *p = line; p < end; p++)
            assert_true(*p >= 33 || ((*p == ' ' || *p == '\t') && p + 1 < end));
        line = end + 2;
    }
    char *dec = malloc(strlen(enc) + 1);
    qp_decode(enc, dec);
    struct pb_buf want_crlf;
    pb_buf_init(&want_crlf, 1 << 20);
    for (const unsigned char *p = raw; *p; p++)
        assert_int_equal(*p == '\n' ? pb_buf_append(&want_crlf, "\r\n", 2)
                                    : pb_buf_append(&want_crlf, p, 1),
                         PB_ERR_OK);
    pb_buf_append(&want_crlf, "\r\n", 2);
    assert_string_equal(dec, want_crlf.data);
    pb_buf_release(&want_crlf, 0);
    free(dec);
    free(enc);
}

static void
subject_encoding(void **state)
{
    (void)state;
    struct pb_buf b;
    pb_buf_init(&b, 1 << 16);
    assert_int_equal(pb_mail_message_subject(&b, "Reset your password"), PB_ERR_OK);
    assert_string_equal(b.data, "Reset your password");
    pb_buf_reset(&b);
    assert_int_equal(pb_mail_message_subject(&b, "Gr\xc3\xbc\xc3\x9f"
                                                 "e aus K\xc3\xb6ln"),
                     PB_ERR_OK);
    assert_string_equal(b.data, "=?utf-8?B?R3LDvMOfZSBhdXMgS8O2bG4=?=");
    pb_buf_reset(&b);
    assert_int_equal(pb_mail_message_subject(&b, "looks =?like?= a word"), PB_ERR_OK);
    assert_non_null(strstr(b.data, "=?utf-8?B?"));
    pb_buf_reset(&b);

    /* A long subject of 2- and 3-byte characters: words of <= 75, never a split character. */
    char subj[600] = "";
    for (int i = 0; i < 40; i++)
        strcat(subj, i % 2 ? "\xc3\xa9t\xc3\xa9 " : "\xe2\x82\xac\xe2\x82\xac ");
    assert_int_equal(pb_mail_message_subject(&b, subj), PB_ERR_OK);
    char joined[700] = "";
    char *save = NULL;
    int words = 0;
    for (char *w = strtok_r(b.data, "\r\n ", &save); w; w = strtok_r(NULL, "\r\n ", &save)) {
        size_t wl = strlen(w);
        assert_true(wl <= 75);
        assert_true(strncmp(w, "=?utf-8?B?", 10) == 0 && strcmp(w + wl - 2, "?=") == 0);
        w[wl - 2] = '\0';
        unsigned char bin[64];
        size_t binlen = 0;
        assert_int_equal(sodium_base642bin(bin, sizeof(bin), w + 10, wl - 12, NULL, &binlen, NULL,
                                           sodium_base64_VARIANT_ORIGINAL),
                         0);
        bin[binlen] = '\0';
        /* Each word alone is whole characters: it ends at a character boundary. */
        assert_true(binlen > 0 && (bin[0] & 0xc0) != 0x80);
        strcat(joined, (char *)bin);
        words++;
    }
    assert_true(words > 3);
    assert_string_equal(joined, subj);
    pb_buf_release(&b, 0);
}

static void
build_simple_message(void **state)
{
    (void)state;
    char *m = NULL;
    size_t len = 0;
    assert_int_equal(pb_mail_build_simple("Postbode <noreply@mail.example.org>", "ann@example.net",
                                          "Willkommen bei K\xc3\xb6ln",
                                          "Hallo,\nklicken Sie = hier.\n", &m, &len),
                     PB_ERR_OK);
    assert_int_equal(strlen(m), len);
    assert_true(strncmp(m, "Date: ", 6) == 0);
    /* "Date: Sun, 29 Nov 2026 04:00:27 +0000" */
    const char *date = m + 6;
    assert_true(date[3] == ',' && date[4] == ' ' && date[7] == ' ' && date[11] == ' ');
    assert_non_null(strstr(date, " +0000\r\n"));
    assert_non_null(strstr(m, "\r\nFrom: Postbode <noreply@mail.example.org>\r\n"));
    assert_non_null(strstr(m, "\r\nTo: ann@example.net\r\n"));
    assert_non_null(strstr(m, "\r\nSubject: =?utf-8?B?"));
    const char *mid = strstr(m, "\r\nMessage-ID: <");
    assert_non_null(mid);
    const char *at = strchr(mid, '@');
    assert_true(at - mid > 20);
    assert_true(strncmp(at, "@mail.example.org>\r\n", 20) == 0);
    assert_non_null(strstr(m, "\r\nMIME-Version: 1.0\r\n"
                              "Content-Type: text/plain; charset=utf-8\r\n"
                              "Content-Transfer-Encoding: quoted-printable\r\n\r\n"
                              "Hallo,\r\nklicken Sie =3D hier.\r\n"));
    /* No bare LF anywhere. */
    for (size_t i = 0; i < len; i++)
        if (m[i] == '\n')
            assert_true(i > 0 && m[i - 1] == '\r');
    free(m);

    /* Header injection: CR or LF in any header value is refused. */
    const char *bad[][3] = {
        {"a@example.org", "b@example.net", "hi\r\nBcc: victim@example.com"},
        {"a@example.org", "b@example.net\nBcc: victim@example.com", "hi"},
        {"a@example.org\r", "b@example.net", "hi"},
        {"a@example.org", "b@example.net", "tab\tbell\a"},
        {"a@example.org", "b@example.net", "bad utf-8 \xc3"},
        {"no-at-sign", "b@example.net", "hi"},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        m = (char *)"unchanged";
        assert_int_equal(pb_mail_build_simple(bad[i][0], bad[i][1], bad[i][2], "x", &m, &len),
                         PB_ERR_INVALID);
        assert_null(m);
    }
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(sink_three_messages_pipelined),
        cmocka_unit_test(sink_many_recipients_large_message),
        cmocka_unit_test(sink_rcpt_rejected_is_permanent),
        cmocka_unit_test(sink_data_451_is_temporary),
        cmocka_unit_test(sink_end_of_data_rejected),
        cmocka_unit_test(connection_refused),
        cmocka_unit_test(greeting_timeout),
        cmocka_unit_test(connection_dropped_mid_data),
        cmocka_unit_test(starttls_required_not_offered),
        cmocka_unit_test(starttls_upgrade_and_pipelined_send),
        cmocka_unit_test(starttls_untrusted_certificate),
        cmocka_unit_test(smtps_auth_plain),
        cmocka_unit_test(auth_plain_and_login),
        cmocka_unit_test(overlong_replies_are_protocol_errors),
        cmocka_unit_test(pipelined_recipient_outcomes),
        cmocka_unit_test(qp_vectors),
        cmocka_unit_test(subject_encoding),
        cmocka_unit_test(build_simple_message),
    };
    if (sodium_init() < 0)
        return 1;
    return cmocka_run_group_tests(tests, NULL, NULL);
}
