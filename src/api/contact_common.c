/*
 * Helpers shared by the handlers of contacts, lists and consent: the
 * origin of a call, the `consent` part of a body, arrays of ids, and the
 * reply to a model error.
 */
#include "api/contact_common.h"

#include <stdio.h>
#include <string.h>

#include "core/arena.h"
#include "core/id.h"
#include "http/request.h"

void
pb_api_consent_origin(struct pb_request *req, const struct pb_principal *who,
                      char actor[PB_API_ACTOR_MAX], struct pb_consent_origin *out)
{
    memset(out, 0, sizeof(*out));
    if (who->via_api_key)
        snprintf(actor, PB_API_ACTOR_MAX, "api_key:%s", who->api_key_id);
    else
        snprintf(actor, PB_API_ACTOR_MAX, "user:%s", who->user_id);
    out->actor = actor;
    /* Only the web UI (a session) says so; an API key is the API whatever it claims. */
    const char *channel = pb_request_header(req, "X-Postbode-Channel");
    out->channel = !who->via_api_key && channel != NULL && strcmp(channel, "ui") == 0
                       ? PB_CHANNEL_UI
                       : PB_CHANNEL_API;
}

/* "name.key", or "key" when `name` is NULL (in the request's arena). */
static const char *
field_name(struct pb_request *req, const char *name, const char *key)
{
    if (name == NULL)
        return key;
    const char *s = pb_arena_printf(req->arena, "%s.%s", name, key);
    return s != NULL ? s : name;
}

int
pb_api_evidence_ids_parse(struct pb_request *req, json_t *arr, const char *name,
                          struct pb_consent_input *out)
{
    out->evidence_count = 0;
    if (arr == NULL || json_is_null(arr))
        return 0;
    if (!json_is_array(arr)) {
        pb_reply_error(req, PB_ERR_WRONG_TYPE, name, "\"%s\" is an array of evidence ids", name);
        return -1;
    }
    if (json_array_size(arr) > PB_STATEMENT_EVIDENCE) {
        pb_reply_error(req, PB_ERR_INVALID, name, "a statement has at most %d evidence images",
                       PB_STATEMENT_EVIDENCE);
        return -1;
    }
    size_t i;
    json_t *item;
    json_array_foreach(arr, i, item)
    {
        const char *id = json_string_value(item);
        if (id == NULL) {
            pb_reply_error(req, PB_ERR_WRONG_TYPE, name, "\"%s\" is an array of evidence ids",
                           name);
            return -1;
        }
        if (!pb_id_valid(id)) {
            pb_reply_error(req, PB_ERR_NOT_FOUND, name, "no such evidence");
            return -1;
        }
        out->evidence_ids[out->evidence_count++] = id;
    }
    return 0;
}

int
pb_api_consent_parse(struct pb_request *req, json_t *obj, const char *name,
                     struct pb_consent_input *out)
{
    memset(out, 0, sizeof(*out));
    if (!json_is_object(obj)) {
        pb_reply_error(req, PB_ERR_WRONG_TYPE, name,
                       "\"%s\" is {statement_id} or {basis, description, evidence_ids}", name);
        return -1;
    }
    json_t *evidence = NULL;
    const char *key;
    json_t *value;
    json_object_foreach(obj, key, value)
    {
        const char *f = field_name(req, name, key);
        if (strcmp(key, "evidence_ids") == 0) {
            evidence = value;
            continue;
        }
        const char **slot = strcmp(key, "statement_id") == 0  ? &out->statement_id
                            : strcmp(key, "basis") == 0       ? &out->basis
                            : strcmp(key, "description") == 0 ? &out->description
                                                              : NULL;
        if (slot == NULL) {
            pb_reply_error(req, PB_ERR_UNKNOWN_FIELD, f, "\"%s\" is not a field of a consent", f);
            return -1;
        }
        if (!json_is_string(value)) {
            pb_reply_error(req, PB_ERR_WRONG_TYPE, f, "\"%s\" is a string", f);
            return -1;
        }
        *slot = json_string_value(value);
    }
    if (out->statement_id != NULL) {
        if (out->basis != NULL || out->description != NULL || evidence != NULL) {
            pb_reply_error(req, PB_ERR_INVALID, name,
                           "give either a statement_id or a new statement (basis, "
                           "description, evidence_ids), not both");
            return -1;
        }
        if (!pb_id_valid(out->statement_id)) {
            const char *f = field_name(req, name, "statement_id");
            pb_reply_error(req, PB_ERR_NOT_FOUND, f, "no such consent statement");
            return -1;
        }
        return 0;
    }
    if (out->basis == NULL) {
        const char *f = field_name(req, name, "basis");
        pb_reply_error(req, PB_ERR_MISSING_FIELD, f,
                       "\"%s\" is required (or a statement_id to reuse a statement)", f);
        return -1;
    }
    if (out->description == NULL) {
        const char *f = field_name(req, name, "description");
        pb_reply_error(req, PB_ERR_MISSING_FIELD, f, "\"%s\" is required", f);
        return -1;
    }
    return pb_api_evidence_ids_parse(req, evidence, field_name(req, name, "evidence_ids"), out);
}

int
pb_api_ids_parse(struct pb_request *req, json_t *arr, const char *name, const char **ids, int max)
{
    if (!json_is_array(arr)) {
        pb_reply_error(req, PB_ERR_WRONG_TYPE, name, "\"%s\" is an array of ids", name);
        return -1;
    }
    if (json_array_size(arr) > (size_t)max) {
        pb_reply_error(req, PB_ERR_INVALID, name, "\"%s\" holds at most %d ids", name, max);
        return -1;
    }
    int n = 0;
    size_t i;
    json_t *item;
    json_array_foreach(arr, i, item)
    {
        const char *id = json_string_value(item);
        if (id == NULL) {
            pb_reply_error(req, PB_ERR_WRONG_TYPE, name, "\"%s\" is an array of ids", name);
            return -1;
        }
        if (!pb_id_valid(id)) {
            pb_reply_error(req, PB_ERR_NOT_FOUND, name, "no such id in \"%s\"", name);
            return -1;
        }
        ids[n++] = id;
    }
    return n;
}

void
pb_api_reply_failure(struct pb_request *req, enum pb_err err, const char *field, const char *why,
                     const char *not_found, const char *what)
{
    bool has_why = why != NULL && why[0] != '\0';
    if (err == PB_ERR_NOT_FOUND)
        pb_reply_error(req, err, field, "%s", has_why ? why : not_found);
    else if (pb_err_status(err) < 500)
        pb_reply_error(req, err, field, "%s", has_why ? why : pb_err_hint(err));
    else
        pb_reply_error(req, err, NULL, "cannot %s now", what);
}
