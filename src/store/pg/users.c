/* PostgreSQL: the users of the control store, with their passwords and TOTP state. */
#include "store/pg/pg_internal.h"

#include <stdio.h>

#include "core/log.h"

enum pb_qs
pb_pg_user_insert(struct pb_conn *conn, const struct pb_user *user)
{
    struct pb_pg_conn *c = pb_pg_conn(conn);
    char secret[PB_PG_SEALED_HEX], step[24], created[24];
    if (user->totp_secret_len > sizeof(user->totp_secret)) {
        pb_error("postgres: a user's TOTP secret is longer than %zu bytes",
                 sizeof(user->totp_secret));
        return PB_QS_HARD_ERROR;
    }
    snprintf(step, sizeof(step), "%lld", (long long)user->totp_last_step);
    snprintf(created, sizeof(created), "%lld", (long long)user->created_at);
    const char *const params[] = {
        user->id,
        user->account_id,
        user->email,
        user->role,
        user->password_hash,
        pb_pg_hex(user->totp_secret, user->totp_secret_len, secret, sizeof(secret)),
        user->totp_enabled ? "true" : "false",
        step,
        created,
    };
    return pb_pg_exec_change(
        c, PB_PG_USER_INSERT, "pb_user_insert",
        "INSERT INTO users (id, account_id, email, role, password_hash, totp_secret,"
        " totp_enabled, totp_last_step, created_at)"
        " VALUES ($1, $2, $3, $4, $5, decode($6, 'hex'), $7, $8, $9)"
        " ON CONFLICT (email) DO NOTHING",
        9, params);
}

/* The columns read_user() expects, in its order. */
#define USER_COLUMNS                                                                               \
    "id, account_id, email, role, password_hash, encode(totp_secret, 'hex'), totp_enabled,"        \
    " totp_last_step, created_at"

/* Fills `out` from row `row` of USER_COLUMNS. */
static bool
read_user(const PGresult *res, int row, void *dst)
{
    struct pb_user *out = dst;
    bool ok = pb_pg_text(res, row, 0, out->id, sizeof(out->id));
    ok = pb_pg_text(res, row, 1, out->account_id, sizeof(out->account_id)) && ok;
    ok = pb_pg_text(res, row, 2, out->email, sizeof(out->email)) && ok;
    ok = pb_pg_text(res, row, 3, out->role, sizeof(out->role)) && ok;
    ok = pb_pg_text(res, row, 4, out->password_hash, sizeof(out->password_hash)) && ok;
    ok = pb_pg_bytes(res, row, 5, out->totp_secret, sizeof(out->totp_secret),
                     &out->totp_secret_len) &&
         ok;
    out->totp_enabled = pb_pg_bool(res, row, 6);
    out->totp_last_step = pb_pg_int64(res, row, 7);
    out->created_at = pb_pg_int64(res, row, 8);
    if (!ok)
        pb_error("postgres: a users row does not fit its struct");
    return ok;
}

enum pb_qs
pb_pg_user_get(struct pb_conn *conn, const char *id, struct pb_user *out)
{
    struct pb_pg_conn *c = pb_pg_conn(conn);
    const char *const params[] = {id};
    PGresult *res;
    enum pb_qs qs = pb_pg_exec(c, PB_PG_USER_GET, "pb_user_get",
                               "SELECT " USER_COLUMNS " FROM users WHERE id = $1", 1, params, &res);
    return qs < 0 ? qs : pb_pg_get_one(res, read_user, out);
}

enum pb_qs
pb_pg_user_get_by_email(struct pb_conn *conn, const char *email, struct pb_user *out)
{
    struct pb_pg_conn *c = pb_pg_conn(conn);
    const char *const params[] = {email};
    PGresult *res;
    enum pb_qs qs =
        pb_pg_exec(c, PB_PG_USER_GET_BY_EMAIL, "pb_user_get_by_email",
                   "SELECT " USER_COLUMNS " FROM users WHERE email = $1", 1, params, &res);
    return qs < 0 ? qs : pb_pg_get_one(res, read_user, out);
}

enum pb_qs
pb_pg_user_list(struct pb_conn *conn, const char *account_id, const char *after_id, int limit,
                pb_user_cb cb, void *cls)
{
    struct pb_pg_conn *c = pb_pg_conn(conn);
    char limit_text[16];
    snprintf(limit_text, sizeof(limit_text), "%d", limit < 0 ? 0 : limit);
    const char *const params[] = {account_id, after_id ? after_id : "", limit_text};
    PGresult *res;
    enum pb_qs qs = pb_pg_exec(c, PB_PG_USER_LIST, "pb_user_list",
                               "SELECT " USER_COLUMNS " FROM users"
                               " WHERE account_id = $1 AND id > $2 ORDER BY id LIMIT $3",
                               3, params, &res);
    if (qs < 0)
        return qs;
    int n = PQntuples(res);
    for (int i = 0; i < n; i++) {
        struct pb_user user = {0};
        if (!read_user(res, i, &user))
            return pb_pg_bad_row(res);
        cb(cls, &user);
    }
    PQclear(res);
    return pb_pg_rows(n);
}

enum pb_qs
pb_pg_user_count_role(struct pb_conn *conn, const char *account_id, const char *role, long *count)
{
    struct pb_pg_conn *c = pb_pg_conn(conn);
    const char *const params[] = {account_id, role};
    PGresult *res;
    *count = 0;
    enum pb_qs qs = pb_pg_exec(c, PB_PG_USER_COUNT_ROLE, "pb_user_count_role",
                               "SELECT count(*) FROM users WHERE account_id = $1 AND role = $2", 2,
                               params, &res);
    if (qs < 0)
        return qs;
    *count = (long)pb_pg_int64(res, 0, 0);
    PQclear(res);
    return PB_QS_ONE;
}

enum pb_qs
pb_pg_user_update(struct pb_conn *conn, const struct pb_user *user)
{
    struct pb_pg_conn *c = pb_pg_conn(conn);
    char secret[PB_PG_SEALED_HEX], step[24];
    if (user->totp_secret_len > sizeof(user->totp_secret)) {
        pb_error("postgres: a user's TOTP secret is longer than %zu bytes",
                 sizeof(user->totp_secret));
        return PB_QS_HARD_ERROR;
    }
    snprintf(step, sizeof(step), "%lld", (long long)user->totp_last_step);
    const char *const params[] = {
        user->id,
        user->role,
        user->password_hash,
        pb_pg_hex(user->totp_secret, user->totp_secret_len, secret, sizeof(secret)),
        user->totp_enabled ? "true" : "false",
        step,
    };
    return pb_pg_exec_change(c, PB_PG_USER_UPDATE, "pb_user_update",
                             "UPDATE users SET role = $2, password_hash = $3,"
                             " totp_secret = decode($4, 'hex'), totp_enabled = $5,"
                             " totp_last_step = $6 WHERE id = $1",
                             6, params);
}

enum pb_qs
pb_pg_user_advance_totp_step(struct pb_conn *conn, const char *user_id, int64_t step)
{
    struct pb_pg_conn *c = pb_pg_conn(conn);
    char step_text[24];
    snprintf(step_text, sizeof(step_text), "%lld", (long long)step);
    const char *const params[] = {user_id, step_text};
    return pb_pg_exec_change(
        c, PB_PG_USER_ADVANCE_TOTP_STEP, "pb_user_advance_totp_step",
        "UPDATE users SET totp_last_step = $2 WHERE id = $1 AND totp_last_step < $2", 2, params);
}

enum pb_qs
pb_pg_user_delete(struct pb_conn *conn, const char *id)
{
    struct pb_pg_conn *c = pb_pg_conn(conn);
    const char *const params[] = {id};
    /* Sessions, API keys, recovery codes and reset tokens go with it (ON DELETE CASCADE). */
    return pb_pg_exec_change(c, PB_PG_USER_DELETE, "pb_user_delete",
                             "DELETE FROM users WHERE id = $1", 1, params);
}
