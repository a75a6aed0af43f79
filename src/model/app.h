/*
 * What every use case of the model shares: the configuration, the control
 * store, the placement of accounts, the keys, and the cache of unwrapped
 * account data keys. The server, the CLI and the workers each build one.
 */
#ifndef PB_MODEL_APP_H
#define PB_MODEL_APP_H

#include "core/config.h"
#include "crypto/keys.h"
#include "store/placement.h"
#include "store/store.h"

struct pb_key_cache;

struct pb_app {
    const struct pb_config *config;
    struct pb_store *control;
    struct pb_placement *placement;
    struct pb_keys *keys;           /* NULL where no secret is handled (some tests) */
    struct pb_key_cache *key_cache; /* created by pb_app_init */
};

/* Fills in an app over borrowed parts and creates its key cache. */
enum pb_err
pb_app_init(struct pb_app *app, const struct pb_config *config, struct pb_store *control,
            struct pb_placement *placement, struct pb_keys *keys);

/* Frees what pb_app_init created (not the borrowed parts). */
void
pb_app_release(struct pb_app *app);

/*
 * The unwrapped data key of an account (borrowed from the cache, valid until
 * pb_app_release). An account created before data keys existed gets one here.
 */
enum pb_err
pb_app_data_key(struct pb_app *app, const char *account_id, const struct pb_data_key **out);

#endif
