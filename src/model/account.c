/* Creating accounts and placing them in a region. */
#include "model/account.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/clock.h"
#include "core/strutil.h"
#include "crypto/keys.h"
#include "model/audit.h"
#include "model/auth.h"

struct create_ctx {
    const struct pb_account *account;
    const char *region;
};

static enum pb_qs
create_tx(struct pb_tx *tx, void *cls)
{
    struct create_ctx *ctx = cls;
    struct pb_region region;
    enum pb_qs qs = tx->ops->region_get(tx->conn, ctx->region, &region);
    if (qs < 0)
        return qs;
    if (qs == PB_QS_NONE)
        return pb_tx_abort(tx, PB_ERR_REGION_UNKNOWN);
    if ((qs = tx->ops->account_insert(tx->conn, ctx->account)) <= 0)
        return qs < 0 ? qs : PB_QS_HARD_ERROR;
    if ((qs = tx->ops->placement_set(tx->conn, ctx->account->id, ctx->region)) <= 0)
        return qs < 0 ? qs : PB_QS_HARD_ERROR;
    return PB_QS_ONE;
}

enum pb_err
pb_account_create(struct pb_app *app, const char *name, const char *plan, const char *region,
                  struct pb_account *out, char why[PB_WHY_MAX])
{
    if (plan == NULL)
        plan = "standard";
    if (region == NULL)
        region = "local";
    size_t chars = pb_str_clean_utf8(name, PB_ACCOUNT_NAME_MAX) ? pb_str_utf8_chars(name) : 0;
    if (chars == 0 || chars > PB_ACCOUNT_NAME_CHARS || name[0] == ' ' ||
        name[strlen(name) - 1] == ' ') {
        snprintf(why, PB_WHY_MAX,
                 "account name must be 1 to %d characters of UTF-8 text, without control "
                 "characters or surrounding spaces",
                 PB_ACCOUNT_NAME_CHARS);
        return PB_ERR_ACCOUNT_NAME;
    }
    if (strcmp(plan, "standard") != 0 && strcmp(plan, "enterprise") != 0) {
        snprintf(why, PB_WHY_MAX, "plan must be standard or enterprise, not \"%.40s\"", plan);
        return PB_ERR_ACCOUNT_PLAN;
    }

    memset(out, 0, sizeof(*out));
    pb_id_new(out->id);
    pb_strlcpy(out->name, name, sizeof(out->name));
    pb_strlcpy(out->plan, plan, sizeof(out->plan));
    out->created_at = pb_clock_now();
    if (app->keys != NULL) {
        unsigned char *wrapped = NULL;
        size_t len = 0;
        enum pb_err err = pb_keys_new_data_key(app->keys, out->id, &wrapped, &len);
        if (err != PB_ERR_OK)
            return err;
        if (len <= sizeof(out->data_key)) {
            memcpy(out->data_key, wrapped, len);
            out->data_key_len = len;
        }
        free(wrapped);
    }

    struct create_ctx ctx = {out, region};
    enum pb_err err = pb_store_tx(app->control, PB_TX_WRITE, create_tx, &ctx);
    if (err == PB_ERR_REGION_UNKNOWN)
        snprintf(why, PB_WHY_MAX, "no region named \"%.40s\" (see postbode region list)", region);
    else if (err != PB_ERR_OK)
        snprintf(why, PB_WHY_MAX, "cannot create the account: %s", pb_err_hint(err));
    return err;
}

static enum pb_qs
get_tx(struct pb_tx *tx, void *cls)
{
    struct pb_account *a = cls;
    enum pb_qs qs = tx->ops->account_get(tx->conn, a->id, a);
    return qs == PB_QS_NONE ? pb_tx_abort(tx, PB_ERR_NOT_FOUND) : qs;
}

enum pb_err
pb_account_get(struct pb_app *app, const char *account_id, struct pb_account *out)
{
    memset(out, 0, sizeof(*out));
    if (!pb_id_valid(account_id))
        return PB_ERR_NOT_FOUND;
    pb_strlcpy(out->id, account_id, sizeof(out->id));
    return pb_store_tx(app->control, PB_TX_READ, get_tx, out);
}

struct update_ctx {
    const struct pb_principal *who;
    const struct pb_account_patch *patch;
    struct pb_audit_entry audit;
};

static enum pb_qs
update_tx(struct pb_tx *tx, void *cls)
{
    struct update_ctx *u = cls;
    enum pb_qs qs;
    if (u->patch->set_require_2fa &&
        (qs = tx->ops->account_set_require_2fa(tx->conn, u->who->account_id,
                                               u->patch->require_2fa)) <= 0)
        return qs < 0 ? qs : pb_tx_abort(tx, PB_ERR_NOT_FOUND);
    if (u->patch->tracking != NULL &&
        (qs = tx->ops->account_set_tracking(tx->conn, u->who->account_id, u->patch->tracking)) <= 0)
        return qs < 0 ? qs : pb_tx_abort(tx, PB_ERR_NOT_FOUND);
    return tx->ops->audit_insert(tx->conn, &u->audit);
}

bool
pb_account_tracking_valid(const char *tracking)
{
    return tracking != NULL &&
           (strcmp(tracking, "off") == 0 || strcmp(tracking, "aggregate") == 0 ||
            strcmp(tracking, "individual") == 0);
}

enum pb_err
pb_account_update(struct pb_app *app, const struct pb_principal *who,
                  const struct pb_account_patch *patch, const char *client_ip)
{
    if (patch->tracking != NULL && !pb_account_tracking_valid(patch->tracking))
        return PB_ERR_INVALID;
    struct update_ctx u = {.who = who, .patch = patch};
    /* What changed; the tracking mode is checked above, so it needs no escaping. */
    char detail[96], require[32] = "", tracking[32] = "";
    if (patch->set_require_2fa)
        snprintf(require, sizeof(require), "\"require_2fa\":%s",
                 patch->require_2fa ? "true" : "false");
    if (patch->tracking != NULL)
        snprintf(tracking, sizeof(tracking), "\"tracking\":\"%s\"", patch->tracking);
    snprintf(detail, sizeof(detail), "{%s%s%s}", require, require[0] && tracking[0] ? "," : "",
             tracking);
    pb_audit_entry_make(&u.audit, who->account_id, who->user_id, "account.updated", client_ip,
                        detail);
    return pb_store_tx(app->control, PB_TX_WRITE, update_tx, &u);
}
