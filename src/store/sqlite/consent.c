/*
 * SQLite: consent statements with their evidence, and the consent log (a
 * hash chain per account, its personal parts kept beside it for erasure).
 */
#include "store/sqlite/sqlite_internal.h"

#include <string.h>

#include "core/log.h"

/* Whether evidence `id` is the account's: PB_QS_ONE, PB_QS_NONE or an error. */
static enum pb_qs
evidence_owned(struct pb_sqlite_conn *c, const char *account_id, const char *id)
{
    sqlite3_stmt *st;
    enum pb_qs qs =
        pb_sqlite_prepare(c, PB_SQ_STATEMENT_EVIDENCE_CHECK,
                          "SELECT 1 FROM evidence WHERE account_id = ?1 AND id = ?2", &st);
    if (qs < 0)
        return qs;
    sqlite3_bind_text(st, 1, account_id, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, id, -1, SQLITE_STATIC);
    return pb_sqlite_exists(c, st, "statement evidence check");
}

enum pb_qs
pb_sqlite_statement_insert(struct pb_conn *conn, const struct pb_consent_statement *stmt)
{
    struct pb_sqlite_conn *c = pb_sqlite_conn(conn);
    sqlite3_stmt *st;
    enum pb_qs qs;
    if (stmt->evidence_count < 0 || stmt->evidence_count > PB_STATEMENT_EVIDENCE) {
        pb_error("sqlite: a consent statement has %d evidence ids", stmt->evidence_count);
        return PB_QS_HARD_ERROR;
    }
    /* All checked before anything is written. */
    for (int i = 0; i < stmt->evidence_count; i++)
        if ((qs = evidence_owned(c, stmt->account_id, stmt->evidence_ids[i])) <= 0)
            return qs;

    qs = pb_sqlite_prepare(c, PB_SQ_STATEMENT_INSERT,
                           "INSERT INTO consent_statements (id, account_id, basis, description,"
                           " created_by, created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                           &st);
    if (qs < 0)
        return qs;
    sqlite3_bind_text(st, 1, stmt->id, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, stmt->account_id, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 3, stmt->basis, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 4, stmt->description, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 5, stmt->created_by, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 6, stmt->created_at);
    if ((qs = pb_sqlite_step_change(c, st, "statement insert")) < 0)
        return qs;

    for (int i = 0; i < stmt->evidence_count; i++) {
        enum pb_qs link = pb_sqlite_prepare(c, PB_SQ_STATEMENT_LINK,
                                            "INSERT INTO statement_evidence"
                                            " (statement_id, evidence_id) VALUES (?1, ?2)"
                                            " ON CONFLICT DO NOTHING",
                                            &st);
        if (link < 0)
            return link;
        sqlite3_bind_text(st, 1, stmt->id, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 2, stmt->evidence_ids[i], -1, SQLITE_STATIC);
        if ((link = pb_sqlite_step_change(c, st, "statement link")) < 0)
            return link;
    }
    return qs;
}

enum pb_qs
pb_sqlite_statement_get(struct pb_conn *conn, const char *account_id, const char *id,
                        struct pb_consent_statement *out)
{
    struct pb_sqlite_conn *c = pb_sqlite_conn(conn);
    sqlite3_stmt *st;
    enum pb_qs qs =
        pb_sqlite_prepare(c, PB_SQ_STATEMENT_GET,
                          "SELECT id, account_id, basis, description, created_by, created_at"
                          " FROM consent_statements WHERE account_id = ?1 AND id = ?2",
                          &st);
    if (qs < 0)
        return qs;
    sqlite3_bind_text(st, 1, account_id, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, id, -1, SQLITE_STATIC);
    int rc = sqlite3_step(st);
    if (rc != SQLITE_ROW) {
        qs = rc == SQLITE_DONE ? PB_QS_NONE : pb_sqlite_fail(c, rc, "statement get");
        pb_sqlite_done(st);
        return qs;
    }
    bool ok = pb_sqlite_column_text(st, 0, out->id, sizeof(out->id));
    ok = pb_sqlite_column_text(st, 1, out->account_id, sizeof(out->account_id)) && ok;
    ok = pb_sqlite_column_text(st, 2, out->basis, sizeof(out->basis)) && ok;
    ok = pb_sqlite_column_text(st, 3, out->description, sizeof(out->description)) && ok;
    ok = pb_sqlite_column_text(st, 4, out->created_by, sizeof(out->created_by)) && ok;
    out->created_at = sqlite3_column_int64(st, 5);
    pb_sqlite_done(st);
    if (!ok) {
        pb_error("sqlite: a consent_statements row does not fit its struct");
        return PB_QS_HARD_ERROR;
    }

    qs = pb_sqlite_prepare(c, PB_SQ_STATEMENT_GET_EVIDENCE,
                           "SELECT evidence_id FROM statement_evidence"
                           " WHERE statement_id = ?1 ORDER BY evidence_id LIMIT ?2",
                           &st);
    if (qs < 0)
        return qs;
    sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
    sqlite3_bind_int(st, 2, PB_STATEMENT_EVIDENCE);
    out->evidence_count = 0;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        if (!pb_sqlite_column_text(st, 0, out->evidence_ids[out->evidence_count],
                                   sizeof(out->evidence_ids[0]))) {
            pb_error("sqlite: a statement_evidence row does not fit its struct");
            pb_sqlite_done(st);
            return PB_QS_HARD_ERROR;
        }
        out->evidence_count++;
    }
    qs = rc == SQLITE_DONE ? PB_QS_ONE : pb_sqlite_fail(c, rc, "statement get evidence");
    pb_sqlite_done(st);
    return qs;
}

/* Runs a query answering (seq, hash) of one account: the newest event, or the head. */
static enum pb_qs
seq_and_hash(struct pb_sqlite_conn *c, enum pb_sq_stmt slot, const char *sql,
             const char *account_id, int64_t *seq, unsigned char hash[PB_EVENT_HASH_BYTES],
             const char *what)
{
    sqlite3_stmt *st;
    *seq = 0;
    enum pb_qs qs = pb_sqlite_prepare(c, slot, sql, &st);
    if (qs < 0)
        return qs;
    sqlite3_bind_text(st, 1, account_id, -1, SQLITE_STATIC);
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        size_t len = 0;
        *seq = sqlite3_column_int64(st, 0);
        if (pb_sqlite_column_blob(st, 1, hash, PB_EVENT_HASH_BYTES, &len) &&
            len == PB_EVENT_HASH_BYTES) {
            qs = PB_QS_ONE;
        } else {
            pb_error("sqlite: %s: a hash of the wrong size", what);
            qs = PB_QS_HARD_ERROR;
        }
    } else {
        qs = rc == SQLITE_DONE ? PB_QS_NONE : pb_sqlite_fail(c, rc, what);
    }
    pb_sqlite_done(st);
    return qs;
}

enum pb_qs
pb_sqlite_event_last(struct pb_conn *conn, const char *account_id, int64_t *seq,
                     unsigned char hash[PB_EVENT_HASH_BYTES])
{
    return seq_and_hash(pb_sqlite_conn(conn), PB_SQ_EVENT_LAST,
                        "SELECT seq, hash FROM consent_events WHERE account_id = ?1"
                        " ORDER BY seq DESC LIMIT 1",
                        account_id, seq, hash, "event last");
}

enum pb_qs
pb_sqlite_event_insert(struct pb_sqlite_conn *c, const struct pb_consent_event *event)
{
    sqlite3_stmt *st;
    enum pb_qs qs = pb_sqlite_prepare(
        c, PB_SQ_EVENT_APPEND,
        "INSERT INTO consent_events (account_id, seq, id, type, contact_id, list_id,"
        " statement_id, channel, actor, at, ref, prev_hash, hash)"
        " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)"
        " ON CONFLICT (account_id, seq) DO NOTHING",
        &st);
    if (qs < 0)
        return qs;
    sqlite3_bind_text(st, 1, event->account_id, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, event->seq);
    sqlite3_bind_text(st, 3, event->id, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 4, event->type, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 5, event->contact_id, -1, SQLITE_STATIC);
    pb_sqlite_bind_opt_text(st, 6, event->list_id);
    pb_sqlite_bind_opt_text(st, 7, event->statement_id);
    sqlite3_bind_text(st, 8, event->channel, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 9, event->actor, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 10, event->at);
    pb_sqlite_bind_opt_text(st, 11, event->ref);
    sqlite3_bind_blob(st, 12, event->prev_hash, PB_EVENT_HASH_BYTES, SQLITE_STATIC);
    sqlite3_bind_blob(st, 13, event->hash, PB_EVENT_HASH_BYTES, SQLITE_STATIC);
    if ((qs = pb_sqlite_step_change(c, st, "event append")) < 0)
        return qs;
    if (qs == PB_QS_NONE) {
        pb_debug("sqlite %s: consent event %lld exists already", c->path, (long long)event->seq);
        return PB_QS_SOFT_ERROR; /* another writer appended this seq first */
    }
    return PB_QS_ONE;
}

enum pb_qs
pb_sqlite_event_head_put(struct pb_sqlite_conn *c, const struct pb_consent_event *event)
{
    sqlite3_stmt *st;
    enum pb_qs qs =
        pb_sqlite_prepare(c, PB_SQ_EVENT_HEAD_PUT,
                          "INSERT INTO consent_heads (account_id, seq, hash) VALUES (?1, ?2, ?3)"
                          " ON CONFLICT (account_id) DO UPDATE"
                          " SET seq = excluded.seq, hash = excluded.hash",
                          &st);
    if (qs < 0)
        return qs;
    sqlite3_bind_text(st, 1, event->account_id, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, event->seq);
    sqlite3_bind_blob(st, 3, event->hash, PB_EVENT_HASH_BYTES, SQLITE_STATIC);
    return pb_sqlite_step_change(c, st, "event head");
}

enum pb_qs
pb_sqlite_event_append(struct pb_conn *conn, const struct pb_consent_event *event,
                       const struct pb_consent_personal *personal)
{
    struct pb_sqlite_conn *c = pb_sqlite_conn(conn);
    sqlite3_stmt *st;
    enum pb_qs qs;
    if ((qs = pb_sqlite_event_insert(c, event)) < 0)
        return qs;
    if ((qs = pb_sqlite_event_head_put(c, event)) < 0)
        return qs;
    if (personal == NULL)
        return qs;

    qs = pb_sqlite_prepare(c, PB_SQ_EVENT_PERSONAL_INSERT,
                           "INSERT INTO consent_event_personal"
                           " (event_id, account_id, client_ip, user_agent, note)"
                           " VALUES (?1, ?2, ?3, ?4, ?5)",
                           &st);
    if (qs < 0)
        return qs;
    sqlite3_bind_text(st, 1, event->id, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, event->account_id, -1, SQLITE_STATIC);
    pb_sqlite_bind_opt_text(st, 3, personal->client_ip);
    pb_sqlite_bind_opt_text(st, 4, personal->user_agent);
    pb_sqlite_bind_opt_text(st, 5, personal->note);
    return pb_sqlite_step_change(c, st, "event personal insert");
}

#define EVENT_COLUMNS                                                                              \
    "e.account_id, e.seq, e.id, e.type, e.contact_id, e.list_id, e.statement_id, e.channel,"       \
    " e.actor, e.at, e.prev_hash, e.hash, e.ref"

/* Fills `ev` from a row of EVENT_COLUMNS, and `personal` (when not NULL) from the three after. */
static bool
read_event(sqlite3_stmt *st, struct pb_consent_event *ev, struct pb_consent_personal *personal)
{
    size_t prev_len = 0, hash_len = 0;
    bool ok = pb_sqlite_column_text(st, 0, ev->account_id, sizeof(ev->account_id));
    ev->seq = sqlite3_column_int64(st, 1);
    ok = pb_sqlite_column_text(st, 2, ev->id, sizeof(ev->id)) && ok;
    ok = pb_sqlite_column_text(st, 3, ev->type, sizeof(ev->type)) && ok;
    ok = pb_sqlite_column_text(st, 4, ev->contact_id, sizeof(ev->contact_id)) && ok;
    ok = pb_sqlite_column_opt_text(st, 5, ev->list_id, sizeof(ev->list_id)) && ok;
    ok = pb_sqlite_column_opt_text(st, 6, ev->statement_id, sizeof(ev->statement_id)) && ok;
    ok = pb_sqlite_column_text(st, 7, ev->channel, sizeof(ev->channel)) && ok;
    ok = pb_sqlite_column_text(st, 8, ev->actor, sizeof(ev->actor)) && ok;
    ev->at = sqlite3_column_int64(st, 9);
    ok = pb_sqlite_column_blob(st, 10, ev->prev_hash, sizeof(ev->prev_hash), &prev_len) &&
         prev_len == PB_EVENT_HASH_BYTES && ok;
    ok = pb_sqlite_column_blob(st, 11, ev->hash, sizeof(ev->hash), &hash_len) &&
         hash_len == PB_EVENT_HASH_BYTES && ok;
    ok = pb_sqlite_column_opt_text(st, 12, ev->ref, sizeof(ev->ref)) && ok;
    if (personal != NULL) {
        ok = pb_sqlite_column_opt_text(st, 13, personal->client_ip, sizeof(personal->client_ip)) &&
             ok;
        ok =
            pb_sqlite_column_opt_text(st, 14, personal->user_agent, sizeof(personal->user_agent)) &&
            ok;
        ok = pb_sqlite_column_opt_text(st, 15, personal->note, sizeof(personal->note)) && ok;
    }
    if (!ok)
        pb_error("sqlite: a consent_events row does not fit its struct");
    return ok;
}

/* Runs an event query (parameters bound), calling `cb` per row. */
static enum pb_qs
each_event(struct pb_sqlite_conn *c, sqlite3_stmt *st, bool with_personal, pb_consent_event_cb cb,
           void *cls, const char *what)
{
    enum pb_qs qs;
    for (int n = 0; pb_sqlite_next(c, st, n, &qs, what); n++) {
        struct pb_consent_event ev = {0};
        struct pb_consent_personal personal = {0};
        if (!read_event(st, &ev, with_personal ? &personal : NULL))
            return pb_sqlite_bad_row(st);
        cb(cls, &ev, with_personal ? &personal : NULL);
    }
    return qs;
}

enum pb_qs
pb_sqlite_event_list_for_contact(struct pb_conn *conn, const char *account_id,
                                 const char *contact_id, pb_consent_event_cb cb, void *cls)
{
    struct pb_sqlite_conn *c = pb_sqlite_conn(conn);
    sqlite3_stmt *st;
    enum pb_qs qs = pb_sqlite_prepare(
        c, PB_SQ_EVENT_LIST_FOR_CONTACT,
        "SELECT " EVENT_COLUMNS ", p.client_ip, p.user_agent, p.note FROM consent_events e"
        " LEFT JOIN consent_event_personal p ON p.event_id = e.id"
        " WHERE e.account_id = ?1 AND e.contact_id = ?2 ORDER BY e.seq",
        &st);
    if (qs < 0)
        return qs;
    sqlite3_bind_text(st, 1, account_id, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, contact_id, -1, SQLITE_STATIC);
    return each_event(c, st, true, cb, cls, "event list for contact");
}

enum pb_qs
pb_sqlite_event_scan(struct pb_conn *conn, const char *account_id, int64_t after_seq, int limit,
                     pb_consent_event_cb cb, void *cls)
{
    struct pb_sqlite_conn *c = pb_sqlite_conn(conn);
    sqlite3_stmt *st;
    enum pb_qs qs = pb_sqlite_prepare(c, PB_SQ_EVENT_SCAN,
                                      "SELECT " EVENT_COLUMNS " FROM consent_events e"
                                      " WHERE e.account_id = ?1 AND e.seq > ?2"
                                      " ORDER BY e.seq LIMIT ?3",
                                      &st);
    if (qs < 0)
        return qs;
    sqlite3_bind_text(st, 1, account_id, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, after_seq);
    sqlite3_bind_int(st, 3, limit < 0 ? 0 : limit);
    return each_event(c, st, false, cb, cls, "event scan");
}

enum pb_qs
pb_sqlite_event_wipe_personal(struct pb_conn *conn, const char *account_id, const char *contact_id)
{
    struct pb_sqlite_conn *c = pb_sqlite_conn(conn);
    sqlite3_stmt *st;
    enum pb_qs qs = pb_sqlite_prepare(
        c, PB_SQ_EVENT_WIPE_PERSONAL,
        "UPDATE consent_event_personal SET client_ip = NULL, user_agent = NULL, note = NULL"
        " WHERE account_id = ?1 AND event_id IN"
        " (SELECT id FROM consent_events WHERE account_id = ?1 AND contact_id = ?2)",
        &st);
    if (qs < 0)
        return qs;
    sqlite3_bind_text(st, 1, account_id, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, contact_id, -1, SQLITE_STATIC);
    return pb_sqlite_step_change(c, st, "event wipe personal");
}

enum pb_qs
pb_sqlite_event_head(struct pb_conn *conn, const char *account_id, int64_t *seq,
                     unsigned char hash[PB_EVENT_HASH_BYTES])
{
    return seq_and_hash(pb_sqlite_conn(conn), PB_SQ_EVENT_HEAD_GET,
                        "SELECT seq, hash FROM consent_heads WHERE account_id = ?1", account_id,
                        seq, hash, "event head");
}
