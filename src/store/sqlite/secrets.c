/* SQLite: one-time secrets of users, stored as hashes: recovery codes and password reset tokens. */
#include "store/sqlite/sqlite_internal.h"

#include "core/log.h"

enum pb_qs
pb_sqlite_recovery_codes_replace(struct pb_conn *conn, const char *user_id,
                                 const unsigned char (*hashes)[PB_HASH_BYTES], int n)
{
    struct pb_sqlite_conn *c = pb_sqlite_conn(conn);
    sqlite3_stmt *st;
    enum pb_qs qs = pb_sqlite_prepare(c, PB_SQ_RECOVERY_DELETE_ALL,
                                      "DELETE FROM recovery_codes WHERE user_id = ?1", &st);
    if (qs < 0)
        return qs;
    sqlite3_bind_text(st, 1, user_id, -1, SQLITE_STATIC);
    if ((qs = pb_sqlite_step_change(c, st, "recovery codes delete")) < 0)
        return qs;
    if (n <= 0 || hashes == NULL)
        return PB_QS_NONE;

    qs = pb_sqlite_prepare(c, PB_SQ_RECOVERY_INSERT,
                           "INSERT INTO recovery_codes (user_id, code_hash, used_at)"
                           " VALUES (?1, ?2, NULL)",
                           &st);
    if (qs < 0)
        return qs;
    for (int i = 0; i < n; i++) {
        sqlite3_bind_text(st, 1, user_id, -1, SQLITE_STATIC);
        pb_sqlite_bind_blob(st, 2, hashes[i], PB_HASH_BYTES);
        if ((qs = pb_sqlite_step_change(c, st, "recovery code insert")) < 0)
            return qs;
    }
    return pb_sqlite_rows(n);
}

enum pb_qs
pb_sqlite_recovery_code_use(struct pb_conn *conn, const char *user_id,
                            const unsigned char hash[PB_HASH_BYTES], int64_t now)
{
    struct pb_sqlite_conn *c = pb_sqlite_conn(conn);
    sqlite3_stmt *st;
    enum pb_qs qs = pb_sqlite_prepare(c, PB_SQ_RECOVERY_USE,
                                      "UPDATE recovery_codes SET used_at = ?3"
                                      " WHERE user_id = ?1 AND code_hash = ?2 AND used_at IS NULL",
                                      &st);
    if (qs < 0)
        return qs;
    sqlite3_bind_text(st, 1, user_id, -1, SQLITE_STATIC);
    pb_sqlite_bind_blob(st, 2, hash, PB_HASH_BYTES);
    sqlite3_bind_int64(st, 3, now);
    return pb_sqlite_step_change(c, st, "recovery code use");
}

enum pb_qs
pb_sqlite_recovery_codes_remaining(struct pb_conn *conn, const char *user_id, long *count)
{
    struct pb_sqlite_conn *c = pb_sqlite_conn(conn);
    sqlite3_stmt *st;
    *count = 0;
    enum pb_qs qs = pb_sqlite_prepare(
        c, PB_SQ_RECOVERY_REMAINING,
        "SELECT count(*) FROM recovery_codes WHERE user_id = ?1 AND used_at IS NULL", &st);
    if (qs < 0)
        return qs;
    sqlite3_bind_text(st, 1, user_id, -1, SQLITE_STATIC);
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        *count = (long)sqlite3_column_int64(st, 0);
        qs = PB_QS_ONE;
    } else {
        qs = pb_sqlite_fail(c, rc, "recovery codes remaining");
    }
    pb_sqlite_done(st);
    return qs;
}

enum pb_qs
pb_sqlite_reset_insert(struct pb_conn *conn, const unsigned char hash[PB_HASH_BYTES],
                       const char *user_id, int64_t expires_at)
{
    struct pb_sqlite_conn *c = pb_sqlite_conn(conn);
    sqlite3_stmt *st;
    enum pb_qs qs = pb_sqlite_prepare(c, PB_SQ_RESET_INSERT,
                                      "INSERT INTO password_resets (token_hash, user_id,"
                                      " expires_at, used_at) VALUES (?1, ?2, ?3, NULL)",
                                      &st);
    if (qs < 0)
        return qs;
    pb_sqlite_bind_blob(st, 1, hash, PB_HASH_BYTES);
    sqlite3_bind_text(st, 2, user_id, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 3, expires_at);
    return pb_sqlite_step_change(c, st, "reset insert");
}

enum pb_qs
pb_sqlite_reset_consume(struct pb_conn *conn, const unsigned char hash[PB_HASH_BYTES], int64_t now,
                        char user_id[PB_ID_LEN + 1])
{
    struct pb_sqlite_conn *c = pb_sqlite_conn(conn);
    sqlite3_stmt *st;
    user_id[0] = '\0';
    enum pb_qs qs = pb_sqlite_prepare(c, PB_SQ_RESET_CONSUME,
                                      "UPDATE password_resets SET used_at = ?2"
                                      " WHERE token_hash = ?1 AND used_at IS NULL"
                                      " AND expires_at > ?2 RETURNING user_id",
                                      &st);
    if (qs < 0)
        return qs;
    pb_sqlite_bind_blob(st, 1, hash, PB_HASH_BYTES);
    sqlite3_bind_int64(st, 2, now);
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        qs = PB_QS_ONE;
        if (!pb_sqlite_column_text(st, 0, user_id, PB_ID_LEN + 1)) {
            pb_error("sqlite: a reset token's user id does not fit its buffer");
            qs = PB_QS_HARD_ERROR;
        }
        /* token_hash is the key: no second row; run the statement to its end. */
        rc = sqlite3_step(st);
        if (rc != SQLITE_DONE)
            qs = pb_sqlite_fail(c, rc, "reset consume");
    } else if (rc == SQLITE_DONE) {
        qs = PB_QS_NONE;
    } else {
        qs = pb_sqlite_fail(c, rc, "reset consume");
    }
    pb_sqlite_done(st);
    return qs;
}
