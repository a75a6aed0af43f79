/* SQLite: the system mail outbox (password resets, invitations), claimed under a lease. */
#include "store/sqlite/sqlite_internal.h"

#include <stdlib.h>
#include <string.h>

#include "core/log.h"

enum pb_qs
pb_sqlite_outbox_insert(struct pb_conn *conn, const struct pb_outbox_mail *mail)
{
    struct pb_sqlite_conn *c = pb_sqlite_conn(conn);
    sqlite3_stmt *st;
    enum pb_qs qs = pb_sqlite_prepare(
        c, PB_SQ_OUTBOX_INSERT,
        "INSERT INTO mail_outbox (id, recipient, sealed, attempts, next_attempt_at)"
        " VALUES (?1, ?2, ?3, ?4, ?5)",
        &st);
    if (qs < 0)
        return qs;
    sqlite3_bind_text(st, 1, mail->id, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, mail->recipient, -1, SQLITE_STATIC);
    /* Never NULL: an empty message is still a (zero-length) blob. */
    sqlite3_bind_blob64(st, 3, mail->sealed ? (const void *)mail->sealed : "",
                        (sqlite3_uint64)mail->sealed_len, SQLITE_STATIC);
    sqlite3_bind_int(st, 4, mail->attempts);
    sqlite3_bind_int64(st, 5, mail->next_attempt_at);
    return pb_sqlite_step_change(c, st, "outbox insert");
}

/* The claimed mails, copied out of the SELECT before their rows are updated. */
struct claimed {
    struct pb_outbox_mail *mails;
    int count;
    int cap;
};

static void
claimed_free(struct claimed *cl)
{
    for (int i = 0; i < cl->count; i++)
        free(cl->mails[i].sealed);
    free(cl->mails);
}

/* Copies the row (id, recipient, sealed, attempts, next_attempt_at) into `cl`. */
static bool
claimed_add(struct claimed *cl, sqlite3_stmt *st)
{
    if (cl->count == cl->cap) {
        int cap = cl->cap ? cl->cap * 2 : 8;
        struct pb_outbox_mail *m = realloc(cl->mails, (size_t)cap * sizeof(*m));
        if (m == NULL) {
            pb_error("sqlite: out of memory claiming outbox mail");
            return false;
        }
        cl->mails = m;
        cl->cap = cap;
    }
    struct pb_outbox_mail *m = &cl->mails[cl->count];
    memset(m, 0, sizeof(*m));
    bool ok = pb_sqlite_column_text(st, 0, m->id, sizeof(m->id));
    ok = pb_sqlite_column_text(st, 1, m->recipient, sizeof(m->recipient)) && ok;
    if (!ok) {
        pb_error("sqlite: a mail_outbox row does not fit its struct");
        return false;
    }
    const void *blob = sqlite3_column_blob(st, 2);
    size_t len = (size_t)sqlite3_column_bytes(st, 2);
    if ((m->sealed = malloc(len ? len : 1)) == NULL) {
        pb_error("sqlite: out of memory claiming outbox mail");
        return false;
    }
    if (len > 0)
        memcpy(m->sealed, blob, len);
    m->sealed_len = len;
    m->attempts = sqlite3_column_int(st, 3);
    m->next_attempt_at = sqlite3_column_int64(st, 4);
    cl->count++;
    return true;
}

enum pb_qs
pb_sqlite_outbox_claim(struct pb_conn *conn, int64_t now, int64_t lease_until, int limit,
                       pb_outbox_cb cb, void *cls)
{
    struct pb_sqlite_conn *c = pb_sqlite_conn(conn);
    struct claimed cl = {0};
    sqlite3_stmt *st;
    int rc;

    /* A write transaction holds the database alone: no other node reads these rows meanwhile. */
    enum pb_qs qs =
        pb_sqlite_prepare(c, PB_SQ_OUTBOX_DUE,
                          "SELECT id, recipient, sealed, attempts, next_attempt_at FROM mail_outbox"
                          " WHERE next_attempt_at <= ?1 ORDER BY next_attempt_at, id LIMIT ?2",
                          &st);
    if (qs < 0)
        return qs;
    sqlite3_bind_int64(st, 1, now);
    sqlite3_bind_int(st, 2, limit < 0 ? 0 : limit);
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        if (!claimed_add(&cl, st)) {
            pb_sqlite_done(st);
            qs = PB_QS_HARD_ERROR;
            goto out;
        }
    }
    if (rc != SQLITE_DONE) {
        qs = pb_sqlite_fail(c, rc, "outbox claim");
        pb_sqlite_done(st);
        goto out;
    }
    pb_sqlite_done(st);

    qs = pb_sqlite_prepare(c, PB_SQ_OUTBOX_LEASE,
                           "UPDATE mail_outbox SET next_attempt_at = ?2 WHERE id = ?1", &st);
    if (qs < 0)
        goto out;
    for (int i = 0; i < cl.count; i++) {
        sqlite3_bind_text(st, 1, cl.mails[i].id, -1, SQLITE_STATIC);
        sqlite3_bind_int64(st, 2, lease_until);
        if ((qs = pb_sqlite_step_change(c, st, "outbox lease")) < 0)
            goto out;
        cl.mails[i].next_attempt_at = lease_until;
    }
    for (int i = 0; i < cl.count; i++)
        cb(cls, &cl.mails[i]);
    qs = pb_sqlite_rows(cl.count);
out:
    claimed_free(&cl);
    return qs;
}

enum pb_qs
pb_sqlite_outbox_delete(struct pb_conn *conn, const char *id)
{
    struct pb_sqlite_conn *c = pb_sqlite_conn(conn);
    sqlite3_stmt *st;
    enum pb_qs qs =
        pb_sqlite_prepare(c, PB_SQ_OUTBOX_DELETE, "DELETE FROM mail_outbox WHERE id = ?1", &st);
    if (qs < 0)
        return qs;
    sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
    return pb_sqlite_step_change(c, st, "outbox delete");
}

enum pb_qs
pb_sqlite_outbox_retry(struct pb_conn *conn, const char *id, int attempts, int64_t next_attempt_at)
{
    struct pb_sqlite_conn *c = pb_sqlite_conn(conn);
    sqlite3_stmt *st;
    enum pb_qs qs = pb_sqlite_prepare(
        c, PB_SQ_OUTBOX_RETRY,
        "UPDATE mail_outbox SET attempts = ?2, next_attempt_at = ?3 WHERE id = ?1", &st);
    if (qs < 0)
        return qs;
    sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
    sqlite3_bind_int(st, 2, attempts);
    sqlite3_bind_int64(st, 3, next_attempt_at);
    return pb_sqlite_step_change(c, st, "outbox retry");
}
