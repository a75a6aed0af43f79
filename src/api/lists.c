/*
 * GET/POST /lists, GET/PATCH/DELETE /lists/{id}: the contact lists of the
 * caller's account with their member counts; POST /lists/{id}/members and
 * DELETE /lists/{id}/members/{contact_id}: subscribe and unsubscribe. A
 * public list takes no address without a consent statement (model/contact.c).
 */
#include "api/api.h"

#include <stdbool.h>
#include <string.h>

#include "api/contact_common.h"
#include "api/page.h"
#include "core/clock.h"
#include "core/id.h"
#include "http/json.h"
#include "http/request.h"
#include "model/contact.h"
#include "model/list.h"

/* Contacts subscribed by one call of POST /lists/{id}/members, at most. */
#define MEMBERS_MAX 1000

/* A list as the API shows it. */
static json_t *
list_json(const struct pb_list *list)
{
    char created[21];
    pb_clock_format_rfc3339(list->created_at, created);
    return json_pack("{s:s, s:s, s:s, s:b, s:I, s:s}", "id", list->id, "name", list->name,
                     "description", list->description, "public", list->is_public, "member_count",
                     (json_int_t)list->member_count, "created_at", created);
}

/* The {id} of the path when it can name a list, or NULL after replying 404. */
static const char *
list_id_param(struct pb_request *req)
{
    const char *id = pb_request_param(req, "id");
    if (id == NULL || !pb_id_valid(id)) {
        pb_reply_error(req, PB_ERR_NOT_FOUND, NULL, "no such list");
        return NULL;
    }
    return id;
}

static void
list_one(void *cls, const struct pb_list *list)
{
    pb_api_page_add(cls, list->id, list_json(list));
}

void
pb_api_lists_list(struct pb_request *req)
{
    const struct pb_principal *who = pb_request_caller(req);
    struct pb_api_page page;
    if (who == NULL || pb_api_page_begin(req, &page) != 0)
        return;
    enum pb_err err = pb_list_list(req->app, who, page.cursor != NULL ? page.cursor : "",
                                   page.limit + 1, list_one, &page);
    pb_api_page_reply(req, &page, err, "list the lists");
}

void
pb_api_lists_create(struct pb_request *req)
{
    const struct pb_principal *who = pb_request_caller(req);
    const char *name = NULL, *description = NULL;
    int is_public = 0;
    if (who == NULL || pb_json_unpack(req, req->json, "{s:s, s:b, s?s}", "name", &name, "public",
                                      &is_public, "description", &description) != 0)
        return;
    struct pb_list list;
    memset(&list, 0, sizeof(list));
    const char *field = NULL;
    char why[PB_WHY_MAX] = "";
    enum pb_err err = pb_list_create(req->app, who, name, description != NULL ? description : "",
                                     is_public != 0, &list, &field, why);
    if (err == PB_ERR_OK)
        pb_reply_json(req, 201, list_json(&list));
    else
        pb_api_reply_failure(req, err, field, why, "no such list", "create the list");
}

void
pb_api_lists_get(struct pb_request *req)
{
    const struct pb_principal *who = pb_request_caller(req);
    const char *id = who != NULL ? list_id_param(req) : NULL;
    if (id == NULL)
        return;
    struct pb_list list;
    memset(&list, 0, sizeof(list));
    enum pb_err err = pb_list_get(req->app, who, id, &list);
    if (err == PB_ERR_OK)
        pb_reply_json(req, 200, list_json(&list));
    else
        pb_api_reply_failure(req, err, NULL, NULL, "no such list", "read the list");
}

void
pb_api_lists_update(struct pb_request *req)
{
    const struct pb_principal *who = pb_request_caller(req);
    const char *id = who != NULL ? list_id_param(req) : NULL;
    const char *name = NULL, *description = NULL;
    int given = -1; /* -1: "public" not in the body */
    if (id == NULL || pb_json_unpack(req, req->json, "{s?s, s?b, s?s}", "name", &name, "public",
                                     &given, "description", &description) != 0)
        return;
    bool is_public = given > 0;
    struct pb_list list;
    memset(&list, 0, sizeof(list));
    const char *field = NULL;
    char why[PB_WHY_MAX] = "";
    enum pb_err err = pb_list_update(req->app, who, id, name, description,
                                     given >= 0 ? &is_public : NULL, &list, &field, why);
    if (err == PB_ERR_OK)
        pb_reply_json(req, 200, list_json(&list));
    else
        pb_api_reply_failure(req, err, field, why, "no such list", "change the list");
}

void
pb_api_lists_delete(struct pb_request *req)
{
    const struct pb_principal *who = pb_request_caller(req);
    const char *id = who != NULL ? list_id_param(req) : NULL;
    if (id == NULL)
        return;
    enum pb_err err = pb_list_delete(req->app, who, id);
    if (err == PB_ERR_OK)
        pb_reply_bytes(req, 204, NULL, "", 0);
    else
        pb_api_reply_failure(req, err, NULL, NULL, "no such list", "delete the list");
}

void
pb_api_members_add(struct pb_request *req)
{
    const struct pb_principal *who = pb_request_caller(req);
    const char *id = who != NULL ? list_id_param(req) : NULL;
    json_t *ids_json = NULL, *consent_json = NULL;
    if (id == NULL || pb_json_unpack(req, req->json, "{s:o, s?o}", "contact_ids", &ids_json,
                                     "consent", &consent_json) != 0)
        return;
    const char **contact_ids = pb_arena_alloc(req->arena, sizeof(*contact_ids) * MEMBERS_MAX);
    if (contact_ids == NULL) {
        pb_reply_error(req, PB_ERR_NOMEM, NULL, "out of memory");
        return;
    }
    int count = pb_api_ids_parse(req, ids_json, "contact_ids", contact_ids, MEMBERS_MAX);
    if (count < 0)
        return;
    struct pb_consent_input consent;
    bool has_consent = consent_json != NULL && !json_is_null(consent_json);
    if (has_consent && pb_api_consent_parse(req, consent_json, "consent", &consent) != 0)
        return;
    char actor[PB_API_ACTOR_MAX];
    struct pb_consent_origin origin;
    pb_api_consent_origin(req, who, actor, &origin);
    int changed = 0;
    const char *field = NULL;
    char why[PB_WHY_MAX] = "";
    enum pb_err err =
        pb_contact_subscribe(req->app, who, id, contact_ids, count, has_consent ? &consent : NULL,
                             &origin, &changed, &field, why);
    if (err == PB_ERR_OK)
        pb_reply_json(req, 200, json_pack("{s:i}", "changed", changed));
    else
        pb_api_reply_failure(req, err, field, why, "no such list or contact", "subscribe");
}

void
pb_api_members_remove(struct pb_request *req)
{
    const struct pb_principal *who = pb_request_caller(req);
    const char *id = who != NULL ? list_id_param(req) : NULL;
    if (id == NULL)
        return;
    const char *contact_id = pb_request_param(req, "contact_id");
    if (contact_id == NULL || !pb_id_valid(contact_id)) {
        pb_reply_error(req, PB_ERR_NOT_FOUND, NULL, "no such contact");
        return;
    }
    char actor[PB_API_ACTOR_MAX];
    struct pb_consent_origin origin;
    pb_api_consent_origin(req, who, actor, &origin);
    enum pb_err err = pb_contact_unsubscribe(req->app, who, id, contact_id, &origin);
    if (err == PB_ERR_OK)
        pb_reply_bytes(req, 204, NULL, "", 0);
    else
        pb_api_reply_failure(req, err, NULL, NULL, "no such list or contact", "unsubscribe");
}
