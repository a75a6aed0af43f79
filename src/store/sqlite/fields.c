/* SQLite: an account's custom contact fields and the contacts' values of them. */
#include "store/sqlite/sqlite_internal.h"

#include "core/log.h"

enum pb_qs
pb_sqlite_field_insert(struct pb_conn *conn, const struct pb_field *field)
{
    struct pb_sqlite_conn *c = pb_sqlite_conn(conn);
    sqlite3_stmt *st;
    enum pb_qs qs = pb_sqlite_prepare(
        c, PB_SQ_FIELD_INSERT,
        "INSERT INTO fields (account_id, key, label, type, sensitive, created_at)"
        " VALUES (?1, ?2, ?3, ?4, ?5, ?6) ON CONFLICT (account_id, key) DO NOTHING",
        &st);
    if (qs < 0)
        return qs;
    sqlite3_bind_text(st, 1, field->account_id, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, field->key, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 3, field->label, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 4, field->type, -1, SQLITE_STATIC);
    sqlite3_bind_int(st, 5, field->sensitive ? 1 : 0);
    sqlite3_bind_int64(st, 6, field->created_at);
    return pb_sqlite_step_change(c, st, "field insert");
}

#define FIELD_COLUMNS "account_id, key, label, type, sensitive, created_at"

static bool
read_field(sqlite3_stmt *st, void *dst)
{
    struct pb_field *out = dst;
    bool ok = pb_sqlite_column_text(st, 0, out->account_id, sizeof(out->account_id));
    ok = pb_sqlite_column_text(st, 1, out->key, sizeof(out->key)) && ok;
    ok = pb_sqlite_column_text(st, 2, out->label, sizeof(out->label)) && ok;
    ok = pb_sqlite_column_text(st, 3, out->type, sizeof(out->type)) && ok;
    out->sensitive = sqlite3_column_int(st, 4) != 0;
    out->created_at = sqlite3_column_int64(st, 5);
    if (!ok)
        pb_error("sqlite: a fields row does not fit its struct");
    return ok;
}

enum pb_qs
pb_sqlite_field_get(struct pb_conn *conn, const char *account_id, const char *key,
                    struct pb_field *out)
{
    struct pb_sqlite_conn *c = pb_sqlite_conn(conn);
    sqlite3_stmt *st;
    enum pb_qs qs = pb_sqlite_prepare(c, PB_SQ_FIELD_GET,
                                      "SELECT " FIELD_COLUMNS " FROM fields"
                                      " WHERE account_id = ?1 AND key = ?2",
                                      &st);
    if (qs < 0)
        return qs;
    sqlite3_bind_text(st, 1, account_id, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, key, -1, SQLITE_STATIC);
    return pb_sqlite_get_one(c, st, read_field, out, "field get");
}

enum pb_qs
pb_sqlite_field_list(struct pb_conn *conn, const char *account_id, pb_field_cb cb, void *cls)
{
    struct pb_sqlite_conn *c = pb_sqlite_conn(conn);
    sqlite3_stmt *st;
    enum pb_qs qs = pb_sqlite_prepare(c, PB_SQ_FIELD_LIST,
                                      "SELECT " FIELD_COLUMNS " FROM fields"
                                      " WHERE account_id = ?1 ORDER BY key",
                                      &st);
    if (qs < 0)
        return qs;
    sqlite3_bind_text(st, 1, account_id, -1, SQLITE_STATIC);
    for (int n = 0; pb_sqlite_next(c, st, n, &qs, "field list"); n++) {
        struct pb_field field = {0};
        if (!read_field(st, &field))
            return pb_sqlite_bad_row(st);
        cb(cls, &field);
    }
    return qs;
}

enum pb_qs
pb_sqlite_field_update(struct pb_conn *conn, const struct pb_field *field)
{
    struct pb_sqlite_conn *c = pb_sqlite_conn(conn);
    sqlite3_stmt *st;
    enum pb_qs qs = pb_sqlite_prepare(c, PB_SQ_FIELD_UPDATE,
                                      "UPDATE fields SET label = ?3, sensitive = ?4"
                                      " WHERE account_id = ?1 AND key = ?2",
                                      &st);
    if (qs < 0)
        return qs;
    sqlite3_bind_text(st, 1, field->account_id, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, field->key, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 3, field->label, -1, SQLITE_STATIC);
    sqlite3_bind_int(st, 4, field->sensitive ? 1 : 0);
    return pb_sqlite_step_change(c, st, "field update");
}

enum pb_qs
pb_sqlite_field_delete(struct pb_conn *conn, const char *account_id, const char *key)
{
    struct pb_sqlite_conn *c = pb_sqlite_conn(conn);
    sqlite3_stmt *st;
    enum pb_qs qs = pb_sqlite_prepare(c, PB_SQ_FIELD_DELETE_VALUES,
                                      "DELETE FROM contact_values"
                                      " WHERE account_id = ?1 AND field_key = ?2",
                                      &st);
    if (qs < 0)
        return qs;
    sqlite3_bind_text(st, 1, account_id, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, key, -1, SQLITE_STATIC);
    if ((qs = pb_sqlite_step_change(c, st, "field delete values")) < 0)
        return qs;
    qs = pb_sqlite_prepare(c, PB_SQ_FIELD_DELETE,
                           "DELETE FROM fields WHERE account_id = ?1 AND key = ?2", &st);
    if (qs < 0)
        return qs;
    sqlite3_bind_text(st, 1, account_id, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, key, -1, SQLITE_STATIC);
    return pb_sqlite_step_change(c, st, "field delete");
}

enum pb_qs
pb_sqlite_value_put(struct pb_conn *conn, const struct pb_contact_value *value)
{
    struct pb_sqlite_conn *c = pb_sqlite_conn(conn);
    sqlite3_stmt *st;
    if (value->value_sealed_len > sizeof(value->value_sealed)) {
        pb_error("sqlite: a sealed value is longer than %zu bytes", sizeof(value->value_sealed));
        return PB_QS_HARD_ERROR;
    }
    /* Only for a contact of the account: another account's contact id writes nothing. */
    enum pb_qs qs = pb_sqlite_prepare(
        c, PB_SQ_VALUE_PUT,
        "INSERT INTO contact_values (account_id, contact_id, field_key, value_text, value_sealed)"
        " SELECT ?1, ?2, ?3, ?4, ?5 WHERE EXISTS"
        " (SELECT 1 FROM contacts WHERE id = ?2 AND account_id = ?1)"
        " ON CONFLICT (contact_id, field_key) DO UPDATE"
        " SET value_text = excluded.value_text, value_sealed = excluded.value_sealed",
        &st);
    if (qs < 0)
        return qs;
    bool sealed = value->value_sealed_len > 0;
    sqlite3_bind_text(st, 1, value->account_id, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, value->contact_id, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 3, value->field_key, -1, SQLITE_STATIC);
    if (sealed)
        sqlite3_bind_null(st, 4);
    else
        sqlite3_bind_text(st, 4, value->value_text, -1, SQLITE_STATIC);
    pb_sqlite_bind_blob(st, 5, value->value_sealed, value->value_sealed_len);
    return pb_sqlite_step_change(c, st, "value put");
}

enum pb_qs
pb_sqlite_value_delete(struct pb_conn *conn, const char *account_id, const char *contact_id,
                       const char *field_key)
{
    struct pb_sqlite_conn *c = pb_sqlite_conn(conn);
    sqlite3_stmt *st;
    enum pb_qs qs =
        pb_sqlite_prepare(c, PB_SQ_VALUE_DELETE,
                          "DELETE FROM contact_values"
                          " WHERE account_id = ?1 AND contact_id = ?2 AND field_key = ?3",
                          &st);
    if (qs < 0)
        return qs;
    sqlite3_bind_text(st, 1, account_id, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, contact_id, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 3, field_key, -1, SQLITE_STATIC);
    return pb_sqlite_step_change(c, st, "value delete");
}

#define VALUE_COLUMNS "account_id, contact_id, field_key, value_text, value_sealed"

static bool
read_value(sqlite3_stmt *st, struct pb_contact_value *out)
{
    bool ok = pb_sqlite_column_text(st, 0, out->account_id, sizeof(out->account_id));
    ok = pb_sqlite_column_text(st, 1, out->contact_id, sizeof(out->contact_id)) && ok;
    ok = pb_sqlite_column_text(st, 2, out->field_key, sizeof(out->field_key)) && ok;
    ok = pb_sqlite_column_opt_text(st, 3, out->value_text, sizeof(out->value_text)) && ok;
    ok = pb_sqlite_column_blob(st, 4, out->value_sealed, sizeof(out->value_sealed),
                               &out->value_sealed_len) &&
         ok;
    if (!ok)
        pb_error("sqlite: a contact_values row does not fit its struct");
    return ok;
}

/* Runs a statement selecting VALUE_COLUMNS (parameters bound), calling `cb` per row. */
static enum pb_qs
each_value(struct pb_sqlite_conn *c, sqlite3_stmt *st, pb_contact_value_cb cb, void *cls,
           const char *what)
{
    enum pb_qs qs;
    for (int n = 0; pb_sqlite_next(c, st, n, &qs, what); n++) {
        struct pb_contact_value value = {0};
        if (!read_value(st, &value))
            return pb_sqlite_bad_row(st);
        cb(cls, &value);
    }
    return qs;
}

enum pb_qs
pb_sqlite_value_list(struct pb_conn *conn, const char *account_id, const char *contact_id,
                     pb_contact_value_cb cb, void *cls)
{
    struct pb_sqlite_conn *c = pb_sqlite_conn(conn);
    sqlite3_stmt *st;
    /*
     * "+account_id" keeps that term out of index selection: without it the
     * planner (no statistics on a new database) picked the per-field index,
     * scanning every value of the account instead of this contact's few.
     */
    enum pb_qs qs = pb_sqlite_prepare(c, PB_SQ_VALUE_LIST,
                                      "SELECT " VALUE_COLUMNS " FROM contact_values"
                                      " WHERE contact_id = ?2 AND +account_id = ?1"
                                      " ORDER BY field_key",
                                      &st);
    if (qs < 0)
        return qs;
    sqlite3_bind_text(st, 1, account_id, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, contact_id, -1, SQLITE_STATIC);
    return each_value(c, st, cb, cls, "value list");
}

enum pb_qs
pb_sqlite_value_list_field(struct pb_conn *conn, const char *account_id, const char *field_key,
                           const char *after_contact_id, int limit, pb_contact_value_cb cb,
                           void *cls)
{
    struct pb_sqlite_conn *c = pb_sqlite_conn(conn);
    sqlite3_stmt *st;
    enum pb_qs qs =
        pb_sqlite_prepare(c, PB_SQ_VALUE_LIST_FIELD,
                          "SELECT " VALUE_COLUMNS " FROM contact_values"
                          " WHERE account_id = ?1 AND field_key = ?2 AND contact_id > ?3"
                          " ORDER BY contact_id LIMIT ?4",
                          &st);
    if (qs < 0)
        return qs;
    sqlite3_bind_text(st, 1, account_id, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, field_key, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 3, after_contact_id ? after_contact_id : "", -1, SQLITE_STATIC);
    sqlite3_bind_int(st, 4, limit < 0 ? 0 : limit);
    return each_value(c, st, cb, cls, "value list field");
}
