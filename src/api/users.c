/*
 * GET/POST /users, PATCH/DELETE /users/{id}: the users of the caller's
 * account. The router has checked users.manage; the rules (roles, the last
 * owner, invitations) live in model/user.c.
 */
#include "api/api.h"

#include <string.h>

#include <sodium.h>

#include "core/clock.h"
#include "api/page.h"
#include "core/id.h"
#include "http/json.h"
#include "http/request.h"
#include "model/user.h"

/* A user as the API shows it (never the password hash nor the TOTP secret). */
static json_t *
user_json(const struct pb_user *user)
{
    char created[21];
    pb_clock_format_rfc3339(user->created_at, created);
    return json_pack("{s:s, s:s, s:s, s:b, s:s}", "id", user->id, "email", user->email, "role",
                     user->role, "totp_enabled", user->totp_enabled, "created_at", created);
}

/* One row of GET /users. */
static void
list_one(void *cls, const struct pb_user *user)
{
    pb_api_page_add(cls, user->id, user_json(user));
}

void
pb_api_users_list(struct pb_request *req)
{
    const struct pb_principal *who = pb_request_caller(req);
    struct pb_api_page page;
    if (who == NULL || pb_api_page_begin(req, &page) != 0)
        return;
    enum pb_err err = pb_user_list(req->app, who, page.cursor, page.limit + 1, list_one, &page);
    pb_api_page_reply(req, &page, err, "list the users");
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
    const struct pb_principal *who = pb_request_caller(req);
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
    const struct pb_principal *who = pb_request_caller(req);
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
    const struct pb_principal *who = pb_request_caller(req);
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
