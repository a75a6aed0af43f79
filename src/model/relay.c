/* The account's SMTP relay: checked, stored with its password sealed, shown, loaded for sending. */
#include "model/relay.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include <sodium.h>

#include "core/clock.h"
#include "core/log.h"
#include "core/strutil.h"
#include "model/audit.h"
#include "model/auth.h"
#include "model/tenant.h"

/* Where an account's relay password lives: opening it anywhere else fails. */
static void
password_place(const char *account_id, char place[64])
{
    snprintf(place, 64, "smtp_password:%s", account_id);
}

/*
 * Whether `s` is dot-separated LDH labels (letters, digits, inner hyphens,
 * 1 to 63 characters each), lower-cased into `out`.
 */
static bool
ldh_name(const char *s, char *out, size_t size)
{
    size_t len = strlen(s), label = 0;
    if (len == 0 || len >= size)
        return false;
    for (size_t i = 0; i <= len; i++) {
        unsigned char ch = (unsigned char)s[i];
        if (ch == '.' || ch == '\0') {
            if (label == 0 || label > 63 || s[i - 1] == '-')
                return false;
            label = 0;
        } else if (isalnum(ch) || (ch == '-' && label > 0)) {
            label++;
        } else {
            return false;
        }
        out[i] = (char)tolower(ch);
    }
    return true;
}

/*
 * Checks a relay host: an IP address literal or an LDH name, lower-cased
 * into `out`. `*local` says whether it is this host (localhost, 127.0.0.0/8, ::1).
 */
static bool
host_check(const char *host, char out[PB_HOST_MAX + 1], bool *local, char why[PB_WHY_MAX])
{
    struct in_addr a4;
    struct in6_addr a6;
    *local = false;
    if (strlen(host) > PB_HOST_MAX) {
        snprintf(why, PB_WHY_MAX, "a relay host is at most %d characters", PB_HOST_MAX);
        return false;
    }
    if (inet_pton(AF_INET, host, &a4) == 1) {
        *local = (ntohl(a4.s_addr) >> 24) == 127;
        return pb_strlcpy(out, host, PB_HOST_MAX + 1);
    }
    if (inet_pton(AF_INET6, host, &a6) == 1) {
        /* ::1, or an IPv4-mapped 127.x.y.z */
        *local = IN6_IS_ADDR_LOOPBACK(&a6) || (IN6_IS_ADDR_V4MAPPED(&a6) && a6.s6_addr[12] == 127);
        for (size_t i = 0; host[i] != '\0'; i++)
            out[i] = (char)tolower((unsigned char)host[i]);
        out[strlen(host)] = '\0';
        return true;
    }
    if (strchr(host, ':') != NULL || strspn(host, "0123456789.") == strlen(host)) {
        snprintf(why, PB_WHY_MAX,
                 "the relay host looks like an IP address but is not one (write IPv6 "
                 "addresses without brackets)");
        return false;
    }
    if (!ldh_name(host, out, PB_HOST_MAX + 1)) {
        snprintf(why, PB_WHY_MAX,
                 "the relay host is a name (letters, digits, hyphens, dots; labels of 1 to 63 "
                 "characters) or an IP address");
        return false;
    }
    *local = strcmp(out, "localhost") == 0;
    return true;
}

/* The checked relay and what to do with its password. */
enum password_op { PASSWORD_KEEP, PASSWORD_SET, PASSWORD_REMOVE };

struct put_ctx {
    struct pb_smtp_relay row; /* written as it is, but for a kept password */
    enum password_op op;
    enum pb_err refusal; /* PB_ERR_OK, or why the transaction was aborted */
    bool kept;           /* a stored password was kept */
};

static enum pb_qs
put_tx(struct pb_tx *tx, void *cls)
{
    struct put_ctx *p = cls;
    p->kept = false;
    p->refusal = PB_ERR_OK;
    struct pb_smtp_relay old;
    enum pb_qs qs = tx->ops->relay_get(tx->conn, p->row.account_id, &old);
    if (qs < 0)
        return qs;
    if (p->op == PASSWORD_KEEP) {
        p->row.password_sealed_len = 0;
        if (qs == PB_QS_ONE && old.password_sealed_len > 0 && p->row.username[0] != '\0') {
            /*
             * Whoever may change the host must not be able to send the stored
             * password to a server of their choosing: a new host needs it again.
             */
            if (strcasecmp(old.host, p->row.host) != 0) {
                p->refusal = PB_ERR_INVALID;
                return pb_tx_abort(tx, PB_ERR_INVALID);
            }
            memcpy(p->row.password_sealed, old.password_sealed, old.password_sealed_len);
            p->row.password_sealed_len = old.password_sealed_len;
            p->kept = true;
        }
    }
    sodium_memzero(&old, sizeof(old));
    return tx->ops->relay_put(tx->conn, &p->row);
}

/* Checks everything but the password; fills p->row. */
static enum pb_err
check_input(const struct pb_relay_input *in, struct put_ctx *p, const char **field,
            char why[PB_WHY_MAX])
{
    struct pb_smtp_relay *row = &p->row;
    bool local = false;
    *field = "host";
    if (in->host == NULL || in->host[0] == '\0') {
        snprintf(why, PB_WHY_MAX, "a relay needs a host");
        return PB_ERR_INVALID;
    }
    if (!host_check(in->host, row->host, &local, why))
        return PB_ERR_INVALID;

    *field = "tls";
    const char *tls = in->tls != NULL ? in->tls : "starttls";
    int default_port = 587;
    if (strcmp(tls, "smtps") == 0) {
        default_port = 465;
    } else if (strcmp(tls, "none") == 0) {
        default_port = 25;
        if (!local) {
            snprintf(why, PB_WHY_MAX,
                     "tls \"none\" would send the password and every message in plain text: it "
                     "is allowed only for a relay on this host (localhost, 127.0.0.0/8, ::1); use "
                     "\"starttls\" or \"smtps\"");
            return PB_ERR_INVALID;
        }
    } else if (strcmp(tls, "starttls") != 0) {
        snprintf(why, PB_WHY_MAX, "tls is \"starttls\", \"smtps\" or \"none\"");
        return PB_ERR_INVALID;
    }
    pb_strlcpy(row->tls, tls, sizeof(row->tls));

    *field = "port";
    row->port = in->port == PB_RELAY_DEFAULT ? default_port : in->port;
    if (row->port < 1 || row->port > 65535) {
        snprintf(why, PB_WHY_MAX, "port is 1 to 65535 (%d for tls \"%s\")", default_port, tls);
        return PB_ERR_INVALID;
    }

    *field = "username";
    const char *user = in->username != NULL ? in->username : "";
    if (!pb_str_clean_utf8(user, PB_SMTP_USER_MAX)) {
        snprintf(why, PB_WHY_MAX, "a username is at most %d bytes of text", PB_SMTP_USER_MAX);
        return PB_ERR_INVALID;
    }
    pb_strlcpy(row->username, user, sizeof(row->username));

    *field = "max_connections";
    row->max_connections = in->max_connections == PB_RELAY_DEFAULT ? PB_RELAY_DEFAULT_CONNECTIONS
                                                                   : in->max_connections;
    if (row->max_connections < 1 || row->max_connections > PB_RELAY_MAX_CONNECTIONS) {
        snprintf(why, PB_WHY_MAX, "max_connections is 1 to %d", PB_RELAY_MAX_CONNECTIONS);
        return PB_ERR_INVALID;
    }

    *field = "rate_per_second";
    row->rate_per_second = in->rate_per_second == PB_RELAY_DEFAULT ? 0 : in->rate_per_second;
    if (row->rate_per_second < 0 || row->rate_per_second > PB_RELAY_RATE_MAX) {
        snprintf(why, PB_WHY_MAX, "rate_per_second is 0 (no limit) to %d", PB_RELAY_RATE_MAX);
        return PB_ERR_INVALID;
    }
    *field = NULL;
    return PB_ERR_OK;
}

/* Seals a new password into p->row, or chooses to keep or remove the stored one. */
static enum pb_err
take_password(struct pb_app *app, const char *password, struct put_ctx *p, const char **field,
              char why[PB_WHY_MAX])
{
    struct pb_smtp_relay *row = &p->row;
    if (password == NULL) {
        p->op = PASSWORD_KEEP;
        return PB_ERR_OK;
    }
    size_t len = strlen(password);
    if (len == 0) {
        p->op = PASSWORD_REMOVE;
        return PB_ERR_OK;
    }
    size_t max = sizeof(row->password_sealed) - pb_sealed_len(0);
    max = max < PB_RELAY_PASSWORD_MAX ? max : PB_RELAY_PASSWORD_MAX;
    *field = "password";
    if (len > max) {
        snprintf(why, PB_WHY_MAX, "a password is at most %zu bytes", max);
        return PB_ERR_INVALID;
    }
    if (row->username[0] == '\0') {
        *field = "username";
        snprintf(why, PB_WHY_MAX, "a password needs a username (leave both out for no AUTH)");
        return PB_ERR_INVALID;
    }
    const struct pb_data_key *key = NULL;
    enum pb_err err = pb_app_data_key(app, row->account_id, &key);
    if (err != PB_ERR_OK)
        return err;
    char place[64];
    password_place(row->account_id, place);
    pb_data_key_seal(key, place, password, len, row->password_sealed);
    row->password_sealed_len = pb_sealed_len(len);
    p->op = PASSWORD_SET;
    *field = NULL;
    return PB_ERR_OK;
}

enum pb_err
pb_relay_put(struct pb_app *app, const struct pb_principal *who, const struct pb_relay_input *in,
             const char *client_ip, const char **field, char why[PB_WHY_MAX])
{
    struct put_ctx p;
    memset(&p, 0, sizeof(p));
    *field = NULL;
    pb_strlcpy(p.row.account_id, who->account_id, sizeof(p.row.account_id));
    enum pb_err err = check_input(in, &p, field, why);
    if (err == PB_ERR_OK)
        err = take_password(app, in->password, &p, field, why);
    if (err != PB_ERR_OK)
        return err;
    p.row.updated_at = pb_clock_now();
    err = pb_tenant_tx(app, who->account_id, PB_TX_WRITE, put_tx, &p);
    if (err == PB_ERR_INVALID && p.refusal == PB_ERR_INVALID) {
        *field = "password";
        snprintf(why, PB_WHY_MAX,
                 "the relay's host changed: give its password again (\"\" for none), the stored "
                 "one is only used with the host it was given for");
    }
    if (err != PB_ERR_OK)
        return err;

    /* The audit entry says whether a password is used, never which. */
    const char *password = p.op == PASSWORD_SET      ? "set"
                           : p.op == PASSWORD_REMOVE ? "removed"
                           : p.kept                  ? "kept"
                                                     : "none";
    char detail[512];
    snprintf(detail, sizeof(detail),
             "{\"host\":\"%s\",\"port\":%d,\"tls\":\"%s\",\"auth\":%s,\"password\":\"%s\","
             "\"max_connections\":%d,\"rate_per_second\":%d}",
             p.row.host, p.row.port, p.row.tls, p.row.username[0] ? "true" : "false", password,
             p.row.max_connections, p.row.rate_per_second);
    if ((err = pb_audit_record(app, who->account_id, who->user_id, "settings.smtp_changed",
                               client_ip, detail)) != PB_ERR_OK)
        pb_error("account %s: the audit entry of a relay change cannot be written (%s)",
                 who->account_id, pb_err_hint(err));
    sodium_memzero(&p, sizeof(p));
    return PB_ERR_OK;
}

struct get_ctx {
    const char *account_id;
    struct pb_smtp_relay row;
};

static enum pb_qs
get_tx(struct pb_tx *tx, void *cls)
{
    struct get_ctx *g = cls;
    enum pb_qs qs = tx->ops->relay_get(tx->conn, g->account_id, &g->row);
    return qs == PB_QS_NONE ? pb_tx_abort(tx, PB_ERR_NOT_FOUND) : qs;
}

static enum pb_err
get_row(struct pb_app *app, const char *account_id, struct get_ctx *g)
{
    memset(g, 0, sizeof(*g));
    g->account_id = account_id;
    if (!pb_id_valid(account_id))
        return PB_ERR_NOT_FOUND;
    return pb_tenant_tx(app, account_id, PB_TX_READ, get_tx, g);
}

enum pb_err
pb_relay_get_json(struct pb_app *app, const struct pb_principal *who, json_t **out)
{
    *out = NULL;
    struct get_ctx g;
    enum pb_err err = get_row(app, who->account_id, &g);
    if (err != PB_ERR_OK)
        return err;
    char updated[21];
    pb_clock_format_rfc3339(g.row.updated_at, updated);
    *out = json_pack("{s:s, s:i, s:s, s:s?, s:b, s:i, s:i, s:s}", "host", g.row.host, "port",
                     g.row.port, "tls", g.row.tls, "username",
                     g.row.username[0] ? g.row.username : NULL, "has_password",
                     g.row.password_sealed_len > 0, "max_connections", g.row.max_connections,
                     "rate_per_second", g.row.rate_per_second, "updated_at", updated);
    return *out != NULL ? PB_ERR_OK : PB_ERR_NOMEM;
}

enum pb_err
pb_relay_load(struct pb_app *app, const char *account_id, struct pb_relay_config *out)
{
    memset(out, 0, sizeof(*out));
    struct get_ctx g;
    enum pb_err err = get_row(app, account_id, &g);
    if (err != PB_ERR_OK)
        return err;
    const struct pb_smtp_relay *row = &g.row;
    pb_strlcpy(out->host, row->host, sizeof(out->host));
    out->port = (unsigned)row->port;
    out->tls = strcmp(row->tls, "smtps") == 0  ? PB_SMTP_TLS_SMTPS
               : strcmp(row->tls, "none") == 0 ? PB_SMTP_TLS_NONE
                                               : PB_SMTP_TLS_STARTTLS;
    pb_strlcpy(out->user, row->username, sizeof(out->user));
    out->max_connections = row->max_connections;
    out->rate_per_second = row->rate_per_second;
    out->updated_at = row->updated_at;
    if (row->password_sealed_len == 0)
        return PB_ERR_OK;

    const struct pb_data_key *key = NULL;
    if ((err = pb_app_data_key(app, account_id, &key)) != PB_ERR_OK)
        return err;
    char place[64];
    size_t len = 0;
    password_place(account_id, place);
    /* The seal fits PB_SEALED_MAX, so the opened password fits out->password with its NUL. */
    if (row->password_sealed_len < pb_sealed_len(0) ||
        row->password_sealed_len - pb_sealed_len(0) >= sizeof(out->password) ||
        pb_data_key_open(key, place, row->password_sealed, row->password_sealed_len,
                         (unsigned char *)out->password, &len) != PB_ERR_OK) {
        pb_error("account %s: the relay password does not open", account_id);
        sodium_memzero(out, sizeof(*out));
        return PB_ERR_INTERNAL;
    }
    out->password[len] = '\0';
    return PB_ERR_OK;
}

void
pb_relay_smtp_config(const struct pb_app *app, const struct pb_relay_config *relay,
                     struct pb_smtp_config *cfg)
{
    pb_smtp_config_init(cfg);
    cfg->host = relay->host;
    cfg->port = relay->port;
    cfg->tls = relay->tls;
    cfg->user = relay->user[0] ? relay->user : NULL;
    cfg->password = relay->password[0] ? relay->password : NULL;
    int timeout = app->config != NULL ? app->config->send_timeout_seconds : 0;
    if (timeout > 0) {
        cfg->connect_timeout_ms = timeout * 1000;
        cfg->command_timeout_ms = timeout * 1000;
        cfg->data_timeout_ms = 2 * timeout * 1000; /* the relay may check the whole message */
    }
}
