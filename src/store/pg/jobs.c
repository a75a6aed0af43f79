/* PostgreSQL: jobs, long tasks that one node at a time runs under a lease. */
#include "store/pg/pg_internal.h"

#include <stdio.h>
#include <string.h>

#include "core/log.h"
#include "core/strutil.h"

#define JOB_COLUMNS                                                                                \
    "id, account_id, kind, params, state, progress_done, progress_total, cursor, result, error,"   \
    " lease_owner, lease_until, created_at, updated_at"

/* Fills a struct pb_job from row `row` of JOB_COLUMNS; false when a value does not fit. */
static bool
read_job(const PGresult *res, int row, void *dst)
{
    struct pb_job *out = dst;
    memset(out, 0, sizeof(*out));
    bool ok = pb_pg_text(res, row, 0, out->id, sizeof(out->id));
    ok = pb_pg_text(res, row, 1, out->account_id, sizeof(out->account_id)) && ok;
    ok = pb_pg_text(res, row, 2, out->kind, sizeof(out->kind)) && ok;
    ok = pb_pg_text(res, row, 3, out->params, sizeof(out->params)) && ok;
    ok = pb_pg_text(res, row, 4, out->state, sizeof(out->state)) && ok;
    out->progress_done = pb_pg_int64(res, row, 5);
    out->progress_total = pb_pg_int64(res, row, 6);
    ok = pb_pg_opt_text(res, row, 7, out->cursor, sizeof(out->cursor)) && ok;
    ok = pb_pg_opt_text(res, row, 8, out->result, sizeof(out->result)) && ok;
    ok = pb_pg_opt_text(res, row, 9, out->error, sizeof(out->error)) && ok;
    ok = pb_pg_opt_text(res, row, 10, out->lease_owner, sizeof(out->lease_owner)) && ok;
    out->lease_until = pb_pg_int64(res, row, 11);
    out->created_at = pb_pg_int64(res, row, 12);
    out->updated_at = pb_pg_int64(res, row, 13);
    if (!ok)
        pb_error("postgres: a jobs row does not fit its struct");
    return ok;
}

enum pb_qs
pb_pg_job_insert(struct pb_conn *conn, const struct pb_job *job)
{
    struct pb_pg_conn *c = pb_pg_conn(conn);
    char done[24], total[24], lease[24], created[24], updated[24];
    snprintf(done, sizeof(done), "%lld", (long long)job->progress_done);
    snprintf(total, sizeof(total), "%lld", (long long)job->progress_total);
    snprintf(lease, sizeof(lease), "%lld", (long long)job->lease_until);
    snprintf(created, sizeof(created), "%lld", (long long)job->created_at);
    snprintf(updated, sizeof(updated), "%lld", (long long)job->updated_at);
    const char *const params[] = {job->id,
                                  job->account_id,
                                  job->kind,
                                  job->params,
                                  job->state,
                                  done,
                                  total,
                                  pb_pg_opt(job->cursor),
                                  pb_pg_opt(job->result),
                                  pb_pg_opt(job->error),
                                  pb_pg_opt(job->lease_owner),
                                  lease,
                                  created,
                                  updated};
    return pb_pg_exec_change(
        c, PB_PG_JOB_INSERT, "pb_job_insert",
        "INSERT INTO jobs (" JOB_COLUMNS ")"
        " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)",
        14, params);
}

enum pb_qs
pb_pg_job_get(struct pb_conn *conn, const char *account_id, const char *id, struct pb_job *out)
{
    struct pb_pg_conn *c = pb_pg_conn(conn);
    PGresult *res;
    const char *const params[] = {account_id, id};
    enum pb_qs qs = pb_pg_exec(c, PB_PG_JOB_GET, "pb_job_get",
                               "SELECT " JOB_COLUMNS " FROM jobs WHERE account_id = $1 AND id = $2",
                               2, params, &res);
    if (qs < 0)
        return qs;
    return pb_pg_get_one(res, read_job, out);
}

enum pb_qs
pb_pg_job_claim(struct pb_conn *conn, int64_t now, const char *owner, int64_t lease_until,
                const char *kinds, struct pb_job *out)
{
    struct pb_pg_conn *c = pb_pg_conn(conn);
    char now_text[24], lease_text[24];
    PGresult *res;
    snprintf(now_text, sizeof(now_text), "%lld", (long long)now);
    snprintf(lease_text, sizeof(lease_text), "%lld", (long long)lease_until);

    /* A job another node is claiming right now is skipped, not waited for. */
    const char *const due_params[] = {now_text, pb_pg_opt(kinds)};
    enum pb_qs qs =
        pb_pg_exec(c, PB_PG_JOB_DUE, "pb_job_due",
                   "SELECT " JOB_COLUMNS " FROM jobs"
                   " WHERE (state = 'queued' OR (state = 'running' AND lease_until <= $1))"
                   " AND ($2::text IS NULL OR kind = ANY (string_to_array($2::text, ',')))"
                   " ORDER BY created_at, id LIMIT 1 FOR UPDATE SKIP LOCKED",
                   2, due_params, &res);
    if (qs < 0)
        return qs;
    if ((qs = pb_pg_get_one(res, read_job, out)) != PB_QS_ONE)
        return qs;

    const char *const params[] = {out->id, owner, lease_text, now_text};
    qs = pb_pg_exec_change(c, PB_PG_JOB_LEASE, "pb_job_lease",
                           "UPDATE jobs SET state = 'running', lease_owner = $2, lease_until = $3,"
                           " updated_at = $4 WHERE id = $1",
                           4, params);
    if (qs != PB_QS_ONE)
        return qs < 0 ? qs : PB_QS_HARD_ERROR;
    pb_strlcpy(out->state, "running", sizeof(out->state));
    pb_strlcpy(out->lease_owner, owner, sizeof(out->lease_owner));
    out->lease_until = lease_until;
    out->updated_at = now;
    return PB_QS_ONE;
}

enum pb_qs
pb_pg_job_checkpoint(struct pb_conn *conn, int64_t now, const char *id, const char *owner,
                     const char *cursor, int64_t done, int64_t total, int64_t lease_until)
{
    struct pb_pg_conn *c = pb_pg_conn(conn);
    char done_text[24], total_text[24], lease_text[24], now_text[24];
    snprintf(done_text, sizeof(done_text), "%lld", (long long)done);
    snprintf(total_text, sizeof(total_text), "%lld", (long long)total);
    snprintf(lease_text, sizeof(lease_text), "%lld", (long long)lease_until);
    snprintf(now_text, sizeof(now_text), "%lld", (long long)now);
    const char *const params[] = {id,         owner,      pb_pg_opt(cursor), done_text,
                                  total_text, lease_text, now_text};
    return pb_pg_exec_change(
        c, PB_PG_JOB_CHECKPOINT, "pb_job_checkpoint",
        "UPDATE jobs SET cursor = $3, progress_done = $4, progress_total = $5, lease_until = $6,"
        " updated_at = $7 WHERE id = $1 AND lease_owner = $2 AND state = 'running'",
        7, params);
}

enum pb_qs
pb_pg_job_finish(struct pb_conn *conn, int64_t now, const char *id, const char *owner,
                 const char *state, const char *result, const char *error)
{
    struct pb_pg_conn *c = pb_pg_conn(conn);
    char now_text[24];
    snprintf(now_text, sizeof(now_text), "%lld", (long long)now);
    const char *const params[] = {id, owner, state, pb_pg_opt(result), pb_pg_opt(error), now_text};
    return pb_pg_exec_change(c, PB_PG_JOB_FINISH, "pb_job_finish",
                             "UPDATE jobs SET state = $3, result = $4, error = $5,"
                             " lease_owner = NULL, lease_until = 0, updated_at = $6"
                             " WHERE id = $1 AND lease_owner = $2 AND state = 'running'",
                             6, params);
}

enum pb_qs
pb_pg_job_claim_id(struct pb_conn *conn, int64_t now, const char *account_id, const char *id,
                   const char *owner, int64_t lease_until, struct pb_job *out)
{
    struct pb_pg_conn *c = pb_pg_conn(conn);
    char now_text[24], lease_text[24];
    PGresult *res;
    snprintf(now_text, sizeof(now_text), "%lld", (long long)now);
    snprintf(lease_text, sizeof(lease_text), "%lld", (long long)lease_until);

    /* As job_claim, in one statement: a job another node is claiming right now is skipped. */
    const char *const params[] = {account_id, id, now_text, owner, lease_text};
    enum pb_qs qs = pb_pg_exec(
        c, PB_PG_JOB_CLAIM_ID, "pb_job_claim_id",
        "UPDATE jobs SET state = 'running', lease_owner = $4, lease_until = $5, updated_at = $3"
        " WHERE id = (SELECT id FROM jobs WHERE account_id = $1 AND id = $2"
        " AND (state = 'queued' OR (state = 'running' AND lease_until <= $3))"
        " FOR UPDATE SKIP LOCKED) RETURNING " JOB_COLUMNS,
        5, params, &res);
    if (qs < 0)
        return qs;
    return pb_pg_get_one(res, read_job, out);
}
