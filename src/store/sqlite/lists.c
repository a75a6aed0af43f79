/* SQLite: an account's lists and their memberships, with an exact member count per list. */
#include "store/sqlite/sqlite_internal.h"

#include <string.h>

#include "core/log.h"

enum pb_qs
pb_sqlite_list_insert(struct pb_conn *conn, const struct pb_list *list)
{
    struct pb_sqlite_conn *c = pb_sqlite_conn(conn);
    sqlite3_stmt *st;
    enum pb_qs qs = pb_sqlite_prepare(
        c, PB_SQ_LIST_INSERT,
        "INSERT INTO lists (id, account_id, name, description, public, member_count, created_at)"
        " VALUES (?1, ?2, ?3, ?4, ?5, 0, ?6)",
        &st);
    if (qs < 0)
        return qs;
    sqlite3_bind_text(st, 1, list->id, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, list->account_id, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 3, list->name, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 4, list->description, -1, SQLITE_STATIC);
    sqlite3_bind_int(st, 5, list->is_public ? 1 : 0);
    sqlite3_bind_int64(st, 6, list->created_at);
    return pb_sqlite_step_change(c, st, "list insert");
}

#define LIST_COLUMNS "id, account_id, name, description, public, member_count, created_at"

static bool
read_list(sqlite3_stmt *st, void *dst)
{
    struct pb_list *out = dst;
    bool ok = pb_sqlite_column_text(st, 0, out->id, sizeof(out->id));
    ok = pb_sqlite_column_text(st, 1, out->account_id, sizeof(out->account_id)) && ok;
    ok = pb_sqlite_column_text(st, 2, out->name, sizeof(out->name)) && ok;
    ok = pb_sqlite_column_text(st, 3, out->description, sizeof(out->description)) && ok;
    out->is_public = sqlite3_column_int(st, 4) != 0;
    out->member_count = sqlite3_column_int64(st, 5);
    out->created_at = sqlite3_column_int64(st, 6);
    if (!ok)
        pb_error("sqlite: a lists row does not fit its struct");
    return ok;
}

enum pb_qs
pb_sqlite_list_get(struct pb_conn *conn, const char *account_id, const char *id,
                   struct pb_list *out)
{
    struct pb_sqlite_conn *c = pb_sqlite_conn(conn);
    sqlite3_stmt *st;
    enum pb_qs qs = pb_sqlite_prepare(c, PB_SQ_LIST_GET,
                                      "SELECT " LIST_COLUMNS " FROM lists"
                                      " WHERE account_id = ?1 AND id = ?2",
                                      &st);
    if (qs < 0)
        return qs;
    sqlite3_bind_text(st, 1, account_id, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, id, -1, SQLITE_STATIC);
    return pb_sqlite_get_one(c, st, read_list, out, "list get");
}

enum pb_qs
pb_sqlite_list_list(struct pb_conn *conn, const char *account_id, const char *after_id, int limit,
                    pb_list_cb cb, void *cls)
{
    struct pb_sqlite_conn *c = pb_sqlite_conn(conn);
    sqlite3_stmt *st;
    enum pb_qs qs = pb_sqlite_prepare(c, PB_SQ_LIST_LIST,
                                      "SELECT " LIST_COLUMNS " FROM lists"
                                      " WHERE account_id = ?1 AND id > ?2 ORDER BY id LIMIT ?3",
                                      &st);
    if (qs < 0)
        return qs;
    sqlite3_bind_text(st, 1, account_id, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, after_id ? after_id : "", -1, SQLITE_STATIC);
    sqlite3_bind_int(st, 3, limit < 0 ? 0 : limit);
    for (int n = 0; pb_sqlite_next(c, st, n, &qs, "list list"); n++) {
        struct pb_list list = {0};
        if (!read_list(st, &list))
            return pb_sqlite_bad_row(st);
        cb(cls, &list);
    }
    return qs;
}

enum pb_qs
pb_sqlite_list_update(struct pb_conn *conn, const struct pb_list *list)
{
    struct pb_sqlite_conn *c = pb_sqlite_conn(conn);
    sqlite3_stmt *st;
    enum pb_qs qs = pb_sqlite_prepare(c, PB_SQ_LIST_UPDATE,
                                      "UPDATE lists SET name = ?3, description = ?4, public = ?5"
                                      " WHERE account_id = ?1 AND id = ?2",
                                      &st);
    if (qs < 0)
        return qs;
    sqlite3_bind_text(st, 1, list->account_id, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, list->id, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 3, list->name, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 4, list->description, -1, SQLITE_STATIC);
    sqlite3_bind_int(st, 5, list->is_public ? 1 : 0);
    return pb_sqlite_step_change(c, st, "list update");
}

enum pb_qs
pb_sqlite_list_delete(struct pb_conn *conn, const char *account_id, const char *id)
{
    struct pb_sqlite_conn *c = pb_sqlite_conn(conn);
    sqlite3_stmt *st;
    /* Its memberships go with it (ON DELETE CASCADE). */
    enum pb_qs qs = pb_sqlite_prepare(c, PB_SQ_LIST_DELETE,
                                      "DELETE FROM lists WHERE account_id = ?1 AND id = ?2", &st);
    if (qs < 0)
        return qs;
    sqlite3_bind_text(st, 1, account_id, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, id, -1, SQLITE_STATIC);
    return pb_sqlite_step_change(c, st, "list delete");
}

enum pb_qs
pb_sqlite_membership_put(struct pb_conn *conn, const char *account_id, const char *list_id,
                         const char *contact_id, const char *status, const char *statement_id,
                         int64_t since)
{
    struct pb_sqlite_conn *c = pb_sqlite_conn(conn);
    sqlite3_stmt *st;
    bool subscribe = strcmp(status, "subscribed") == 0;

    /* Whether list and contact are the account's, and the membership's status now. */
    enum pb_qs qs = pb_sqlite_prepare(
        c, PB_SQ_MEMBERSHIP_STATE,
        "SELECT EXISTS (SELECT 1 FROM lists WHERE id = ?2 AND account_id = ?1),"
        " EXISTS (SELECT 1 FROM contacts WHERE id = ?3 AND account_id = ?1),"
        " (SELECT status FROM memberships WHERE list_id = ?2 AND contact_id = ?3)",
        &st);
    if (qs < 0)
        return qs;
    sqlite3_bind_text(st, 1, account_id, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, list_id, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 3, contact_id, -1, SQLITE_STATIC);
    int rc = sqlite3_step(st);
    if (rc != SQLITE_ROW) {
        qs = pb_sqlite_fail(c, rc, "membership state");
        pb_sqlite_done(st);
        return qs;
    }
    bool known = sqlite3_column_int(st, 0) != 0 && sqlite3_column_int(st, 1) != 0;
    char old[16] = "";
    (void)pb_sqlite_column_opt_text(st, 2, old, sizeof(old));
    pb_sqlite_done(st);
    if (!known || strcmp(old, status) == 0)
        return PB_QS_NONE;
    bool was_subscribed = strcmp(old, "subscribed") == 0;

    qs = pb_sqlite_prepare(
        c, PB_SQ_MEMBERSHIP_UPSERT,
        "INSERT INTO memberships (account_id, list_id, contact_id, status, statement_id, since)"
        " VALUES (?1, ?2, ?3, ?4, ?5, ?6) ON CONFLICT (list_id, contact_id) DO UPDATE"
        " SET status = excluded.status, statement_id = excluded.statement_id,"
        " since = excluded.since",
        &st);
    if (qs < 0)
        return qs;
    sqlite3_bind_text(st, 1, account_id, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, list_id, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 3, contact_id, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 4, status, -1, SQLITE_STATIC);
    pb_sqlite_bind_opt_text(st, 5, statement_id);
    sqlite3_bind_int64(st, 6, since);
    if ((qs = pb_sqlite_step_change(c, st, "membership upsert")) < 0)
        return qs;

    int delta = subscribe ? 1 : was_subscribed ? -1 : 0;
    if (delta == 0)
        return PB_QS_ONE;
    qs = pb_sqlite_prepare(c, PB_SQ_MEMBERSHIP_COUNT,
                           "UPDATE lists SET member_count = member_count + ?3"
                           " WHERE account_id = ?1 AND id = ?2",
                           &st);
    if (qs < 0)
        return qs;
    sqlite3_bind_text(st, 1, account_id, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, list_id, -1, SQLITE_STATIC);
    sqlite3_bind_int(st, 3, delta);
    qs = pb_sqlite_step_change(c, st, "membership count");
    return qs < 0 ? qs : PB_QS_ONE;
}

enum pb_qs
pb_sqlite_membership_list_for_contact(struct pb_conn *conn, const char *account_id,
                                      const char *contact_id, pb_membership_cb cb, void *cls)
{
    struct pb_sqlite_conn *c = pb_sqlite_conn(conn);
    sqlite3_stmt *st;
    enum pb_qs qs = pb_sqlite_prepare(
        c, PB_SQ_MEMBERSHIP_LIST,
        "SELECT account_id, list_id, contact_id, status, statement_id, since FROM memberships"
        " WHERE account_id = ?1 AND contact_id = ?2 ORDER BY list_id",
        &st);
    if (qs < 0)
        return qs;
    sqlite3_bind_text(st, 1, account_id, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, contact_id, -1, SQLITE_STATIC);
    for (int n = 0; pb_sqlite_next(c, st, n, &qs, "membership list"); n++) {
        struct pb_membership m = {0};
        bool ok = pb_sqlite_column_text(st, 0, m.account_id, sizeof(m.account_id));
        ok = pb_sqlite_column_text(st, 1, m.list_id, sizeof(m.list_id)) && ok;
        ok = pb_sqlite_column_text(st, 2, m.contact_id, sizeof(m.contact_id)) && ok;
        ok = pb_sqlite_column_text(st, 3, m.status, sizeof(m.status)) && ok;
        ok = pb_sqlite_column_opt_text(st, 4, m.statement_id, sizeof(m.statement_id)) && ok;
        m.since = sqlite3_column_int64(st, 5);
        if (!ok) {
            pb_error("sqlite: a memberships row does not fit its struct");
            return pb_sqlite_bad_row(st);
        }
        cb(cls, &m);
    }
    return qs;
}
