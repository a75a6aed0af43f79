/*
 * The job that seals (or opens) every value of a field after its sensitive
 * flag changed: one batch per step, resumable from its cursor (the last
 * contact id done).
 */
#include "jobs/kinds.h"

#include <string.h>

#include <jansson.h>

#include "core/strutil.h"
#include "model/field.h"

static enum pb_job_step
reseal_step(struct pb_app *app, struct pb_job *job, char why[PB_WHY_MAX])
{
    json_t *params = json_loads(job->params, 0, NULL);
    const char *key = json_string_value(json_object_get(params, "key"));
    if (key == NULL) {
        json_decref(params);
        pb_strlcpy(why, "the job's parameters name no field", PB_WHY_MAX);
        return PB_JOB_FAILED;
    }
    char after[PB_ID_LEN + 1];
    pb_strlcpy(after, job->cursor, sizeof(after));
    int changed = 0;
    bool finished = false;
    enum pb_err err = pb_field_reseal_batch(app, job->account_id, key, after, &changed, &finished);
    json_decref(params);
    if (err != PB_ERR_OK) {
        pb_strlcpy(why, pb_err_hint(err), PB_WHY_MAX);
        return PB_JOB_FAILED;
    }
    pb_strlcpy(job->cursor, after, sizeof(job->cursor));
    job->progress_done += changed;
    if (!finished)
        return PB_JOB_MORE;
    job->progress_total = job->progress_done;
    return PB_JOB_DONE;
}

const struct pb_job_kind pb_job_kind_field_reseal = {PB_FIELD_RESEAL_JOB, reseal_step};
