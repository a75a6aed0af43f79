/*
 * Users of an account: creation (by the operator's CLI or by invitation),
 * listing, role changes and removal. Roles: owner, admin, author (author only
 * on enterprise accounts). An account always keeps at least one owner, and
 * only owners (permission owners.manage) make, demote or remove owners.
 */
#ifndef PB_MODEL_USER_H
#define PB_MODEL_USER_H

#include "model/app.h"
#include "model/auth.h"

/* How long a set-password link of a new user stays valid. */
#define PB_INVITATION_SECONDS (7 * 24 * 60 * 60)

struct pb_user_new {
    const char *account_id;
    const char *email;
    const char *role;     /* "owner", "admin" or "author" */
    const char *password; /* NULL: the user sets one through a link */
    bool send_invitation; /* mail the link (API) rather than only returning it (CLI) */
};

/*
 * Creates a user. Without a password, `link` gets the one-time set-password
 * URL (also mailed when send_invitation). `actor` (NULL for the operator's
 * CLI) and `client_ip` go to the audit log. Errors: PB_ERR_EMAIL_INVALID,
 * PB_ERR_EMAIL_TAKEN, PB_ERR_ROLE_UNKNOWN, PB_ERR_ROLE_NEEDS_ENTERPRISE,
 * PB_ERR_PASSWORD_POLICY, PB_ERR_NOT_FOUND (account); `why` names the problem.
 */
enum pb_err
pb_user_create(struct pb_app *app, const struct pb_user_new *req, const struct pb_principal *actor,
               const char *client_ip, struct pb_user *out, char link[1024], char why[PB_WHY_MAX]);

/* One user of the caller's account; PB_ERR_NOT_FOUND for another account's user. */
enum pb_err
pb_user_get(struct pb_app *app, const struct pb_principal *who, const char *user_id,
            struct pb_user *out);

/* Users of the caller's account in id order (keyset: after `after_id`, at most `limit`). */
enum pb_err
pb_user_list(struct pb_app *app, const struct pb_principal *who, const char *after_id, int limit,
             pb_user_cb cb, void *cls);

/* Changes a user's role (audited). PB_ERR_LAST_OWNER when it would leave no owner. */
enum pb_err
pb_user_set_role(struct pb_app *app, const struct pb_principal *who, const char *user_id,
                 const char *role, const char *client_ip, char why[PB_WHY_MAX]);

/* Removes a user with sessions and keys (audited). PB_ERR_LAST_OWNER for the last owner. */
enum pb_err
pb_user_delete(struct pb_app *app, const struct pb_principal *who, const char *user_id,
               const char *client_ip);

#endif
