/*
 * The SMTP client: plain sockets and GnuTLS, STARTTLS or implicit TLS,
 * AUTH PLAIN/LOGIN, and PIPELINING (RFC 2920) so that a whole transaction
 * (MAIL, every RCPT, DATA) costs one round trip. One connection carries
 * many messages; each reports an outcome per recipient.
 *
 * One struct pb_smtp belongs to one thread at a time; the module keeps no
 * global state. Every reply line is bounded (512 bytes, 100 lines a reply)
 * and every wait has a timeout.
 */
#ifndef PB_MAIL_SMTP_H
#define PB_MAIL_SMTP_H

#include <stdbool.h>
#include <stddef.h>

enum pb_smtp_tls {
    PB_SMTP_TLS_STARTTLS, /* STARTTLS required: refuse a server that does not offer it */
    PB_SMTP_TLS_SMTPS,    /* implicit TLS from the first byte (port 465) */
    PB_SMTP_TLS_NONE,     /* plain text: for a relay on the local host only */
};

enum pb_smtp_class {
    PB_SMTP_OK,
    PB_SMTP_CONNECTION, /* could not connect, connection lost, timeout */
    PB_SMTP_PROTOCOL,   /* unparseable reply, unexpected code, no STARTTLS, TLS failure */
    PB_SMTP_TEMPORARY,  /* 4xx: try again later */
    PB_SMTP_PERMANENT,  /* 5xx (or a request that can never succeed): do not retry */
};

/* One outcome: for a connection, a message or one recipient. */
struct pb_smtp_error {
    enum pb_smtp_class cls;
    int code;       /* the SMTP reply code, 0 when the server did not give one */
    char text[256]; /* one line naming the step: "RCPT TO: 550 5.1.1 user unknown" */
};

#define PB_SMTP_CONNECT_TIMEOUT_MS 10000
#define PB_SMTP_COMMAND_TIMEOUT_MS 30000
#define PB_SMTP_DATA_TIMEOUT_MS    60000

struct pb_smtp_config {
    const char *host; /* name or address of the relay */
    unsigned port;
    enum pb_smtp_tls tls;
    const char *user;       /* NULL: no AUTH */
    const char *password;   /* never logged */
    const char *ehlo_name;  /* NULL: "localhost" */
    int connect_timeout_ms; /* 0: the defaults above */
    int command_timeout_ms;
    int data_timeout_ms; /* for the reply to the end of the message */
    const char *ca_file; /* PEM trust anchors; NULL: the system's trust store */
    /*
     * Certificates are verified (chain and host name) unless this is set:
     * named so that a zeroed or partly initialised config verifies.
     * Only for tests against a self-signed server.
     */
    bool no_verify;
};

/* The outcome of one message. Zero it before first use; it may be reused. */
struct pb_smtp_result {
    struct pb_smtp_error error; /* PB_SMTP_OK when the server took the message */
    size_t naccepted;           /* recipients the server took the message for */
    size_t nrcpt;
    /*
     * One outcome per recipient, in the order given: OK, or why the message
     * was not taken for that recipient (its RCPT reply, or the failure of
     * MAIL, DATA or the end of data that followed an accepted RCPT).
     */
    struct pb_smtp_error *rcpt;
    size_t cap; /* internal: entries allocated */
};

struct pb_smtp;

/* Fills `cfg` with the defaults (plain pointers NULL, timeouts, verification on). */
void
pb_smtp_config_init(struct pb_smtp_config *cfg);

/*
 * Connects, reads the greeting, says EHLO, upgrades to TLS as configured
 * and authenticates when a user is given. On success *out is a connection
 * ready for pb_smtp_send; on failure *out is NULL and `err` says why.
 */
enum pb_smtp_class
pb_smtp_connect(const struct pb_smtp_config *cfg, struct pb_smtp **out, struct pb_smtp_error *err);

/*
 * Sends one message (`message`: headers and body, LF or CRLF line ends; it
 * is dot-stuffed and normalised to CRLF on the way) from `from` ("" for a
 * null reverse-path) to the `nrcpt` addresses. Returns res->error.cls.
 * PB_SMTP_OK means the message was taken for res->naccepted recipients;
 * the others are listed in res->rcpt. After PB_SMTP_CONNECTION,
 * PB_SMTP_PROTOCOL or a 421 reply the connection is no longer usable
 * (pb_smtp_usable): free it and connect again. A transaction left open by
 * a failure is reset (RSET) by the next send.
 */
enum pb_smtp_class
pb_smtp_send(struct pb_smtp *s, const char *from, const char *const *rcpts, size_t nrcpt,
             const char *message, size_t len, struct pb_smtp_result *res);

/* Sends RSET: abandons any transaction in progress. */
enum pb_smtp_class
pb_smtp_reset(struct pb_smtp *s, struct pb_smtp_error *err);

/* Whether the connection can still carry a message. */
bool
pb_smtp_usable(const struct pb_smtp *s);

/* Which extensions the server announced (after TLS, if any). */
bool
pb_smtp_has_pipelining(const struct pb_smtp *s);

bool
pb_smtp_is_tls(const struct pb_smtp *s);

/* Frees the per-recipient outcomes of a result. */
void
pb_smtp_result_release(struct pb_smtp_result *res);

/* Sends QUIT (briefly waiting for its reply), closes and frees; NULL is fine. */
void
pb_smtp_quit_and_free(struct pb_smtp *s);

#endif
