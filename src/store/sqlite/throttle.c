/* SQLite: login throttling, failures counted per key (a hash of an email, or a client address). */
#include "store/sqlite/sqlite_internal.h"

#include "core/log.h"

enum pb_qs
pb_sqlite_throttle_get(struct pb_conn *conn, const char *key, struct pb_throttle *out)
{
    struct pb_sqlite_conn *c = pb_sqlite_conn(conn);
    sqlite3_stmt *st;
    out->failures = 0;
    out->last_failure_at = 0;
    enum pb_qs qs = pb_sqlite_prepare(
        c, PB_SQ_THROTTLE_GET,
        "SELECT failures, last_failure_at FROM login_throttle WHERE key = ?1", &st);
    if (qs < 0)
        return qs;
    sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        out->failures = sqlite3_column_int(st, 0);
        out->last_failure_at = sqlite3_column_int64(st, 1);
        qs = PB_QS_ONE;
    } else if (rc == SQLITE_DONE) {
        qs = PB_QS_NONE;
    } else {
        qs = pb_sqlite_fail(c, rc, "throttle get");
    }
    pb_sqlite_done(st);
    return qs;
}

enum pb_qs
pb_sqlite_throttle_fail(struct pb_conn *conn, const char *key, int64_t now)
{
    struct pb_sqlite_conn *c = pb_sqlite_conn(conn);
    sqlite3_stmt *st;
    enum pb_qs qs = pb_sqlite_prepare(
        c, PB_SQ_THROTTLE_FAIL,
        "INSERT INTO login_throttle (key, failures, last_failure_at) VALUES (?1, 1, ?2)"
        " ON CONFLICT (key) DO UPDATE SET failures = failures + 1,"
        " last_failure_at = excluded.last_failure_at",
        &st);
    if (qs < 0)
        return qs;
    sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, now);
    return pb_sqlite_step_change(c, st, "throttle fail");
}

enum pb_qs
pb_sqlite_throttle_clear(struct pb_conn *conn, const char *key)
{
    struct pb_sqlite_conn *c = pb_sqlite_conn(conn);
    sqlite3_stmt *st;
    enum pb_qs qs = pb_sqlite_prepare(c, PB_SQ_THROTTLE_CLEAR,
                                      "DELETE FROM login_throttle WHERE key = ?1", &st);
    if (qs < 0)
        return qs;
    sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
    return pb_sqlite_step_change(c, st, "throttle clear");
}
