/*
 * Jobs as the rest of the model sees them: queue one for an account, and
 * read its state and progress as JSON. The jobs runner (jobs/runner.h)
 * does the work.
 */
#ifndef PB_MODEL_JOB_H
#define PB_MODEL_JOB_H

#include <jansson.h>

#include "model/app.h"

/*
 * Queues a job of `kind` for `account_id` with `params_json` (a JSON
 * object; NULL for "{}"); its new id into `id`. PB_ERR_INVALID for a bad
 * kind or parameters that are not a JSON object, PB_ERR_TOO_LARGE when they
 * exceed PB_JOB_PARAMS_MAX.
 */
enum pb_err
pb_job_enqueue(struct pb_app *app, const char *account_id, const char *kind,
               const char *params_json, char id[PB_ID_LEN + 1]);

/* How long a job's lease lasts: [jobs] lease_seconds of the configuration (60 by default). */
int64_t
pb_job_lease_seconds(const struct pb_app *app);

/* pb_job_enqueue with the id chosen by the caller (an import is known by its upload's id). */
enum pb_err
pb_job_enqueue_id(struct pb_app *app, const char *account_id, const char *kind,
                  const char *params_json, const char *id);

/*
 * The job `id` of `account_id` as {id, kind, state, progress: {done, total},
 * result, error, created_at, updated_at} (result: the JSON stored, or null;
 * error: text or null). PB_ERR_NOT_FOUND for a job of another account.
 */
enum pb_err
pb_job_get_json(struct pb_app *app, const char *account_id, const char *id, json_t **out);

/*
 * Inside a write transaction on the account's store: queues a job together
 * with the change that calls for it (so that neither happens without the
 * other). `params_json` must be a JSON object; the new id goes to `id`.
 */
enum pb_qs
pb_job_insert_tx(struct pb_tx *tx, const char *account_id, const char *kind,
                 const char *params_json, char id[PB_ID_LEN + 1]);

/*
 * The runner of this process listens for new jobs, so that a job queued by
 * a request starts at once instead of at the runner's next idle poll:
 * pb_job_set_listener(fn, cls) at its start, (NULL, NULL) before it goes.
 * pb_job_notify_queued() is called after the commit that queued jobs.
 */
void
pb_job_set_listener(void (*fn)(void *cls), void *cls);

void
pb_job_notify_queued(void);

#endif
