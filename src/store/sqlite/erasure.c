/*
 * SQLite: what the right to be forgotten needs from the store (issue 7):
 * wiping a contact's values, evidence, SMTP replies and the personal parts
 * of its events (each counting what it changed, for the receipt), the
 * receipts themselves, reading and lifting suppressions, the contacts past
 * an account's storage limit, and the WAL checkpoint that takes wiped bytes
 * out of the log (secure_delete=ON, set in conn.c, zeroes them in the file).
 */
#include "store/sqlite/sqlite_internal.h"

#include <string.h>

#include "core/log.h"

/* Evidence ids erased per round of evidence_erase_for_contact. */
#define ERASE_ROUND 32

/* Runs a statement that changes rows: *n gets how many; NONE/ONE/N or an error. */
static enum pb_qs
step_count(struct pb_sqlite_conn *c, sqlite3_stmt *st, const char *what, int64_t *n)
{
    enum pb_qs qs;
    int rc = sqlite3_step(st);
    if (rc == SQLITE_DONE || rc == SQLITE_ROW) {
        *n = (int64_t)sqlite3_changes64(c->db);
        qs = *n == 0 ? PB_QS_NONE : *n == 1 ? PB_QS_ONE : PB_QS_N;
    } else {
        qs = pb_sqlite_fail(c, rc, what);
    }
    pb_sqlite_done(st);
    return qs;
}

/* Prepares `slot` and binds the account (?1) and the id of a row of it (?2). */
static enum pb_qs
prepare_for(struct pb_sqlite_conn *c, enum pb_sq_stmt slot, const char *sql, const char *account_id,
            const char *id, sqlite3_stmt **st)
{
    enum pb_qs qs = pb_sqlite_prepare(c, slot, sql, st);
    if (qs < 0)
        return qs;
    sqlite3_bind_text(*st, 1, account_id, -1, SQLITE_STATIC);
    sqlite3_bind_text(*st, 2, id, -1, SQLITE_STATIC);
    return qs;
}

/* ---- wiping a contact ---- */

enum pb_qs
pb_sqlite_value_delete_for_contact(struct pb_conn *conn, const char *account_id,
                                   const char *contact_id, int64_t *n)
{
    struct pb_sqlite_conn *c = pb_sqlite_conn(conn);
    sqlite3_stmt *st;
    *n = 0;
    /* "+account_id": the primary key (contact first) must drive this, not the per-field index. */
    enum pb_qs qs =
        prepare_for(c, PB_SQ_VALUE_DELETE_FOR_CONTACT,
                    "DELETE FROM contact_values WHERE contact_id = ?2 AND +account_id = ?1",
                    account_id, contact_id, &st);
    return qs < 0 ? qs : step_count(c, st, "value delete for contact", n);
}

/*
 * The contact's statements ("mine": those a membership or an event of it
 * names), and of the evidence linked to them the pieces whose every
 * statement is one of mine and names no other contact. Statements naming
 * another contact are looked for in any account: a stray reference keeps
 * the evidence rather than losing someone else's proof.
 */
#define ERASABLE_SQL                                                                               \
    "WITH mine(id) AS ("                                                                           \
    "  SELECT statement_id FROM memberships"                                                       \
    "   WHERE account_id = ?1 AND contact_id = ?2 AND statement_id IS NOT NULL"                    \
    "  UNION"                                                                                      \
    "  SELECT statement_id FROM consent_events"                                                    \
    "   WHERE account_id = ?1 AND contact_id = ?2 AND statement_id IS NOT NULL)"                   \
    " SELECT DISTINCT se.evidence_id FROM mine"                                                    \
    " JOIN statement_evidence se ON se.statement_id = mine.id"                                     \
    " JOIN evidence e ON e.id = se.evidence_id AND e.account_id = ?1"                              \
    " WHERE NOT EXISTS (SELECT 1 FROM statement_evidence o"                                        \
    "  WHERE o.evidence_id = se.evidence_id AND (o.statement_id NOT IN (SELECT id FROM mine)"      \
    "   OR EXISTS (SELECT 1 FROM memberships m"                                                    \
    "    WHERE m.statement_id = o.statement_id AND m.contact_id <> ?2)"                            \
    "   OR EXISTS (SELECT 1 FROM consent_events ev"                                                \
    "    WHERE ev.statement_id = o.statement_id AND ev.contact_id <> ?2)))"                        \
    " LIMIT ?3"

/* Deletes evidence `id` of the account with its links to statements; *n + 1 when it went. */
static enum pb_qs
evidence_delete(struct pb_sqlite_conn *c, const char *account_id, const char *id, int64_t *n)
{
    sqlite3_stmt *st;
    int64_t changed = 0;
    /* The links first: statement_evidence references evidence. */
    enum pb_qs qs = pb_sqlite_prepare(c, PB_SQ_EVIDENCE_UNLINK,
                                      "DELETE FROM statement_evidence WHERE evidence_id = ?1", &st);
    if (qs < 0)
        return qs;
    sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
    if ((qs = step_count(c, st, "evidence unlink", &changed)) < 0)
        return qs;
    qs = prepare_for(c, PB_SQ_EVIDENCE_DELETE,
                     "DELETE FROM evidence WHERE account_id = ?1 AND id = ?2", account_id, id, &st);
    if (qs < 0 || (qs = step_count(c, st, "evidence delete", &changed)) < 0)
        return qs;
    *n += changed;
    return qs;
}

enum pb_qs
pb_sqlite_evidence_erase_for_contact(struct pb_conn *conn, const char *account_id,
                                     const char *contact_id, int64_t *n)
{
    struct pb_sqlite_conn *c = pb_sqlite_conn(conn);
    char ids[ERASE_ROUND][PB_ID_LEN + 1];
    *n = 0;
    /*
     * In rounds: the ids are read (the statement reset) before anything is
     * deleted, and deleting one piece changes no other piece's answer.
     */
    for (;;) {
        sqlite3_stmt *st;
        enum pb_qs qs =
            prepare_for(c, PB_SQ_EVIDENCE_ERASABLE, ERASABLE_SQL, account_id, contact_id, &st);
        if (qs < 0)
            return qs;
        sqlite3_bind_int(st, 3, ERASE_ROUND);
        int got = 0;
        while (pb_sqlite_next(c, st, got, &qs, "evidence erasable")) {
            if (got == ERASE_ROUND || !pb_sqlite_column_text(st, 0, ids[got], sizeof(ids[got]))) {
                pb_error("sqlite: evidence erasable: a row that does not fit");
                return pb_sqlite_bad_row(st);
            }
            got++;
        }
        if (qs < 0)
            return qs;
        int64_t before = *n;
        for (int i = 0; i < got; i++)
            if ((qs = evidence_delete(c, account_id, ids[i], n)) < 0)
                return qs;
        /* A short round was the last; a round that deleted nothing would repeat forever. */
        if (got < ERASE_ROUND || *n == before)
            break;
    }
    return *n == 0 ? PB_QS_NONE : *n == 1 ? PB_QS_ONE : PB_QS_N;
}

enum pb_qs
pb_sqlite_recipient_wipe_errors(struct pb_conn *conn, const char *account_id,
                                const char *contact_id, int64_t *n)
{
    struct pb_sqlite_conn *c = pb_sqlite_conn(conn);
    sqlite3_stmt *st;
    *n = 0;
    enum pb_qs qs = prepare_for(c, PB_SQ_RECIPIENT_WIPE_ERRORS,
                                "UPDATE campaign_recipients SET error = NULL"
                                " WHERE contact_id = ?2 AND account_id = ?1"
                                " AND error IS NOT NULL",
                                account_id, contact_id, &st);
    return qs < 0 ? qs : step_count(c, st, "recipient wipe errors", n);
}

enum pb_qs
pb_sqlite_event_wipe_personal_count(struct pb_conn *conn, const char *account_id,
                                    const char *contact_id, int64_t *n)
{
    struct pb_sqlite_conn *c = pb_sqlite_conn(conn);
    sqlite3_stmt *st;
    *n = 0;
    /* Only rows with something left to wipe change, so the count is theirs. */
    enum pb_qs qs = prepare_for(
        c, PB_SQ_EVENT_WIPE_PERSONAL_COUNT,
        "UPDATE consent_event_personal SET client_ip = NULL, user_agent = NULL, note = NULL"
        " WHERE account_id = ?1 AND event_id IN"
        " (SELECT id FROM consent_events WHERE account_id = ?1 AND contact_id = ?2)"
        " AND (client_ip IS NOT NULL OR user_agent IS NOT NULL OR note IS NOT NULL)",
        account_id, contact_id, &st);
    return qs < 0 ? qs : step_count(c, st, "event wipe personal count", n);
}

/* ---- receipts ---- */

enum pb_qs
pb_sqlite_erasure_insert(struct pb_conn *conn, const struct pb_erasure *erasure)
{
    struct pb_sqlite_conn *c = pb_sqlite_conn(conn);
    sqlite3_stmt *st;
    /* A contact of another account: nothing written, PB_QS_NONE. */
    enum pb_qs qs = pb_sqlite_prepare(
        c, PB_SQ_ERASURE_INSERT,
        "INSERT INTO erasures (id, account_id, contact_id, pseudonym, actor, reason, wiped,"
        " erased_at) SELECT ?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8"
        " WHERE EXISTS (SELECT 1 FROM contacts WHERE id = ?3 AND account_id = ?2)",
        &st);
    if (qs < 0)
        return qs;
    sqlite3_bind_text(st, 1, erasure->id, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, erasure->account_id, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 3, erasure->contact_id, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 4, erasure->pseudonym, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 5, erasure->actor, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 6, erasure->reason, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 7, erasure->wiped[0] ? erasure->wiped : "{}", -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 8, erasure->erased_at);
    return pb_sqlite_step_change(c, st, "erasure insert");
}

#define ERASURE_COLUMNS "id, account_id, contact_id, pseudonym, actor, reason, wiped, erased_at"

/* Fills a struct pb_erasure from a row of ERASURE_COLUMNS. */
static bool
read_erasure(sqlite3_stmt *st, void *dst)
{
    struct pb_erasure *out = dst;
    memset(out, 0, sizeof(*out));
    bool ok = pb_sqlite_column_text(st, 0, out->id, sizeof(out->id));
    ok = pb_sqlite_column_text(st, 1, out->account_id, sizeof(out->account_id)) && ok;
    ok = pb_sqlite_column_text(st, 2, out->contact_id, sizeof(out->contact_id)) && ok;
    ok = pb_sqlite_column_text(st, 3, out->pseudonym, sizeof(out->pseudonym)) && ok;
    ok = pb_sqlite_column_text(st, 4, out->actor, sizeof(out->actor)) && ok;
    ok = pb_sqlite_column_text(st, 5, out->reason, sizeof(out->reason)) && ok;
    ok = pb_sqlite_column_text(st, 6, out->wiped, sizeof(out->wiped)) && ok;
    out->erased_at = sqlite3_column_int64(st, 7);
    if (!ok)
        pb_error("sqlite: an erasures row does not fit its struct");
    return ok;
}

enum pb_qs
pb_sqlite_erasure_list(struct pb_conn *conn, const char *account_id, const char *before_id,
                       int limit, pb_erasure_cb cb, void *cls)
{
    struct pb_sqlite_conn *c = pb_sqlite_conn(conn);
    sqlite3_stmt *st;
    enum pb_qs qs = pb_sqlite_prepare(c, PB_SQ_ERASURE_LIST,
                                      "SELECT " ERASURE_COLUMNS " FROM erasures"
                                      " WHERE account_id = ?1 AND id < ?2"
                                      " ORDER BY id DESC LIMIT ?3",
                                      &st);
    if (qs < 0)
        return qs;
    /* "~" sorts after every id: "" means from the newest. */
    sqlite3_bind_text(st, 1, account_id, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, before_id != NULL && *before_id != '\0' ? before_id : "~", -1,
                      SQLITE_STATIC);
    sqlite3_bind_int(st, 3, limit < 0 ? 0 : limit);
    for (int n = 0; pb_sqlite_next(c, st, n, &qs, "erasure list"); n++) {
        struct pb_erasure erasure;
        if (!read_erasure(st, &erasure))
            return pb_sqlite_bad_row(st);
        cb(cls, &erasure);
    }
    return qs;
}

enum pb_qs
pb_sqlite_erasure_get_for_contact(struct pb_conn *conn, const char *account_id,
                                  const char *contact_id, struct pb_erasure *out)
{
    struct pb_sqlite_conn *c = pb_sqlite_conn(conn);
    sqlite3_stmt *st;
    /* A contact is erased once; should a second receipt exist, the newest answers. */
    enum pb_qs qs = prepare_for(c, PB_SQ_ERASURE_GET_FOR_CONTACT,
                                "SELECT " ERASURE_COLUMNS " FROM erasures"
                                " WHERE account_id = ?1 AND contact_id = ?2"
                                " ORDER BY id DESC LIMIT 1",
                                account_id, contact_id, &st);
    return qs < 0 ? qs : pb_sqlite_get_one(c, st, read_erasure, out, "erasure get for contact");
}

/* ---- suppression ---- */

enum pb_qs
pb_sqlite_suppression_get(struct pb_conn *conn, const char *account_id,
                          const unsigned char hash[PB_HASH_BYTES], char reason[16], int64_t *at)
{
    struct pb_sqlite_conn *c = pb_sqlite_conn(conn);
    sqlite3_stmt *st;
    reason[0] = '\0';
    *at = 0;
    enum pb_qs qs = pb_sqlite_prepare(c, PB_SQ_SUPPRESSION_GET,
                                      "SELECT reason, created_at FROM suppressions"
                                      " WHERE account_id = ?1 AND hash = ?2",
                                      &st);
    if (qs < 0)
        return qs;
    sqlite3_bind_text(st, 1, account_id, -1, SQLITE_STATIC);
    sqlite3_bind_blob(st, 2, hash, PB_HASH_BYTES, SQLITE_STATIC);
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        *at = sqlite3_column_int64(st, 1);
        if (pb_sqlite_column_text(st, 0, reason, 16)) {
            qs = PB_QS_ONE;
        } else {
            pb_error("sqlite: a suppressions row does not fit its struct");
            qs = PB_QS_HARD_ERROR;
        }
    } else {
        qs = rc == SQLITE_DONE ? PB_QS_NONE : pb_sqlite_fail(c, rc, "suppression get");
    }
    pb_sqlite_done(st);
    return qs;
}

enum pb_qs
pb_sqlite_suppression_exists_many(struct pb_conn *conn, const char *account_id,
                                  const unsigned char (*hashes)[PB_HASH_BYTES], int n, bool *has)
{
    struct pb_sqlite_conn *c = pb_sqlite_conn(conn);
    sqlite3_stmt *st;
    if (n < 0) {
        pb_error("sqlite: suppression_exists_many: a batch of %d hashes", n);
        return PB_QS_HARD_ERROR;
    }
    for (int i = 0; i < n; i++)
        has[i] = false;
    if (n == 0)
        return PB_QS_NONE;
    /* One cached statement stepped per hash: in-process, a probe is what a join would do. */
    enum pb_qs qs =
        pb_sqlite_prepare(c, PB_SQ_SUPPRESSION_EXISTS_MANY,
                          "SELECT 1 FROM suppressions WHERE account_id = ?1 AND hash = ?2", &st);
    if (qs < 0)
        return qs;
    int found = 0;
    for (int i = 0; i < n; i++) {
        sqlite3_bind_text(st, 1, account_id, -1, SQLITE_STATIC);
        sqlite3_bind_blob(st, 2, hashes[i], PB_HASH_BYTES, SQLITE_STATIC);
        if ((qs = pb_sqlite_exists(c, st, "suppression exists many")) < 0)
            return qs;
        has[i] = qs == PB_QS_ONE;
        found += has[i] ? 1 : 0;
    }
    return pb_sqlite_rows(found);
}

enum pb_qs
pb_sqlite_suppression_delete(struct pb_conn *conn, const char *account_id,
                             const unsigned char hash[PB_HASH_BYTES])
{
    struct pb_sqlite_conn *c = pb_sqlite_conn(conn);
    sqlite3_stmt *st;
    enum pb_qs qs =
        pb_sqlite_prepare(c, PB_SQ_SUPPRESSION_DELETE,
                          "DELETE FROM suppressions WHERE account_id = ?1 AND hash = ?2", &st);
    if (qs < 0)
        return qs;
    sqlite3_bind_text(st, 1, account_id, -1, SQLITE_STATIC);
    sqlite3_bind_blob(st, 2, hash, PB_HASH_BYTES, SQLITE_STATIC);
    return pb_sqlite_step_change(c, st, "suppression delete");
}

/* ---- storage limitation ---- */

enum pb_qs
pb_sqlite_contact_list_expired(struct pb_conn *conn, const char *account_id,
                               int64_t unlisted_before, int64_t unconfirmed_before,
                               const char *after_id, int limit, pb_contact_cb cb, void *cls)
{
    struct pb_sqlite_conn *c = pb_sqlite_conn(conn);
    sqlite3_stmt *st;
    if (unlisted_before <= 0 && unconfirmed_before <= 0)
        return PB_QS_NONE; /* both rules off */
    /*
     * The contacts in id order (contacts_account), each probed through
     * memberships_contact: a page costs its contacts' memberships, never
     * the account's. A disabled rule's cut-off is 0, which no time is below.
     */
    enum pb_qs qs = pb_sqlite_prepare(
        c, PB_SQ_CONTACT_LIST_EXPIRED,
        "SELECT " PB_SQ_CONTACT_COLUMNS " FROM contacts c"
        " WHERE c.account_id = ?1 AND c.id > ?2 AND c.status = 'active'"
        " AND NOT EXISTS (SELECT 1 FROM memberships m"
        "  WHERE m.contact_id = c.id AND m.account_id = ?1 AND m.status = 'subscribed')"
        " AND ((?3 > 0"
        "   AND NOT EXISTS (SELECT 1 FROM memberships m"
        "    WHERE m.contact_id = c.id AND m.account_id = ?1 AND m.status = 'unconfirmed')"
        "   AND COALESCE((SELECT max(m.since) FROM memberships m"
        "    WHERE m.contact_id = c.id AND m.account_id = ?1), c.created_at) < ?3)"
        "  OR (?4 > 0"
        "   AND EXISTS (SELECT 1 FROM memberships m"
        "    WHERE m.contact_id = c.id AND m.account_id = ?1 AND m.status = 'unconfirmed')"
        "   AND NOT EXISTS (SELECT 1 FROM memberships m"
        "    WHERE m.contact_id = c.id AND m.account_id = ?1 AND m.status = 'unconfirmed'"
        "    AND m.since >= ?4)))"
        " ORDER BY c.id LIMIT ?5",
        &st);
    if (qs < 0)
        return qs;
    sqlite3_bind_text(st, 1, account_id, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, after_id ? after_id : "", -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 3, unlisted_before > 0 ? unlisted_before : 0);
    sqlite3_bind_int64(st, 4, unconfirmed_before > 0 ? unconfirmed_before : 0);
    sqlite3_bind_int(st, 5, limit < 0 ? 0 : limit);
    for (int n = 0; pb_sqlite_next(c, st, n, &qs, "contact list expired"); n++) {
        struct pb_contact contact = {0};
        if (!pb_sqlite_read_contact(st, &contact))
            return pb_sqlite_bad_row(st);
        cb(cls, &contact);
    }
    return qs;
}

/* ---- nothing lingers ---- */

enum pb_qs
pb_sqlite_checkpoint(struct pb_conn *conn)
{
    struct pb_sqlite_conn *c = pb_sqlite_conn(conn);
    sqlite3_stmt *st;
    /*
     * TRUNCATE copies the whole log into the database file and cuts the log
     * to zero bytes, so the frames that held wiped rows are gone. Readers
     * on an older snapshot keep it from finishing: its row says busy (1).
     */
    enum pb_qs qs = pb_sqlite_prepare(c, PB_SQ_CHECKPOINT, "PRAGMA wal_checkpoint(TRUNCATE)", &st);
    if (qs < 0)
        return qs;
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        if (sqlite3_column_int(st, 0) != 0) {
            pb_debug("sqlite %s: checkpoint: readers kept the log busy", c->path);
            qs = PB_QS_SOFT_ERROR;
        } else {
            qs = PB_QS_ONE;
        }
    } else {
        qs = pb_sqlite_fail(c, rc, "checkpoint");
    }
    pb_sqlite_done(st);
    return qs;
}
