/*
 * SQLite: the accounts of the control store, with their settings (two-factor
 * requirement, tracking mode, storage limits) and wrapped data keys.
 */
#include "store/sqlite/sqlite_internal.h"

#include "core/log.h"

enum pb_qs
pb_sqlite_account_insert(struct pb_conn *conn, const struct pb_account *account)
{
    struct pb_sqlite_conn *c = pb_sqlite_conn(conn);
    sqlite3_stmt *st;
    if (account->data_key_len > sizeof(account->data_key)) {
        pb_error("sqlite: an account's data key is longer than %zu bytes",
                 sizeof(account->data_key));
        return PB_QS_HARD_ERROR;
    }
    enum pb_qs qs =
        pb_sqlite_prepare(c, PB_SQ_ACCOUNT_INSERT,
                          "INSERT INTO accounts (id, name, plan, created_at, data_key, require_2fa,"
                          " erase_unlisted_days, erase_unconfirmed_days, storage_checked_at)"
                          " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
                          &st);
    if (qs < 0)
        return qs;
    sqlite3_bind_text(st, 1, account->id, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, account->name, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 3, account->plan, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 4, account->created_at);
    pb_sqlite_bind_blob(st, 5, account->data_key, account->data_key_len);
    sqlite3_bind_int(st, 6, account->require_2fa ? 1 : 0);
    sqlite3_bind_int(st, 7, account->erase_unlisted_days);
    sqlite3_bind_int(st, 8, account->erase_unconfirmed_days);
    sqlite3_bind_int64(st, 9, account->storage_checked_at);
    return pb_sqlite_step_change(c, st, "account insert");
}

/* The columns read_account() expects, in its order. */
#define ACCOUNT_COLUMNS                                                                            \
    "id, name, plan, created_at, data_key, require_2fa, tracking, erase_unlisted_days,"            \
    " erase_unconfirmed_days, storage_checked_at"

/* Fills `out` from a row of ACCOUNT_COLUMNS. */
static bool
read_account(sqlite3_stmt *st, void *dst)
{
    struct pb_account *out = dst;
    bool ok = pb_sqlite_column_text(st, 0, out->id, sizeof(out->id));
    ok = pb_sqlite_column_text(st, 1, out->name, sizeof(out->name)) && ok;
    ok = pb_sqlite_column_text(st, 2, out->plan, sizeof(out->plan)) && ok;
    out->created_at = sqlite3_column_int64(st, 3);
    ok = pb_sqlite_column_blob(st, 4, out->data_key, sizeof(out->data_key), &out->data_key_len) &&
         ok;
    out->require_2fa = sqlite3_column_int(st, 5) != 0;
    ok = pb_sqlite_column_text(st, 6, out->tracking, sizeof(out->tracking)) && ok;
    out->erase_unlisted_days = sqlite3_column_int(st, 7);
    out->erase_unconfirmed_days = sqlite3_column_int(st, 8);
    out->storage_checked_at = sqlite3_column_int64(st, 9);
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
        c, PB_SQ_ACCOUNT_GET, "SELECT " ACCOUNT_COLUMNS " FROM accounts WHERE id = ?1", &st);
    if (qs < 0)
        return qs;
    sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
    return pb_sqlite_get_one(c, st, read_account, out, "account get");
}

enum pb_qs
pb_sqlite_account_list(struct pb_conn *conn, const char *after_id, int limit, pb_account_cb cb,
                       void *cls)
{
    struct pb_sqlite_conn *c = pb_sqlite_conn(conn);
    sqlite3_stmt *st;
    enum pb_qs qs = pb_sqlite_prepare(c, PB_SQ_ACCOUNT_LIST,
                                      "SELECT " ACCOUNT_COLUMNS " FROM accounts"
                                      " WHERE id > ?1 ORDER BY id LIMIT ?2",
                                      &st);
    if (qs < 0)
        return qs;
    sqlite3_bind_text(st, 1, after_id ? after_id : "", -1, SQLITE_STATIC);
    sqlite3_bind_int(st, 2, limit < 0 ? 0 : limit);
    for (int n = 0; pb_sqlite_next(c, st, n, &qs, "account list"); n++) {
        struct pb_account account = {0};
        if (!read_account(st, &account))
            return pb_sqlite_bad_row(st);
        cb(cls, &account);
    }
    return qs;
}

enum pb_qs
pb_sqlite_account_set_require_2fa(struct pb_conn *conn, const char *id, bool on)
{
    struct pb_sqlite_conn *c = pb_sqlite_conn(conn);
    sqlite3_stmt *st;
    enum pb_qs qs = pb_sqlite_prepare(c, PB_SQ_ACCOUNT_SET_REQUIRE_2FA,
                                      "UPDATE accounts SET require_2fa = ?2 WHERE id = ?1", &st);
    if (qs < 0)
        return qs;
    sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
    sqlite3_bind_int(st, 2, on ? 1 : 0);
    return pb_sqlite_step_change(c, st, "account set require_2fa");
}

enum pb_qs
pb_sqlite_account_set_data_key(struct pb_conn *conn, const char *id, const unsigned char *wrapped,
                               size_t len)
{
    struct pb_sqlite_conn *c = pb_sqlite_conn(conn);
    sqlite3_stmt *st;
    if (wrapped == NULL || len == 0 || len > PB_SEALED_MAX) {
        pb_error("sqlite: an account's data key must be 1 to %d bytes, not %zu", PB_SEALED_MAX,
                 len);
        return PB_QS_HARD_ERROR;
    }
    enum pb_qs qs = pb_sqlite_prepare(
        c, PB_SQ_ACCOUNT_SET_DATA_KEY,
        "UPDATE accounts SET data_key = ?2 WHERE id = ?1 AND data_key IS NULL", &st);
    if (qs < 0)
        return qs;
    sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
    pb_sqlite_bind_blob(st, 2, wrapped, len);
    return pb_sqlite_step_change(c, st, "account set data key");
}

enum pb_qs
pb_sqlite_account_set_tracking(struct pb_conn *conn, const char *id, const char *tracking)
{
    struct pb_sqlite_conn *c = pb_sqlite_conn(conn);
    sqlite3_stmt *st;
    /* The schema's CHECK refuses a mode it does not know (a hard error). */
    enum pb_qs qs = pb_sqlite_prepare(c, PB_SQ_ACCOUNT_SET_TRACKING,
                                      "UPDATE accounts SET tracking = ?2 WHERE id = ?1", &st);
    if (qs < 0)
        return qs;
    sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, tracking ? tracking : "", -1, SQLITE_STATIC);
    return pb_sqlite_step_change(c, st, "account set tracking");
}

enum pb_qs
pb_sqlite_account_set_storage_limits(struct pb_conn *conn, const char *id, int unlisted_days,
                                     int unconfirmed_days)
{
    struct pb_sqlite_conn *c = pb_sqlite_conn(conn);
    sqlite3_stmt *st;
    /* Negative days break the columns' CHECK: a hard error. */
    enum pb_qs qs = pb_sqlite_prepare(c, PB_SQ_ACCOUNT_SET_STORAGE_LIMITS,
                                      "UPDATE accounts SET erase_unlisted_days = ?2,"
                                      " erase_unconfirmed_days = ?3 WHERE id = ?1",
                                      &st);
    if (qs < 0)
        return qs;
    sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
    sqlite3_bind_int(st, 2, unlisted_days);
    sqlite3_bind_int(st, 3, unconfirmed_days);
    return pb_sqlite_step_change(c, st, "account set storage limits");
}

enum pb_qs
pb_sqlite_account_claim_storage_sweep(struct pb_conn *conn, const char *id, int64_t now,
                                      int64_t due_before)
{
    struct pb_sqlite_conn *c = pb_sqlite_conn(conn);
    sqlite3_stmt *st;
    /* One conditional UPDATE: of the nodes racing for the sweep, one changes the row. */
    enum pb_qs qs = pb_sqlite_prepare(c, PB_SQ_ACCOUNT_CLAIM_STORAGE_SWEEP,
                                      "UPDATE accounts SET storage_checked_at = ?2"
                                      " WHERE id = ?1 AND storage_checked_at <= ?3",
                                      &st);
    if (qs < 0)
        return qs;
    sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, now);
    sqlite3_bind_int64(st, 3, due_before);
    return pb_sqlite_step_change(c, st, "account claim storage sweep");
}
