/* SQLite: an account's contacts, their addresses sealed and found by a blind index. */
#include "store/sqlite/sqlite_internal.h"

#include "core/log.h"

/* Refuses blobs longer than their struct's arrays. */
static bool
contact_fits(const struct pb_contact *contact)
{
    if (contact->email_sealed_len > sizeof(contact->email_sealed) ||
        contact->email_bidx_len > sizeof(contact->email_bidx)) {
        pb_error("sqlite: a contact's sealed address or blind index is too long");
        return false;
    }
    return true;
}

enum pb_qs
pb_sqlite_contact_insert(struct pb_conn *conn, const struct pb_contact *contact)
{
    struct pb_sqlite_conn *c = pb_sqlite_conn(conn);
    sqlite3_stmt *st;
    if (!contact_fits(contact))
        return PB_QS_HARD_ERROR;
    enum pb_qs qs = pb_sqlite_prepare(
        c, PB_SQ_CONTACT_INSERT,
        "INSERT INTO contacts (id, account_id, email_sealed, email_bidx, status, pseudonym,"
        " created_at, updated_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)"
        " ON CONFLICT (account_id, email_bidx) DO NOTHING",
        &st);
    if (qs < 0)
        return qs;
    sqlite3_bind_text(st, 1, contact->id, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, contact->account_id, -1, SQLITE_STATIC);
    pb_sqlite_bind_blob(st, 3, contact->email_sealed, contact->email_sealed_len);
    pb_sqlite_bind_blob(st, 4, contact->email_bidx, contact->email_bidx_len);
    sqlite3_bind_text(st, 5, contact->status[0] ? contact->status : "active", -1, SQLITE_STATIC);
    pb_sqlite_bind_opt_text(st, 6, contact->pseudonym);
    sqlite3_bind_int64(st, 7, contact->created_at);
    sqlite3_bind_int64(st, 8, contact->updated_at);
    return pb_sqlite_step_change(c, st, "contact insert");
}

bool
pb_sqlite_read_contact(sqlite3_stmt *st, void *dst)
{
    struct pb_contact *out = dst;
    bool ok = pb_sqlite_column_text(st, 0, out->id, sizeof(out->id));
    ok = pb_sqlite_column_text(st, 1, out->account_id, sizeof(out->account_id)) && ok;
    ok = pb_sqlite_column_blob(st, 2, out->email_sealed, sizeof(out->email_sealed),
                               &out->email_sealed_len) &&
         ok;
    ok = pb_sqlite_column_blob(st, 3, out->email_bidx, sizeof(out->email_bidx),
                               &out->email_bidx_len) &&
         ok;
    ok = pb_sqlite_column_text(st, 4, out->status, sizeof(out->status)) && ok;
    ok = pb_sqlite_column_opt_text(st, 5, out->pseudonym, sizeof(out->pseudonym)) && ok;
    out->created_at = sqlite3_column_int64(st, 6);
    out->updated_at = sqlite3_column_int64(st, 7);
    out->suppressed_at = sqlite3_column_int64(st, 8);
    if (!ok)
        pb_error("sqlite: a contacts row does not fit its struct");
    return ok;
}

enum pb_qs
pb_sqlite_contact_get(struct pb_conn *conn, const char *account_id, const char *id,
                      struct pb_contact *out)
{
    struct pb_sqlite_conn *c = pb_sqlite_conn(conn);
    sqlite3_stmt *st;
    enum pb_qs qs = pb_sqlite_prepare(c, PB_SQ_CONTACT_GET,
                                      "SELECT " PB_SQ_CONTACT_COLUMNS " FROM contacts c"
                                      " WHERE c.account_id = ?1 AND c.id = ?2",
                                      &st);
    if (qs < 0)
        return qs;
    sqlite3_bind_text(st, 1, account_id, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, id, -1, SQLITE_STATIC);
    return pb_sqlite_get_one(c, st, pb_sqlite_read_contact, out, "contact get");
}

enum pb_qs
pb_sqlite_contact_get_by_bidx(struct pb_conn *conn, const char *account_id,
                              const unsigned char *bidx, size_t bidx_len, struct pb_contact *out)
{
    struct pb_sqlite_conn *c = pb_sqlite_conn(conn);
    sqlite3_stmt *st;
    if (bidx == NULL || bidx_len == 0)
        return PB_QS_NONE;
    enum pb_qs qs = pb_sqlite_prepare(c, PB_SQ_CONTACT_GET_BY_BIDX,
                                      "SELECT " PB_SQ_CONTACT_COLUMNS " FROM contacts c"
                                      " WHERE c.account_id = ?1 AND c.email_bidx = ?2",
                                      &st);
    if (qs < 0)
        return qs;
    sqlite3_bind_text(st, 1, account_id, -1, SQLITE_STATIC);
    pb_sqlite_bind_blob(st, 2, bidx, bidx_len);
    return pb_sqlite_get_one(c, st, pb_sqlite_read_contact, out, "contact get by bidx");
}

enum pb_qs
pb_sqlite_contact_list(struct pb_conn *conn, const char *account_id, const char *list_id,
                       const char *after_id, int limit, pb_contact_cb cb, void *cls)
{
    struct pb_sqlite_conn *c = pb_sqlite_conn(conn);
    sqlite3_stmt *st;
    bool in_list = list_id != NULL && *list_id != '\0';
    enum pb_qs qs;
    if (in_list)
        qs = pb_sqlite_prepare(c, PB_SQ_CONTACT_LIST_IN_LIST,
                               "SELECT " PB_SQ_CONTACT_COLUMNS " FROM memberships m"
                               " JOIN contacts c ON c.id = m.contact_id"
                               " WHERE m.list_id = ?4 AND m.account_id = ?1"
                               " AND m.status = 'subscribed' AND c.account_id = ?1"
                               " AND m.contact_id > ?2 ORDER BY m.contact_id LIMIT ?3",
                               &st);
    else
        qs = pb_sqlite_prepare(c, PB_SQ_CONTACT_LIST,
                               "SELECT " PB_SQ_CONTACT_COLUMNS " FROM contacts c"
                               " WHERE c.account_id = ?1 AND c.id > ?2 ORDER BY c.id LIMIT ?3",
                               &st);
    if (qs < 0)
        return qs;
    sqlite3_bind_text(st, 1, account_id, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, after_id ? after_id : "", -1, SQLITE_STATIC);
    sqlite3_bind_int(st, 3, limit < 0 ? 0 : limit);
    if (in_list)
        sqlite3_bind_text(st, 4, list_id, -1, SQLITE_STATIC);
    for (int n = 0; pb_sqlite_next(c, st, n, &qs, "contact list"); n++) {
        struct pb_contact contact = {0};
        if (!pb_sqlite_read_contact(st, &contact))
            return pb_sqlite_bad_row(st);
        cb(cls, &contact);
    }
    return qs;
}

enum pb_qs
pb_sqlite_contact_update(struct pb_conn *conn, const struct pb_contact *contact)
{
    struct pb_sqlite_conn *c = pb_sqlite_conn(conn);
    sqlite3_stmt *st;
    if (!contact_fits(contact))
        return PB_QS_HARD_ERROR;
    enum pb_qs qs = pb_sqlite_prepare(
        c, PB_SQ_CONTACT_UPDATE,
        "UPDATE contacts SET email_sealed = ?3, email_bidx = ?4, status = ?5, pseudonym = ?6,"
        " updated_at = ?7 WHERE account_id = ?1 AND id = ?2",
        &st);
    if (qs < 0)
        return qs;
    sqlite3_bind_text(st, 1, contact->account_id, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, contact->id, -1, SQLITE_STATIC);
    pb_sqlite_bind_blob(st, 3, contact->email_sealed, contact->email_sealed_len);
    pb_sqlite_bind_blob(st, 4, contact->email_bidx, contact->email_bidx_len);
    sqlite3_bind_text(st, 5, contact->status, -1, SQLITE_STATIC);
    pb_sqlite_bind_opt_text(st, 6, contact->pseudonym);
    sqlite3_bind_int64(st, 7, contact->updated_at);
    return pb_sqlite_step_change(c, st, "contact update");
}

enum pb_qs
pb_sqlite_contact_set_suppressed(struct pb_conn *conn, const char *account_id,
                                 const char *contact_id, int64_t at)
{
    struct pb_sqlite_conn *c = pb_sqlite_conn(conn);
    sqlite3_stmt *st;
    enum pb_qs qs = pb_sqlite_prepare(
        c, PB_SQ_CONTACT_SET_SUPPRESSED,
        "UPDATE contacts SET suppressed_at = ?3 WHERE account_id = ?1 AND id = ?2", &st);
    if (qs < 0)
        return qs;
    sqlite3_bind_text(st, 1, account_id, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, contact_id, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 3, at);
    return pb_sqlite_step_change(c, st, "contact set suppressed");
}
