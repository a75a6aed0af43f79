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

#define PB_ACCOUNT_NAME_CHARS     100
#define PB_ACCOUNT_ERASE_DAYS_MAX 3650 /* ten years: the longest storage limit */

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
    /*
     * Storage limitation (GDPR art. 5(1)(e)), in days from 0 (off, the
     * default) to PB_ACCOUNT_ERASE_DAYS_MAX: erase contacts this long without
     * any list membership, and unconfirmed double opt-ins this long after
     * they signed up (jobs/storage_limit.c). Each only when its set_ is true.
     */
    bool set_erase_unlisted;
    int64_t erase_unlisted_days;
    bool set_erase_unconfirmed;
    int64_t erase_unconfirmed_days;
};

/* Whether `tracking` is one of the modes above. */
bool
pb_account_tracking_valid(const char *tracking);

/*
 * Checks a patch: PB_ERR_INVALID with the bad setting's API name in
 * `*field` ("tracking", "erase_unlisted_after_days",
 * "erase_unconfirmed_after_days") and a sentence in `why`.
 */
enum pb_err
pb_account_patch_check(const struct pb_account_patch *patch, const char **field,
                       char why[PB_WHY_MAX]);

/* PB_ERR_INVALID for a patch pb_account_patch_check refuses (nothing is changed then). */
enum pb_err
pb_account_update(struct pb_app *app, const struct pb_principal *who,
                  const struct pb_account_patch *patch, const char *client_ip);

#endif
