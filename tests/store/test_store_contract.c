/*
 * The store contract: one suite that every backend must pass. The backend
 * comes from PB_TEST_STORE_URL ("sqlite:PATH" or "postgres://..."); the
 * fixture (tests/support/storetest.h) gives each test a fresh SQLite file,
 * or an empty public schema under PostgreSQL.
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

#include "core/clock.h"
#include "core/id.h"
#include "core/strutil.h"
#include "store/pg/pg_internal.h"
#include "store/placement.h"
#include "store/sqlite/sqlite_internal.h"
#include "store/store.h"
#include "support/storetest.h"

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
    struct pb_storetest *f = *state;
    pb_storetest_open(f, 1);
    assert_int_equal(schema_version(f->store), 0);
    char why[PB_WHY_MAX] = "";
    int from = -1, to = -1;
    assert_int_equal(pb_store_migrate(f->store, &from, &to, why), PB_ERR_OK);
    assert_int_equal(from, 0);
    assert_int_equal(to, PB_STORETEST_LATEST_VERSION);
    assert_int_equal(schema_version(f->store), PB_STORETEST_LATEST_VERSION);
}

static void
migrate_again_is_a_noop(void **state)
{
    struct pb_storetest *f = *state;
    pb_storetest_open_migrated(f, 1);
    struct pb_account a;
    pb_storetest_insert_account(f->store, &a, "kept");
    char why[PB_WHY_MAX] = "";
    int from = -1, to = -1;
    assert_int_equal(pb_store_migrate(f->store, &from, &to, why), PB_ERR_OK);
    assert_int_equal(from, PB_STORETEST_LATEST_VERSION);
    assert_int_equal(to, PB_STORETEST_LATEST_VERSION);

    /* And after reopening. */
    pb_store_close(f->store);
    f->store = NULL;
    pb_storetest_open(f, 1);
    assert_int_equal(pb_store_migrate(f->store, &from, &to, why), PB_ERR_OK);
    assert_int_equal(from, PB_STORETEST_LATEST_VERSION);
    assert_int_equal(to, PB_STORETEST_LATEST_VERSION);
    struct account_get g = {.id = a.id};
    assert_int_equal(pb_store_tx(f->store, PB_TX_READ, account_get_tx, &g), PB_ERR_OK);
    assert_int_equal(g.qs, PB_QS_ONE);
}

static void
newer_schema_is_refused(void **state)
{
    struct pb_storetest *f = *state;
    pb_storetest_open_migrated(f, 1);
    pb_storetest_raw_exec(f->url,
                          "INSERT INTO schema_version (version, applied_at) VALUES (99, 0)");
    char why[PB_WHY_MAX] = "";
    int from = -1, to = -1;
    assert_int_equal(pb_store_migrate(f->store, &from, &to, why), PB_ERR_STORE_TOO_NEW);
    assert_non_null(strstr(why, "99"));
    assert_int_equal(from, 99);
}

/* ---- accounts ---- */

static void
collect_account(void *cls, const struct pb_account *account)
{
    pb_storetest_page_add(cls, account->id);
}

struct list_op {
    const char *after;
    int limit;
    struct pb_storetest_page page;
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
    struct pb_storetest *f = *state;
    pb_storetest_open_migrated(f, 1);

    enum { N = 25 };
    char ids[N][PB_ID_LEN + 1];
    struct pb_account a;
    for (int i = 0; i < N; i++) {
        char name[32];
        snprintf(name, sizeof(name), "Account %d", i);
        pb_storetest_insert_account(f->store, &a, name);
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
    qsort(ids, N, sizeof(ids[0]), pb_storetest_cmp_ids);
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
    struct pb_storetest *f = *state;
    pb_storetest_open_migrated(f, 1);
    struct pb_account a;
    pb_storetest_insert_account(f->store, &a, "first");

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
    pb_storetest_make_account(&bad, "bad plan");
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
    struct pb_storetest *f = *state;
    pb_storetest_open_migrated(f, 1);
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
    struct pb_storetest *f = *state;
    pb_storetest_open_migrated(f, 1);
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
    struct pb_storetest *f = *state;
    pb_storetest_open_migrated(f, 1);
    struct pb_account a;
    pb_storetest_insert_account(f->store, &a, "placed");
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
    struct pb_storetest *f = *state;
    pb_storetest_open_migrated(f, 1);
    insert_region(f->store, "one", "control");
    struct placement_op p = {.account_id = "00000000000000000000000000", .region = "one"};
    assert_int_equal(pb_store_tx(f->store, PB_TX_WRITE, placement_set_tx, &p), PB_ERR_STORE_HARD);
    assert_int_equal(p.qs, PB_QS_HARD_ERROR);

    struct pb_account a;
    pb_storetest_insert_account(f->store, &a, "placed");
    p = (struct placement_op){.account_id = a.id, .region = "nowhere"};
    assert_int_equal(pb_store_tx(f->store, PB_TX_WRITE, placement_set_tx, &p), PB_ERR_STORE_HARD);
    assert_int_equal(pb_store_tx(f->store, PB_TX_READ, placement_get_tx, &p), PB_ERR_OK);
    assert_int_equal(p.qs, PB_QS_NONE);
}

/* ---- the transaction runner ---- */

static void
tx_commits_on_success(void **state)
{
    struct pb_storetest *f = *state;
    pb_storetest_open_migrated(f, 1);
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
    struct pb_storetest *f = *state;
    pb_storetest_open_migrated(f, 1);
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
    struct pb_storetest *f = *state;
    pb_storetest_open_migrated(f, 1);
    struct flaky fl = {.fail_first = 2};
    assert_int_equal(pb_store_tx(f->store, PB_TX_WRITE, flaky_tx, &fl), PB_ERR_OK);
    assert_int_equal(fl.calls, 3);
    assert_int_equal(fl.last_attempt, 2);
    assert_int_equal(region_get_qs(f->store, "flaky", NULL), PB_QS_ONE);
}

static void
tx_gives_up_when_soft_errors_persist(void **state)
{
    struct pb_storetest *f = *state;
    pb_storetest_open_migrated(f, 1);
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
    struct pb_storetest *f = *state;
    pb_storetest_open_migrated(f, 1);
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
    struct pb_storetest *f = *state;
    pb_storetest_open_migrated(f, 1);
    insert_region(f->store, "before", "control");
    pb_storetest_raw_exec(f->url,
                          "SELECT pg_terminate_backend(pid, 5000) FROM pg_stat_activity"
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
    struct pb_storetest *f = *state;
    pb_storetest_open_migrated(f, 4);
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
    struct pb_storetest *f = *state;
    pb_storetest_open_migrated(f, 2);
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
    struct pb_storetest *f = *state;
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
    struct pb_storetest *f = *state;
    pb_storetest_open_migrated(f, 2);
    assert_int_equal(pb_placement_ensure_local(f->store), PB_ERR_OK);
    assert_int_equal(pb_placement_ensure_local(f->store), PB_ERR_OK); /* idempotent */
    struct pb_region local;
    assert_int_equal(region_get_qs(f->store, "local", &local), PB_QS_ONE);
    assert_string_equal(local.url, "control");

    struct pb_account a;
    pb_storetest_insert_account(f->store, &a, "local one");
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
    struct pb_storetest *f = *state;
    pb_storetest_open_migrated(f, 2);
    assert_int_equal(pb_placement_ensure_local(f->store), PB_ERR_OK);
    char url[PB_STORE_URL_MAX + 1];
    snprintf(url, sizeof(url), "sqlite:%s/eu2.db", f->dir);
    insert_region(f->store, "eu2", url);

    struct pb_account a, b;
    pb_storetest_insert_account(f->store, &a, "far away");
    pb_storetest_insert_account(f->store, &b, "at home");
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
    assert_int_equal(schema_version(first), PB_STORETEST_LATEST_VERSION);
    pb_placement_free(placement);
}

static void
placement_of_unknown_account_is_not_found(void **state)
{
    struct pb_storetest *f = *state;
    pb_storetest_open_migrated(f, 1);
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

/* ---- issue 3: users, sessions, TOTP, resets, API keys, audit, throttling, outbox ---- */

enum op_kind {
    OP_ACCOUNT_SET_REQUIRE_2FA,
    OP_ACCOUNT_SET_DATA_KEY,
    OP_USER_INSERT,
    OP_USER_GET,
    OP_USER_GET_BY_EMAIL,
    OP_USER_LIST,
    OP_USER_COUNT_ROLE,
    OP_USER_UPDATE,
    OP_USER_ADVANCE_TOTP_STEP,
    OP_USER_DELETE,
    OP_SESSION_INSERT,
    OP_SESSION_GET,
    OP_SESSION_TOUCH,
    OP_SESSION_DELETE,
    OP_SESSION_DELETE_FOR_USER,
    OP_RECOVERY_CODES_REPLACE,
    OP_RECOVERY_CODE_USE,
    OP_RECOVERY_CODES_REMAINING,
    OP_RESET_INSERT,
    OP_RESET_CONSUME,
    OP_API_KEY_INSERT,
    OP_API_KEY_GET_BY_HASH,
    OP_API_KEY_LIST,
    OP_API_KEY_DELETE,
    OP_API_KEY_TOUCH,
    OP_AUDIT_INSERT,
    OP_AUDIT_LIST,
    OP_THROTTLE_GET,
    OP_THROTTLE_FAIL,
    OP_THROTTLE_CLEAR,
    OP_OUTBOX_INSERT,
    OP_OUTBOX_CLAIM,
    OP_OUTBOX_DELETE,
    OP_OUTBOX_RETRY,
};

/* Mails seen by an outbox claim, copied out of the callback. */
struct mails {
    struct pb_outbox_mail items[16];
    unsigned char sealed[16][4096];
    int count;
};

/* One store operation with its arguments and answers, run in a transaction of its own. */
struct op {
    enum op_kind kind;
    const char *a, *b; /* ids, emails, keys, roles (by operation) */
    int64_t t1, t2;    /* now, steps, expiry, leases */
    int limit;         /* for lists and claims; attempts for outbox_retry */
    bool on;           /* for account_set_require_2fa */
    const unsigned char *hash;
    const unsigned char (*hashes)[PB_HASH_BYTES];
    int n;
    const void *in;                 /* the struct to write */
    void *out;                      /* the struct to fill */
    long *count;                    /* for the counting operations */
    char *user_id;                  /* for reset_consume */
    struct pb_storetest_page *page; /* ids seen by a list */
    struct mails *mails;            /* mails seen by a claim */
    enum pb_qs qs;
};

static void
collect_user(void *cls, const struct pb_user *user)
{
    pb_storetest_page_add(cls, user->id);
}

static void
collect_key(void *cls, const struct pb_api_key *key)
{
    pb_storetest_page_add(cls, key->id);
}

static void
collect_audit(void *cls, const struct pb_audit_entry *entry)
{
    pb_storetest_page_add(cls, entry->id);
}

static void
collect_mail(void *cls, const struct pb_outbox_mail *mail)
{
    struct mails *m = cls;
    assert_true(m->count < 16);
    assert_true(mail->sealed_len <= sizeof(m->sealed[0]));
    m->items[m->count] = *mail;
    memcpy(m->sealed[m->count], mail->sealed, mail->sealed_len);
    m->items[m->count].sealed = m->sealed[m->count];
    m->count++;
}

static enum pb_qs
op_tx(struct pb_tx *tx, void *cls)
{
    struct op *o = cls;
    const struct pb_store_ops *ops = tx->ops;
    struct pb_conn *c = tx->conn;
    if (o->page != NULL)
        o->page->count = 0;
    if (o->mails != NULL)
        o->mails->count = 0;
    switch (o->kind) {
    case OP_ACCOUNT_SET_REQUIRE_2FA:
        o->qs = ops->account_set_require_2fa(c, o->a, o->on);
        break;
    case OP_ACCOUNT_SET_DATA_KEY:
        o->qs = ops->account_set_data_key(c, o->a, o->hash, (size_t)o->n);
        break;
    case OP_USER_INSERT:
        o->qs = ops->user_insert(c, o->in);
        break;
    case OP_USER_GET:
        o->qs = ops->user_get(c, o->a, o->out);
        break;
    case OP_USER_GET_BY_EMAIL:
        o->qs = ops->user_get_by_email(c, o->a, o->out);
        break;
    case OP_USER_LIST:
        o->qs = ops->user_list(c, o->a, o->b, o->limit, collect_user, o->page);
        break;
    case OP_USER_COUNT_ROLE:
        o->qs = ops->user_count_role(c, o->a, o->b, o->count);
        break;
    case OP_USER_UPDATE:
        o->qs = ops->user_update(c, o->in);
        break;
    case OP_USER_ADVANCE_TOTP_STEP:
        o->qs = ops->user_advance_totp_step(c, o->a, o->t1);
        break;
    case OP_USER_DELETE:
        o->qs = ops->user_delete(c, o->a);
        break;
    case OP_SESSION_INSERT:
        o->qs = ops->session_insert(c, o->in);
        break;
    case OP_SESSION_GET:
        o->qs = ops->session_get(c, o->hash, o->out);
        break;
    case OP_SESSION_TOUCH:
        o->qs = ops->session_touch(c, o->hash, o->t1);
        break;
    case OP_SESSION_DELETE:
        o->qs = ops->session_delete(c, o->hash);
        break;
    case OP_SESSION_DELETE_FOR_USER:
        o->qs = ops->session_delete_for_user(c, o->a);
        break;
    case OP_RECOVERY_CODES_REPLACE:
        o->qs = ops->recovery_codes_replace(c, o->a, o->hashes, o->n);
        break;
    case OP_RECOVERY_CODE_USE:
        o->qs = ops->recovery_code_use(c, o->a, o->hash, o->t1);
        break;
    case OP_RECOVERY_CODES_REMAINING:
        o->qs = ops->recovery_codes_remaining(c, o->a, o->count);
        break;
    case OP_RESET_INSERT:
        o->qs = ops->reset_insert(c, o->hash, o->a, o->t1);
        break;
    case OP_RESET_CONSUME:
        o->qs = ops->reset_consume(c, o->hash, o->t1, o->user_id);
        break;
    case OP_API_KEY_INSERT:
        o->qs = ops->api_key_insert(c, o->in);
        break;
    case OP_API_KEY_GET_BY_HASH:
        o->qs = ops->api_key_get_by_hash(c, o->hash, o->out);
        break;
    case OP_API_KEY_LIST:
        o->qs = ops->api_key_list(c, o->a, collect_key, o->page);
        break;
    case OP_API_KEY_DELETE:
        o->qs = ops->api_key_delete(c, o->a, o->b);
        break;
    case OP_API_KEY_TOUCH:
        o->qs = ops->api_key_touch(c, o->a, o->t1);
        break;
    case OP_AUDIT_INSERT:
        o->qs = ops->audit_insert(c, o->in);
        break;
    case OP_AUDIT_LIST:
        o->qs = ops->audit_list(c, o->a, o->b, o->limit, collect_audit, o->page);
        break;
    case OP_THROTTLE_GET:
        o->qs = ops->throttle_get(c, o->a, o->out);
        break;
    case OP_THROTTLE_FAIL:
        o->qs = ops->throttle_fail(c, o->a, o->t1);
        break;
    case OP_THROTTLE_CLEAR:
        o->qs = ops->throttle_clear(c, o->a);
        break;
    case OP_OUTBOX_INSERT:
        o->qs = ops->outbox_insert(c, o->in);
        break;
    case OP_OUTBOX_CLAIM:
        o->qs = ops->outbox_claim(c, o->t1, o->t2, o->limit, collect_mail, o->mails);
        break;
    case OP_OUTBOX_DELETE:
        o->qs = ops->outbox_delete(c, o->a);
        break;
    case OP_OUTBOX_RETRY:
        o->qs = ops->outbox_retry(c, o->a, o->limit, o->t1);
        break;
    }
    return o->qs;
}

/* Runs `o` in a write transaction; a failed operation fails (and rolls back) the transaction. */
static enum pb_qs
run_op(struct pb_store *store, struct op *o)
{
    enum pb_err err = pb_store_tx(store, PB_TX_WRITE, op_tx, o);
    assert_int_equal(err, o->qs >= 0 ? PB_ERR_OK : PB_ERR_STORE_HARD);
    return o->qs;
}

#define OP(store, ...) run_op((store), &(struct op){__VA_ARGS__})

static void
make_user(struct pb_user *u, const char *account_id, const char *email, const char *role)
{
    memset(u, 0, sizeof(*u));
    pb_id_new(u->id);
    pb_strlcpy(u->account_id, account_id, sizeof(u->account_id));
    pb_strlcpy(u->email, email, sizeof(u->email));
    pb_strlcpy(u->role, role, sizeof(u->role));
    u->totp_last_step = -1;
    u->created_at = pb_clock_now();
}

static void
insert_user(struct pb_store *store, struct pb_user *u, const char *account_id, const char *email,
            const char *role)
{
    make_user(u, account_id, email, role);
    assert_int_equal(OP(store, .kind = OP_USER_INSERT, .in = u), PB_QS_ONE);
}

static void
assert_users_equal(const struct pb_user *got, const struct pb_user *want)
{
    assert_string_equal(got->id, want->id);
    assert_string_equal(got->account_id, want->account_id);
    assert_string_equal(got->email, want->email);
    assert_string_equal(got->role, want->role);
    assert_string_equal(got->password_hash, want->password_hash);
    assert_int_equal(got->totp_secret_len, want->totp_secret_len);
    assert_memory_equal(got->totp_secret, want->totp_secret, want->totp_secret_len);
    assert_int_equal(got->totp_enabled, want->totp_enabled);
    assert_int_equal(got->totp_last_step, want->totp_last_step);
    assert_int_equal(got->created_at, want->created_at);
}

static void
accounts_keep_data_key_and_require_2fa(void **state)
{
    struct pb_storetest *f = *state;
    pb_storetest_open_migrated(f, 1);
    struct pb_account keyed, plain;
    pb_storetest_make_account(&keyed, "keyed");
    pb_storetest_fill(keyed.data_key, 72, 1);
    keyed.data_key_len = 72;
    keyed.require_2fa = true;
    assert_int_equal(pb_store_tx(f->store, PB_TX_WRITE, account_insert_tx, &keyed), PB_ERR_OK);
    pb_storetest_insert_account(f->store, &plain, "plain");

    struct account_get g = {.id = keyed.id};
    assert_int_equal(pb_store_tx(f->store, PB_TX_READ, account_get_tx, &g), PB_ERR_OK);
    assert_int_equal(g.qs, PB_QS_ONE);
    assert_int_equal(g.out.data_key_len, 72);
    assert_memory_equal(g.out.data_key, keyed.data_key, 72);
    assert_true(g.out.require_2fa);
    g = (struct account_get){.id = plain.id};
    assert_int_equal(pb_store_tx(f->store, PB_TX_READ, account_get_tx, &g), PB_ERR_OK);
    assert_int_equal(g.out.data_key_len, 0);
    assert_false(g.out.require_2fa);

    /* require_2fa goes on and off; an unknown account answers NONE. */
    assert_int_equal(OP(f->store, .kind = OP_ACCOUNT_SET_REQUIRE_2FA, .a = plain.id, .on = true),
                     PB_QS_ONE);
    assert_int_equal(pb_store_tx(f->store, PB_TX_READ, account_get_tx, &g), PB_ERR_OK);
    assert_true(g.out.require_2fa);
    assert_int_equal(OP(f->store, .kind = OP_ACCOUNT_SET_REQUIRE_2FA, .a = plain.id, .on = false),
                     PB_QS_ONE);
    assert_int_equal(pb_store_tx(f->store, PB_TX_READ, account_get_tx, &g), PB_ERR_OK);
    assert_false(g.out.require_2fa);
    assert_int_equal(OP(f->store, .kind = OP_ACCOUNT_SET_REQUIRE_2FA,
                        .a = "00000000000000000000000000", .on = true),
                     PB_QS_NONE);

    /* A data key is given only to an account that has none. */
    unsigned char fresh[PB_SEALED_MAX];
    pb_storetest_fill(fresh, sizeof(fresh), 2);
    assert_int_equal(
        OP(f->store, .kind = OP_ACCOUNT_SET_DATA_KEY, .a = keyed.id, .hash = fresh, .n = 60),
        PB_QS_NONE);
    g = (struct account_get){.id = keyed.id};
    assert_int_equal(pb_store_tx(f->store, PB_TX_READ, account_get_tx, &g), PB_ERR_OK);
    assert_int_equal(g.out.data_key_len, 72);
    assert_memory_equal(g.out.data_key, keyed.data_key, 72);

    assert_int_equal(OP(f->store, .kind = OP_ACCOUNT_SET_DATA_KEY, .a = plain.id, .hash = fresh,
                        .n = PB_SEALED_MAX),
                     PB_QS_ONE);
    unsigned char other[40];
    pb_storetest_fill(other, sizeof(other), 3);
    assert_int_equal(
        OP(f->store, .kind = OP_ACCOUNT_SET_DATA_KEY, .a = plain.id, .hash = other, .n = 40),
        PB_QS_NONE);
    g = (struct account_get){.id = plain.id};
    assert_int_equal(pb_store_tx(f->store, PB_TX_READ, account_get_tx, &g), PB_ERR_OK);
    assert_int_equal(g.out.data_key_len, PB_SEALED_MAX);
    assert_memory_equal(g.out.data_key, fresh, PB_SEALED_MAX);

    /* A stored key longer than the struct holds is a hard error, never an overflow. */
    char sql[256];
    snprintf(sql, sizeof(sql),
             pb_storetest_is_sqlite(f)
                 ? "UPDATE accounts SET data_key = zeroblob(%d) WHERE id = '%s'"
                 : "UPDATE accounts SET data_key = decode(repeat('00', %d), 'hex')"
                   " WHERE id = '%s'",
             PB_SEALED_MAX + 1, plain.id);
    pb_storetest_raw_exec(f->url, sql);
    assert_int_equal(pb_store_tx(f->store, PB_TX_READ, account_get_tx, &g), PB_ERR_STORE_HARD);
    assert_int_equal(g.qs, PB_QS_HARD_ERROR);
}

static void
count_keyed(void *cls, const struct pb_account *account)
{
    int *keyed = cls;
    if (account->data_key_len == 16 && account->require_2fa)
        (*keyed)++;
}

static enum pb_qs
count_keyed_tx(struct pb_tx *tx, void *cls)
{
    *(int *)cls = 0;
    return tx->ops->account_list(tx->conn, "", 10, count_keyed, cls);
}

static void
account_list_carries_data_key_and_require_2fa(void **state)
{
    struct pb_storetest *f = *state;
    pb_storetest_open_migrated(f, 1);
    for (int i = 0; i < 3; i++) {
        struct pb_account a;
        pb_storetest_make_account(&a, "listed");
        if (i != 1) {
            pb_storetest_fill(a.data_key, 16, (unsigned)i);
            a.data_key_len = 16;
            a.require_2fa = true;
        }
        assert_int_equal(pb_store_tx(f->store, PB_TX_WRITE, account_insert_tx, &a), PB_ERR_OK);
    }
    int keyed = 0;
    assert_int_equal(pb_store_tx(f->store, PB_TX_READ, count_keyed_tx, &keyed), PB_ERR_OK);
    assert_int_equal(keyed, 2);
}

static void
users_insert_get_and_update(void **state)
{
    struct pb_storetest *f = *state;
    pb_storetest_open_migrated(f, 1);
    struct pb_account a;
    pb_storetest_insert_account(f->store, &a, "users");
    struct pb_user u, got;
    insert_user(f->store, &u, a.id, "ada@example.org", "owner");

    /* Fresh: no password, no secret, no step yet. */
    memset(&got, 0xa5, sizeof(got));
    assert_int_equal(OP(f->store, .kind = OP_USER_GET, .a = u.id, .out = &got), PB_QS_ONE);
    assert_users_equal(&got, &u);
    assert_string_equal(got.password_hash, "");
    assert_int_equal(got.totp_secret_len, 0);
    assert_false(got.totp_enabled);
    assert_int_equal(got.totp_last_step, -1);
    memset(&got, 0, sizeof(got));
    assert_int_equal(
        OP(f->store, .kind = OP_USER_GET_BY_EMAIL, .a = "ada@example.org", .out = &got), PB_QS_ONE);
    assert_string_equal(got.id, u.id);

    /* Everything user_update writes comes back, the secret byte for byte. */
    pb_strlcpy(u.role, "admin", sizeof(u.role));
    pb_strlcpy(u.password_hash, "$argon2id$v=19$m=65536,t=3,p=1$c2FsdA$aGFzaA",
               sizeof(u.password_hash));
    pb_storetest_fill(u.totp_secret, 200, 9);
    u.totp_secret[0] = 0; /* a NUL inside a blob */
    u.totp_secret_len = 200;
    u.totp_enabled = true;
    u.totp_last_step = 0;
    assert_int_equal(OP(f->store, .kind = OP_USER_UPDATE, .in = &u), PB_QS_ONE);
    assert_int_equal(OP(f->store, .kind = OP_USER_GET, .a = u.id, .out = &got), PB_QS_ONE);
    assert_users_equal(&got, &u);

    /* And back to no secret. */
    u.totp_secret_len = 0;
    u.totp_enabled = false;
    u.totp_last_step = 123456789012LL;
    assert_int_equal(OP(f->store, .kind = OP_USER_UPDATE, .in = &u), PB_QS_ONE);
    assert_int_equal(OP(f->store, .kind = OP_USER_GET, .a = u.id, .out = &got), PB_QS_ONE);
    assert_users_equal(&got, &u);

    /* Unknown users. */
    struct pb_user ghost;
    make_user(&ghost, a.id, "ghost@example.org", "author");
    assert_int_equal(OP(f->store, .kind = OP_USER_UPDATE, .in = &ghost), PB_QS_NONE);
    assert_int_equal(OP(f->store, .kind = OP_USER_GET, .a = ghost.id, .out = &got), PB_QS_NONE);
    assert_int_equal(
        OP(f->store, .kind = OP_USER_GET_BY_EMAIL, .a = "ghost@example.org", .out = &got),
        PB_QS_NONE);

    /* A row written with the table's defaults reads as a fresh user. */
    char sql[256];
    char raw_id[PB_ID_LEN + 1];
    pb_id_new(raw_id);
    snprintf(sql, sizeof(sql),
             "INSERT INTO users (id, account_id, email, role, created_at)"
             " VALUES ('%s', '%s', 'raw@example.org', 'author', 42)",
             raw_id, a.id);
    pb_storetest_raw_exec(f->url, sql);
    assert_int_equal(OP(f->store, .kind = OP_USER_GET, .a = raw_id, .out = &got), PB_QS_ONE);
    assert_string_equal(got.password_hash, "");
    assert_int_equal(got.totp_secret_len, 0);
    assert_false(got.totp_enabled);
    assert_int_equal(got.totp_last_step, -1);
    assert_int_equal(got.created_at, 42);

    /* A stored value longer than its field is a hard error, never an overflow. */
    char long_hash[PB_PASSWORD_HASH_BYTES + 8];
    memset(long_hash, 'h', sizeof(long_hash) - 1);
    long_hash[sizeof(long_hash) - 1] = '\0';
    snprintf(sql, sizeof(sql), "UPDATE users SET password_hash = '%s' WHERE id = '%s'", long_hash,
             raw_id);
    pb_storetest_raw_exec(f->url, sql);
    assert_int_equal(OP(f->store, .kind = OP_USER_GET, .a = raw_id, .out = &got), PB_QS_HARD_ERROR);
}

static void
user_with_existing_email_answers_none(void **state)
{
    struct pb_storetest *f = *state;
    pb_storetest_open_migrated(f, 1);
    struct pb_account a;
    pb_storetest_insert_account(f->store, &a, "dups");
    struct pb_user first, second, got;
    insert_user(f->store, &first, a.id, "same@example.org", "owner");
    make_user(&second, a.id, "same@example.org", "author");
    assert_int_equal(OP(f->store, .kind = OP_USER_INSERT, .in = &second), PB_QS_NONE);
    assert_int_equal(OP(f->store, .kind = OP_USER_GET, .a = second.id, .out = &got), PB_QS_NONE);
    assert_int_equal(
        OP(f->store, .kind = OP_USER_GET_BY_EMAIL, .a = "same@example.org", .out = &got),
        PB_QS_ONE);
    assert_string_equal(got.id, first.id);
    assert_string_equal(got.role, "owner");

    /* A bad role, an unknown account and a repeated id are hard errors. */
    struct pb_user bad;
    make_user(&bad, a.id, "bad@example.org", "god");
    assert_int_equal(OP(f->store, .kind = OP_USER_INSERT, .in = &bad), PB_QS_HARD_ERROR);
    make_user(&bad, "00000000000000000000000000", "orphan@example.org", "author");
    assert_int_equal(OP(f->store, .kind = OP_USER_INSERT, .in = &bad), PB_QS_HARD_ERROR);
    make_user(&bad, a.id, "other@example.org", "author");
    memcpy(bad.id, first.id, sizeof(bad.id));
    assert_int_equal(OP(f->store, .kind = OP_USER_INSERT, .in = &bad), PB_QS_HARD_ERROR);
    assert_int_equal(
        OP(f->store, .kind = OP_USER_GET_BY_EMAIL, .a = "other@example.org", .out = &got),
        PB_QS_NONE);
}

static void
users_list_by_pages_and_count_roles(void **state)
{
    struct pb_storetest *f = *state;
    pb_storetest_open_migrated(f, 1);
    struct pb_account a, b;
    pb_storetest_insert_account(f->store, &a, "big");
    pb_storetest_insert_account(f->store, &b, "small");
    const char *roles[] = {"owner", "admin", "admin", "author", "author", "author", "author"};
    struct pb_storetest_page want = {0};
    struct pb_user u;
    for (int i = 0; i < 7; i++) {
        char email[64];
        snprintf(email, sizeof(email), "a%d@example.org", i);
        insert_user(f->store, &u, a.id, email, roles[i]);
        pb_strlcpy(want.ids[want.count++], u.id, sizeof(want.ids[0]));
    }
    insert_user(f->store, &u, b.id, "b0@example.org", "owner");
    insert_user(f->store, &u, b.id, "b1@example.org", "author");
    pb_storetest_page_sort(&want, false);

    char after[PB_ID_LEN + 1] = "";
    int seen = 0;
    const int sizes[] = {3, 3, 1, 0};
    const enum pb_qs answers[] = {PB_QS_N, PB_QS_N, PB_QS_ONE, PB_QS_NONE};
    for (int p = 0; p < 4; p++) {
        struct pb_storetest_page page = {0};
        assert_int_equal(
            OP(f->store, .kind = OP_USER_LIST, .a = a.id, .b = after, .limit = 3, .page = &page),
            answers[p]);
        assert_int_equal(page.count, sizes[p]);
        for (int i = 0; i < page.count; i++)
            assert_string_equal(page.ids[i], want.ids[seen++]);
        if (page.count > 0)
            pb_strlcpy(after, page.ids[page.count - 1], sizeof(after));
    }
    assert_int_equal(seen, 7);
    struct pb_storetest_page page = {0};
    assert_int_equal(
        OP(f->store, .kind = OP_USER_LIST, .a = b.id, .b = "", .limit = 10, .page = &page),
        PB_QS_N);
    assert_int_equal(page.count, 2);

    long n = -1;
    assert_int_equal(OP(f->store, .kind = OP_USER_COUNT_ROLE, .a = a.id, .b = "owner", .count = &n),
                     PB_QS_ONE);
    assert_int_equal(n, 1);
    assert_int_equal(OP(f->store, .kind = OP_USER_COUNT_ROLE, .a = a.id, .b = "admin", .count = &n),
                     PB_QS_ONE);
    assert_int_equal(n, 2);
    assert_int_equal(
        OP(f->store, .kind = OP_USER_COUNT_ROLE, .a = a.id, .b = "author", .count = &n), PB_QS_ONE);
    assert_int_equal(n, 4);
    assert_int_equal(OP(f->store, .kind = OP_USER_COUNT_ROLE, .a = b.id, .b = "admin", .count = &n),
                     PB_QS_ONE);
    assert_int_equal(n, 0);
}

static void
make_session(struct pb_session *s, const char *user_id, unsigned seed)
{
    memset(s, 0, sizeof(*s));
    pb_storetest_fill(s->token_hash, PB_HASH_BYTES, seed);
    pb_strlcpy(s->user_id, user_id, sizeof(s->user_id));
    s->created_at = 1000 + seed;
    s->last_seen_at = 2000 + seed;
}

static void
make_key(struct pb_api_key *k, const char *user_id, const char *name, unsigned seed)
{
    memset(k, 0, sizeof(*k));
    pb_id_new(k->id);
    pb_strlcpy(k->user_id, user_id, sizeof(k->user_id));
    pb_strlcpy(k->name, name, sizeof(k->name));
    pb_storetest_fill(k->token_hash, PB_HASH_BYTES, seed);
    snprintf(k->prefix, sizeof(k->prefix), "pb_%u", seed);
    k->created_at = 3000 + seed;
}

static void
user_delete_takes_everything_with_it(void **state)
{
    struct pb_storetest *f = *state;
    pb_storetest_open_migrated(f, 1);
    struct pb_account a;
    pb_storetest_insert_account(f->store, &a, "cascade");
    struct pb_user gone, kept;
    insert_user(f->store, &gone, a.id, "gone@example.org", "admin");
    insert_user(f->store, &kept, a.id, "kept@example.org", "owner");

    struct pb_session s1, s2, s3;
    make_session(&s1, gone.id, 1);
    make_session(&s2, gone.id, 2);
    make_session(&s3, kept.id, 3);
    assert_int_equal(OP(f->store, .kind = OP_SESSION_INSERT, .in = &s1), PB_QS_ONE);
    assert_int_equal(OP(f->store, .kind = OP_SESSION_INSERT, .in = &s2), PB_QS_ONE);
    assert_int_equal(OP(f->store, .kind = OP_SESSION_INSERT, .in = &s3), PB_QS_ONE);
    struct pb_api_key k1, k2;
    make_key(&k1, gone.id, "ci", 11);
    make_key(&k2, kept.id, "ci", 12);
    assert_int_equal(OP(f->store, .kind = OP_API_KEY_INSERT, .in = &k1), PB_QS_ONE);
    assert_int_equal(OP(f->store, .kind = OP_API_KEY_INSERT, .in = &k2), PB_QS_ONE);
    unsigned char codes[4][PB_HASH_BYTES];
    for (int i = 0; i < 4; i++)
        pb_storetest_fill(codes[i], PB_HASH_BYTES, 20u + (unsigned)i);
    assert_int_equal(OP(f->store, .kind = OP_RECOVERY_CODES_REPLACE, .a = gone.id,
                        .hashes = (const unsigned char(*)[PB_HASH_BYTES])codes, .n = 4),
                     PB_QS_N);
    assert_int_equal(OP(f->store, .kind = OP_RECOVERY_CODES_REPLACE, .a = kept.id,
                        .hashes = (const unsigned char(*)[PB_HASH_BYTES])codes, .n = 4),
                     PB_QS_N);
    unsigned char reset[PB_HASH_BYTES];
    pb_storetest_fill(reset, sizeof(reset), 30);
    assert_int_equal(
        OP(f->store, .kind = OP_RESET_INSERT, .hash = reset, .a = gone.id, .t1 = 1LL << 40),
        PB_QS_ONE);

    assert_int_equal(OP(f->store, .kind = OP_USER_DELETE, .a = gone.id), PB_QS_ONE);
    assert_int_equal(OP(f->store, .kind = OP_USER_DELETE, .a = gone.id), PB_QS_NONE);

    struct pb_user u;
    struct pb_session s;
    struct pb_api_key k;
    long n = -1;
    char who[PB_ID_LEN + 1];
    assert_int_equal(OP(f->store, .kind = OP_USER_GET, .a = gone.id, .out = &u), PB_QS_NONE);
    assert_int_equal(OP(f->store, .kind = OP_SESSION_GET, .hash = s1.token_hash, .out = &s),
                     PB_QS_NONE);
    assert_int_equal(OP(f->store, .kind = OP_SESSION_GET, .hash = s2.token_hash, .out = &s),
                     PB_QS_NONE);
    assert_int_equal(OP(f->store, .kind = OP_API_KEY_GET_BY_HASH, .hash = k1.token_hash, .out = &k),
                     PB_QS_NONE);
    assert_int_equal(OP(f->store, .kind = OP_RECOVERY_CODES_REMAINING, .a = gone.id, .count = &n),
                     PB_QS_ONE);
    assert_int_equal(n, 0);
    assert_int_equal(OP(f->store, .kind = OP_RESET_CONSUME, .hash = reset, .t1 = 1, .user_id = who),
                     PB_QS_NONE);

    /* The other user keeps all of theirs. */
    assert_int_equal(OP(f->store, .kind = OP_USER_GET, .a = kept.id, .out = &u), PB_QS_ONE);
    assert_int_equal(OP(f->store, .kind = OP_SESSION_GET, .hash = s3.token_hash, .out = &s),
                     PB_QS_ONE);
    assert_int_equal(OP(f->store, .kind = OP_API_KEY_GET_BY_HASH, .hash = k2.token_hash, .out = &k),
                     PB_QS_ONE);
    assert_int_equal(OP(f->store, .kind = OP_RECOVERY_CODES_REMAINING, .a = kept.id, .count = &n),
                     PB_QS_ONE);
    assert_int_equal(n, 4);
}

static void
totp_step_only_moves_forward(void **state)
{
    struct pb_storetest *f = *state;
    pb_storetest_open_migrated(f, 1);
    struct pb_account a;
    pb_storetest_insert_account(f->store, &a, "totp");
    struct pb_user u, got;
    insert_user(f->store, &u, a.id, "totp@example.org", "owner");

    assert_int_equal(OP(f->store, .kind = OP_USER_ADVANCE_TOTP_STEP, .a = u.id, .t1 = 0),
                     PB_QS_ONE);
    assert_int_equal(OP(f->store, .kind = OP_USER_ADVANCE_TOTP_STEP, .a = u.id, .t1 = 0),
                     PB_QS_NONE);
    assert_int_equal(OP(f->store, .kind = OP_USER_ADVANCE_TOTP_STEP, .a = u.id, .t1 = 58000000),
                     PB_QS_ONE);
    assert_int_equal(OP(f->store, .kind = OP_USER_ADVANCE_TOTP_STEP, .a = u.id, .t1 = 58000000),
                     PB_QS_NONE); /* the same code again: a replay */
    assert_int_equal(OP(f->store, .kind = OP_USER_ADVANCE_TOTP_STEP, .a = u.id, .t1 = 57999999),
                     PB_QS_NONE);
    assert_int_equal(OP(f->store, .kind = OP_USER_GET, .a = u.id, .out = &got), PB_QS_ONE);
    assert_int_equal(got.totp_last_step, 58000000);
    assert_int_equal(OP(f->store, .kind = OP_USER_ADVANCE_TOTP_STEP, .a = u.id, .t1 = 58000001),
                     PB_QS_ONE);
    assert_int_equal(OP(f->store, .kind = OP_USER_ADVANCE_TOTP_STEP,
                        .a = "00000000000000000000000000", .t1 = 99),
                     PB_QS_NONE);
}

static void
sessions_insert_get_touch_and_delete(void **state)
{
    struct pb_storetest *f = *state;
    pb_storetest_open_migrated(f, 1);
    struct pb_account a;
    pb_storetest_insert_account(f->store, &a, "sessions");
    struct pb_user u, v;
    insert_user(f->store, &u, a.id, "s@example.org", "owner");
    insert_user(f->store, &v, a.id, "t@example.org", "author");

    struct pb_session s1, s2, s3, s4, got;
    make_session(&s1, u.id, 1);
    s1.mfa_pending = true;
    make_session(&s2, u.id, 2);
    make_session(&s3, u.id, 3);
    make_session(&s4, v.id, 4);
    assert_int_equal(OP(f->store, .kind = OP_SESSION_INSERT, .in = &s1), PB_QS_ONE);
    assert_int_equal(OP(f->store, .kind = OP_SESSION_INSERT, .in = &s2), PB_QS_ONE);
    assert_int_equal(OP(f->store, .kind = OP_SESSION_INSERT, .in = &s3), PB_QS_ONE);
    assert_int_equal(OP(f->store, .kind = OP_SESSION_INSERT, .in = &s4), PB_QS_ONE);
    assert_int_equal(OP(f->store, .kind = OP_SESSION_INSERT, .in = &s1), PB_QS_HARD_ERROR);
    struct pb_session orphan;
    make_session(&orphan, "00000000000000000000000000", 5);
    assert_int_equal(OP(f->store, .kind = OP_SESSION_INSERT, .in = &orphan), PB_QS_HARD_ERROR);

    memset(&got, 0, sizeof(got));
    assert_int_equal(OP(f->store, .kind = OP_SESSION_GET, .hash = s1.token_hash, .out = &got),
                     PB_QS_ONE);
    assert_memory_equal(got.token_hash, s1.token_hash, PB_HASH_BYTES);
    assert_string_equal(got.user_id, u.id);
    assert_true(got.mfa_pending);
    assert_int_equal(got.created_at, s1.created_at);
    assert_int_equal(got.last_seen_at, s1.last_seen_at);
    assert_int_equal(OP(f->store, .kind = OP_SESSION_GET, .hash = s2.token_hash, .out = &got),
                     PB_QS_ONE);
    assert_false(got.mfa_pending);

    assert_int_equal(OP(f->store, .kind = OP_SESSION_TOUCH, .hash = s1.token_hash, .t1 = 9999),
                     PB_QS_ONE);
    assert_int_equal(OP(f->store, .kind = OP_SESSION_GET, .hash = s1.token_hash, .out = &got),
                     PB_QS_ONE);
    assert_int_equal(got.last_seen_at, 9999);
    assert_int_equal(got.created_at, s1.created_at);
    unsigned char unknown[PB_HASH_BYTES];
    pb_storetest_fill(unknown, sizeof(unknown), 77);
    assert_int_equal(OP(f->store, .kind = OP_SESSION_TOUCH, .hash = unknown, .t1 = 1), PB_QS_NONE);
    assert_int_equal(OP(f->store, .kind = OP_SESSION_GET, .hash = unknown, .out = &got),
                     PB_QS_NONE);

    assert_int_equal(OP(f->store, .kind = OP_SESSION_DELETE, .hash = s1.token_hash), PB_QS_ONE);
    assert_int_equal(OP(f->store, .kind = OP_SESSION_DELETE, .hash = s1.token_hash), PB_QS_NONE);
    assert_int_equal(OP(f->store, .kind = OP_SESSION_GET, .hash = s1.token_hash, .out = &got),
                     PB_QS_NONE);
    assert_int_equal(OP(f->store, .kind = OP_SESSION_DELETE_FOR_USER, .a = u.id), PB_QS_N);
    assert_int_equal(OP(f->store, .kind = OP_SESSION_DELETE_FOR_USER, .a = u.id), PB_QS_NONE);
    assert_int_equal(OP(f->store, .kind = OP_SESSION_GET, .hash = s3.token_hash, .out = &got),
                     PB_QS_NONE);
    assert_int_equal(OP(f->store, .kind = OP_SESSION_GET, .hash = s4.token_hash, .out = &got),
                     PB_QS_ONE);
}

static void
recovery_codes_work_once(void **state)
{
    struct pb_storetest *f = *state;
    pb_storetest_open_migrated(f, 1);
    struct pb_account a;
    pb_storetest_insert_account(f->store, &a, "codes");
    struct pb_user u, v;
    insert_user(f->store, &u, a.id, "u@example.org", "owner");
    insert_user(f->store, &v, a.id, "v@example.org", "author");
    unsigned char codes[10][PB_HASH_BYTES];
    for (int i = 0; i < 10; i++)
        pb_storetest_fill(codes[i], PB_HASH_BYTES, 100u + (unsigned)i);
    long n = -1;
    assert_int_equal(OP(f->store, .kind = OP_RECOVERY_CODES_REMAINING, .a = u.id, .count = &n),
                     PB_QS_ONE);
    assert_int_equal(n, 0);
    assert_int_equal(OP(f->store, .kind = OP_RECOVERY_CODES_REPLACE, .a = u.id,
                        .hashes = (const unsigned char(*)[PB_HASH_BYTES])codes, .n = 10),
                     PB_QS_N);
    assert_int_equal(OP(f->store, .kind = OP_RECOVERY_CODES_REMAINING, .a = u.id, .count = &n),
                     PB_QS_ONE);
    assert_int_equal(n, 10);

    assert_int_equal(
        OP(f->store, .kind = OP_RECOVERY_CODE_USE, .a = u.id, .hash = codes[3], .t1 = 500),
        PB_QS_ONE);
    assert_int_equal(
        OP(f->store, .kind = OP_RECOVERY_CODE_USE, .a = u.id, .hash = codes[3], .t1 = 501),
        PB_QS_NONE);
    /* Another user cannot use it, nor can anyone use a code never issued. */
    assert_int_equal(
        OP(f->store, .kind = OP_RECOVERY_CODE_USE, .a = v.id, .hash = codes[4], .t1 = 502),
        PB_QS_NONE);
    unsigned char never[PB_HASH_BYTES];
    pb_storetest_fill(never, sizeof(never), 99);
    assert_int_equal(
        OP(f->store, .kind = OP_RECOVERY_CODE_USE, .a = u.id, .hash = never, .t1 = 503),
        PB_QS_NONE);
    assert_int_equal(OP(f->store, .kind = OP_RECOVERY_CODES_REMAINING, .a = u.id, .count = &n),
                     PB_QS_ONE);
    assert_int_equal(n, 9);

    /* A new set replaces the old one, used codes included. */
    unsigned char fresh[3][PB_HASH_BYTES];
    for (int i = 0; i < 3; i++)
        pb_storetest_fill(fresh[i], PB_HASH_BYTES, 200u + (unsigned)i);
    assert_int_equal(OP(f->store, .kind = OP_RECOVERY_CODES_REPLACE, .a = u.id,
                        .hashes = (const unsigned char(*)[PB_HASH_BYTES])fresh, .n = 3),
                     PB_QS_N);
    assert_int_equal(OP(f->store, .kind = OP_RECOVERY_CODES_REMAINING, .a = u.id, .count = &n),
                     PB_QS_ONE);
    assert_int_equal(n, 3);
    assert_int_equal(
        OP(f->store, .kind = OP_RECOVERY_CODE_USE, .a = u.id, .hash = codes[4], .t1 = 600),
        PB_QS_NONE);
    assert_int_equal(
        OP(f->store, .kind = OP_RECOVERY_CODE_USE, .a = u.id, .hash = fresh[2], .t1 = 601),
        PB_QS_ONE);
    /* And an empty set leaves none. */
    assert_int_equal(
        OP(f->store, .kind = OP_RECOVERY_CODES_REPLACE, .a = u.id, .hashes = NULL, .n = 0),
        PB_QS_NONE);
    assert_int_equal(OP(f->store, .kind = OP_RECOVERY_CODES_REMAINING, .a = u.id, .count = &n),
                     PB_QS_ONE);
    assert_int_equal(n, 0);
}

static void
reset_tokens_work_once_and_expire(void **state)
{
    struct pb_storetest *f = *state;
    pb_storetest_open_migrated(f, 1);
    struct pb_account a;
    pb_storetest_insert_account(f->store, &a, "resets");
    struct pb_user u;
    insert_user(f->store, &u, a.id, "r@example.org", "owner");
    unsigned char t1[PB_HASH_BYTES], t2[PB_HASH_BYTES], never[PB_HASH_BYTES];
    pb_storetest_fill(t1, sizeof(t1), 1);
    pb_storetest_fill(t2, sizeof(t2), 2);
    pb_storetest_fill(never, sizeof(never), 3);
    const int64_t now = 1700000000;
    assert_int_equal(OP(f->store, .kind = OP_RESET_INSERT, .hash = t1, .a = u.id, .t1 = now + 3600),
                     PB_QS_ONE);
    assert_int_equal(OP(f->store, .kind = OP_RESET_INSERT, .hash = t2, .a = u.id, .t1 = now + 10),
                     PB_QS_ONE);
    assert_int_equal(OP(f->store, .kind = OP_RESET_INSERT, .hash = t2, .a = u.id, .t1 = now + 10),
                     PB_QS_HARD_ERROR);
    assert_int_equal(OP(f->store, .kind = OP_RESET_INSERT, .hash = never,
                        .a = "00000000000000000000000000", .t1 = now + 10),
                     PB_QS_HARD_ERROR);

    char who[PB_ID_LEN + 1] = "";
    assert_int_equal(OP(f->store, .kind = OP_RESET_CONSUME, .hash = t1, .t1 = now, .user_id = who),
                     PB_QS_ONE);
    assert_string_equal(who, u.id);
    assert_int_equal(
        OP(f->store, .kind = OP_RESET_CONSUME, .hash = t1, .t1 = now + 1, .user_id = who),
        PB_QS_NONE);

    /* Expired at expires_at itself; usable just before. */
    assert_int_equal(
        OP(f->store, .kind = OP_RESET_CONSUME, .hash = t2, .t1 = now + 10, .user_id = who),
        PB_QS_NONE);
    assert_int_equal(
        OP(f->store, .kind = OP_RESET_CONSUME, .hash = t2, .t1 = now + 9, .user_id = who),
        PB_QS_ONE);
    assert_string_equal(who, u.id);
    assert_int_equal(
        OP(f->store, .kind = OP_RESET_CONSUME, .hash = t2, .t1 = now + 9, .user_id = who),
        PB_QS_NONE);
    assert_int_equal(
        OP(f->store, .kind = OP_RESET_CONSUME, .hash = never, .t1 = now, .user_id = who),
        PB_QS_NONE);
}

static void
api_keys_roundtrip_and_delete_only_by_owner(void **state)
{
    struct pb_storetest *f = *state;
    pb_storetest_open_migrated(f, 1);
    struct pb_account a;
    pb_storetest_insert_account(f->store, &a, "keys");
    struct pb_user u, v;
    insert_user(f->store, &u, a.id, "k@example.org", "owner");
    insert_user(f->store, &v, a.id, "l@example.org", "author");
    struct pb_api_key k1, k2, k3, got;
    make_key(&k1, u.id, "deploy \xc3\xa9t\xc3\xa9", 1);
    make_key(&k2, u.id, "ci", 2);
    make_key(&k3, v.id, "mine", 3);
    assert_int_equal(OP(f->store, .kind = OP_API_KEY_INSERT, .in = &k1), PB_QS_ONE);
    assert_int_equal(OP(f->store, .kind = OP_API_KEY_INSERT, .in = &k2), PB_QS_ONE);
    assert_int_equal(OP(f->store, .kind = OP_API_KEY_INSERT, .in = &k3), PB_QS_ONE);
    struct pb_api_key dup;
    make_key(&dup, v.id, "same token", 1);
    assert_int_equal(OP(f->store, .kind = OP_API_KEY_INSERT, .in = &dup), PB_QS_HARD_ERROR);

    memset(&got, 0, sizeof(got));
    assert_int_equal(
        OP(f->store, .kind = OP_API_KEY_GET_BY_HASH, .hash = k1.token_hash, .out = &got),
        PB_QS_ONE);
    assert_string_equal(got.id, k1.id);
    assert_string_equal(got.user_id, u.id);
    assert_string_equal(got.name, k1.name);
    assert_memory_equal(got.token_hash, k1.token_hash, PB_HASH_BYTES);
    assert_string_equal(got.prefix, k1.prefix);
    assert_int_equal(got.created_at, k1.created_at);
    assert_int_equal(got.last_used_at, 0);

    assert_int_equal(OP(f->store, .kind = OP_API_KEY_TOUCH, .a = k1.id, .t1 = 4242), PB_QS_ONE);
    assert_int_equal(
        OP(f->store, .kind = OP_API_KEY_GET_BY_HASH, .hash = k1.token_hash, .out = &got),
        PB_QS_ONE);
    assert_int_equal(got.last_used_at, 4242);
    assert_int_equal(
        OP(f->store, .kind = OP_API_KEY_TOUCH, .a = "00000000000000000000000000", .t1 = 1),
        PB_QS_NONE);

    struct pb_storetest_page want = {0}, page = {0};
    pb_strlcpy(want.ids[want.count++], k1.id, sizeof(want.ids[0]));
    pb_strlcpy(want.ids[want.count++], k2.id, sizeof(want.ids[0]));
    pb_storetest_page_sort(&want, false);
    assert_int_equal(OP(f->store, .kind = OP_API_KEY_LIST, .a = u.id, .page = &page), PB_QS_N);
    assert_int_equal(page.count, 2);
    assert_string_equal(page.ids[0], want.ids[0]);
    assert_string_equal(page.ids[1], want.ids[1]);

    /* Only its owner can delete a key. */
    assert_int_equal(OP(f->store, .kind = OP_API_KEY_DELETE, .a = v.id, .b = k1.id), PB_QS_NONE);
    assert_int_equal(
        OP(f->store, .kind = OP_API_KEY_GET_BY_HASH, .hash = k1.token_hash, .out = &got),
        PB_QS_ONE);
    assert_int_equal(OP(f->store, .kind = OP_API_KEY_DELETE, .a = u.id, .b = k1.id), PB_QS_ONE);
    assert_int_equal(OP(f->store, .kind = OP_API_KEY_DELETE, .a = u.id, .b = k1.id), PB_QS_NONE);
    assert_int_equal(
        OP(f->store, .kind = OP_API_KEY_GET_BY_HASH, .hash = k1.token_hash, .out = &got),
        PB_QS_NONE);
    assert_int_equal(OP(f->store, .kind = OP_API_KEY_LIST, .a = u.id, .page = &page), PB_QS_ONE);
    assert_string_equal(page.ids[0], k2.id);
    assert_int_equal(OP(f->store, .kind = OP_API_KEY_LIST, .a = v.id, .page = &page), PB_QS_ONE);
    assert_string_equal(page.ids[0], k3.id);
}

static void
make_audit(struct pb_audit_entry *e, const char *account_id, const char *action)
{
    memset(e, 0, sizeof(*e));
    pb_id_new(e->id);
    pb_strlcpy(e->account_id, account_id, sizeof(e->account_id));
    pb_strlcpy(e->action, action, sizeof(e->action));
    pb_strlcpy(e->detail, "{}", sizeof(e->detail));
    e->at = pb_clock_now();
}

static void
audit_lists_newest_first_by_pages(void **state)
{
    struct pb_storetest *f = *state;
    pb_storetest_open_migrated(f, 1);
    /* No account rows at all: the log does not depend on them. */
    char acct[PB_ID_LEN + 1], other[PB_ID_LEN + 1];
    pb_id_new(acct);
    pb_id_new(other);
    struct pb_storetest_page want = {0};
    struct pb_audit_entry e;
    for (int i = 0; i < 12; i++) {
        make_audit(&e, acct, "login.success");
        assert_int_equal(OP(f->store, .kind = OP_AUDIT_INSERT, .in = &e), PB_QS_ONE);
        pb_strlcpy(want.ids[want.count++], e.id, sizeof(want.ids[0]));
    }
    for (int i = 0; i < 3; i++) {
        make_audit(&e, other, "login.failure");
        assert_int_equal(OP(f->store, .kind = OP_AUDIT_INSERT, .in = &e), PB_QS_ONE);
    }
    struct pb_audit_entry platform;
    make_audit(&platform, "", "platform.start");
    assert_int_equal(OP(f->store, .kind = OP_AUDIT_INSERT, .in = &platform), PB_QS_ONE);
    pb_storetest_page_sort(&want, true);

    char before[PB_ID_LEN + 1] = "";
    int seen = 0;
    const int sizes[] = {5, 5, 2, 0};
    for (int p = 0; p < 4; p++) {
        struct pb_storetest_page page = {0};
        enum pb_qs qs =
            OP(f->store, .kind = OP_AUDIT_LIST, .a = acct, .b = before, .limit = 5, .page = &page);
        assert_int_equal(qs, sizes[p] == 0 ? PB_QS_NONE : PB_QS_N);
        assert_int_equal(page.count, sizes[p]);
        for (int i = 0; i < page.count; i++)
            assert_string_equal(page.ids[i], want.ids[seen++]);
        if (page.count > 0)
            pb_strlcpy(before, page.ids[page.count - 1], sizeof(before));
    }
    assert_int_equal(seen, 12);

    struct pb_storetest_page page = {0};
    assert_int_equal(
        OP(f->store, .kind = OP_AUDIT_LIST, .a = other, .b = "", .limit = 10, .page = &page),
        PB_QS_N);
    assert_int_equal(page.count, 3);
    assert_int_equal(
        OP(f->store, .kind = OP_AUDIT_LIST, .a = "", .b = "", .limit = 10, .page = &page),
        PB_QS_ONE);
    assert_string_equal(page.ids[0], platform.id);
}

static void
audit_keep_entry(void *cls, const struct pb_audit_entry *entry)
{
    *(struct pb_audit_entry *)cls = *entry;
}

static enum pb_qs
audit_get_platform_tx(struct pb_tx *tx, void *cls)
{
    return tx->ops->audit_list(tx->conn, "", "", 1, audit_keep_entry, cls);
}

static void
audit_entry_roundtrips(void **state)
{
    struct pb_storetest *f = *state;
    pb_storetest_open_migrated(f, 1);
    struct pb_audit_entry e, got;
    make_audit(&e, "", "mfa.enabled");
    pb_strlcpy(e.detail, "{\"why\":\"a \\\"quoted\\\" word\",\"caf\xc3\xa9\":[1,2]}",
               sizeof(e.detail));
    pb_strlcpy(e.client_ip, "2001:db8::1", sizeof(e.client_ip));
    pb_id_new(e.actor_user_id);
    e.at = 1234567890123LL;
    assert_int_equal(OP(f->store, .kind = OP_AUDIT_INSERT, .in = &e), PB_QS_ONE);
    memset(&got, 0, sizeof(got));
    assert_int_equal(pb_store_tx(f->store, PB_TX_READ, audit_get_platform_tx, &got), PB_ERR_OK);
    assert_string_equal(got.id, e.id);
    assert_string_equal(got.account_id, "");
    assert_string_equal(got.actor_user_id, e.actor_user_id);
    assert_string_equal(got.action, "mfa.enabled");
    assert_string_equal(got.detail, e.detail);
    assert_string_equal(got.client_ip, "2001:db8::1");
    assert_int_equal(got.at, e.at);
}

static void
throttle_counts_failures_and_clears(void **state)
{
    struct pb_storetest *f = *state;
    pb_storetest_open_migrated(f, 1);
    struct pb_throttle t = {99, 99};
    assert_int_equal(OP(f->store, .kind = OP_THROTTLE_GET, .a = "email:abc", .out = &t),
                     PB_QS_NONE);
    assert_int_equal(t.failures, 0);
    assert_int_equal(t.last_failure_at, 0);

    assert_int_equal(OP(f->store, .kind = OP_THROTTLE_FAIL, .a = "email:abc", .t1 = 100),
                     PB_QS_ONE);
    assert_int_equal(OP(f->store, .kind = OP_THROTTLE_GET, .a = "email:abc", .out = &t), PB_QS_ONE);
    assert_int_equal(t.failures, 1);
    assert_int_equal(t.last_failure_at, 100);
    assert_int_equal(OP(f->store, .kind = OP_THROTTLE_FAIL, .a = "email:abc", .t1 = 105),
                     PB_QS_ONE);
    assert_int_equal(OP(f->store, .kind = OP_THROTTLE_FAIL, .a = "email:abc", .t1 = 107),
                     PB_QS_ONE);
    assert_int_equal(OP(f->store, .kind = OP_THROTTLE_FAIL, .a = "ip:192.0.2.1", .t1 = 106),
                     PB_QS_ONE);
    assert_int_equal(OP(f->store, .kind = OP_THROTTLE_GET, .a = "email:abc", .out = &t), PB_QS_ONE);
    assert_int_equal(t.failures, 3);
    assert_int_equal(t.last_failure_at, 107);

    assert_int_equal(OP(f->store, .kind = OP_THROTTLE_CLEAR, .a = "email:abc"), PB_QS_ONE);
    assert_int_equal(OP(f->store, .kind = OP_THROTTLE_CLEAR, .a = "email:abc"), PB_QS_NONE);
    assert_int_equal(OP(f->store, .kind = OP_THROTTLE_GET, .a = "email:abc", .out = &t),
                     PB_QS_NONE);
    assert_int_equal(t.failures, 0);
    assert_int_equal(OP(f->store, .kind = OP_THROTTLE_GET, .a = "ip:192.0.2.1", .out = &t),
                     PB_QS_ONE);
    assert_int_equal(t.failures, 1);
    assert_int_equal(t.last_failure_at, 106);
}

static void
make_mail(struct pb_outbox_mail *m, unsigned char *buf, size_t len, unsigned seed, int64_t due)
{
    memset(m, 0, sizeof(*m));
    pb_id_new(m->id);
    snprintf(m->recipient, sizeof(m->recipient), "to%u@example.org", seed);
    pb_storetest_fill(buf, len, seed);
    m->sealed = buf;
    m->sealed_len = len;
    m->next_attempt_at = due;
}

static void
outbox_claims_lease_mails(void **state)
{
    struct pb_storetest *f = *state;
    pb_storetest_open_migrated(f, 1);
    static unsigned char b1[3000], b2[64], b3[10], b4[1];
    struct pb_outbox_mail m1, m2, m3, m4;
    make_mail(&m1, b1, sizeof(b1), 1, 100);
    make_mail(&m2, b2, sizeof(b2), 2, 50);
    make_mail(&m3, b3, sizeof(b3), 3, 200); /* not due at 150 */
    make_mail(&m4, b4, 0, 4, 100);          /* an empty message */
    m4.attempts = 2;
    /* m1 and m4 are due at the same time: the smaller id first. */
    const struct pb_outbox_mail *first = strcmp(m1.id, m4.id) < 0 ? &m1 : &m4;
    const struct pb_outbox_mail *second = first == &m1 ? &m4 : &m1;
    assert_int_equal(OP(f->store, .kind = OP_OUTBOX_INSERT, .in = &m1), PB_QS_ONE);
    assert_int_equal(OP(f->store, .kind = OP_OUTBOX_INSERT, .in = &m2), PB_QS_ONE);
    assert_int_equal(OP(f->store, .kind = OP_OUTBOX_INSERT, .in = &m3), PB_QS_ONE);
    assert_int_equal(OP(f->store, .kind = OP_OUTBOX_INSERT, .in = &m4), PB_QS_ONE);

    static struct mails got;
    assert_int_equal(
        OP(f->store, .kind = OP_OUTBOX_CLAIM, .t1 = 150, .t2 = 1150, .limit = 10, .mails = &got),
        PB_QS_N);
    assert_int_equal(got.count, 3);
    const struct pb_outbox_mail *want[] = {&m2, first, second};
    for (int i = 0; i < 3; i++) {
        assert_string_equal(got.items[i].id, want[i]->id);
        assert_string_equal(got.items[i].recipient, want[i]->recipient);
        assert_int_equal(got.items[i].sealed_len, want[i]->sealed_len);
        assert_memory_equal(got.items[i].sealed, want[i]->sealed, want[i]->sealed_len);
        assert_int_equal(got.items[i].attempts, want[i]->attempts);
        assert_int_equal(got.items[i].next_attempt_at, 1150);
    }

    /* Leased: a second claim at the same time gets nothing. */
    assert_int_equal(
        OP(f->store, .kind = OP_OUTBOX_CLAIM, .t1 = 150, .t2 = 1150, .limit = 10, .mails = &got),
        PB_QS_NONE);
    assert_int_equal(got.count, 0);
    /* m3 falls due; the others are still leased. */
    assert_int_equal(
        OP(f->store, .kind = OP_OUTBOX_CLAIM, .t1 = 1149, .t2 = 2000, .limit = 10, .mails = &got),
        PB_QS_ONE);
    assert_string_equal(got.items[0].id, m3.id);
    /* When the lease runs out they come back, at most `limit` of them. */
    assert_int_equal(
        OP(f->store, .kind = OP_OUTBOX_CLAIM, .t1 = 1150, .t2 = 3000, .limit = 2, .mails = &got),
        PB_QS_N);
    /* All three were leased until 1150: now the id alone orders them. */
    struct pb_storetest_page leased = {0};
    pb_strlcpy(leased.ids[leased.count++], m1.id, sizeof(leased.ids[0]));
    pb_strlcpy(leased.ids[leased.count++], m2.id, sizeof(leased.ids[0]));
    pb_strlcpy(leased.ids[leased.count++], m4.id, sizeof(leased.ids[0]));
    pb_storetest_page_sort(&leased, false);
    assert_int_equal(got.count, 2);
    assert_string_equal(got.items[0].id, leased.ids[0]);
    assert_string_equal(got.items[1].id, leased.ids[1]);
    assert_int_equal(
        OP(f->store, .kind = OP_OUTBOX_CLAIM, .t1 = 1150, .t2 = 3000, .limit = 2, .mails = &got),
        PB_QS_ONE);
    assert_string_equal(got.items[0].id, leased.ids[2]);

    /* A retry sets the attempts and the next time; a delete removes the mail. */
    assert_int_equal(OP(f->store, .kind = OP_OUTBOX_RETRY, .a = m1.id, .limit = 5, .t1 = 2500),
                     PB_QS_ONE);
    assert_int_equal(OP(f->store, .kind = OP_OUTBOX_DELETE, .a = m2.id), PB_QS_ONE);
    assert_int_equal(OP(f->store, .kind = OP_OUTBOX_DELETE, .a = m2.id), PB_QS_NONE);
    assert_int_equal(OP(f->store, .kind = OP_OUTBOX_RETRY, .a = m2.id, .limit = 1, .t1 = 1),
                     PB_QS_NONE);
    /* At 2500: m3 (its lease ran out at 2000), then m1 (retried for 2500). */
    assert_int_equal(
        OP(f->store, .kind = OP_OUTBOX_CLAIM, .t1 = 2500, .t2 = 9000, .limit = 10, .mails = &got),
        PB_QS_N);
    assert_int_equal(got.count, 2);
    assert_string_equal(got.items[0].id, m3.id);
    assert_string_equal(got.items[1].id, m1.id);
    assert_int_equal(got.items[1].attempts, 5);
    assert_int_equal(got.items[1].sealed_len, sizeof(b1));
    assert_memory_equal(got.items[1].sealed, b1, sizeof(b1));
    assert_int_equal(
        OP(f->store, .kind = OP_OUTBOX_CLAIM, .t1 = 9000, .t2 = 9500, .limit = 10, .mails = &got),
        PB_QS_N);
    assert_int_equal(got.count, 3); /* m1, m3, m4; m2 is gone */
}

struct nested_claim {
    struct pb_store *other;
    struct mails outer, inner;
    enum pb_qs inner_qs;
};

/* Claims one mail and, while holding it, lets another node claim all it can. */
static enum pb_qs
nested_claim_tx(struct pb_tx *tx, void *cls)
{
    struct nested_claim *n = cls;
    n->outer.count = 0;
    enum pb_qs qs = tx->ops->outbox_claim(tx->conn, 150, 1150, 1, collect_mail, &n->outer);
    if (qs < 0)
        return qs;
    if (tx->attempt == 0)
        n->inner_qs = OP(n->other, .kind = OP_OUTBOX_CLAIM, .t1 = 150, .t2 = 1150, .limit = 10,
                         .mails = &n->inner);
    return qs;
}

static void
concurrent_claims_skip_each_others_mails(void **state)
{
    struct pb_storetest *f = *state;
    pb_storetest_open_migrated(f, 1);
    static unsigned char b1[8], b2[8];
    struct pb_outbox_mail m1, m2;
    make_mail(&m1, b1, sizeof(b1), 1, 50);
    make_mail(&m2, b2, sizeof(b2), 2, 100);
    assert_int_equal(OP(f->store, .kind = OP_OUTBOX_INSERT, .in = &m1), PB_QS_ONE);
    assert_int_equal(OP(f->store, .kind = OP_OUTBOX_INSERT, .in = &m2), PB_QS_ONE);

    static struct nested_claim n;
    memset(&n, 0, sizeof(n));
    char why[PB_WHY_MAX];
    assert_int_equal(pb_store_open(f->url, 1, &n.other, why), PB_ERR_OK);
    assert_int_equal(pb_store_tx(f->store, PB_TX_WRITE, nested_claim_tx, &n), PB_ERR_OK);
    assert_int_equal(n.outer.count, 1);
    assert_string_equal(n.outer.items[0].id, m1.id);
    assert_int_equal(n.inner_qs, PB_QS_ONE);
    assert_string_equal(n.inner.items[0].id, m2.id);
    pb_store_close(n.other);

    static struct mails got;
    assert_int_equal(
        OP(f->store, .kind = OP_OUTBOX_CLAIM, .t1 = 150, .t2 = 1150, .limit = 10, .mails = &got),
        PB_QS_NONE);
}

/* Brings an empty database to schema version 1 only, as the code before migration 2 did. */
static void
migrate_to_version_1(struct pb_storetest *f)
{
    const struct pb_store_ops *ops = pb_store_backend(f->url);
    struct pb_conn *conn = NULL;
    char why[PB_WHY_MAX] = "";
    int from = -1, to = -1;
    assert_int_equal(ops->connect(f->url, &conn, why), PB_ERR_OK);
    enum pb_err err = pb_storetest_is_sqlite(f) ? pb_sqlite_migrate_to(conn, 1, &from, &to, why)
                                                : pb_pg_migrate_to(conn, 1, &from, &to, why);
    if (err != PB_ERR_OK)
        fprintf(stderr, "migrate to 1: %s\n", why);
    assert_int_equal(err, PB_ERR_OK);
    assert_int_equal(from, 0);
    assert_int_equal(to, 1);
    ops->disconnect(conn);
}

static void
migrate_from_version_1_keeps_accounts(void **state)
{
    struct pb_storetest *f = *state;
    migrate_to_version_1(f);
    pb_storetest_raw_exec(f->url,
                          "INSERT INTO accounts (id, name, plan, created_at)"
                          " VALUES ('01ARZ3NDEKTSV4RRFFQ69G5FAV', 'from before', 'enterprise', 7)");
    pb_storetest_open(f, 1);
    assert_int_equal(schema_version(f->store), 1);
    char why[PB_WHY_MAX] = "";
    int from = -1, to = -1;
    assert_int_equal(pb_store_migrate(f->store, &from, &to, why), PB_ERR_OK);
    assert_int_equal(from, 1);
    assert_int_equal(to, PB_STORETEST_LATEST_VERSION);
    assert_int_equal(schema_version(f->store), PB_STORETEST_LATEST_VERSION);

    struct account_get g = {.id = "01ARZ3NDEKTSV4RRFFQ69G5FAV"};
    assert_int_equal(pb_store_tx(f->store, PB_TX_READ, account_get_tx, &g), PB_ERR_OK);
    assert_int_equal(g.qs, PB_QS_ONE);
    assert_string_equal(g.out.name, "from before");
    assert_string_equal(g.out.plan, "enterprise");
    assert_int_equal(g.out.created_at, 7);
    assert_int_equal(g.out.data_key_len, 0);
    assert_false(g.out.require_2fa);

    /* The new tables work for the old account. */
    unsigned char key[48];
    pb_storetest_fill(key, sizeof(key), 5);
    assert_int_equal(OP(f->store, .kind = OP_ACCOUNT_SET_DATA_KEY, .a = g.id, .hash = key,
                        .n = (int)sizeof(key)),
                     PB_QS_ONE);
    struct pb_user u;
    insert_user(f->store, &u, g.id, "old@example.org", "owner");
    assert_int_equal(pb_store_tx(f->store, PB_TX_READ, account_get_tx, &g), PB_ERR_OK);
    assert_int_equal(g.out.data_key_len, sizeof(key));
    assert_memory_equal(g.out.data_key, key, sizeof(key));
}

/* ---- issue 4: tenant data (fields, lists, contacts, consent) ---- */

static void
collect_field(void *cls, const struct pb_field *field)
{
    pb_storetest_page_add(cls, field->key);
}

static void
collect_list(void *cls, const struct pb_list *list)
{
    pb_storetest_page_add(cls, list->id);
}

static void
collect_contact(void *cls, const struct pb_contact *contact)
{
    pb_storetest_page_add(cls, contact->id);
}

/* Values seen by a list, by contact id (and the last one whole). */
struct values {
    struct pb_storetest_page page;
    struct pb_contact_value last;
};

static void
collect_value(void *cls, const struct pb_contact_value *value)
{
    struct values *v = cls;
    pb_storetest_page_add(&v->page, value->field_key);
    v->last = *value;
}

static void
collect_value_contact(void *cls, const struct pb_contact_value *value)
{
    pb_storetest_page_add(cls, value->contact_id);
}

static void
collect_membership(void *cls, const struct pb_membership *m)
{
    pb_storetest_page_add(cls, m->status);
}

static void
make_field(struct pb_field *fd, const char *account_id, const char *key, bool sensitive)
{
    memset(fd, 0, sizeof(*fd));
    pb_strlcpy(fd->account_id, account_id, sizeof(fd->account_id));
    pb_strlcpy(fd->key, key, sizeof(fd->key));
    snprintf(fd->label, sizeof(fd->label), "Label of %s", key);
    pb_strlcpy(fd->type, "text", sizeof(fd->type));
    fd->sensitive = sensitive;
    fd->created_at = 1000;
}

static enum pb_qs
fields_body(struct pb_tx *tx, void *cls)
{
    const struct pb_storetest_tenants *t = cls;
    const struct pb_store_ops *ops = tx->ops;
    struct pb_conn *c = tx->conn;
    const char *a = t->a.id, *b = t->b.id;
    struct pb_field fd, got;
    struct pb_storetest_page page = {0};

    make_field(&fd, a, "zip", false);
    assert_int_equal(ops->field_insert(c, &fd), PB_QS_ONE);
    make_field(&fd, a, "birthday", true);
    pb_strlcpy(fd.type, "date", sizeof(fd.type));
    assert_int_equal(ops->field_insert(c, &fd), PB_QS_ONE);
    /* The same key again answers NONE and changes nothing. */
    struct pb_field again = fd;
    pb_strlcpy(again.label, "changed", sizeof(again.label));
    assert_int_equal(ops->field_insert(c, &again), PB_QS_NONE);
    /* Another account may use the same key. */
    make_field(&again, b, "zip", true);
    assert_int_equal(ops->field_insert(c, &again), PB_QS_ONE);

    assert_int_equal(ops->field_get(c, a, "birthday", &got), PB_QS_ONE);
    assert_string_equal(got.account_id, a);
    assert_string_equal(got.label, "Label of birthday");
    assert_string_equal(got.type, "date");
    assert_true(got.sensitive);
    assert_int_equal(got.created_at, 1000);
    assert_int_equal(ops->field_get(c, b, "birthday", &got), PB_QS_NONE);

    assert_int_equal(ops->field_list(c, a, collect_field, &page), PB_QS_N);
    assert_int_equal(page.count, 2);
    assert_string_equal(page.ids[0], "birthday");
    assert_string_equal(page.ids[1], "zip");

    pb_strlcpy(fd.label, "Date of birth", sizeof(fd.label));
    fd.sensitive = false;
    assert_int_equal(ops->field_update(c, &fd), PB_QS_ONE);
    assert_int_equal(ops->field_get(c, a, "birthday", &got), PB_QS_ONE);
    assert_string_equal(got.label, "Date of birth");
    assert_false(got.sensitive);
    struct pb_field foreign = fd;
    pb_strlcpy(foreign.account_id, b, sizeof(foreign.account_id));
    assert_int_equal(ops->field_update(c, &foreign), PB_QS_NONE);

    /* Values: text or sealed, replaced in place, listed per contact and per field. */
    struct pb_contact ct[3];
    for (int i = 0; i < 3; i++) {
        pb_storetest_make_contact(&ct[i], a, (unsigned)i + 1);
        assert_int_equal(ops->contact_insert(c, &ct[i]), PB_QS_ONE);
    }
    struct pb_contact_value v = {0};
    pb_strlcpy(v.account_id, a, sizeof(v.account_id));
    pb_strlcpy(v.field_key, "zip", sizeof(v.field_key));
    for (int i = 0; i < 3; i++) {
        pb_strlcpy(v.contact_id, ct[i].id, sizeof(v.contact_id));
        snprintf(v.value_text, sizeof(v.value_text), "100%d", i);
        assert_int_equal(ops->value_put(c, &v), PB_QS_ONE);
    }
    pb_strlcpy(v.contact_id, ct[0].id, sizeof(v.contact_id));
    pb_strlcpy(v.value_text, "9999", sizeof(v.value_text));
    assert_int_equal(ops->value_put(c, &v), PB_QS_ONE); /* replaced */
    pb_strlcpy(v.field_key, "birthday", sizeof(v.field_key));
    pb_storetest_fill(v.value_sealed, 60, 9);
    v.value_sealed_len = 60;
    assert_int_equal(ops->value_put(c, &v), PB_QS_ONE);
    /* Another account cannot write to a's contact. */
    struct pb_contact_value fv = v;
    pb_strlcpy(fv.account_id, b, sizeof(fv.account_id));
    assert_int_equal(ops->value_put(c, &fv), PB_QS_NONE);

    struct values vals = {0};
    assert_int_equal(ops->value_list(c, a, ct[0].id, collect_value, &vals), PB_QS_N);
    assert_int_equal(vals.page.count, 2);
    assert_string_equal(vals.page.ids[0], "birthday");
    assert_string_equal(vals.page.ids[1], "zip");
    assert_string_equal(vals.last.value_text, "9999");
    assert_int_equal(vals.last.value_sealed_len, 0);
    memset(&vals, 0, sizeof(vals));
    assert_int_equal(ops->value_list(c, a, ct[0].id, collect_value, &vals), PB_QS_N);
    memset(&vals, 0, sizeof(vals));
    assert_int_equal(ops->value_list(c, b, ct[0].id, collect_value, &vals), PB_QS_NONE);

    /* The sealed value reads back sealed, with no text. */
    memset(&page, 0, sizeof(page));
    assert_int_equal(ops->value_list_field(c, a, "birthday", "", 10, collect_value_contact, &page),
                     PB_QS_ONE);
    memset(&vals, 0, sizeof(vals));
    assert_int_equal(ops->value_list(c, a, ct[0].id, collect_value, &vals), PB_QS_N);

    /* By field, in contact id order, by pages. */
    char sorted[3][PB_ID_LEN + 1];
    for (int i = 0; i < 3; i++)
        memcpy(sorted[i], ct[i].id, sizeof(sorted[i]));
    qsort(sorted, 3, sizeof(sorted[0]), pb_storetest_cmp_ids);
    memset(&page, 0, sizeof(page));
    assert_int_equal(ops->value_list_field(c, a, "zip", "", 2, collect_value_contact, &page),
                     PB_QS_N);
    assert_int_equal(page.count, 2);
    assert_string_equal(page.ids[0], sorted[0]);
    assert_string_equal(page.ids[1], sorted[1]);
    memset(&page, 0, sizeof(page));
    assert_int_equal(ops->value_list_field(c, a, "zip", sorted[1], 2, collect_value_contact, &page),
                     PB_QS_ONE);
    assert_string_equal(page.ids[0], sorted[2]);
    memset(&page, 0, sizeof(page));
    assert_int_equal(ops->value_list_field(c, b, "zip", "", 10, collect_value_contact, &page),
                     PB_QS_NONE);

    assert_int_equal(ops->value_delete(c, b, ct[1].id, "zip"), PB_QS_NONE);
    assert_int_equal(ops->value_delete(c, a, ct[1].id, "zip"), PB_QS_ONE);
    assert_int_equal(ops->value_delete(c, a, ct[1].id, "zip"), PB_QS_NONE);

    /* Deleting a field takes its values with it, and only in its account. */
    assert_int_equal(ops->field_delete(c, b, "birthday"), PB_QS_NONE);
    assert_int_equal(ops->field_delete(c, a, "zip"), PB_QS_ONE);
    assert_int_equal(ops->field_get(c, a, "zip", &got), PB_QS_NONE);
    assert_int_equal(ops->field_get(c, b, "zip", &got), PB_QS_ONE);
    memset(&page, 0, sizeof(page));
    assert_int_equal(ops->value_list_field(c, a, "zip", "", 10, collect_value_contact, &page),
                     PB_QS_NONE);
    memset(&vals, 0, sizeof(vals));
    assert_int_equal(ops->value_list(c, a, ct[0].id, collect_value, &vals), PB_QS_ONE);
    assert_string_equal(vals.last.field_key, "birthday");
    assert_int_equal(vals.last.value_sealed_len, 60);
    unsigned char want[60];
    pb_storetest_fill(want, sizeof(want), 9);
    assert_memory_equal(vals.last.value_sealed, want, sizeof(want));
    assert_string_equal(vals.last.value_text, "");
    return PB_QS_ONE;
}

static void
tenant_fields_and_values(void **state)
{
    pb_storetest_tenants_write(*state, fields_body);
}

static enum pb_qs
lists_contacts_body(struct pb_tx *tx, void *cls)
{
    const struct pb_storetest_tenants *t = cls;
    const struct pb_store_ops *ops = tx->ops;
    struct pb_conn *c = tx->conn;
    const char *a = t->a.id, *b = t->b.id;
    struct pb_storetest_page page = {0};

    /* Lists. */
    struct pb_list l1, l2, got;
    pb_storetest_make_list(&l1, a, "News");
    pb_storetest_make_list(&l2, a, "Offers");
    assert_int_equal(ops->list_insert(c, &l1), PB_QS_ONE);
    assert_int_equal(ops->list_insert(c, &l2), PB_QS_ONE);
    assert_int_equal(ops->list_get(c, a, l1.id, &got), PB_QS_ONE);
    assert_string_equal(got.name, "News");
    assert_string_equal(got.description, "about it");
    assert_true(got.is_public);
    assert_int_equal(got.member_count, 0);
    assert_int_equal(got.created_at, 3000);
    assert_int_equal(ops->list_get(c, b, l1.id, &got), PB_QS_NONE);
    assert_int_equal(ops->list_list(c, a, "", 1, collect_list, &page), PB_QS_ONE);
    assert_int_equal(ops->list_list(c, a, page.ids[0], 5, collect_list, &page), PB_QS_ONE);
    assert_int_equal(page.count, 2);
    assert_true(strcmp(page.ids[0], page.ids[1]) < 0);
    memset(&page, 0, sizeof(page));
    assert_int_equal(ops->list_list(c, b, "", 5, collect_list, &page), PB_QS_NONE);
    l2.is_public = false;
    pb_strlcpy(l2.name, "Private offers", sizeof(l2.name));
    struct pb_list foreign = l2;
    pb_strlcpy(foreign.account_id, b, sizeof(foreign.account_id));
    assert_int_equal(ops->list_update(c, &foreign), PB_QS_NONE);
    assert_int_equal(ops->list_update(c, &l2), PB_QS_ONE);
    assert_int_equal(ops->list_get(c, a, l2.id, &got), PB_QS_ONE);
    assert_string_equal(got.name, "Private offers");
    assert_false(got.is_public);

    /* Contacts: a blind index is unique per account, not across accounts. */
    struct pb_contact ct[4], cg;
    for (int i = 0; i < 4; i++) {
        pb_storetest_make_contact(&ct[i], a, (unsigned)i + 10);
        assert_int_equal(ops->contact_insert(c, &ct[i]), PB_QS_ONE);
    }
    struct pb_contact dup;
    pb_storetest_make_contact(&dup, a, 10); /* the bidx of ct[0] */
    assert_int_equal(ops->contact_insert(c, &dup), PB_QS_NONE);
    assert_int_equal(ops->contact_get(c, a, dup.id, &cg), PB_QS_NONE);
    pb_strlcpy(dup.account_id, b, sizeof(dup.account_id));
    assert_int_equal(ops->contact_insert(c, &dup), PB_QS_ONE);

    assert_int_equal(ops->contact_get(c, a, ct[0].id, &cg), PB_QS_ONE);
    assert_string_equal(cg.account_id, a);
    assert_int_equal(cg.email_sealed_len, 80);
    assert_memory_equal(cg.email_sealed, ct[0].email_sealed, 80);
    assert_int_equal(cg.email_bidx_len, PB_BIDX_MAX);
    assert_string_equal(cg.status, "active");
    assert_string_equal(cg.pseudonym, "");
    assert_int_equal(cg.created_at, ct[0].created_at);
    assert_int_equal(ops->contact_get(c, b, ct[0].id, &cg), PB_QS_NONE);
    assert_int_equal(ops->contact_get_by_bidx(c, a, ct[1].email_bidx, ct[1].email_bidx_len, &cg),
                     PB_QS_ONE);
    assert_string_equal(cg.id, ct[1].id);
    assert_int_equal(ops->contact_get_by_bidx(c, b, ct[1].email_bidx, ct[1].email_bidx_len, &cg),
                     PB_QS_NONE);

    /* Erasure-style update: no address, no index, a pseudonym. */
    struct pb_contact er = ct[3];
    er.email_sealed_len = 0;
    er.email_bidx_len = 0;
    pb_strlcpy(er.status, "erased", sizeof(er.status));
    pb_strlcpy(er.pseudonym, "erased-7f3a", sizeof(er.pseudonym));
    er.updated_at = 9000;
    struct pb_contact fer = er;
    pb_strlcpy(fer.account_id, b, sizeof(fer.account_id));
    assert_int_equal(ops->contact_update(c, &fer), PB_QS_NONE);
    assert_int_equal(ops->contact_update(c, &er), PB_QS_ONE);
    assert_int_equal(ops->contact_get(c, a, er.id, &cg), PB_QS_ONE);
    assert_int_equal(cg.email_sealed_len, 0);
    assert_int_equal(cg.email_bidx_len, 0);
    assert_string_equal(cg.status, "erased");
    assert_string_equal(cg.pseudonym, "erased-7f3a");
    assert_int_equal(cg.updated_at, 9000);
    assert_int_equal(ops->contact_get_by_bidx(c, a, ct[3].email_bidx, ct[3].email_bidx_len, &cg),
                     PB_QS_NONE);

    /* All contacts of a by pages; none of b's. */
    memset(&page, 0, sizeof(page));
    assert_int_equal(ops->contact_list(c, a, NULL, "", 3, collect_contact, &page), PB_QS_N);
    assert_int_equal(ops->contact_list(c, a, "", page.ids[2], 3, collect_contact, &page),
                     PB_QS_ONE);
    assert_int_equal(page.count, 4);
    for (int i = 0; i < 3; i++)
        assert_true(strcmp(page.ids[i], page.ids[i + 1]) < 0);

    /* Memberships keep member_count exact. */
    const char *L = l1.id;
    assert_int_equal(ops->membership_put(c, a, L, ct[0].id, "subscribed", "", 10), PB_QS_ONE);
    assert_int_equal(ops->membership_put(c, a, L, ct[1].id, "subscribed", NULL, 11), PB_QS_ONE);
    assert_int_equal(ops->membership_put(c, a, L, ct[2].id, "unsubscribed", "", 12), PB_QS_ONE);
    assert_int_equal(ops->membership_put(c, a, L, ct[0].id, "subscribed", "", 13), PB_QS_NONE);
    assert_int_equal(ops->list_get(c, a, L, &got), PB_QS_ONE);
    assert_int_equal(got.member_count, 2);
    assert_int_equal(ops->membership_put(c, a, L, ct[1].id, "unsubscribed", "", 14), PB_QS_ONE);
    assert_int_equal(ops->membership_put(c, a, L, ct[1].id, "unsubscribed", "", 15), PB_QS_NONE);
    assert_int_equal(ops->list_get(c, a, L, &got), PB_QS_ONE);
    assert_int_equal(got.member_count, 1);
    assert_int_equal(ops->membership_put(c, a, L, ct[1].id, "subscribed", "", 16), PB_QS_ONE);
    assert_int_equal(ops->membership_put(c, a, L, ct[2].id, "subscribed", "", 17), PB_QS_ONE);
    assert_int_equal(ops->list_get(c, a, L, &got), PB_QS_ONE);
    assert_int_equal(got.member_count, 3);
    /* Another account's list or contact: nothing written. */
    assert_int_equal(ops->membership_put(c, b, L, ct[3].id, "subscribed", "", 18), PB_QS_NONE);
    assert_int_equal(ops->membership_put(c, a, L, dup.id, "subscribed", "", 18), PB_QS_NONE);
    assert_int_equal(ops->list_get(c, a, L, &got), PB_QS_ONE);
    assert_int_equal(got.member_count, 3);
    assert_int_equal(ops->membership_put(c, a, l2.id, ct[0].id, "unsubscribed", "", 19), PB_QS_ONE);
    assert_int_equal(ops->list_get(c, a, l2.id, &got), PB_QS_ONE);
    assert_int_equal(got.member_count, 0);

    memset(&page, 0, sizeof(page));
    assert_int_equal(ops->membership_list_for_contact(c, a, ct[0].id, collect_membership, &page),
                     PB_QS_N);
    assert_int_equal(page.count, 2);
    memset(&page, 0, sizeof(page));
    assert_int_equal(ops->membership_list_for_contact(c, b, ct[0].id, collect_membership, &page),
                     PB_QS_NONE);

    /* Contacts of a list: subscribed only, keyset on contact id. */
    assert_int_equal(ops->membership_put(c, a, L, ct[1].id, "unsubscribed", "", 20), PB_QS_ONE);
    memset(&page, 0, sizeof(page));
    assert_int_equal(ops->contact_list(c, a, L, "", 1, collect_contact, &page), PB_QS_ONE);
    assert_int_equal(ops->contact_list(c, a, L, page.ids[0], 5, collect_contact, &page), PB_QS_ONE);
    assert_int_equal(page.count, 2);
    char want[2][PB_ID_LEN + 1];
    memcpy(want[0], ct[0].id, sizeof(want[0]));
    memcpy(want[1], ct[2].id, sizeof(want[1]));
    qsort(want, 2, sizeof(want[0]), pb_storetest_cmp_ids);
    assert_string_equal(page.ids[0], want[0]);
    assert_string_equal(page.ids[1], want[1]);
    memset(&page, 0, sizeof(page));
    assert_int_equal(ops->contact_list(c, b, L, "", 5, collect_contact, &page), PB_QS_NONE);

    /* Deleting a list takes its memberships; another account cannot. */
    assert_int_equal(ops->list_delete(c, b, L), PB_QS_NONE);
    assert_int_equal(ops->list_delete(c, a, L), PB_QS_ONE);
    assert_int_equal(ops->list_get(c, a, L, &got), PB_QS_NONE);
    memset(&page, 0, sizeof(page));
    assert_int_equal(ops->membership_list_for_contact(c, a, ct[0].id, collect_membership, &page),
                     PB_QS_ONE);
    return PB_QS_ONE;
}

static void
tenant_lists_contacts_and_memberships(void **state)
{
    pb_storetest_tenants_write(*state, lists_contacts_body);
}

static void
make_evidence(struct pb_evidence *e, const char *account_id, unsigned seed)
{
    memset(e, 0, sizeof(*e));
    pb_id_new(e->id);
    pb_strlcpy(e->account_id, account_id, sizeof(e->account_id));
    pb_storetest_fill(e->sha256, sizeof(e->sha256), seed);
    pb_strlcpy(e->type, "image/png", sizeof(e->type));
    e->size = 1234;
    e->created_at = 4000;
}

static enum pb_qs
evidence_body(struct pb_tx *tx, void *cls)
{
    const struct pb_storetest_tenants *t = cls;
    const struct pb_store_ops *ops = tx->ops;
    struct pb_conn *c = tx->conn;
    const char *a = t->a.id, *b = t->b.id;
    static unsigned char big[300000];
    pb_storetest_fill(big, sizeof(big), 3);

    struct pb_evidence e1, e2, eb, got;
    make_evidence(&e1, a, 1);
    make_evidence(&e2, a, 2);
    make_evidence(&eb, b, 3);
    assert_int_equal(ops->evidence_insert(c, &e1, big, sizeof(big)), PB_QS_ONE);
    assert_int_equal(ops->evidence_insert(c, &e2, big, 10), PB_QS_ONE);
    assert_int_equal(ops->evidence_insert(c, &eb, big, 10), PB_QS_ONE);
    /* The same file again in the account: NONE, and no second row. */
    struct pb_evidence again;
    make_evidence(&again, a, 1);
    assert_int_equal(ops->evidence_insert(c, &again, big, 10), PB_QS_NONE);
    assert_int_equal(ops->evidence_get(c, a, again.id, &got, NULL, NULL), PB_QS_NONE);

    unsigned char *sealed = NULL;
    size_t sealed_len = 0;
    assert_int_equal(ops->evidence_get(c, a, e1.id, &got, &sealed, &sealed_len), PB_QS_ONE);
    assert_non_null(sealed);
    assert_int_equal(sealed_len, sizeof(big));
    assert_memory_equal(sealed, big, sizeof(big));
    free(sealed);
    assert_string_equal(got.type, "image/png");
    assert_int_equal(got.size, 1234);
    assert_int_equal(got.created_at, 4000);
    assert_memory_equal(got.sha256, e1.sha256, PB_SHA256_BYTES);
    assert_int_equal(ops->evidence_get(c, b, e1.id, &got, &sealed, &sealed_len), PB_QS_NONE);
    assert_null(sealed);
    assert_int_equal(ops->evidence_get_by_sha(c, a, e2.sha256, &got), PB_QS_ONE);
    assert_string_equal(got.id, e2.id);
    assert_int_equal(ops->evidence_get_by_sha(c, b, e2.sha256, &got), PB_QS_NONE);

    /* A statement naming another account's evidence: NONE, and no statement. */
    struct pb_consent_statement st = {0}, sg;
    pb_id_new(st.id);
    pb_strlcpy(st.account_id, a, sizeof(st.account_id));
    pb_strlcpy(st.basis, "consent", sizeof(st.basis));
    pb_strlcpy(st.description, "signed up at the fair", sizeof(st.description));
    pb_strlcpy(st.created_by, "user:1", sizeof(st.created_by));
    st.created_at = 5000;
    pb_strlcpy(st.evidence_ids[0], e1.id, sizeof(st.evidence_ids[0]));
    pb_strlcpy(st.evidence_ids[1], eb.id, sizeof(st.evidence_ids[1]));
    st.evidence_count = 2;
    assert_int_equal(ops->statement_insert(c, &st), PB_QS_NONE);
    assert_int_equal(ops->statement_get(c, a, st.id, &sg), PB_QS_NONE);

    pb_strlcpy(st.evidence_ids[1], e2.id, sizeof(st.evidence_ids[1]));
    assert_int_equal(ops->statement_insert(c, &st), PB_QS_ONE);
    assert_int_equal(ops->statement_get(c, a, st.id, &sg), PB_QS_ONE);
    assert_string_equal(sg.basis, "consent");
    assert_string_equal(sg.description, "signed up at the fair");
    assert_string_equal(sg.created_by, "user:1");
    assert_int_equal(sg.created_at, 5000);
    assert_int_equal(sg.evidence_count, 2);
    bool first = strcmp(e1.id, e2.id) < 0;
    assert_string_equal(sg.evidence_ids[0], first ? e1.id : e2.id);
    assert_string_equal(sg.evidence_ids[1], first ? e2.id : e1.id);
    assert_int_equal(ops->statement_get(c, b, st.id, &sg), PB_QS_NONE);

    /* Without evidence. */
    struct pb_consent_statement plain = st;
    pb_id_new(plain.id);
    pb_strlcpy(plain.basis, "legitimate_interests", sizeof(plain.basis));
    plain.evidence_count = 0;
    assert_int_equal(ops->statement_insert(c, &plain), PB_QS_ONE);
    assert_int_equal(ops->statement_get(c, a, plain.id, &sg), PB_QS_ONE);
    assert_int_equal(sg.evidence_count, 0);
    assert_string_equal(sg.basis, "legitimate_interests");
    return PB_QS_ONE;
}

static void
tenant_evidence_and_statements(void **state)
{
    pb_storetest_tenants_write(*state, evidence_body);
}

/* Events seen by a list or scan. */
struct events {
    struct pb_consent_event items[8];
    struct pb_consent_personal personal[8];
    bool has_personal[8];
    int count;
};

static void
collect_event(void *cls, const struct pb_consent_event *ev, const struct pb_consent_personal *p)
{
    struct events *e = cls;
    assert_true(e->count < 8);
    e->items[e->count] = *ev;
    e->has_personal[e->count] = p != NULL;
    if (p != NULL)
        e->personal[e->count] = *p;
    e->count++;
}

static void
make_event(struct pb_consent_event *ev, const char *account_id, int64_t seq, const char *contact_id)
{
    memset(ev, 0, sizeof(*ev));
    pb_strlcpy(ev->account_id, account_id, sizeof(ev->account_id));
    ev->seq = seq;
    pb_id_new(ev->id);
    pb_strlcpy(ev->type, "subscribed", sizeof(ev->type));
    pb_strlcpy(ev->contact_id, contact_id, sizeof(ev->contact_id));
    pb_strlcpy(ev->channel, "form", sizeof(ev->channel));
    pb_strlcpy(ev->actor, "form", sizeof(ev->actor));
    ev->at = 6000 + seq;
    pb_storetest_fill(ev->prev_hash, sizeof(ev->prev_hash), (unsigned)seq + 100);
    pb_storetest_fill(ev->hash, sizeof(ev->hash), (unsigned)seq + 101);
}

struct log_case {
    const struct pb_storetest_tenants *t;
    char contact[2][PB_ID_LEN + 1];
    struct pb_consent_event dup;
    enum pb_qs dup_qs;
};

static enum pb_qs
log_body(struct pb_tx *tx, void *cls)
{
    struct log_case *lc = cls;
    const struct pb_store_ops *ops = tx->ops;
    struct pb_conn *c = tx->conn;
    const char *a = lc->t->a.id, *b = lc->t->b.id;
    int64_t seq = -1;
    unsigned char hash[PB_EVENT_HASH_BYTES];

    assert_int_equal(ops->event_last(c, a, &seq, hash), PB_QS_NONE);
    assert_int_equal(ops->event_head(c, a, &seq, hash), PB_QS_NONE);
    struct pb_consent_event ev[4];
    struct pb_consent_personal pers = {0};
    pb_strlcpy(pers.client_ip, "192.0.2.7", sizeof(pers.client_ip));
    pb_strlcpy(pers.user_agent, "Mozilla/5.0", sizeof(pers.user_agent));
    pb_strlcpy(pers.note, "a note", sizeof(pers.note));
    for (int i = 0; i < 4; i++) {
        make_event(&ev[i], a, i + 1, lc->contact[i % 2]);
        if (i == 1)
            pb_strlcpy(ev[i].list_id, "01ARZ3NDEKTSV4RRFFQ69G5FAV", sizeof(ev[i].list_id));
        assert_int_equal(ops->event_append(c, &ev[i], i == 3 ? NULL : &pers), PB_QS_ONE);
    }
    assert_int_equal(ops->event_last(c, a, &seq, hash), PB_QS_ONE);
    assert_int_equal(seq, 4);
    assert_memory_equal(hash, ev[3].hash, sizeof(hash));
    assert_int_equal(ops->event_last(c, b, &seq, hash), PB_QS_NONE);
    /* The head, kept apart, follows every append. */
    assert_int_equal(ops->event_head(c, a, &seq, hash), PB_QS_ONE);
    assert_int_equal(seq, 4);
    assert_memory_equal(hash, ev[3].hash, sizeof(hash));
    assert_int_equal(ops->event_head(c, b, &seq, hash), PB_QS_NONE);

    /* A seq that exists: SOFT, nothing written. */
    make_event(&lc->dup, a, 2, lc->contact[0]);
    lc->dup_qs = ops->event_append(c, &lc->dup, &pers);
    assert_int_equal(lc->dup_qs, PB_QS_SOFT_ERROR);

    struct events got = {0};
    assert_int_equal(ops->event_scan(c, a, 0, 3, collect_event, &got), PB_QS_N);
    assert_int_equal(got.count, 3);
    for (int i = 0; i < 3; i++) {
        assert_int_equal(got.items[i].seq, i + 1);
        assert_string_equal(got.items[i].id, ev[i].id);
        assert_false(got.has_personal[i]);
    }
    assert_memory_equal(got.items[0].prev_hash, ev[0].prev_hash, PB_EVENT_HASH_BYTES);
    assert_memory_equal(got.items[2].hash, ev[2].hash, PB_EVENT_HASH_BYTES);
    assert_string_equal(got.items[1].list_id, ev[1].list_id);
    assert_string_equal(got.items[0].list_id, "");
    assert_string_equal(got.items[0].statement_id, "");
    assert_string_equal(got.items[0].channel, "form");
    assert_int_equal(got.items[0].at, 6001);
    memset(&got, 0, sizeof(got));
    assert_int_equal(ops->event_scan(c, a, 3, 3, collect_event, &got), PB_QS_ONE);
    assert_int_equal(got.items[0].seq, 4);
    memset(&got, 0, sizeof(got));
    assert_int_equal(ops->event_scan(c, b, 0, 10, collect_event, &got), PB_QS_NONE);

    /* A contact's history, with its personal parts. */
    memset(&got, 0, sizeof(got));
    assert_int_equal(ops->event_list_for_contact(c, a, lc->contact[1], collect_event, &got),
                     PB_QS_N);
    assert_int_equal(got.count, 2);
    assert_int_equal(got.items[0].seq, 2);
    assert_int_equal(got.items[1].seq, 4);
    assert_true(got.has_personal[0]);
    assert_string_equal(got.personal[0].client_ip, "192.0.2.7");
    assert_string_equal(got.personal[0].user_agent, "Mozilla/5.0");
    assert_string_equal(got.personal[0].note, "a note");
    assert_string_equal(got.personal[1].client_ip, ""); /* appended without one */
    memset(&got, 0, sizeof(got));
    assert_int_equal(ops->event_list_for_contact(c, b, lc->contact[1], collect_event, &got),
                     PB_QS_NONE);

    /* Wiping the personal parts keeps the events and their hashes. */
    assert_int_equal(ops->event_wipe_personal(c, b, lc->contact[0]), PB_QS_NONE);
    assert_int_equal(ops->event_wipe_personal(c, a, lc->contact[0]), PB_QS_N);
    memset(&got, 0, sizeof(got));
    assert_int_equal(ops->event_list_for_contact(c, a, lc->contact[0], collect_event, &got),
                     PB_QS_N);
    assert_int_equal(got.count, 2);
    for (int i = 0; i < 2; i++) {
        assert_string_equal(got.personal[i].client_ip, "");
        assert_string_equal(got.personal[i].user_agent, "");
        assert_string_equal(got.personal[i].note, "");
    }
    assert_memory_equal(got.items[0].hash, ev[0].hash, PB_EVENT_HASH_BYTES);
    memset(&got, 0, sizeof(got));
    assert_int_equal(ops->event_list_for_contact(c, a, lc->contact[1], collect_event, &got),
                     PB_QS_N);
    assert_string_equal(got.personal[0].client_ip, "192.0.2.7");
    return PB_QS_ONE;
}

static enum pb_qs
append_dup_tx(struct pb_tx *tx, void *cls)
{
    struct log_case *lc = cls;
    return tx->ops->event_append(tx->conn, &lc->dup, NULL);
}

static void
count_events(void *cls, const struct pb_consent_event *ev, const struct pb_consent_personal *p)
{
    (void)ev;
    (void)p;
    (*(int *)cls)++;
}

static enum pb_qs
scan_all_tx(struct pb_tx *tx, void *cls)
{
    struct log_case *lc = cls;
    int n = 0;
    enum pb_qs qs = tx->ops->event_scan(tx->conn, lc->t->a.id, 0, 100, count_events, &n);
    assert_int_equal(n, 4);
    return qs;
}

static void
tenant_consent_log(void **state)
{
    struct pb_storetest *f = *state;
    struct pb_storetest_tenants t;
    pb_storetest_tenants(f, &t, 1);
    struct log_case lc = {.t = &t};
    pb_id_new(lc.contact[0]);
    pb_id_new(lc.contact[1]);
    pb_storetest_write(f->store, log_body, &lc);
    /* Through the runner, a taken seq is retried and then given up as soft. */
    assert_int_equal(pb_store_tx(f->store, PB_TX_WRITE, append_dup_tx, &lc), PB_ERR_STORE_SOFT);
    assert_int_equal(pb_store_tx(f->store, PB_TX_READ, scan_all_tx, &lc), PB_ERR_OK);
}

/* Brings an empty database to schema version `target` only, as older code did. */
static void
migrate_to_version(struct pb_storetest *f, int target)
{
    const struct pb_store_ops *ops = pb_store_backend(f->url);
    struct pb_conn *conn = NULL;
    char why[PB_WHY_MAX] = "";
    int from = -1, to = -1;
    assert_int_equal(ops->connect(f->url, &conn, why), PB_ERR_OK);
    enum pb_err err = pb_storetest_is_sqlite(f)
                          ? pb_sqlite_migrate_to(conn, target, &from, &to, why)
                          : pb_pg_migrate_to(conn, target, &from, &to, why);
    if (err != PB_ERR_OK)
        fprintf(stderr, "migrate to %d: %s\n", target, why);
    assert_int_equal(err, PB_ERR_OK);
    assert_int_equal(to, target);
    ops->disconnect(conn);
}

static void
migrate_from_version_2_keeps_rows(void **state)
{
    struct pb_storetest *f = *state;
    migrate_to_version(f, 2);
    pb_storetest_raw_exec(f->url,
                          "INSERT INTO accounts (id, name, plan, created_at)"
                          " VALUES ('01ARZ3NDEKTSV4RRFFQ69G5FAV', 'from before', 'standard', 7);"
                          "INSERT INTO users (id, account_id, email, role, created_at)"
                          " VALUES ('01ARZ3NDEKTSV4RRFFQ69G5FAW', '01ARZ3NDEKTSV4RRFFQ69G5FAV',"
                          " 'old@example.org', 'owner', 8)");
    pb_storetest_open(f, 1);
    assert_int_equal(schema_version(f->store), 2);
    char why[PB_WHY_MAX] = "";
    int from = -1, to = -1;
    assert_int_equal(pb_store_migrate(f->store, &from, &to, why), PB_ERR_OK);
    assert_int_equal(from, 2);
    assert_int_equal(to, PB_STORETEST_LATEST_VERSION);

    struct pb_user u;
    assert_int_equal(OP(f->store, .kind = OP_USER_GET_BY_EMAIL, .a = "old@example.org", .out = &u),
                     PB_QS_ONE);
    assert_string_equal(u.id, "01ARZ3NDEKTSV4RRFFQ69G5FAW");
    assert_int_equal(u.created_at, 8);

    /* The new tables work for the old account. */
    struct pb_storetest_tenants t;
    struct account_get g = {.id = "01ARZ3NDEKTSV4RRFFQ69G5FAV"};
    assert_int_equal(pb_store_tx(f->store, PB_TX_READ, account_get_tx, &g), PB_ERR_OK);
    assert_int_equal(g.qs, PB_QS_ONE);
    t.a = g.out;
    pb_storetest_insert_account(f->store, &t.b, "new");
    pb_storetest_write(f->store, fields_body, &t);
}

/* ---- issue 5: jobs under a lease ---- */

enum job_op_kind { JOB_INSERT, JOB_GET, JOB_CLAIM, JOB_CHECKPOINT, JOB_FINISH, JOB_CLAIM_ID };

struct job_op {
    enum job_op_kind kind;
    struct pb_job *job; /* in for insert, out for get and claim */
    const char *account_id, *id, *owner, *kinds, *cursor, *state, *result, *error;
    int64_t now, lease_until, done, total;
    enum pb_qs qs;
};

static enum pb_qs
job_op_tx(struct pb_tx *tx, void *cls)
{
    struct job_op *o = cls;
    const struct pb_store_ops *ops = tx->ops;
    switch (o->kind) {
    case JOB_INSERT:
        o->qs = ops->job_insert(tx->conn, o->job);
        break;
    case JOB_GET:
        o->qs = ops->job_get(tx->conn, o->account_id, o->id, o->job);
        break;
    case JOB_CLAIM:
        o->qs = ops->job_claim(tx->conn, o->now, o->owner, o->lease_until, o->kinds, o->job);
        break;
    case JOB_CHECKPOINT:
        o->qs = ops->job_checkpoint(tx->conn, o->now, o->id, o->owner, o->cursor, o->done, o->total,
                                    o->lease_until);
        break;
    case JOB_FINISH:
        o->qs = ops->job_finish(tx->conn, o->now, o->id, o->owner, o->state, o->result, o->error);
        break;
    case JOB_CLAIM_ID:
        o->qs = ops->job_claim_id(tx->conn, o->now, o->account_id, o->id, o->owner, o->lease_until,
                                  o->job);
        break;
    }
    return o->qs;
}

static enum pb_qs
job_op(struct pb_store *store, struct job_op o)
{
    assert_int_equal(pb_store_tx(store, PB_TX_WRITE, job_op_tx, &o), PB_ERR_OK);
    return o.qs;
}
#define JOB(store, ...) job_op((store), (struct job_op){__VA_ARGS__})

static void
make_job(struct pb_job *j, const char *account_id, const char *kind, int64_t created_at)
{
    memset(j, 0, sizeof(*j));
    pb_id_new(j->id);
    pb_strlcpy(j->account_id, account_id, sizeof(j->account_id));
    pb_strlcpy(j->kind, kind, sizeof(j->kind));
    pb_strlcpy(j->params, "{\"list\":\"x\"}", sizeof(j->params));
    pb_strlcpy(j->state, "queued", sizeof(j->state));
    j->created_at = j->updated_at = created_at;
}

static void
jobs_insert_and_get(void **state)
{
    struct pb_storetest *f = *state;
    pb_storetest_open_migrated(f, 1);
    struct pb_account a, b;
    pb_storetest_insert_account(f->store, &a, "a");
    pb_storetest_insert_account(f->store, &b, "b");
    static struct pb_job j, got;
    make_job(&j, a.id, "import", 10);
    assert_int_equal(JOB(f->store, .kind = JOB_INSERT, .job = &j), PB_QS_ONE);
    assert_int_equal(JOB(f->store, .kind = JOB_GET, .account_id = a.id, .id = j.id, .job = &got),
                     PB_QS_ONE);
    assert_string_equal(got.id, j.id);
    assert_string_equal(got.account_id, a.id);
    assert_string_equal(got.kind, "import");
    assert_string_equal(got.params, "{\"list\":\"x\"}");
    assert_string_equal(got.state, "queued");
    assert_string_equal(got.cursor, "");
    assert_string_equal(got.result, "");
    assert_string_equal(got.error, "");
    assert_string_equal(got.lease_owner, "");
    assert_int_equal(got.progress_done, 0);
    assert_int_equal(got.created_at, 10);
    assert_int_equal(got.updated_at, 10);
    /* Another account's id answers nothing. */
    assert_int_equal(JOB(f->store, .kind = JOB_GET, .account_id = b.id, .id = j.id, .job = &got),
                     PB_QS_NONE);
}

static void
jobs_claim_lease_checkpoint_and_finish(void **state)
{
    struct pb_storetest *f = *state;
    pb_storetest_open_migrated(f, 1);
    struct pb_account a;
    pb_storetest_insert_account(f->store, &a, "a");
    static struct pb_job j1, j2, got;
    make_job(&j1, a.id, "import", 10);
    make_job(&j2, a.id, "export", 20);
    assert_int_equal(JOB(f->store, .kind = JOB_INSERT, .job = &j1), PB_QS_ONE);
    assert_int_equal(JOB(f->store, .kind = JOB_INSERT, .job = &j2), PB_QS_ONE);

    /* Kinds filter: only export is wanted. */
    assert_int_equal(JOB(f->store, .kind = JOB_CLAIM, .now = 100, .owner = "n1#0",
                         .lease_until = 160, .kinds = "reseal,export", .job = &got),
                     PB_QS_ONE);
    assert_string_equal(got.id, j2.id);
    assert_string_equal(got.state, "running");
    assert_string_equal(got.lease_owner, "n1#0");
    assert_int_equal(got.lease_until, 160);
    /* The oldest job first; then, at the same time, nothing is left. */
    assert_int_equal(JOB(f->store, .kind = JOB_CLAIM, .now = 100, .owner = "n1#0",
                         .lease_until = 160, .job = &got),
                     PB_QS_ONE);
    assert_string_equal(got.id, j1.id);
    assert_int_equal(JOB(f->store, .kind = JOB_CLAIM, .now = 100, .owner = "n2#0",
                         .lease_until = 160, .job = &got),
                     PB_QS_NONE);
    assert_int_equal(JOB(f->store, .kind = JOB_CLAIM, .now = 159, .owner = "n2#0",
                         .lease_until = 219, .job = &got),
                     PB_QS_NONE);

    /* The owner checkpoints and renews the lease; nobody else can. */
    assert_int_equal(JOB(f->store, .kind = JOB_CHECKPOINT, .now = 120, .id = j1.id, .owner = "n1#0",
                         .cursor = "c-50", .done = 50, .total = 200, .lease_until = 180),
                     PB_QS_ONE);
    assert_int_equal(JOB(f->store, .kind = JOB_CHECKPOINT, .now = 120, .id = j1.id, .owner = "n2#0",
                         .cursor = "c-99", .done = 99, .total = 200, .lease_until = 999),
                     PB_QS_NONE);
    assert_int_equal(JOB(f->store, .kind = JOB_GET, .account_id = a.id, .id = j1.id, .job = &got),
                     PB_QS_ONE);
    assert_string_equal(got.cursor, "c-50");
    assert_int_equal(got.progress_done, 50);
    assert_int_equal(got.progress_total, 200);
    assert_int_equal(got.lease_until, 180);
    assert_int_equal(got.updated_at, 120);

    /* j2's lease (160) ran out: another node takes it over, the old owner is locked out. */
    assert_int_equal(JOB(f->store, .kind = JOB_CLAIM, .now = 170, .owner = "n2#0",
                         .lease_until = 230, .job = &got),
                     PB_QS_ONE);
    assert_string_equal(got.id, j2.id);
    assert_string_equal(got.lease_owner, "n2#0");
    assert_int_equal(JOB(f->store, .kind = JOB_CHECKPOINT, .now = 171, .id = j2.id, .owner = "n1#0",
                         .done = 1, .lease_until = 231),
                     PB_QS_NONE);
    assert_int_equal(JOB(f->store, .kind = JOB_FINISH, .now = 171, .id = j2.id, .owner = "n1#0",
                         .state = "done", .result = "{}"),
                     PB_QS_NONE);

    /* The owner finishes: state, result and error are kept, the lease is gone. */
    assert_int_equal(JOB(f->store, .kind = JOB_FINISH, .now = 175, .id = j2.id, .owner = "n2#0",
                         .state = "failed", .result = "{\"rows\":3}", .error = "bad file"),
                     PB_QS_ONE);
    assert_int_equal(JOB(f->store, .kind = JOB_FINISH, .now = 176, .id = j1.id, .owner = "n1#0",
                         .state = "done", .result = "{\"rows\":200}"),
                     PB_QS_ONE);
    assert_int_equal(JOB(f->store, .kind = JOB_GET, .account_id = a.id, .id = j2.id, .job = &got),
                     PB_QS_ONE);
    assert_string_equal(got.state, "failed");
    assert_string_equal(got.result, "{\"rows\":3}");
    assert_string_equal(got.error, "bad file");
    assert_string_equal(got.lease_owner, "");
    assert_int_equal(JOB(f->store, .kind = JOB_GET, .account_id = a.id, .id = j1.id, .job = &got),
                     PB_QS_ONE);
    assert_string_equal(got.state, "done");
    assert_string_equal(got.result, "{\"rows\":200}");
    assert_string_equal(got.error, "");
    assert_int_equal(got.updated_at, 176);
    /* Finished jobs are never claimed again, nor checkpointed. */
    assert_int_equal(JOB(f->store, .kind = JOB_CLAIM, .now = 99999, .owner = "n3#0",
                         .lease_until = 99999 + 60, .job = &got),
                     PB_QS_NONE);
    assert_int_equal(JOB(f->store, .kind = JOB_CHECKPOINT, .now = 177, .id = j1.id, .owner = "n1#0",
                         .done = 1, .lease_until = 237),
                     PB_QS_NONE);
}

struct nested_job_claim {
    struct pb_store *other;
    struct pb_job outer, inner;
    enum pb_qs outer_qs, inner_qs;
};

/* Claims one job and, while holding it, lets another node claim what it can. */
static enum pb_qs
nested_job_claim_tx(struct pb_tx *tx, void *cls)
{
    struct nested_job_claim *n = cls;
    n->outer_qs = tx->ops->job_claim(tx->conn, 100, "n1#0", 160, NULL, &n->outer);
    if (n->outer_qs < 0)
        return n->outer_qs;
    if (tx->attempt == 0)
        n->inner_qs = JOB(n->other, .kind = JOB_CLAIM, .now = 100, .owner = "n2#0",
                          .lease_until = 160, .job = &n->inner);
    return n->outer_qs;
}

static void
concurrent_job_claims_skip_each_others_jobs(void **state)
{
    struct pb_storetest *f = *state;
    pb_storetest_open_migrated(f, 1);
    struct pb_account a;
    pb_storetest_insert_account(f->store, &a, "a");
    static struct pb_job j1, j2;
    make_job(&j1, a.id, "import", 10);
    make_job(&j2, a.id, "import", 20);
    assert_int_equal(JOB(f->store, .kind = JOB_INSERT, .job = &j1), PB_QS_ONE);
    assert_int_equal(JOB(f->store, .kind = JOB_INSERT, .job = &j2), PB_QS_ONE);

    static struct nested_job_claim n;
    memset(&n, 0, sizeof(n));
    char why[PB_WHY_MAX];
    assert_int_equal(pb_store_open(f->url, 1, &n.other, why), PB_ERR_OK);
    assert_int_equal(pb_store_tx(f->store, PB_TX_WRITE, nested_job_claim_tx, &n), PB_ERR_OK);
    assert_int_equal(n.outer_qs, PB_QS_ONE);
    assert_string_equal(n.outer.id, j1.id);
    assert_int_equal(n.inner_qs, PB_QS_ONE);
    assert_string_equal(n.inner.id, j2.id);
    pb_store_close(n.other);
}

static void
jobs_claim_by_id(void **state)
{
    struct pb_storetest *f = *state;
    pb_storetest_open_migrated(f, 1);
    struct pb_account a, b;
    pb_storetest_insert_account(f->store, &a, "a");
    pb_storetest_insert_account(f->store, &b, "b");
    static struct pb_job j1, j2, got;
    make_job(&j1, a.id, "import", 10);
    make_job(&j2, a.id, "import", 5); /* older: job_claim would take it first */
    assert_int_equal(JOB(f->store, .kind = JOB_INSERT, .job = &j1), PB_QS_ONE);
    assert_int_equal(JOB(f->store, .kind = JOB_INSERT, .job = &j2), PB_QS_ONE);

    /* Another account's id, or an unknown one, takes nothing. */
    assert_int_equal(JOB(f->store, .kind = JOB_CLAIM_ID, .now = 100, .account_id = b.id,
                         .id = j1.id, .owner = "cli#1", .lease_until = 160, .job = &got),
                     PB_QS_NONE);
    char unknown[PB_ID_LEN + 1];
    pb_id_new(unknown);
    assert_int_equal(JOB(f->store, .kind = JOB_CLAIM_ID, .now = 100, .account_id = a.id,
                         .id = unknown, .owner = "cli#1", .lease_until = 160, .job = &got),
                     PB_QS_NONE);
    assert_int_equal(JOB(f->store, .kind = JOB_GET, .account_id = a.id, .id = j1.id, .job = &got),
                     PB_QS_ONE);
    assert_string_equal(got.state, "queued");

    /* Queued: taken, that job and no other. */
    memset(&got, 0, sizeof(got));
    assert_int_equal(JOB(f->store, .kind = JOB_CLAIM_ID, .now = 100, .account_id = a.id,
                         .id = j1.id, .owner = "cli#1", .lease_until = 160, .job = &got),
                     PB_QS_ONE);
    assert_string_equal(got.id, j1.id);
    assert_string_equal(got.account_id, a.id);
    assert_string_equal(got.kind, "import");
    assert_string_equal(got.params, "{\"list\":\"x\"}");
    assert_string_equal(got.state, "running");
    assert_string_equal(got.lease_owner, "cli#1");
    assert_int_equal(got.lease_until, 160);
    assert_int_equal(got.created_at, 10);
    assert_int_equal(JOB(f->store, .kind = JOB_GET, .account_id = a.id, .id = j1.id, .job = &got),
                     PB_QS_ONE);
    assert_string_equal(got.state, "running");
    assert_string_equal(got.lease_owner, "cli#1");
    assert_int_equal(got.lease_until, 160);
    assert_int_equal(got.updated_at, 100);
    assert_int_equal(JOB(f->store, .kind = JOB_GET, .account_id = a.id, .id = j2.id, .job = &got),
                     PB_QS_ONE);
    assert_string_equal(got.state, "queued");

    /* Held by another owner under a live lease: nothing, and the lease stays. */
    assert_int_equal(JOB(f->store, .kind = JOB_CLAIM_ID, .now = 159, .account_id = a.id,
                         .id = j1.id, .owner = "n2#0", .lease_until = 219, .job = &got),
                     PB_QS_NONE);
    assert_int_equal(JOB(f->store, .kind = JOB_GET, .account_id = a.id, .id = j1.id, .job = &got),
                     PB_QS_ONE);
    assert_string_equal(got.lease_owner, "cli#1");
    assert_int_equal(got.lease_until, 160);

    /* The lease ran out (lease_until <= now): taken over, the old owner locked out. */
    memset(&got, 0, sizeof(got));
    assert_int_equal(JOB(f->store, .kind = JOB_CLAIM_ID, .now = 160, .account_id = a.id,
                         .id = j1.id, .owner = "n2#0", .lease_until = 220, .job = &got),
                     PB_QS_ONE);
    assert_string_equal(got.id, j1.id);
    assert_string_equal(got.state, "running");
    assert_string_equal(got.lease_owner, "n2#0");
    assert_int_equal(got.lease_until, 220);
    assert_int_equal(JOB(f->store, .kind = JOB_CHECKPOINT, .now = 161, .id = j1.id,
                         .owner = "cli#1", .done = 1, .lease_until = 221),
                     PB_QS_NONE);
    assert_int_equal(JOB(f->store, .kind = JOB_CLAIM_ID, .now = 161, .account_id = b.id,
                         .id = j1.id, .owner = "n3#0", .lease_until = 999, .job = &got),
                     PB_QS_NONE);

    /* A finished job is never taken again. */
    assert_int_equal(JOB(f->store, .kind = JOB_FINISH, .now = 170, .id = j1.id, .owner = "n2#0",
                         .state = "done", .result = "{}"),
                     PB_QS_ONE);
    assert_int_equal(JOB(f->store, .kind = JOB_CLAIM_ID, .now = 99999, .account_id = a.id,
                         .id = j1.id, .owner = "n3#0", .lease_until = 99999 + 60, .job = &got),
                     PB_QS_NONE);
    assert_int_equal(JOB(f->store, .kind = JOB_GET, .account_id = a.id, .id = j1.id, .job = &got),
                     PB_QS_ONE);
    assert_string_equal(got.state, "done");
}

/* ---- issue 5: the bulk operations of imports, uploads and rejected lines ---- */

static enum pb_qs
find_insert_many_body(struct pb_tx *tx, void *cls)
{
    const struct pb_storetest_tenants *t = cls;
    const struct pb_store_ops *ops = tx->ops;
    struct pb_conn *c = tx->conn;
    const char *a = t->a.id, *b = t->b.id;

    struct pb_contact one, many[3], theirs, stranger, got;
    pb_storetest_make_contact(&one, a, 1);
    assert_int_equal(ops->contact_insert(c, &one), PB_QS_ONE);
    for (int i = 0; i < 3; i++)
        pb_storetest_make_contact(&many[i], a, 2 + (unsigned)i);
    pb_strlcpy(many[2].pseudonym, "p-2", sizeof(many[2].pseudonym));
    assert_int_equal(ops->contact_insert_many(c, many, 3), PB_QS_N);
    assert_int_equal(ops->contact_insert_many(c, many, 0), PB_QS_NONE);
    /* A blind index is unique per account: b may have one a has. */
    pb_storetest_make_contact(&theirs, b, 2);
    assert_int_equal(ops->contact_insert_many(c, &theirs, 1), PB_QS_ONE);
    pb_storetest_make_contact(&stranger, b, 50);
    assert_int_equal(ops->contact_insert(c, &stranger), PB_QS_ONE);

    /* The batch's contacts read back whole, by id and by blind index. */
    for (int i = 0; i < 3; i++) {
        memset(&got, 0, sizeof(got));
        assert_int_equal(ops->contact_get(c, a, many[i].id, &got), PB_QS_ONE);
        assert_string_equal(got.account_id, a);
        assert_int_equal(got.email_sealed_len, many[i].email_sealed_len);
        assert_memory_equal(got.email_sealed, many[i].email_sealed, many[i].email_sealed_len);
        assert_int_equal(got.email_bidx_len, PB_BIDX_MAX);
        assert_memory_equal(got.email_bidx, many[i].email_bidx, PB_BIDX_MAX);
        assert_string_equal(got.status, "active");
        assert_string_equal(got.pseudonym, i == 2 ? "p-2" : "");
        assert_int_equal(got.created_at, many[i].created_at);
        assert_int_equal(got.updated_at, many[i].updated_at);
    }
    assert_int_equal(ops->contact_get(c, b, many[0].id, &got), PB_QS_NONE);
    assert_int_equal(ops->contact_get_by_bidx(c, a, many[1].email_bidx, PB_BIDX_MAX, &got),
                     PB_QS_ONE);
    assert_string_equal(got.id, many[1].id);

    /* find_many: known and unknown in one batch, each answer in its place. */
    unsigned char bidx[5][PB_BIDX_MAX];
    pb_id_text ids[5];
    memcpy(bidx[0], many[2].email_bidx, PB_BIDX_MAX);
    pb_storetest_fill(bidx[1], PB_BIDX_MAX, 99 + 1000); /* nobody's */
    memcpy(bidx[2], one.email_bidx, PB_BIDX_MAX);
    memcpy(bidx[3], many[0].email_bidx, PB_BIDX_MAX);  /* a's many[0], and b's theirs */
    memcpy(bidx[4], stranger.email_bidx, PB_BIDX_MAX); /* b's only */
    const unsigned char(*keys)[PB_BIDX_MAX] = (const unsigned char(*)[PB_BIDX_MAX])bidx;
    memset(ids, 'x', sizeof(ids));
    assert_int_equal(ops->contact_find_many(c, a, keys, 5, ids), PB_QS_N);
    assert_string_equal(ids[0], many[2].id);
    assert_string_equal(ids[1], "");
    assert_string_equal(ids[2], one.id);
    assert_string_equal(ids[3], many[0].id);
    assert_string_equal(ids[4], "");

    /* b finds its own contacts only. */
    memset(ids, 'x', sizeof(ids));
    assert_int_equal(ops->contact_find_many(c, b, keys, 5, ids), PB_QS_N);
    assert_string_equal(ids[0], "");
    assert_string_equal(ids[1], "");
    assert_string_equal(ids[2], "");
    assert_string_equal(ids[3], theirs.id);
    assert_string_equal(ids[4], stranger.id);

    /* Nothing known: NONE, and "" written. */
    memset(ids, 'x', sizeof(ids));
    assert_int_equal(ops->contact_find_many(c, a, keys + 1, 1, ids), PB_QS_NONE);
    assert_string_equal(ids[0], "");
    assert_int_equal(ops->contact_find_many(c, a, keys, 0, ids), PB_QS_NONE);
    return PB_QS_ONE;
}

static void
import_contacts_find_and_insert_many(void **state)
{
    pb_storetest_tenants_write(*state, find_insert_many_body);
}

struct contact_batch {
    struct pb_contact ct[2];
    int n;
};

static enum pb_qs
insert_many_tx(struct pb_tx *tx, void *cls)
{
    struct contact_batch *cb = cls;
    return tx->ops->contact_insert_many(tx->conn, cb->ct, cb->n);
}

struct find_case {
    const char *account_id;
    unsigned char bidx[3][PB_BIDX_MAX];
    pb_id_text ids[3];
};

static enum pb_qs
find_many_tx(struct pb_tx *tx, void *cls)
{
    struct find_case *fc = cls;
    return tx->ops->contact_find_many(tx->conn, fc->account_id,
                                      (const unsigned char(*)[PB_BIDX_MAX])fc->bidx, 3, fc->ids);
}

static void
import_insert_many_duplicate_bidx_is_hard(void **state)
{
    struct pb_storetest *f = *state;
    struct pb_storetest_tenants t;
    pb_storetest_tenants(f, &t, 1);
    static struct contact_batch first, again, twice, other;
    first.n = 1;
    pb_storetest_make_contact(&first.ct[0], t.a.id, 1);
    assert_int_equal(pb_store_tx(f->store, PB_TX_WRITE, insert_many_tx, &first), PB_ERR_OK);

    /* A blind index the account has already: a hard error, the whole batch rolled back. */
    again.n = 2;
    pb_storetest_make_contact(&again.ct[0], t.a.id, 2);
    pb_storetest_make_contact(&again.ct[1], t.a.id, 1);
    assert_int_equal(pb_store_tx(f->store, PB_TX_WRITE, insert_many_tx, &again), PB_ERR_STORE_HARD);
    /* The same blind index twice in one batch: hard too. */
    twice.n = 2;
    pb_storetest_make_contact(&twice.ct[0], t.a.id, 3);
    pb_storetest_make_contact(&twice.ct[1], t.a.id, 3);
    assert_int_equal(pb_store_tx(f->store, PB_TX_WRITE, insert_many_tx, &twice), PB_ERR_STORE_HARD);

    static struct find_case fc;
    fc.account_id = t.a.id;
    memcpy(fc.bidx[0], first.ct[0].email_bidx, PB_BIDX_MAX);
    memcpy(fc.bidx[1], again.ct[0].email_bidx, PB_BIDX_MAX);
    memcpy(fc.bidx[2], twice.ct[0].email_bidx, PB_BIDX_MAX);
    assert_int_equal(pb_store_tx(f->store, PB_TX_READ, find_many_tx, &fc), PB_ERR_OK);
    assert_string_equal(fc.ids[0], first.ct[0].id);
    assert_string_equal(fc.ids[1], "");
    assert_string_equal(fc.ids[2], "");

    /* In another account the same blind index is no conflict. */
    other.n = 1;
    pb_storetest_make_contact(&other.ct[0], t.b.id, 1);
    assert_int_equal(pb_store_tx(f->store, PB_TX_WRITE, insert_many_tx, &other), PB_ERR_OK);
}

/* Values as value_list_many gives them. */
struct value_rows {
    struct {
        char account_id[PB_ID_LEN + 1];
        char contact_id[PB_ID_LEN + 1];
        char key[PB_FIELD_KEY_MAX + 1];
        char text[16];
        unsigned char sealed[64];
        size_t sealed_len;
    } r[16];
    int count;
};

static void
collect_value_row(void *cls, const struct pb_contact_value *v)
{
    struct value_rows *rows = cls;
    assert_true(rows->count < 16);
    assert_true(v->value_sealed_len <= sizeof(rows->r[0].sealed));
    pb_strlcpy(rows->r[rows->count].account_id, v->account_id, sizeof(rows->r[0].account_id));
    pb_strlcpy(rows->r[rows->count].contact_id, v->contact_id, sizeof(rows->r[0].contact_id));
    pb_strlcpy(rows->r[rows->count].key, v->field_key, sizeof(rows->r[0].key));
    pb_strlcpy(rows->r[rows->count].text, v->value_text, sizeof(rows->r[0].text));
    memcpy(rows->r[rows->count].sealed, v->value_sealed, v->value_sealed_len);
    rows->r[rows->count].sealed_len = v->value_sealed_len;
    rows->count++;
}

static enum pb_qs
values_many_body(struct pb_tx *tx, void *cls)
{
    const struct pb_storetest_tenants *t = cls;
    const struct pb_store_ops *ops = tx->ops;
    struct pb_conn *c = tx->conn;
    const char *a = t->a.id, *b = t->b.id;

    struct pb_contact ct[3], ctb;
    for (int i = 0; i < 3; i++) {
        pb_storetest_make_contact(&ct[i], a, 1 + (unsigned)i);
        assert_int_equal(ops->contact_insert(c, &ct[i]), PB_QS_ONE);
    }
    pb_storetest_make_contact(&ctb, b, 4);
    assert_int_equal(ops->contact_insert(c, &ctb), PB_QS_ONE);
    unsigned char sealed[40];
    pb_storetest_fill(sealed, sizeof(sealed), 7);

    const struct pb_value_ref v[] = {
        {.contact_id = ct[2].id, .field_key = "zip", .text = "3000"},
        {.contact_id = ct[0].id, .field_key = "zip", .text = "1000"},
        {.contact_id = ct[0].id, .field_key = "city", .sealed = sealed, .sealed_len = 40},
        {.contact_id = ct[1].id, .field_key = "zip", .text = "2000"},
    };
    assert_int_equal(ops->value_put_many(c, a, v, 4), PB_QS_N);
    assert_int_equal(ops->value_put_many(c, a, v, 0), PB_QS_NONE);
    /* Again: replaced in place, plain to sealed and sealed to plain. */
    const struct pb_value_ref w[] = {
        {.contact_id = ct[0].id, .field_key = "zip", .text = "1001"},
        {.contact_id = ct[1].id, .field_key = "zip", .sealed = sealed, .sealed_len = 20},
        {.contact_id = ct[0].id, .field_key = "city", .text = "Gent"},
    };
    assert_int_equal(ops->value_put_many(c, a, w, 3), PB_QS_N);
    /* Another account's contact, or a's contacts under b: nothing written. */
    const struct pb_value_ref x[] = {{.contact_id = ctb.id, .field_key = "zip", .text = "9"}};
    assert_int_equal(ops->value_put_many(c, a, x, 1), PB_QS_NONE);
    const struct pb_value_ref y[] = {
        {.contact_id = ct[2].id, .field_key = "zip", .text = "9"},
        {.contact_id = ct[2].id, .field_key = "new", .text = "9"},
    };
    assert_int_equal(ops->value_put_many(c, b, y, 2), PB_QS_NONE);

    /* value_list_many: contact id then field key order, whatever order they are asked in. */
    pb_id_text ids[5];
    pb_strlcpy(ids[0], ct[2].id, sizeof(ids[0]));
    pb_id_new(ids[1]); /* nobody */
    pb_strlcpy(ids[2], ct[0].id, sizeof(ids[2]));
    pb_strlcpy(ids[3], ctb.id, sizeof(ids[3])); /* b's */
    pb_strlcpy(ids[4], ct[1].id, sizeof(ids[4]));
    static struct value_rows rows;
    memset(&rows, 0, sizeof(rows));
    assert_int_equal(
        ops->value_list_many(c, a, (const pb_id_text *)ids, 5, collect_value_row, &rows), PB_QS_N);
    assert_int_equal(rows.count, 4);
    char sorted[3][PB_ID_LEN + 1];
    for (int i = 0; i < 3; i++)
        memcpy(sorted[i], ct[i].id, sizeof(sorted[i]));
    qsort(sorted, 3, sizeof(sorted[0]), pb_storetest_cmp_ids);
    int at = 0;
    for (int i = 0; i < 3; i++) {
        if (strcmp(sorted[i], ct[0].id) == 0) {
            assert_string_equal(rows.r[at].contact_id, ct[0].id);
            assert_string_equal(rows.r[at].key, "city");
            assert_string_equal(rows.r[at].text, "Gent");
            assert_int_equal(rows.r[at].sealed_len, 0);
            at++;
            assert_string_equal(rows.r[at].contact_id, ct[0].id);
            assert_string_equal(rows.r[at].key, "zip");
            assert_string_equal(rows.r[at].text, "1001");
            at++;
        } else if (strcmp(sorted[i], ct[1].id) == 0) {
            assert_string_equal(rows.r[at].contact_id, ct[1].id);
            assert_string_equal(rows.r[at].key, "zip");
            assert_string_equal(rows.r[at].text, "");
            assert_int_equal(rows.r[at].sealed_len, 20);
            assert_memory_equal(rows.r[at].sealed, sealed, 20);
            at++;
        } else {
            assert_string_equal(rows.r[at].contact_id, ct[2].id);
            assert_string_equal(rows.r[at].key, "zip");
            assert_string_equal(rows.r[at].text, "3000");
            at++;
        }
    }
    for (int i = 0; i < rows.count; i++)
        assert_string_equal(rows.r[i].account_id, a);

    /* Each account sees its own values only. */
    const struct pb_value_ref z[] = {{.contact_id = ctb.id, .field_key = "zip", .text = "b"}};
    assert_int_equal(ops->value_put_many(c, b, z, 1), PB_QS_ONE);
    memset(&rows, 0, sizeof(rows));
    assert_int_equal(
        ops->value_list_many(c, b, (const pb_id_text *)ids, 5, collect_value_row, &rows),
        PB_QS_ONE);
    assert_string_equal(rows.r[0].contact_id, ctb.id);
    assert_string_equal(rows.r[0].text, "b");
    memset(&rows, 0, sizeof(rows));
    assert_int_equal(
        ops->value_list_many(c, a, (const pb_id_text *)&ids[3], 1, collect_value_row, &rows),
        PB_QS_NONE);
    assert_int_equal(rows.count, 0);
    return PB_QS_ONE;
}

static void
import_values_put_and_list_many(void **state)
{
    pb_storetest_tenants_write(*state, values_many_body);
}

/* A contact's memberships, whole. */
struct memberships {
    struct pb_membership m[4];
    int count;
};

static void
collect_membership_whole(void *cls, const struct pb_membership *m)
{
    struct memberships *ms = cls;
    assert_true(ms->count < 4);
    ms->m[ms->count++] = *m;
}

static int64_t
member_count(const struct pb_store_ops *ops, struct pb_conn *c, const char *account_id,
             const char *list_id)
{
    struct pb_list l;
    assert_int_equal(ops->list_get(c, account_id, list_id, &l), PB_QS_ONE);
    return l.member_count;
}

static enum pb_qs
subscribe_many_body(struct pb_tx *tx, void *cls)
{
    const struct pb_storetest_tenants *t = cls;
    const struct pb_store_ops *ops = tx->ops;
    struct pb_conn *c = tx->conn;
    const char *a = t->a.id, *b = t->b.id;
    const char *statement = "01ARZ3NDEKTSV4RRFFQ69G5FAV";

    struct pb_list list, theirs;
    pb_storetest_make_list(&list, a, "News");
    pb_storetest_make_list(&theirs, b, "Theirs");
    assert_int_equal(ops->list_insert(c, &list), PB_QS_ONE);
    assert_int_equal(ops->list_insert(c, &theirs), PB_QS_ONE);
    struct pb_contact ct[5], ctb;
    for (int i = 0; i < 5; i++) {
        pb_storetest_make_contact(&ct[i], a, 1 + (unsigned)i);
        assert_int_equal(ops->contact_insert(c, &ct[i]), PB_QS_ONE);
    }
    pb_storetest_make_contact(&ctb, b, 6);
    assert_int_equal(ops->contact_insert(c, &ctb), PB_QS_ONE);
    const char *L = list.id;
    assert_int_equal(ops->membership_put(c, a, L, ct[0].id, "subscribed", "", 10), PB_QS_ONE);
    assert_int_equal(ops->membership_put(c, a, L, ct[1].id, "unsubscribed", "", 11), PB_QS_ONE);
    assert_int_equal(member_count(ops, c, a, L), 1);

    /* Only those not subscribed yet change, and count. */
    pb_id_text ids[4];
    for (int i = 0; i < 4; i++)
        pb_strlcpy(ids[i], ct[i].id, sizeof(ids[i]));
    bool changed[4];
    memset(changed, 1, sizeof(changed));
    assert_int_equal(ops->membership_subscribe_many(c, a, L, (const pb_id_text *)ids, 4, statement,
                                                    100, changed),
                     PB_QS_N);
    assert_false(changed[0]);
    assert_true(changed[1]);
    assert_true(changed[2]);
    assert_true(changed[3]);
    assert_int_equal(member_count(ops, c, a, L), 4);

    /* Statement and since are written where the status changed, and only there. */
    static struct memberships ms;
    memset(&ms, 0, sizeof(ms));
    assert_int_equal(
        ops->membership_list_for_contact(c, a, ct[0].id, collect_membership_whole, &ms), PB_QS_ONE);
    assert_string_equal(ms.m[0].status, "subscribed");
    assert_string_equal(ms.m[0].statement_id, "");
    assert_int_equal(ms.m[0].since, 10);
    memset(&ms, 0, sizeof(ms));
    assert_int_equal(
        ops->membership_list_for_contact(c, a, ct[1].id, collect_membership_whole, &ms), PB_QS_ONE);
    assert_string_equal(ms.m[0].list_id, L);
    assert_string_equal(ms.m[0].status, "subscribed");
    assert_string_equal(ms.m[0].statement_id, statement);
    assert_int_equal(ms.m[0].since, 100);
    memset(&ms, 0, sizeof(ms));
    assert_int_equal(
        ops->membership_list_for_contact(c, a, ct[3].id, collect_membership_whole, &ms), PB_QS_ONE);
    assert_string_equal(ms.m[0].account_id, a);
    assert_string_equal(ms.m[0].status, "subscribed");
    assert_int_equal(ms.m[0].since, 100);

    /* The same batch again: nothing changes, the count stays exact. */
    memset(changed, 1, sizeof(changed));
    assert_int_equal(ops->membership_subscribe_many(c, a, L, (const pb_id_text *)ids, 4, statement,
                                                    200, changed),
                     PB_QS_NONE);
    for (int i = 0; i < 4; i++)
        assert_false(changed[i]);
    assert_int_equal(member_count(ops, c, a, L), 4);

    /* After an unsubscribe, subscribing again changes and counts again. */
    assert_int_equal(ops->membership_put(c, a, L, ct[2].id, "unsubscribed", "", 300), PB_QS_ONE);
    assert_int_equal(member_count(ops, c, a, L), 3);
    pb_strlcpy(ids[0], ct[2].id, sizeof(ids[0]));
    pb_strlcpy(ids[1], ct[4].id, sizeof(ids[1]));
    memset(changed, 0, sizeof(changed));
    assert_int_equal(
        ops->membership_subscribe_many(c, a, L, (const pb_id_text *)ids, 2, NULL, 400, changed),
        PB_QS_N);
    assert_true(changed[0]);
    assert_true(changed[1]);
    assert_int_equal(member_count(ops, c, a, L), 5);
    memset(&ms, 0, sizeof(ms));
    assert_int_equal(
        ops->membership_list_for_contact(c, a, ct[2].id, collect_membership_whole, &ms), PB_QS_ONE);
    assert_string_equal(ms.m[0].statement_id, "");
    assert_int_equal(ms.m[0].since, 400);

    /* Another account's list or contact: nothing written, nothing counted. */
    pb_strlcpy(ids[0], ct[3].id, sizeof(ids[0]));
    memset(changed, 1, sizeof(changed));
    assert_int_equal(ops->membership_subscribe_many(c, b, L, (const pb_id_text *)ids, 1, statement,
                                                    500, changed),
                     PB_QS_NONE);
    assert_false(changed[0]);
    pb_strlcpy(ids[0], ctb.id, sizeof(ids[0]));
    memset(changed, 1, sizeof(changed));
    assert_int_equal(ops->membership_subscribe_many(c, a, L, (const pb_id_text *)ids, 1, statement,
                                                    500, changed),
                     PB_QS_NONE);
    assert_false(changed[0]);
    memset(&ms, 0, sizeof(ms));
    assert_int_equal(ops->membership_list_for_contact(c, b, ctb.id, collect_membership_whole, &ms),
                     PB_QS_NONE);
    pb_strlcpy(ids[0], ct[0].id, sizeof(ids[0]));
    memset(changed, 1, sizeof(changed));
    assert_int_equal(ops->membership_subscribe_many(c, a, theirs.id, (const pb_id_text *)ids, 1,
                                                    statement, 500, changed),
                     PB_QS_NONE);
    assert_false(changed[0]);
    assert_int_equal(member_count(ops, c, a, L), 5);
    assert_int_equal(member_count(ops, c, b, theirs.id), 0);
    memset(&ms, 0, sizeof(ms));
    assert_int_equal(
        ops->membership_list_for_contact(c, a, ct[0].id, collect_membership_whole, &ms), PB_QS_ONE);
    assert_int_equal(ops->membership_subscribe_many(c, a, L, (const pb_id_text *)ids, 0, statement,
                                                    500, changed),
                     PB_QS_NONE);

    /* The list's contacts are the five. */
    struct pb_storetest_page page = {0};
    assert_int_equal(ops->contact_list(c, a, L, "", 10, collect_contact, &page), PB_QS_N);
    assert_int_equal(page.count, 5);
    return PB_QS_ONE;
}

static void
import_subscribe_many_counts_changes(void **state)
{
    pb_storetest_tenants_write(*state, subscribe_many_body);
}

static enum pb_qs
events_many_body(struct pb_tx *tx, void *cls)
{
    const struct pb_storetest_tenants *t = cls;
    const struct pb_store_ops *ops = tx->ops;
    struct pb_conn *c = tx->conn;
    const char *a = t->a.id, *b = t->b.id;
    char c0[PB_ID_LEN + 1], c1[PB_ID_LEN + 1], c2[PB_ID_LEN + 1];
    pb_id_new(c0);
    pb_id_new(c1);
    pb_id_new(c2);

    /* One event with a ref and a personal part, one without either, one at a time. */
    struct pb_consent_event first, second, ev[3];
    struct pb_consent_personal pers = {0};
    pb_strlcpy(pers.client_ip, "192.0.2.1", sizeof(pers.client_ip));
    make_event(&first, a, 1, c0);
    pb_strlcpy(first.ref, "job:one", sizeof(first.ref));
    assert_int_equal(ops->event_append(c, &first, &pers), PB_QS_ONE);
    make_event(&second, a, 2, c1);
    assert_int_equal(ops->event_append(c, &second, NULL), PB_QS_ONE);

    /* Then a batch: consecutive seqs, no personal parts, the head moved to the last. */
    for (int i = 0; i < 3; i++) {
        make_event(&ev[i], a, 3 + i, i == 1 ? c1 : c0);
        pb_strlcpy(ev[i].type, "imported", sizeof(ev[i].type));
        pb_strlcpy(ev[i].channel, "import", sizeof(ev[i].channel));
        pb_strlcpy(ev[i].actor, "user:1", sizeof(ev[i].actor));
        pb_strlcpy(ev[i].ref, "job:two", sizeof(ev[i].ref));
        pb_strlcpy(ev[i].list_id, "01ARZ3NDEKTSV4RRFFQ69G5FAV", sizeof(ev[i].list_id));
        pb_strlcpy(ev[i].statement_id, "01ARZ3NDEKTSV4RRFFQ69G5FAW", sizeof(ev[i].statement_id));
    }
    assert_int_equal(ops->event_append_many(c, ev, 3), PB_QS_N);
    int64_t seq = -1;
    unsigned char hash[PB_EVENT_HASH_BYTES];
    assert_int_equal(ops->event_head(c, a, &seq, hash), PB_QS_ONE);
    assert_int_equal(seq, 5);
    assert_memory_equal(hash, ev[2].hash, sizeof(hash));
    assert_int_equal(ops->event_last(c, a, &seq, hash), PB_QS_ONE);
    assert_int_equal(seq, 5);
    assert_int_equal(ops->event_head(c, b, &seq, hash), PB_QS_NONE);
    assert_int_equal(ops->event_append_many(c, ev, 0), PB_QS_NONE);
    assert_int_equal(ops->event_head(c, a, &seq, hash), PB_QS_ONE);
    assert_int_equal(seq, 5);

    /* The scan gives every event, refs included. */
    static struct events got;
    memset(&got, 0, sizeof(got));
    assert_int_equal(ops->event_scan(c, a, 0, 8, collect_event, &got), PB_QS_N);
    assert_int_equal(got.count, 5);
    for (int i = 0; i < 5; i++)
        assert_int_equal(got.items[i].seq, i + 1);
    assert_string_equal(got.items[0].ref, "job:one");
    assert_string_equal(got.items[1].ref, "");
    for (int i = 0; i < 3; i++) {
        const struct pb_consent_event *e = &got.items[2 + i];
        assert_string_equal(e->ref, "job:two");
        assert_string_equal(e->id, ev[i].id);
        assert_string_equal(e->account_id, a);
        assert_string_equal(e->type, "imported");
        assert_string_equal(e->contact_id, ev[i].contact_id);
        assert_string_equal(e->list_id, ev[i].list_id);
        assert_string_equal(e->statement_id, ev[i].statement_id);
        assert_string_equal(e->channel, "import");
        assert_string_equal(e->actor, "user:1");
        assert_int_equal(e->at, ev[i].at);
        assert_memory_equal(e->prev_hash, ev[i].prev_hash, PB_EVENT_HASH_BYTES);
        assert_memory_equal(e->hash, ev[i].hash, PB_EVENT_HASH_BYTES);
    }
    memset(&got, 0, sizeof(got));
    assert_int_equal(ops->event_scan(c, b, 0, 8, collect_event, &got), PB_QS_NONE);

    /* A contact's history: refs, and empty personal parts for the batch's events. */
    memset(&got, 0, sizeof(got));
    assert_int_equal(ops->event_list_for_contact(c, a, c0, collect_event, &got), PB_QS_N);
    assert_int_equal(got.count, 3);
    assert_int_equal(got.items[0].seq, 1);
    assert_string_equal(got.items[0].ref, "job:one");
    assert_string_equal(got.personal[0].client_ip, "192.0.2.1");
    for (int i = 1; i < 3; i++) {
        assert_string_equal(got.items[i].ref, "job:two");
        assert_true(got.has_personal[i]);
        assert_string_equal(got.personal[i].client_ip, "");
        assert_string_equal(got.personal[i].user_agent, "");
        assert_string_equal(got.personal[i].note, "");
    }
    assert_int_equal(got.items[1].seq, 3);
    assert_int_equal(got.items[2].seq, 5);

    /* event_ref_exists_many: per contact, in its place; nothing across accounts. */
    pb_id_text ids[4];
    pb_strlcpy(ids[0], c0, sizeof(ids[0]));
    pb_strlcpy(ids[1], c1, sizeof(ids[1]));
    pb_strlcpy(ids[2], c2, sizeof(ids[2]));
    pb_strlcpy(ids[3], c0, sizeof(ids[3]));
    bool has[4];
    memset(has, 0, sizeof(has));
    assert_int_equal(ops->event_ref_exists_many(c, a, "job:two", (const pb_id_text *)ids, 4, has),
                     PB_QS_N);
    assert_true(has[0]);
    assert_true(has[1]);
    assert_false(has[2]);
    assert_true(has[3]);
    memset(has, 1, sizeof(has));
    assert_int_equal(ops->event_ref_exists_many(c, a, "job:one", (const pb_id_text *)ids, 4, has),
                     PB_QS_N);
    assert_true(has[0]);
    assert_false(has[1]);
    assert_false(has[2]);
    assert_true(has[3]);
    memset(has, 1, sizeof(has));
    assert_int_equal(ops->event_ref_exists_many(c, a, "job:three", (const pb_id_text *)ids, 4, has),
                     PB_QS_NONE);
    for (int i = 0; i < 4; i++)
        assert_false(has[i]);
    memset(has, 1, sizeof(has));
    assert_int_equal(ops->event_ref_exists_many(c, b, "job:two", (const pb_id_text *)ids, 4, has),
                     PB_QS_NONE);
    for (int i = 0; i < 4; i++)
        assert_false(has[i]);
    return PB_QS_ONE;
}

static void
import_event_append_many_and_refs(void **state)
{
    pb_storetest_tenants_write(*state, events_many_body);
}

struct event_batch {
    struct pb_consent_event ev[2];
};

static enum pb_qs
append_many_tx(struct pb_tx *tx, void *cls)
{
    struct event_batch *eb = cls;
    return tx->ops->event_append_many(tx->conn, eb->ev, 2);
}

/* An account's head and first events. */
struct chain_probe {
    const char *account_id;
    int64_t seq;
    unsigned char hash[PB_EVENT_HASH_BYTES];
    enum pb_qs head_qs;
    struct events got;
};

static enum pb_qs
chain_probe_tx(struct pb_tx *tx, void *cls)
{
    struct chain_probe *p = cls;
    memset(&p->got, 0, sizeof(p->got));
    p->head_qs = tx->ops->event_head(tx->conn, p->account_id, &p->seq, p->hash);
    if (p->head_qs < 0)
        return p->head_qs;
    return tx->ops->event_scan(tx->conn, p->account_id, 0, 8, collect_event, &p->got);
}

static void
import_event_append_many_taken_seq_is_soft(void **state)
{
    struct pb_storetest *f = *state;
    struct pb_storetest_tenants t;
    pb_storetest_tenants(f, &t, 1);
    char contact[PB_ID_LEN + 1];
    pb_id_new(contact);
    static struct event_batch first, clash, other;
    make_event(&first.ev[0], t.a.id, 1, contact);
    make_event(&first.ev[1], t.a.id, 2, contact);
    assert_int_equal(pb_store_tx(f->store, PB_TX_WRITE, append_many_tx, &first), PB_ERR_OK);

    /* Seq 3 is free, 2 is taken: soft (retried, then given up), nothing of the batch kept. */
    make_event(&clash.ev[0], t.a.id, 3, contact);
    make_event(&clash.ev[1], t.a.id, 2, contact);
    assert_int_equal(pb_store_tx(f->store, PB_TX_WRITE, append_many_tx, &clash), PB_ERR_STORE_SOFT);
    static struct chain_probe p;
    memset(&p, 0, sizeof(p));
    p.account_id = t.a.id;
    assert_int_equal(pb_store_tx(f->store, PB_TX_READ, chain_probe_tx, &p), PB_ERR_OK);
    assert_int_equal(p.head_qs, PB_QS_ONE);
    assert_int_equal(p.seq, 2);
    assert_memory_equal(p.hash, first.ev[1].hash, PB_EVENT_HASH_BYTES);
    assert_int_equal(p.got.count, 2);
    assert_string_equal(p.got.items[0].id, first.ev[0].id);
    assert_string_equal(p.got.items[1].id, first.ev[1].id);

    /* Another account's seqs are its own. */
    make_event(&other.ev[0], t.b.id, 1, contact);
    make_event(&other.ev[1], t.b.id, 2, contact);
    assert_int_equal(pb_store_tx(f->store, PB_TX_WRITE, append_many_tx, &other), PB_ERR_OK);
    memset(&p, 0, sizeof(p));
    p.account_id = t.b.id;
    assert_int_equal(pb_store_tx(f->store, PB_TX_READ, chain_probe_tx, &p), PB_ERR_OK);
    assert_int_equal(p.seq, 2);
    assert_int_equal(p.got.count, 2);
    assert_string_equal(p.got.items[1].id, other.ev[1].id);
}

static enum pb_qs
chunks_body(struct pb_tx *tx, void *cls)
{
    const struct pb_storetest_tenants *t = cls;
    const struct pb_store_ops *ops = tx->ops;
    struct pb_conn *c = tx->conn;
    const char *a = t->a.id, *b = t->b.id;
    char upload[PB_ID_LEN + 1], upload2[PB_ID_LEN + 1];
    pb_id_new(upload);
    pb_id_new(upload2);
    static unsigned char big[PB_IMPORT_CHUNK_SEALED_MAX], out[PB_IMPORT_CHUNK_SEALED_MAX];
    unsigned char small[20];
    pb_storetest_fill(big, sizeof(big), 1);
    pb_storetest_fill(small, sizeof(small), 2);
    size_t len = 0;

    assert_int_equal(ops->import_chunk_put(c, a, upload, 0, big, sizeof(big)), PB_QS_ONE);
    assert_int_equal(ops->import_chunk_put(c, a, upload, 1, small, 10), PB_QS_ONE);
    assert_int_equal(ops->import_chunk_get(c, a, upload, 0, out, &len), PB_QS_ONE);
    assert_int_equal(len, sizeof(big));
    assert_memory_equal(out, big, sizeof(big));
    assert_int_equal(ops->import_chunk_get(c, a, upload, 1, out, &len), PB_QS_ONE);
    assert_int_equal(len, 10);
    assert_memory_equal(out, small, 10);
    assert_int_equal(ops->import_chunk_get(c, a, upload, 2, out, &len), PB_QS_NONE);

    /* Putting chunk 1 again replaces it. */
    pb_storetest_fill(small, sizeof(small), 3);
    assert_int_equal(ops->import_chunk_put(c, a, upload, 1, small, sizeof(small)), PB_QS_ONE);
    assert_int_equal(ops->import_chunk_get(c, a, upload, 1, out, &len), PB_QS_ONE);
    assert_int_equal(len, sizeof(small));
    assert_memory_equal(out, small, sizeof(small));

    /* Another account neither reads nor deletes them. */
    assert_int_equal(ops->import_chunk_get(c, b, upload, 0, out, &len), PB_QS_NONE);
    assert_int_equal(ops->import_chunks_delete(c, b, upload), PB_QS_NONE);
    assert_int_equal(ops->import_chunk_get(c, a, upload, 0, out, &len), PB_QS_ONE);

    /* Deleting takes every chunk of that upload, and of no other. */
    assert_int_equal(ops->import_chunk_put(c, a, upload2, 0, small, 5), PB_QS_ONE);
    assert_int_equal(ops->import_chunks_delete(c, a, upload), PB_QS_N);
    assert_int_equal(ops->import_chunk_get(c, a, upload, 0, out, &len), PB_QS_NONE);
    assert_int_equal(ops->import_chunk_get(c, a, upload, 1, out, &len), PB_QS_NONE);
    assert_int_equal(ops->import_chunk_get(c, a, upload2, 0, out, &len), PB_QS_ONE);
    assert_int_equal(len, 5);
    assert_int_equal(ops->import_chunks_delete(c, a, upload), PB_QS_NONE);
    return PB_QS_ONE;
}

static void
import_chunks_put_get_replace_delete(void **state)
{
    pb_storetest_tenants_write(*state, chunks_body);
}

struct rejects {
    struct pb_import_reject r[8];
    int count;
};

static void
collect_reject(void *cls, const struct pb_import_reject *reject)
{
    struct rejects *rs = cls;
    assert_true(rs->count < 8);
    rs->r[rs->count++] = *reject;
}

static enum pb_qs
rejects_body(struct pb_tx *tx, void *cls)
{
    const struct pb_storetest_tenants *t = cls;
    const struct pb_store_ops *ops = tx->ops;
    struct pb_conn *c = tx->conn;
    const char *a = t->a.id, *b = t->b.id;
    char upload[PB_ID_LEN + 1], other[PB_ID_LEN + 1];
    pb_id_new(upload);
    pb_id_new(other);

    const struct pb_import_reject r[] = {
        {.line = 3, .reason = "reason 3"},
        {.line = 7, .reason = "reason 7"},
        {.line = 5, .reason = "reason 5"},
    };
    assert_int_equal(ops->import_reject_insert_many(c, a, upload, r, 3), PB_QS_N);
    /* A line recorded already is left as it is: only line 9 is new. */
    const struct pb_import_reject again[] = {
        {.line = 5, .reason = "changed"},
        {.line = 9, .reason = "reason 9"},
    };
    assert_int_equal(ops->import_reject_insert_many(c, a, upload, again, 2), PB_QS_ONE);
    assert_int_equal(ops->import_reject_insert_many(c, a, upload, again, 2), PB_QS_NONE);
    assert_int_equal(ops->import_reject_insert_many(c, a, upload, r, 0), PB_QS_NONE);

    /* In line order, by pages. */
    static struct rejects got;
    memset(&got, 0, sizeof(got));
    assert_int_equal(ops->import_reject_list(c, a, upload, 0, 2, collect_reject, &got), PB_QS_N);
    assert_int_equal(got.count, 2);
    assert_int_equal(got.r[0].line, 3);
    assert_string_equal(got.r[0].reason, "reason 3");
    assert_int_equal(got.r[1].line, 5);
    assert_string_equal(got.r[1].reason, "reason 5");
    memset(&got, 0, sizeof(got));
    assert_int_equal(ops->import_reject_list(c, a, upload, 5, 2, collect_reject, &got), PB_QS_N);
    assert_int_equal(got.r[0].line, 7);
    assert_int_equal(got.r[1].line, 9);
    assert_string_equal(got.r[1].reason, "reason 9");
    memset(&got, 0, sizeof(got));
    assert_int_equal(ops->import_reject_list(c, a, upload, 9, 2, collect_reject, &got), PB_QS_NONE);
    assert_int_equal(ops->import_reject_list(c, a, upload, 0, 100, collect_reject, &got), PB_QS_N);
    assert_int_equal(got.count, 4);

    /* Another account, or another import, sees none of them. */
    memset(&got, 0, sizeof(got));
    assert_int_equal(ops->import_reject_list(c, b, upload, 0, 10, collect_reject, &got),
                     PB_QS_NONE);
    assert_int_equal(ops->import_reject_list(c, a, other, 0, 10, collect_reject, &got), PB_QS_NONE);
    assert_int_equal(ops->import_reject_insert_many(c, a, other, r, 1), PB_QS_ONE);
    assert_int_equal(ops->import_reject_list(c, a, other, 0, 10, collect_reject, &got), PB_QS_ONE);
    assert_int_equal(got.r[0].line, 3);
    memset(&got, 0, sizeof(got));
    assert_int_equal(ops->import_reject_list(c, a, upload, 0, 100, collect_reject, &got), PB_QS_N);
    assert_int_equal(got.count, 4);
    return PB_QS_ONE;
}

static void
import_rejects_once_per_line_by_pages(void **state)
{
    pb_storetest_tenants_write(*state, rejects_body);
}

struct ref_case {
    const char *account_id, *contact_id;
    struct pb_consent_event next;
    struct events got;
};

static enum pb_qs
append_and_list_tx(struct pb_tx *tx, void *cls)
{
    struct ref_case *rc = cls;
    memset(&rc->got, 0, sizeof(rc->got));
    enum pb_qs qs = tx->ops->event_append(tx->conn, &rc->next, NULL);
    if (qs < 0)
        return qs;
    return tx->ops->event_list_for_contact(tx->conn, rc->account_id, rc->contact_id, collect_event,
                                           &rc->got);
}

static void
migrate_from_version_5_keeps_events(void **state)
{
    struct pb_storetest *f = *state;
    const char *account = "01ARZ3NDEKTSV4RRFFQ69G5FAV";
    const char *contact = "01ARZ3NDEKTSV4RRFFQ69G5FAX";
    migrate_to_version(f, 5);
    char hex[2 * PB_EVENT_HASH_BYTES + 1];
    for (int i = 0; i < PB_EVENT_HASH_BYTES; i++)
        memcpy(hex + 2 * i, "ab", 2);
    hex[2 * PB_EVENT_HASH_BYTES] = '\0';
    char blob[128], sql[1024];
    if (pb_storetest_is_sqlite(f))
        snprintf(blob, sizeof(blob), "X'%s'", hex);
    else
        snprintf(blob, sizeof(blob), "'\\x%s'::bytea", hex);
    snprintf(sql, sizeof(sql),
             "INSERT INTO consent_events (account_id, seq, id, type, contact_id, channel, actor,"
             " at, prev_hash, hash) VALUES ('%s', 1, '01ARZ3NDEKTSV4RRFFQ69G5FAW', 'added', '%s',"
             " 'ui', 'cli', 7, %s, %s);"
             "INSERT INTO consent_heads (account_id, seq, hash) VALUES ('%s', 1, %s)",
             account, contact, blob, blob, account, blob);
    pb_storetest_raw_exec(f->url, sql);
    pb_storetest_open(f, 1);
    assert_int_equal(schema_version(f->store), 5);
    char why[PB_WHY_MAX] = "";
    int from = -1, to = -1;
    assert_int_equal(pb_store_migrate(f->store, &from, &to, why), PB_ERR_OK);
    assert_int_equal(from, 5);
    assert_int_equal(to, PB_STORETEST_LATEST_VERSION);

    /* The old event has no ref; a new one carries its own. */
    static struct ref_case rc;
    memset(&rc, 0, sizeof(rc));
    rc.account_id = account;
    rc.contact_id = contact;
    make_event(&rc.next, account, 2, contact);
    pb_strlcpy(rc.next.ref, "job:01ARZ3NDEKTSV4RRFFQ69G5FAY", sizeof(rc.next.ref));
    assert_int_equal(pb_store_tx(f->store, PB_TX_WRITE, append_and_list_tx, &rc), PB_ERR_OK);
    assert_int_equal(rc.got.count, 2);
    assert_string_equal(rc.got.items[0].id, "01ARZ3NDEKTSV4RRFFQ69G5FAW");
    assert_string_equal(rc.got.items[0].ref, "");
    unsigned char ab[PB_EVENT_HASH_BYTES];
    memset(ab, 0xab, sizeof(ab));
    assert_memory_equal(rc.got.items[0].hash, ab, sizeof(ab));
    assert_string_equal(rc.got.items[1].ref, "job:01ARZ3NDEKTSV4RRFFQ69G5FAY");
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, pb_storetest_setup, pb_storetest_teardown)

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
        T(placement_of_unknown_account_is_not_found), T(accounts_keep_data_key_and_require_2fa),   \
        T(account_list_carries_data_key_and_require_2fa), T(users_insert_get_and_update),          \
        T(user_with_existing_email_answers_none), T(users_list_by_pages_and_count_roles),          \
        T(user_delete_takes_everything_with_it), T(totp_step_only_moves_forward),                  \
        T(sessions_insert_get_touch_and_delete), T(recovery_codes_work_once),                      \
        T(reset_tokens_work_once_and_expire), T(api_keys_roundtrip_and_delete_only_by_owner),      \
        T(audit_lists_newest_first_by_pages), T(audit_entry_roundtrips),                           \
        T(throttle_counts_failures_and_clears), T(outbox_claims_lease_mails),                      \
        T(migrate_from_version_1_keeps_accounts), T(tenant_fields_and_values),                     \
        T(tenant_lists_contacts_and_memberships), T(tenant_evidence_and_statements),               \
        T(tenant_consent_log), T(migrate_from_version_2_keeps_rows), T(jobs_insert_and_get),       \
        T(jobs_claim_lease_checkpoint_and_finish), T(jobs_claim_by_id),                            \
        T(import_contacts_find_and_insert_many), T(import_insert_many_duplicate_bidx_is_hard),     \
        T(import_values_put_and_list_many), T(import_subscribe_many_counts_changes),               \
        T(import_event_append_many_and_refs), T(import_event_append_many_taken_seq_is_soft),       \
        T(import_chunks_put_get_replace_delete), T(import_rejects_once_per_line_by_pages),         \
        T(migrate_from_version_5_keeps_events)

int
main(void)
{
    if (!pb_storetest_init("store contract"))
        return 2;
    if (pb_storetest_on_postgres()) {
        const struct CMUnitTest pg_tests[] = {
            COMMON_TESTS,
            T(real_serialization_failure_is_retried),
            T(lost_connection_is_hard_then_reset),
            T(concurrent_claims_skip_each_others_mails),
            T(concurrent_job_claims_skip_each_others_jobs),
        };
        return cmocka_run_group_tests_name("store contract (postgres)", pg_tests, NULL, NULL);
    }
    const struct CMUnitTest sqlite_tests[] = {COMMON_TESTS};
    return cmocka_run_group_tests_name("store contract (sqlite)", sqlite_tests, NULL, NULL);
}
