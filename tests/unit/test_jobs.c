/*
 * Tests of the job runner (jobs/runner.c) and the model's jobs (model/job.c)
 * on a real store: a job counted to the end step by step, a failing job, and
 * a job taken over from a node that died midway, resumed from its cursor.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/clock.h"
#include "core/strutil.h"
#include "jobs/runner.h"
#include "model/job.h"
#include "support/testapp.h"

enum { COUNT_TO = 100, STEP = 10 };

/* What the counting kind saw, across the runner's threads. */
static pthread_mutex_t seen_lock = PTHREAD_MUTEX_INITIALIZER;
static int steps;
static int starts[COUNT_TO / STEP + 1]; /* how often each batch was run */

static void
seen_reset(void)
{
    pthread_mutex_lock(&seen_lock);
    steps = 0;
    memset(starts, 0, sizeof(starts));
    pthread_mutex_unlock(&seen_lock);
}

/* Counts to COUNT_TO in batches of STEP; the cursor is where the next batch starts. */
static enum pb_job_step
count_step(struct pb_app *app, struct pb_job *job, char why[PB_WHY_MAX])
{
    (void)app;
    (void)why;
    long from = job->cursor[0] ? strtol(job->cursor, NULL, 10) : 0;
    pthread_mutex_lock(&seen_lock);
    steps++;
    if (from >= 0 && from / STEP < (long)(sizeof(starts) / sizeof(starts[0])))
        starts[from / STEP]++;
    pthread_mutex_unlock(&seen_lock);
    long to = from + STEP;
    snprintf(job->cursor, sizeof(job->cursor), "%ld", to);
    job->progress_done = to;
    job->progress_total = COUNT_TO;
    if (to < COUNT_TO)
        return PB_JOB_MORE;
    snprintf(job->result, sizeof(job->result), "{\"counted\":%ld}", to);
    return PB_JOB_DONE;
}

static enum pb_job_step
fail_step(struct pb_app *app, struct pb_job *job, char why[PB_WHY_MAX])
{
    (void)app;
    job->progress_total = 7;
    snprintf(why, PB_WHY_MAX, "the list is gone");
    return PB_JOB_FAILED;
}

static const struct pb_job_kind count_kind = {.name = "test_count", .step = count_step};
static const struct pb_job_kind fail_kind = {.name = "test_fail", .step = fail_step};

struct fixture {
    struct pb_testapp t;
    char account[32];
    struct pb_runner *runner;
};

static int
setup(void **state)
{
    struct fixture *f = calloc(1, sizeof(*f));
    assert_non_null(f);
    pb_testapp_start(&f->t, 0);
    pb_testapp_account(&f->t, "Jobs", "standard", f->account);
    seen_reset();
    *state = f;
    return 0;
}

static int
teardown(void **state)
{
    struct fixture *f = *state;
    pb_runner_stop(f->runner);
    pb_testapp_stop(&f->t);
    free(f);
    return 0;
}

static void
start_runner(struct fixture *f)
{
    assert_int_equal(pb_runner_start(&f->t.app, "test-node", 2, &f->runner), PB_ERR_OK);
}

/* Polls the job until it is done or failed (10 s at most); the caller decrefs the JSON. */
static json_t *
wait_finished(struct fixture *f, const char *id)
{
    for (int i = 0; i < 200; i++) {
        json_t *job = NULL;
        assert_int_equal(pb_job_get_json(&f->t.app, f->account, id, &job), PB_ERR_OK);
        const char *st = json_string_value(json_object_get(job, "state"));
        if (st != NULL && (strcmp(st, "done") == 0 || strcmp(st, "failed") == 0))
            return job;
        json_decref(job);
        struct timespec ms50 = {0, 50 * 1000 * 1000};
        nanosleep(&ms50, NULL);
    }
    fail_msg("job %s did not finish within 10 s", id);
    return NULL;
}

static int64_t
progress(json_t *job, const char *which)
{
    return json_integer_value(json_object_get(json_object_get(job, "progress"), which));
}

static void
enqueue_checks_its_input_and_reads_back(void **state)
{
    struct fixture *f = *state;
    char id[PB_ID_LEN + 1];
    assert_int_equal(pb_job_enqueue(&f->t.app, f->account, "test_count", "[1]", id),
                     PB_ERR_INVALID);
    assert_int_equal(pb_job_enqueue(&f->t.app, f->account, "test_count", "{", id), PB_ERR_INVALID);
    assert_int_equal(pb_job_enqueue(&f->t.app, f->account, "a,b", NULL, id), PB_ERR_INVALID);
    assert_int_equal(pb_job_enqueue(&f->t.app, "nope", "test_count", NULL, id), PB_ERR_INVALID);
    assert_int_equal(pb_job_enqueue(&f->t.app, f->account, "test_count", "{\"n\":1}", id),
                     PB_ERR_OK);

    json_t *job = NULL;
    assert_int_equal(pb_job_get_json(&f->t.app, f->account, id, &job), PB_ERR_OK);
    assert_string_equal(json_string_value(json_object_get(job, "id")), id);
    assert_string_equal(json_string_value(json_object_get(job, "kind")), "test_count");
    assert_string_equal(json_string_value(json_object_get(job, "state")), "queued");
    assert_int_equal(progress(job, "done"), 0);
    assert_true(json_is_null(json_object_get(job, "result")));
    assert_true(json_is_null(json_object_get(job, "error")));
    assert_non_null(json_string_value(json_object_get(job, "created_at")));
    json_decref(job);

    /* Another account sees nothing. */
    char other[32];
    pb_testapp_account(&f->t, "Other", "standard", other);
    assert_int_equal(pb_job_get_json(&f->t.app, other, id, &job), PB_ERR_NOT_FOUND);
    assert_null(job);
}

static void
runner_counts_a_job_to_the_end(void **state)
{
    struct fixture *f = *state;
    start_runner(f);
    char id[PB_ID_LEN + 1];
    assert_int_equal(pb_job_enqueue(&f->t.app, f->account, "test_count", NULL, id), PB_ERR_OK);
    json_t *job = wait_finished(f, id);
    assert_string_equal(json_string_value(json_object_get(job, "state")), "done");
    assert_int_equal(progress(job, "done"), COUNT_TO);
    assert_int_equal(progress(job, "total"), COUNT_TO);
    assert_int_equal(json_integer_value(json_object_get(json_object_get(job, "result"), "counted")),
                     COUNT_TO);
    assert_true(json_is_null(json_object_get(job, "error")));
    json_decref(job);
    assert_int_equal(steps, COUNT_TO / STEP);
    for (int i = 0; i < COUNT_TO / STEP; i++)
        assert_int_equal(starts[i], 1); /* each batch exactly once */
}

static void
runner_records_a_failure(void **state)
{
    struct fixture *f = *state;
    start_runner(f);
    char id[PB_ID_LEN + 1];
    assert_int_equal(pb_job_enqueue(&f->t.app, f->account, "test_fail", NULL, id), PB_ERR_OK);
    json_t *job = wait_finished(f, id);
    assert_string_equal(json_string_value(json_object_get(job, "state")), "failed");
    assert_string_equal(json_string_value(json_object_get(job, "error")), "the list is gone");
    assert_int_equal(progress(job, "total"), 7);
    json_decref(job);
}

struct dead_node {
    const char *account_id;
    const char *id;
    int64_t now;
    enum pb_qs claimed, checkpointed;
};

/* A node claims the job, gets halfway, and dies: its lease has already run out. */
static enum pb_qs
dead_node_tx(struct pb_tx *tx, void *cls)
{
    struct dead_node *d = cls;
    static struct pb_job job;
    d->claimed = tx->ops->job_claim(tx->conn, d->now, "dead-node", d->now - 1, NULL, &job);
    if (d->claimed != PB_QS_ONE)
        return d->claimed;
    assert_string_equal(job.id, d->id);
    d->checkpointed = tx->ops->job_checkpoint(tx->conn, d->now, d->id, "dead-node", "50", 50,
                                              COUNT_TO, d->now - 1);
    return d->checkpointed;
}

static void
runner_takes_over_a_dead_nodes_job_from_its_cursor(void **state)
{
    struct fixture *f = *state;
    char id[PB_ID_LEN + 1];
    assert_int_equal(pb_job_enqueue(&f->t.app, f->account, "test_count", NULL, id), PB_ERR_OK);
    struct dead_node d = {.account_id = f->account, .id = id, .now = pb_clock_now()};
    assert_int_equal(pb_store_tx(f->t.app.control, PB_TX_WRITE, dead_node_tx, &d), PB_ERR_OK);
    assert_int_equal(d.claimed, PB_QS_ONE);
    assert_int_equal(d.checkpointed, PB_QS_ONE);

    start_runner(f);
    json_t *job = wait_finished(f, id);
    assert_string_equal(json_string_value(json_object_get(job, "state")), "done");
    assert_int_equal(progress(job, "done"), COUNT_TO);
    assert_int_equal(progress(job, "total"), COUNT_TO);
    json_decref(job);
    /* Only 50..99 were counted, each batch once: nothing before the cursor was redone. */
    assert_int_equal(steps, (COUNT_TO - 50) / STEP);
    for (int i = 0; i < COUNT_TO / STEP; i++)
        assert_int_equal(starts[i], i >= 50 / STEP ? 1 : 0);
}

static void
runner_stops_at_once_when_idle(void **state)
{
    struct fixture *f = *state;
    start_runner(f);
    int64_t t0 = pb_clock_now_ms();
    pb_runner_stop(f->runner);
    f->runner = NULL;
    assert_true(pb_clock_now_ms() - t0 < 500);
}

static void
register_refuses_bad_kinds(void **state)
{
    (void)state;
    static const struct pb_job_kind comma = {.name = "a,b", .step = count_step};
    static const struct pb_job_kind empty = {.name = "", .step = count_step};
    static const struct pb_job_kind no_step = {.name = "x"};
    assert_int_equal(pb_runner_register(&comma), PB_ERR_INVALID);
    assert_int_equal(pb_runner_register(&empty), PB_ERR_INVALID);
    assert_int_equal(pb_runner_register(&no_step), PB_ERR_INVALID);
    assert_int_equal(pb_runner_register(NULL), PB_ERR_INVALID);
    assert_int_equal(pb_runner_register(&count_kind), PB_ERR_OK); /* again: replaced */
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

int
main(void)
{
    if (pb_runner_register(&count_kind) != PB_ERR_OK || pb_runner_register(&fail_kind) != PB_ERR_OK)
        return 1;
    const struct CMUnitTest tests[] = {
        T(enqueue_checks_its_input_and_reads_back),
        T(runner_counts_a_job_to_the_end),
        T(runner_records_a_failure),
        T(runner_takes_over_a_dead_nodes_job_from_its_cursor),
        T(runner_stops_at_once_when_idle),
        cmocka_unit_test(register_refuses_bad_kinds),
    };
    return cmocka_run_group_tests_name("jobs", tests, NULL, NULL);
}
