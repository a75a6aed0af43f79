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

#endif
