/*
 * The account's SMTP relay (one per account, in its tenant store): where
 * campaign mail goes, how securely, with which credentials, how fast. The
 * password is stored only sealed under the account's data key and never
 * shown again; the sender gets it opened through pb_relay_load.
 */
#ifndef PB_MODEL_RELAY_H
#define PB_MODEL_RELAY_H

#include <limits.h>
#include <stdint.h>

#include <jansson.h>

#include "mail/smtp.h"
#include "model/app.h"
#include "store/store.h"

struct pb_principal;

/* An int member of struct pb_relay_input not given: its default applies. */
#define PB_RELAY_DEFAULT INT_MIN

/* Bytes of a password; fewer when its seal does not fit PB_SEALED_MAX (211 then). */
#define PB_RELAY_PASSWORD_MAX        255
#define PB_RELAY_MAX_CONNECTIONS     32
#define PB_RELAY_DEFAULT_CONNECTIONS 4
#define PB_RELAY_RATE_MAX            100000 /* messages per second */

/*
 * A relay as PUT /settings/smtp gives it. host is required; tls "starttls"
 * (NULL: the default), "smtps" or "none" (a relay on this host only); port
 * 1..65535 (default 587, 465 for smtps, 25 for none); username NULL or ""
 * for no AUTH (any stored password goes too); password NULL keeps the
 * stored one (only while the host stays the same), "" removes it;
 * max_connections 1..32 (default 4); rate_per_second 0 (no limit)..100000
 * (default 0).
 */
struct pb_relay_input {
    const char *host;
    int port;
    const char *tls;
    const char *username;
    const char *password;
    int max_connections;
    int rate_per_second;
};

/*
 * Inserts or replaces the account's relay, audited ("settings.smtp_changed",
 * never the password). Errors (with `field` and `why`): PB_ERR_INVALID.
 */
enum pb_err
pb_relay_put(struct pb_app *app, const struct pb_principal *who, const struct pb_relay_input *in,
             const char *client_ip, const char **field, char why[PB_WHY_MAX]);

/*
 * The relay as the API shows it: {host, port, tls, username (null: none),
 * has_password, max_connections, rate_per_second, updated_at}; never the
 * password. PB_ERR_NOT_FOUND when the account has none. `out` is a new reference.
 */
enum pb_err
pb_relay_get_json(struct pb_app *app, const struct pb_principal *who, json_t **out);

/* The relay as the sender uses it, its password opened ("" when none). */
struct pb_relay_config {
    char host[PB_HOST_MAX + 1];
    unsigned port;
    enum pb_smtp_tls tls;
    char user[PB_SMTP_USER_MAX + 1]; /* "": no AUTH */
    char password[256];
    int max_connections;
    int rate_per_second; /* 0: no limit */
    int64_t updated_at;  /* tells a sender its copy is stale */
};

/*
 * For the sender: the account's relay with its password opened (the caller
 * wipes `out` with sodium_memzero). PB_ERR_NOT_FOUND when the account has
 * none; PB_ERR_INTERNAL when the password does not open.
 */
enum pb_err
pb_relay_load(struct pb_app *app, const char *account_id, struct pb_relay_config *out);

/*
 * The SMTP client's settings for a loaded relay (borrowing its strings),
 * with the timeouts of [send] timeout_seconds.
 */
void
pb_relay_smtp_config(const struct pb_app *app, const struct pb_relay_config *relay,
                     struct pb_smtp_config *cfg);

#endif
