/*
 * GET /audit: the audit log of the caller's account, newest first, keyset
 * paginated. The router lets only owners (audit.read) reach it.
 */
#include "api/api.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "core/clock.h"
#include "core/id.h"
#include "http/request.h"
#include "model/audit.h"
#include "model/auth.h"

#define LIST_DEFAULT 50
#define LIST_MAX     200

/*
 * ?limit= (1..LIST_MAX, LIST_DEFAULT when absent) and ?cursor= (an id, or
 * absent). Returns 0, or -1 after replying 400 naming the parameter.
 */
static int
page_params(struct pb_request *req, int *limit, const char **cursor)
{
    const char *text = pb_request_query(req, "limit");
    *limit = LIST_DEFAULT;
    if (text != NULL) {
        char *end = NULL;
        errno = 0;
        long n = strtol(text, &end, 10);
        if (text[0] < '0' || text[0] > '9' || errno != 0 || end == text || *end != '\0' || n < 1 ||
            n > LIST_MAX) {
            pb_reply_error(req, PB_ERR_BAD_REQUEST, "limit", "limit is a number from 1 to %d",
                           LIST_MAX);
            return -1;
        }
        *limit = (int)n;
    }
    *cursor = pb_request_query(req, "cursor");
    if (*cursor != NULL && !pb_id_valid(*cursor)) {
        pb_reply_error(req, PB_ERR_BAD_REQUEST, "cursor",
                       "cursor is the next_cursor of the previous page");
        return -1;
    }
    return 0;
}

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

struct list_out {
    json_t *items;
    int count;
    int limit;
    char last_id[PB_ID_LEN + 1]; /* of the last item kept */
    bool more;                   /* a row past the limit was seen */
    bool failed;                 /* out of memory */
};

static void
list_one(void *cls, const struct pb_audit_entry *entry)
{
    struct list_out *l = cls;
    if (l->count >= l->limit) {
        l->more = true;
        return;
    }
    json_t *item = entry_json(entry);
    if (item == NULL || json_array_append_new(l->items, item) != 0) {
        l->failed = true;
        return;
    }
    memcpy(l->last_id, entry->id, sizeof(l->last_id));
    l->count++;
}

void
pb_api_audit_list(struct pb_request *req)
{
    const struct pb_principal *who = pb_request_principal(req);
    int limit;
    const char *cursor;
    if (who == NULL) {
        pb_reply_error(req, PB_ERR_UNAUTHENTICATED, NULL, "log in first");
        return;
    }
    if (page_params(req, &limit, &cursor) != 0)
        return;
    struct list_out l = {.items = json_array(), .limit = limit};
    if (l.items == NULL) {
        pb_reply_error(req, PB_ERR_NOMEM, NULL, "out of memory");
        return;
    }
    /* One row more than asked tells whether there is a next page. */
    enum pb_err err = pb_audit_list(req->app, who->account_id, cursor, limit + 1, list_one, &l);
    if (err == PB_ERR_OK && l.failed)
        err = PB_ERR_NOMEM;
    if (err != PB_ERR_OK) {
        pb_reply_error(req, err, NULL, "cannot read the audit log now");
        goto out;
    }
    pb_reply_json(req, 200,
                  json_pack("{s:O, s:o}", "items", l.items, "next_cursor",
                            l.more ? json_string(l.last_id) : json_null()));
out:
    json_decref(l.items);
}
