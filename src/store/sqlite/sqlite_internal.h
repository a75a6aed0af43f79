/*
 * The SQLite backend's private parts: the connection with its cache of
 * prepared statements, the helpers every aggregate file uses, and the
 * operations each of those files provides to the ops table in conn.c.
 */
#ifndef PB_STORE_SQLITE_INTERNAL_H
#define PB_STORE_SQLITE_INTERNAL_H

#include <sqlite3.h>

#include "store/store.h"

/* Every cached statement has a slot; the SQL stays next to the function using it. */
enum pb_sq_stmt {
    PB_SQ_VERSION_TABLE,
    PB_SQ_VERSION_MAX,
    PB_SQ_VERSION_INSERT,
    PB_SQ_ACCOUNT_INSERT,
    PB_SQ_ACCOUNT_GET,
    PB_SQ_ACCOUNT_LIST,
    PB_SQ_REGION_INSERT,
    PB_SQ_REGION_GET,
    PB_SQ_REGION_LIST,
    PB_SQ_PLACEMENT_SET,
    PB_SQ_PLACEMENT_GET,
    PB_SQ_COUNT
};

struct pb_sqlite_conn {
    sqlite3 *db;
    char path[PB_STORE_URL_MAX + 1];
    sqlite3_stmt *stmts[PB_SQ_COUNT];
};

/* The backend's view of the opaque connection. */
static inline struct pb_sqlite_conn *
pb_sqlite_conn(struct pb_conn *conn)
{
    return (struct pb_sqlite_conn *)conn;
}

/* Maps a failed SQLite result code to SOFT (busy, locked) or HARD, logging it. */
enum pb_qs
pb_sqlite_fail(struct pb_sqlite_conn *c, int rc, const char *what);

/* The cached statement `id`, prepared from `sql` on first use. */
enum pb_qs
pb_sqlite_prepare(struct pb_sqlite_conn *c, enum pb_sq_stmt id, const char *sql,
                  sqlite3_stmt **out);

/* Resets a statement after use and clears its bindings. */
void
pb_sqlite_done(sqlite3_stmt *st);

/* Runs a statement that returns no rows; PB_QS_NONE/ONE/N from the rows changed. */
enum pb_qs
pb_sqlite_step_change(struct pb_sqlite_conn *c, sqlite3_stmt *st, const char *what);

/* Copies text column `col` into `dst`; false when it is NULL or does not fit. */
bool
pb_sqlite_column_text(sqlite3_stmt *st, int col, char *dst, size_t size);

/* migrations.c */
enum pb_err
pb_sqlite_migrate(struct pb_conn *conn, int *from, int *to, char why[PB_WHY_MAX]);
enum pb_qs
pb_sqlite_schema_version(struct pb_conn *conn, int *version);

/* accounts.c */
enum pb_qs
pb_sqlite_account_insert(struct pb_conn *conn, const struct pb_account *account);
enum pb_qs
pb_sqlite_account_get(struct pb_conn *conn, const char *id, struct pb_account *out);
enum pb_qs
pb_sqlite_account_list(struct pb_conn *conn, const char *after_id, int limit, pb_account_cb cb,
                       void *cls);

/* regions.c */
enum pb_qs
pb_sqlite_region_insert(struct pb_conn *conn, const struct pb_region *region);
enum pb_qs
pb_sqlite_region_get(struct pb_conn *conn, const char *name, struct pb_region *out);
enum pb_qs
pb_sqlite_region_list(struct pb_conn *conn, pb_region_cb cb, void *cls);

/* placements.c */
enum pb_qs
pb_sqlite_placement_set(struct pb_conn *conn, const char *account_id, const char *region);
enum pb_qs
pb_sqlite_placement_get(struct pb_conn *conn, const char *account_id,
                        char region[PB_REGION_NAME_MAX + 1]);

#endif
