/* SQLite: jobs, long tasks that one node at a time runs under a lease. */
#include "store/sqlite/sqlite_internal.h"

#include <string.h>

#include "core/log.h"
#include "core/strutil.h"

#define JOB_COLUMNS                                                                                \
    "id, account_id, kind, params, state, progress_done, progress_total, cursor, result, error,"   \
    " lease_owner, lease_until, created_at, updated_at"

/* Fills `out` from a row of JOB_COLUMNS; false when a value does not fit. */
static bool
read_job(sqlite3_stmt *st, void *dst)
{
    struct pb_job *out = dst;
    memset(out, 0, sizeof(*out));
    bool ok = pb_sqlite_column_text(st, 0, out->id, sizeof(out->id));
    ok = pb_sqlite_column_text(st, 1, out->account_id, sizeof(out->account_id)) && ok;
    ok = pb_sqlite_column_text(st, 2, out->kind, sizeof(out->kind)) && ok;
    ok = pb_sqlite_column_text(st, 3, out->params, sizeof(out->params)) && ok;
    ok = pb_sqlite_column_text(st, 4, out->state, sizeof(out->state)) && ok;
    out->progress_done = sqlite3_column_int64(st, 5);
    out->progress_total = sqlite3_column_int64(st, 6);
    ok = pb_sqlite_column_opt_text(st, 7, out->cursor, sizeof(out->cursor)) && ok;
    ok = pb_sqlite_column_opt_text(st, 8, out->result, sizeof(out->result)) && ok;
    ok = pb_sqlite_column_opt_text(st, 9, out->error, sizeof(out->error)) && ok;
    ok = pb_sqlite_column_opt_text(st, 10, out->lease_owner, sizeof(out->lease_owner)) && ok;
    out->lease_until = sqlite3_column_int64(st, 11);
    out->created_at = sqlite3_column_int64(st, 12);
    out->updated_at = sqlite3_column_int64(st, 13);
    if (!ok)
        pb_error("sqlite: a jobs row does not fit its struct");
    return ok;
}

enum pb_qs
pb_sqlite_job_insert(struct pb_conn *conn, const struct pb_job *job)
{
    struct pb_sqlite_conn *c = pb_sqlite_conn(conn);
    sqlite3_stmt *st;
    enum pb_qs qs =
        pb_sqlite_prepare(c, PB_SQ_JOB_INSERT,
                          "INSERT INTO jobs (" JOB_COLUMNS ")"
                          " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14)",
                          &st);
    if (qs < 0)
        return qs;
    sqlite3_bind_text(st, 1, job->id, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, job->account_id, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 3, job->kind, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 4, job->params, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 5, job->state, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 6, job->progress_done);
    sqlite3_bind_int64(st, 7, job->progress_total);
    pb_sqlite_bind_opt_text(st, 8, job->cursor);
    pb_sqlite_bind_opt_text(st, 9, job->result);
    pb_sqlite_bind_opt_text(st, 10, job->error);
    pb_sqlite_bind_opt_text(st, 11, job->lease_owner);
    sqlite3_bind_int64(st, 12, job->lease_until);
    sqlite3_bind_int64(st, 13, job->created_at);
    sqlite3_bind_int64(st, 14, job->updated_at);
    return pb_sqlite_step_change(c, st, "job insert");
}

enum pb_qs
pb_sqlite_job_get(struct pb_conn *conn, const char *account_id, const char *id, struct pb_job *out)
{
    struct pb_sqlite_conn *c = pb_sqlite_conn(conn);
    sqlite3_stmt *st;
    enum pb_qs qs = pb_sqlite_prepare(
        c, PB_SQ_JOB_GET, "SELECT " JOB_COLUMNS " FROM jobs WHERE account_id = ?1 AND id = ?2",
        &st);
    if (qs < 0)
        return qs;
    sqlite3_bind_text(st, 1, account_id, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, id, -1, SQLITE_STATIC);
    return pb_sqlite_get_one(c, st, read_job, out, "job get");
}

/* Sets the job in `out` (just selected as claimable) running under `owner`, and `out` with it. */
static enum pb_qs
lease(struct pb_sqlite_conn *c, int64_t now, const char *owner, int64_t lease_until,
      struct pb_job *out)
{
    sqlite3_stmt *st;
    enum pb_qs qs =
        pb_sqlite_prepare(c, PB_SQ_JOB_LEASE,
                          "UPDATE jobs SET state = 'running', lease_owner = ?2, lease_until = ?3,"
                          " updated_at = ?4 WHERE id = ?1",
                          &st);
    if (qs < 0)
        return qs;
    sqlite3_bind_text(st, 1, out->id, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, owner, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 3, lease_until);
    sqlite3_bind_int64(st, 4, now);
    if ((qs = pb_sqlite_step_change(c, st, "job lease")) != PB_QS_ONE)
        return qs < 0 ? qs : PB_QS_HARD_ERROR;
    pb_strlcpy(out->state, "running", sizeof(out->state));
    pb_strlcpy(out->lease_owner, owner, sizeof(out->lease_owner));
    out->lease_until = lease_until;
    out->updated_at = now;
    return PB_QS_ONE;
}

enum pb_qs
pb_sqlite_job_claim(struct pb_conn *conn, int64_t now, const char *owner, int64_t lease_until,
                    const char *kinds, struct pb_job *out)
{
    struct pb_sqlite_conn *c = pb_sqlite_conn(conn);
    sqlite3_stmt *st;

    /* A write transaction holds the database alone: nobody claims this row meanwhile. */
    enum pb_qs qs =
        pb_sqlite_prepare(c, PB_SQ_JOB_DUE,
                          "SELECT " JOB_COLUMNS " FROM jobs"
                          " WHERE (state = 'queued' OR (state = 'running' AND lease_until <= ?1))"
                          " AND (?2 IS NULL OR instr(',' || ?2 || ',', ',' || kind || ',') > 0)"
                          " ORDER BY created_at, id LIMIT 1",
                          &st);
    if (qs < 0)
        return qs;
    sqlite3_bind_int64(st, 1, now);
    pb_sqlite_bind_opt_text(st, 2, kinds);
    if ((qs = pb_sqlite_get_one(c, st, read_job, out, "job claim")) != PB_QS_ONE)
        return qs;
    return lease(c, now, owner, lease_until, out);
}

enum pb_qs
pb_sqlite_job_claim_id(struct pb_conn *conn, int64_t now, const char *account_id, const char *id,
                       const char *owner, int64_t lease_until, struct pb_job *out)
{
    struct pb_sqlite_conn *c = pb_sqlite_conn(conn);
    sqlite3_stmt *st;

    /* As job_claim: the write transaction holds the row between this read and the lease. */
    enum pb_qs qs =
        pb_sqlite_prepare(c, PB_SQ_JOB_DUE_ID,
                          "SELECT " JOB_COLUMNS " FROM jobs WHERE account_id = ?1 AND id = ?2"
                          " AND (state = 'queued' OR (state = 'running' AND lease_until <= ?3))",
                          &st);
    if (qs < 0)
        return qs;
    sqlite3_bind_text(st, 1, account_id, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, id, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 3, now);
    if ((qs = pb_sqlite_get_one(c, st, read_job, out, "job claim id")) != PB_QS_ONE)
        return qs;
    return lease(c, now, owner, lease_until, out);
}

enum pb_qs
pb_sqlite_job_checkpoint(struct pb_conn *conn, int64_t now, const char *id, const char *owner,
                         const char *cursor, int64_t done, int64_t total, int64_t lease_until)
{
    struct pb_sqlite_conn *c = pb_sqlite_conn(conn);
    sqlite3_stmt *st;
    enum pb_qs qs = pb_sqlite_prepare(
        c, PB_SQ_JOB_CHECKPOINT,
        "UPDATE jobs SET cursor = ?3, progress_done = ?4, progress_total = ?5, lease_until = ?6,"
        " updated_at = ?7 WHERE id = ?1 AND lease_owner = ?2 AND state = 'running'",
        &st);
    if (qs < 0)
        return qs;
    sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, owner, -1, SQLITE_STATIC);
    pb_sqlite_bind_opt_text(st, 3, cursor);
    sqlite3_bind_int64(st, 4, done);
    sqlite3_bind_int64(st, 5, total);
    sqlite3_bind_int64(st, 6, lease_until);
    sqlite3_bind_int64(st, 7, now);
    return pb_sqlite_step_change(c, st, "job checkpoint");
}

enum pb_qs
pb_sqlite_job_finish(struct pb_conn *conn, int64_t now, const char *id, const char *owner,
                     const char *state, const char *result, const char *error)
{
    struct pb_sqlite_conn *c = pb_sqlite_conn(conn);
    sqlite3_stmt *st;
    enum pb_qs qs =
        pb_sqlite_prepare(c, PB_SQ_JOB_FINISH,
                          "UPDATE jobs SET state = ?3, result = ?4, error = ?5, lease_owner = NULL,"
                          " lease_until = 0, updated_at = ?6"
                          " WHERE id = ?1 AND lease_owner = ?2 AND state = 'running'",
                          &st);
    if (qs < 0)
        return qs;
    sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, owner, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 3, state, -1, SQLITE_STATIC);
    pb_sqlite_bind_opt_text(st, 4, result);
    pb_sqlite_bind_opt_text(st, 5, error);
    sqlite3_bind_int64(st, 6, now);
    return pb_sqlite_step_change(c, st, "job finish");
}
