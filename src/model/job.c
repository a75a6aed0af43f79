/* Jobs in the model: queue one, read its state and progress as JSON. */
#include "model/job.h"

#include <stdlib.h>
#include <pthread.h>
#include <string.h>

#include "core/clock.h"
#include "core/strutil.h"
#include "model/tenant.h"

struct get {
    const char *account_id;
    const char *id;
    struct pb_job *job;
};

static enum pb_qs
insert_tx(struct pb_tx *tx, void *cls)
{
    return tx->ops->job_insert(tx->conn, cls);
}

static enum pb_qs
get_tx(struct pb_tx *tx, void *cls)
{
    struct get *g = cls;
    enum pb_qs qs = tx->ops->job_get(tx->conn, g->account_id, g->id, g->job);
    return qs == PB_QS_NONE ? pb_tx_abort(tx, PB_ERR_NOT_FOUND) : qs;
}

int64_t
pb_job_lease_seconds(const struct pb_app *app)
{
    return app->config != NULL && app->config->jobs_lease_seconds > 0
               ? app->config->jobs_lease_seconds
               : 60;
}

enum pb_err
pb_job_enqueue(struct pb_app *app, const char *account_id, const char *kind,
               const char *params_json, char id[PB_ID_LEN + 1])
{
    char fresh[PB_ID_LEN + 1];
    pb_id_new(fresh);
    enum pb_err err = pb_job_enqueue_id(app, account_id, kind, params_json, fresh);
    if (err == PB_ERR_OK)
        memcpy(id, fresh, sizeof(fresh));
    return err;
}

enum pb_err
pb_job_enqueue_id(struct pb_app *app, const char *account_id, const char *kind,
                  const char *params_json, const char *id)
{
    static struct pb_job zero;
    if (params_json == NULL)
        params_json = "{}";
    if (!pb_id_valid(account_id) || !pb_id_valid(id) || kind == NULL || kind[0] == '\0' ||
        strlen(kind) > PB_JOB_KIND_MAX || strchr(kind, ',') != NULL)
        return PB_ERR_INVALID;
    if (strlen(params_json) > PB_JOB_PARAMS_MAX)
        return PB_ERR_TOO_LARGE;
    json_t *params = json_loads(params_json, JSON_REJECT_DUPLICATES, NULL);
    bool is_object = json_is_object(params);
    json_decref(params);
    if (!is_object)
        return PB_ERR_INVALID;

    /* The struct is large (its text columns are inline): keep it off the stack. */
    struct pb_job *job = malloc(sizeof(*job));
    if (job == NULL)
        return PB_ERR_NOMEM;
    *job = zero;
    pb_strlcpy(job->id, id, sizeof(job->id));
    pb_strlcpy(job->account_id, account_id, sizeof(job->account_id));
    pb_strlcpy(job->kind, kind, sizeof(job->kind));
    pb_strlcpy(job->params, params_json, sizeof(job->params));
    pb_strlcpy(job->state, "queued", sizeof(job->state));
    job->created_at = job->updated_at = pb_clock_now();
    enum pb_err err = pb_tenant_tx(app, account_id, PB_TX_WRITE, insert_tx, job);
    free(job);
    if (err == PB_ERR_OK)
        pb_job_notify_queued();
    return err;
}

enum pb_err
pb_job_get_json(struct pb_app *app, const char *account_id, const char *id, json_t **out)
{
    *out = NULL;
    if (!pb_id_valid(account_id) || !pb_id_valid(id))
        return PB_ERR_NOT_FOUND;
    struct pb_job *job = malloc(sizeof(*job));
    if (job == NULL)
        return PB_ERR_NOMEM;
    struct get g = {.account_id = account_id, .id = id, .job = job};
    enum pb_err err = pb_tenant_tx(app, account_id, PB_TX_READ, get_tx, &g);
    if (err != PB_ERR_OK)
        goto out;
    char created[21], updated[21];
    pb_clock_format_rfc3339(job->created_at, created);
    pb_clock_format_rfc3339(job->updated_at, updated);
    json_t *result = job->result[0] ? json_loads(job->result, 0, NULL) : NULL;
    *out = json_pack(
        "{s:s, s:s, s:s, s:{s:I, s:I}, s:o, s:s?, s:s, s:s}", "id", job->id, "kind", job->kind,
        "state", job->state, "progress", "done", (json_int_t)job->progress_done, "total",
        (json_int_t)job->progress_total, "result", result ? result : json_null(), "error",
        job->error[0] ? job->error : NULL, "created_at", created, "updated_at", updated);
    if (*out == NULL)
        err = PB_ERR_NOMEM;
out:
    free(job);
    return err;
}

enum pb_qs
pb_job_insert_tx(struct pb_tx *tx, const char *account_id, const char *kind,
                 const char *params_json, char id[PB_ID_LEN + 1])
{
    static struct pb_job zero;
    if (strlen(params_json) > PB_JOB_PARAMS_MAX || strlen(kind) > PB_JOB_KIND_MAX)
        return pb_tx_abort(tx, PB_ERR_TOO_LARGE);
    struct pb_job *job = malloc(sizeof(*job));
    if (job == NULL)
        return pb_tx_abort(tx, PB_ERR_NOMEM);
    *job = zero;
    pb_id_new(job->id);
    pb_strlcpy(job->account_id, account_id, sizeof(job->account_id));
    pb_strlcpy(job->kind, kind, sizeof(job->kind));
    pb_strlcpy(job->params, params_json, sizeof(job->params));
    pb_strlcpy(job->state, "queued", sizeof(job->state));
    job->created_at = job->updated_at = pb_clock_now();
    enum pb_qs qs = tx->ops->job_insert(tx->conn, job);
    if (qs >= 0)
        memcpy(id, job->id, PB_ID_LEN + 1);
    free(job);
    return qs;
}

/* The process's one listener; the lock keeps it from going while it is told. */
static pthread_mutex_t listener_lock = PTHREAD_MUTEX_INITIALIZER;
static void (*listener_fn)(void *cls);
static void *listener_cls;

void
pb_job_set_listener(void (*fn)(void *cls), void *cls)
{
    pthread_mutex_lock(&listener_lock);
    listener_fn = fn;
    listener_cls = cls;
    pthread_mutex_unlock(&listener_lock);
}

void
pb_job_notify_queued(void)
{
    pthread_mutex_lock(&listener_lock);
    if (listener_fn != NULL)
        listener_fn(listener_cls);
    pthread_mutex_unlock(&listener_lock);
}
