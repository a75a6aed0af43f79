/*
 * Accounts: the customers of an operator. Each account has a plan
 * (standard or enterprise: authors and dedicated regions are enterprise
 * features) and a placement in one region, which holds all its data.
 */
#ifndef PB_MODEL_ACCOUNT_H
#define PB_MODEL_ACCOUNT_H

#include "store/store.h"

#define PB_ACCOUNT_NAME_CHARS 100

/*
 * Creates an account and places it in `region` ("local" when NULL), in one
 * transaction. `plan` is "standard" (when NULL) or "enterprise".
 * Errors: PB_ERR_ACCOUNT_NAME, PB_ERR_ACCOUNT_PLAN, PB_ERR_REGION_UNKNOWN,
 * or a store error; `why` names the bad value.
 */
enum pb_err
pb_account_create(struct pb_store *control, const char *name, const char *plan, const char *region,
                  struct pb_account *out, char why[PB_WHY_MAX]);

#endif
