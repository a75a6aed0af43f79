/*
 * GET/POST /users, PATCH/DELETE /users/{id}: the users of the caller's
 * account. The router has checked users.manage; the rules (roles, the last
 * owner, invitations) live in model/user.c.
 */
#include "api/api.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "core/clock.h"
#include "core/id.h"
#include "http/json.h"
#include "http/request.h"
#include "model/user.h"

#define LIST_DEFAULT 50
#define LIST_MAX     200

/* A user as the API shows it (never the password hash nor the TOTP secret). */
static json_t *
user_json(const struct pb_user *user)
{
    char created[21];
    pb_clock_format_rfc3339(user->created_at, created);
    return json_pack("{s:s, s:s, s:s, s:b, s:s}", "id", user->id, "email", user->email, "role",
                     user->role, "totp_enabled", user->totp_enabled, "created_at", created);
}

/* The caller, or NULL after replying 401 (the router normally saw to it). */
static const struct pb_principal *
caller(struct pb_request *req)
{
    const struct pb_principal *who = pb_request_principal(req);
    if (who == NULL)
        pb_reply_error(req, PB_ERR_UNAUTHENTICATED, NULL, "log in first");
    return who;
}

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

struct list_out {
    json_t *items;
    int count;
    int limit;
    char last_id[PB_ID_LEN + 1]; /* of the last item kept */
    bool more;                   /* a row past the limit was seen */
    bool failed;                 /* out of memory */
};

static void
list_one(void *cls, const struct pb_user *user)
{
    struct list_out *l = cls;
    if (l->count >= l->limit) {
        l->more = true;
        return;
    }
    json_t *item = user_json(user);
    if (item == NULL || json_array_append_new(l->items, item) != 0) {
        l->failed = true;
        return;
    }
    memcpy(l->last_id, user->id, sizeof(l->last_id));
    l->count++;
}

void
pb_api_users_list(struct pb_request *req)
{
    const struct pb_principal *who = caller(req);
    int limit;
    const char *cursor;
    if (who == NULL || page_params(req, &limit, &cursor) != 0)
        return;
    struct list_out l = {.items = json_array(), .limit = limit};
    json_t *body = NULL;
    if (l.items == NULL) {
        pb_reply_error(req, PB_ERR_NOMEM, NULL, "out of memory");
        return;
    }
    /* One row more than asked tells whether there is a next page. */
    enum pb_err err = pb_user_list(req->app, who, cursor, limit + 1, list_one, &l);
    if (err == PB_ERR_OK && l.failed)
        err = PB_ERR_NOMEM;
    if (err != PB_ERR_OK) {
        pb_reply_error(req, err, NULL, "cannot list the users now");
        goto out;
    }
    body = json_pack("{s:O, s:o}", "items", l.items, "next_cursor",
                     l.more ? json_string(l.last_id) : json_null());
    pb_reply_json(req, 200, body);
out:
    json_decref(l.items);
}

/* Replies with a user's current state (`status`), or with the error of reading it. */
static void
reply_user(struct pb_request *req, const struct pb_principal *who, const char *user_id, int status)
{
    struct pb_user user;
    enum pb_err err = pb_user_get(req->app, who, user_id, &user);
    if (err == PB_ERR_OK)
        pb_reply_json(req, status, user_json(&user));
    else if (err == PB_ERR_NOT_FOUND)
        pb_reply_error(req, err, NULL, "no such user");
    else
        pb_reply_error(req, err, NULL, "cannot read the user now");
    sodium_memzero(&user, sizeof(user));
}

void
pb_api_users_create(struct pb_request *req)
{
    const struct pb_principal *who = caller(req);
    const char *email = NULL, *role = NULL;
    if (who == NULL ||
        pb_json_unpack(req, req->json, "{s:s, s:s}", "email", &email, "role", &role) != 0)
        return;
    struct pb_user_new new_user = {
        .account_id = who->account_id,
        .email = email,
        .role = role,
        .password = NULL,
        .send_invitation = true,
    };
    struct pb_user user;
    char link[1024], why[PB_WHY_MAX] = "";
    enum pb_err err = pb_user_create(req->app, &new_user, who, req->client_addr, &user, link, why);
    switch (err) {
    case PB_ERR_OK:
        pb_reply_json(req, 201, user_json(&user));
        break;
    case PB_ERR_EMAIL_INVALID:
    case PB_ERR_EMAIL_TAKEN:
        pb_reply_error(req, err, "email", "%s", why);
        break;
    case PB_ERR_ROLE_UNKNOWN:
    case PB_ERR_ROLE_NEEDS_ENTERPRISE:
    case PB_ERR_FORBIDDEN:
        pb_reply_error(req, err, "role", "%s", why);
        break;
    default:
        pb_reply_error(req, err, NULL, "cannot create the user now");
        break;
    }
    /* The link is a set-password secret: it went by mail, never into the reply. */
    sodium_memzero(link, sizeof(link));
    sodium_memzero(&user, sizeof(user));
}

void
pb_api_users_update(struct pb_request *req)
{
    const struct pb_principal *who = caller(req);
    const char *id = pb_request_param(req, "id");
    const char *role = NULL;
    if (who == NULL || pb_json_unpack(req, req->json, "{s:s}", "role", &role) != 0)
        return;
    char why[PB_WHY_MAX] = "";
    enum pb_err err = pb_user_set_role(req->app, who, id, role, req->client_addr, why);
    switch (err) {
    case PB_ERR_OK:
        reply_user(req, who, id, 200);
        break;
    case PB_ERR_NOT_FOUND:
        pb_reply_error(req, err, NULL, "no such user");
        break;
    case PB_ERR_ROLE_UNKNOWN:
    case PB_ERR_ROLE_NEEDS_ENTERPRISE:
        pb_reply_error(req, err, "role", "%s", why);
        break;
    case PB_ERR_LAST_OWNER:
        pb_reply_error(req, err, "role", "the account would be left without an owner");
        break;
    case PB_ERR_FORBIDDEN:
        pb_reply_error(req, err, "role", "%s", why);
        break;
    default:
        pb_reply_error(req, err, NULL, "cannot change the role now");
        break;
    }
}

void
pb_api_users_delete(struct pb_request *req)
{
    const struct pb_principal *who = caller(req);
    if (who == NULL)
        return;
    enum pb_err err = pb_user_delete(req->app, who, pb_request_param(req, "id"), req->client_addr);
    switch (err) {
    case PB_ERR_OK:
        pb_reply_bytes(req, 204, NULL, "", 0);
        break;
    case PB_ERR_NOT_FOUND:
        pb_reply_error(req, err, NULL, "no such user");
        break;
    case PB_ERR_LAST_OWNER:
        pb_reply_error(req, err, NULL, "the account would be left without an owner");
        break;
    case PB_ERR_FORBIDDEN:
        pb_reply_error(req, err, NULL, "only an owner may remove an owner");
        break;
    default:
        pb_reply_error(req, err, NULL, "cannot delete the user now");
        break;
    }
}
