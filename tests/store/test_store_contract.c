/*
 * The store contract: one suite that every backend must pass. The backend
 * comes from PB_TEST_STORE_URL ("sqlite:PATH" or "postgres://..."); without
 * it each test gets a fresh SQLite file in a temporary directory. A given
 * SQLite file is deleted before each test; under PostgreSQL each test starts
 * from an empty public schema.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <libpq-fe.h>
#include <sqlite3.h>

#include "core/clock.h"
#include "core/id.h"
#include "core/strutil.h"
#include "store/placement.h"
#include "store/store.h"
#include "support/tmpdir.h"

static const char *pg_url;     /* PB_TEST_STORE_URL when it names PostgreSQL */
static const char *sqlite_url; /* PB_TEST_STORE_URL when it names a SQLite file */

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

struct fixture {
    char dir[PATH_MAX];
    char url[PB_STORE_URL_MAX + 1];
    struct pb_store *store;
};

/* Runs SQL outside the store (to set up what the store itself cannot). */
static void
raw_exec(const char *url, const char *sql)
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

static int
setup(void **state)
{
    struct fixture *f = calloc(1, sizeof(*f));
    assert_non_null(f);
    pb_test_tmpdir(f->dir);
    if (pg_url != NULL) {
        pb_strlcpy(f->url, pg_url, sizeof(f->url));
        raw_exec(pg_url, "SET client_min_messages = warning;"
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

static int
teardown(void **state)
{
    struct fixture *f = *state;
    pb_store_close(f->store);
    if (sqlite_url != NULL)
        remove_sqlite(sqlite_url + strlen("sqlite:"));
    pb_test_rmtree(f->dir);
    free(f);
    return 0;
}

static void
open_store(struct fixture *f, int pool_size)
{
    char why[PB_WHY_MAX] = "";
    enum pb_err err = pb_store_open(f->url, pool_size, &f->store, why);
    if (err != PB_ERR_OK)
        fprintf(stderr, "pb_store_open: %s\n", why);
    assert_int_equal(err, PB_ERR_OK);
}

static void
open_migrated(struct fixture *f, int pool_size)
{
    open_store(f, pool_size);
    char why[PB_WHY_MAX] = "";
    int from, to;
    enum pb_err err = pb_store_migrate(f->store, &from, &to, why);
    if (err != PB_ERR_OK)
        fprintf(stderr, "pb_store_migrate: %s\n", why);
    assert_int_equal(err, PB_ERR_OK);
    assert_int_equal(to, 1);
}

/* ---- small transactions used by the tests ---- */

static enum pb_qs
version_tx(struct pb_tx *tx, void *cls)
{
    return tx->ops->schema_version(tx->conn, cls);
}

static int
schema_version(struct pb_store *store)
{
    int version = -1;
    assert_int_equal(pb_store_tx(store, PB_TX_READ, version_tx, &version), PB_ERR_OK);
    return version;
}

static enum pb_qs
account_insert_tx(struct pb_tx *tx, void *cls)
{
    return tx->ops->account_insert(tx->conn, cls);
}

static void
make_account(struct pb_account *a, const char *name)
{
    memset(a, 0, sizeof(*a));
    pb_id_new(a->id);
    pb_strlcpy(a->name, name, sizeof(a->name));
    pb_strlcpy(a->plan, "standard", sizeof(a->plan));
    a->created_at = pb_clock_now();
}

static void
insert_account(struct pb_store *store, struct pb_account *a, const char *name)
{
    make_account(a, name);
    assert_int_equal(pb_store_tx(store, PB_TX_WRITE, account_insert_tx, a), PB_ERR_OK);
}

struct account_get {
    const char *id;
    struct pb_account out;
    enum pb_qs qs;
};

static enum pb_qs
account_get_tx(struct pb_tx *tx, void *cls)
{
    struct account_get *g = cls;
    g->qs = tx->ops->account_get(tx->conn, g->id, &g->out);
    return g->qs;
}

static enum pb_qs
region_insert_tx(struct pb_tx *tx, void *cls)
{
    return tx->ops->region_insert(tx->conn, cls);
}

static void
make_region(struct pb_region *r, const char *name, const char *url)
{
    memset(r, 0, sizeof(*r));
    pb_strlcpy(r->name, name, sizeof(r->name));
    pb_strlcpy(r->url, url, sizeof(r->url));
    r->created_at = pb_clock_now();
}

static void
insert_region(struct pb_store *store, const char *name, const char *url)
{
    struct pb_region r;
    make_region(&r, name, url);
    assert_int_equal(pb_store_tx(store, PB_TX_WRITE, region_insert_tx, &r), PB_ERR_OK);
}

struct region_get {
    const char *name;
    struct pb_region out;
    enum pb_qs qs;
};

static enum pb_qs
region_get_tx(struct pb_tx *tx, void *cls)
{
    struct region_get *g = cls;
    g->qs = tx->ops->region_get(tx->conn, g->name, &g->out);
    return g->qs;
}

static enum pb_qs
region_get_qs(struct pb_store *store, const char *name, struct pb_region *out)
{
    struct region_get g = {.name = name};
    assert_int_equal(pb_store_tx(store, PB_TX_READ, region_get_tx, &g), PB_ERR_OK);
    if (out != NULL)
        *out = g.out;
    return g.qs;
}

struct names {
    char (*items)[PB_STORE_URL_MAX + 1];
    int count;
    int cap;
};

static void
collect_region(void *cls, const struct pb_region *region)
{
    struct names *n = cls;
    if (n->count < n->cap)
        pb_strlcpy(n->items[n->count], region->name, sizeof(n->items[0]));
    n->count++;
}

static enum pb_qs
region_list_tx(struct pb_tx *tx, void *cls)
{
    struct names *n = cls;
    n->count = 0;
    return tx->ops->region_list(tx->conn, collect_region, cls);
}

static int
region_count(struct pb_store *store)
{
    struct names n = {0};
    assert_int_equal(pb_store_tx(store, PB_TX_READ, region_list_tx, &n), PB_ERR_OK);
    return n.count;
}

struct placement_op {
    const char *account_id;
    const char *region;
    char got[PB_REGION_NAME_MAX + 1];
    enum pb_qs qs;
};

static enum pb_qs
placement_set_tx(struct pb_tx *tx, void *cls)
{
    struct placement_op *p = cls;
    p->qs = tx->ops->placement_set(tx->conn, p->account_id, p->region);
    return p->qs;
}

static enum pb_qs
placement_get_tx(struct pb_tx *tx, void *cls)
{
    struct placement_op *p = cls;
    p->qs = tx->ops->placement_get(tx->conn, p->account_id, p->got);
    return p->qs;
}

/* ---- migrations ---- */

static void
migrate_from_empty(void **state)
{
    struct fixture *f = *state;
    open_store(f, 1);
    assert_int_equal(schema_version(f->store), 0);
    char why[PB_WHY_MAX] = "";
    int from = -1, to = -1;
    assert_int_equal(pb_store_migrate(f->store, &from, &to, why), PB_ERR_OK);
    assert_int_equal(from, 0);
    assert_int_equal(to, 1);
    assert_int_equal(schema_version(f->store), 1);
}

static void
migrate_again_is_a_noop(void **state)
{
    struct fixture *f = *state;
    open_migrated(f, 1);
    struct pb_account a;
    insert_account(f->store, &a, "kept");
    char why[PB_WHY_MAX] = "";
    int from = -1, to = -1;
    assert_int_equal(pb_store_migrate(f->store, &from, &to, why), PB_ERR_OK);
    assert_int_equal(from, 1);
    assert_int_equal(to, 1);

    /* And after reopening. */
    pb_store_close(f->store);
    f->store = NULL;
    open_store(f, 1);
    assert_int_equal(pb_store_migrate(f->store, &from, &to, why), PB_ERR_OK);
    assert_int_equal(from, 1);
    assert_int_equal(to, 1);
    struct account_get g = {.id = a.id};
    assert_int_equal(pb_store_tx(f->store, PB_TX_READ, account_get_tx, &g), PB_ERR_OK);
    assert_int_equal(g.qs, PB_QS_ONE);
}

static void
newer_schema_is_refused(void **state)
{
    struct fixture *f = *state;
    open_migrated(f, 1);
    raw_exec(f->url, "INSERT INTO schema_version (version, applied_at) VALUES (99, 0)");
    char why[PB_WHY_MAX] = "";
    int from = -1, to = -1;
    assert_int_equal(pb_store_migrate(f->store, &from, &to, why), PB_ERR_STORE_TOO_NEW);
    assert_non_null(strstr(why, "99"));
    assert_int_equal(from, 99);
}

/* ---- accounts ---- */

static int
cmp_ids(const void *a, const void *b)
{
    return strcmp(a, b);
}

struct page {
    char ids[32][PB_ID_LEN + 1];
    int count;
};

static void
collect_account(void *cls, const struct pb_account *account)
{
    struct page *p = cls;
    assert_true(p->count < 32);
    pb_strlcpy(p->ids[p->count++], account->id, sizeof(p->ids[0]));
}

struct list_op {
    const char *after;
    int limit;
    struct page page;
    enum pb_qs qs;
};

static enum pb_qs
account_list_tx(struct pb_tx *tx, void *cls)
{
    struct list_op *l = cls;
    l->page.count = 0;
    l->qs = tx->ops->account_list(tx->conn, l->after, l->limit, collect_account, &l->page);
    return l->qs;
}

static void
accounts_insert_get_and_list_by_pages(void **state)
{
    struct fixture *f = *state;
    open_migrated(f, 1);

    enum { N = 25 };
    char ids[N][PB_ID_LEN + 1];
    struct pb_account a;
    for (int i = 0; i < N; i++) {
        char name[32];
        snprintf(name, sizeof(name), "Account %d", i);
        insert_account(f->store, &a, name);
        memcpy(ids[i], a.id, sizeof(ids[i]));
    }
    /* The last one, read back whole. */
    struct account_get g = {.id = a.id};
    assert_int_equal(pb_store_tx(f->store, PB_TX_READ, account_get_tx, &g), PB_ERR_OK);
    assert_int_equal(g.qs, PB_QS_ONE);
    assert_string_equal(g.out.id, a.id);
    assert_string_equal(g.out.name, "Account 24");
    assert_string_equal(g.out.plan, "standard");
    assert_int_equal(g.out.created_at, a.created_at);

    struct account_get missing = {.id = "00000000000000000000000000"};
    assert_int_equal(pb_store_tx(f->store, PB_TX_READ, account_get_tx, &missing), PB_ERR_OK);
    assert_int_equal(missing.qs, PB_QS_NONE);

    /* Pages of 10 in id order: 10, 10, 5, then nothing. */
    qsort(ids, N, sizeof(ids[0]), cmp_ids);
    char after[PB_ID_LEN + 1] = "";
    int seen = 0;
    const int sizes[] = {10, 10, 5, 0};
    for (int p = 0; p < 4; p++) {
        struct list_op l = {.after = after, .limit = 10};
        assert_int_equal(pb_store_tx(f->store, PB_TX_READ, account_list_tx, &l), PB_ERR_OK);
        assert_int_equal(l.page.count, sizes[p]);
        assert_int_equal(l.qs, sizes[p] == 0 ? PB_QS_NONE : PB_QS_N);
        for (int i = 0; i < l.page.count; i++)
            assert_string_equal(l.page.ids[i], ids[seen++]);
        if (l.page.count > 0)
            pb_strlcpy(after, l.page.ids[l.page.count - 1], sizeof(after));
    }
    assert_int_equal(seen, N);

    /* A page of one answers ONE. */
    struct list_op one = {.after = "", .limit = 1};
    assert_int_equal(pb_store_tx(f->store, PB_TX_READ, account_list_tx, &one), PB_ERR_OK);
    assert_int_equal(one.qs, PB_QS_ONE);
    assert_string_equal(one.page.ids[0], ids[0]);
}

struct dup_op {
    const struct pb_account *account;
    enum pb_qs insert_qs;
};

static enum pb_qs
region_then_duplicate_tx(struct pb_tx *tx, void *cls)
{
    struct dup_op *d = cls;
    struct pb_region r;
    make_region(&r, "dup-region", "control");
    enum pb_qs qs = tx->ops->region_insert(tx->conn, &r);
    if (qs < 0)
        return qs;
    d->insert_qs = tx->ops->account_insert(tx->conn, d->account);
    return d->insert_qs;
}

static void
duplicate_account_is_hard_and_writes_nothing(void **state)
{
    struct fixture *f = *state;
    open_migrated(f, 1);
    struct pb_account a;
    insert_account(f->store, &a, "first");

    struct pb_account dup = a;
    pb_strlcpy(dup.name, "second", sizeof(dup.name));
    struct dup_op d = {.account = &dup};
    assert_int_equal(pb_store_tx(f->store, PB_TX_WRITE, region_then_duplicate_tx, &d),
                     PB_ERR_STORE_HARD);
    assert_int_equal(d.insert_qs, PB_QS_HARD_ERROR);

    struct account_get g = {.id = a.id};
    assert_int_equal(pb_store_tx(f->store, PB_TX_READ, account_get_tx, &g), PB_ERR_OK);
    assert_string_equal(g.out.name, "first");
    assert_int_equal(region_get_qs(f->store, "dup-region", NULL), PB_QS_NONE);

    /* A bad plan breaks the CHECK constraint. */
    struct pb_account bad;
    make_account(&bad, "bad plan");
    pb_strlcpy(bad.plan, "gold", sizeof(bad.plan));
    assert_int_equal(pb_store_tx(f->store, PB_TX_WRITE, account_insert_tx, &bad),
                     PB_ERR_STORE_HARD);
}

/* ---- regions ---- */

struct region_insert_op {
    struct pb_region region;
    enum pb_qs qs;
};

static enum pb_qs
region_insert_qs_tx(struct pb_tx *tx, void *cls)
{
    struct region_insert_op *r = cls;
    r->qs = tx->ops->region_insert(tx->conn, &r->region);
    return r->qs;
}

static void
region_inserted_twice_answers_none(void **state)
{
    struct fixture *f = *state;
    open_migrated(f, 1);
    struct region_insert_op op;
    make_region(&op.region, "eu-west", "sqlite:/var/lib/postbode/eu-west.db");
    assert_int_equal(pb_store_tx(f->store, PB_TX_WRITE, region_insert_qs_tx, &op), PB_ERR_OK);
    assert_int_equal(op.qs, PB_QS_ONE);
    make_region(&op.region, "eu-west", "sqlite:/elsewhere.db");
    assert_int_equal(pb_store_tx(f->store, PB_TX_WRITE, region_insert_qs_tx, &op), PB_ERR_OK);
    assert_int_equal(op.qs, PB_QS_NONE);

    struct pb_region got;
    assert_int_equal(region_get_qs(f->store, "eu-west", &got), PB_QS_ONE);
    assert_string_equal(got.url, "sqlite:/var/lib/postbode/eu-west.db");
    assert_int_equal(region_get_qs(f->store, "nowhere", NULL), PB_QS_NONE);
}

static void
regions_list_in_name_order(void **state)
{
    struct fixture *f = *state;
    open_migrated(f, 1);
    struct names n = {0};
    assert_int_equal(pb_store_tx(f->store, PB_TX_READ, region_list_tx, &n), PB_ERR_OK);
    assert_int_equal(n.count, 0);

    const char *names[] = {"zeta", "alpha", "mid-1", "mid", "b2", "b10"};
    for (size_t i = 0; i < 6; i++)
        insert_region(f->store, names[i], "control");
    char items[8][PB_STORE_URL_MAX + 1];
    n = (struct names){.items = items, .cap = 8};
    assert_int_equal(pb_store_tx(f->store, PB_TX_READ, region_list_tx, &n), PB_ERR_OK);
    assert_int_equal(n.count, 6);
    const char *want[] = {"alpha", "b10", "b2", "mid", "mid-1", "zeta"};
    for (int i = 0; i < 6; i++)
        assert_string_equal(items[i], want[i]);
}

/* ---- placements ---- */

static void
placement_set_get_and_update(void **state)
{
    struct fixture *f = *state;
    open_migrated(f, 1);
    struct pb_account a;
    insert_account(f->store, &a, "placed");
    insert_region(f->store, "one", "control");
    insert_region(f->store, "two", "control");

    struct placement_op p = {.account_id = a.id};
    assert_int_equal(pb_store_tx(f->store, PB_TX_READ, placement_get_tx, &p), PB_ERR_OK);
    assert_int_equal(p.qs, PB_QS_NONE);

    p.region = "one";
    assert_int_equal(pb_store_tx(f->store, PB_TX_WRITE, placement_set_tx, &p), PB_ERR_OK);
    assert_int_equal(p.qs, PB_QS_ONE);
    assert_int_equal(pb_store_tx(f->store, PB_TX_READ, placement_get_tx, &p), PB_ERR_OK);
    assert_int_equal(p.qs, PB_QS_ONE);
    assert_string_equal(p.got, "one");

    p.region = "two";
    assert_int_equal(pb_store_tx(f->store, PB_TX_WRITE, placement_set_tx, &p), PB_ERR_OK);
    assert_int_equal(p.qs, PB_QS_ONE);
    assert_int_equal(pb_store_tx(f->store, PB_TX_READ, placement_get_tx, &p), PB_ERR_OK);
    assert_string_equal(p.got, "two");
}

static void
placement_of_unknown_account_or_region_is_hard(void **state)
{
    struct fixture *f = *state;
    open_migrated(f, 1);
    insert_region(f->store, "one", "control");
    struct placement_op p = {.account_id = "00000000000000000000000000", .region = "one"};
    assert_int_equal(pb_store_tx(f->store, PB_TX_WRITE, placement_set_tx, &p), PB_ERR_STORE_HARD);
    assert_int_equal(p.qs, PB_QS_HARD_ERROR);

    struct pb_account a;
    insert_account(f->store, &a, "placed");
    p = (struct placement_op){.account_id = a.id, .region = "nowhere"};
    assert_int_equal(pb_store_tx(f->store, PB_TX_WRITE, placement_set_tx, &p), PB_ERR_STORE_HARD);
    assert_int_equal(pb_store_tx(f->store, PB_TX_READ, placement_get_tx, &p), PB_ERR_OK);
    assert_int_equal(p.qs, PB_QS_NONE);
}

/* ---- the transaction runner ---- */

static void
tx_commits_on_success(void **state)
{
    struct fixture *f = *state;
    open_migrated(f, 1);
    insert_region(f->store, "committed", "control");
    /* Seen from a fresh pool too. */
    struct pb_store *other = NULL;
    char why[PB_WHY_MAX];
    assert_int_equal(pb_store_open(f->url, 1, &other, why), PB_ERR_OK);
    assert_int_equal(region_get_qs(other, "committed", NULL), PB_QS_ONE);
    pb_store_close(other);
}

static enum pb_qs
insert_then_abort_tx(struct pb_tx *tx, void *cls)
{
    struct pb_region r;
    make_region(&r, "aborted", "control");
    enum pb_qs qs = tx->ops->region_insert(tx->conn, &r);
    if (qs < 0)
        return qs;
    (*(int *)cls)++;
    return pb_tx_abort(tx, PB_ERR_CONFLICT);
}

static void
tx_rolls_back_on_abort(void **state)
{
    struct fixture *f = *state;
    open_migrated(f, 1);
    int calls = 0;
    assert_int_equal(pb_store_tx(f->store, PB_TX_WRITE, insert_then_abort_tx, &calls),
                     PB_ERR_CONFLICT);
    assert_int_equal(calls, 1);
    assert_int_equal(region_get_qs(f->store, "aborted", NULL), PB_QS_NONE);
}

struct flaky {
    int calls;
    int last_attempt;
    int fail_first; /* answer SOFT this many times */
};

static enum pb_qs
flaky_tx(struct pb_tx *tx, void *cls)
{
    struct flaky *fl = cls;
    fl->calls++;
    fl->last_attempt = tx->attempt;
    struct pb_region r;
    make_region(&r, "flaky", "control");
    enum pb_qs qs = tx->ops->region_insert(tx->conn, &r);
    if (qs < 0)
        return qs;
    if (tx->attempt < fl->fail_first)
        return PB_QS_SOFT_ERROR; /* rolled back, so the insert can be repeated */
    return qs;
}

static void
tx_retries_after_soft_errors(void **state)
{
    struct fixture *f = *state;
    open_migrated(f, 1);
    struct flaky fl = {.fail_first = 2};
    assert_int_equal(pb_store_tx(f->store, PB_TX_WRITE, flaky_tx, &fl), PB_ERR_OK);
    assert_int_equal(fl.calls, 3);
    assert_int_equal(fl.last_attempt, 2);
    assert_int_equal(region_get_qs(f->store, "flaky", NULL), PB_QS_ONE);
}

static void
tx_gives_up_when_soft_errors_persist(void **state)
{
    struct fixture *f = *state;
    open_migrated(f, 1);
    struct flaky fl = {.fail_first = 1000};
    assert_int_equal(pb_store_tx(f->store, PB_TX_WRITE, flaky_tx, &fl), PB_ERR_STORE_SOFT);
    assert_int_equal(fl.calls, 9); /* the first try and 8 retries */
    assert_int_equal(fl.last_attempt, 8);
    assert_int_equal(region_get_qs(f->store, "flaky", NULL), PB_QS_NONE);
}

struct contested {
    struct pb_store *other;
    int calls;
    enum pb_qs insert_qs;
};

/* Reads a key, lets another connection insert it meanwhile, then inserts it too. */
static enum pb_qs
contested_tx(struct pb_tx *tx, void *cls)
{
    struct contested *c = cls;
    c->calls++;
    struct pb_region r;
    enum pb_qs qs = tx->ops->region_get(tx->conn, "contested", &r);
    if (qs < 0)
        return qs;
    if (tx->attempt == 0)
        insert_region(c->other, "contested", "control");
    make_region(&r, "contested", "sqlite:/mine.db");
    c->insert_qs = tx->ops->region_insert(tx->conn, &r);
    return c->insert_qs;
}

static void
real_serialization_failure_is_retried(void **state)
{
    struct fixture *f = *state;
    open_migrated(f, 1);
    struct contested c = {0};
    char why[PB_WHY_MAX];
    assert_int_equal(pb_store_open(f->url, 1, &c.other, why), PB_ERR_OK);
    assert_int_equal(pb_store_tx(f->store, PB_TX_WRITE, contested_tx, &c), PB_ERR_OK);
    assert_int_equal(c.calls, 2);
    assert_int_equal(c.insert_qs, PB_QS_NONE);
    struct pb_region got;
    assert_int_equal(region_get_qs(f->store, "contested", &got), PB_QS_ONE);
    assert_string_equal(got.url, "control");
    pb_store_close(c.other);
}

static void
lost_connection_is_hard_then_reset(void **state)
{
    struct fixture *f = *state;
    open_migrated(f, 1);
    insert_region(f->store, "before", "control");
    raw_exec(f->url, "SELECT pg_terminate_backend(pid, 5000) FROM pg_stat_activity"
                     " WHERE application_name = 'postbode' AND pid <> pg_backend_pid()");
    struct region_get g = {.name = "before"};
    assert_int_equal(pb_store_tx(f->store, PB_TX_READ, region_get_tx, &g), PB_ERR_STORE_HARD);
    /* The next use reconnects (and prepares its statements again). */
    assert_int_equal(region_get_qs(f->store, "before", NULL), PB_QS_ONE);
    insert_region(f->store, "after", "control");
    assert_int_equal(region_count(f->store), 2);
}

/* ---- concurrency and the pool ---- */

struct worker {
    struct pb_store *store;
    int index;
    int rounds;
    int failures;
    atomic_int *in_flight;
    atomic_int *max_in_flight;
};

static void *
writer(void *arg)
{
    struct worker *w = arg;
    for (int i = 0; i < w->rounds; i++) {
        struct pb_region r;
        char name[PB_REGION_NAME_MAX + 1];
        snprintf(name, sizeof(name), "t%d-%03d", w->index, i);
        make_region(&r, name, "control");
        if (pb_store_tx(w->store, PB_TX_WRITE, region_insert_tx, &r) != PB_ERR_OK)
            w->failures++;
    }
    return NULL;
}

static void
concurrent_writers_all_succeed(void **state)
{
    struct fixture *f = *state;
    open_migrated(f, 4);
    pthread_t threads[4];
    struct worker workers[4];
    for (int i = 0; i < 4; i++) {
        workers[i] = (struct worker){.store = f->store, .index = i, .rounds = 50};
        assert_int_equal(pthread_create(&threads[i], NULL, writer, &workers[i]), 0);
    }
    for (int i = 0; i < 4; i++) {
        pthread_join(threads[i], NULL);
        assert_int_equal(workers[i].failures, 0);
    }
    assert_int_equal(region_count(f->store), 200);
}

static enum pb_qs
slow_read_tx(struct pb_tx *tx, void *cls)
{
    struct worker *w = cls;
    int now = atomic_fetch_add(w->in_flight, 1) + 1;
    int max = atomic_load(w->max_in_flight);
    while (now > max && !atomic_compare_exchange_weak(w->max_in_flight, &max, now))
        ;
    struct names n = {0};
    enum pb_qs qs = tx->ops->region_list(tx->conn, collect_region, &n);
    struct timespec ts = {0, 2 * 1000 * 1000};
    nanosleep(&ts, NULL);
    atomic_fetch_sub(w->in_flight, 1);
    return qs;
}

static void *
reader(void *arg)
{
    struct worker *w = arg;
    for (int i = 0; i < w->rounds; i++)
        if (pb_store_tx(w->store, PB_TX_READ, slow_read_tx, w) != PB_ERR_OK)
            w->failures++;
    return NULL;
}

static void
pool_of_two_serves_four_threads(void **state)
{
    struct fixture *f = *state;
    open_migrated(f, 2);
    insert_region(f->store, "one", "control");
    atomic_int in_flight = 0, max_in_flight = 0;
    pthread_t threads[4];
    struct worker workers[4];
    for (int i = 0; i < 4; i++) {
        workers[i] = (struct worker){.store = f->store,
                                     .index = i,
                                     .rounds = 20,
                                     .in_flight = &in_flight,
                                     .max_in_flight = &max_in_flight};
        assert_int_equal(pthread_create(&threads[i], NULL, reader, &workers[i]), 0);
    }
    for (int i = 0; i < 4; i++) {
        pthread_join(threads[i], NULL);
        assert_int_equal(workers[i].failures, 0);
    }
    assert_true(atomic_load(&max_in_flight) >= 1);
    assert_true(atomic_load(&max_in_flight) <= 2);
}

/* ---- opening failures ---- */

static void
corrupt_sqlite_file_is_refused(void **state)
{
    struct fixture *f = *state;
    char path[PATH_MAX + 16];
    snprintf(path, sizeof(path), "%s/garbage.db", f->dir);
    FILE *fp = fopen(path, "w");
    assert_non_null(fp);
    for (int i = 0; i < 512; i++)
        fputs("this is not a database, only text. ", fp);
    fclose(fp);

    char url[PATH_MAX + 32];
    snprintf(url, sizeof(url), "sqlite:%s", path);
    struct pb_store *store = NULL;
    char why[PB_WHY_MAX] = "";
    assert_int_equal(pb_store_open(url, 1, &store, why), PB_ERR_STORE_CORRUPT);
    assert_null(store);
    assert_non_null(strstr(why, path));
    assert_null(strchr(why, '\n'));
}

static void
bad_url_scheme_is_refused(void **state)
{
    (void)state;
    const char *bad[] = {"mysql://root@localhost/x", "", "/var/lib/postbode.db",
                         "sqlite:", "postgres://[bad"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        struct pb_store *store = NULL;
        char why[PB_WHY_MAX] = "";
        enum pb_err err = pb_store_open(bad[i], 1, &store, why);
        if (err != PB_ERR_STORE_URL)
            fprintf(stderr, "url \"%s\": %s (%s)\n", bad[i], pb_err_name(err), why);
        assert_int_equal(err, PB_ERR_STORE_URL);
        assert_null(store);
        assert_true(why[0] != '\0');
    }
    assert_null(pb_store_backend("mysql://x"));
    assert_ptr_equal(pb_store_backend("sqlite:x.db"), &pb_store_sqlite);
    assert_ptr_equal(pb_store_backend("postgres://h/db"), &pb_store_postgres);
    assert_ptr_equal(pb_store_backend("postgresql://h/db"), &pb_store_postgres);
}

/* A TCP port on 127.0.0.1 that nothing listens on (just closed). */
static int
closed_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in addr = {.sin_family = AF_INET};
    socklen_t len = sizeof(addr);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_true(fd >= 0);
    assert_int_equal(bind(fd, (struct sockaddr *)&addr, sizeof(addr)), 0);
    assert_int_equal(getsockname(fd, (struct sockaddr *)&addr, &len), 0);
    close(fd);
    return ntohs(addr.sin_port);
}

static void
unreachable_postgres_is_refused(void **state)
{
    (void)state;
    char url[128];
    snprintf(url, sizeof(url), "postgres://postgres@127.0.0.1:%d/pbtest?connect_timeout=5",
             closed_port());
    struct pb_store *store = NULL;
    char why[PB_WHY_MAX] = "";
    assert_int_equal(pb_store_open(url, 1, &store, why), PB_ERR_STORE_OPEN);
    assert_null(store);
    assert_non_null(strstr(why, "127.0.0.1"));
    assert_null(strchr(why, '\n'));
}

/* ---- placement ---- */

static void
place(struct pb_store *store, const char *account_id, const char *region)
{
    struct placement_op p = {.account_id = account_id, .region = region};
    assert_int_equal(pb_store_tx(store, PB_TX_WRITE, placement_set_tx, &p), PB_ERR_OK);
}

static void
placement_local_is_the_control_store(void **state)
{
    struct fixture *f = *state;
    open_migrated(f, 2);
    assert_int_equal(pb_placement_ensure_local(f->store), PB_ERR_OK);
    assert_int_equal(pb_placement_ensure_local(f->store), PB_ERR_OK); /* idempotent */
    struct pb_region local;
    assert_int_equal(region_get_qs(f->store, "local", &local), PB_QS_ONE);
    assert_string_equal(local.url, "control");

    struct pb_account a;
    insert_account(f->store, &a, "local one");
    place(f->store, a.id, "local");

    struct pb_placement *placement = NULL;
    assert_int_equal(pb_placement_new(f->store, 2, &placement), PB_ERR_OK);
    struct pb_store *got = NULL;
    char why[PB_WHY_MAX] = "";
    assert_int_equal(pb_placement_store_for(placement, a.id, &got, why), PB_ERR_OK);
    assert_ptr_equal(got, f->store);
    pb_placement_free(placement);
}

static void
placement_other_region_has_its_own_store(void **state)
{
    struct fixture *f = *state;
    open_migrated(f, 2);
    assert_int_equal(pb_placement_ensure_local(f->store), PB_ERR_OK);
    char url[PB_STORE_URL_MAX + 1];
    snprintf(url, sizeof(url), "sqlite:%s/eu2.db", f->dir);
    insert_region(f->store, "eu2", url);

    struct pb_account a, b;
    insert_account(f->store, &a, "far away");
    insert_account(f->store, &b, "at home");
    place(f->store, a.id, "eu2");
    place(f->store, b.id, "local");

    struct pb_placement *placement = NULL;
    assert_int_equal(pb_placement_new(f->store, 2, &placement), PB_ERR_OK);
    struct pb_store *first = NULL, *again = NULL, *home = NULL;
    char why[PB_WHY_MAX] = "";
    assert_int_equal(pb_placement_store_for(placement, a.id, &first, why), PB_ERR_OK);
    assert_non_null(first);
    assert_ptr_not_equal(first, f->store);
    assert_string_equal(pb_store_url(first), url);
    assert_string_equal(pb_store_get_ops(first)->name, "sqlite");
    assert_int_equal(pb_placement_store_for(placement, a.id, &again, why), PB_ERR_OK);
    assert_ptr_equal(again, first); /* kept, not reopened */
    assert_int_equal(pb_placement_store_for(placement, b.id, &home, why), PB_ERR_OK);
    assert_ptr_equal(home, f->store);

    /* The region's store is a real one. */
    char mwhy[PB_WHY_MAX] = "";
    int from, to;
    assert_int_equal(pb_store_migrate(first, &from, &to, mwhy), PB_ERR_OK);
    assert_int_equal(schema_version(first), 1);
    pb_placement_free(placement);
}

static void
placement_of_unknown_account_is_not_found(void **state)
{
    struct fixture *f = *state;
    open_migrated(f, 1);
    assert_int_equal(pb_placement_ensure_local(f->store), PB_ERR_OK);
    struct pb_placement *placement = NULL;
    assert_int_equal(pb_placement_new(f->store, 1, &placement), PB_ERR_OK);
    struct pb_store *got = NULL;
    char why[PB_WHY_MAX] = "";
    assert_int_equal(pb_placement_store_for(placement, "00000000000000000000000000", &got, why),
                     PB_ERR_NOT_FOUND);
    assert_null(got);
    assert_true(why[0] != '\0');
    pb_placement_free(placement);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

/* Every backend runs these; PostgreSQL adds what only it can do (conflicts, lost connections). */
#define COMMON_TESTS                                                                               \
    T(migrate_from_empty), T(migrate_again_is_a_noop), T(newer_schema_is_refused),                 \
        T(accounts_insert_get_and_list_by_pages), T(duplicate_account_is_hard_and_writes_nothing), \
        T(region_inserted_twice_answers_none), T(regions_list_in_name_order),                      \
        T(placement_set_get_and_update), T(placement_of_unknown_account_or_region_is_hard),        \
        T(tx_commits_on_success), T(tx_rolls_back_on_abort), T(tx_retries_after_soft_errors),      \
        T(tx_gives_up_when_soft_errors_persist), T(concurrent_writers_all_succeed),                \
        T(pool_of_two_serves_four_threads), T(corrupt_sqlite_file_is_refused),                     \
        T(bad_url_scheme_is_refused), T(unreachable_postgres_is_refused),                          \
        T(placement_local_is_the_control_store), T(placement_other_region_has_its_own_store),      \
        T(placement_of_unknown_account_is_not_found)

int
main(void)
{
    const char *url = getenv("PB_TEST_STORE_URL");
    if (url != NULL && *url != '\0') {
        if (pb_store_backend(url) == NULL) {
            fprintf(stderr, "PB_TEST_STORE_URL=%s: unknown scheme\n", url);
            return 2;
        }
        if (pb_str_starts_with(url, "sqlite:"))
            sqlite_url = url; /* removed and made afresh for each test */
        else
            pg_url = url;
    }
    if (pg_url != NULL) {
        fprintf(stderr, "store contract: backend postgres (PB_TEST_STORE_URL)\n");
        const struct CMUnitTest pg_tests[] = {
            COMMON_TESTS,
            T(real_serialization_failure_is_retried),
            T(lost_connection_is_hard_then_reset),
        };
        return cmocka_run_group_tests_name("store contract (postgres)", pg_tests, NULL, NULL);
    }
    fprintf(stderr, "store contract: backend sqlite (%s)\n",
            sqlite_url ? sqlite_url : "a temporary file per test");
    const struct CMUnitTest sqlite_tests[] = {COMMON_TESTS};
    return cmocka_run_group_tests_name("store contract (sqlite)", sqlite_tests, NULL, NULL);
}
