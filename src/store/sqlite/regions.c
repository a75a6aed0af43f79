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
read_region(sqlite3_stmt *st, void *dst)
{
    struct pb_region *out = dst;
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
    return pb_sqlite_get_one(c, st, read_region, out, "region get");
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
    for (int n = 0; pb_sqlite_next(c, st, n, &qs, "region list"); n++) {
        struct pb_region region = {0};
        if (!read_region(st, &region))
            return pb_sqlite_bad_row(st);
        cb(cls, &region);
    }
    return qs;
}
