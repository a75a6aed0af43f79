/*
 * The tenant store of an account: every use case on contacts, lists, fields
 * and consent runs its transactions there (store/placement.c decides which
 * store that is), never on the control store directly.
 */
#ifndef PB_MODEL_TENANT_H
#define PB_MODEL_TENANT_H

#include "model/app.h"

/* The account's store (borrowed from the placement). */
enum pb_err
pb_tenant_store(struct pb_app *app, const char *account_id, struct pb_store **out);

/* Runs `fn` in a transaction on the account's store. */
enum pb_err
pb_tenant_tx(struct pb_app *app, const char *account_id, enum pb_tx_mode mode, pb_tx_fn fn,
             void *cls);

/*
 * After an erasure committed: takes the wiped bytes out of the account's
 * database files (SQLite's WAL; nothing to do on PostgreSQL). Readers on an
 * older snapshot keep a checkpoint from finishing, so it is tried a few
 * times after a growing pause; PB_ERR_STORE_SOFT when they never let go
 * (the next checkpoint takes the bytes out).
 */
enum pb_err
pb_tenant_checkpoint(struct pb_app *app, const char *account_id);

#endif
