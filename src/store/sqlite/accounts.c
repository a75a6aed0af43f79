/* SQLite: the accounts of the control store. */
#include "store/sqlite/sqlite_internal.h"

#include "core/log.h"

enum pb_qs
pb_sqlite_account_insert(struct pb_conn *conn, const struct pb_account *account)
{
    struct pb_sqlite_conn *c = pb_sqlite_conn(conn);
    sqlite3_stmt *st;
    enum pb_qs qs = pb_sqlite_prepare(c, PB_SQ_ACCOUNT_INSERT,
                                      "INSERT INTO accounts (id, name, plan, created_at)"
                                      " VALUES (?1, ?2, ?3, ?4)",
                                      &st);
    if (qs < 0)
        return qs;
    sqlite3_bind_text(st, 1, account->id, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, account->name, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 3, account->plan, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 4, account->created_at);
    return pb_sqlite_step_change(c, st, "account insert");
}

/* Fills `out` from a row of (id, name, plan, created_at). */
static bool
read_account(sqlite3_stmt *st, struct pb_account *out)
{
    bool ok = pb_sqlite_column_text(st, 0, out->id, sizeof(out->id));
    ok = pb_sqlite_column_text(st, 1, out->name, sizeof(out->name)) && ok;
    ok = pb_sqlite_column_text(st, 2, out->plan, sizeof(out->plan)) && ok;
    out->created_at = sqlite3_column_int64(st, 3);
    if (!ok)
        pb_error("sqlite: an accounts row does not fit its struct");
    return ok;
}

enum pb_qs
pb_sqlite_account_get(struct pb_conn *conn, const char *id, struct pb_account *out)
{
    struct pb_sqlite_conn *c = pb_sqlite_conn(conn);
    sqlite3_stmt *st;
    enum pb_qs qs = pb_sqlite_prepare(
        c, PB_SQ_ACCOUNT_GET, "SELECT id, name, plan, created_at FROM accounts WHERE id = ?1", &st);
    if (qs < 0)
        return qs;
    sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW)
        qs = read_account(st, out) ? PB_QS_ONE : PB_QS_HARD_ERROR;
    else if (rc == SQLITE_DONE)
        qs = PB_QS_NONE;
    else
        qs = pb_sqlite_fail(c, rc, "account get");
    pb_sqlite_done(st);
    return qs;
}

enum pb_qs
pb_sqlite_account_list(struct pb_conn *conn, const char *after_id, int limit, pb_account_cb cb,
                       void *cls)
{
    struct pb_sqlite_conn *c = pb_sqlite_conn(conn);
    sqlite3_stmt *st;
    enum pb_qs qs = pb_sqlite_prepare(c, PB_SQ_ACCOUNT_LIST,
                                      "SELECT id, name, plan, created_at FROM accounts"
                                      " WHERE id > ?1 ORDER BY id LIMIT ?2",
                                      &st);
    if (qs < 0)
        return qs;
    sqlite3_bind_text(st, 1, after_id ? after_id : "", -1, SQLITE_STATIC);
    sqlite3_bind_int(st, 2, limit < 0 ? 0 : limit);
    int rc, n = 0;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        struct pb_account account = {0};
        if (!read_account(st, &account)) {
            pb_sqlite_done(st);
            return PB_QS_HARD_ERROR;
        }
        cb(cls, &account);
        n++;
    }
    qs = rc == SQLITE_DONE ? (n == 0   ? PB_QS_NONE
                              : n == 1 ? PB_QS_ONE
                                       : PB_QS_N)
                           : pb_sqlite_fail(c, rc, "account list");
    pb_sqlite_done(st);
    return qs;
}
