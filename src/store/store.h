/*
 * The store: one interface over the two database backends (SQLite and
 * PostgreSQL), in the manner of GNU Taler's database plugins.
 *
 * A backend is a `const struct pb_store_ops` of function pointers; each
 * operation runs on one connection and answers with an `enum pb_qs`.
 * A `struct pb_store` is a pool of connections to one database URL.
 * Callers never begin or commit themselves: they hand a function to
 * pb_store_tx(), which runs it in a transaction and retries it when the
 * database reports a transient conflict (SQLITE_BUSY, PostgreSQL 40001/40P01).
 *
 * SQL lives next to the function that runs it, inside the backend, and
 * always binds its parameters.
 */
#ifndef PB_STORE_STORE_H
#define PB_STORE_STORE_H

#include <stdbool.h>
#include <stdint.h>

#include "core/err.h"
#include "core/id.h"

/* The outcome of one store operation (negative: failure; otherwise rows touched). */
enum pb_qs {
    PB_QS_HARD_ERROR = -2, /* a real error: constraint broken, bad SQL, lost connection */
    PB_QS_SOFT_ERROR = -1, /* a transient conflict: the transaction should be retried */
    PB_QS_NONE = 0,        /* no row matched */
    PB_QS_ONE = 1,         /* exactly one row */
    PB_QS_N = 2,           /* more than one row */
};

#define PB_ACCOUNT_NAME_MAX 400 /* bytes: 100 characters of up to 4 bytes */
#define PB_REGION_NAME_MAX  32
#define PB_STORE_URL_MAX    2048

struct pb_account {
    char id[PB_ID_LEN + 1];
    char name[PB_ACCOUNT_NAME_MAX + 1];
    char plan[16];      /* "standard" or "enterprise" */
    int64_t created_at; /* Unix seconds */
};

struct pb_region {
    char name[PB_REGION_NAME_MAX + 1];
    char url[PB_STORE_URL_MAX + 1]; /* "sqlite:PATH", "postgres://..." or "control" */
    int64_t created_at;
};

/*
 * One connection of a backend; opaque to everyone but that backend, which
 * casts it to its own struct (pb_sqlite_conn, pb_pg_conn).
 */
struct pb_conn;

typedef void (*pb_account_cb)(void *cls, const struct pb_account *account);
typedef void (*pb_region_cb)(void *cls, const struct pb_region *region);

struct pb_store_ops {
    const char *name; /* "sqlite" or "postgres" */

    /* Connection life. `why` explains a failure in one line, naming the database. */
    enum pb_err (*connect)(const char *url, struct pb_conn **out, char why[PB_WHY_MAX]);
    void (*disconnect)(struct pb_conn *conn);

    /* Transactions; pb_store_tx() is the only caller. */
    enum pb_qs (*begin)(struct pb_conn *conn, bool write);
    enum pb_qs (*commit)(struct pb_conn *conn);
    void (*rollback)(struct pb_conn *conn);

    /*
     * Applies the migrations the database lacks, all in one transaction,
     * and records each in the schema_version table. `*from` and `*to` get
     * the versions before and after.
     */
    enum pb_err (*migrate)(struct pb_conn *conn, int *from, int *to, char why[PB_WHY_MAX]);
    /* The schema version the database is at (0 for an empty database). */
    enum pb_qs (*schema_version)(struct pb_conn *conn, int *version);

    /* Accounts (control store). */
    enum pb_qs (*account_insert)(struct pb_conn *conn, const struct pb_account *account);
    enum pb_qs (*account_get)(struct pb_conn *conn, const char *id, struct pb_account *out);
    /* Accounts in id order, after `after_id` ("" for the start), at most `limit`. */
    enum pb_qs (*account_list)(struct pb_conn *conn, const char *after_id, int limit,
                               pb_account_cb cb, void *cls);

    /* Regions (control store). Inserting an existing name answers PB_QS_NONE. */
    enum pb_qs (*region_insert)(struct pb_conn *conn, const struct pb_region *region);
    enum pb_qs (*region_get)(struct pb_conn *conn, const char *name, struct pb_region *out);
    enum pb_qs (*region_list)(struct pb_conn *conn, pb_region_cb cb, void *cls);

    /* Placements: which region holds an account's data (control store). */
    enum pb_qs (*placement_set)(struct pb_conn *conn, const char *account_id, const char *region);
    enum pb_qs (*placement_get)(struct pb_conn *conn, const char *account_id,
                                char region[PB_REGION_NAME_MAX + 1]);
};

extern const struct pb_store_ops pb_store_sqlite;
extern const struct pb_store_ops pb_store_postgres;

/* Picks the backend for a URL by its scheme; NULL when none fits. */
const struct pb_store_ops *
pb_store_backend(const char *url);

/* A pool of connections to one database. */
struct pb_store;

/*
 * Opens a pool of up to `pool_size` connections to `url`. The first
 * connection is made at once, so a wrong URL, an unreachable server or a
 * corrupt file fails here with a message in `why`.
 */
enum pb_err
pb_store_open(const char *url, int pool_size, struct pb_store **out, char why[PB_WHY_MAX]);

void
pb_store_close(struct pb_store *store);

const struct pb_store_ops *
pb_store_get_ops(const struct pb_store *store);

const char *
pb_store_url(const struct pb_store *store);

/* Applies pending migrations (see pb_store_ops.migrate). */
enum pb_err
pb_store_migrate(struct pb_store *store, int *from, int *to, char why[PB_WHY_MAX]);

/* What a transaction function gets: the backend and the connection it runs on. */
struct pb_tx {
    const struct pb_store_ops *ops;
    struct pb_conn *conn;
    enum pb_err abort_err; /* set by pb_tx_abort() */
    int attempt;           /* 0 on the first try */
};

/*
 * Ends the transaction with a business-rule error: the runner rolls back
 * and pb_store_tx() returns `err`. Use as `return pb_tx_abort(tx, err);`.
 */
enum pb_qs
pb_tx_abort(struct pb_tx *tx, enum pb_err err);

/*
 * The body of a transaction. It may run several times (after a soft
 * error), so it must not have effects outside the database, and must reset
 * whatever it accumulates in `cls` at its start.
 */
typedef enum pb_qs (*pb_tx_fn)(struct pb_tx *tx, void *cls);

enum pb_tx_mode { PB_TX_READ, PB_TX_WRITE };

/*
 * Runs `fn` in a transaction on a pooled connection: commits when it
 * returns >= 0; on PB_QS_SOFT_ERROR (from `fn` or the commit) rolls back,
 * waits a random, growing delay and tries again, up to 8 times.
 * Returns PB_ERR_OK, the error given to pb_tx_abort(), PB_ERR_STORE_SOFT
 * when the retries ran out, PB_ERR_STORE_OPEN when no connection could be
 * made, or PB_ERR_STORE_HARD.
 *
 * Never call it from inside another transaction function on the same store:
 * the inner call waits for a pooled connection the outer one holds.
 */
enum pb_err
pb_store_tx(struct pb_store *store, enum pb_tx_mode mode, pb_tx_fn fn, void *cls);

#endif
