/* The store suites' fixture, backend choice, raw SQL and the rows they make alike. */
#include "support/storetest.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <libpq-fe.h>
#include <sqlite3.h>

#include "core/clock.h"
#include "core/id.h"
#include "core/strutil.h"
#include "support/tmpdir.h"

static const char *pg_url;     /* PB_TEST_STORE_URL when it names PostgreSQL */
static const char *sqlite_url; /* PB_TEST_STORE_URL when it names a SQLite file */

bool
pb_storetest_init(const char *suite)
{
    const char *url = getenv("PB_TEST_STORE_URL");
    if (url != NULL && *url != '\0') {
        if (pb_store_backend(url) == NULL) {
            fprintf(stderr, "PB_TEST_STORE_URL=%s: unknown scheme\n", url);
            return false;
        }
        if (pb_str_starts_with(url, "sqlite:"))
            sqlite_url = url; /* removed and made afresh for each test */
        else
            pg_url = url;
    }
    if (pg_url != NULL)
        fprintf(stderr, "%s: backend postgres (PB_TEST_STORE_URL)\n", suite);
    else
        fprintf(stderr, "%s: backend sqlite (%s)\n", suite,
                sqlite_url ? sqlite_url : "a temporary file per test");
    return true;
}

bool
pb_storetest_on_postgres(void)
{
    return pg_url != NULL;
}

/* Removes a SQLite database with its WAL and shared-memory files. */
static void
remove_sqlite(const char *path)
{
    char side[PATH_MAX + 8];
    unlink(path);
    snprintf(side, sizeof(side), "%s-wal", path);
    unlink(side);
    snprintf(side, sizeof(side), "%s-shm", path);
    unlink(side);
}

int
pb_storetest_setup(void **state)
{
    struct pb_storetest *f = calloc(1, sizeof(*f));
    assert_non_null(f);
    pb_test_tmpdir(f->dir);
    if (pg_url != NULL) {
        pb_strlcpy(f->url, pg_url, sizeof(f->url));
        pb_storetest_raw_exec(pg_url, "SET client_min_messages = warning;"
                                      "DROP SCHEMA public CASCADE; CREATE SCHEMA public;");
    } else if (sqlite_url != NULL) {
        pb_strlcpy(f->url, sqlite_url, sizeof(f->url));
        remove_sqlite(sqlite_url + strlen("sqlite:"));
    } else {
        snprintf(f->url, sizeof(f->url), "sqlite:%s/control.db", f->dir);
    }
    *state = f;
    return 0;
}

int
pb_storetest_teardown(void **state)
{
    struct pb_storetest *f = *state;
    pb_store_close(f->store);
    if (sqlite_url != NULL)
        remove_sqlite(sqlite_url + strlen("sqlite:"));
    pb_test_rmtree(f->dir);
    free(f);
    return 0;
}

void
pb_storetest_open(struct pb_storetest *f, int pool_size)
{
    char why[PB_WHY_MAX] = "";
    enum pb_err err = pb_store_open(f->url, pool_size, &f->store, why);
    if (err != PB_ERR_OK)
        fprintf(stderr, "pb_store_open: %s\n", why);
    assert_int_equal(err, PB_ERR_OK);
}

void
pb_storetest_open_migrated(struct pb_storetest *f, int pool_size)
{
    pb_storetest_open(f, pool_size);
    char why[PB_WHY_MAX] = "";
    int from, to;
    enum pb_err err = pb_store_migrate(f->store, &from, &to, why);
    if (err != PB_ERR_OK)
        fprintf(stderr, "pb_store_migrate: %s\n", why);
    assert_int_equal(err, PB_ERR_OK);
    assert_int_equal(to, PB_STORETEST_LATEST_VERSION);
}

bool
pb_storetest_is_sqlite(const struct pb_storetest *f)
{
    return pb_str_starts_with(f->url, "sqlite:");
}

void
pb_storetest_raw_exec(const char *url, const char *sql)
{
    if (pb_str_starts_with(url, "sqlite:")) {
        sqlite3 *db = NULL;
        assert_int_equal(sqlite3_open(url + strlen("sqlite:"), &db), SQLITE_OK);
        char *msg = NULL;
        int rc = sqlite3_exec(db, sql, NULL, NULL, &msg);
        if (rc != SQLITE_OK)
            fprintf(stderr, "raw_exec: %s\n", msg);
        sqlite3_free(msg);
        sqlite3_close(db);
        assert_int_equal(rc, SQLITE_OK);
        return;
    }
    PGconn *pg = PQconnectdb(url);
    assert_int_equal(PQstatus(pg), CONNECTION_OK);
    PGresult *res = PQexec(pg, sql);
    ExecStatusType status = PQresultStatus(res);
    if (status != PGRES_COMMAND_OK && status != PGRES_TUPLES_OK)
        fprintf(stderr, "raw_exec: %s", PQerrorMessage(pg));
    PQclear(res);
    PQfinish(pg);
    assert_true(status == PGRES_COMMAND_OK || status == PGRES_TUPLES_OK);
}

int64_t
pb_storetest_raw_count(const char *url, const char *sql)
{
    int64_t n = -1;
    if (pb_str_starts_with(url, "sqlite:")) {
        sqlite3 *db = NULL;
        sqlite3_stmt *st = NULL;
        assert_int_equal(sqlite3_open(url + strlen("sqlite:"), &db), SQLITE_OK);
        assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK);
        if (sqlite3_step(st) == SQLITE_ROW)
            n = sqlite3_column_int64(st, 0);
        sqlite3_finalize(st);
        sqlite3_close(db);
        assert_true(n >= 0);
        return n;
    }
    PGconn *pg = PQconnectdb(url);
    assert_int_equal(PQstatus(pg), CONNECTION_OK);
    PGresult *res = PQexec(pg, sql);
    if (PQresultStatus(res) == PGRES_TUPLES_OK && PQntuples(res) == 1)
        n = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
    else
        fprintf(stderr, "raw_count: %s", PQerrorMessage(pg));
    PQclear(res);
    PQfinish(pg);
    assert_true(n >= 0);
    return n;
}

void
pb_storetest_write(struct pb_store *store, pb_tx_fn fn, void *cls)
{
    assert_int_equal(pb_store_tx(store, PB_TX_WRITE, fn, cls), PB_ERR_OK);
}

void
pb_storetest_fill(unsigned char *buf, size_t len, unsigned seed)
{
    for (size_t i = 0; i < len; i++)
        buf[i] = (unsigned char)(seed * 31u + i * 7u + (i >> 8));
}

int
pb_storetest_cmp_ids(const void *x, const void *y)
{
    return strcmp(x, y);
}

void
pb_storetest_page_add(struct pb_storetest_page *p, const char *id)
{
    assert_true(p->count < 32);
    pb_strlcpy(p->ids[p->count++], id, sizeof(p->ids[0]));
}

void
pb_storetest_page_sort(struct pb_storetest_page *p, bool descending)
{
    qsort(p->ids, (size_t)p->count, sizeof(p->ids[0]), pb_storetest_cmp_ids);
    if (descending)
        for (int i = 0; i < p->count / 2; i++) {
            char tmp[PB_ID_LEN + 1];
            memcpy(tmp, p->ids[i], sizeof(tmp));
            memcpy(p->ids[i], p->ids[p->count - 1 - i], sizeof(tmp));
            memcpy(p->ids[p->count - 1 - i], tmp, sizeof(tmp));
        }
}

static enum pb_qs
account_insert_tx(struct pb_tx *tx, void *cls)
{
    return tx->ops->account_insert(tx->conn, cls);
}

void
pb_storetest_make_account(struct pb_account *a, const char *name)
{
    memset(a, 0, sizeof(*a));
    pb_id_new(a->id);
    pb_strlcpy(a->name, name, sizeof(a->name));
    pb_strlcpy(a->plan, "standard", sizeof(a->plan));
    a->created_at = pb_clock_now();
}

void
pb_storetest_insert_account(struct pb_store *store, struct pb_account *a, const char *name)
{
    pb_storetest_make_account(a, name);
    assert_int_equal(pb_store_tx(store, PB_TX_WRITE, account_insert_tx, a), PB_ERR_OK);
}

void
pb_storetest_tenants(struct pb_storetest *f, struct pb_storetest_tenants *t, int pool_size)
{
    pb_storetest_open_migrated(f, pool_size);
    pb_storetest_insert_account(f->store, &t->a, "tenant a");
    pb_storetest_insert_account(f->store, &t->b, "tenant b");
}

void
pb_storetest_tenants_write(struct pb_storetest *f, pb_tx_fn body)
{
    struct pb_storetest_tenants t;
    pb_storetest_tenants(f, &t, 1);
    pb_storetest_write(f->store, body, &t);
}

void
pb_storetest_make_contact(struct pb_contact *ct, const char *account_id, unsigned seed)
{
    memset(ct, 0, sizeof(*ct));
    pb_id_new(ct->id);
    pb_strlcpy(ct->account_id, account_id, sizeof(ct->account_id));
    pb_storetest_fill(ct->email_sealed, 80, seed);
    ct->email_sealed_len = 80;
    pb_storetest_fill(ct->email_bidx, PB_BIDX_MAX, seed + 1000);
    ct->email_bidx_len = PB_BIDX_MAX;
    pb_strlcpy(ct->status, "active", sizeof(ct->status));
    ct->created_at = ct->updated_at = 2000 + seed;
}

void
pb_storetest_make_list(struct pb_list *l, const char *account_id, const char *name)
{
    memset(l, 0, sizeof(*l));
    pb_id_new(l->id);
    pb_strlcpy(l->account_id, account_id, sizeof(l->account_id));
    pb_strlcpy(l->name, name, sizeof(l->name));
    pb_strlcpy(l->description, "about it", sizeof(l->description));
    l->is_public = true;
    l->created_at = 3000;
}
