/* SQLite: placements, which region holds each account's data. */
#include "store/sqlite/sqlite_internal.h"

#include "core/clock.h"
#include "core/log.h"

enum pb_qs
pb_sqlite_placement_set(struct pb_conn *conn, const char *account_id, const char *region)
{
    struct pb_sqlite_conn *c = pb_sqlite_conn(conn);
    sqlite3_stmt *st;
    enum pb_qs qs = pb_sqlite_prepare(c, PB_SQ_PLACEMENT_SET,
                                      "INSERT INTO placements (account_id, region, updated_at)"
                                      " VALUES (?1, ?2, ?3) ON CONFLICT (account_id) DO UPDATE"
                                      " SET region = excluded.region,"
                                      " updated_at = excluded.updated_at",
                                      &st);
    if (qs < 0)
        return qs;
    sqlite3_bind_text(st, 1, account_id, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, region, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 3, pb_clock_now());
    return pb_sqlite_step_change(c, st, "placement set");
}

enum pb_qs
pb_sqlite_placement_get(struct pb_conn *conn, const char *account_id,
                        char region[PB_REGION_NAME_MAX + 1])
{
    struct pb_sqlite_conn *c = pb_sqlite_conn(conn);
    sqlite3_stmt *st;
    enum pb_qs qs = pb_sqlite_prepare(c, PB_SQ_PLACEMENT_GET,
                                      "SELECT region FROM placements WHERE account_id = ?1", &st);
    if (qs < 0)
        return qs;
    sqlite3_bind_text(st, 1, account_id, -1, SQLITE_STATIC);
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        qs = PB_QS_ONE;
        if (!pb_sqlite_column_text(st, 0, region, PB_REGION_NAME_MAX + 1)) {
            pb_error("sqlite: a placement's region does not fit its buffer");
            qs = PB_QS_HARD_ERROR;
        }
    } else if (rc == SQLITE_DONE) {
        qs = PB_QS_NONE;
    } else {
        qs = pb_sqlite_fail(c, rc, "placement get");
    }
    pb_sqlite_done(st);
    return qs;
}
