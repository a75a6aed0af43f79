/* SQLite: login sessions, found by the hash of their token. */
#include "store/sqlite/sqlite_internal.h"

#include "core/log.h"

enum pb_qs
pb_sqlite_session_insert(struct pb_conn *conn, const struct pb_session *session)
{
    struct pb_sqlite_conn *c = pb_sqlite_conn(conn);
    sqlite3_stmt *st;
    enum pb_qs qs = pb_sqlite_prepare(
        c, PB_SQ_SESSION_INSERT,
        "INSERT INTO sessions (token_hash, user_id, mfa_pending, created_at, last_seen_at)"
        " VALUES (?1, ?2, ?3, ?4, ?5)",
        &st);
    if (qs < 0)
        return qs;
    pb_sqlite_bind_blob(st, 1, session->token_hash, PB_HASH_BYTES);
    sqlite3_bind_text(st, 2, session->user_id, -1, SQLITE_STATIC);
    sqlite3_bind_int(st, 3, session->mfa_pending ? 1 : 0);
    sqlite3_bind_int64(st, 4, session->created_at);
    sqlite3_bind_int64(st, 5, session->last_seen_at);
    return pb_sqlite_step_change(c, st, "session insert");
}

enum pb_qs
pb_sqlite_session_get(struct pb_conn *conn, const unsigned char hash[PB_HASH_BYTES],
                      struct pb_session *out)
{
    struct pb_sqlite_conn *c = pb_sqlite_conn(conn);
    sqlite3_stmt *st;
    enum pb_qs qs = pb_sqlite_prepare(c, PB_SQ_SESSION_GET,
                                      "SELECT token_hash, user_id, mfa_pending, created_at,"
                                      " last_seen_at FROM sessions WHERE token_hash = ?1",
                                      &st);
    if (qs < 0)
        return qs;
    pb_sqlite_bind_blob(st, 1, hash, PB_HASH_BYTES);
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        size_t len = 0;
        bool ok = pb_sqlite_column_blob(st, 0, out->token_hash, sizeof(out->token_hash), &len) &&
                  len == PB_HASH_BYTES;
        ok = pb_sqlite_column_text(st, 1, out->user_id, sizeof(out->user_id)) && ok;
        out->mfa_pending = sqlite3_column_int(st, 2) != 0;
        out->created_at = sqlite3_column_int64(st, 3);
        out->last_seen_at = sqlite3_column_int64(st, 4);
        qs = PB_QS_ONE;
        if (!ok) {
            pb_error("sqlite: a sessions row does not fit its struct");
            qs = PB_QS_HARD_ERROR;
        }
    } else if (rc == SQLITE_DONE) {
        qs = PB_QS_NONE;
    } else {
        qs = pb_sqlite_fail(c, rc, "session get");
    }
    pb_sqlite_done(st);
    return qs;
}

enum pb_qs
pb_sqlite_session_touch(struct pb_conn *conn, const unsigned char hash[PB_HASH_BYTES], int64_t now)
{
    struct pb_sqlite_conn *c = pb_sqlite_conn(conn);
    sqlite3_stmt *st;
    enum pb_qs qs = pb_sqlite_prepare(
        c, PB_SQ_SESSION_TOUCH, "UPDATE sessions SET last_seen_at = ?2 WHERE token_hash = ?1", &st);
    if (qs < 0)
        return qs;
    pb_sqlite_bind_blob(st, 1, hash, PB_HASH_BYTES);
    sqlite3_bind_int64(st, 2, now);
    return pb_sqlite_step_change(c, st, "session touch");
}

enum pb_qs
pb_sqlite_session_delete(struct pb_conn *conn, const unsigned char hash[PB_HASH_BYTES])
{
    struct pb_sqlite_conn *c = pb_sqlite_conn(conn);
    sqlite3_stmt *st;
    enum pb_qs qs = pb_sqlite_prepare(c, PB_SQ_SESSION_DELETE,
                                      "DELETE FROM sessions WHERE token_hash = ?1", &st);
    if (qs < 0)
        return qs;
    pb_sqlite_bind_blob(st, 1, hash, PB_HASH_BYTES);
    return pb_sqlite_step_change(c, st, "session delete");
}

enum pb_qs
pb_sqlite_session_delete_for_user(struct pb_conn *conn, const char *user_id)
{
    struct pb_sqlite_conn *c = pb_sqlite_conn(conn);
    sqlite3_stmt *st;
    enum pb_qs qs = pb_sqlite_prepare(c, PB_SQ_SESSION_DELETE_FOR_USER,
                                      "DELETE FROM sessions WHERE user_id = ?1", &st);
    if (qs < 0)
        return qs;
    sqlite3_bind_text(st, 1, user_id, -1, SQLITE_STATIC);
    return pb_sqlite_step_change(c, st, "session delete for user");
}
