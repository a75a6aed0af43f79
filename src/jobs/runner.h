/*
 * The job runner: threads of `postbode serve` that take jobs (imports,
 * exports, re-sealing, erasures) from the database under a lease, run them
 * one bounded step at a time and checkpoint after each step, so that a job
 * survives a crash or a restart (another node, or this one again, takes it
 * over when the lease runs out) and never runs on two nodes at once.
 */
#ifndef PB_JOBS_RUNNER_H
#define PB_JOBS_RUNNER_H

#include "model/app.h"
#include "store/store.h"

enum pb_job_step {
    PB_JOB_MORE,   /* a batch done; call again from job->cursor */
    PB_JOB_DONE,   /* finished; job->result holds the outcome (JSON, or "") */
    PB_JOB_FAILED, /* stopped for good; `why` says why */
};

/*
 * A kind of job. `step` does one bounded batch (e.g. 500 rows in its own
 * transaction) from job->cursor and job->progress_*, and moves them on. It
 * must be idempotent per batch: a crash between its transaction and the
 * runner's checkpoint runs that batch again. It must not take longer than a
 * fraction of the lease (60 s).
 */
struct pb_job_kind {
    const char *name; /* no commas; at most PB_JOB_KIND_MAX bytes */
    enum pb_job_step (*step)(struct pb_app *app, struct pb_job *job, char why[PB_WHY_MAX]);
};

/*
 * Adds a kind to the process's registry (start-up only, before
 * pb_runner_start); a kind of the same name is replaced. PB_ERR_INVALID for
 * a bad name, PB_ERR_TOO_LARGE when the registry is full.
 */
enum pb_err
pb_runner_register(const struct pb_job_kind *kind);

/*
 * A periodic task (e.g. scheduling the storage-limit sweeps): called by
 * runner thread 0 of every started runner shortly after it starts and then
 * every min([privacy] sweep_seconds, 60) seconds, with the wall-clock time.
 * It must be cheap and safe to run on every node at once: what must happen
 * once is decided in the database (e.g. a conditional claim).
 */
typedef void (*pb_runner_periodic_fn)(struct pb_app *app, int64_t now);

/*
 * Adds a periodic task (start-up only, before pb_runner_start); adding one
 * that is there already changes nothing. PB_ERR_INVALID for NULL,
 * PB_ERR_TOO_LARGE when the registry is full.
 */
enum pb_err
pb_runner_register_periodic(pb_runner_periodic_fn fn);

struct pb_runner;

/*
 * Starts `threads` runner threads; each leases jobs as "NODE_ID#N". Only
 * kinds registered here are claimed, so a node never takes a job it cannot run.
 */
enum pb_err
pb_runner_start(struct pb_app *app, const char *node_id, int threads, struct pb_runner **out);

/*
 * Asks the threads to stop after their current step, waits for them, frees
 * everything. A job stopped midway keeps its checkpoint and is handed back at
 * once (its lease ends now), so the next runner resumes it.
 */
void
pb_runner_stop(struct pb_runner *runner);

/*
 * Runs the job `id` of `account_id` here, in the calling thread, to its
 * end (for `postbode import`, which runs its own job): claims it under
 * `owner` and steps it, calling `progress` (may be NULL) after every step.
 * `*ran` is false when the job could not be claimed (finished already, or
 * another node holds its lease).
 */
enum pb_err
pb_runner_run_job(struct pb_app *app, const char *account_id, const char *id, const char *owner,
                  void (*progress)(void *cls, const struct pb_job *job), void *cls, bool *ran);

#endif
