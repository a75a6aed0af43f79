/* SQLite: the regions of the control store (named stores holding tenant data). */
#include "store/sqlite/sqlite_internal.h"

#include "core/log.h"

enum pb_qs
pb_sqlite_region_insert(struct pb_conn *conn, const struct pb_region *region)
{
    struct pb_sqlite_conn *c = pb_sqlite_conn(conn);
    sqlite3_stmt *st;
    enum pb_qs qs = pb_sqlite_prepare(c, PB_SQ_REGION_INSERT,
                                      "INSERT INTO regions (name, url, created_at)"
                                      " VALUES (?1, ?2, ?3) ON CONFLICT (name) DO NOTHING",
                                      &st);
    if (qs < 0)
        return qs;
    sqlite3_bind_text(st, 1, region->name, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, region->url, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 3, region->created_at);
    return pb_sqlite_step_change(c, st, "region insert");
}

/* Fills `out` from a row of (name, url, created_at). */
static bool
read_region(sqlite3_stmt *st, struct pb_region *out)
{
    bool ok = pb_sqlite_column_text(st, 0, out->name, sizeof(out->name));
    ok = pb_sqlite_column_text(st, 1, out->url, sizeof(out->url)) && ok;
    out->created_at = sqlite3_column_int64(st, 2);
    if (!ok)
        pb_error("sqlite: a regions row does not fit its struct");
    return ok;
}

enum pb_qs
pb_sqlite_region_get(struct pb_conn *conn, const char *name, struct pb_region *out)
{
    struct pb_sqlite_conn *c = pb_sqlite_conn(conn);
    sqlite3_stmt *st;
    enum pb_qs qs = pb_sqlite_prepare(
        c, PB_SQ_REGION_GET, "SELECT name, url, created_at FROM regions WHERE name = ?1", &st);
    if (qs < 0)
        return qs;
    sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW)
        qs = read_region(st, out) ? PB_QS_ONE : PB_QS_HARD_ERROR;
    else if (rc == SQLITE_DONE)
        qs = PB_QS_NONE;
    else
        qs = pb_sqlite_fail(c, rc, "region get");
    pb_sqlite_done(st);
    return qs;
}

enum pb_qs
pb_sqlite_region_list(struct pb_conn *conn, pb_region_cb cb, void *cls)
{
    struct pb_sqlite_conn *c = pb_sqlite_conn(conn);
    sqlite3_stmt *st;
    enum pb_qs qs = pb_sqlite_prepare(
        c, PB_SQ_REGION_LIST, "SELECT name, url, created_at FROM regions ORDER BY name", &st);
    if (qs < 0)
        return qs;
    int rc, n = 0;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        struct pb_region region = {0};
        if (!read_region(st, &region)) {
            pb_sqlite_done(st);
            return PB_QS_HARD_ERROR;
        }
        cb(cls, &region);
        n++;
    }
    qs = rc == SQLITE_DONE ? (n == 0   ? PB_QS_NONE
                              : n == 1 ? PB_QS_ONE
                                       : PB_QS_N)
                           : pb_sqlite_fail(c, rc, "region list");
    pb_sqlite_done(st);
    return qs;
}
