/*
 * Placement: which store holds an account's data (mission feature 10).
 *
 * The control store holds the operator's world (accounts, users, regions,
 * placements). Each region is a named store; an account's tenant data lives
 * only in the store of its region. The region "local" (url "control") is the
 * control store itself, the default set-up with one SQLite file.
 */
#ifndef PB_STORE_PLACEMENT_H
#define PB_STORE_PLACEMENT_H

#include "store/store.h"

struct pb_placement;

/* Maps accounts to stores, opening each region's store on first use. */
enum pb_err
pb_placement_new(struct pb_store *control, int pool_size, struct pb_placement **out);

void
pb_placement_free(struct pb_placement *placement);

/* Makes sure the region "local" exists (run at init/migrate). */
enum pb_err
pb_placement_ensure_local(struct pb_store *control);

/*
 * The store holding `account_id`'s data (borrowed: owned by the placement).
 * PB_ERR_NOT_FOUND when the account has no placement.
 */
enum pb_err
pb_placement_store_for(struct pb_placement *placement, const char *account_id,
                       struct pb_store **out, char why[PB_WHY_MAX]);

#endif
