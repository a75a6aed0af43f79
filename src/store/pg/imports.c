/*
 * PostgreSQL: the bulk operations of imports and exports (each one statement,
 * one round trip, whatever the batch's size), the sealed chunks of an upload
 * and the lines an import rejected.
 *
 * A batch travels as arrays in PostgreSQL's binary array format (arrays.c),
 * unnested by the statement.
 *
 * Each lookup of a batch's rows is a LATERAL subquery with LIMIT (or OFFSET
 * 0): it cannot be flattened into a join, so every row is one index probe,
 * and the probe names only the columns of the one index meant (the account
 * is checked outside it where that index lacks it). A plain join or EXISTS
 * lets the planner hash the account's whole table, and a probe naming the
 * account lets it pick an index that starts with account_id (both measured:
 * a scan of all the account's rows for every batch), above all while an
 * import outruns the table's statistics.
 */
#include "store/pg/pg_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/log.h"

/* A 1-based position in the batch (text) as an index below `n`; -1 when out of range. */
static int
ordinal(const PGresult *res, int row, int col, int n)
{
    int64_t i = pb_pg_int64(res, row, col);
    return i >= 1 && i <= n ? (int)(i - 1) : -1;
}

/*
 * Sets flags[i] for every batch position i (1-based, in column 0) the
 * result names, and frees the result. A position out of the batch is a
 * hard error.
 */
static enum pb_qs
mark_positions(PGresult *res, int n, bool *flags, const char *what)
{
    int rows = PQntuples(res);
    for (int r = 0; r < rows; r++) {
        int i = ordinal(res, r, 0, n);
        if (i < 0) {
            pb_error("postgres: %s: a position out of the batch", what);
            PQclear(res);
            return PB_QS_HARD_ERROR;
        }
        flags[i] = true;
    }
    PQclear(res);
    return pb_pg_rows(rows);
}

/* The batch's contact ids as one text[] parameter. */
static void
param_ids(struct pb_pg_params *p, const pb_id_text *ids, int n)
{
    pb_pg_array_begin(p, PB_PG_OID_TEXT, n);
    for (int i = 0; i < n; i++)
        pb_pg_elem_text(p, ids[i], sizeof(ids[i]));
    pb_pg_array_end(p);
}

/* Refuses a batch size that is negative. */
static bool
count_ok(int n, const char *what)
{
    if (n < 0) {
        pb_error("postgres: %s: a batch of %d rows", what, n);
        return false;
    }
    return true;
}

/* ---- contacts ---- */

enum pb_qs
pb_pg_contact_find_many(struct pb_conn *conn, const char *account_id,
                        const unsigned char (*bidx)[PB_BIDX_MAX], int n, pb_id_text *ids)
{
    struct pb_pg_conn *c = pb_pg_conn(conn);
    if (!count_ok(n, "contact_find_many"))
        return PB_QS_HARD_ERROR;
    for (int i = 0; i < n; i++)
        ids[i][0] = '\0';
    if (n == 0)
        return PB_QS_NONE;

    struct pb_pg_params p;
    pb_pg_params_init(&p, 64 + (size_t)n * (4 + PB_BIDX_MAX));
    pb_pg_param_text(&p, account_id);
    pb_pg_array_begin(&p, PB_PG_OID_BYTEA, n);
    for (int i = 0; i < n; i++)
        pb_pg_elem_bytes(&p, bidx[i], PB_BIDX_MAX);
    pb_pg_array_end(&p);
    PGresult *res;
    enum pb_qs qs =
        pb_pg_params_exec(c, PB_PG_CONTACT_FIND_MANY, "pb_contact_find_many",
                          "SELECT b.i, c.id FROM unnest($2::bytea[]) WITH ORDINALITY AS b(bidx, i)"
                          " CROSS JOIN LATERAL (SELECT id FROM contacts"
                          " WHERE account_id = $1 AND email_bidx = b.bidx LIMIT 1) c",
                          &p, 0, &res);
    if (qs < 0)
        return qs;
    int rows = PQntuples(res);
    for (int r = 0; r < rows; r++) {
        int i = ordinal(res, r, 0, n);
        if (i < 0 || !pb_pg_text(res, r, 1, ids[i], sizeof(ids[i]))) {
            pb_error("postgres: contact_find_many: a row does not fit");
            PQclear(res);
            return PB_QS_HARD_ERROR;
        }
    }
    PQclear(res);
    return pb_pg_rows(rows);
}

enum pb_qs
pb_pg_contact_insert_many(struct pb_conn *conn, const struct pb_contact *contacts, int n)
{
    struct pb_pg_conn *c = pb_pg_conn(conn);
    if (!count_ok(n, "contact_insert_many"))
        return PB_QS_HARD_ERROR;
    if (n == 0)
        return PB_QS_NONE;
    const char *account_id = contacts[0].account_id;
    size_t hint = 256;
    for (int i = 0; i < n; i++) {
        const struct pb_contact *ct = &contacts[i];
        if (strcmp(ct->account_id, account_id) != 0 ||
            ct->email_sealed_len > sizeof(ct->email_sealed) ||
            ct->email_bidx_len > sizeof(ct->email_bidx)) {
            pb_error("postgres: contact_insert_many: contacts of two accounts, or a sealed "
                     "address or blind index too long");
            return PB_QS_HARD_ERROR;
        }
        hint += 7 * 4 + 2 * 8 + 2 * PB_ID_LEN + 8 + ct->email_sealed_len + ct->email_bidx_len;
    }

    struct pb_pg_params p;
    pb_pg_params_init(&p, hint);
    pb_pg_param_text(&p, account_id);
    pb_pg_array_begin(&p, PB_PG_OID_TEXT, n);
    for (int i = 0; i < n; i++)
        pb_pg_elem_text(&p, contacts[i].id, sizeof(contacts[i].id));
    pb_pg_array_end(&p);
    pb_pg_array_begin(&p, PB_PG_OID_BYTEA, n);
    for (int i = 0; i < n; i++)
        pb_pg_elem_blob(&p, contacts[i].email_sealed, contacts[i].email_sealed_len);
    pb_pg_array_end(&p);
    pb_pg_array_begin(&p, PB_PG_OID_BYTEA, n);
    for (int i = 0; i < n; i++)
        pb_pg_elem_blob(&p, contacts[i].email_bidx, contacts[i].email_bidx_len);
    pb_pg_array_end(&p);
    pb_pg_array_begin(&p, PB_PG_OID_TEXT, n);
    for (int i = 0; i < n; i++)
        pb_pg_elem_text(&p, contacts[i].status[0] ? contacts[i].status : "active",
                        sizeof(contacts[i].status));
    pb_pg_array_end(&p);
    pb_pg_array_begin(&p, PB_PG_OID_TEXT, n);
    for (int i = 0; i < n; i++)
        pb_pg_elem_opt(&p, contacts[i].pseudonym, sizeof(contacts[i].pseudonym));
    pb_pg_array_end(&p);
    pb_pg_array_begin(&p, PB_PG_OID_INT8, n);
    for (int i = 0; i < n; i++)
        pb_pg_elem_int8(&p, contacts[i].created_at);
    pb_pg_array_end(&p);
    pb_pg_array_begin(&p, PB_PG_OID_INT8, n);
    for (int i = 0; i < n; i++)
        pb_pg_elem_int8(&p, contacts[i].updated_at);
    pb_pg_array_end(&p);
    /* A blind index already there breaks the unique key: a hard error, as promised. */
    return pb_pg_params_exec_change(
        c, PB_PG_CONTACT_INSERT_MANY, "pb_contact_insert_many",
        "INSERT INTO contacts (id, account_id, email_sealed, email_bidx, status, pseudonym,"
        " created_at, updated_at)"
        " SELECT u.id, $1, u.sealed, u.bidx, u.status, u.pseudonym, u.created, u.updated"
        " FROM unnest($2::text[], $3::bytea[], $4::bytea[], $5::text[], $6::text[], $7::int8[],"
        " $8::int8[]) AS u(id, sealed, bidx, status, pseudonym, created, updated)",
        &p);
}

/* ---- field values ---- */

enum pb_qs
pb_pg_value_put_many(struct pb_conn *conn, const char *account_id,
                     const struct pb_value_ref *values, int n)
{
    struct pb_pg_conn *c = pb_pg_conn(conn);
    if (!count_ok(n, "value_put_many"))
        return PB_QS_HARD_ERROR;
    if (n == 0)
        return PB_QS_NONE;
    size_t hint = 256;
    for (int i = 0; i < n; i++) {
        const struct pb_value_ref *v = &values[i];
        if (v->contact_id == NULL || v->field_key == NULL ||
            (v->sealed != NULL && v->sealed_len > PB_VALUE_SEALED_MAX)) {
            pb_error("postgres: value_put_many: a value without contact or field, or sealed "
                     "longer than %d bytes",
                     PB_VALUE_SEALED_MAX);
            return PB_QS_HARD_ERROR;
        }
        hint += 4 * 4 + PB_ID_LEN + 16 + (v->sealed != NULL ? v->sealed_len : 32);
    }

    struct pb_pg_params p;
    pb_pg_params_init(&p, hint);
    pb_pg_param_text(&p, account_id);
    pb_pg_array_begin(&p, PB_PG_OID_TEXT, n);
    for (int i = 0; i < n; i++)
        pb_pg_elem_text(&p, values[i].contact_id, PB_ID_LEN + 1);
    pb_pg_array_end(&p);
    pb_pg_array_begin(&p, PB_PG_OID_TEXT, n);
    for (int i = 0; i < n; i++)
        pb_pg_elem_text(&p, values[i].field_key, PB_FIELD_KEY_MAX + 1);
    pb_pg_array_end(&p);
    /* value_text when the value is plain, value_sealed when it is sealed (as value_put). */
    pb_pg_array_begin(&p, PB_PG_OID_TEXT, n);
    for (int i = 0; i < n; i++)
        pb_pg_elem_text(
            &p, values[i].sealed != NULL && values[i].sealed_len > 0 ? NULL : values[i].text,
            SIZE_MAX);
    pb_pg_array_end(&p);
    pb_pg_array_begin(&p, PB_PG_OID_BYTEA, n);
    for (int i = 0; i < n; i++)
        pb_pg_elem_blob(&p, values[i].sealed, values[i].sealed_len);
    pb_pg_array_end(&p);
    /*
     * Only for contacts of the account, as value_put. ON CONFLICT cannot touch
     * a row twice in one statement: of a (contact, field) given twice, the
     * last one is written, as n value_put calls would leave it.
     */
    return pb_pg_params_exec_change(
        c, PB_PG_VALUE_PUT_MANY, "pb_value_put_many",
        "INSERT INTO contact_values (account_id, contact_id, field_key, value_text, value_sealed)"
        " SELECT DISTINCT ON (u.c, u.k) $1::text, u.c, u.k, u.t, u.s"
        " FROM unnest($2::text[], $3::text[], $4::text[], $5::bytea[])"
        " WITH ORDINALITY AS u(c, k, t, s, i)"
        " CROSS JOIN LATERAL (SELECT account_id FROM contacts WHERE id = u.c LIMIT 1) x"
        " WHERE x.account_id = $1 ORDER BY u.c, u.k, u.i DESC"
        " ON CONFLICT (contact_id, field_key) DO UPDATE"
        " SET value_text = excluded.value_text, value_sealed = excluded.value_sealed",
        &p);
}

/* Calls `cb` for each row of a binary result of value columns, and clears it. */
static enum pb_qs
each_value(PGresult *res, pb_contact_value_cb cb, void *cls)
{
    int n = PQntuples(res);
    struct pb_contact_value *v = malloc(sizeof(*v));
    if (v == NULL) {
        PQclear(res);
        return PB_QS_HARD_ERROR;
    }
    enum pb_qs qs = pb_pg_rows(n);
    for (int i = 0; i < n; i++) {
        /* Binary text is the bytes themselves, NUL-terminated by libpq. */
        bool ok = pb_pg_text(res, i, 0, v->account_id, sizeof(v->account_id));
        ok = pb_pg_text(res, i, 1, v->contact_id, sizeof(v->contact_id)) && ok;
        ok = pb_pg_text(res, i, 2, v->field_key, sizeof(v->field_key)) && ok;
        ok = pb_pg_opt_text(res, i, 3, v->value_text, sizeof(v->value_text)) && ok;
        v->value_sealed_len = 0;
        if (!PQgetisnull(res, i, 4)) {
            size_t len = (size_t)PQgetlength(res, i, 4);
            ok = len <= sizeof(v->value_sealed) && ok;
            if (ok) {
                memcpy(v->value_sealed, PQgetvalue(res, i, 4), len);
                v->value_sealed_len = len;
            }
        }
        if (!ok) {
            pb_error("postgres: a contact_values row does not fit its struct");
            qs = PB_QS_HARD_ERROR;
            break;
        }
        cb(cls, v);
    }
    free(v);
    PQclear(res);
    return qs;
}

enum pb_qs
pb_pg_value_list_many(struct pb_conn *conn, const char *account_id, const pb_id_text *contact_ids,
                      int n, pb_contact_value_cb cb, void *cls)
{
    struct pb_pg_conn *c = pb_pg_conn(conn);
    if (!count_ok(n, "value_list_many"))
        return PB_QS_HARD_ERROR;
    if (n == 0)
        return PB_QS_NONE;
    struct pb_pg_params p;
    pb_pg_params_init(&p, 64 + (size_t)n * (4 + PB_ID_LEN));
    pb_pg_param_text(&p, account_id);
    param_ids(&p, contact_ids, n);
    PGresult *res;
    /* Binary results: the sealed values come as bytes, not hex. */
    enum pb_qs qs = pb_pg_params_exec(
        c, PB_PG_VALUE_LIST_MANY, "pb_value_list_many",
        "SELECT v.account_id, v.contact_id, v.field_key, v.value_text, v.value_sealed"
        " FROM (SELECT DISTINCT c FROM unnest($2::text[]) AS c) u"
        " CROSS JOIN LATERAL (SELECT * FROM contact_values"
        " WHERE contact_id = u.c OFFSET 0) v"
        " WHERE v.account_id = $1 ORDER BY v.contact_id, v.field_key",
        &p, 1, &res);
    return qs < 0 ? qs : each_value(res, cb, cls);
}

/* ---- memberships ---- */

enum pb_qs
pb_pg_membership_subscribe_many(struct pb_conn *conn, const char *account_id, const char *list_id,
                                const pb_id_text *contact_ids, int n, const char *statement_id,
                                int64_t since, bool *changed)
{
    struct pb_pg_conn *c = pb_pg_conn(conn);
    if (!count_ok(n, "membership_subscribe_many"))
        return PB_QS_HARD_ERROR;
    for (int i = 0; i < n; i++)
        changed[i] = false;
    if (n == 0)
        return PB_QS_NONE;
    char since_text[24];
    snprintf(since_text, sizeof(since_text), "%lld", (long long)since);
    struct pb_pg_params p;
    pb_pg_params_init(&p, 64 + (size_t)n * (4 + PB_ID_LEN));
    pb_pg_param_text(&p, account_id);
    pb_pg_param_text(&p, list_id);
    param_ids(&p, contact_ids, n);
    pb_pg_param_text(&p, pb_pg_opt(statement_id));
    pb_pg_param_text(&p, since_text);
    PGresult *res;
    /*
     * One statement: the upsert changes only the rows not subscribed yet and
     * returns them, the list's count grows by their number, and their
     * positions in the batch come back. A contact given twice counts once,
     * at its first position (as n membership_put calls would). Nothing for a
     * list or a contact that is not the account's.
     */
    enum pb_qs qs = pb_pg_params_exec(
        c, PB_PG_MEMBERSHIP_SUBSCRIBE_MANY, "pb_membership_subscribe_many",
        "WITH src AS (SELECT DISTINCT ON (u.c) u.c, u.i"
        "  FROM unnest($3::text[]) WITH ORDINALITY AS u(c, i) ORDER BY u.c, u.i),"
        " up AS (INSERT INTO memberships"
        "  (account_id, list_id, contact_id, status, statement_id, since)"
        "  SELECT $1::text, l.id, s.c, 'subscribed', $4::text, $5::bigint FROM lists l, src s"
        "  CROSS JOIN LATERAL (SELECT account_id FROM contacts WHERE id = s.c LIMIT 1) x"
        "  WHERE l.id = $2 AND l.account_id = $1 AND x.account_id = $1"
        "  ON CONFLICT (list_id, contact_id) DO UPDATE SET status = 'subscribed',"
        "  statement_id = excluded.statement_id, since = excluded.since"
        "  WHERE memberships.status <> 'subscribed' RETURNING contact_id),"
        " counted AS (UPDATE lists SET member_count = member_count + (SELECT count(*) FROM up)"
        "  WHERE id = $2 AND account_id = $1 AND EXISTS (SELECT 1 FROM up))"
        " SELECT s.i FROM src s JOIN up ON up.contact_id = s.c",
        &p, 0, &res);
    return qs < 0 ? qs : mark_positions(res, n, changed, "membership_subscribe_many");
}

/* ---- the consent log ---- */

enum pb_qs
pb_pg_event_append_many(struct pb_conn *conn, const struct pb_consent_event *events, int n)
{
    struct pb_pg_conn *c = pb_pg_conn(conn);
    if (!count_ok(n, "event_append_many"))
        return PB_QS_HARD_ERROR;
    if (n == 0)
        return PB_QS_NONE;
    const char *account_id = events[0].account_id;
    for (int i = 1; i < n; i++)
        if (strcmp(events[i].account_id, account_id) != 0) {
            pb_error("postgres: event_append_many: events of two accounts in one batch");
            return PB_QS_HARD_ERROR;
        }
    const struct pb_consent_event *last = &events[n - 1];
    char head_seq[24];
    snprintf(head_seq, sizeof(head_seq), "%lld", (long long)last->seq);

    struct pb_pg_params p;
    /* Per event: 12 element lengths, 2 integers, 5 ids, 2 hashes and short texts. */
    pb_pg_params_init(
        &p, 256 + (size_t)n * (12 * 4 + 2 * 8 + 3 * PB_ID_LEN + 2 * PB_EVENT_HASH_BYTES + 160));
    pb_pg_param_text(&p, account_id);
    pb_pg_array_begin(&p, PB_PG_OID_INT8, n);
    for (int i = 0; i < n; i++)
        pb_pg_elem_int8(&p, events[i].seq);
    pb_pg_array_end(&p);
#define TEXT_ARRAY(member, elem)                                                                   \
    do {                                                                                           \
        pb_pg_array_begin(&p, PB_PG_OID_TEXT, n);                                                  \
        for (int i = 0; i < n; i++)                                                                \
            elem(&p, events[i].member, sizeof(events[i].member));                                  \
        pb_pg_array_end(&p);                                                                       \
    } while (0)
    TEXT_ARRAY(id, pb_pg_elem_text);
    TEXT_ARRAY(type, pb_pg_elem_text);
    TEXT_ARRAY(contact_id, pb_pg_elem_text);
    TEXT_ARRAY(list_id, pb_pg_elem_opt);
    TEXT_ARRAY(statement_id, pb_pg_elem_opt);
    TEXT_ARRAY(channel, pb_pg_elem_text);
    TEXT_ARRAY(actor, pb_pg_elem_text);
#undef TEXT_ARRAY
    pb_pg_array_begin(&p, PB_PG_OID_INT8, n);
    for (int i = 0; i < n; i++)
        pb_pg_elem_int8(&p, events[i].at);
    pb_pg_array_end(&p);
    pb_pg_array_begin(&p, PB_PG_OID_TEXT, n);
    for (int i = 0; i < n; i++)
        pb_pg_elem_opt(&p, events[i].ref, sizeof(events[i].ref));
    pb_pg_array_end(&p);
    pb_pg_array_begin(&p, PB_PG_OID_BYTEA, n);
    for (int i = 0; i < n; i++)
        pb_pg_elem_bytes(&p, events[i].prev_hash, PB_EVENT_HASH_BYTES);
    pb_pg_array_end(&p);
    pb_pg_array_begin(&p, PB_PG_OID_BYTEA, n);
    for (int i = 0; i < n; i++)
        pb_pg_elem_bytes(&p, events[i].hash, PB_EVENT_HASH_BYTES);
    pb_pg_array_end(&p);
    pb_pg_param_text(&p, head_seq);
    pb_pg_param_blob(&p, last->hash, PB_EVENT_HASH_BYTES);

    PGresult *res;
    /*
     * The events and the head in one statement. A seq taken by a committed
     * writer is skipped (fewer rows than given); one taken by a concurrent
     * serializable writer fails with 40001. Both are soft, as in event_append.
     */
    enum pb_qs qs = pb_pg_params_exec(
        c, PB_PG_EVENT_APPEND_MANY, "pb_event_append_many",
        "WITH ins AS (INSERT INTO consent_events (account_id, seq, id, type, contact_id, list_id,"
        "  statement_id, channel, actor, at, ref, prev_hash, hash)"
        "  SELECT $1::text, u.* FROM unnest($2::int8[], $3::text[], $4::text[], $5::text[],"
        "  $6::text[], $7::text[], $8::text[], $9::text[], $10::int8[], $11::text[],"
        "  $12::bytea[], $13::bytea[]) AS u"
        "  ON CONFLICT (account_id, seq) DO NOTHING RETURNING 1),"
        " head AS (INSERT INTO consent_heads (account_id, seq, hash)"
        "  VALUES ($1, $14::bigint, $15::bytea) ON CONFLICT (account_id)"
        "  DO UPDATE SET seq = excluded.seq, hash = excluded.hash)"
        " SELECT count(*) FROM ins",
        &p, 0, &res);
    if (qs < 0)
        return qs;
    int64_t inserted = PQntuples(res) == 1 ? pb_pg_int64(res, 0, 0) : -1;
    PQclear(res);
    if (inserted != n) {
        pb_debug("postgres %s: %lld of %d consent events had a seq taken already", c->where,
                 (long long)(n - inserted), n);
        return PB_QS_SOFT_ERROR;
    }
    return pb_pg_rows(n);
}

enum pb_qs
pb_pg_event_ref_exists_many(struct pb_conn *conn, const char *account_id, const char *ref,
                            const pb_id_text *contact_ids, int n, bool *has)
{
    struct pb_pg_conn *c = pb_pg_conn(conn);
    if (!count_ok(n, "event_ref_exists_many"))
        return PB_QS_HARD_ERROR;
    for (int i = 0; i < n; i++)
        has[i] = false;
    if (n == 0)
        return PB_QS_NONE;
    struct pb_pg_params p;
    pb_pg_params_init(&p, 64 + (size_t)n * (4 + PB_ID_LEN));
    pb_pg_param_text(&p, account_id);
    pb_pg_param_text(&p, ref);
    param_ids(&p, contact_ids, n);
    PGresult *res;
    enum pb_qs qs = pb_pg_params_exec(
        c, PB_PG_EVENT_REF_EXISTS_MANY, "pb_event_ref_exists_many",
        "SELECT u.i FROM unnest($3::text[]) WITH ORDINALITY AS u(c, i)"
        " CROSS JOIN LATERAL (SELECT 1 FROM consent_events e WHERE e.account_id = $1"
        " AND e.contact_id = u.c AND e.ref = $2 LIMIT 1) e",
        &p, 0, &res);
    return qs < 0 ? qs : mark_positions(res, n, has, "event_ref_exists_many");
}

/* ---- uploads ---- */

enum pb_qs
pb_pg_import_chunk_put(struct pb_conn *conn, const char *account_id, const char *import_id,
                       int64_t n, const unsigned char *sealed, size_t len)
{
    struct pb_pg_conn *c = pb_pg_conn(conn);
    if (sealed == NULL || len > PB_IMPORT_CHUNK_SEALED_MAX) {
        pb_error("postgres: an upload chunk of %zu bytes (%d at most)", len,
                 PB_IMPORT_CHUNK_SEALED_MAX);
        return PB_QS_HARD_ERROR;
    }
    char n_text[24];
    snprintf(n_text, sizeof(n_text), "%lld", (long long)n);
    struct pb_pg_params p;
    pb_pg_params_init(&p, 0); /* no buffer: the chunk is sent as it is */
    pb_pg_param_text(&p, account_id);
    pb_pg_param_text(&p, import_id);
    pb_pg_param_text(&p, n_text);
    pb_pg_param_blob(&p, sealed, len);
    /* An import id of another account (never, ids being random) is left alone: PB_QS_NONE. */
    return pb_pg_params_exec_change(
        c, PB_PG_IMPORT_CHUNK_PUT, "pb_import_chunk_put",
        "INSERT INTO import_chunks (account_id, import_id, n, sealed)"
        " VALUES ($1, $2, $3::bigint, $4::bytea) ON CONFLICT (import_id, n)"
        " DO UPDATE SET sealed = excluded.sealed"
        " WHERE import_chunks.account_id = excluded.account_id",
        &p);
}

enum pb_qs
pb_pg_import_chunk_get(struct pb_conn *conn, const char *account_id, const char *import_id,
                       int64_t n, unsigned char *out, size_t *len)
{
    struct pb_pg_conn *c = pb_pg_conn(conn);
    char n_text[24];
    snprintf(n_text, sizeof(n_text), "%lld", (long long)n);
    const char *const params[] = {account_id, import_id, n_text};
    PGresult *res;
    *len = 0;
    /* A binary result: the chunk's bytes as they are. */
    enum pb_qs qs = pb_pg_exec_params(c, PB_PG_IMPORT_CHUNK_GET, "pb_import_chunk_get",
                                      "SELECT sealed FROM import_chunks"
                                      " WHERE account_id = $1 AND import_id = $2 AND n = $3",
                                      3, params, NULL, NULL, 1, &res);
    if (qs < 0)
        return qs;
    if (PQntuples(res) == 0) {
        qs = PB_QS_NONE;
    } else {
        size_t size = (size_t)PQgetlength(res, 0, 0);
        if (size > PB_IMPORT_CHUNK_SEALED_MAX) {
            pb_error("postgres: an upload chunk of %zu bytes (%d at most)", size,
                     PB_IMPORT_CHUNK_SEALED_MAX);
            qs = PB_QS_HARD_ERROR;
        } else {
            memcpy(out, PQgetvalue(res, 0, 0), size);
            *len = size;
            qs = PB_QS_ONE;
        }
    }
    PQclear(res);
    return qs;
}

enum pb_qs
pb_pg_import_chunks_delete(struct pb_conn *conn, const char *account_id, const char *import_id)
{
    struct pb_pg_conn *c = pb_pg_conn(conn);
    const char *const params[] = {account_id, import_id};
    return pb_pg_exec_change(c, PB_PG_IMPORT_CHUNKS_DELETE, "pb_import_chunks_delete",
                             "DELETE FROM import_chunks WHERE account_id = $1 AND import_id = $2",
                             2, params);
}

/* ---- rejected lines ---- */

enum pb_qs
pb_pg_import_reject_insert_many(struct pb_conn *conn, const char *account_id, const char *import_id,
                                const struct pb_import_reject *rejects, int n)
{
    struct pb_pg_conn *c = pb_pg_conn(conn);
    if (!count_ok(n, "import_reject_insert_many"))
        return PB_QS_HARD_ERROR;
    if (n == 0)
        return PB_QS_NONE;
    struct pb_pg_params p;
    pb_pg_params_init(&p, 128 + (size_t)n * (4 + 8 + 4 + 64));
    pb_pg_param_text(&p, account_id);
    pb_pg_param_text(&p, import_id);
    pb_pg_array_begin(&p, PB_PG_OID_INT8, n);
    for (int i = 0; i < n; i++)
        pb_pg_elem_int8(&p, rejects[i].line);
    pb_pg_array_end(&p);
    pb_pg_array_begin(&p, PB_PG_OID_TEXT, n);
    for (int i = 0; i < n; i++)
        pb_pg_elem_text(&p, rejects[i].reason, sizeof(rejects[i].reason));
    pb_pg_array_end(&p);
    /* A line recorded already (by this statement too) is left as it is. */
    return pb_pg_params_exec_change(
        c, PB_PG_IMPORT_REJECT_INSERT_MANY, "pb_import_reject_insert_many",
        "INSERT INTO import_rejects (account_id, import_id, line, reason)"
        " SELECT $1, $2, u.line, u.reason"
        " FROM unnest($3::int8[], $4::text[]) AS u(line, reason)"
        " ON CONFLICT (import_id, line) DO NOTHING",
        &p);
}

enum pb_qs
pb_pg_import_reject_list(struct pb_conn *conn, const char *account_id, const char *import_id,
                         int64_t after_line, int limit, pb_import_reject_cb cb, void *cls)
{
    struct pb_pg_conn *c = pb_pg_conn(conn);
    char after[24], limit_text[16];
    snprintf(after, sizeof(after), "%lld", (long long)after_line);
    snprintf(limit_text, sizeof(limit_text), "%d", limit < 0 ? 0 : limit);
    const char *const params[] = {account_id, import_id, after, limit_text};
    PGresult *res;
    enum pb_qs qs = pb_pg_exec(c, PB_PG_IMPORT_REJECT_LIST, "pb_import_reject_list",
                               "SELECT line, reason FROM import_rejects"
                               " WHERE account_id = $1 AND import_id = $2 AND line > $3"
                               " ORDER BY line LIMIT $4",
                               4, params, &res);
    if (qs < 0)
        return qs;
    int n = PQntuples(res);
    for (int i = 0; i < n; i++) {
        struct pb_import_reject r;
        r.line = pb_pg_int64(res, i, 0);
        if (!pb_pg_text(res, i, 1, r.reason, sizeof(r.reason))) {
            pb_error("postgres: an import_rejects row does not fit its struct");
            PQclear(res);
            return PB_QS_HARD_ERROR;
        }
        cb(cls, &r);
    }
    PQclear(res);
    return pb_pg_rows(n);
}
