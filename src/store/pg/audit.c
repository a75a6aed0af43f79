/* PostgreSQL: the audit log of the control store (it outlives the accounts it names). */
#include "store/pg/pg_internal.h"

#include <stdio.h>

#include "core/log.h"

enum pb_qs
pb_pg_audit_insert(struct pb_conn *conn, const struct pb_audit_entry *entry)
{
    struct pb_pg_conn *c = pb_pg_conn(conn);
    char at[24];
    snprintf(at, sizeof(at), "%lld", (long long)entry->at);
    const char *const params[] = {entry->id,
                                  entry->account_id,
                                  entry->actor_user_id,
                                  entry->action,
                                  entry->detail,
                                  entry->client_ip,
                                  at};
    return pb_pg_exec_change(
        c, PB_PG_AUDIT_INSERT, "pb_audit_insert",
        "INSERT INTO audit_log (id, account_id, actor_user_id, action, detail, client_ip, at)"
        " VALUES ($1, $2, $3, $4, $5, $6, $7)",
        7, params);
}

/* Fills `out` from row `row` of (id, account_id, actor_user_id, action, detail, client_ip, at). */
static bool
read_entry(const PGresult *res, int row, struct pb_audit_entry *out)
{
    bool ok = pb_pg_text(res, row, 0, out->id, sizeof(out->id));
    ok = pb_pg_text(res, row, 1, out->account_id, sizeof(out->account_id)) && ok;
    ok = pb_pg_text(res, row, 2, out->actor_user_id, sizeof(out->actor_user_id)) && ok;
    ok = pb_pg_text(res, row, 3, out->action, sizeof(out->action)) && ok;
    ok = pb_pg_text(res, row, 4, out->detail, sizeof(out->detail)) && ok;
    ok = pb_pg_text(res, row, 5, out->client_ip, sizeof(out->client_ip)) && ok;
    out->at = pb_pg_int64(res, row, 6);
    if (!ok)
        pb_error("postgres: an audit_log row does not fit its struct");
    return ok;
}

enum pb_qs
pb_pg_audit_list(struct pb_conn *conn, const char *account_id, const char *before_id, int limit,
                 pb_audit_cb cb, void *cls)
{
    struct pb_pg_conn *c = pb_pg_conn(conn);
    char limit_text[16];
    snprintf(limit_text, sizeof(limit_text), "%d", limit < 0 ? 0 : limit);
    const char *const params[] = {account_id ? account_id : "", before_id ? before_id : "",
                                  limit_text};
    PGresult *res;
    /* Ids are ULIDs: their order (bytewise, COLLATE "C") is the order of time. */
    enum pb_qs qs = pb_pg_exec(
        c, PB_PG_AUDIT_LIST, "pb_audit_list",
        "SELECT id, account_id, actor_user_id, action, detail, client_ip, at FROM audit_log"
        " WHERE account_id = $1 AND ($2::text = '' OR id < $2) ORDER BY id DESC LIMIT $3",
        3, params, &res);
    if (qs < 0)
        return qs;
    int n = PQntuples(res);
    for (int i = 0; i < n; i++) {
        struct pb_audit_entry entry = {0};
        if (!read_entry(res, i, &entry))
            return pb_pg_bad_row(res);
        cb(cls, &entry);
    }
    PQclear(res);
    return pb_pg_rows(n);
}
