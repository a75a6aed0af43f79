/* Forgot password: reset tokens, the reset mail, and setting the new password. */
#include "model/reset.h"

#include <stdio.h>
#include <string.h>

#include <sodium.h>

#include "core/clock.h"
#include "core/log.h"
#include "core/strutil.h"
#include "crypto/password.h"
#include "model/audit.h"
#include "model/auth.h"
#include "model/email.h"
#include "model/outbox.h"

struct issue_ctx {
    unsigned char hash[PB_HASH_BYTES];
    const char *user_id;
    int64_t expires_at;
};

static enum pb_qs
issue_tx(struct pb_tx *tx, void *cls)
{
    struct issue_ctx *i = cls;
    return tx->ops->reset_insert(tx->conn, i->hash, i->user_id, i->expires_at);
}

enum pb_err
pb_reset_issue(struct pb_app *app, const char *user_id, int64_t lifetime_seconds, char link[1024])
{
    char token[PB_TOKEN_LEN + 1];
    struct issue_ctx i = {.user_id = user_id, .expires_at = pb_clock_now() + lifetime_seconds};
    pb_token_new(token);
    pb_auth_token_hash(token, i.hash);
    enum pb_err err = pb_store_tx(app->control, PB_TX_WRITE, issue_tx, &i);
    /* In the fragment: browsers send neither it to the server nor it in a Referer. */
    if (err == PB_ERR_OK)
        snprintf(link, 1024, "%s/reset-password#token=%s", app->config->public_url, token);
    sodium_memzero(token, sizeof(token));
    return err;
}

static enum pb_qs
find_user_tx(struct pb_tx *tx, void *cls)
{
    struct pb_user *u = cls;
    return tx->ops->user_get_by_email(tx->conn, u->email, u);
}

enum pb_err
pb_reset_request(struct pb_app *app, const char *email, const char *client_ip)
{
    char normal[PB_EMAIL_MAX + 1], why[PB_WHY_MAX];
    if (pb_email_normalize(email, PB_EMAIL_LOWER_ALL, normal, why) != PB_ERR_OK)
        return PB_ERR_OK;
    struct pb_user user;
    memset(&user, 0, sizeof(user));
    pb_strlcpy(user.email, normal, sizeof(user.email));
    enum pb_err err = pb_store_tx(app->control, PB_TX_READ, find_user_tx, &user);
    if (err != PB_ERR_OK || user.id[0] == '\0')
        return err;

    char link[1024], body[2048];
    if ((err = pb_reset_issue(app, user.id, PB_RESET_SECONDS, link)) != PB_ERR_OK)
        return err;
    snprintf(body, sizeof(body),
             "Someone, probably you, asked to reset the password of your Postbode login.\n\n"
             "Choose a new password here (the link works once, for 30 minutes):\n\n%s\n\n"
             "If you did not ask for this, ignore this mail: your password stays as it is.\n",
             link);
    err = pb_outbox_queue(app, user.email, "Reset your Postbode password", body);
    sodium_memzero(link, sizeof(link));
    sodium_memzero(body, sizeof(body));
    if (err != PB_ERR_OK)
        return err;
    return pb_audit_record(app, user.account_id, user.id, "password.reset_requested", client_ip,
                           NULL);
}

struct complete_ctx {
    unsigned char hash[PB_HASH_BYTES];
    const char *password_hash;
    const char *client_ip;
    struct pb_user user;
};

static enum pb_qs
complete_tx(struct pb_tx *tx, void *cls)
{
    struct complete_ctx *c = cls;
    char user_id[PB_ID_LEN + 1];
    enum pb_qs qs = tx->ops->reset_consume(tx->conn, c->hash, pb_clock_now(), user_id);
    if (qs <= 0)
        return qs < 0 ? qs : pb_tx_abort(tx, PB_ERR_TOKEN_INVALID);
    if ((qs = tx->ops->user_get(tx->conn, user_id, &c->user)) <= 0)
        return qs < 0 ? qs : pb_tx_abort(tx, PB_ERR_TOKEN_INVALID);
    pb_strlcpy(c->user.password_hash, c->password_hash, sizeof(c->user.password_hash));
    struct pb_audit_entry audit;
    pb_audit_entry_make(&audit, c->user.account_id, c->user.id, "password.reset", c->client_ip,
                        NULL);
    /* A new password ends every session: whoever knew the old one is out. */
    if ((qs = tx->ops->user_update(tx->conn, &c->user)) < 0 ||
        (qs = tx->ops->session_delete_for_user(tx->conn, c->user.id)) < 0)
        return qs;
    return tx->ops->audit_insert(tx->conn, &audit);
}

enum pb_err
pb_reset_complete(struct pb_app *app, const char *token, const char *password,
                  const char *client_ip, char why[PB_WHY_MAX])
{
    enum pb_password_verdict verdict = pb_password_check(password);
    if (verdict != PB_PASSWORD_OK) {
        snprintf(why, PB_WHY_MAX, "%s", pb_password_verdict_text(verdict));
        return PB_ERR_PASSWORD_POLICY;
    }
    if (token == NULL || strlen(token) != PB_TOKEN_LEN) {
        snprintf(why, PB_WHY_MAX, "%s", pb_err_hint(PB_ERR_TOKEN_INVALID));
        return PB_ERR_TOKEN_INVALID;
    }
    char hashed[PB_PASSWORD_HASH_MAX];
    enum pb_err err = pb_password_hash(password, hashed);
    if (err != PB_ERR_OK)
        return err;
    struct complete_ctx c = {.password_hash = hashed, .client_ip = client_ip};
    pb_auth_token_hash(token, c.hash);
    err = pb_store_tx(app->control, PB_TX_WRITE, complete_tx, &c);
    if (err == PB_ERR_TOKEN_INVALID)
        snprintf(why, PB_WHY_MAX, "%s", pb_err_hint(PB_ERR_TOKEN_INVALID));
    return err;
}
