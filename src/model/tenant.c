/* Transactions on an account's own store. */
#include "model/tenant.h"

#include <time.h>

#include "core/log.h"

enum {
    CHECKPOINT_TRIES = 5,    /* WAL checkpoints tried while readers keep the log busy */
    CHECKPOINT_PAUSE_MS = 50 /* between them, doubling */
};

enum pb_err
pb_tenant_store(struct pb_app *app, const char *account_id, struct pb_store **out)
{
    char why[PB_WHY_MAX] = "";
    enum pb_err err = pb_placement_store_for(app->placement, account_id, out, why);
    if (err != PB_ERR_OK && err != PB_ERR_NOT_FOUND)
        pb_error("the store of an account cannot be opened: %s", why);
    return err;
}

enum pb_err
pb_tenant_tx(struct pb_app *app, const char *account_id, enum pb_tx_mode mode, pb_tx_fn fn,
             void *cls)
{
    struct pb_store *store = NULL;
    enum pb_err err = pb_tenant_store(app, account_id, &store);
    if (err != PB_ERR_OK)
        return err;
    return pb_store_tx(store, mode, fn, cls);
}

enum pb_err
pb_tenant_checkpoint(struct pb_app *app, const char *account_id)
{
    struct pb_store *store = NULL;
    enum pb_err err = pb_tenant_store(app, account_id, &store);
    long pause_ms = CHECKPOINT_PAUSE_MS;
    for (int i = 0; err == PB_ERR_OK && i < CHECKPOINT_TRIES; i++) {
        err = pb_store_checkpoint(store);
        if (err != PB_ERR_STORE_SOFT)
            break;
        struct timespec pause = {pause_ms / 1000, (pause_ms % 1000) * 1000000L};
        nanosleep(&pause, NULL);
        pause_ms *= 2;
    }
    return err;
}
