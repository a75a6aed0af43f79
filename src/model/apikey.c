/* API keys: created with the token shown once, listed, revoked. */
#include "model/apikey.h"

#include <stdio.h>
#include <string.h>

#include <sodium.h>

#include "core/clock.h"
#include "core/strutil.h"
#include "core/vec.h"
#include "model/audit.h"

enum { NAME_CHARS = 100 };

struct create_ctx {
    const struct pb_api_key *key;
    struct pb_audit_entry audit;
};

static enum pb_qs
create_tx(struct pb_tx *tx, void *cls)
{
    struct create_ctx *c = cls;
    enum pb_qs qs = tx->ops->api_key_insert(tx->conn, c->key);
    if (qs < 0)
        return qs;
    return tx->ops->audit_insert(tx->conn, &c->audit);
}

static bool
valid_name(const char *name)
{
    if (name == NULL || !pb_str_clean_utf8(name, PB_ACCOUNT_NAME_MAX) || name[0] == '\0')
        return false;
    size_t chars = 0;
    for (const char *p = name; *p; p++)
        chars += ((unsigned char)*p & 0xc0) != 0x80;
    return chars <= NAME_CHARS;
}

enum pb_err
pb_apikey_create(struct pb_app *app, const struct pb_principal *who, const char *name,
                 const char *client_ip, struct pb_api_key *out, char token[PB_API_KEY_LEN + 1])
{
    memset(out, 0, sizeof(*out));
    if (!valid_name(name))
        return PB_ERR_NAME_INVALID;
    char random[PB_TOKEN_LEN + 1];
    pb_token_new(random);
    snprintf(token, PB_API_KEY_LEN + 1, "%s%s", PB_API_KEY_PREFIX, random);
    sodium_memzero(random, sizeof(random));

    pb_id_new(out->id);
    pb_strlcpy(out->user_id, who->user_id, sizeof(out->user_id));
    pb_strlcpy(out->name, name, sizeof(out->name));
    pb_auth_token_hash(token, out->token_hash);
    snprintf(out->prefix, sizeof(out->prefix), "%.10s", token);
    out->created_at = pb_clock_now();

    struct create_ctx c = {.key = out};
    char detail[64];
    snprintf(detail, sizeof(detail), "{\"api_key_id\":\"%s\"}", out->id);
    pb_audit_entry_make(&c.audit, who->account_id, who->user_id, "api_key.created", client_ip,
                        detail);
    enum pb_err err = pb_store_tx(app->control, PB_TX_WRITE, create_tx, &c);
    if (err != PB_ERR_OK)
        sodium_memzero(token, PB_API_KEY_LEN + 1);
    return err;
}

struct list_ctx {
    const char *user_id;
    struct pb_vec rows;
};

static void
collect(void *cls, const struct pb_api_key *key)
{
    pb_vec_push(cls, key);
}

static enum pb_qs
list_tx(struct pb_tx *tx, void *cls)
{
    struct list_ctx *l = cls;
    pb_vec_clear(&l->rows);
    return tx->ops->api_key_list(tx->conn, l->user_id, collect, &l->rows);
}

enum pb_err
pb_apikey_list(struct pb_app *app, const struct pb_principal *who, pb_api_key_cb cb, void *cls)
{
    /* Keys per user are few; 1000 is a limit no real user reaches. */
    struct list_ctx l = {who->user_id, {0}};
    pb_vec_init(&l.rows, sizeof(struct pb_api_key), 1000);
    enum pb_err err = pb_store_tx(app->control, PB_TX_READ, list_tx, &l);
    if (err == PB_ERR_OK)
        err = l.rows.err;
    for (size_t i = 0; err == PB_ERR_OK && i < l.rows.count; i++)
        cb(cls, pb_vec_at(&l.rows, i));
    pb_vec_release(&l.rows);
    return err;
}

struct revoke_ctx {
    const struct pb_principal *who;
    const char *id;
    struct pb_audit_entry audit;
};

static enum pb_qs
revoke_tx(struct pb_tx *tx, void *cls)
{
    struct revoke_ctx *r = cls;
    enum pb_qs qs = tx->ops->api_key_delete(tx->conn, r->who->user_id, r->id);
    if (qs <= 0)
        return qs < 0 ? qs : pb_tx_abort(tx, PB_ERR_NOT_FOUND);
    return tx->ops->audit_insert(tx->conn, &r->audit);
}

enum pb_err
pb_apikey_revoke(struct pb_app *app, const struct pb_principal *who, const char *id,
                 const char *client_ip)
{
    if (!pb_id_valid(id))
        return PB_ERR_NOT_FOUND;
    struct revoke_ctx r = {.who = who, .id = id};
    char detail[64];
    snprintf(detail, sizeof(detail), "{\"api_key_id\":\"%s\"}", id);
    pb_audit_entry_make(&r.audit, who->account_id, who->user_id, "api_key.revoked", client_ip,
                        detail);
    return pb_store_tx(app->control, PB_TX_WRITE, revoke_tx, &r);
}
