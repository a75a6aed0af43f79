/* Creating accounts and placing them in a region. */
#include "model/account.h"

#include <stdio.h>
#include <string.h>

#include "core/clock.h"
#include "core/strutil.h"

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

/* Counts UTF-8 code points (the string is known to be valid UTF-8). */
static size_t
utf8_chars(const char *s)
{
    size_t n = 0;
    for (; *s; s++)
        if (((unsigned char)*s & 0xc0) != 0x80)
            n++;
    return n;
}

enum pb_err
pb_account_create(struct pb_store *control, const char *name, const char *plan, const char *region,
                  struct pb_account *out, char why[PB_WHY_MAX])
{
    if (plan == NULL)
        plan = "standard";
    if (region == NULL)
        region = "local";
    size_t chars = pb_str_clean_utf8(name, PB_ACCOUNT_NAME_MAX) ? utf8_chars(name) : 0;
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

    struct create_ctx ctx = {out, region};
    enum pb_err err = pb_store_tx(control, PB_TX_WRITE, create_tx, &ctx);
    if (err == PB_ERR_REGION_UNKNOWN)
        snprintf(why, PB_WHY_MAX, "no region named \"%.40s\" (see postbode region list)", region);
    else if (err != PB_ERR_OK)
        snprintf(why, PB_WHY_MAX, "cannot create the account: %s", pb_err_hint(err));
    return err;
}
