/* Creating accounts and placing them in a region. */
#include "model/account.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

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
    const struct pb_account_patch *patch = u->patch;
    enum pb_qs qs;
    if (patch->set_require_2fa && (qs = tx->ops->account_set_require_2fa(
                                       tx->conn, u->who->account_id, patch->require_2fa)) <= 0)
        return qs < 0 ? qs : pb_tx_abort(tx, PB_ERR_NOT_FOUND);
    if (patch->tracking != NULL &&
        (qs = tx->ops->account_set_tracking(tx->conn, u->who->account_id, patch->tracking)) <= 0)
        return qs < 0 ? qs : pb_tx_abort(tx, PB_ERR_NOT_FOUND);
    if (patch->set_erase_unlisted || patch->set_erase_unconfirmed) {
        /* The store sets both limits at once: the one left out keeps its value. */
        struct pb_account current;
        qs = tx->ops->account_get(tx->conn, u->who->account_id, &current);
        int unlisted = current.erase_unlisted_days, unconfirmed = current.erase_unconfirmed_days;
        sodium_memzero(current.data_key, sizeof(current.data_key));
        if (qs <= 0)
            return qs < 0 ? qs : pb_tx_abort(tx, PB_ERR_NOT_FOUND);
        if (patch->set_erase_unlisted)
            unlisted = (int)patch->erase_unlisted_days;
        if (patch->set_erase_unconfirmed)
            unconfirmed = (int)patch->erase_unconfirmed_days;
        if ((qs = tx->ops->account_set_storage_limits(tx->conn, u->who->account_id, unlisted,
                                                      unconfirmed)) <= 0)
            return qs < 0 ? qs : pb_tx_abort(tx, PB_ERR_NOT_FOUND);
    }
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
pb_account_patch_check(const struct pb_account_patch *patch, const char **field,
                       char why[PB_WHY_MAX])
{
    *field = NULL;
    if (patch->tracking != NULL && !pb_account_tracking_valid(patch->tracking)) {
        *field = "tracking";
        snprintf(why, PB_WHY_MAX,
                 "tracking is \"off\", \"aggregate\" (counts only, the default) or "
                 "\"individual\" (who opened and clicked)");
        return PB_ERR_INVALID;
    }
    if (patch->set_erase_unlisted &&
        (patch->erase_unlisted_days < 0 || patch->erase_unlisted_days > PB_ACCOUNT_ERASE_DAYS_MAX))
        *field = "erase_unlisted_after_days";
    else if (patch->set_erase_unconfirmed &&
             (patch->erase_unconfirmed_days < 0 ||
              patch->erase_unconfirmed_days > PB_ACCOUNT_ERASE_DAYS_MAX))
        *field = "erase_unconfirmed_after_days";
    if (*field != NULL) {
        snprintf(why, PB_WHY_MAX, "%s is a whole number of days from 0 (off) to %d", *field,
                 PB_ACCOUNT_ERASE_DAYS_MAX);
        return PB_ERR_INVALID;
    }
    return PB_ERR_OK;
}

enum pb_err
pb_account_update(struct pb_app *app, const struct pb_principal *who,
                  const struct pb_account_patch *patch, const char *client_ip)
{
    const char *field = NULL;
    char why[PB_WHY_MAX];
    if (pb_account_patch_check(patch, &field, why) != PB_ERR_OK)
        return PB_ERR_INVALID;
    struct update_ctx u = {.who = who, .patch = patch};
    /* What changed; every value is checked above, so none needs escaping. */
    char detail[256];
    size_t len = 0;
    detail[len++] = '{';
    detail[len] = '\0';
    if (patch->set_require_2fa)
        len += (size_t)snprintf(detail + len, sizeof(detail) - len, "\"require_2fa\":%s,",
                                patch->require_2fa ? "true" : "false");
    if (patch->tracking != NULL)
        len += (size_t)snprintf(detail + len, sizeof(detail) - len, "\"tracking\":\"%s\",",
                                patch->tracking);
    if (patch->set_erase_unlisted)
        len +=
            (size_t)snprintf(detail + len, sizeof(detail) - len,
                             "\"erase_unlisted_after_days\":%d,", (int)patch->erase_unlisted_days);
    if (patch->set_erase_unconfirmed)
        len += (size_t)snprintf(detail + len, sizeof(detail) - len,
                                "\"erase_unconfirmed_after_days\":%d,",
                                (int)patch->erase_unconfirmed_days);
    /* The last comma, or the opening brace alone, is followed by the closing one. */
    if (detail[len - 1] == ',')
        len--;
    snprintf(detail + len, sizeof(detail) - len, "}");
    pb_audit_entry_make(&u.audit, who->account_id, who->user_id, "account.updated", client_ip,
                        detail);
    return pb_store_tx(app->control, PB_TX_WRITE, update_tx, &u);
}
