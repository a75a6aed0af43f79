/*
 * Accounts: the customers of an operator. Each account has a plan
 * (standard or enterprise: authors and dedicated regions are enterprise
 * features) and a placement in one region, which holds all its data.
 */
#ifndef PB_MODEL_ACCOUNT_H
#define PB_MODEL_ACCOUNT_H

#include <stdbool.h>

#include "model/app.h"
#include "store/store.h"

struct pb_principal;

#define PB_ACCOUNT_NAME_CHARS 100

/*
 * Creates an account with its own data key (wrapped by the master key) and
 * places it in `region` ("local" when NULL), in one transaction. `plan` is
 * "standard" (when NULL) or "enterprise".
 * Errors: PB_ERR_ACCOUNT_NAME, PB_ERR_ACCOUNT_PLAN, PB_ERR_REGION_UNKNOWN,
 * or a store error; `why` names the bad value.
 */
enum pb_err
pb_account_create(struct pb_app *app, const char *name, const char *plan, const char *region,
                  struct pb_account *out, char why[PB_WHY_MAX]);

/* An account by id; PB_ERR_NOT_FOUND when there is none. */
enum pb_err
pb_account_get(struct pb_app *app, const char *account_id, struct pb_account *out);

/* Settings of the caller's account (audited). */
struct pb_account_patch {
    bool set_require_2fa;
    bool require_2fa;
    /*
     * What campaign mail tracks: "off", "aggregate" (counts only, no record
     * of who opened or clicked: the default) or "individual" (per
     * recipient). NULL: left as it is.
     */
    const char *tracking;
};

/* Whether `tracking` is one of the modes above. */
bool
pb_account_tracking_valid(const char *tracking);

/* PB_ERR_INVALID for a tracking mode that is not one (nothing is changed then). */
enum pb_err
pb_account_update(struct pb_app *app, const struct pb_principal *who,
                  const struct pb_account_patch *patch, const char *client_ip);

#endif
