/*
 * The store's front: picks the backend by URL scheme, keeps a pool of
 * connections to one database, and runs transactions with retries on
 * transient conflicts.
 */
#include "store/store.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sodium.h>

#include "core/log.h"
#include "core/strutil.h"

#define TX_RETRIES       8      /* tries after the first one */
#define BACKOFF_FIRST_US 1000   /* 1 ms */
#define BACKOFF_MAX_US   200000 /* 200 ms */

struct pb_store {
    const struct pb_store_ops *ops;
    char url[PB_STORE_URL_MAX + 1];
    pthread_mutex_t lock;
    pthread_cond_t freed;
    int size;              /* at most this many connections */
    int made;              /* connections in existence (idle or lent) */
    int idle_count;        /* how many of `idle` hold a connection */
    struct pb_conn **idle; /* `size` slots: a stack of idle connections */
};

const struct pb_store_ops *
pb_store_backend(const char *url)
{
    if (url == NULL)
        return NULL;
    if (pb_str_starts_with(url, "sqlite:"))
        return &pb_store_sqlite;
    if (pb_str_starts_with(url, "postgres://") || pb_str_starts_with(url, "postgresql://"))
        return &pb_store_postgres;
    return NULL;
}

enum pb_err
pb_store_open(const char *url, int pool_size, struct pb_store **out, char why[PB_WHY_MAX])
{
    enum pb_err err = PB_ERR_OK;
    struct pb_store *store = NULL;
    struct pb_conn *conn = NULL;

    *out = NULL;
    if (sodium_init() < 0) {
        snprintf(why, PB_WHY_MAX, "libsodium failed to start");
        return PB_ERR_CRYPTO_INIT;
    }
    const struct pb_store_ops *ops = pb_store_backend(url);
    if (ops == NULL) {
        snprintf(why, PB_WHY_MAX,
                 "store URL \"%.60s\" has an unknown scheme; use sqlite:PATH or postgres://...",
                 url ? url : "");
        return PB_ERR_STORE_URL;
    }
    if (strlen(url) > PB_STORE_URL_MAX) {
        snprintf(why, PB_WHY_MAX, "store URL is longer than %d bytes", PB_STORE_URL_MAX);
        return PB_ERR_STORE_URL;
    }
    if (pool_size < 1)
        pool_size = 1;

    store = calloc(1, sizeof(*store));
    if (store == NULL || (store->idle = calloc((size_t)pool_size, sizeof(*store->idle))) == NULL) {
        snprintf(why, PB_WHY_MAX, "out of memory opening the store");
        err = PB_ERR_NOMEM;
        goto out;
    }
    store->ops = ops;
    pb_strlcpy(store->url, url, sizeof(store->url));
    store->size = pool_size;
    pthread_mutex_init(&store->lock, NULL);
    pthread_cond_init(&store->freed, NULL);

    /* The first connection now, so that a bad URL or file shows here. */
    if ((err = ops->connect(url, &conn, why)) != PB_ERR_OK)
        goto out;
    store->idle[store->idle_count++] = conn;
    store->made = 1;
    *out = store;
    store = NULL;
out:
    if (store != NULL) {
        if (store->idle != NULL) {
            pthread_cond_destroy(&store->freed);
            pthread_mutex_destroy(&store->lock);
        }
        free(store->idle);
        free(store);
    }
    return err;
}

void
pb_store_close(struct pb_store *store)
{
    if (store == NULL)
        return;
    pthread_mutex_lock(&store->lock);
    if (store->idle_count != store->made)
        pb_error("store: closing %s with %d connection(s) still lent out", store->ops->name,
                 store->made - store->idle_count);
    for (int i = 0; i < store->idle_count; i++)
        store->ops->disconnect(store->idle[i]);
    pthread_mutex_unlock(&store->lock);
    pthread_cond_destroy(&store->freed);
    pthread_mutex_destroy(&store->lock);
    free(store->idle);
    free(store);
}

const struct pb_store_ops *
pb_store_get_ops(const struct pb_store *store)
{
    return store->ops;
}

const char *
pb_store_url(const struct pb_store *store)
{
    return store->url;
}

/* Lends a connection, waiting for one when all `size` are lent, making one when allowed. */
static enum pb_err
acquire(struct pb_store *store, struct pb_conn **out, char why[PB_WHY_MAX])
{
    pthread_mutex_lock(&store->lock);
    while (store->idle_count == 0 && store->made >= store->size)
        pthread_cond_wait(&store->freed, &store->lock);
    if (store->idle_count > 0) {
        *out = store->idle[--store->idle_count];
        pthread_mutex_unlock(&store->lock);
        return PB_ERR_OK;
    }
    store->made++; /* reserve the slot, connect without the lock */
    pthread_mutex_unlock(&store->lock);

    enum pb_err err = store->ops->connect(store->url, out, why);
    if (err != PB_ERR_OK) {
        pthread_mutex_lock(&store->lock);
        store->made--;
        pthread_cond_signal(&store->freed);
        pthread_mutex_unlock(&store->lock);
    }
    return err;
}

static void
release(struct pb_store *store, struct pb_conn *conn)
{
    pthread_mutex_lock(&store->lock);
    store->idle[store->idle_count++] = conn;
    pthread_cond_signal(&store->freed);
    pthread_mutex_unlock(&store->lock);
}

enum pb_err
pb_store_migrate(struct pb_store *store, int *from, int *to, char why[PB_WHY_MAX])
{
    struct pb_conn *conn = NULL;
    enum pb_err err = acquire(store, &conn, why);
    if (err != PB_ERR_OK)
        return err;
    err = store->ops->migrate(conn, from, to, why);
    release(store, conn);
    return err;
}

enum pb_qs
pb_tx_abort(struct pb_tx *tx, enum pb_err err)
{
    tx->abort_err = err == PB_ERR_OK ? PB_ERR_INTERNAL : err;
    return PB_QS_HARD_ERROR;
}

/* Sleeps a random time in [delay/2, delay] microseconds. */
static void
backoff(uint32_t delay_us)
{
    uint32_t us = delay_us / 2 + randombytes_uniform(delay_us / 2 + 1);
    struct timespec ts = {.tv_sec = us / 1000000, .tv_nsec = (long)(us % 1000000) * 1000};
    while (nanosleep(&ts, &ts) != 0)
        ;
}

enum pb_err
pb_store_tx(struct pb_store *store, enum pb_tx_mode mode, pb_tx_fn fn, void *cls)
{
    const struct pb_store_ops *ops = store->ops;
    struct pb_conn *conn = NULL;
    char why[PB_WHY_MAX] = "";
    enum pb_err err = acquire(store, &conn, why);
    if (err != PB_ERR_OK) {
        pb_error("store: no connection for a transaction: %s", why);
        return PB_ERR_STORE_OPEN;
    }

    uint32_t delay = BACKOFF_FIRST_US;
    err = PB_ERR_STORE_SOFT;
    for (int attempt = 0; attempt <= TX_RETRIES; attempt++) {
        if (attempt > 0) {
            pb_warn("store: transaction conflict on %s, retry %d of %d", ops->name, attempt,
                    TX_RETRIES);
            backoff(delay);
            delay = delay * 2 > BACKOFF_MAX_US ? BACKOFF_MAX_US : delay * 2;
        }
        struct pb_tx tx = {.ops = ops, .conn = conn, .abort_err = PB_ERR_OK, .attempt = attempt};
        enum pb_qs qs = ops->begin(conn, mode);
        if (qs == PB_QS_SOFT_ERROR)
            continue;
        if (qs < 0) {
            err = PB_ERR_STORE_HARD;
            break;
        }
        qs = fn(&tx, cls);
        if (tx.abort_err != PB_ERR_OK) {
            ops->rollback(conn);
            err = tx.abort_err;
            goto out;
        }
        if (qs == PB_QS_SOFT_ERROR) {
            ops->rollback(conn);
            continue;
        }
        if (qs < 0) {
            ops->rollback(conn);
            err = PB_ERR_STORE_HARD;
            goto out;
        }
        qs = ops->commit(conn);
        if (qs == PB_QS_SOFT_ERROR) {
            ops->rollback(conn);
            continue;
        }
        if (qs < 0) {
            ops->rollback(conn);
            err = PB_ERR_STORE_HARD;
            goto out;
        }
        err = PB_ERR_OK;
        goto out;
    }
    if (err == PB_ERR_STORE_SOFT)
        pb_warn("store: transaction on %s still conflicting after %d retries", ops->name,
                TX_RETRIES);
out:
    release(store, conn);
    return err;
}

enum pb_err
pb_store_checkpoint(struct pb_store *store)
{
    char why[PB_WHY_MAX] = "";
    struct pb_conn *conn = NULL;
    if (acquire(store, &conn, why) != PB_ERR_OK) {
        pb_error("store: no connection for a checkpoint: %s", why);
        return PB_ERR_STORE_OPEN;
    }
    /* A pooled connection is between transactions: the checkpoint runs outside any. */
    enum pb_qs qs = store->ops->checkpoint(conn);
    release(store, conn);
    if (qs == PB_QS_SOFT_ERROR)
        return PB_ERR_STORE_SOFT;
    return qs < 0 ? PB_ERR_STORE_HARD : PB_ERR_OK;
}

void
pb_campaign_bodies_free(struct pb_campaign *campaign)
{
    free(campaign->html);
    free(campaign->text);
    campaign->html = NULL;
    campaign->text = NULL;
}
