/*
 * Test support for the store suites (tests/store): the fixture every test
 * gets, the backend chosen by PB_TEST_STORE_URL, SQL run outside the store,
 * and the rows the suites make alike (accounts, two tenants, lists, contacts).
 *
 * PB_TEST_STORE_URL is "sqlite:PATH" or "postgres://..."; without it each
 * test gets a fresh SQLite file in its own temporary directory. A given
 * SQLite file is deleted before and after each test; under PostgreSQL each
 * test starts from an empty public schema.
 */
#ifndef PB_TEST_STORETEST_H
#define PB_TEST_STORETEST_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "store/store.h"

/* The schema version the backends' migrations end at. */
#define PB_STORETEST_LATEST_VERSION 8

/* One test's store: its temporary directory, the URL it opens, the store once opened. */
struct pb_storetest {
    char dir[PATH_MAX];
    char url[PB_STORE_URL_MAX + 1];
    struct pb_store *store;
};

/*
 * Reads PB_TEST_STORE_URL and says on stderr which backend suite `suite`
 * runs on; false (said) when the URL's scheme is unknown.
 */
bool
pb_storetest_init(const char *suite);

/* Whether PB_TEST_STORE_URL names a PostgreSQL server. */
bool
pb_storetest_on_postgres(void);

/* cmocka's setup and teardown: a struct pb_storetest in `*state`, its store not opened. */
int
pb_storetest_setup(void **state);
int
pb_storetest_teardown(void **state);

/* Opens the fixture's store (closed by the teardown), without migrating it. */
void
pb_storetest_open(struct pb_storetest *f, int pool_size);

/* Opens the fixture's store and migrates it to PB_STORETEST_LATEST_VERSION. */
void
pb_storetest_open_migrated(struct pb_storetest *f, int pool_size);

bool
pb_storetest_is_sqlite(const struct pb_storetest *f);

/* Runs SQL on `url` outside the store (to set up what the store itself cannot). */
void
pb_storetest_raw_exec(const char *url, const char *sql);

/* The single number a query on `url` outside the store answers (to see rows no operation shows). */
int64_t
pb_storetest_raw_count(const char *url, const char *sql);

/* Runs `fn` in a write transaction that must commit. */
void
pb_storetest_write(struct pb_store *store, pb_tx_fn fn, void *cls);

/* A byte pattern to tell blobs apart. */
void
pb_storetest_fill(unsigned char *buf, size_t len, unsigned seed);

/* For qsort over arrays of id texts. */
int
pb_storetest_cmp_ids(const void *x, const void *y);

/* Ids seen by a list operation, in the order seen. */
struct pb_storetest_page {
    char ids[32][PB_ID_LEN + 1];
    int count;
};

/* Appends `id` (or another short text); more than the page holds fails the test. */
void
pb_storetest_page_add(struct pb_storetest_page *p, const char *id);

/* Sorts the page's ids, `descending` or not. */
void
pb_storetest_page_sort(struct pb_storetest_page *p, bool descending);

/* An account named `name` with a new id, plan "standard", created now; not stored. */
void
pb_storetest_make_account(struct pb_account *a, const char *name);

/* pb_storetest_make_account, then inserted (which must succeed). */
void
pb_storetest_insert_account(struct pb_store *store, struct pb_account *a, const char *name);

/* Two accounts: `a` owns the rows, `b` must never see them. */
struct pb_storetest_tenants {
    struct pb_account a, b;
};

/* Opens and migrates the fixture's store, then inserts the two tenants. */
void
pb_storetest_tenants(struct pb_storetest *f, struct pb_storetest_tenants *t, int pool_size);

/*
 * A test on its own: opens the fixture's store with two new tenants and runs
 * `body` (its `cls` the tenants) in a write transaction that must commit.
 */
void
pb_storetest_tenants_write(struct pb_storetest *f, pb_tx_fn body);

/* An active contact of `account_id` with a new id; its blobs and times follow from `seed`. */
void
pb_storetest_make_contact(struct pb_contact *ct, const char *account_id, unsigned seed);

/* A public list of `account_id` named `name`, with a new id. */
void
pb_storetest_make_list(struct pb_list *l, const char *account_id, const char *name);

#endif
