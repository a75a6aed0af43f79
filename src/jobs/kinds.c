/* The registry of the kinds of job this build runs, and of the runner's periodic tasks. */
#include "jobs/kinds.h"

enum pb_err
pb_job_kinds_register(void)
{
    static const struct pb_job_kind *const all[] = {&pb_job_kind_field_reseal, &pb_job_kind_import,
                                                    &pb_job_kind_campaign_prepare,
                                                    &pb_job_kind_storage_limit};
    for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++) {
        enum pb_err err = pb_runner_register(all[i]);
        if (err != PB_ERR_OK)
            return err;
    }
    return pb_runner_register_periodic(pb_job_storage_limit_schedule);
}
