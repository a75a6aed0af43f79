/* PostgreSQL: placements, which region holds each account's data. */
#include "store/pg/pg_internal.h"

#include <stdio.h>

#include "core/clock.h"
#include "core/log.h"

enum pb_qs
pb_pg_placement_set(struct pb_conn *conn, const char *account_id, const char *region)
{
    struct pb_pg_conn *c = pb_pg_conn(conn);
    char now[24];
    snprintf(now, sizeof(now), "%lld", (long long)pb_clock_now());
    const char *const params[] = {account_id, region, now};
    PGresult *res;
    enum pb_qs qs = pb_pg_exec(c, PB_PG_PLACEMENT_SET, "pb_placement_set",
                               "INSERT INTO placements (account_id, region, updated_at)"
                               " VALUES ($1, $2, $3) ON CONFLICT (account_id) DO UPDATE"
                               " SET region = excluded.region, updated_at = excluded.updated_at",
                               3, params, &res);
    if (qs < 0)
        return qs;
    qs = pb_pg_changes(res);
    PQclear(res);
    return qs;
}

enum pb_qs
pb_pg_placement_get(struct pb_conn *conn, const char *account_id,
                    char region[PB_REGION_NAME_MAX + 1])
{
    struct pb_pg_conn *c = pb_pg_conn(conn);
    const char *const params[] = {account_id};
    PGresult *res;
    enum pb_qs qs =
        pb_pg_exec(c, PB_PG_PLACEMENT_GET, "pb_placement_get",
                   "SELECT region FROM placements WHERE account_id = $1", 1, params, &res);
    if (qs < 0)
        return qs;
    if (PQntuples(res) == 0) {
        qs = PB_QS_NONE;
    } else if (!pb_pg_text(res, 0, 0, region, PB_REGION_NAME_MAX + 1)) {
        pb_error("postgres: a placement's region does not fit its buffer");
        qs = PB_QS_HARD_ERROR;
    } else {
        qs = PB_QS_ONE;
    }
    PQclear(res);
    return qs;
}
