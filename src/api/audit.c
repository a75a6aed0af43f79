/*
 * GET /audit: the audit log of the caller's account, newest first, keyset
 * paginated. The router lets only owners (audit.read) reach it.
 */
#include "api/api.h"

#include <string.h>

#include "api/page.h"
#include "core/clock.h"
#include "core/id.h"
#include "http/request.h"
#include "model/audit.h"
#include "model/auth.h"

/* An entry as the API shows it; a detail that is not a JSON object shows as {}. */
static json_t *
entry_json(const struct pb_audit_entry *entry)
{
    char at[21];
    pb_clock_format_rfc3339(entry->at, at);
    json_t *detail = json_loads(entry->detail, JSON_REJECT_DUPLICATES, NULL);
    if (!json_is_object(detail)) {
        json_decref(detail);
        detail = json_object();
    }
    json_t *actor =
        entry->actor_user_id[0] != '\0' ? json_string(entry->actor_user_id) : json_null();
    return json_pack("{s:s, s:s, s:o, s:s, s:s, s:o}", "id", entry->id, "at", at, "actor_user_id",
                     actor, "action", entry->action, "client_ip", entry->client_ip, "detail",
                     detail);
}

/* One row of GET /audit. */
static void
list_one(void *cls, const struct pb_audit_entry *entry)
{
    pb_api_page_add(cls, entry->id, entry_json(entry));
}

void
pb_api_audit_list(struct pb_request *req)
{
    const struct pb_principal *who = pb_request_caller(req);
    struct pb_api_page page;
    if (who == NULL || pb_api_page_begin(req, &page) != 0)
        return;
    enum pb_err err =
        pb_audit_list(req->app, who->account_id, page.cursor, page.limit + 1, list_one, &page);
    pb_api_page_reply(req, &page, err, "read the audit log");
}
