/*
 * PostgreSQL: what the right to be forgotten needs from the store (issue 7):
 * wiping a contact's values, evidence, SMTP replies and the personal parts
 * of its events (each counting what it changed, for the receipt), the
 * receipts themselves, reading and lifting suppressions, and the contacts
 * past an account's storage limit. Each operation is one statement.
 *
 * memberships.statement_id and consent_events.statement_id have the
 * database's default collation, the ids they are compared with "C": a
 * probe into their indexes says COLLATE "default", or the comparison takes
 * "C" and the index cannot serve it.
 */
#include "store/pg/pg_internal.h"

#include <limits.h>
#include <string.h>

#include "core/log.h"
#include "core/strutil.h"

/* The rows a command changed into *n; NONE/ONE/N. Clears `res`. */
static enum pb_qs
count_changes(PGresult *res, int64_t *n, const char *what)
{
    const char *text = PQcmdTuples(res);
    long rows = 0;
    bool ok = text == NULL || *text == '\0' || pb_str_to_long(text, 0, LONG_MAX, &rows);
    PQclear(res);
    if (!ok) {
        pb_error("postgres: %s: a row count that is not a number", what);
        return PB_QS_HARD_ERROR;
    }
    *n = rows;
    return rows == 0 ? PB_QS_NONE : rows == 1 ? PB_QS_ONE : PB_QS_N;
}

/* Runs a command with the account ($1) and the contact ($2), counting the rows it changed. */
static enum pb_qs
exec_count(struct pb_pg_conn *c, enum pb_pg_stmt id, const char *name, const char *sql,
           const char *account_id, const char *contact_id, int64_t *n)
{
    const char *const params[] = {account_id, contact_id};
    PGresult *res;
    *n = 0;
    enum pb_qs qs = pb_pg_exec(c, id, name, sql, 2, params, &res);
    return qs < 0 ? qs : count_changes(res, n, name);
}

/* ---- wiping a contact ---- */

enum pb_qs
pb_pg_value_delete_for_contact(struct pb_conn *conn, const char *account_id, const char *contact_id,
                               int64_t *n)
{
    return exec_count(pb_pg_conn(conn), PB_PG_VALUE_DELETE_FOR_CONTACT,
                      "pb_value_delete_for_contact",
                      "DELETE FROM contact_values WHERE account_id = $1 AND contact_id = $2",
                      account_id, contact_id, n);
}

enum pb_qs
pb_pg_evidence_erase_for_contact(struct pb_conn *conn, const char *account_id,
                                 const char *contact_id, int64_t *n)
{
    /*
     * "mine": the statements a membership or an event of the contact names.
     * "doomed": evidence linked to one of them none of whose links is
     * "blocking": a statement not mine, or one another contact names
     * (looked for in any account: a stray reference keeps the evidence
     * rather than losing someone else's proof). Its links and then the
     * evidence go in one statement: the foreign key (NO ACTION) is checked
     * at its end, the links gone by then.
     *
     * The shapes are chosen for the planner. The links are counted per
     * candidate (a LATERAL aggregate: a NOT EXISTS would become an anti
     * join over every link of the database). "Another contact names it" is
     * the first such row in contact order: the order only the index on
     * (statement_id, contact_id) gives cheaply; as a bare EXISTS the
     * planner, expecting many rows per statement, scans the table for one.
     */
    return exec_count(
        pb_pg_conn(conn), PB_PG_EVIDENCE_ERASE_FOR_CONTACT, "pb_evidence_erase_for_contact",
        "WITH mine AS ("
        "  SELECT statement_id COLLATE \"C\" AS id FROM memberships"
        "   WHERE account_id = $1 AND contact_id = $2 AND statement_id IS NOT NULL"
        "  UNION"
        "  SELECT statement_id COLLATE \"C\" FROM consent_events"
        "   WHERE account_id = $1 AND contact_id = $2 AND statement_id IS NOT NULL),"
        " doomed AS ("
        "  SELECT e.id FROM (SELECT DISTINCT se.evidence_id AS id FROM mine"
        "   JOIN statement_evidence se ON se.statement_id = mine.id) candidate"
        "  JOIN evidence e ON e.id = candidate.id AND e.account_id = $1"
        "  CROSS JOIN LATERAL (SELECT count(*) AS n FROM statement_evidence o"
        "   WHERE o.evidence_id = candidate.id AND (o.statement_id NOT IN (SELECT id FROM mine)"
        "    OR (SELECT 1 FROM memberships m"
        "     WHERE m.statement_id = o.statement_id COLLATE \"default\" AND m.contact_id <> $2"
        "     ORDER BY m.contact_id LIMIT 1) IS NOT NULL"
        "    OR (SELECT 1 FROM consent_events ev"
        "     WHERE ev.statement_id = o.statement_id COLLATE \"default\" AND ev.contact_id <> $2"
        "     ORDER BY ev.contact_id LIMIT 1) IS NOT NULL)) blocking"
        "  WHERE blocking.n = 0),"
        " unlinked AS (DELETE FROM statement_evidence"
        "  WHERE evidence_id IN (SELECT id FROM doomed))"
        " DELETE FROM evidence WHERE account_id = $1 AND id IN (SELECT id FROM doomed)",
        account_id, contact_id, n);
}

enum pb_qs
pb_pg_recipient_wipe_errors(struct pb_conn *conn, const char *account_id, const char *contact_id,
                            int64_t *n)
{
    return exec_count(pb_pg_conn(conn), PB_PG_RECIPIENT_WIPE_ERRORS, "pb_recipient_wipe_errors",
                      "UPDATE campaign_recipients SET error = NULL"
                      " WHERE contact_id = $2 AND account_id = $1 AND error IS NOT NULL",
                      account_id, contact_id, n);
}

enum pb_qs
pb_pg_event_wipe_personal_count(struct pb_conn *conn, const char *account_id,
                                const char *contact_id, int64_t *n)
{
    /* Only rows with something left to wipe change, so the count is theirs. */
    return exec_count(
        pb_pg_conn(conn), PB_PG_EVENT_WIPE_PERSONAL_COUNT, "pb_event_wipe_personal_count",
        "UPDATE consent_event_personal SET client_ip = NULL, user_agent = NULL, note = NULL"
        " WHERE account_id = $1 AND event_id IN"
        " (SELECT id FROM consent_events WHERE account_id = $1 AND contact_id = $2)"
        " AND (client_ip IS NOT NULL OR user_agent IS NOT NULL OR note IS NOT NULL)",
        account_id, contact_id, n);
}

/* ---- receipts ---- */

enum pb_qs
pb_pg_erasure_insert(struct pb_conn *conn, const struct pb_erasure *erasure)
{
    struct pb_pg_conn *c = pb_pg_conn(conn);
    char at[PB_PG_NUM_MAX];
    const char *const params[] = {
        erasure->id,
        erasure->account_id,
        erasure->contact_id,
        erasure->pseudonym,
        erasure->actor,
        erasure->reason,
        erasure->wiped[0] ? erasure->wiped : "{}",
        pb_pg_num(at, erasure->erased_at),
    };
    /* A contact of another account: nothing written, PB_QS_NONE. */
    return pb_pg_exec_change(
        c, PB_PG_ERASURE_INSERT, "pb_erasure_insert",
        "INSERT INTO erasures (id, account_id, contact_id, pseudonym, actor, reason, wiped,"
        " erased_at) SELECT $1::text, $2::text, $3::text, $4::text, $5::text, $6::text,"
        " $7::text, $8::bigint"
        " WHERE EXISTS (SELECT 1 FROM contacts WHERE id = $3::text AND account_id = $2::text)",
        8, params);
}

#define ERASURE_COLUMNS "id, account_id, contact_id, pseudonym, actor, reason, wiped, erased_at"

/* Fills a struct pb_erasure from row `row` of ERASURE_COLUMNS. */
static bool
read_erasure(const PGresult *res, int row, void *dst)
{
    struct pb_erasure *out = dst;
    memset(out, 0, sizeof(*out));
    bool ok = pb_pg_text(res, row, 0, out->id, sizeof(out->id));
    ok = pb_pg_text(res, row, 1, out->account_id, sizeof(out->account_id)) && ok;
    ok = pb_pg_text(res, row, 2, out->contact_id, sizeof(out->contact_id)) && ok;
    ok = pb_pg_text(res, row, 3, out->pseudonym, sizeof(out->pseudonym)) && ok;
    ok = pb_pg_text(res, row, 4, out->actor, sizeof(out->actor)) && ok;
    ok = pb_pg_text(res, row, 5, out->reason, sizeof(out->reason)) && ok;
    ok = pb_pg_text(res, row, 6, out->wiped, sizeof(out->wiped)) && ok;
    out->erased_at = pb_pg_int64(res, row, 7);
    if (!ok)
        pb_error("postgres: an erasures row does not fit its struct");
    return ok;
}

enum pb_qs
pb_pg_erasure_list(struct pb_conn *conn, const char *account_id, const char *before_id, int limit,
                   pb_erasure_cb cb, void *cls)
{
    struct pb_pg_conn *c = pb_pg_conn(conn);
    char limit_text[PB_PG_NUM_MAX];
    /* "~" sorts after every id (the column collates as bytes): "" means from the newest. */
    const char *const params[] = {account_id,
                                  before_id != NULL && *before_id != '\0' ? before_id : "~",
                                  pb_pg_num(limit_text, limit < 0 ? 0 : limit)};
    PGresult *res;
    enum pb_qs qs = pb_pg_exec(c, PB_PG_ERASURE_LIST, "pb_erasure_list",
                               "SELECT " ERASURE_COLUMNS " FROM erasures"
                               " WHERE account_id = $1 AND id < $2 ORDER BY id DESC LIMIT $3",
                               3, params, &res);
    if (qs < 0)
        return qs;
    int n = PQntuples(res);
    for (int i = 0; i < n; i++) {
        struct pb_erasure erasure;
        if (!read_erasure(res, i, &erasure))
            return pb_pg_bad_row(res);
        cb(cls, &erasure);
    }
    PQclear(res);
    return pb_pg_rows(n);
}

enum pb_qs
pb_pg_erasure_get_for_contact(struct pb_conn *conn, const char *account_id, const char *contact_id,
                              struct pb_erasure *out)
{
    struct pb_pg_conn *c = pb_pg_conn(conn);
    const char *const params[] = {account_id, contact_id};
    PGresult *res;
    /* A contact is erased once; should a second receipt exist, the newest answers. */
    enum pb_qs qs = pb_pg_exec(c, PB_PG_ERASURE_GET_FOR_CONTACT, "pb_erasure_get_for_contact",
                               "SELECT " ERASURE_COLUMNS " FROM erasures"
                               " WHERE account_id = $1 AND contact_id = $2"
                               " ORDER BY id DESC LIMIT 1",
                               2, params, &res);
    return qs < 0 ? qs : pb_pg_get_one(res, read_erasure, out);
}

/* ---- suppression ---- */

enum pb_qs
pb_pg_suppression_get(struct pb_conn *conn, const char *account_id,
                      const unsigned char hash[PB_HASH_BYTES], char reason[16], int64_t *at)
{
    struct pb_pg_conn *c = pb_pg_conn(conn);
    reason[0] = '\0';
    *at = 0;
    struct pb_pg_params p;
    pb_pg_params_init(&p, 0);
    pb_pg_param_text(&p, account_id);
    pb_pg_param_blob(&p, hash, PB_HASH_BYTES);
    PGresult *res;
    enum pb_qs qs = pb_pg_params_exec(c, PB_PG_SUPPRESSION_GET, "pb_suppression_get",
                                      "SELECT reason, created_at FROM suppressions"
                                      " WHERE account_id = $1 AND hash = $2::bytea",
                                      &p, 0, &res);
    if (qs < 0)
        return qs;
    if (PQntuples(res) == 0) {
        qs = PB_QS_NONE;
    } else if (pb_pg_text(res, 0, 0, reason, 16)) {
        *at = pb_pg_int64(res, 0, 1);
        qs = PB_QS_ONE;
    } else {
        pb_error("postgres: a suppressions row does not fit its struct");
        qs = PB_QS_HARD_ERROR;
    }
    PQclear(res);
    return qs;
}

enum pb_qs
pb_pg_suppression_exists_many(struct pb_conn *conn, const char *account_id,
                              const unsigned char (*hashes)[PB_HASH_BYTES], int n, bool *has)
{
    struct pb_pg_conn *c = pb_pg_conn(conn);
    if (n < 0) {
        pb_error("postgres: suppression_exists_many: a batch of %d hashes", n);
        return PB_QS_HARD_ERROR;
    }
    for (int i = 0; i < n; i++)
        has[i] = false;
    if (n == 0)
        return PB_QS_NONE;
    struct pb_pg_params p;
    pb_pg_params_init(&p, 64 + (size_t)n * (4 + PB_HASH_BYTES));
    pb_pg_param_text(&p, account_id);
    pb_pg_array_begin(&p, PB_PG_OID_BYTEA, n);
    for (int i = 0; i < n; i++)
        pb_pg_elem_bytes(&p, hashes[i], PB_HASH_BYTES);
    pb_pg_array_end(&p);
    PGresult *res;
    /* The primary key (account_id, hash) probed for each element; the hashes found, binary. */
    enum pb_qs qs =
        pb_pg_params_exec(c, PB_PG_SUPPRESSION_EXISTS_MANY, "pb_suppression_exists_many",
                          "SELECT hash FROM suppressions"
                          " WHERE account_id = $1 AND hash = ANY($2::bytea[])",
                          &p, 1, &res);
    if (qs < 0)
        return qs;
    int rows = PQntuples(res), found = 0;
    for (int r = 0; r < rows; r++) {
        if (PQgetlength(res, r, 0) != PB_HASH_BYTES) {
            pb_error("postgres: suppression_exists_many: a hash of the wrong size");
            return pb_pg_bad_row(res);
        }
        const char *hash = PQgetvalue(res, r, 0);
        /* A batch may give one hash twice: each of its places is marked. */
        for (int i = 0; i < n; i++)
            if (!has[i] && memcmp(hashes[i], hash, PB_HASH_BYTES) == 0) {
                has[i] = true;
                found++;
            }
    }
    PQclear(res);
    return pb_pg_rows(found);
}

enum pb_qs
pb_pg_suppression_delete(struct pb_conn *conn, const char *account_id,
                         const unsigned char hash[PB_HASH_BYTES])
{
    struct pb_pg_conn *c = pb_pg_conn(conn);
    struct pb_pg_params p;
    pb_pg_params_init(&p, 0);
    pb_pg_param_text(&p, account_id);
    pb_pg_param_blob(&p, hash, PB_HASH_BYTES);
    return pb_pg_params_exec_change(
        c, PB_PG_SUPPRESSION_DELETE, "pb_suppression_delete",
        "DELETE FROM suppressions WHERE account_id = $1 AND hash = $2::bytea", &p);
}

/* ---- storage limitation ---- */

enum pb_qs
pb_pg_contact_list_expired(struct pb_conn *conn, const char *account_id, int64_t unlisted_before,
                           int64_t unconfirmed_before, const char *after_id, int limit,
                           pb_contact_cb cb, void *cls)
{
    struct pb_pg_conn *c = pb_pg_conn(conn);
    if (unlisted_before <= 0 && unconfirmed_before <= 0)
        return PB_QS_NONE; /* both rules off */
    char unlisted[PB_PG_NUM_MAX], unconfirmed[PB_PG_NUM_MAX], limit_text[PB_PG_NUM_MAX];
    const char *const params[] = {
        account_id,
        after_id ? after_id : "",
        pb_pg_num(unlisted, unlisted_before > 0 ? unlisted_before : 0),
        pb_pg_num(unconfirmed, unconfirmed_before > 0 ? unconfirmed_before : 0),
        pb_pg_num(limit_text, limit < 0 ? 0 : limit),
    };
    PGresult *res;
    /*
     * The contacts in id order, each with one aggregate over its own
     * memberships (a LATERAL aggregate is never flattened into a join: one
     * probe of memberships_contact per contact, so a page costs its
     * contacts' memberships, never the account's). A disabled rule's
     * cut-off is 0, which no time is below.
     */
    enum pb_qs qs = pb_pg_exec(
        c, PB_PG_CONTACT_LIST_EXPIRED, "pb_contact_list_expired",
        "SELECT " PB_PG_CONTACT_COLUMNS " FROM contacts c"
        " CROSS JOIN LATERAL (SELECT"
        "  count(*) FILTER (WHERE m.status = 'subscribed') AS subscribed,"
        "  count(*) FILTER (WHERE m.status = 'unconfirmed') AS unconfirmed,"
        "  max(m.since) AS changed,"
        "  max(m.since) FILTER (WHERE m.status = 'unconfirmed') AS unconfirmed_since"
        "  FROM memberships m WHERE m.contact_id = c.id AND m.account_id = $1) m"
        " WHERE c.account_id = $1 AND c.id > $2 AND c.status = 'active' AND m.subscribed = 0"
        " AND (($3::bigint > 0 AND m.unconfirmed = 0"
        "   AND COALESCE(m.changed, c.created_at) < $3::bigint)"
        "  OR ($4::bigint > 0 AND m.unconfirmed > 0 AND m.unconfirmed_since < $4::bigint))"
        " ORDER BY c.id LIMIT $5",
        5, params, &res);
    if (qs < 0)
        return qs;
    int n = PQntuples(res);
    for (int i = 0; i < n; i++) {
        struct pb_contact contact = {0};
        if (!pb_pg_read_contact(res, i, &contact))
            return pb_pg_bad_row(res);
        cb(cls, &contact);
    }
    PQclear(res);
    return pb_pg_rows(n);
}

/* ---- nothing lingers ---- */

enum pb_qs
pb_pg_checkpoint(struct pb_conn *conn)
{
    /*
     * Nothing to do: a dump holds live rows only. Dead row versions stay in
     * the data files until (auto)vacuum reuses their space; no statement
     * here would zero them.
     */
    (void)conn;
    return PB_QS_NONE;
}
