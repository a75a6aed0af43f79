/* GET /jobs/{id}: a background job's state and progress (field re-sealing, later imports). */
#include "api/api.h"

#include "http/request.h"
#include "model/job.h"

void
pb_api_jobs_get(struct pb_request *req)
{
    const struct pb_principal *who = pb_request_caller(req);
    if (who == NULL)
        return;
    const char *id = pb_request_param(req, "id");
    json_t *job = NULL;
    enum pb_err err =
        pb_id_valid(id) ? pb_job_get_json(req->app, who->account_id, id, &job) : PB_ERR_NOT_FOUND;
    if (err == PB_ERR_OK)
        pb_reply_json(req, 200, job);
    else if (err == PB_ERR_NOT_FOUND)
        pb_reply_error(req, err, NULL, "no such job in this account");
    else
        pb_reply_error(req, err, NULL, "cannot read the job now");
}
