/*
 * SQLite: the bulk operations of imports and exports, the sealed chunks of
 * an upload and the lines an import rejected.
 *
 * SQLite runs in the process, so a batch costs no round trips: each bulk
 * operation steps one cached statement per row, binding what is the same
 * for every row once, and writes what sums up the batch (a list's
 * member_count, the consent chain's head) once at the end. No row
 * allocates.
 */
#include "store/sqlite/sqlite_internal.h"

#include <stdlib.h>
#include <string.h>

#include "core/log.h"

/* Refuses a batch size that is negative. */
static bool
count_ok(int n, const char *what)
{
    if (n < 0) {
        pb_error("sqlite: %s: a batch of %d rows", what, n);
        return false;
    }
    return true;
}

/*
 * Steps a statement that returns no rows for one row of a batch, adding the
 * rows it changed to `*changes`, and resets it with its bindings kept for
 * the next row. On failure the statement is reset and cleared.
 */
static enum pb_qs
step_row(struct pb_sqlite_conn *c, sqlite3_stmt *st, int64_t *changes, const char *what)
{
    int rc = sqlite3_step(st);
    if (rc != SQLITE_DONE && rc != SQLITE_ROW) {
        enum pb_qs qs = pb_sqlite_fail(c, rc, what);
        pb_sqlite_done(st);
        return qs;
    }
    *changes += sqlite3_changes(c->db);
    sqlite3_reset(st);
    return PB_QS_ONE;
}

/* NONE, ONE or N for a count of rows that may exceed an int. */
static enum pb_qs
rows64(int64_t n)
{
    return n == 0 ? PB_QS_NONE : n == 1 ? PB_QS_ONE : PB_QS_N;
}

/* ---- contacts ---- */

enum pb_qs
pb_sqlite_contact_find_many(struct pb_conn *conn, const char *account_id,
                            const unsigned char (*bidx)[PB_BIDX_MAX], int n, pb_id_text *ids)
{
    struct pb_sqlite_conn *c = pb_sqlite_conn(conn);
    sqlite3_stmt *st;
    if (!count_ok(n, "contact find many"))
        return PB_QS_HARD_ERROR;
    for (int i = 0; i < n; i++)
        ids[i][0] = '\0';
    if (n == 0)
        return PB_QS_NONE;
    enum pb_qs qs = pb_sqlite_prepare(c, PB_SQ_CONTACT_FIND_MANY,
                                      "SELECT id FROM contacts"
                                      " WHERE account_id = ?1 AND email_bidx = ?2",
                                      &st);
    if (qs < 0)
        return qs;
    sqlite3_bind_text(st, 1, account_id, -1, SQLITE_STATIC);
    int found = 0;
    for (int i = 0; i < n; i++) {
        sqlite3_bind_blob(st, 2, bidx[i], PB_BIDX_MAX, SQLITE_STATIC);
        int rc = sqlite3_step(st);
        if (rc == SQLITE_ROW) {
            if (!pb_sqlite_column_text(st, 0, ids[i], sizeof(ids[i]))) {
                pb_error("sqlite: a contact id does not fit its array");
                pb_sqlite_done(st);
                return PB_QS_HARD_ERROR;
            }
            found++;
        } else if (rc != SQLITE_DONE) {
            qs = pb_sqlite_fail(c, rc, "contact find many");
            pb_sqlite_done(st);
            return qs;
        }
        sqlite3_reset(st);
    }
    pb_sqlite_done(st);
    return pb_sqlite_rows(found);
}

enum pb_qs
pb_sqlite_contact_insert_many(struct pb_conn *conn, const struct pb_contact *contacts, int n)
{
    struct pb_sqlite_conn *c = pb_sqlite_conn(conn);
    sqlite3_stmt *st;
    if (!count_ok(n, "contact insert many"))
        return PB_QS_HARD_ERROR;
    if (n == 0)
        return PB_QS_NONE;
    const char *account_id = contacts[0].account_id;
    for (int i = 0; i < n; i++) {
        const struct pb_contact *ct = &contacts[i];
        if (strcmp(ct->account_id, account_id) != 0 ||
            ct->email_sealed_len > sizeof(ct->email_sealed) ||
            ct->email_bidx_len > sizeof(ct->email_bidx)) {
            pb_error("sqlite: contact insert many: contacts of two accounts, or a sealed address"
                     " or blind index too long");
            return PB_QS_HARD_ERROR;
        }
    }
    /* No ON CONFLICT: a blind index the account has already breaks its unique key (hard). */
    enum pb_qs qs = pb_sqlite_prepare(
        c, PB_SQ_CONTACT_INSERT_MANY,
        "INSERT INTO contacts (id, account_id, email_sealed, email_bidx, status, pseudonym,"
        " created_at, updated_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
        &st);
    if (qs < 0)
        return qs;
    sqlite3_bind_text(st, 2, account_id, -1, SQLITE_STATIC);
    int64_t changes = 0;
    for (int i = 0; i < n; i++) {
        const struct pb_contact *ct = &contacts[i];
        sqlite3_bind_text(st, 1, ct->id, -1, SQLITE_STATIC);
        pb_sqlite_bind_blob(st, 3, ct->email_sealed, ct->email_sealed_len);
        pb_sqlite_bind_blob(st, 4, ct->email_bidx, ct->email_bidx_len);
        sqlite3_bind_text(st, 5, ct->status[0] ? ct->status : "active", -1, SQLITE_STATIC);
        pb_sqlite_bind_opt_text(st, 6, ct->pseudonym);
        sqlite3_bind_int64(st, 7, ct->created_at);
        sqlite3_bind_int64(st, 8, ct->updated_at);
        if ((qs = step_row(c, st, &changes, "contact insert many")) < 0)
            return qs;
    }
    pb_sqlite_done(st);
    return rows64(changes);
}

/* ---- field values ---- */

enum pb_qs
pb_sqlite_value_put_many(struct pb_conn *conn, const char *account_id,
                         const struct pb_value_ref *values, int n)
{
    struct pb_sqlite_conn *c = pb_sqlite_conn(conn);
    sqlite3_stmt *st;
    if (!count_ok(n, "value put many"))
        return PB_QS_HARD_ERROR;
    for (int i = 0; i < n; i++) {
        const struct pb_value_ref *v = &values[i];
        if (v->contact_id == NULL || v->field_key == NULL ||
            (v->sealed != NULL && v->sealed_len > PB_VALUE_SEALED_MAX)) {
            pb_error("sqlite: value put many: a value without contact or field, or sealed"
                     " longer than %d bytes",
                     PB_VALUE_SEALED_MAX);
            return PB_QS_HARD_ERROR;
        }
    }
    if (n == 0)
        return PB_QS_NONE;

    /*
     * As value_put: only for a contact of the account. The check is a
     * statement of its own, run once for each contact (a contact's values
     * come together in a batch), not once for each value inside the
     * upsert: measured, that lookup took a third of the operation's time
     * at two values per contact.
     */
    sqlite3_stmt *owner;
    enum pb_qs qs =
        pb_sqlite_prepare(c, PB_SQ_VALUE_PUT_MANY_OWNER,
                          "SELECT 1 FROM contacts WHERE id = ?2 AND account_id = ?1", &owner);
    if (qs < 0)
        return qs;
    /* A pair given twice keeps the last, as n value_put calls would. */
    qs = pb_sqlite_prepare(
        c, PB_SQ_VALUE_PUT_MANY,
        "INSERT INTO contact_values (account_id, contact_id, field_key, value_text, value_sealed)"
        " VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT (contact_id, field_key) DO UPDATE"
        " SET value_text = excluded.value_text, value_sealed = excluded.value_sealed",
        &st);
    if (qs < 0)
        return qs;
    sqlite3_bind_text(owner, 1, account_id, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 1, account_id, -1, SQLITE_STATIC);
    const char *checked = NULL; /* the contact whose ownership `owned` tells */
    bool owned = false;
    int64_t changes = 0;
    for (int i = 0; i < n; i++) {
        const struct pb_value_ref *v = &values[i];
        if (checked == NULL || strcmp(checked, v->contact_id) != 0) {
            sqlite3_bind_text(owner, 2, v->contact_id, -1, SQLITE_STATIC);
            int rc = sqlite3_step(owner);
            if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
                qs = pb_sqlite_fail(c, rc, "value put many owner");
                goto out;
            }
            owned = rc == SQLITE_ROW;
            checked = v->contact_id;
            sqlite3_reset(owner);
        }
        if (!owned)
            continue;
        bool sealed = v->sealed != NULL && v->sealed_len > 0;
        sqlite3_bind_text(st, 2, v->contact_id, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 3, v->field_key, -1, SQLITE_STATIC);
        if (sealed || v->text == NULL)
            sqlite3_bind_null(st, 4);
        else
            sqlite3_bind_text(st, 4, v->text, -1, SQLITE_STATIC);
        if (sealed)
            sqlite3_bind_blob64(st, 5, v->sealed, (sqlite3_uint64)v->sealed_len, SQLITE_STATIC);
        else
            sqlite3_bind_null(st, 5);
        if ((qs = step_row(c, st, &changes, "value put many")) < 0)
            goto out;
    }
    qs = rows64(changes);
out:
    pb_sqlite_done(owner);
    pb_sqlite_done(st);
    return qs;
}

static int
cmp_id_ptrs(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

enum pb_qs
pb_sqlite_value_list_many(struct pb_conn *conn, const char *account_id,
                          const pb_id_text *contact_ids, int n, pb_contact_value_cb cb, void *cls)
{
    if (!count_ok(n, "value list many"))
        return PB_QS_HARD_ERROR;
    if (n == 0)
        return PB_QS_NONE;

    /* Contact id order: the ids as given when they come sorted, else a sorted copy of pointers. */
    const char **sorted = NULL;
    bool in_order = true;
    for (int i = 1; i < n && in_order; i++)
        in_order = strcmp(contact_ids[i - 1], contact_ids[i]) < 0;
    if (!in_order) {
        if ((sorted = malloc((size_t)n * sizeof(*sorted))) == NULL) {
            pb_error("sqlite: value list many: out of memory for %d ids", n);
            return PB_QS_HARD_ERROR;
        }
        for (int i = 0; i < n; i++)
            sorted[i] = contact_ids[i];
        qsort(sorted, (size_t)n, sizeof(*sorted), cmp_id_ptrs);
    }

    /* Each contact's values come in field key order from value_list (its primary key). */
    enum pb_qs qs = PB_QS_NONE;
    int64_t rows = 0;
    const char *prev = NULL;
    for (int i = 0; i < n; i++) {
        const char *id = sorted != NULL ? sorted[i] : contact_ids[i];
        if (prev != NULL && strcmp(prev, id) == 0)
            continue; /* a contact given twice is listed once */
        prev = id;
        if ((qs = pb_sqlite_value_list(conn, account_id, id, cb, cls)) < 0)
            break;
        rows += qs; /* NONE 0, ONE 1, N 2: enough to tell none, one and more */
    }
    free(sorted);
    return qs < 0 ? qs : rows64(rows);
}

/* ---- memberships ---- */

enum pb_qs
pb_sqlite_membership_subscribe_many(struct pb_conn *conn, const char *account_id,
                                    const char *list_id, const pb_id_text *contact_ids, int n,
                                    const char *statement_id, int64_t since, bool *changed)
{
    struct pb_sqlite_conn *c = pb_sqlite_conn(conn);
    sqlite3_stmt *st;
    if (!count_ok(n, "membership subscribe many"))
        return PB_QS_HARD_ERROR;
    for (int i = 0; i < n; i++)
        changed[i] = false;
    if (n == 0)
        return PB_QS_NONE;

    /* The list is the account's, checked once: nothing is written for another's. */
    enum pb_qs qs = pb_sqlite_prepare(c, PB_SQ_SUBSCRIBE_LIST_CHECK,
                                      "SELECT 1 FROM lists WHERE id = ?2 AND account_id = ?1", &st);
    if (qs < 0)
        return qs;
    sqlite3_bind_text(st, 1, account_id, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, list_id, -1, SQLITE_STATIC);
    qs = pb_sqlite_exists(c, st, "membership subscribe list check");
    if (qs <= 0)
        return qs;

    /*
     * Per contact of the account, one upsert that changes only a row not
     * subscribed yet: sqlite3_changes() then tells whether it changed. A
     * contact given twice changes at its first place only.
     */
    qs = pb_sqlite_prepare(
        c, PB_SQ_SUBSCRIBE_MANY,
        "INSERT INTO memberships (account_id, list_id, contact_id, status, statement_id, since)"
        " SELECT ?1, ?2, ?3, 'subscribed', ?4, ?5 WHERE EXISTS"
        " (SELECT 1 FROM contacts WHERE id = ?3 AND account_id = ?1)"
        " ON CONFLICT (list_id, contact_id) DO UPDATE SET status = 'subscribed',"
        " statement_id = excluded.statement_id, since = excluded.since"
        " WHERE memberships.status <> 'subscribed'",
        &st);
    if (qs < 0)
        return qs;
    sqlite3_bind_text(st, 1, account_id, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, list_id, -1, SQLITE_STATIC);
    pb_sqlite_bind_opt_text(st, 4, statement_id);
    sqlite3_bind_int64(st, 5, since);
    int64_t count = 0;
    for (int i = 0; i < n; i++) {
        int64_t before = count;
        sqlite3_bind_text(st, 3, contact_ids[i], -1, SQLITE_STATIC);
        if ((qs = step_row(c, st, &count, "membership subscribe many")) < 0)
            return qs;
        changed[i] = count > before;
    }
    pb_sqlite_done(st);
    if (count == 0)
        return PB_QS_NONE;

    qs = pb_sqlite_prepare(c, PB_SQ_SUBSCRIBE_COUNT,
                           "UPDATE lists SET member_count = member_count + ?3"
                           " WHERE account_id = ?1 AND id = ?2",
                           &st);
    if (qs < 0)
        return qs;
    sqlite3_bind_text(st, 1, account_id, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, list_id, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 3, count);
    qs = pb_sqlite_step_change(c, st, "membership subscribe count");
    return qs < 0 ? qs : rows64(count);
}

/* ---- the consent log ---- */

enum pb_qs
pb_sqlite_event_append_many(struct pb_conn *conn, const struct pb_consent_event *events, int n)
{
    struct pb_sqlite_conn *c = pb_sqlite_conn(conn);
    enum pb_qs qs;
    if (!count_ok(n, "event append many"))
        return PB_QS_HARD_ERROR;
    if (n == 0)
        return PB_QS_NONE;
    for (int i = 1; i < n; i++)
        if (strcmp(events[i].account_id, events[0].account_id) != 0) {
            pb_error("sqlite: event append many: events of two accounts in one batch");
            return PB_QS_HARD_ERROR;
        }
    /* A seq taken already answers SOFT at once; the runner rolls the batch back. */
    for (int i = 0; i < n; i++)
        if ((qs = pb_sqlite_event_insert(c, &events[i])) < 0)
            return qs;
    if ((qs = pb_sqlite_event_head_put(c, &events[n - 1])) < 0)
        return qs;
    return pb_sqlite_rows(n);
}

enum pb_qs
pb_sqlite_event_ref_exists_many(struct pb_conn *conn, const char *account_id, const char *ref,
                                const pb_id_text *contact_ids, int n, bool *has)
{
    struct pb_sqlite_conn *c = pb_sqlite_conn(conn);
    sqlite3_stmt *st;
    if (!count_ok(n, "event ref exists many"))
        return PB_QS_HARD_ERROR;
    for (int i = 0; i < n; i++)
        has[i] = false;
    if (n == 0 || ref == NULL || *ref == '\0')
        return PB_QS_NONE; /* "" is stored as NULL, which no ref equals */
    /* The contact's events by index (account_id, contact_id, seq), their ref compared. */
    enum pb_qs qs = pb_sqlite_prepare(c, PB_SQ_EVENT_REF_EXISTS,
                                      "SELECT 1 FROM consent_events"
                                      " WHERE account_id = ?1 AND contact_id = ?3 AND ref = ?2"
                                      " LIMIT 1",
                                      &st);
    if (qs < 0)
        return qs;
    sqlite3_bind_text(st, 1, account_id, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, ref, -1, SQLITE_STATIC);
    int found = 0;
    for (int i = 0; i < n; i++) {
        sqlite3_bind_text(st, 3, contact_ids[i], -1, SQLITE_STATIC);
        int rc = sqlite3_step(st);
        if (rc == SQLITE_ROW) {
            has[i] = true;
            found++;
        } else if (rc != SQLITE_DONE) {
            qs = pb_sqlite_fail(c, rc, "event ref exists many");
            pb_sqlite_done(st);
            return qs;
        }
        sqlite3_reset(st);
    }
    pb_sqlite_done(st);
    return pb_sqlite_rows(found);
}

/* ---- uploads ---- */

enum pb_qs
pb_sqlite_import_chunk_put(struct pb_conn *conn, const char *account_id, const char *import_id,
                           int64_t n, const unsigned char *sealed, size_t len)
{
    struct pb_sqlite_conn *c = pb_sqlite_conn(conn);
    sqlite3_stmt *st;
    if (sealed == NULL || len > PB_IMPORT_CHUNK_SEALED_MAX) {
        pb_error("sqlite: an upload chunk of %zu bytes (%d at most)", len,
                 PB_IMPORT_CHUNK_SEALED_MAX);
        return PB_QS_HARD_ERROR;
    }
    /* An import id of another account (never, ids being random) is left alone: PB_QS_NONE. */
    enum pb_qs qs = pb_sqlite_prepare(c, PB_SQ_IMPORT_CHUNK_PUT,
                                      "INSERT INTO import_chunks (account_id, import_id, n, sealed)"
                                      " VALUES (?1, ?2, ?3, ?4) ON CONFLICT (import_id, n)"
                                      " DO UPDATE SET sealed = excluded.sealed"
                                      " WHERE import_chunks.account_id = excluded.account_id",
                                      &st);
    if (qs < 0)
        return qs;
    sqlite3_bind_text(st, 1, account_id, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, import_id, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 3, n);
    /* Not pb_sqlite_bind_blob: an empty chunk is an empty blob, not NULL. */
    sqlite3_bind_blob64(st, 4, sealed, (sqlite3_uint64)len, SQLITE_STATIC);
    return pb_sqlite_step_change(c, st, "import chunk put");
}

enum pb_qs
pb_sqlite_import_chunk_get(struct pb_conn *conn, const char *account_id, const char *import_id,
                           int64_t n, unsigned char *out, size_t *len)
{
    struct pb_sqlite_conn *c = pb_sqlite_conn(conn);
    sqlite3_stmt *st;
    *len = 0;
    enum pb_qs qs = pb_sqlite_prepare(c, PB_SQ_IMPORT_CHUNK_GET,
                                      "SELECT sealed FROM import_chunks"
                                      " WHERE import_id = ?2 AND n = ?3 AND account_id = ?1",
                                      &st);
    if (qs < 0)
        return qs;
    sqlite3_bind_text(st, 1, account_id, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, import_id, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 3, n);
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        if (pb_sqlite_column_blob(st, 0, out, PB_IMPORT_CHUNK_SEALED_MAX, len)) {
            qs = PB_QS_ONE;
        } else {
            pb_error("sqlite: an upload chunk longer than %d bytes", PB_IMPORT_CHUNK_SEALED_MAX);
            qs = PB_QS_HARD_ERROR;
        }
    } else {
        qs = rc == SQLITE_DONE ? PB_QS_NONE : pb_sqlite_fail(c, rc, "import chunk get");
    }
    pb_sqlite_done(st);
    return qs;
}

enum pb_qs
pb_sqlite_import_chunks_delete(struct pb_conn *conn, const char *account_id, const char *import_id)
{
    struct pb_sqlite_conn *c = pb_sqlite_conn(conn);
    sqlite3_stmt *st;
    enum pb_qs qs = pb_sqlite_prepare(
        c, PB_SQ_IMPORT_CHUNKS_DELETE,
        "DELETE FROM import_chunks WHERE import_id = ?2 AND account_id = ?1", &st);
    if (qs < 0)
        return qs;
    sqlite3_bind_text(st, 1, account_id, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, import_id, -1, SQLITE_STATIC);
    return pb_sqlite_step_change(c, st, "import chunks delete");
}

/* ---- rejected lines ---- */

enum pb_qs
pb_sqlite_import_reject_insert_many(struct pb_conn *conn, const char *account_id,
                                    const char *import_id, const struct pb_import_reject *rejects,
                                    int n)
{
    struct pb_sqlite_conn *c = pb_sqlite_conn(conn);
    sqlite3_stmt *st;
    if (!count_ok(n, "import reject insert many"))
        return PB_QS_HARD_ERROR;
    if (n == 0)
        return PB_QS_NONE;
    /* A line recorded already (by this batch too) is left as it is. */
    enum pb_qs qs = pb_sqlite_prepare(c, PB_SQ_IMPORT_REJECT_INSERT,
                                      "INSERT INTO import_rejects (account_id, import_id, line,"
                                      " reason) VALUES (?1, ?2, ?3, ?4)"
                                      " ON CONFLICT (import_id, line) DO NOTHING",
                                      &st);
    if (qs < 0)
        return qs;
    sqlite3_bind_text(st, 1, account_id, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, import_id, -1, SQLITE_STATIC);
    int64_t changes = 0;
    for (int i = 0; i < n; i++) {
        sqlite3_bind_int64(st, 3, rejects[i].line);
        sqlite3_bind_text(st, 4, rejects[i].reason,
                          (int)strnlen(rejects[i].reason, sizeof(rejects[i].reason)),
                          SQLITE_STATIC);
        if ((qs = step_row(c, st, &changes, "import reject insert many")) < 0)
            return qs;
    }
    pb_sqlite_done(st);
    return rows64(changes);
}

enum pb_qs
pb_sqlite_import_reject_list(struct pb_conn *conn, const char *account_id, const char *import_id,
                             int64_t after_line, int limit, pb_import_reject_cb cb, void *cls)
{
    struct pb_sqlite_conn *c = pb_sqlite_conn(conn);
    sqlite3_stmt *st;
    enum pb_qs qs = pb_sqlite_prepare(c, PB_SQ_IMPORT_REJECT_LIST,
                                      "SELECT line, reason FROM import_rejects"
                                      " WHERE import_id = ?2 AND line > ?3 AND account_id = ?1"
                                      " ORDER BY line LIMIT ?4",
                                      &st);
    if (qs < 0)
        return qs;
    sqlite3_bind_text(st, 1, account_id, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, import_id, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 3, after_line);
    sqlite3_bind_int(st, 4, limit < 0 ? 0 : limit);
    for (int n = 0; pb_sqlite_next(c, st, n, &qs, "import reject list"); n++) {
        struct pb_import_reject r;
        r.line = sqlite3_column_int64(st, 0);
        if (!pb_sqlite_column_text(st, 1, r.reason, sizeof(r.reason))) {
            pb_error("sqlite: an import_rejects row does not fit its struct");
            return pb_sqlite_bad_row(st);
        }
        cb(cls, &r);
    }
    return qs;
}
