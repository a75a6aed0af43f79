/*
 * GET/POST /fields, PATCH/DELETE /fields/{key}: the custom contact fields
 * of the caller's account (key, label, type, sensitive). The router has
 * checked the permission; the rules (reserved keys, types, sealing values
 * when `sensitive` changes) live in model/field.c.
 */
#include "api/api.h"
#include "api/contact_common.h"

#include <stdbool.h>
#include <string.h>

#include "core/clock.h"
#include "core/strutil.h"
#include "http/json.h"
#include "http/request.h"
#include "model/field.h"

/* A field as the API shows it. */
static json_t *
field_json(const struct pb_field *f)
{
    char created[21];
    pb_clock_format_rfc3339(f->created_at, created);
    return json_pack("{s:s, s:s, s:s, s:b, s:s}", "key", f->key, "label", f->label, "type", f->type,
                     "sensitive", f->sensitive, "created_at", created);
}

struct list_out {
    json_t *items;
    bool failed;
};

static void
list_one(void *cls, const struct pb_field *f)
{
    struct list_out *l = cls;
    json_t *item = field_json(f);
    if (item == NULL || json_array_append_new(l->items, item) != 0)
        l->failed = true;
}

void
pb_api_fields_list(struct pb_request *req)
{
    const struct pb_principal *who = pb_request_caller(req);
    if (who == NULL)
        return;
    struct list_out l = {.items = json_array()};
    if (l.items == NULL) {
        pb_reply_error(req, PB_ERR_NOMEM, NULL, "out of memory");
        return;
    }
    enum pb_err err = pb_field_list(req->app, who, list_one, &l);
    if (err == PB_ERR_OK && l.failed)
        err = PB_ERR_NOMEM;
    if (err != PB_ERR_OK)
        pb_reply_error(req, err, NULL, "cannot list the fields now");
    else
        pb_reply_json(req, 200, json_pack("{s:O, s:n}", "items", l.items, "next_cursor"));
    json_decref(l.items);
}

void
pb_api_fields_create(struct pb_request *req)
{
    const struct pb_principal *who = pb_request_caller(req);
    const char *key = NULL, *label = NULL, *type = NULL;
    int sensitive = 0;
    if (who == NULL || pb_json_unpack(req, req->json, "{s:s, s:s, s:s, s?b}", "key", &key, "label",
                                      &label, "type", &type, "sensitive", &sensitive) != 0)
        return;
    /* The model takes fixed buffers: a longer value must be refused, never cut to fit. */
    struct pb_field in, out;
    memset(&in, 0, sizeof(in));
    memset(&out, 0, sizeof(out));
    if (strlen(key) > PB_FIELD_KEY_MAX) {
        pb_reply_error(req, PB_ERR_INVALID, "key",
                       "a key is 1 to %d of a-z, 0-9 and _, starting with a letter",
                       PB_FIELD_KEY_MAX);
        return;
    }
    if (strlen(label) > PB_LABEL_MAX) {
        pb_reply_error(req, PB_ERR_INVALID, "label", "a label is 1 to 100 characters");
        return;
    }
    if (strlen(type) >= sizeof(in.type)) {
        pb_reply_error(req, PB_ERR_INVALID, "type", "the type is text, number, date or bool");
        return;
    }
    pb_strlcpy(in.account_id, who->account_id, sizeof(in.account_id));
    pb_strlcpy(in.key, key, sizeof(in.key));
    pb_strlcpy(in.label, label, sizeof(in.label));
    pb_strlcpy(in.type, type, sizeof(in.type));
    in.sensitive = sensitive != 0;
    const char *field = NULL;
    char why[PB_WHY_MAX] = "";
    enum pb_err err = pb_field_create(req->app, who, &in, &out, &field, why);
    if (err == PB_ERR_OK)
        pb_reply_json(req, 201, field_json(&out));
    else
        pb_api_reply_failure(req, err, field, why, "no such field", "create the field");
}

void
pb_api_fields_update(struct pb_request *req)
{
    const struct pb_principal *who = pb_request_caller(req);
    const char *key = pb_request_param(req, "key");
    const char *label = NULL;
    int given = -1; /* -1: not in the body */
    if (who == NULL ||
        pb_json_unpack(req, req->json, "{s?s, s?b}", "label", &label, "sensitive", &given) != 0)
        return;
    bool sensitive = given > 0;
    if (label != NULL && strlen(label) > PB_LABEL_MAX) {
        pb_reply_error(req, PB_ERR_INVALID, "label", "a label is 1 to 100 characters");
        return;
    }
    struct pb_field out;
    memset(&out, 0, sizeof(out));
    const char *field = NULL;
    char why[PB_WHY_MAX] = "";
    char job_id[PB_ID_LEN + 1] = "";
    enum pb_err err = pb_field_update(req->app, who, key, label, given >= 0 ? &sensitive : NULL,
                                      &out, job_id, &field, why);
    if (err == PB_ERR_OK) {
        /* A changed flag: the values follow in a job, whose progress is GET /jobs/{id}. */
        json_t *body = field_json(&out);
        if (body != NULL && job_id[0] != '\0')
            json_object_set_new(body, "reseal_job_id", json_string(job_id));
        pb_reply_json(req, 200, body);
    } else
        pb_api_reply_failure(req, err, field, why, "no such field", "change the field");
}

void
pb_api_fields_delete(struct pb_request *req)
{
    const struct pb_principal *who = pb_request_caller(req);
    if (who == NULL)
        return;
    enum pb_err err = pb_field_delete(req->app, who, pb_request_param(req, "key"));
    if (err == PB_ERR_OK)
        pb_reply_bytes(req, 204, NULL, "", 0);
    else
        pb_api_reply_failure(req, err, NULL, NULL, "no such field", "delete the field");
}
