/*
 * GET/PATCH /account: the caller's account and its settings (require_2fa,
 * tracking, the storage limits). The router has checked settings.manage
 * for the PATCH; model/account.c audits it.
 */
#include "api/api.h"

#include <string.h>

#include <sodium.h>

#include "http/json.h"
#include "http/request.h"
#include "model/account.h"
#include "model/auth.h"

/* Replies with the account as the API shows it (never its data key). */
static void
reply_account(struct pb_request *req, const struct pb_principal *who, int status)
{
    struct pb_account account;
    memset(&account, 0, sizeof(account));
    enum pb_err err = pb_account_get(req->app, who->account_id, &account);
    if (err == PB_ERR_OK)
        pb_reply_json(req, status,
                      json_pack("{s:s, s:s, s:s, s:b, s:s, s:i, s:i}", "id", account.id, "name",
                                account.name, "plan", account.plan, "require_2fa",
                                account.require_2fa, "tracking", account.tracking,
                                "erase_unlisted_after_days", account.erase_unlisted_days,
                                "erase_unconfirmed_after_days", account.erase_unconfirmed_days));
    else
        pb_reply_error(req, err, NULL, "cannot read the account now");
    sodium_memzero(&account, sizeof(account));
}

void
pb_api_account_get(struct pb_request *req)
{
    const struct pb_principal *who = pb_request_caller(req);
    if (who != NULL)
        reply_account(req, who, 200);
}

/*
 * A number of days from the body: `*set` when present. Anything but a JSON
 * integer (a string, 1.5, null, true) is refused here with 422 naming the
 * field; the model checks the range. Returns 0, or -1 after replying.
 */
static int
days_from(struct pb_request *req, json_t *value, const char *name, bool *set, int64_t *days)
{
    *set = value != NULL;
    if (value == NULL)
        return 0;
    if (!json_is_integer(value)) {
        pb_reply_error(req, PB_ERR_INVALID, name, "%s is a whole number of days from 0 (off) to %d",
                       name, PB_ACCOUNT_ERASE_DAYS_MAX);
        return -1;
    }
    *days = (int64_t)json_integer_value(value);
    return 0;
}

void
pb_api_account_update(struct pb_request *req)
{
    const struct pb_principal *who = pb_request_caller(req);
    int require_2fa = -1; /* -1: not in the body, left as it is */
    const char *tracking = NULL;
    json_t *unlisted = NULL, *unconfirmed = NULL;
    if (who == NULL ||
        pb_json_unpack(req, req->json, "{s?b, s?s, s?o, s?o}", "require_2fa", &require_2fa,
                       "tracking", &tracking, "erase_unlisted_after_days", &unlisted,
                       "erase_unconfirmed_after_days", &unconfirmed) != 0)
        return;
    struct pb_account_patch patch;
    memset(&patch, 0, sizeof(patch));
    if (require_2fa != -1) {
        patch.set_require_2fa = true;
        patch.require_2fa = require_2fa != 0;
    }
    patch.tracking = tracking;
    if (days_from(req, unlisted, "erase_unlisted_after_days", &patch.set_erase_unlisted,
                  &patch.erase_unlisted_days) != 0 ||
        days_from(req, unconfirmed, "erase_unconfirmed_after_days", &patch.set_erase_unconfirmed,
                  &patch.erase_unconfirmed_days) != 0)
        return;
    const char *field = NULL;
    char why[PB_WHY_MAX] = "";
    enum pb_err err = pb_account_patch_check(&patch, &field, why);
    if (err == PB_ERR_OK)
        err = pb_account_update(req->app, who, &patch, req->client_addr);
    if (err == PB_ERR_INVALID) {
        pb_reply_error(req, err, field, "%s", why[0] ? why : "a setting is not valid");
        return;
    }
    if (err != PB_ERR_OK) {
        pb_reply_error(req, err, NULL, "cannot change the account's settings now");
        return;
    }
    reply_account(req, who, 200);
}
