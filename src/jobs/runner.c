/*
 * The job runner: claim under a lease, step, checkpoint, finish; idle
 * polling once a second; thread 0 also runs the periodic tasks.
 */
#include "jobs/runner.h"

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/clock.h"
#include "core/log.h"
#include "core/strutil.h"
#include "model/job.h"
#include "model/tenant.h"

enum {
    IDLE_SECONDS = 1, /* how often an idle thread looks for work */
    KINDS_MAX = 32,
    PERIODIC_MAX = 8,
    THREADS_MAX = 64,
    TICK_MAX_SECONDS = 60, /* the longest pause between two runs of the periodic tasks */
};

/* The registry of kinds: filled at start-up, read by every runner thread. */
static pthread_mutex_t kinds_lock = PTHREAD_MUTEX_INITIALIZER;
static const struct pb_job_kind *kinds[KINDS_MAX];
static int kinds_count;
/* The periodic tasks, likewise (under kinds_lock). */
static pb_runner_periodic_fn periodics[PERIODIC_MAX];
static int periodics_count;

struct worker {
    struct pb_runner *runner;
    pthread_t thread;
    char owner[PB_JOB_OWNER_MAX + 1];
    struct pb_job job; /* the job in hand */
};

struct pb_runner {
    struct pb_app *app;
    pthread_mutex_t lock;
    pthread_cond_t wake;
    unsigned long queued; /* how many times jobs were queued: idle threads wake when it moves */
    bool stopping;
    int threads;
    bool periodic;        /* thread 0 runs the periodic tasks (not in pb_runner_run_job) */
    int64_t next_tick_us; /* when thread 0 runs them next (monotonic; only it reads this) */
    /* pb_runner_run_job only: told after every step. */
    void (*progress)(void *cls, const struct pb_job *job);
    void *progress_cls;
    struct worker workers[];
};

enum pb_err
pb_runner_register(const struct pb_job_kind *kind)
{
    if (kind == NULL || kind->name == NULL || kind->step == NULL || kind->name[0] == '\0' ||
        strlen(kind->name) > PB_JOB_KIND_MAX || strchr(kind->name, ',') != NULL)
        return PB_ERR_INVALID;
    enum pb_err err = PB_ERR_OK;
    pthread_mutex_lock(&kinds_lock);
    int i = 0;
    while (i < kinds_count && strcmp(kinds[i]->name, kind->name) != 0)
        i++;
    if (i < kinds_count)
        kinds[i] = kind;
    else if (kinds_count < KINDS_MAX)
        kinds[kinds_count++] = kind;
    else
        err = PB_ERR_TOO_LARGE;
    pthread_mutex_unlock(&kinds_lock);
    return err;
}

enum pb_err
pb_runner_register_periodic(pb_runner_periodic_fn fn)
{
    if (fn == NULL)
        return PB_ERR_INVALID;
    enum pb_err err = PB_ERR_OK;
    pthread_mutex_lock(&kinds_lock);
    int i = 0;
    while (i < periodics_count && periodics[i] != fn)
        i++;
    if (i == periodics_count) {
        if (periodics_count < PERIODIC_MAX)
            periodics[periodics_count++] = fn;
        else
            err = PB_ERR_TOO_LARGE;
    }
    pthread_mutex_unlock(&kinds_lock);
    return err;
}

/*
 * Thread 0 of a started runner: runs the periodic tasks when they are due.
 * The tick is every min(sweep_seconds, 60) seconds whatever the setting,
 * because it is cheap (a page of accounts) and what must happen once per
 * interval is decided per account in the database (a conditional claim):
 * a short tick only lets a sweep start soon after it became due, or soon
 * after the setting was turned on, on whichever node comes first.
 */
static void
tick(struct pb_runner *r, const struct worker *w)
{
    if (!r->periodic || w != &r->workers[0])
        return;
    int64_t now_us = pb_clock_mono_us();
    if (now_us < r->next_tick_us)
        return;
    int seconds = r->app->config != NULL ? r->app->config->privacy_sweep_seconds : 0;
    if (seconds <= 0 || seconds > TICK_MAX_SECONDS)
        seconds = TICK_MAX_SECONDS;
    r->next_tick_us = now_us + (int64_t)seconds * 1000000;
    pb_runner_periodic_fn fns[PERIODIC_MAX];
    pthread_mutex_lock(&kinds_lock);
    int n = periodics_count;
    memcpy(fns, periodics, sizeof(fns[0]) * (size_t)n);
    pthread_mutex_unlock(&kinds_lock);
    for (int i = 0; i < n; i++)
        fns[i](r->app, pb_clock_now());
}

/* The registered kind called `name`, or NULL. */
static const struct pb_job_kind *
find_kind(const char *name)
{
    const struct pb_job_kind *found = NULL;
    pthread_mutex_lock(&kinds_lock);
    for (int i = 0; i < kinds_count && found == NULL; i++)
        if (strcmp(kinds[i]->name, name) == 0)
            found = kinds[i];
    pthread_mutex_unlock(&kinds_lock);
    return found;
}

/* The registered kinds' names joined by commas, for job_claim. */
static void
kind_names(char *out, size_t size)
{
    size_t len = 0;
    out[0] = '\0';
    pthread_mutex_lock(&kinds_lock);
    for (int i = 0; i < kinds_count; i++) {
        int n = snprintf(out + len, size - len, "%s%s", i ? "," : "", kinds[i]->name);
        if (n < 0 || (size_t)n >= size - len)
            break;
        len += (size_t)n;
    }
    pthread_mutex_unlock(&kinds_lock);
}

static bool
is_stopping(struct pb_runner *r)
{
    pthread_mutex_lock(&r->lock);
    bool stopping = r->stopping;
    pthread_mutex_unlock(&r->lock);
    return stopping;
}

/* Sleeps `seconds`, or until jobs are queued in this process or it stops; false when stopping. */
static bool
idle(struct pb_runner *r, int seconds)
{
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += seconds;
    pthread_mutex_lock(&r->lock);
    unsigned long queued = r->queued;
    while (!r->stopping && r->queued == queued &&
           pthread_cond_timedwait(&r->wake, &r->lock, &until) != ETIMEDOUT)
        ;
    bool stopping = r->stopping;
    pthread_mutex_unlock(&r->lock);
    return !stopping;
}

struct claim {
    const char *owner;
    const char *kinds;
    int64_t lease_seconds;
    struct pb_job *job;
    enum pb_qs qs; /* PB_QS_ONE: a job was taken */
};

static enum pb_qs
claim_tx(struct pb_tx *tx, void *cls)
{
    struct claim *c = cls;
    int64_t now = pb_clock_now();
    c->qs = tx->ops->job_claim(tx->conn, now, c->owner, now + c->lease_seconds, c->kinds, c->job);
    return c->qs;
}

struct progress {
    const struct pb_job *job;
    const char *owner;
    int64_t lease_until;
    const char *state; /* NULL: checkpoint only; "done" or "failed": then finish */
    const char *error;
    enum pb_qs qs; /* PB_QS_NONE: the lease was lost */
};

/* Records the job's progress and, for a final state, finishes it: one transaction. */
static enum pb_qs
progress_tx(struct pb_tx *tx, void *cls)
{
    struct progress *p = cls;
    const struct pb_job *job = p->job;
    int64_t now = pb_clock_now();
    p->qs = tx->ops->job_checkpoint(tx->conn, now, job->id, p->owner, job->cursor,
                                    job->progress_done, job->progress_total, p->lease_until);
    if (p->qs <= PB_QS_NONE || p->state == NULL)
        return p->qs;
    p->qs = tx->ops->job_finish(tx->conn, now, job->id, p->owner, p->state, job->result, p->error);
    return p->qs;
}

/* Runs the claimed job step by step until it ends, the lease is lost, or the runner stops. */
static void
work(struct pb_runner *r, struct worker *w)
{
    struct pb_job *job = &w->job;
    const struct pb_job_kind *kind = find_kind(job->kind);
    pb_info("runner: %s took job %s (%s) at %lld/%lld", w->owner, job->id, job->kind,
            (long long)job->progress_done, (long long)job->progress_total);
    for (;;) {
        char why[PB_WHY_MAX] = "";
        enum pb_job_step step = PB_JOB_FAILED;
        if (kind == NULL)
            snprintf(why, sizeof(why), "no runner knows the job kind \"%s\"", job->kind);
        else
            step = kind->step(r->app, job, why);

        struct progress p = {.job = job, .owner = w->owner};
        bool stopping = false;
        if (step == PB_JOB_MORE) {
            /* Stopping hands the job back at once: its lease ends now. */
            stopping = is_stopping(r);
            p.lease_until = pb_clock_now() + (stopping ? 0 : pb_job_lease_seconds(r->app));
        } else {
            p.state = step == PB_JOB_DONE ? "done" : "failed";
            if (step != PB_JOB_DONE)
                p.error = why[0] ? why : "the job failed";
        }
        enum pb_err err = pb_tenant_tx(r->app, job->account_id, PB_TX_WRITE, progress_tx, &p);
        if (err != PB_ERR_OK) {
            pb_warn("runner: job %s (%s): cannot save progress: %s; leaving it to its lease",
                    job->id, job->kind, pb_err_hint(err));
            return;
        }
        if (r->progress != NULL)
            r->progress(r->progress_cls, job);
        if (p.qs == PB_QS_NONE) {
            pb_warn("runner: job %s (%s): %s lost its lease; dropping it", job->id, job->kind,
                    w->owner);
            return;
        }
        if (step != PB_JOB_MORE) {
            pb_info("runner: job %s (%s) %s%s%s", job->id, job->kind, p.state, p.error ? ": " : "",
                    p.error ? p.error : "");
            return;
        }
        if (stopping)
            return;
        tick(r, w); /* a long job in thread 0 does not hold the periodic tasks up */
    }
}

/*
 * One runner thread. It polls the control store only: that is the default
 * region ("local"), where every account lives until regions come (the
 * region issue will poll each region's store in turn).
 */
static void *
run(void *arg)
{
    struct worker *w = arg;
    struct pb_runner *r = w->runner;
    char names[KINDS_MAX * (PB_JOB_KIND_MAX + 1) + 1];
    while (!is_stopping(r)) {
        tick(r, w);
        kind_names(names, sizeof(names));
        if (names[0] == '\0') {
            idle(r, IDLE_SECONDS);
            continue;
        }
        struct claim c = {.owner = w->owner,
                          .kinds = names,
                          .lease_seconds = pb_job_lease_seconds(r->app),
                          .job = &w->job};
        enum pb_err err = pb_store_tx(r->app->control, PB_TX_WRITE, claim_tx, &c);
        if (err != PB_ERR_OK)
            pb_warn("runner: %s cannot claim a job: %s", w->owner, pb_err_hint(err));
        if (err == PB_ERR_OK && c.qs == PB_QS_ONE)
            work(r, w); /* then look for the next one at once */
        else
            idle(r, IDLE_SECONDS);
    }
    return NULL;
}

/* The listener of model/job.h: a job was queued here, so the idle threads look at once. */
static void
jobs_queued(void *cls)
{
    struct pb_runner *r = cls;
    pthread_mutex_lock(&r->lock);
    r->queued++;
    pthread_cond_broadcast(&r->wake);
    pthread_mutex_unlock(&r->lock);
}

static void
stop_threads(struct pb_runner *r, int started)
{
    pthread_mutex_lock(&r->lock);
    r->stopping = true;
    pthread_cond_broadcast(&r->wake);
    pthread_mutex_unlock(&r->lock);
    for (int i = 0; i < started; i++)
        pthread_join(r->workers[i].thread, NULL);
}

enum pb_err
pb_runner_start(struct pb_app *app, const char *node_id, int threads, struct pb_runner **out)
{
    *out = NULL;
    if (threads < 1 || threads > THREADS_MAX || node_id == NULL || node_id[0] == '\0' ||
        strlen(node_id) > PB_JOB_OWNER_MAX - 4)
        return PB_ERR_INVALID;
    struct pb_runner *r = calloc(1, sizeof(*r) + (size_t)threads * sizeof(r->workers[0]));
    if (r == NULL)
        return PB_ERR_NOMEM;
    r->app = app;
    r->threads = threads;
    r->periodic = true;
    r->next_tick_us = pb_clock_mono_us(); /* the first run: as soon as thread 0 starts */
    pthread_mutex_init(&r->lock, NULL);
    pthread_cond_init(&r->wake, NULL);
    for (int i = 0; i < threads; i++) {
        struct worker *w = &r->workers[i];
        w->runner = r;
        snprintf(w->owner, sizeof(w->owner), "%s#%d", node_id, i);
        if (pthread_create(&w->thread, NULL, run, w) != 0) {
            stop_threads(r, i);
            pthread_cond_destroy(&r->wake);
            pthread_mutex_destroy(&r->lock);
            free(r);
            return PB_ERR_NOMEM;
        }
    }
    pb_job_set_listener(jobs_queued, r);
    *out = r;
    return PB_ERR_OK;
}

void
pb_runner_stop(struct pb_runner *runner)
{
    if (runner == NULL)
        return;
    pb_job_set_listener(NULL, NULL);
    stop_threads(runner, runner->threads);
    pthread_cond_destroy(&runner->wake);
    pthread_mutex_destroy(&runner->lock);
    free(runner);
}

struct claim_one {
    const char *account_id;
    const char *id;
    const char *owner;
    int64_t lease_seconds;
    struct pb_job *job;
    enum pb_qs qs;
};

static enum pb_qs
claim_one_tx(struct pb_tx *tx, void *cls)
{
    struct claim_one *c = cls;
    int64_t now = pb_clock_now();
    c->qs = tx->ops->job_claim_id(tx->conn, now, c->account_id, c->id, c->owner,
                                  now + c->lease_seconds, c->job);
    return c->qs;
}

enum pb_err
pb_runner_run_job(struct pb_app *app, const char *account_id, const char *id, const char *owner,
                  void (*progress)(void *cls, const struct pb_job *job), void *cls, bool *ran)
{
    *ran = false;
    if (owner == NULL || owner[0] == '\0' || strlen(owner) > PB_JOB_OWNER_MAX)
        return PB_ERR_INVALID;
    struct pb_runner *r = calloc(1, sizeof(*r) + sizeof(r->workers[0]));
    if (r == NULL)
        return PB_ERR_NOMEM;
    r->app = app;
    r->progress = progress;
    r->progress_cls = cls;
    pthread_mutex_init(&r->lock, NULL);
    pthread_cond_init(&r->wake, NULL);
    struct worker *w = &r->workers[0];
    w->runner = r;
    pb_strlcpy(w->owner, owner, sizeof(w->owner));
    struct claim_one c = {account_id, id, owner, pb_job_lease_seconds(app), &w->job, PB_QS_NONE};
    enum pb_err err = pb_tenant_tx(app, account_id, PB_TX_WRITE, claim_one_tx, &c);
    if (err == PB_ERR_OK && c.qs == PB_QS_ONE) {
        *ran = true;
        work(r, w);
    }
    pthread_cond_destroy(&r->wake);
    pthread_mutex_destroy(&r->lock);
    free(r);
    return err;
}
