/* SQLite: the users of the control store, with their passwords and TOTP state. */
#include "store/sqlite/sqlite_internal.h"

#include "core/log.h"

enum pb_qs
pb_sqlite_user_insert(struct pb_conn *conn, const struct pb_user *user)
{
    struct pb_sqlite_conn *c = pb_sqlite_conn(conn);
    sqlite3_stmt *st;
    if (user->totp_secret_len > sizeof(user->totp_secret)) {
        pb_error("sqlite: a user's TOTP secret is longer than %zu bytes",
                 sizeof(user->totp_secret));
        return PB_QS_HARD_ERROR;
    }
    enum pb_qs qs = pb_sqlite_prepare(
        c, PB_SQ_USER_INSERT,
        "INSERT INTO users (id, account_id, email, role, password_hash, totp_secret,"
        " totp_enabled, totp_last_step, created_at)"
        " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9) ON CONFLICT (email) DO NOTHING",
        &st);
    if (qs < 0)
        return qs;
    sqlite3_bind_text(st, 1, user->id, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, user->account_id, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 3, user->email, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 4, user->role, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 5, user->password_hash, -1, SQLITE_STATIC);
    pb_sqlite_bind_blob(st, 6, user->totp_secret, user->totp_secret_len);
    sqlite3_bind_int(st, 7, user->totp_enabled ? 1 : 0);
    sqlite3_bind_int64(st, 8, user->totp_last_step);
    sqlite3_bind_int64(st, 9, user->created_at);
    return pb_sqlite_step_change(c, st, "user insert");
}

/* The columns read_user() expects, in its order. */
#define USER_COLUMNS                                                                               \
    "id, account_id, email, role, password_hash, totp_secret, totp_enabled, totp_last_step,"       \
    " created_at"

/* Fills `out` from a row of USER_COLUMNS. */
static bool
read_user(sqlite3_stmt *st, void *dst)
{
    struct pb_user *out = dst;
    bool ok = pb_sqlite_column_text(st, 0, out->id, sizeof(out->id));
    ok = pb_sqlite_column_text(st, 1, out->account_id, sizeof(out->account_id)) && ok;
    ok = pb_sqlite_column_text(st, 2, out->email, sizeof(out->email)) && ok;
    ok = pb_sqlite_column_text(st, 3, out->role, sizeof(out->role)) && ok;
    ok = pb_sqlite_column_text(st, 4, out->password_hash, sizeof(out->password_hash)) && ok;
    ok = pb_sqlite_column_blob(st, 5, out->totp_secret, sizeof(out->totp_secret),
                               &out->totp_secret_len) &&
         ok;
    out->totp_enabled = sqlite3_column_int(st, 6) != 0;
    out->totp_last_step = sqlite3_column_int64(st, 7);
    out->created_at = sqlite3_column_int64(st, 8);
    if (!ok)
        pb_error("sqlite: a users row does not fit its struct");
    return ok;
}

enum pb_qs
pb_sqlite_user_get(struct pb_conn *conn, const char *id, struct pb_user *out)
{
    struct pb_sqlite_conn *c = pb_sqlite_conn(conn);
    sqlite3_stmt *st;
    enum pb_qs qs = pb_sqlite_prepare(c, PB_SQ_USER_GET,
                                      "SELECT " USER_COLUMNS " FROM users WHERE id = ?1", &st);
    if (qs < 0)
        return qs;
    sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
    return pb_sqlite_get_one(c, st, read_user, out, "user get");
}

enum pb_qs
pb_sqlite_user_get_by_email(struct pb_conn *conn, const char *email, struct pb_user *out)
{
    struct pb_sqlite_conn *c = pb_sqlite_conn(conn);
    sqlite3_stmt *st;
    enum pb_qs qs = pb_sqlite_prepare(c, PB_SQ_USER_GET_BY_EMAIL,
                                      "SELECT " USER_COLUMNS " FROM users WHERE email = ?1", &st);
    if (qs < 0)
        return qs;
    sqlite3_bind_text(st, 1, email, -1, SQLITE_STATIC);
    return pb_sqlite_get_one(c, st, read_user, out, "user get by email");
}

enum pb_qs
pb_sqlite_user_list(struct pb_conn *conn, const char *account_id, const char *after_id, int limit,
                    pb_user_cb cb, void *cls)
{
    struct pb_sqlite_conn *c = pb_sqlite_conn(conn);
    sqlite3_stmt *st;
    enum pb_qs qs = pb_sqlite_prepare(c, PB_SQ_USER_LIST,
                                      "SELECT " USER_COLUMNS " FROM users"
                                      " WHERE account_id = ?1 AND id > ?2 ORDER BY id LIMIT ?3",
                                      &st);
    if (qs < 0)
        return qs;
    sqlite3_bind_text(st, 1, account_id, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, after_id ? after_id : "", -1, SQLITE_STATIC);
    sqlite3_bind_int(st, 3, limit < 0 ? 0 : limit);
    for (int n = 0; pb_sqlite_next(c, st, n, &qs, "user list"); n++) {
        struct pb_user user = {0};
        if (!read_user(st, &user))
            return pb_sqlite_bad_row(st);
        cb(cls, &user);
    }
    return qs;
}

enum pb_qs
pb_sqlite_user_count_role(struct pb_conn *conn, const char *account_id, const char *role,
                          long *count)
{
    struct pb_sqlite_conn *c = pb_sqlite_conn(conn);
    sqlite3_stmt *st;
    *count = 0;
    enum pb_qs qs =
        pb_sqlite_prepare(c, PB_SQ_USER_COUNT_ROLE,
                          "SELECT count(*) FROM users WHERE account_id = ?1 AND role = ?2", &st);
    if (qs < 0)
        return qs;
    sqlite3_bind_text(st, 1, account_id, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, role, -1, SQLITE_STATIC);
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        *count = (long)sqlite3_column_int64(st, 0);
        qs = PB_QS_ONE;
    } else {
        qs = pb_sqlite_fail(c, rc, "user count role");
    }
    pb_sqlite_done(st);
    return qs;
}

enum pb_qs
pb_sqlite_user_update(struct pb_conn *conn, const struct pb_user *user)
{
    struct pb_sqlite_conn *c = pb_sqlite_conn(conn);
    sqlite3_stmt *st;
    if (user->totp_secret_len > sizeof(user->totp_secret)) {
        pb_error("sqlite: a user's TOTP secret is longer than %zu bytes",
                 sizeof(user->totp_secret));
        return PB_QS_HARD_ERROR;
    }
    enum pb_qs qs = pb_sqlite_prepare(
        c, PB_SQ_USER_UPDATE,
        "UPDATE users SET role = ?2, password_hash = ?3, totp_secret = ?4, totp_enabled = ?5,"
        " totp_last_step = ?6 WHERE id = ?1",
        &st);
    if (qs < 0)
        return qs;
    sqlite3_bind_text(st, 1, user->id, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, user->role, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 3, user->password_hash, -1, SQLITE_STATIC);
    pb_sqlite_bind_blob(st, 4, user->totp_secret, user->totp_secret_len);
    sqlite3_bind_int(st, 5, user->totp_enabled ? 1 : 0);
    sqlite3_bind_int64(st, 6, user->totp_last_step);
    return pb_sqlite_step_change(c, st, "user update");
}

enum pb_qs
pb_sqlite_user_advance_totp_step(struct pb_conn *conn, const char *user_id, int64_t step)
{
    struct pb_sqlite_conn *c = pb_sqlite_conn(conn);
    sqlite3_stmt *st;
    enum pb_qs qs = pb_sqlite_prepare(
        c, PB_SQ_USER_ADVANCE_TOTP_STEP,
        "UPDATE users SET totp_last_step = ?2 WHERE id = ?1 AND totp_last_step < ?2", &st);
    if (qs < 0)
        return qs;
    sqlite3_bind_text(st, 1, user_id, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, step);
    return pb_sqlite_step_change(c, st, "user advance totp step");
}

enum pb_qs
pb_sqlite_user_delete(struct pb_conn *conn, const char *id)
{
    struct pb_sqlite_conn *c = pb_sqlite_conn(conn);
    sqlite3_stmt *st;
    /* Sessions, API keys, recovery codes and reset tokens go with it (ON DELETE CASCADE). */
    enum pb_qs qs = pb_sqlite_prepare(c, PB_SQ_USER_DELETE, "DELETE FROM users WHERE id = ?1", &st);
    if (qs < 0)
        return qs;
    sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
    return pb_sqlite_step_change(c, st, "user delete");
}
