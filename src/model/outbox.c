/* The system mail outbox: queue sealed messages, deliver them through the relay, retry. */
#include "model/outbox.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "core/clock.h"
#include "core/log.h"
#include "core/strutil.h"
#include "core/vec.h"
#include "mail/message.h"
#include "mail/smtp.h"

enum {
    LEASE_SECONDS = 300,      /* a claimed mail is another node's only after this */
    FIRST_RETRY_SECONDS = 60, /* then doubling */
    MAX_RETRY_SECONDS = 6 * 3600,
    MESSAGE_MAX = 64 * 1024, /* system mails are short */
};

/* What a queued mail is bound to, so a sealed body cannot be moved to another row. */
static void
mail_place(const char *id, char place[64])
{
    snprintf(place, 64, "mail_outbox:%s", id);
}

/* The bare address of "Name <addr>" or "addr". */
static void
envelope_address(const char *from, char out[PB_EMAIL_BYTES])
{
    const char *lt = strrchr(from, '<');
    const char *gt = lt ? strchr(lt, '>') : NULL;
    if (lt != NULL && gt != NULL)
        snprintf(out, PB_EMAIL_BYTES, "%.*s", (int)(gt - lt - 1), lt + 1);
    else
        pb_strlcpy(out, from, PB_EMAIL_BYTES);
}

static enum pb_qs
insert_tx(struct pb_tx *tx, void *cls)
{
    return tx->ops->outbox_insert(tx->conn, cls);
}

enum pb_err
pb_outbox_queue(struct pb_app *app, const char *recipient, const char *subject,
                const char *text_body)
{
    if (app->keys == NULL)
        return PB_ERR_MASTER_KEY;
    char *message = NULL;
    size_t len = 0;
    enum pb_err err =
        pb_mail_build_simple(app->config->mail_from, recipient, subject, text_body, &message, &len);
    if (err != PB_ERR_OK)
        return err;
    struct pb_outbox_mail mail;
    memset(&mail, 0, sizeof(mail));
    pb_id_new(mail.id);
    pb_strlcpy(mail.recipient, recipient, sizeof(mail.recipient));
    mail.sealed_len = pb_sealed_len(len);
    mail.sealed = malloc(mail.sealed_len);
    if (mail.sealed == NULL) {
        sodium_memzero(message, len);
        free(message);
        return PB_ERR_NOMEM;
    }
    char place[64];
    mail_place(mail.id, place);
    pb_keys_seal_system(app->keys, place, message, len, mail.sealed);
    sodium_memzero(message, len);
    free(message);
    mail.next_attempt_at = pb_clock_now();
    err = pb_store_tx(app->control, PB_TX_WRITE, insert_tx, &mail);
    free(mail.sealed);
    return err;
}

struct claimed {
    char id[PB_ID_LEN + 1];
    char recipient[PB_EMAIL_BYTES];
    unsigned char *sealed; /* malloc'd copy */
    size_t sealed_len;
    int attempts;
};

struct claim_ctx {
    int64_t now;
    int limit;
    struct pb_vec mails;
};

static void
release_claimed(struct pb_vec *mails)
{
    for (size_t i = 0; i < mails->count; i++)
        free(((struct claimed *)pb_vec_at(mails, i))->sealed);
    pb_vec_clear(mails);
}

static void
on_claim(void *cls, const struct pb_outbox_mail *mail)
{
    struct pb_vec *mails = cls;
    struct claimed c;
    memset(&c, 0, sizeof(c));
    pb_strlcpy(c.id, mail->id, sizeof(c.id));
    pb_strlcpy(c.recipient, mail->recipient, sizeof(c.recipient));
    c.attempts = mail->attempts;
    c.sealed = malloc(mail->sealed_len);
    if (c.sealed == NULL)
        return; /* stays leased, and is tried again when the lease ends */
    memcpy(c.sealed, mail->sealed, mail->sealed_len);
    c.sealed_len = mail->sealed_len;
    pb_vec_push(mails, &c);
    if (mails->err != PB_ERR_OK)
        free(c.sealed);
}

static enum pb_qs
claim_tx(struct pb_tx *tx, void *cls)
{
    struct claim_ctx *c = cls;
    release_claimed(&c->mails);
    return tx->ops->outbox_claim(tx->conn, c->now, c->now + LEASE_SECONDS, c->limit, on_claim,
                                 &c->mails);
}

struct outcome {
    const char *id;
    bool delivered;
    int attempts;
    int64_t next_attempt_at;
};

static enum pb_qs
outcome_tx(struct pb_tx *tx, void *cls)
{
    struct outcome *o = cls;
    if (o->delivered)
        return tx->ops->outbox_delete(tx->conn, o->id);
    return tx->ops->outbox_retry(tx->conn, o->id, o->attempts, o->next_attempt_at);
}

/* Parses smtp://host:port or smtps://host:port into the client's config. */
static bool
relay_config(const struct pb_config *config, struct pb_smtp_config *cfg, char host[256])
{
    const char *url = config->mail_relay;
    bool smtps = pb_str_starts_with(url, "smtps://");
    if (!smtps && !pb_str_starts_with(url, "smtp://"))
        return false;
    const char *rest = url + (smtps ? 8 : 7);
    const char *colon = strrchr(rest, ':');
    long port = smtps ? 465 : 587;
    size_t host_len = colon ? (size_t)(colon - rest) : strcspn(rest, "/");
    if (colon != NULL && !pb_str_to_long(colon + 1, 1, 65535, &port))
        return false;
    if (host_len == 0 || host_len >= 256)
        return false;
    memcpy(host, rest, host_len);
    host[host_len] = '\0';
    pb_smtp_config_init(cfg);
    cfg->host = host;
    cfg->port = (unsigned)port;
    cfg->tls = smtps                                   ? PB_SMTP_TLS_SMTPS
               : strcmp(config->mail_tls, "none") == 0 ? PB_SMTP_TLS_NONE
                                                       : PB_SMTP_TLS_STARTTLS;
    cfg->user = config->mail_user[0] ? config->mail_user : NULL;
    cfg->password = config->mail_password[0] ? config->mail_password : NULL;
    return true;
}

/* Sends one claimed mail on `smtp` (connecting first when needed). */
static bool
deliver_one(struct pb_app *app, const struct pb_smtp_config *cfg, struct pb_smtp **smtp,
            const struct claimed *c)
{
    struct pb_smtp_error error;
    memset(&error, 0, sizeof(error));
    if (*smtp == NULL && pb_smtp_connect(cfg, smtp, &error) != PB_SMTP_OK) {
        pb_warn("system mail: cannot reach the relay %s:%u: %s", cfg->host, cfg->port, error.text);
        *smtp = NULL;
        return false;
    }
    unsigned char *message = malloc(c->sealed_len);
    size_t len = 0;
    char place[64];
    mail_place(c->id, place);
    if (message == NULL || pb_keys_open_system(app->keys, place, c->sealed, c->sealed_len, message,
                                               &len) != PB_ERR_OK) {
        pb_error("system mail %s cannot be opened (another master key?)", c->id);
        free(message);
        return false;
    }
    char from[PB_EMAIL_BYTES];
    envelope_address(app->config->mail_from, from);
    const char *rcpt[1] = {c->recipient};
    struct pb_smtp_result result;
    memset(&result, 0, sizeof(result));
    enum pb_smtp_class cls =
        pb_smtp_send(*smtp, from, rcpt, 1, (const char *)message, len, &result);
    sodium_memzero(message, len);
    free(message);
    bool ok = cls == PB_SMTP_OK && result.naccepted == 1;
    if (!ok)
        pb_warn("system mail %s not accepted: %s", c->id, result.error.text);
    pb_smtp_result_release(&result);
    if (!pb_smtp_usable(*smtp)) {
        pb_smtp_quit_and_free(*smtp);
        *smtp = NULL;
    }
    return ok;
}

enum pb_err
pb_outbox_deliver_due(struct pb_app *app, int limit, int *sent, int *failed)
{
    *sent = *failed = 0;
    if (app->keys == NULL)
        return PB_ERR_MASTER_KEY;
    struct claim_ctx c = {.now = pb_clock_now(), .limit = limit};
    pb_vec_init(&c.mails, sizeof(struct claimed), (size_t)limit);
    enum pb_err err = pb_store_tx(app->control, PB_TX_WRITE, claim_tx, &c);
    if (err != PB_ERR_OK || c.mails.count == 0) {
        release_claimed(&c.mails);
        pb_vec_release(&c.mails);
        return err;
    }

    struct pb_smtp_config cfg;
    char host[256];
    bool have_relay = relay_config(app->config, &cfg, host);
    if (!have_relay)
        pb_warn("system mail: no usable [mail] relay configured; %zu mails wait", c.mails.count);
    struct pb_smtp *smtp = NULL;
    for (size_t i = 0; i < c.mails.count; i++) {
        const struct claimed *m = pb_vec_at(&c.mails, i);
        struct outcome o = {.id = m->id, .attempts = m->attempts + 1};
        o.delivered = have_relay && deliver_one(app, &cfg, &smtp, m);
        if (!o.delivered) {
            int64_t wait = FIRST_RETRY_SECONDS;
            for (int a = 0; a < m->attempts && wait < MAX_RETRY_SECONDS; a++)
                wait *= 2;
            o.next_attempt_at =
                pb_clock_now() + (wait < MAX_RETRY_SECONDS ? wait : MAX_RETRY_SECONDS);
        }
        if (pb_store_tx(app->control, PB_TX_WRITE, outcome_tx, &o) != PB_ERR_OK)
            pb_error("system mail %s: cannot record the outcome", m->id);
        *(o.delivered ? sent : failed) += 1;
    }
    if (smtp != NULL)
        pb_smtp_quit_and_free(smtp);
    release_claimed(&c.mails);
    pb_vec_release(&c.mails);
    return PB_ERR_OK;
}
