/*
 * The PostgreSQL backend's private parts: the connection with the record of
 * which statements it has prepared, the helpers every aggregate file uses,
 * and the operations each of those files provides to the ops table in conn.c.
 */
#ifndef PB_STORE_PG_INTERNAL_H
#define PB_STORE_PG_INTERNAL_H

#include <libpq-fe.h>

#include "store/store.h"

/* Every prepared statement has a slot; the SQL stays next to the function using it. */
enum pb_pg_stmt {
    PB_PG_VERSION_TABLE,
    PB_PG_VERSION_MAX,
    PB_PG_ACCOUNT_INSERT,
    PB_PG_ACCOUNT_GET,
    PB_PG_ACCOUNT_LIST,
    PB_PG_REGION_INSERT,
    PB_PG_REGION_GET,
    PB_PG_REGION_LIST,
    PB_PG_PLACEMENT_SET,
    PB_PG_PLACEMENT_GET,
    PB_PG_COUNT
};

struct pb_pg_conn {
    PGconn *pg;
    char where[160]; /* "database DB on HOST:PORT", for messages (never the password) */
    bool prepared[PB_PG_COUNT];
};

/* The backend's view of the opaque connection. */
static inline struct pb_pg_conn *
pb_pg_conn(struct pb_conn *conn)
{
    return (struct pb_pg_conn *)conn;
}

/*
 * Runs the prepared statement `id` (named `name`, prepared from `sql` on
 * first use on this connection) with `nparams` text parameters. On success
 * returns PB_QS_ONE and the result in `*out` (PQclear it); otherwise
 * PB_QS_SOFT_ERROR (serialization failure, deadlock) or PB_QS_HARD_ERROR.
 */
enum pb_qs
pb_pg_exec(struct pb_pg_conn *c, enum pb_pg_stmt id, const char *name, const char *sql, int nparams,
           const char *const *params, PGresult **out);

/* Reconnects a lost connection (its statements are then prepared anew); false when it stays lost.
 */
bool
pb_pg_ensure_alive(struct pb_pg_conn *c);

/* Classifies a failed result (NULL: no result at all), logging it. */
enum pb_qs
pb_pg_fail(struct pb_pg_conn *c, const PGresult *res, const char *what);

/* PB_QS_NONE/ONE/N from the rows a command touched. */
enum pb_qs
pb_pg_changes(const PGresult *res);

/* Copies a field into `dst`; false when it is NULL or does not fit. */
bool
pb_pg_text(const PGresult *res, int row, int col, char *dst, size_t size);

/* A field as a 64-bit integer. */
int64_t
pb_pg_int64(const PGresult *res, int row, int col);

/* migrations.c */
enum pb_err
pb_pg_migrate(struct pb_conn *conn, int *from, int *to, char why[PB_WHY_MAX]);
enum pb_qs
pb_pg_schema_version(struct pb_conn *conn, int *version);

/* accounts.c */
enum pb_qs
pb_pg_account_insert(struct pb_conn *conn, const struct pb_account *account);
enum pb_qs
pb_pg_account_get(struct pb_conn *conn, const char *id, struct pb_account *out);
enum pb_qs
pb_pg_account_list(struct pb_conn *conn, const char *after_id, int limit, pb_account_cb cb,
                   void *cls);

/* regions.c */
enum pb_qs
pb_pg_region_insert(struct pb_conn *conn, const struct pb_region *region);
enum pb_qs
pb_pg_region_get(struct pb_conn *conn, const char *name, struct pb_region *out);
enum pb_qs
pb_pg_region_list(struct pb_conn *conn, pb_region_cb cb, void *cls);

/* placements.c */
enum pb_qs
pb_pg_placement_set(struct pb_conn *conn, const char *account_id, const char *region);
enum pb_qs
pb_pg_placement_get(struct pb_conn *conn, const char *account_id,
                    char region[PB_REGION_NAME_MAX + 1]);

#endif
