/*
 * POST /erasures {email} or {contact_id}: the right to be forgotten (201
 * with the receipt); GET /erasures: the receipts, newest first. Receipts
 * hold no personal data; never log the address asked for.
 */
#include "api/api.h"

#include "api/contact_common.h"
#include "api/page.h"
#include "http/json.h"
#include "http/request.h"
#include "model/erasure.h"

void
pb_api_erasures_create(struct pb_request *req)
{
    const struct pb_principal *who = pb_request_caller(req);
    const char *email = NULL, *contact_id = NULL;
    if (who == NULL || pb_json_unpack(req, req->json, "{s?s, s?s}", "email", &email, "contact_id",
                                      &contact_id) != 0)
        return;
    if (email == NULL && contact_id == NULL) {
        pb_reply_error(req, PB_ERR_INVALID, "email",
                       "say whom to erase: {\"email\": ADDRESS} or {\"contact_id\": ID}");
        return;
    }
    if (email != NULL && contact_id != NULL) {
        pb_reply_error(req, PB_ERR_INVALID, "contact_id",
                       "give either email or contact_id, not both");
        return;
    }
    char actor[PB_API_ACTOR_MAX];
    struct pb_consent_origin origin;
    pb_api_consent_origin(req, who, actor, &origin);
    struct pb_erasure_by by = {.account_id = who->account_id,
                               .actor = origin.actor,
                               .channel = origin.channel,
                               .reason = PB_ERASURE_REASON_REQUEST,
                               .checkpoint = true};
    struct pb_erasure receipt;
    const char *field = NULL;
    char why[PB_WHY_MAX] = "";
    enum pb_err err = pb_erasure_erase(req->app, &by, email, contact_id, &receipt, &field, why);
    json_t *out = err == PB_ERR_OK ? pb_erasure_to_json(&receipt) : NULL;
    if (err == PB_ERR_OK && out == NULL)
        err = PB_ERR_NOMEM;
    if (err == PB_ERR_OK)
        pb_reply_json(req, 201, out);
    else
        pb_api_reply_failure(req, err, field, why, "no such contact", "erase the contact");
}

static void
list_one(void *cls, const char *id, json_t *item)
{
    pb_api_page_add(cls, id, item);
}

void
pb_api_erasures_list(struct pb_request *req)
{
    const struct pb_principal *who = pb_request_caller(req);
    struct pb_api_page page;
    if (who == NULL || pb_api_page_begin(req, &page) != 0)
        return;
    enum pb_err err =
        pb_erasure_list_json(req->app, who->account_id, page.cursor != NULL ? page.cursor : "",
                             page.limit + 1, list_one, &page);
    pb_api_page_reply(req, &page, err, "list the erasures");
}
