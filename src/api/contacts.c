/*
 * GET/POST /contacts, GET /contacts/search, GET/PATCH /contacts/{id}.
 * Every contact returned goes through the model's JSON, which masks the
 * address and leaves sensitive values out unless the caller's role holds
 * contacts.view_addresses (authors reach the reading endpoints only, masked).
 * Never log an address or a value.
 */
#include "api/api.h"

#include <stdbool.h>
#include <string.h>

#include "api/contact_common.h"
#include "api/page.h"
#include "core/id.h"
#include "http/json.h"
#include "http/request.h"
#include "model/contact.h"
#include "model/roles.h"

/* Whether the caller may see addresses and sensitive values (the one permission table). */
static bool
reveal_for(const struct pb_principal *who)
{
    return pb_role_allows(who->role, PB_PERM_CONTACTS_VIEW_ADDRESSES);
}

/* The {id} of the path when it can name a contact, or NULL after replying 404. */
static const char *
contact_id_param(struct pb_request *req)
{
    const char *id = pb_request_param(req, "id");
    if (id == NULL || !pb_id_valid(id)) {
        pb_reply_error(req, PB_ERR_NOT_FOUND, NULL, "no such contact");
        return NULL;
    }
    return id;
}

/* Replies with a contact as the caller may see it (`status`), or with the error of reading it. */
static void
reply_contact(struct pb_request *req, const struct pb_principal *who, const char *id, int status)
{
    json_t *contact = NULL;
    enum pb_err err = pb_contact_get_json(req->app, who, id, reveal_for(who), &contact);
    if (err == PB_ERR_OK && contact == NULL)
        err = PB_ERR_NOMEM;
    if (err == PB_ERR_OK)
        pb_reply_json(req, status, contact);
    else
        pb_api_reply_failure(req, err, NULL, NULL, "no such contact", "read the contact");
}

static void
list_one(void *cls, const char *id, json_t *item)
{
    pb_api_page_add(cls, id, item);
}

void
pb_api_contacts_list(struct pb_request *req)
{
    const struct pb_principal *who = pb_request_caller(req);
    struct pb_api_page page;
    if (who == NULL)
        return;
    const char *list_id = pb_request_query(req, "list");
    if (list_id != NULL && list_id[0] == '\0')
        list_id = NULL;
    if (list_id != NULL && !pb_id_valid(list_id)) {
        pb_reply_error(req, PB_ERR_NOT_FOUND, "list", "no such list");
        return;
    }
    if (pb_api_page_begin(req, &page) != 0)
        return;
    enum pb_err err =
        pb_contact_list_json(req->app, who, list_id, page.cursor != NULL ? page.cursor : "",
                             page.limit + 1, reveal_for(who), list_one, &page);
    if (err == PB_ERR_NOT_FOUND) {
        json_decref(page.items);
        pb_reply_error(req, err, "list", "no such list");
        return;
    }
    pb_api_page_reply(req, &page, err, "list the contacts");
}

void
pb_api_contacts_create(struct pb_request *req)
{
    const struct pb_principal *who = pb_request_caller(req);
    const char *email = NULL;
    json_t *fields = NULL, *lists = NULL, *consent_json = NULL;
    int override = 0;
    if (who == NULL || pb_json_unpack(req, req->json, "{s:s, s?o, s?o, s?o, s?b}", "email", &email,
                                      "fields", &fields, "lists", &lists, "consent", &consent_json,
                                      "override_suppression", &override) != 0)
        return;
    struct pb_contact_new in;
    memset(&in, 0, sizeof(in));
    in.email = email;
    in.override_suppression = override != 0;
    if (fields != NULL && !json_is_null(fields)) {
        if (!json_is_object(fields)) {
            pb_reply_error(req, PB_ERR_WRONG_TYPE, "fields",
                           "\"fields\" is an object: key -> value");
            return;
        }
        in.fields = fields;
    }
    if (lists != NULL && !json_is_null(lists)) {
        in.list_count = pb_api_ids_parse(req, lists, "lists", in.list_ids, PB_CONTACT_LISTS_MAX);
        if (in.list_count < 0)
            return;
    }
    struct pb_consent_input consent;
    if (consent_json != NULL && !json_is_null(consent_json)) {
        if (pb_api_consent_parse(req, consent_json, "consent", &consent) != 0)
            return;
        in.consent = &consent;
    }
    char actor[PB_API_ACTOR_MAX];
    struct pb_consent_origin origin;
    pb_api_consent_origin(req, who, actor, &origin);
    char id[PB_ID_LEN + 1] = "";
    const char *field = NULL;
    char why[PB_WHY_MAX] = "";
    enum pb_err err = pb_contact_create(req->app, who, &in, &origin, id, &field, why);
    if (err == PB_ERR_OK)
        reply_contact(req, who, id, 201);
    else
        pb_api_reply_failure(req, err, field, why, "no such list, statement or evidence",
                             "create the contact");
}

void
pb_api_contacts_search(struct pb_request *req)
{
    const struct pb_principal *who = pb_request_caller(req);
    if (who == NULL)
        return;
    const char *email = pb_request_query(req, "email");
    if (email == NULL || email[0] == '\0') {
        pb_reply_error(req, PB_ERR_BAD_REQUEST, "email", "give the address: ?email=");
        return;
    }
    bool found = false;
    json_t *contact = NULL;
    enum pb_err err = pb_contact_search(req->app, who, email, reveal_for(who), &found, &contact);
    if (err == PB_ERR_OK && found && contact == NULL)
        err = PB_ERR_NOMEM;
    if (err == PB_ERR_OK && found)
        pb_reply_json(req, 200, json_pack("{s:b, s:o}", "found", 1, "contact", contact));
    else if (err == PB_ERR_OK)
        pb_reply_json(req, 200, json_pack("{s:b}", "found", 0));
    else if (err == PB_ERR_EMAIL_INVALID)
        pb_reply_error(req, err, "email", "the address is not valid");
    else
        pb_api_reply_failure(req, err, "email", NULL, "no such contact", "search the contacts");
    if (err != PB_ERR_OK || !found)
        json_decref(contact);
}

void
pb_api_contacts_get(struct pb_request *req)
{
    const struct pb_principal *who = pb_request_caller(req);
    const char *id = who != NULL ? contact_id_param(req) : NULL;
    if (id != NULL)
        reply_contact(req, who, id, 200);
}

void
pb_api_contacts_update(struct pb_request *req)
{
    const struct pb_principal *who = pb_request_caller(req);
    const char *id = who != NULL ? contact_id_param(req) : NULL;
    json_t *fields = NULL;
    if (id == NULL || pb_json_unpack(req, req->json, "{s:o}", "fields", &fields) != 0)
        return;
    if (!json_is_object(fields)) {
        pb_reply_error(req, PB_ERR_WRONG_TYPE, "fields",
                       "\"fields\" is an object: key -> value (null removes)");
        return;
    }
    char actor[PB_API_ACTOR_MAX];
    struct pb_consent_origin origin;
    pb_api_consent_origin(req, who, actor, &origin);
    const char *field = NULL;
    char why[PB_WHY_MAX] = "";
    enum pb_err err = pb_contact_update(req->app, who, id, fields, &origin, &field, why);
    if (err == PB_ERR_OK)
        reply_contact(req, who, id, 200);
    else
        pb_api_reply_failure(req, err, field, why, "no such contact", "change the contact");
}
