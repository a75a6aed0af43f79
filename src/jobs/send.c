/*
 * The prepare job of a campaign being sent: snapshots its recipients in
 * batches (model/campaign.h), after which the sender threads send to them.
 */
#include "jobs/kinds.h"

#include <stdio.h>

#include "model/campaign.h"

static enum pb_job_step
prepare_step(struct pb_app *app, struct pb_job *job, char why[PB_WHY_MAX])
{
    bool finished = false;
    enum pb_err err = pb_campaign_prepare_step(app, job, &finished, why);
    if (err != PB_ERR_OK) {
        if (why[0] == '\0')
            snprintf(why, PB_WHY_MAX, "%s", pb_err_hint(err));
        return PB_JOB_FAILED;
    }
    return finished ? PB_JOB_DONE : PB_JOB_MORE;
}

const struct pb_job_kind pb_job_kind_campaign_prepare = {PB_CAMPAIGN_PREPARE_KIND, prepare_step};
