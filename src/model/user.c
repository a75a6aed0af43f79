/* Users of an account: creation, invitation, listing, roles, removal. */
#include "model/user.h"

#include <stdio.h>
#include <string.h>

#include <sodium.h>

#include "core/clock.h"
#include "core/strutil.h"
#include "core/vec.h"
#include "crypto/password.h"
#include "model/audit.h"
#include "model/email.h"
#include "model/outbox.h"
#include "model/reset.h"

/* Checks a role name against the account's plan. */
static enum pb_err
check_role(const char *role, const struct pb_account *account, char why[PB_WHY_MAX])
{
    if (role == NULL || pb_role_parse(role) == PB_ROLE_NONE) {
        snprintf(why, PB_WHY_MAX, "the role is owner, admin or author");
        return PB_ERR_ROLE_UNKNOWN;
    }
    if (pb_role_parse(role) == PB_ROLE_AUTHOR && strcmp(account->plan, "enterprise") != 0) {
        snprintf(why, PB_WHY_MAX, "the author role exists only on enterprise accounts");
        return PB_ERR_ROLE_NEEDS_ENTERPRISE;
    }
    return PB_ERR_OK;
}

/*
 * Only a holder of owners.manage (owners) may make, demote or remove an
 * owner: otherwise an admin could promote themselves to owner.
 */
static bool
may_touch_owner(const struct pb_principal *who)
{
    return who == NULL || pb_role_allows(who->role, PB_PERM_OWNERS_MANAGE);
}

struct create_ctx {
    const struct pb_principal *actor;
    struct pb_user *user;
    struct pb_audit_entry audit;
    char why[PB_WHY_MAX];
};

static enum pb_qs
create_tx(struct pb_tx *tx, void *cls)
{
    struct create_ctx *c = cls;
    struct pb_account account;
    enum pb_qs qs = tx->ops->account_get(tx->conn, c->user->account_id, &account);
    if (qs <= 0)
        return qs < 0 ? qs : pb_tx_abort(tx, PB_ERR_NOT_FOUND);
    enum pb_err err = check_role(c->user->role, &account, c->why);
    if (err != PB_ERR_OK)
        return pb_tx_abort(tx, err);
    if (strcmp(c->user->role, "owner") == 0 && !may_touch_owner(c->actor)) {
        snprintf(c->why, PB_WHY_MAX, "only an owner may make another owner");
        return pb_tx_abort(tx, PB_ERR_FORBIDDEN);
    }
    if ((qs = tx->ops->user_insert(tx->conn, c->user)) < 0)
        return qs;
    if (qs == PB_QS_NONE)
        return pb_tx_abort(tx, PB_ERR_EMAIL_TAKEN);
    return tx->ops->audit_insert(tx->conn, &c->audit);
}

enum pb_err
pb_user_create(struct pb_app *app, const struct pb_user_new *req, const struct pb_principal *actor,
               const char *client_ip, struct pb_user *out, char link[1024], char why[PB_WHY_MAX])
{
    memset(out, 0, sizeof(*out));
    link[0] = '\0';
    char email[PB_EMAIL_MAX + 1];
    if (req->email == NULL ||
        pb_email_normalize(req->email, PB_EMAIL_LOWER_ALL, email, why) != PB_ERR_OK)
        return PB_ERR_EMAIL_INVALID;
    pb_id_new(out->id);
    pb_strlcpy(out->account_id, req->account_id, sizeof(out->account_id));
    pb_strlcpy(out->email, email, sizeof(out->email));
    if (req->role == NULL || !pb_strlcpy(out->role, req->role, sizeof(out->role)))
        out->role[0] = '\0';
    out->totp_last_step = -1;
    out->created_at = pb_clock_now();
    if (req->password != NULL) {
        enum pb_password_verdict verdict = pb_password_check(req->password);
        if (verdict != PB_PASSWORD_OK) {
            snprintf(why, PB_WHY_MAX, "%s", pb_password_verdict_text(verdict));
            return PB_ERR_PASSWORD_POLICY;
        }
        enum pb_err err = pb_password_hash(req->password, out->password_hash);
        if (err != PB_ERR_OK)
            return err;
    }

    struct create_ctx c = {.actor = actor, .user = out};
    char detail[64];
    snprintf(detail, sizeof(detail), "{\"user_id\":\"%s\",\"role\":\"%s\"}", out->id, out->role);
    pb_audit_entry_make(&c.audit, out->account_id, actor ? actor->user_id : "", "user.created",
                        client_ip, detail);
    enum pb_err err = pb_store_tx(app->control, PB_TX_WRITE, create_tx, &c);
    if (err != PB_ERR_OK) {
        if (err == PB_ERR_EMAIL_TAKEN)
            snprintf(why, PB_WHY_MAX, "a user with this email address exists already");
        else if (err == PB_ERR_NOT_FOUND)
            snprintf(why, PB_WHY_MAX, "no such account");
        else if (err != PB_ERR_ROLE_UNKNOWN && err != PB_ERR_ROLE_NEEDS_ENTERPRISE &&
                 err != PB_ERR_FORBIDDEN)
            snprintf(why, PB_WHY_MAX, "%s", pb_err_hint(err));
        else
            pb_strlcpy(why, c.why, PB_WHY_MAX);
        return err;
    }
    if (req->password != NULL)
        return PB_ERR_OK;

    if ((err = pb_reset_issue(app, out->id, PB_INVITATION_SECONDS, link)) != PB_ERR_OK)
        return err;
    if (req->send_invitation) {
        char body[2048];
        snprintf(body, sizeof(body),
                 "You have been invited to Postbode, the email marketing platform of your "
                 "team.\n\nChoose your password here (the link works once, for 7 days):\n\n"
                 "%s\n\nAfter that, log in with this address: %s\n",
                 link, out->email);
        err = pb_outbox_queue(app, out->email, "Your Postbode invitation", body);
        sodium_memzero(body, sizeof(body));
    }
    return err;
}

struct get_ctx {
    const char *account_id;
    struct pb_user *user;
};

static enum pb_qs
get_tx(struct pb_tx *tx, void *cls)
{
    struct get_ctx *g = cls;
    enum pb_qs qs = tx->ops->user_get(tx->conn, g->user->id, g->user);
    if (qs < 0)
        return qs;
    /* Another account's user does not exist, as far as this caller can tell. */
    if (qs == PB_QS_NONE || strcmp(g->user->account_id, g->account_id) != 0)
        return pb_tx_abort(tx, PB_ERR_NOT_FOUND);
    return qs;
}

enum pb_err
pb_user_get(struct pb_app *app, const struct pb_principal *who, const char *user_id,
            struct pb_user *out)
{
    memset(out, 0, sizeof(*out));
    if (!pb_id_valid(user_id))
        return PB_ERR_NOT_FOUND;
    pb_strlcpy(out->id, user_id, sizeof(out->id));
    struct get_ctx g = {who->account_id, out};
    return pb_store_tx(app->control, PB_TX_READ, get_tx, &g);
}

struct list_ctx {
    const char *account_id;
    const char *after_id;
    int limit;
    struct pb_vec rows;
};

static void
collect(void *cls, const struct pb_user *user)
{
    pb_vec_push(cls, user);
}

static enum pb_qs
list_tx(struct pb_tx *tx, void *cls)
{
    struct list_ctx *l = cls;
    pb_vec_clear(&l->rows);
    return tx->ops->user_list(tx->conn, l->account_id, l->after_id, l->limit, collect, &l->rows);
}

enum pb_err
pb_user_list(struct pb_app *app, const struct pb_principal *who, const char *after_id, int limit,
             pb_user_cb cb, void *cls)
{
    struct list_ctx l = {who->account_id, after_id ? after_id : "", limit, {0}};
    pb_vec_init(&l.rows, sizeof(struct pb_user), (size_t)(limit > 0 ? limit : 1));
    enum pb_err err = pb_store_tx(app->control, PB_TX_READ, list_tx, &l);
    if (err == PB_ERR_OK)
        err = l.rows.err;
    for (size_t i = 0; err == PB_ERR_OK && i < l.rows.count; i++) {
        struct pb_user *u = pb_vec_at(&l.rows, i);
        cb(cls, u);
    }
    /* The rows hold password hashes and sealed seeds: wipe before freeing. */
    if (l.rows.items != NULL)
        sodium_memzero(l.rows.items, l.rows.cap * l.rows.item_size);
    pb_vec_release(&l.rows);
    return err;
}

struct change_ctx {
    const struct pb_principal *who;
    const char *user_id;
    const char *role; /* NULL: delete */
    const char *client_ip;
    char why[PB_WHY_MAX];
};

static enum pb_qs
change_tx(struct pb_tx *tx, void *cls)
{
    struct change_ctx *c = cls;
    struct pb_user user;
    struct pb_account account;
    enum pb_qs qs = tx->ops->user_get(tx->conn, c->user_id, &user);
    if (qs < 0)
        return qs;
    if (qs == PB_QS_NONE || strcmp(user.account_id, c->who->account_id) != 0)
        return pb_tx_abort(tx, PB_ERR_NOT_FOUND);
    if ((qs = tx->ops->account_get(tx->conn, user.account_id, &account)) <= 0)
        return qs < 0 ? qs : pb_tx_abort(tx, PB_ERR_NOT_FOUND);
    if (c->role != NULL) {
        enum pb_err err = check_role(c->role, &account, c->why);
        if (err != PB_ERR_OK)
            return pb_tx_abort(tx, err);
    }
    bool was_owner = strcmp(user.role, "owner") == 0;
    bool becomes_owner = c->role != NULL && strcmp(c->role, "owner") == 0;
    if ((was_owner || becomes_owner) && !may_touch_owner(c->who)) {
        snprintf(c->why, PB_WHY_MAX, "only an owner may make, demote or remove an owner");
        return pb_tx_abort(tx, PB_ERR_FORBIDDEN);
    }
    bool loses_owner = was_owner && !becomes_owner;
    if (loses_owner) {
        long owners = 0;
        if ((qs = tx->ops->user_count_role(tx->conn, user.account_id, "owner", &owners)) < 0)
            return qs;
        if (owners <= 1)
            return pb_tx_abort(tx, PB_ERR_LAST_OWNER);
    }
    char detail[96];
    struct pb_audit_entry audit;
    if (c->role != NULL) {
        snprintf(detail, sizeof(detail), "{\"user_id\":\"%s\",\"from\":\"%s\",\"to\":\"%s\"}",
                 user.id, user.role, c->role);
        pb_strlcpy(user.role, c->role, sizeof(user.role));
        qs = tx->ops->user_update(tx->conn, &user);
    } else {
        snprintf(detail, sizeof(detail), "{\"user_id\":\"%s\",\"role\":\"%s\"}", user.id,
                 user.role);
        qs = tx->ops->user_delete(tx->conn, user.id);
    }
    sodium_memzero(&user, sizeof(user));
    if (qs < 0)
        return qs;
    pb_audit_entry_make(&audit, c->who->account_id, c->who->user_id,
                        c->role ? "user.role_changed" : "user.deleted", c->client_ip, detail);
    return tx->ops->audit_insert(tx->conn, &audit);
}

enum pb_err
pb_user_set_role(struct pb_app *app, const struct pb_principal *who, const char *user_id,
                 const char *role, const char *client_ip, char why[PB_WHY_MAX])
{
    if (!pb_id_valid(user_id))
        return PB_ERR_NOT_FOUND;
    struct change_ctx c = {.who = who, .user_id = user_id, .role = role, .client_ip = client_ip};
    if (role == NULL || pb_role_parse(role) == PB_ROLE_NONE) {
        snprintf(why, PB_WHY_MAX, "the role is owner, admin or author");
        return PB_ERR_ROLE_UNKNOWN;
    }
    enum pb_err err = pb_store_tx(app->control, PB_TX_WRITE, change_tx, &c);
    if (err == PB_ERR_ROLE_UNKNOWN || err == PB_ERR_ROLE_NEEDS_ENTERPRISE ||
        err == PB_ERR_FORBIDDEN)
        pb_strlcpy(why, c.why, PB_WHY_MAX);
    else if (err != PB_ERR_OK)
        snprintf(why, PB_WHY_MAX, "%s", pb_err_hint(err));
    return err;
}

enum pb_err
pb_user_delete(struct pb_app *app, const struct pb_principal *who, const char *user_id,
               const char *client_ip)
{
    if (!pb_id_valid(user_id))
        return PB_ERR_NOT_FOUND;
    struct change_ctx c = {.who = who, .user_id = user_id, .role = NULL, .client_ip = client_ip};
    return pb_store_tx(app->control, PB_TX_WRITE, change_tx, &c);
}
