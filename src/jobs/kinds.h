/* The kinds of job Postbode runs, registered with the runner at start-up. */
#ifndef PB_JOBS_KINDS_H
#define PB_JOBS_KINDS_H

#include "jobs/runner.h"

extern const struct pb_job_kind pb_job_kind_field_reseal;
extern const struct pb_job_kind pb_job_kind_import;
extern const struct pb_job_kind pb_job_kind_campaign_prepare;
extern const struct pb_job_kind pb_job_kind_storage_limit;

/* The periodic task that queues the storage-limit sweeps (pb_storage_limit_schedule). */
void
pb_job_storage_limit_schedule(struct pb_app *app, int64_t now);

/* Registers every kind above, and the periodic tasks, with the runner. */
enum pb_err
pb_job_kinds_register(void);

#endif
