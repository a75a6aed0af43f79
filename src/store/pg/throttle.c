/* PostgreSQL: login throttling, failures counted per key (a hash of an email, or an address). */
#include "store/pg/pg_internal.h"

#include <stdio.h>

#include "core/log.h"

enum pb_qs
pb_pg_throttle_get(struct pb_conn *conn, const char *key, struct pb_throttle *out)
{
    struct pb_pg_conn *c = pb_pg_conn(conn);
    const char *const params[] = {key};
    PGresult *res;
    out->failures = 0;
    out->last_failure_at = 0;
    enum pb_qs qs = pb_pg_exec(
        c, PB_PG_THROTTLE_GET, "pb_throttle_get",
        "SELECT failures, last_failure_at FROM login_throttle WHERE key = $1", 1, params, &res);
    if (qs < 0)
        return qs;
    if (PQntuples(res) == 0) {
        qs = PB_QS_NONE;
    } else {
        out->failures = (int)pb_pg_int64(res, 0, 0);
        out->last_failure_at = pb_pg_int64(res, 0, 1);
        qs = PB_QS_ONE;
    }
    PQclear(res);
    return qs;
}

enum pb_qs
pb_pg_throttle_fail(struct pb_conn *conn, const char *key, int64_t now)
{
    struct pb_pg_conn *c = pb_pg_conn(conn);
    char now_text[24];
    snprintf(now_text, sizeof(now_text), "%lld", (long long)now);
    const char *const params[] = {key, now_text};
    return pb_pg_exec_change(
        c, PB_PG_THROTTLE_FAIL, "pb_throttle_fail",
        "INSERT INTO login_throttle AS t (key, failures, last_failure_at) VALUES ($1, 1, $2)"
        " ON CONFLICT (key) DO UPDATE SET failures = t.failures + 1,"
        " last_failure_at = excluded.last_failure_at",
        2, params);
}

enum pb_qs
pb_pg_throttle_clear(struct pb_conn *conn, const char *key)
{
    struct pb_pg_conn *c = pb_pg_conn(conn);
    const char *const params[] = {key};
    return pb_pg_exec_change(c, PB_PG_THROTTLE_CLEAR, "pb_throttle_clear",
                             "DELETE FROM login_throttle WHERE key = $1", 1, params);
}
