/* PostgreSQL: an account's contacts, their addresses sealed and found by a blind index. */
#include "store/pg/pg_internal.h"

#include <stdio.h>

#include "core/log.h"

#define SEALED_EMAIL_HEX (2 * PB_EMAIL_SEALED_MAX + 1)
#define BIDX_HEX         (2 * PB_BIDX_MAX + 1)

/* Refuses blobs longer than their struct's arrays. */
static bool
contact_fits(const struct pb_contact *contact)
{
    if (contact->email_sealed_len > sizeof(contact->email_sealed) ||
        contact->email_bidx_len > sizeof(contact->email_bidx)) {
        pb_error("postgres: a contact's sealed address or blind index is too long");
        return false;
    }
    return true;
}

enum pb_qs
pb_pg_contact_insert(struct pb_conn *conn, const struct pb_contact *contact)
{
    struct pb_pg_conn *c = pb_pg_conn(conn);
    char sealed[SEALED_EMAIL_HEX], bidx[BIDX_HEX], created[24], updated[24];
    if (!contact_fits(contact))
        return PB_QS_HARD_ERROR;
    snprintf(created, sizeof(created), "%lld", (long long)contact->created_at);
    snprintf(updated, sizeof(updated), "%lld", (long long)contact->updated_at);
    const char *const params[] = {
        contact->id,
        contact->account_id,
        pb_pg_hex(contact->email_sealed, contact->email_sealed_len, sealed, sizeof(sealed)),
        pb_pg_hex(contact->email_bidx, contact->email_bidx_len, bidx, sizeof(bidx)),
        contact->status[0] ? contact->status : "active",
        pb_pg_opt(contact->pseudonym),
        created,
        updated,
    };
    return pb_pg_exec_change(
        c, PB_PG_CONTACT_INSERT, "pb_contact_insert",
        "INSERT INTO contacts (id, account_id, email_sealed, email_bidx, status, pseudonym,"
        " created_at, updated_at)"
        " VALUES ($1, $2, decode($3, 'hex'), decode($4, 'hex'), $5, $6, $7, $8)"
        " ON CONFLICT (account_id, email_bidx) DO NOTHING",
        8, params);
}

bool
pb_pg_read_contact(const PGresult *res, int row, void *dst)
{
    struct pb_contact *out = dst;
    bool ok = pb_pg_text(res, row, 0, out->id, sizeof(out->id));
    ok = pb_pg_text(res, row, 1, out->account_id, sizeof(out->account_id)) && ok;
    ok = pb_pg_bytes(res, row, 2, out->email_sealed, sizeof(out->email_sealed),
                     &out->email_sealed_len) &&
         ok;
    ok = pb_pg_bytes(res, row, 3, out->email_bidx, sizeof(out->email_bidx), &out->email_bidx_len) &&
         ok;
    ok = pb_pg_text(res, row, 4, out->status, sizeof(out->status)) && ok;
    ok = pb_pg_opt_text(res, row, 5, out->pseudonym, sizeof(out->pseudonym)) && ok;
    out->created_at = pb_pg_int64(res, row, 6);
    out->updated_at = pb_pg_int64(res, row, 7);
    out->suppressed_at = pb_pg_int64(res, row, 8);
    if (!ok)
        pb_error("postgres: a contacts row does not fit its struct");
    return ok;
}

enum pb_qs
pb_pg_contact_get(struct pb_conn *conn, const char *account_id, const char *id,
                  struct pb_contact *out)
{
    struct pb_pg_conn *c = pb_pg_conn(conn);
    const char *const params[] = {account_id, id};
    PGresult *res;
    enum pb_qs qs = pb_pg_exec(c, PB_PG_CONTACT_GET, "pb_contact_get",
                               "SELECT " PB_PG_CONTACT_COLUMNS " FROM contacts c"
                               " WHERE c.account_id = $1 AND c.id = $2",
                               2, params, &res);
    return qs < 0 ? qs : pb_pg_get_one(res, pb_pg_read_contact, out);
}

enum pb_qs
pb_pg_contact_get_by_bidx(struct pb_conn *conn, const char *account_id, const unsigned char *bidx,
                          size_t bidx_len, struct pb_contact *out)
{
    struct pb_pg_conn *c = pb_pg_conn(conn);
    char hex[BIDX_HEX];
    if (bidx == NULL || bidx_len == 0 || bidx_len > PB_BIDX_MAX)
        return PB_QS_NONE;
    const char *const params[] = {account_id, pb_pg_hex(bidx, bidx_len, hex, sizeof(hex))};
    PGresult *res;
    enum pb_qs qs = pb_pg_exec(c, PB_PG_CONTACT_GET_BY_BIDX, "pb_contact_get_by_bidx",
                               "SELECT " PB_PG_CONTACT_COLUMNS " FROM contacts c"
                               " WHERE c.account_id = $1 AND c.email_bidx = decode($2, 'hex')",
                               2, params, &res);
    return qs < 0 ? qs : pb_pg_get_one(res, pb_pg_read_contact, out);
}

enum pb_qs
pb_pg_contact_list(struct pb_conn *conn, const char *account_id, const char *list_id,
                   const char *after_id, int limit, pb_contact_cb cb, void *cls)
{
    struct pb_pg_conn *c = pb_pg_conn(conn);
    char limit_text[16];
    bool in_list = list_id != NULL && *list_id != '\0';
    snprintf(limit_text, sizeof(limit_text), "%d", limit < 0 ? 0 : limit);
    const char *const params[] = {account_id, after_id ? after_id : "", limit_text, list_id};
    PGresult *res;
    enum pb_qs qs;
    if (in_list)
        qs = pb_pg_exec(c, PB_PG_CONTACT_LIST_IN_LIST, "pb_contact_list_in_list",
                        "SELECT " PB_PG_CONTACT_COLUMNS " FROM memberships m"
                        " JOIN contacts c ON c.id = m.contact_id"
                        " WHERE m.list_id = $4 AND m.account_id = $1"
                        " AND m.status = 'subscribed' AND c.account_id = $1"
                        /* the cursor on both sides: a merge join then starts there */
                        " AND m.contact_id > $2 AND c.id > $2 ORDER BY m.contact_id LIMIT $3",
                        4, params, &res);
    else
        qs = pb_pg_exec(c, PB_PG_CONTACT_LIST, "pb_contact_list",
                        "SELECT " PB_PG_CONTACT_COLUMNS " FROM contacts c"
                        " WHERE c.account_id = $1 AND c.id > $2 ORDER BY c.id LIMIT $3",
                        3, params, &res);
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

enum pb_qs
pb_pg_contact_update(struct pb_conn *conn, const struct pb_contact *contact)
{
    struct pb_pg_conn *c = pb_pg_conn(conn);
    char sealed[SEALED_EMAIL_HEX], bidx[BIDX_HEX], updated[24];
    if (!contact_fits(contact))
        return PB_QS_HARD_ERROR;
    snprintf(updated, sizeof(updated), "%lld", (long long)contact->updated_at);
    const char *const params[] = {
        contact->account_id,
        contact->id,
        pb_pg_hex(contact->email_sealed, contact->email_sealed_len, sealed, sizeof(sealed)),
        pb_pg_hex(contact->email_bidx, contact->email_bidx_len, bidx, sizeof(bidx)),
        contact->status,
        pb_pg_opt(contact->pseudonym),
        updated,
    };
    return pb_pg_exec_change(c, PB_PG_CONTACT_UPDATE, "pb_contact_update",
                             "UPDATE contacts SET email_sealed = decode($3, 'hex'),"
                             " email_bidx = decode($4, 'hex'), status = $5, pseudonym = $6,"
                             " updated_at = $7 WHERE account_id = $1 AND id = $2",
                             7, params);
}
