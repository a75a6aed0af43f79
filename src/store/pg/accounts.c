/* PostgreSQL: the accounts of the control store. */
#include "store/pg/pg_internal.h"

#include <stdio.h>

#include "core/log.h"

enum pb_qs
pb_pg_account_insert(struct pb_conn *conn, const struct pb_account *account)
{
    struct pb_pg_conn *c = pb_pg_conn(conn);
    char created[24];
    snprintf(created, sizeof(created), "%lld", (long long)account->created_at);
    const char *const params[] = {account->id, account->name, account->plan, created};
    PGresult *res;
    enum pb_qs qs = pb_pg_exec(c, PB_PG_ACCOUNT_INSERT, "pb_account_insert",
                               "INSERT INTO accounts (id, name, plan, created_at)"
                               " VALUES ($1, $2, $3, $4)",
                               4, params, &res);
    if (qs < 0)
        return qs;
    qs = pb_pg_changes(res);
    PQclear(res);
    return qs;
}

/* Fills `out` from row `row` of (id, name, plan, created_at). */
static bool
read_account(const PGresult *res, int row, struct pb_account *out)
{
    bool ok = pb_pg_text(res, row, 0, out->id, sizeof(out->id));
    ok = pb_pg_text(res, row, 1, out->name, sizeof(out->name)) && ok;
    ok = pb_pg_text(res, row, 2, out->plan, sizeof(out->plan)) && ok;
    out->created_at = pb_pg_int64(res, row, 3);
    if (!ok)
        pb_error("postgres: an accounts row does not fit its struct");
    return ok;
}

enum pb_qs
pb_pg_account_get(struct pb_conn *conn, const char *id, struct pb_account *out)
{
    struct pb_pg_conn *c = pb_pg_conn(conn);
    const char *const params[] = {id};
    PGresult *res;
    enum pb_qs qs = pb_pg_exec(c, PB_PG_ACCOUNT_GET, "pb_account_get",
                               "SELECT id, name, plan, created_at FROM accounts WHERE id = $1", 1,
                               params, &res);
    if (qs < 0)
        return qs;
    if (PQntuples(res) == 0)
        qs = PB_QS_NONE;
    else
        qs = read_account(res, 0, out) ? PB_QS_ONE : PB_QS_HARD_ERROR;
    PQclear(res);
    return qs;
}

enum pb_qs
pb_pg_account_list(struct pb_conn *conn, const char *after_id, int limit, pb_account_cb cb,
                   void *cls)
{
    struct pb_pg_conn *c = pb_pg_conn(conn);
    char limit_text[16];
    snprintf(limit_text, sizeof(limit_text), "%d", limit < 0 ? 0 : limit);
    const char *const params[] = {after_id ? after_id : "", limit_text};
    PGresult *res;
    enum pb_qs qs = pb_pg_exec(c, PB_PG_ACCOUNT_LIST, "pb_account_list",
                               "SELECT id, name, plan, created_at FROM accounts"
                               " WHERE id > $1 ORDER BY id LIMIT $2",
                               2, params, &res);
    if (qs < 0)
        return qs;
    int n = PQntuples(res);
    for (int i = 0; i < n; i++) {
        struct pb_account account = {0};
        if (!read_account(res, i, &account)) {
            PQclear(res);
            return PB_QS_HARD_ERROR;
        }
        cb(cls, &account);
    }
    PQclear(res);
    return n == 0 ? PB_QS_NONE : n == 1 ? PB_QS_ONE : PB_QS_N;
}
