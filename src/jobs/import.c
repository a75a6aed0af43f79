/*
 * The import job: checks the uploaded file, then imports it batch by batch
 * (model/import.h does the work; each batch commits with its checkpoint).
 */
#include "jobs/kinds.h"

#include <stdio.h>

#include "model/import.h"

static enum pb_job_step
import_step(struct pb_app *app, struct pb_job *job, char why[PB_WHY_MAX])
{
    bool finished = false;
    enum pb_err err = pb_import_step(app, job, &finished, why);
    if (err != PB_ERR_OK) {
        if (why[0] == '\0')
            snprintf(why, PB_WHY_MAX, "%s", pb_err_hint(err));
        return PB_JOB_FAILED; /* the store retried transient conflicts already */
    }
    return finished ? PB_JOB_DONE : PB_JOB_MORE;
}

const struct pb_job_kind pb_job_kind_import = {PB_IMPORT_KIND, import_step};
