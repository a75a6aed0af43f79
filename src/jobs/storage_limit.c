/*
 * Storage limitation (GDPR art. 5(1)(e)) in the runner: the job that erases
 * an account's contacts past its storage limits, batch by batch
 * (model/storage_limit.h does the work: each contact in its own erasure
 * transaction, one checkpoint of the store per batch), and the periodic
 * task that queues those jobs.
 */
#include "jobs/kinds.h"

#include <stdio.h>

#include "core/log.h"
#include "model/storage_limit.h"

static enum pb_job_step
storage_limit_step(struct pb_app *app, struct pb_job *job, char why[PB_WHY_MAX])
{
    bool finished = false;
    enum pb_err err = pb_storage_limit_step(app, job, &finished, why);
    if (err != PB_ERR_OK) {
        if (why[0] == '\0')
            snprintf(why, PB_WHY_MAX, "%s", pb_err_hint(err));
        return PB_JOB_FAILED;
    }
    return finished ? PB_JOB_DONE : PB_JOB_MORE;
}

const struct pb_job_kind pb_job_kind_storage_limit = {PB_STORAGE_LIMIT_KIND, storage_limit_step};

void
pb_job_storage_limit_schedule(struct pb_app *app, int64_t now)
{
    int scheduled = pb_storage_limit_schedule(app, now);
    if (scheduled > 0)
        pb_info("storage limit: %d sweep%s queued", scheduled, scheduled == 1 ? "" : "s");
}
