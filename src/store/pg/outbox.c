/* PostgreSQL: the system mail outbox (password resets, invitations), claimed under a lease. */
#include "store/pg/pg_internal.h"

#include <stdio.h>
#include <stdlib.h>

#include "core/log.h"

enum pb_qs
pb_pg_outbox_insert(struct pb_conn *conn, const struct pb_outbox_mail *mail)
{
    struct pb_pg_conn *c = pb_pg_conn(conn);
    char attempts[16], next[24];
    char *sealed = malloc(2 * mail->sealed_len + 1);
    if (sealed == NULL) {
        pb_error("postgres: out of memory queueing a mail of %zu bytes", mail->sealed_len);
        return PB_QS_HARD_ERROR;
    }
    sealed[0] = '\0'; /* an empty message is an empty bytea, never NULL */
    pb_pg_hex(mail->sealed, mail->sealed_len, sealed, 2 * mail->sealed_len + 1);
    snprintf(attempts, sizeof(attempts), "%d", mail->attempts);
    snprintf(next, sizeof(next), "%lld", (long long)mail->next_attempt_at);
    const char *const params[] = {mail->id, mail->recipient, sealed, attempts, next};
    enum pb_qs qs = pb_pg_exec_change(
        c, PB_PG_OUTBOX_INSERT, "pb_outbox_insert",
        "INSERT INTO mail_outbox (id, recipient, sealed, attempts, next_attempt_at)"
        " VALUES ($1, $2, decode($3, 'hex'), $4, $5)",
        5, params);
    free(sealed);
    return qs;
}

/*
 * Fills `out` from row `row` of (id, recipient, hex sealed, attempts), with
 * `sealed` pointing into a buffer it allocates (free it); false on failure.
 */
static bool
read_mail(const PGresult *res, int row, struct pb_outbox_mail *out)
{
    bool ok = pb_pg_text(res, row, 0, out->id, sizeof(out->id));
    ok = pb_pg_text(res, row, 1, out->recipient, sizeof(out->recipient)) && ok;
    if (!ok) {
        pb_error("postgres: a mail_outbox row does not fit its struct");
        return false;
    }
    size_t cap = (size_t)PQgetlength(res, row, 2) / 2;
    if ((out->sealed = malloc(cap ? cap : 1)) == NULL) {
        pb_error("postgres: out of memory claiming outbox mail");
        return false;
    }
    if (!pb_pg_bytes(res, row, 2, out->sealed, cap, &out->sealed_len)) {
        pb_error("postgres: a mail_outbox row has a malformed message");
        free(out->sealed);
        out->sealed = NULL;
        return false;
    }
    out->attempts = (int)pb_pg_int64(res, row, 3);
    return true;
}

enum pb_qs
pb_pg_outbox_claim(struct pb_conn *conn, int64_t now, int64_t lease_until, int limit,
                   pb_outbox_cb cb, void *cls)
{
    struct pb_pg_conn *c = pb_pg_conn(conn);
    char now_text[24], lease_text[24], limit_text[16];
    PGresult *due = NULL;
    snprintf(now_text, sizeof(now_text), "%lld", (long long)now);
    snprintf(lease_text, sizeof(lease_text), "%lld", (long long)lease_until);
    snprintf(limit_text, sizeof(limit_text), "%d", limit < 0 ? 0 : limit);

    /* Rows another node is claiming right now are skipped, not waited for. */
    const char *const due_params[] = {now_text, limit_text};
    enum pb_qs qs = pb_pg_exec(c, PB_PG_OUTBOX_DUE, "pb_outbox_due",
                               "SELECT id, recipient, encode(sealed, 'hex'), attempts"
                               " FROM mail_outbox WHERE next_attempt_at <= $1"
                               " ORDER BY next_attempt_at, id LIMIT $2 FOR UPDATE SKIP LOCKED",
                               2, due_params, &due);
    if (qs < 0)
        return qs;
    int n = PQntuples(due);
    for (int i = 0; i < n; i++) {
        const char *const params[] = {PQgetvalue(due, i, 0), lease_text};
        qs = pb_pg_exec_change(c, PB_PG_OUTBOX_LEASE, "pb_outbox_lease",
                               "UPDATE mail_outbox SET next_attempt_at = $2 WHERE id = $1", 2,
                               params);
        if (qs < 0)
            goto out;
    }
    for (int i = 0; i < n; i++) {
        struct pb_outbox_mail mail = {0};
        if (!read_mail(due, i, &mail)) {
            qs = PB_QS_HARD_ERROR;
            goto out;
        }
        mail.next_attempt_at = lease_until;
        cb(cls, &mail);
        free(mail.sealed);
    }
    qs = pb_pg_rows(n);
out:
    PQclear(due);
    return qs;
}

enum pb_qs
pb_pg_outbox_delete(struct pb_conn *conn, const char *id)
{
    struct pb_pg_conn *c = pb_pg_conn(conn);
    const char *const params[] = {id};
    return pb_pg_exec_change(c, PB_PG_OUTBOX_DELETE, "pb_outbox_delete",
                             "DELETE FROM mail_outbox WHERE id = $1", 1, params);
}

enum pb_qs
pb_pg_outbox_retry(struct pb_conn *conn, const char *id, int attempts, int64_t next_attempt_at)
{
    struct pb_pg_conn *c = pb_pg_conn(conn);
    char attempts_text[16], next[24];
    snprintf(attempts_text, sizeof(attempts_text), "%d", attempts);
    snprintf(next, sizeof(next), "%lld", (long long)next_attempt_at);
    const char *const params[] = {id, attempts_text, next};
    return pb_pg_exec_change(c, PB_PG_OUTBOX_RETRY, "pb_outbox_retry",
                             "UPDATE mail_outbox SET attempts = $2, next_attempt_at = $3"
                             " WHERE id = $1",
                             3, params);
}
