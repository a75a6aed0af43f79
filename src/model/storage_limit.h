/*
 * Storage limitation (GDPR art. 5(1)(e)): an account may ask that contacts
 * be erased automatically once they have been on no list for N days
 * (erase_unlisted_after_days), and that double opt-ins still unconfirmed
 * after N days be erased (erase_unconfirmed_after_days). A periodic task
 * of the job runner schedules one sweep per account and interval; the
 * sweep is a job that erases the expired contacts batch by batch, each
 * with its receipt (reason "storage_limitation"), as model/erasure.h does.
 */
#ifndef PB_MODEL_STORAGE_LIMIT_H
#define PB_MODEL_STORAGE_LIMIT_H

#include <stdbool.h>
#include <stdint.h>

#include "model/app.h"
#include "store/store.h"

#define PB_STORAGE_LIMIT_KIND  "privacy.storage_limit"
#define PB_STORAGE_LIMIT_ACTOR "system:storage-limitation"
#define PB_STORAGE_LIMIT_BATCH 100 /* contacts erased in one step of the job */

/* How often an account is swept: [privacy] sweep_seconds (3600 by default). */
int64_t
pb_storage_limit_sweep_seconds(const struct pb_app *app);

/*
 * Queues a storage-limit job for every account whose limits are on and
 * whose last sweep is at least sweep_seconds old (`now` - sweep_seconds).
 * The accounts are claimed one by one in the control store, so that of
 * several nodes calling this at once only one queues an account's job.
 * Returns how many jobs it queued.
 */
int
pb_storage_limit_schedule(struct pb_app *app, int64_t now);

/*
 * The job's step: erases the next PB_STORAGE_LIMIT_BATCH contacts past the
 * account's limits (cut-offs from pb_clock_now()) after job->cursor (the
 * last contact id handled), checkpoints the store once, and moves the
 * cursor and progress_done (contacts erased); each step also moves the
 * account's storage_checked_at on, so that no second sweep is queued while
 * this one runs. Contacts erased meanwhile, or gone, are skipped; any
 * other error stops the step with `why`. `*finished` when the batch was
 * the last one: job->result is then {"erased": N}. A batch run again after
 * a crash skips what it erased (N then leaves those out).
 */
enum pb_err
pb_storage_limit_step(struct pb_app *app, struct pb_job *job, bool *finished, char why[PB_WHY_MAX]);

#endif
