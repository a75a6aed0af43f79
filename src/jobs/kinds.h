/* The kinds of job Postbode runs, registered with the runner at start-up. */
#ifndef PB_JOBS_KINDS_H
#define PB_JOBS_KINDS_H

#include "jobs/runner.h"

extern const struct pb_job_kind pb_job_kind_field_reseal;
extern const struct pb_job_kind pb_job_kind_import;
extern const struct pb_job_kind pb_job_kind_campaign_prepare;

/* Registers every kind above with the runner. */
enum pb_err
pb_job_kinds_register(void);

#endif
