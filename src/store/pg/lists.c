/* PostgreSQL: an account's lists and their memberships, with an exact member count per list. */
#include "store/pg/pg_internal.h"

#include <stdio.h>
#include <string.h>

#include "core/log.h"

enum pb_qs
pb_pg_list_insert(struct pb_conn *conn, const struct pb_list *list)
{
    struct pb_pg_conn *c = pb_pg_conn(conn);
    char created[24];
    snprintf(created, sizeof(created), "%lld", (long long)list->created_at);
    const char *const params[] = {
        list->id,
        list->account_id,
        list->name,
        list->description,
        list->is_public ? "true" : "false",
        created,
    };
    return pb_pg_exec_change(
        c, PB_PG_LIST_INSERT, "pb_list_insert",
        "INSERT INTO lists (id, account_id, name, description, public, member_count, created_at)"
        " VALUES ($1, $2, $3, $4, $5, 0, $6)",
        6, params);
}

#define LIST_COLUMNS "id, account_id, name, description, public, member_count, created_at"

static bool
read_list(const PGresult *res, int row, void *dst)
{
    struct pb_list *out = dst;
    bool ok = pb_pg_text(res, row, 0, out->id, sizeof(out->id));
    ok = pb_pg_text(res, row, 1, out->account_id, sizeof(out->account_id)) && ok;
    ok = pb_pg_text(res, row, 2, out->name, sizeof(out->name)) && ok;
    ok = pb_pg_text(res, row, 3, out->description, sizeof(out->description)) && ok;
    out->is_public = pb_pg_bool(res, row, 4);
    out->member_count = pb_pg_int64(res, row, 5);
    out->created_at = pb_pg_int64(res, row, 6);
    if (!ok)
        pb_error("postgres: a lists row does not fit its struct");
    return ok;
}

enum pb_qs
pb_pg_list_get(struct pb_conn *conn, const char *account_id, const char *id, struct pb_list *out)
{
    struct pb_pg_conn *c = pb_pg_conn(conn);
    const char *const params[] = {account_id, id};
    PGresult *res;
    enum pb_qs qs = pb_pg_exec(c, PB_PG_LIST_GET, "pb_list_get",
                               "SELECT " LIST_COLUMNS " FROM lists"
                               " WHERE account_id = $1 AND id = $2",
                               2, params, &res);
    return qs < 0 ? qs : pb_pg_get_one(res, read_list, out);
}

enum pb_qs
pb_pg_list_list(struct pb_conn *conn, const char *account_id, const char *after_id, int limit,
                pb_list_cb cb, void *cls)
{
    struct pb_pg_conn *c = pb_pg_conn(conn);
    char limit_text[16];
    snprintf(limit_text, sizeof(limit_text), "%d", limit < 0 ? 0 : limit);
    const char *const params[] = {account_id, after_id ? after_id : "", limit_text};
    PGresult *res;
    enum pb_qs qs = pb_pg_exec(c, PB_PG_LIST_LIST, "pb_list_list",
                               "SELECT " LIST_COLUMNS " FROM lists"
                               " WHERE account_id = $1 AND id > $2 ORDER BY id LIMIT $3",
                               3, params, &res);
    if (qs < 0)
        return qs;
    int n = PQntuples(res);
    for (int i = 0; i < n; i++) {
        struct pb_list list = {0};
        if (!read_list(res, i, &list))
            return pb_pg_bad_row(res);
        cb(cls, &list);
    }
    PQclear(res);
    return pb_pg_rows(n);
}

enum pb_qs
pb_pg_list_update(struct pb_conn *conn, const struct pb_list *list)
{
    struct pb_pg_conn *c = pb_pg_conn(conn);
    const char *const params[] = {list->account_id, list->id, list->name, list->description,
                                  list->is_public ? "true" : "false"};
    return pb_pg_exec_change(c, PB_PG_LIST_UPDATE, "pb_list_update",
                             "UPDATE lists SET name = $3, description = $4, public = $5"
                             " WHERE account_id = $1 AND id = $2",
                             5, params);
}

enum pb_qs
pb_pg_list_delete(struct pb_conn *conn, const char *account_id, const char *id)
{
    struct pb_pg_conn *c = pb_pg_conn(conn);
    const char *const params[] = {account_id, id};
    /* Its memberships go with it (ON DELETE CASCADE). */
    return pb_pg_exec_change(c, PB_PG_LIST_DELETE, "pb_list_delete",
                             "DELETE FROM lists WHERE account_id = $1 AND id = $2", 2, params);
}

enum pb_qs
pb_pg_membership_put(struct pb_conn *conn, const char *account_id, const char *list_id,
                     const char *contact_id, const char *status, const char *statement_id,
                     int64_t since)
{
    struct pb_pg_conn *c = pb_pg_conn(conn);
    PGresult *res;
    bool subscribe = strcmp(status, "subscribed") == 0;

    /* Whether list and contact are the account's, and the membership's status now. */
    const char *const state_params[] = {account_id, list_id, contact_id};
    enum pb_qs qs =
        pb_pg_exec(c, PB_PG_MEMBERSHIP_STATE, "pb_membership_state",
                   "SELECT EXISTS (SELECT 1 FROM lists WHERE id = $2 AND account_id = $1),"
                   " EXISTS (SELECT 1 FROM contacts WHERE id = $3 AND account_id = $1),"
                   " (SELECT status FROM memberships WHERE list_id = $2 AND contact_id = $3)",
                   3, state_params, &res);
    if (qs < 0)
        return qs;
    bool known = pb_pg_bool(res, 0, 0) && pb_pg_bool(res, 0, 1);
    char old[16] = "";
    (void)pb_pg_opt_text(res, 0, 2, old, sizeof(old));
    PQclear(res);
    if (!known || strcmp(old, status) == 0)
        return PB_QS_NONE;
    bool was_subscribed = strcmp(old, "subscribed") == 0;

    char since_text[24];
    snprintf(since_text, sizeof(since_text), "%lld", (long long)since);
    const char *const params[] = {account_id, list_id, contact_id, status, pb_pg_opt(statement_id),
                                  since_text};
    qs = pb_pg_exec_change(
        c, PB_PG_MEMBERSHIP_UPSERT, "pb_membership_upsert",
        "INSERT INTO memberships (account_id, list_id, contact_id, status, statement_id, since)"
        " VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (list_id, contact_id) DO UPDATE"
        " SET status = excluded.status, statement_id = excluded.statement_id,"
        " since = excluded.since",
        6, params);
    if (qs < 0)
        return qs;

    int delta = subscribe ? 1 : was_subscribed ? -1 : 0;
    if (delta == 0)
        return PB_QS_ONE;
    const char *const count_params[] = {account_id, list_id, delta > 0 ? "1" : "-1"};
    qs = pb_pg_exec_change(c, PB_PG_MEMBERSHIP_COUNT, "pb_membership_count",
                           "UPDATE lists SET member_count = member_count + $3"
                           " WHERE account_id = $1 AND id = $2",
                           3, count_params);
    return qs < 0 ? qs : PB_QS_ONE;
}

enum pb_qs
pb_pg_membership_list_for_contact(struct pb_conn *conn, const char *account_id,
                                  const char *contact_id, pb_membership_cb cb, void *cls)
{
    struct pb_pg_conn *c = pb_pg_conn(conn);
    const char *const params[] = {account_id, contact_id};
    PGresult *res;
    enum pb_qs qs = pb_pg_exec(
        c, PB_PG_MEMBERSHIP_LIST, "pb_membership_list",
        "SELECT account_id, list_id, contact_id, status, statement_id, since FROM memberships"
        " WHERE account_id = $1 AND contact_id = $2 ORDER BY list_id",
        2, params, &res);
    if (qs < 0)
        return qs;
    int n = PQntuples(res);
    for (int i = 0; i < n; i++) {
        struct pb_membership m = {0};
        bool ok = pb_pg_text(res, i, 0, m.account_id, sizeof(m.account_id));
        ok = pb_pg_text(res, i, 1, m.list_id, sizeof(m.list_id)) && ok;
        ok = pb_pg_text(res, i, 2, m.contact_id, sizeof(m.contact_id)) && ok;
        ok = pb_pg_text(res, i, 3, m.status, sizeof(m.status)) && ok;
        ok = pb_pg_opt_text(res, i, 4, m.statement_id, sizeof(m.statement_id)) && ok;
        m.since = pb_pg_int64(res, i, 5);
        if (!ok) {
            pb_error("postgres: a memberships row does not fit its struct");
            PQclear(res);
            return PB_QS_HARD_ERROR;
        }
        cb(cls, &m);
    }
    PQclear(res);
    return pb_pg_rows(n);
}
