/* SQLite: the audit log of the control store (it outlives the accounts it names). */
#include "store/sqlite/sqlite_internal.h"

#include "core/log.h"

enum pb_qs
pb_sqlite_audit_insert(struct pb_conn *conn, const struct pb_audit_entry *entry)
{
    struct pb_sqlite_conn *c = pb_sqlite_conn(conn);
    sqlite3_stmt *st;
    enum pb_qs qs = pb_sqlite_prepare(
        c, PB_SQ_AUDIT_INSERT,
        "INSERT INTO audit_log (id, account_id, actor_user_id, action, detail, client_ip, at)"
        " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        &st);
    if (qs < 0)
        return qs;
    sqlite3_bind_text(st, 1, entry->id, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, entry->account_id, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 3, entry->actor_user_id, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 4, entry->action, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 5, entry->detail, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 6, entry->client_ip, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 7, entry->at);
    return pb_sqlite_step_change(c, st, "audit insert");
}

/* Fills `out` from a row of (id, account_id, actor_user_id, action, detail, client_ip, at). */
static bool
read_entry(sqlite3_stmt *st, struct pb_audit_entry *out)
{
    bool ok = pb_sqlite_column_text(st, 0, out->id, sizeof(out->id));
    ok = pb_sqlite_column_text(st, 1, out->account_id, sizeof(out->account_id)) && ok;
    ok = pb_sqlite_column_text(st, 2, out->actor_user_id, sizeof(out->actor_user_id)) && ok;
    ok = pb_sqlite_column_text(st, 3, out->action, sizeof(out->action)) && ok;
    ok = pb_sqlite_column_text(st, 4, out->detail, sizeof(out->detail)) && ok;
    ok = pb_sqlite_column_text(st, 5, out->client_ip, sizeof(out->client_ip)) && ok;
    out->at = sqlite3_column_int64(st, 6);
    if (!ok)
        pb_error("sqlite: an audit_log row does not fit its struct");
    return ok;
}

enum pb_qs
pb_sqlite_audit_list(struct pb_conn *conn, const char *account_id, const char *before_id, int limit,
                     pb_audit_cb cb, void *cls)
{
    struct pb_sqlite_conn *c = pb_sqlite_conn(conn);
    sqlite3_stmt *st;
    /* Ids are ULIDs: their order is the order of time. */
    enum pb_qs qs = pb_sqlite_prepare(
        c, PB_SQ_AUDIT_LIST,
        "SELECT id, account_id, actor_user_id, action, detail, client_ip, at FROM audit_log"
        " WHERE account_id = ?1 AND (?2 = '' OR id < ?2) ORDER BY id DESC LIMIT ?3",
        &st);
    if (qs < 0)
        return qs;
    sqlite3_bind_text(st, 1, account_id ? account_id : "", -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, before_id ? before_id : "", -1, SQLITE_STATIC);
    sqlite3_bind_int(st, 3, limit < 0 ? 0 : limit);
    for (int n = 0; pb_sqlite_next(c, st, n, &qs, "audit list"); n++) {
        struct pb_audit_entry entry = {0};
        if (!read_entry(st, &entry))
            return pb_sqlite_bad_row(st);
        cb(cls, &entry);
    }
    return qs;
}
