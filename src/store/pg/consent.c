/*
 * PostgreSQL: consent statements with their evidence, and the consent log (a
 * hash chain per account, its personal parts kept beside it for erasure).
 */
#include "store/pg/pg_internal.h"

#include <stdio.h>

#include "core/log.h"

#define HASH_HEX (2 * PB_EVENT_HASH_BYTES + 1)

enum pb_qs
pb_pg_statement_insert(struct pb_conn *conn, const struct pb_consent_statement *stmt)
{
    struct pb_pg_conn *c = pb_pg_conn(conn);
    PGresult *res;
    enum pb_qs qs;
    if (stmt->evidence_count < 0 || stmt->evidence_count > PB_STATEMENT_EVIDENCE) {
        pb_error("postgres: a consent statement has %d evidence ids", stmt->evidence_count);
        return PB_QS_HARD_ERROR;
    }
    /* All checked before anything is written. */
    for (int i = 0; i < stmt->evidence_count; i++) {
        const char *const params[] = {stmt->account_id, stmt->evidence_ids[i]};
        qs =
            pb_pg_exec(c, PB_PG_STATEMENT_EVIDENCE_CHECK, "pb_statement_evidence_check",
                       "SELECT 1 FROM evidence WHERE account_id = $1 AND id = $2", 2, params, &res);
        if (qs < 0)
            return qs;
        int n = PQntuples(res);
        PQclear(res);
        if (n == 0)
            return PB_QS_NONE;
    }

    char created[24];
    snprintf(created, sizeof(created), "%lld", (long long)stmt->created_at);
    const char *const params[] = {stmt->id,          stmt->account_id, stmt->basis,
                                  stmt->description, stmt->created_by, created};
    qs = pb_pg_exec_change(c, PB_PG_STATEMENT_INSERT, "pb_statement_insert",
                           "INSERT INTO consent_statements (id, account_id, basis, description,"
                           " created_by, created_at) VALUES ($1, $2, $3, $4, $5, $6)",
                           6, params);
    if (qs < 0)
        return qs;
    for (int i = 0; i < stmt->evidence_count; i++) {
        const char *const link_params[] = {stmt->id, stmt->evidence_ids[i]};
        enum pb_qs link = pb_pg_exec_change(c, PB_PG_STATEMENT_LINK, "pb_statement_link",
                                            "INSERT INTO statement_evidence"
                                            " (statement_id, evidence_id) VALUES ($1, $2)"
                                            " ON CONFLICT DO NOTHING",
                                            2, link_params);
        if (link < 0)
            return link;
    }
    return qs;
}

enum pb_qs
pb_pg_statement_get(struct pb_conn *conn, const char *account_id, const char *id,
                    struct pb_consent_statement *out)
{
    struct pb_pg_conn *c = pb_pg_conn(conn);
    const char *const params[] = {account_id, id};
    PGresult *res;
    enum pb_qs qs = pb_pg_exec(c, PB_PG_STATEMENT_GET, "pb_statement_get",
                               "SELECT id, account_id, basis, description, created_by, created_at"
                               " FROM consent_statements WHERE account_id = $1 AND id = $2",
                               2, params, &res);
    if (qs < 0)
        return qs;
    if (PQntuples(res) == 0) {
        PQclear(res);
        return PB_QS_NONE;
    }
    bool ok = pb_pg_text(res, 0, 0, out->id, sizeof(out->id));
    ok = pb_pg_text(res, 0, 1, out->account_id, sizeof(out->account_id)) && ok;
    ok = pb_pg_text(res, 0, 2, out->basis, sizeof(out->basis)) && ok;
    ok = pb_pg_text(res, 0, 3, out->description, sizeof(out->description)) && ok;
    ok = pb_pg_text(res, 0, 4, out->created_by, sizeof(out->created_by)) && ok;
    out->created_at = pb_pg_int64(res, 0, 5);
    PQclear(res);
    if (!ok) {
        pb_error("postgres: a consent_statements row does not fit its struct");
        return PB_QS_HARD_ERROR;
    }

    char limit[16];
    snprintf(limit, sizeof(limit), "%d", PB_STATEMENT_EVIDENCE);
    const char *const ev_params[] = {id, limit};
    qs = pb_pg_exec(c, PB_PG_STATEMENT_GET_EVIDENCE, "pb_statement_get_evidence",
                    "SELECT evidence_id FROM statement_evidence"
                    " WHERE statement_id = $1 ORDER BY evidence_id LIMIT $2",
                    2, ev_params, &res);
    if (qs < 0)
        return qs;
    int n = PQntuples(res);
    out->evidence_count = 0;
    for (int i = 0; i < n && i < PB_STATEMENT_EVIDENCE; i++) {
        if (!pb_pg_text(res, i, 0, out->evidence_ids[i], sizeof(out->evidence_ids[0]))) {
            pb_error("postgres: a statement_evidence row does not fit its struct");
            PQclear(res);
            return PB_QS_HARD_ERROR;
        }
        out->evidence_count++;
    }
    PQclear(res);
    return PB_QS_ONE;
}

/* Runs a query answering (seq, hex hash) of one account: the newest event, or the head. */
static enum pb_qs
seq_and_hash(struct pb_pg_conn *c, enum pb_pg_stmt slot, const char *name, const char *sql,
             const char *account_id, int64_t *seq, unsigned char hash[PB_EVENT_HASH_BYTES])
{
    const char *const params[] = {account_id};
    PGresult *res;
    *seq = 0;
    enum pb_qs qs = pb_pg_exec(c, slot, name, sql, 1, params, &res);
    if (qs < 0)
        return qs;
    if (PQntuples(res) == 0) {
        qs = PB_QS_NONE;
    } else {
        size_t len = 0;
        *seq = pb_pg_int64(res, 0, 0);
        if (pb_pg_bytes(res, 0, 1, hash, PB_EVENT_HASH_BYTES, &len) && len == PB_EVENT_HASH_BYTES) {
            qs = PB_QS_ONE;
        } else {
            pb_error("postgres: %s: a hash of the wrong size", name);
            qs = PB_QS_HARD_ERROR;
        }
    }
    PQclear(res);
    return qs;
}

enum pb_qs
pb_pg_event_last(struct pb_conn *conn, const char *account_id, int64_t *seq,
                 unsigned char hash[PB_EVENT_HASH_BYTES])
{
    return seq_and_hash(pb_pg_conn(conn), PB_PG_EVENT_LAST, "pb_event_last",
                        "SELECT seq, encode(hash, 'hex') FROM consent_events"
                        " WHERE account_id = $1 ORDER BY seq DESC LIMIT 1",
                        account_id, seq, hash);
}

enum pb_qs
pb_pg_event_append(struct pb_conn *conn, const struct pb_consent_event *event,
                   const struct pb_consent_personal *personal)
{
    struct pb_pg_conn *c = pb_pg_conn(conn);
    char seq[24], at[24], prev[HASH_HEX], hash[HASH_HEX];
    snprintf(seq, sizeof(seq), "%lld", (long long)event->seq);
    snprintf(at, sizeof(at), "%lld", (long long)event->at);
    const char *const params[] = {
        event->account_id,
        seq,
        event->id,
        event->type,
        event->contact_id,
        pb_pg_opt(event->list_id),
        pb_pg_opt(event->statement_id),
        event->channel,
        event->actor,
        at,
        pb_pg_opt(event->ref),
        pb_pg_hex(event->prev_hash, PB_EVENT_HASH_BYTES, prev, sizeof(prev)),
        pb_pg_hex(event->hash, PB_EVENT_HASH_BYTES, hash, sizeof(hash)),
    };
    /*
     * A seq taken by a committed writer answers no row here; one taken by a
     * concurrent serializable writer fails with 40001. Both are soft.
     */
    enum pb_qs qs = pb_pg_exec_change(
        c, PB_PG_EVENT_APPEND, "pb_event_append",
        "INSERT INTO consent_events (account_id, seq, id, type, contact_id, list_id,"
        " statement_id, channel, actor, at, ref, prev_hash, hash)"
        " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, decode($12, 'hex'),"
        " decode($13, 'hex')) ON CONFLICT (account_id, seq) DO NOTHING",
        13, params);
    if (qs < 0)
        return qs;
    if (qs == PB_QS_NONE) {
        pb_debug("postgres %s: consent event %lld exists already", c->where, (long long)event->seq);
        return PB_QS_SOFT_ERROR;
    }
    const char *const head_params[] = {event->account_id, seq, hash};
    qs = pb_pg_exec_change(c, PB_PG_EVENT_HEAD_PUT, "pb_event_head_put",
                           "INSERT INTO consent_heads (account_id, seq, hash)"
                           " VALUES ($1, $2, decode($3, 'hex')) ON CONFLICT (account_id)"
                           " DO UPDATE SET seq = excluded.seq, hash = excluded.hash",
                           3, head_params);
    if (qs < 0)
        return qs;
    if (personal == NULL)
        return qs;
    const char *const personal_params[] = {
        event->id,
        event->account_id,
        pb_pg_opt(personal->client_ip),
        pb_pg_opt(personal->user_agent),
        pb_pg_opt(personal->note),
    };
    return pb_pg_exec_change(c, PB_PG_EVENT_PERSONAL_INSERT, "pb_event_personal_insert",
                             "INSERT INTO consent_event_personal"
                             " (event_id, account_id, client_ip, user_agent, note)"
                             " VALUES ($1, $2, $3, $4, $5)",
                             5, personal_params);
}

#define EVENT_COLUMNS                                                                              \
    "e.account_id, e.seq, e.id, e.type, e.contact_id, e.list_id, e.statement_id, e.channel,"       \
    " e.actor, e.at, encode(e.prev_hash, 'hex'), encode(e.hash, 'hex'), e.ref"

/* Calls `cb` for each event row of `res` (with the personal columns when asked), and clears it. */
static enum pb_qs
each_event(PGresult *res, bool with_personal, pb_consent_event_cb cb, void *cls)
{
    int n = PQntuples(res);
    for (int i = 0; i < n; i++) {
        struct pb_consent_event ev = {0};
        struct pb_consent_personal personal = {0};
        size_t prev_len = 0, hash_len = 0;
        bool ok = pb_pg_text(res, i, 0, ev.account_id, sizeof(ev.account_id));
        ev.seq = pb_pg_int64(res, i, 1);
        ok = pb_pg_text(res, i, 2, ev.id, sizeof(ev.id)) && ok;
        ok = pb_pg_text(res, i, 3, ev.type, sizeof(ev.type)) && ok;
        ok = pb_pg_text(res, i, 4, ev.contact_id, sizeof(ev.contact_id)) && ok;
        ok = pb_pg_opt_text(res, i, 5, ev.list_id, sizeof(ev.list_id)) && ok;
        ok = pb_pg_opt_text(res, i, 6, ev.statement_id, sizeof(ev.statement_id)) && ok;
        ok = pb_pg_text(res, i, 7, ev.channel, sizeof(ev.channel)) && ok;
        ok = pb_pg_text(res, i, 8, ev.actor, sizeof(ev.actor)) && ok;
        ev.at = pb_pg_int64(res, i, 9);
        ok = pb_pg_bytes(res, i, 10, ev.prev_hash, sizeof(ev.prev_hash), &prev_len) &&
             prev_len == PB_EVENT_HASH_BYTES && ok;
        ok = pb_pg_bytes(res, i, 11, ev.hash, sizeof(ev.hash), &hash_len) &&
             hash_len == PB_EVENT_HASH_BYTES && ok;
        ok = pb_pg_opt_text(res, i, 12, ev.ref, sizeof(ev.ref)) && ok;
        if (with_personal) {
            ok = pb_pg_opt_text(res, i, 13, personal.client_ip, sizeof(personal.client_ip)) && ok;
            ok = pb_pg_opt_text(res, i, 14, personal.user_agent, sizeof(personal.user_agent)) && ok;
            ok = pb_pg_opt_text(res, i, 15, personal.note, sizeof(personal.note)) && ok;
        }
        if (!ok) {
            pb_error("postgres: a consent_events row does not fit its struct");
            PQclear(res);
            return PB_QS_HARD_ERROR;
        }
        cb(cls, &ev, with_personal ? &personal : NULL);
    }
    PQclear(res);
    return pb_pg_rows(n);
}

enum pb_qs
pb_pg_event_list_for_contact(struct pb_conn *conn, const char *account_id, const char *contact_id,
                             pb_consent_event_cb cb, void *cls)
{
    struct pb_pg_conn *c = pb_pg_conn(conn);
    const char *const params[] = {account_id, contact_id};
    PGresult *res;
    enum pb_qs qs = pb_pg_exec(c, PB_PG_EVENT_LIST_FOR_CONTACT, "pb_event_list_for_contact",
                               "SELECT " EVENT_COLUMNS
                               ", p.client_ip, p.user_agent, p.note FROM consent_events e"
                               " LEFT JOIN consent_event_personal p ON p.event_id = e.id"
                               " WHERE e.account_id = $1 AND e.contact_id = $2 ORDER BY e.seq",
                               2, params, &res);
    return qs < 0 ? qs : each_event(res, true, cb, cls);
}

enum pb_qs
pb_pg_event_scan(struct pb_conn *conn, const char *account_id, int64_t after_seq, int limit,
                 pb_consent_event_cb cb, void *cls)
{
    struct pb_pg_conn *c = pb_pg_conn(conn);
    char after[24], limit_text[16];
    snprintf(after, sizeof(after), "%lld", (long long)after_seq);
    snprintf(limit_text, sizeof(limit_text), "%d", limit < 0 ? 0 : limit);
    const char *const params[] = {account_id, after, limit_text};
    PGresult *res;
    enum pb_qs qs = pb_pg_exec(c, PB_PG_EVENT_SCAN, "pb_event_scan",
                               "SELECT " EVENT_COLUMNS " FROM consent_events e"
                               " WHERE e.account_id = $1 AND e.seq > $2"
                               " ORDER BY e.seq LIMIT $3",
                               3, params, &res);
    return qs < 0 ? qs : each_event(res, false, cb, cls);
}

enum pb_qs
pb_pg_event_wipe_personal(struct pb_conn *conn, const char *account_id, const char *contact_id)
{
    struct pb_pg_conn *c = pb_pg_conn(conn);
    const char *const params[] = {account_id, contact_id};
    return pb_pg_exec_change(
        c, PB_PG_EVENT_WIPE_PERSONAL, "pb_event_wipe_personal",
        "UPDATE consent_event_personal SET client_ip = NULL, user_agent = NULL, note = NULL"
        " WHERE account_id = $1 AND event_id IN"
        " (SELECT id FROM consent_events WHERE account_id = $1 AND contact_id = $2)",
        2, params);
}

enum pb_qs
pb_pg_event_head(struct pb_conn *conn, const char *account_id, int64_t *seq,
                 unsigned char hash[PB_EVENT_HASH_BYTES])
{
    return seq_and_hash(pb_pg_conn(conn), PB_PG_EVENT_HEAD_GET, "pb_event_head_get",
                        "SELECT seq, encode(hash, 'hex') FROM consent_heads"
                        " WHERE account_id = $1",
                        account_id, seq, hash);
}
