/* The app context and its cache of unwrapped account data keys. */
#include "model/app.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "core/log.h"
#include "core/strutil.h"

struct cached_key {
    char account_id[PB_ID_LEN + 1];
    struct pb_data_key *key;
};

/*
 * Unwrapping costs little, but every request of an account needs its key:
 * keep each unwrapped once, for the life of the process (keys never change
 * in place; rotation will add new key ids).
 */
struct pb_key_cache {
    pthread_mutex_t lock;
    struct cached_key *entries;
    size_t count, cap;
};

enum pb_err
pb_app_init(struct pb_app *app, const struct pb_config *config, struct pb_store *control,
            struct pb_placement *placement, struct pb_keys *keys)
{
    memset(app, 0, sizeof(*app));
    app->config = config;
    app->control = control;
    app->placement = placement;
    app->keys = keys;
    app->key_cache = calloc(1, sizeof(*app->key_cache));
    if (app->key_cache == NULL)
        return PB_ERR_NOMEM;
    pthread_mutex_init(&app->key_cache->lock, NULL);
    return PB_ERR_OK;
}

void
pb_app_release(struct pb_app *app)
{
    struct pb_key_cache *c = app->key_cache;
    if (c == NULL)
        return;
    for (size_t i = 0; i < c->count; i++)
        pb_data_key_free(c->entries[i].key);
    free(c->entries);
    pthread_mutex_destroy(&c->lock);
    free(c);
    app->key_cache = NULL;
}

struct key_lookup {
    const char *account_id;
    struct pb_account account;
    const struct pb_keys *keys;
    unsigned char fresh[PB_SEALED_MAX];
    size_t fresh_len;
};

/* Reads the account's wrapped key; gives one to an account that predates data keys. */
static enum pb_qs
key_tx(struct pb_tx *tx, void *cls)
{
    struct key_lookup *l = cls;
    enum pb_qs qs = tx->ops->account_get(tx->conn, l->account_id, &l->account);
    if (qs <= 0)
        return qs < 0 ? qs : pb_tx_abort(tx, PB_ERR_NOT_FOUND);
    if (l->account.data_key_len > 0)
        return PB_QS_ONE;
    qs = tx->ops->account_set_data_key(tx->conn, l->account_id, l->fresh, l->fresh_len);
    if (qs < 0)
        return qs;
    memcpy(l->account.data_key, l->fresh, l->fresh_len);
    l->account.data_key_len = l->fresh_len;
    return PB_QS_ONE;
}

enum pb_err
pb_app_data_key(struct pb_app *app, const char *account_id, const struct pb_data_key **out)
{
    struct pb_key_cache *c = app->key_cache;
    *out = NULL;
    if (app->keys == NULL)
        return PB_ERR_MASTER_KEY;
    pthread_mutex_lock(&c->lock);
    for (size_t i = 0; i < c->count; i++) {
        if (strcmp(c->entries[i].account_id, account_id) == 0) {
            *out = c->entries[i].key;
            pthread_mutex_unlock(&c->lock);
            return PB_ERR_OK;
        }
    }
    pthread_mutex_unlock(&c->lock);

    struct key_lookup l = {.account_id = account_id, .keys = app->keys};
    unsigned char *wrapped = NULL;
    size_t wrapped_len = 0;
    enum pb_err err = pb_keys_new_data_key(app->keys, account_id, &wrapped, &wrapped_len);
    if (err != PB_ERR_OK)
        return err;
    if (wrapped_len <= sizeof(l.fresh)) {
        memcpy(l.fresh, wrapped, wrapped_len);
        l.fresh_len = wrapped_len;
    }
    free(wrapped);
    if ((err = pb_store_tx(app->control, PB_TX_WRITE, key_tx, &l)) != PB_ERR_OK)
        return err;

    struct pb_data_key *key = NULL;
    err = pb_keys_open_data_key(app->keys, account_id, l.account.data_key, l.account.data_key_len,
                                &key);
    if (err != PB_ERR_OK) {
        pb_error("the data key of an account does not open with this master key");
        return err;
    }
    pthread_mutex_lock(&c->lock);
    /* Another thread may have added it meanwhile: keep one. */
    for (size_t i = 0; i < c->count; i++) {
        if (strcmp(c->entries[i].account_id, account_id) == 0) {
            *out = c->entries[i].key;
            pthread_mutex_unlock(&c->lock);
            pb_data_key_free(key);
            return PB_ERR_OK;
        }
    }
    if (c->count == c->cap) {
        size_t cap = c->cap ? c->cap * 2 : 16;
        struct cached_key *grown = realloc(c->entries, cap * sizeof(*grown));
        if (grown == NULL) {
            pthread_mutex_unlock(&c->lock);
            pb_data_key_free(key);
            return PB_ERR_NOMEM;
        }
        c->entries = grown;
        c->cap = cap;
    }
    pb_strlcpy(c->entries[c->count].account_id, account_id, PB_ID_LEN + 1);
    c->entries[c->count++].key = key;
    *out = key;
    pthread_mutex_unlock(&c->lock);
    return PB_ERR_OK;
}
