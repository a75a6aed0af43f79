/*
 * Placement: finds the store that holds an account's data. The account's
 * region comes from the control store; region stores are opened on first
 * use and kept (keyed by URL) for the placement's lifetime. The url
 * "control" means the control store itself.
 */
#include "store/placement.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/clock.h"
#include "core/log.h"
#include "core/strutil.h"

#define CONTROL_URL "control"

struct open_store {
    char url[PB_STORE_URL_MAX + 1];
    struct pb_store *store;
};

/*
 * Recent answers, so that a request does not pay a control-store transaction
 * to find its account's store. An entry lives CACHE_TTL_US: an account move
 * must keep writing to both sides at least that long before the switch.
 */
enum { CACHE_SLOTS = 1024, CACHE_TTL_US = 10 * 1000 * 1000 };

struct cached {
    char account_id[PB_ID_LEN + 1];
    struct pb_store *store;
    int64_t until_us;
};

struct pb_placement {
    struct pb_store *control;
    int pool_size;
    pthread_mutex_t lock; /* guards `stores` and `cache` */
    struct open_store *stores;
    size_t count;
    size_t cap;
    struct cached cache[CACHE_SLOTS]; /* direct-mapped by a hash of the account id */
};

static size_t
cache_slot(const char *account_id)
{
    size_t h = 5381;
    for (const char *p = account_id; *p; p++)
        h = h * 33 + (unsigned char)*p;
    return h % CACHE_SLOTS;
}

static struct pb_store *
cache_get(struct pb_placement *p, const char *account_id)
{
    struct pb_store *store = NULL;
    struct cached *c = &p->cache[cache_slot(account_id)];
    pthread_mutex_lock(&p->lock);
    if (c->store != NULL && strcmp(c->account_id, account_id) == 0 &&
        pb_clock_mono_us() < c->until_us)
        store = c->store;
    pthread_mutex_unlock(&p->lock);
    return store;
}

static void
cache_put(struct pb_placement *p, const char *account_id, struct pb_store *store)
{
    struct cached *c = &p->cache[cache_slot(account_id)];
    pthread_mutex_lock(&p->lock);
    pb_strlcpy(c->account_id, account_id, sizeof(c->account_id));
    c->store = store;
    c->until_us = pb_clock_mono_us() + CACHE_TTL_US;
    pthread_mutex_unlock(&p->lock);
}

enum pb_err
pb_placement_new(struct pb_store *control, int pool_size, struct pb_placement **out)
{
    struct pb_placement *p = calloc(1, sizeof(*p));
    *out = NULL;
    if (p == NULL)
        return PB_ERR_NOMEM;
    p->control = control;
    p->pool_size = pool_size;
    pthread_mutex_init(&p->lock, NULL);
    *out = p;
    return PB_ERR_OK;
}

void
pb_placement_free(struct pb_placement *placement)
{
    if (placement == NULL)
        return;
    for (size_t i = 0; i < placement->count; i++)
        pb_store_close(placement->stores[i].store);
    free(placement->stores);
    pthread_mutex_destroy(&placement->lock);
    free(placement);
}

static enum pb_qs
ensure_local_tx(struct pb_tx *tx, void *cls)
{
    (void)cls;
    struct pb_region local = {.name = "local", .url = CONTROL_URL};
    local.created_at = pb_clock_now();
    return tx->ops->region_insert(tx->conn, &local);
}

enum pb_err
pb_placement_ensure_local(struct pb_store *control)
{
    return pb_store_tx(control, PB_TX_WRITE, ensure_local_tx, NULL);
}

struct lookup {
    const char *account_id;
    struct pb_region region;
};

static enum pb_qs
lookup_tx(struct pb_tx *tx, void *cls)
{
    struct lookup *l = cls;
    char name[PB_REGION_NAME_MAX + 1];
    enum pb_qs qs = tx->ops->placement_get(tx->conn, l->account_id, name);
    if (qs < 0)
        return qs;
    if (qs == PB_QS_NONE)
        return pb_tx_abort(tx, PB_ERR_NOT_FOUND);
    if ((qs = tx->ops->region_get(tx->conn, name, &l->region)) < 0)
        return qs;
    if (qs == PB_QS_NONE) /* the foreign key forbids it */
        return pb_tx_abort(tx, PB_ERR_INTERNAL);
    return PB_QS_ONE;
}

/* The open store for `url`, opening and keeping it on first use. */
static enum pb_err
store_for_url(struct pb_placement *p, const char *url, struct pb_store **out, char why[PB_WHY_MAX])
{
    enum pb_err err = PB_ERR_OK;
    pthread_mutex_lock(&p->lock);
    for (size_t i = 0; i < p->count; i++) {
        if (strcmp(p->stores[i].url, url) == 0) {
            *out = p->stores[i].store;
            goto out;
        }
    }
    if (p->count == p->cap) {
        size_t cap = p->cap ? p->cap * 2 : 4;
        struct open_store *grown = realloc(p->stores, cap * sizeof(*grown));
        if (grown == NULL) {
            snprintf(why, PB_WHY_MAX, "out of memory opening a region's store");
            err = PB_ERR_NOMEM;
            goto out;
        }
        p->stores = grown;
        p->cap = cap;
    }
    /* A region's schema follows the binary's, like the control store's. */
    struct pb_store *store = NULL;
    int from = 0, to = 0;
    if ((err = pb_store_open(url, p->pool_size, &store, why)) != PB_ERR_OK)
        goto out;
    if ((err = pb_store_migrate(store, &from, &to, why)) != PB_ERR_OK) {
        pb_store_close(store);
        goto out;
    }
    pb_strlcpy(p->stores[p->count].url, url, sizeof(p->stores[p->count].url));
    p->stores[p->count++].store = store;
    *out = store;
out:
    pthread_mutex_unlock(&p->lock);
    return err;
}

enum pb_err
pb_placement_store_for(struct pb_placement *placement, const char *account_id,
                       struct pb_store **out, char why[PB_WHY_MAX])
{
    struct lookup l = {.account_id = account_id};
    if ((*out = cache_get(placement, account_id)) != NULL)
        return PB_ERR_OK;
    enum pb_err err = pb_store_tx(placement->control, PB_TX_READ, lookup_tx, &l);
    if (err == PB_ERR_NOT_FOUND) {
        snprintf(why, PB_WHY_MAX, "account %.40s has no placement", account_id);
        return err;
    }
    if (err != PB_ERR_OK) {
        snprintf(why, PB_WHY_MAX, "cannot read the placement of account %.40s: %s", account_id,
                 pb_err_hint(err));
        return err;
    }
    if (strcmp(l.region.url, CONTROL_URL) == 0) {
        *out = placement->control;
        cache_put(placement, account_id, *out);
        return PB_ERR_OK;
    }
    err = store_for_url(placement, l.region.url, out, why);
    if (err != PB_ERR_OK)
        pb_error("placement: region %s of account %.40s: %s", l.region.name, account_id, why);
    else
        cache_put(placement, account_id, *out);
    return err;
}
