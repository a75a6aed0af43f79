/* PostgreSQL: the regions of the control store (named stores holding tenant data). */
#include "store/pg/pg_internal.h"

#include <stdio.h>

#include "core/log.h"

enum pb_qs
pb_pg_region_insert(struct pb_conn *conn, const struct pb_region *region)
{
    struct pb_pg_conn *c = pb_pg_conn(conn);
    char created[24];
    snprintf(created, sizeof(created), "%lld", (long long)region->created_at);
    const char *const params[] = {region->name, region->url, created};
    PGresult *res;
    enum pb_qs qs = pb_pg_exec(c, PB_PG_REGION_INSERT, "pb_region_insert",
                               "INSERT INTO regions (name, url, created_at)"
                               " VALUES ($1, $2, $3) ON CONFLICT (name) DO NOTHING",
                               3, params, &res);
    if (qs < 0)
        return qs;
    qs = pb_pg_changes(res);
    PQclear(res);
    return qs;
}

/* Fills `out` from row `row` of (name, url, created_at). */
static bool
read_region(const PGresult *res, int row, void *dst)
{
    struct pb_region *out = dst;
    bool ok = pb_pg_text(res, row, 0, out->name, sizeof(out->name));
    ok = pb_pg_text(res, row, 1, out->url, sizeof(out->url)) && ok;
    out->created_at = pb_pg_int64(res, row, 2);
    if (!ok)
        pb_error("postgres: a regions row does not fit its struct");
    return ok;
}

enum pb_qs
pb_pg_region_get(struct pb_conn *conn, const char *name, struct pb_region *out)
{
    struct pb_pg_conn *c = pb_pg_conn(conn);
    const char *const params[] = {name};
    PGresult *res;
    enum pb_qs qs =
        pb_pg_exec(c, PB_PG_REGION_GET, "pb_region_get",
                   "SELECT name, url, created_at FROM regions WHERE name = $1", 1, params, &res);
    return qs < 0 ? qs : pb_pg_get_one(res, read_region, out);
}

enum pb_qs
pb_pg_region_list(struct pb_conn *conn, pb_region_cb cb, void *cls)
{
    struct pb_pg_conn *c = pb_pg_conn(conn);
    PGresult *res;
    enum pb_qs qs =
        pb_pg_exec(c, PB_PG_REGION_LIST, "pb_region_list",
                   "SELECT name, url, created_at FROM regions ORDER BY name", 0, NULL, &res);
    if (qs < 0)
        return qs;
    int n = PQntuples(res);
    for (int i = 0; i < n; i++) {
        struct pb_region region = {0};
        if (!read_region(res, i, &region))
            return pb_pg_bad_row(res);
        cb(cls, &region);
    }
    PQclear(res);
    return n == 0 ? PB_QS_NONE : n == 1 ? PB_QS_ONE : PB_QS_N;
}
