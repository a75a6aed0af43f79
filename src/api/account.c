/*
 * GET/PATCH /account: the caller's account and its settings (require_2fa,
 * tracking). The router has checked settings.manage for the PATCH;
 * model/account.c audits it.
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
                      json_pack("{s:s, s:s, s:s, s:b, s:s}", "id", account.id, "name", account.name,
                                "plan", account.plan, "require_2fa", account.require_2fa,
                                "tracking", account.tracking));
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

void
pb_api_account_update(struct pb_request *req)
{
    const struct pb_principal *who = pb_request_caller(req);
    int require_2fa = -1; /* -1: not in the body, left as it is */
    const char *tracking = NULL;
    if (who == NULL || pb_json_unpack(req, req->json, "{s?b, s?s}", "require_2fa", &require_2fa,
                                      "tracking", &tracking) != 0)
        return;
    struct pb_account_patch patch;
    memset(&patch, 0, sizeof(patch));
    if (require_2fa != -1) {
        patch.set_require_2fa = true;
        patch.require_2fa = require_2fa != 0;
    }
    patch.tracking = tracking;
    enum pb_err err = pb_account_update(req->app, who, &patch, req->client_addr);
    if (err == PB_ERR_INVALID) {
        pb_reply_error(req, err, "tracking",
                       "tracking is \"off\", \"aggregate\" (counts only, the default) or "
                       "\"individual\" (who opened and clicked)");
        return;
    }
    if (err != PB_ERR_OK) {
        pb_reply_error(req, err, NULL, "cannot change the account's settings now");
        return;
    }
    reply_account(req, who, 200);
}
