/*
 * GET/POST /api-keys, DELETE /api-keys/{id}: the caller's own API keys.
 * The token is in the reply of the creation only; the stores keep its hash
 * (model/apikey.c).
 */
#include "api/api.h"

#include <string.h>

#include <sodium.h>

#include "core/clock.h"
#include "core/id.h"
#include "http/json.h"
#include "http/request.h"
#include "model/apikey.h"

/* A key as listed: never its token nor its hash. */
static json_t *
key_json(const struct pb_api_key *key)
{
    char created[21], used[21];
    pb_clock_format_rfc3339(key->created_at, created);
    json_t *last_used = json_null();
    if (key->last_used_at > 0) {
        pb_clock_format_rfc3339(key->last_used_at, used);
        last_used = json_string(used);
    }
    return json_pack("{s:s, s:s, s:s, s:s, s:o}", "id", key->id, "name", key->name, "prefix",
                     key->prefix, "created_at", created, "last_used_at", last_used);
}

struct list_out {
    json_t *items;
    bool failed;
};

static void
list_one(void *cls, const struct pb_api_key *key)
{
    struct list_out *l = cls;
    json_t *item = key_json(key);
    if (item == NULL || json_array_append_new(l->items, item) != 0)
        l->failed = true;
}

void
pb_api_keys_list(struct pb_request *req)
{
    const struct pb_principal *who = pb_request_caller(req);
    if (who == NULL)
        return;
    struct list_out l = {.items = json_array()};
    if (l.items == NULL) {
        pb_reply_error(req, PB_ERR_NOMEM, NULL, "out of memory");
        return;
    }
    enum pb_err err = pb_apikey_list(req->app, who, list_one, &l);
    if (err == PB_ERR_OK && l.failed)
        err = PB_ERR_NOMEM;
    if (err != PB_ERR_OK) {
        pb_reply_error(req, err, NULL, "cannot list the API keys now");
        goto out;
    }
    pb_reply_json(req, 200, json_pack("{s:O}", "items", l.items));
out:
    json_decref(l.items);
}

void
pb_api_keys_create(struct pb_request *req)
{
    const struct pb_principal *who = pb_request_caller(req);
    const char *name = NULL;
    if (who == NULL || pb_json_unpack(req, req->json, "{s:s}", "name", &name) != 0)
        return;
    struct pb_api_key key;
    char token[PB_API_KEY_LEN + 1] = "";
    memset(&key, 0, sizeof(key));
    enum pb_err err = pb_apikey_create(req->app, who, name, req->client_addr, &key, token);
    switch (err) {
    case PB_ERR_OK: {
        char created[21];
        pb_clock_format_rfc3339(key.created_at, created);
        pb_reply_json(req, 201,
                      json_pack("{s:s, s:s, s:s, s:s, s:s}", "id", key.id, "name", key.name,
                                "prefix", key.prefix, "token", token, "created_at", created));
        break;
    }
    case PB_ERR_NAME_INVALID:
        pb_reply_error(req, err, "name", "a key's name is 1 to 100 characters of text");
        break;
    default:
        pb_reply_error(req, err, NULL, "cannot create the API key now");
        break;
    }
    sodium_memzero(token, sizeof(token));
    sodium_memzero(&key, sizeof(key));
}

void
pb_api_keys_delete(struct pb_request *req)
{
    const struct pb_principal *who = pb_request_caller(req);
    if (who == NULL)
        return;
    const char *id = pb_request_param(req, "id");
    enum pb_err err = PB_ERR_NOT_FOUND;
    if (pb_id_valid(id))
        err = pb_apikey_revoke(req->app, who, id, req->client_addr);
    switch (err) {
    case PB_ERR_OK:
        pb_reply_bytes(req, 204, NULL, "", 0);
        break;
    case PB_ERR_NOT_FOUND:
        pb_reply_error(req, err, NULL, "no such API key");
        break;
    default:
        pb_reply_error(req, err, NULL, "cannot revoke the API key now");
        break;
    }
}
