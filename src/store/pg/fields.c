/* PostgreSQL: an account's custom contact fields and the contacts' values of them. */
#include "store/pg/pg_internal.h"

#include <stdio.h>

#include "core/log.h"

enum pb_qs
pb_pg_field_insert(struct pb_conn *conn, const struct pb_field *field)
{
    struct pb_pg_conn *c = pb_pg_conn(conn);
    char created[24];
    snprintf(created, sizeof(created), "%lld", (long long)field->created_at);
    const char *const params[] = {
        field->account_id,
        field->key,
        field->label,
        field->type,
        field->sensitive ? "true" : "false",
        created,
    };
    return pb_pg_exec_change(
        c, PB_PG_FIELD_INSERT, "pb_field_insert",
        "INSERT INTO fields (account_id, key, label, type, sensitive, created_at)"
        " VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (account_id, key) DO NOTHING",
        6, params);
}

#define FIELD_COLUMNS "account_id, key, label, type, sensitive, created_at"

static bool
read_field(const PGresult *res, int row, void *dst)
{
    struct pb_field *out = dst;
    bool ok = pb_pg_text(res, row, 0, out->account_id, sizeof(out->account_id));
    ok = pb_pg_text(res, row, 1, out->key, sizeof(out->key)) && ok;
    ok = pb_pg_text(res, row, 2, out->label, sizeof(out->label)) && ok;
    ok = pb_pg_text(res, row, 3, out->type, sizeof(out->type)) && ok;
    out->sensitive = pb_pg_bool(res, row, 4);
    out->created_at = pb_pg_int64(res, row, 5);
    if (!ok)
        pb_error("postgres: a fields row does not fit its struct");
    return ok;
}

enum pb_qs
pb_pg_field_get(struct pb_conn *conn, const char *account_id, const char *key, struct pb_field *out)
{
    struct pb_pg_conn *c = pb_pg_conn(conn);
    const char *const params[] = {account_id, key};
    PGresult *res;
    enum pb_qs qs = pb_pg_exec(c, PB_PG_FIELD_GET, "pb_field_get",
                               "SELECT " FIELD_COLUMNS " FROM fields"
                               " WHERE account_id = $1 AND key = $2",
                               2, params, &res);
    return qs < 0 ? qs : pb_pg_get_one(res, read_field, out);
}

enum pb_qs
pb_pg_field_list(struct pb_conn *conn, const char *account_id, pb_field_cb cb, void *cls)
{
    struct pb_pg_conn *c = pb_pg_conn(conn);
    const char *const params[] = {account_id};
    PGresult *res;
    enum pb_qs qs = pb_pg_exec(c, PB_PG_FIELD_LIST, "pb_field_list",
                               "SELECT " FIELD_COLUMNS " FROM fields"
                               " WHERE account_id = $1 ORDER BY key",
                               1, params, &res);
    if (qs < 0)
        return qs;
    int n = PQntuples(res);
    for (int i = 0; i < n; i++) {
        struct pb_field field = {0};
        if (!read_field(res, i, &field))
            return pb_pg_bad_row(res);
        cb(cls, &field);
    }
    PQclear(res);
    return pb_pg_rows(n);
}

enum pb_qs
pb_pg_field_update(struct pb_conn *conn, const struct pb_field *field)
{
    struct pb_pg_conn *c = pb_pg_conn(conn);
    const char *const params[] = {field->account_id, field->key, field->label,
                                  field->sensitive ? "true" : "false"};
    return pb_pg_exec_change(c, PB_PG_FIELD_UPDATE, "pb_field_update",
                             "UPDATE fields SET label = $3, sensitive = $4"
                             " WHERE account_id = $1 AND key = $2",
                             4, params);
}

enum pb_qs
pb_pg_field_delete(struct pb_conn *conn, const char *account_id, const char *key)
{
    struct pb_pg_conn *c = pb_pg_conn(conn);
    const char *const params[] = {account_id, key};
    enum pb_qs qs = pb_pg_exec_change(c, PB_PG_FIELD_DELETE_VALUES, "pb_field_delete_values",
                                      "DELETE FROM contact_values"
                                      " WHERE account_id = $1 AND field_key = $2",
                                      2, params);
    if (qs < 0)
        return qs;
    return pb_pg_exec_change(c, PB_PG_FIELD_DELETE, "pb_field_delete",
                             "DELETE FROM fields WHERE account_id = $1 AND key = $2", 2, params);
}

enum pb_qs
pb_pg_value_put(struct pb_conn *conn, const struct pb_contact_value *value)
{
    struct pb_pg_conn *c = pb_pg_conn(conn);
    char sealed[2 * PB_VALUE_SEALED_MAX + 1];
    if (value->value_sealed_len > sizeof(value->value_sealed)) {
        pb_error("postgres: a sealed value is longer than %zu bytes", sizeof(value->value_sealed));
        return PB_QS_HARD_ERROR;
    }
    bool is_sealed = value->value_sealed_len > 0;
    const char *const params[] = {
        value->account_id,
        value->contact_id,
        value->field_key,
        is_sealed ? NULL : value->value_text,
        pb_pg_hex(value->value_sealed, value->value_sealed_len, sealed, sizeof(sealed)),
    };
    /* Only for a contact of the account: another account's contact id writes nothing. */
    return pb_pg_exec_change(
        c, PB_PG_VALUE_PUT, "pb_value_put",
        "INSERT INTO contact_values (account_id, contact_id, field_key, value_text, value_sealed)"
        " SELECT $1, $2, $3, $4, decode($5, 'hex') WHERE EXISTS"
        " (SELECT 1 FROM contacts WHERE id = $2 AND account_id = $1)"
        " ON CONFLICT (contact_id, field_key) DO UPDATE"
        " SET value_text = excluded.value_text, value_sealed = excluded.value_sealed",
        5, params);
}

enum pb_qs
pb_pg_value_delete(struct pb_conn *conn, const char *account_id, const char *contact_id,
                   const char *field_key)
{
    struct pb_pg_conn *c = pb_pg_conn(conn);
    const char *const params[] = {account_id, contact_id, field_key};
    return pb_pg_exec_change(c, PB_PG_VALUE_DELETE, "pb_value_delete",
                             "DELETE FROM contact_values"
                             " WHERE account_id = $1 AND contact_id = $2 AND field_key = $3",
                             3, params);
}

#define VALUE_COLUMNS "account_id, contact_id, field_key, value_text, encode(value_sealed, 'hex')"

/* Calls `cb` for each row of VALUE_COLUMNS in `res`, and clears it. */
static enum pb_qs
each_value(PGresult *res, pb_contact_value_cb cb, void *cls)
{
    int n = PQntuples(res);
    for (int i = 0; i < n; i++) {
        struct pb_contact_value v = {0};
        bool ok = pb_pg_text(res, i, 0, v.account_id, sizeof(v.account_id));
        ok = pb_pg_text(res, i, 1, v.contact_id, sizeof(v.contact_id)) && ok;
        ok = pb_pg_text(res, i, 2, v.field_key, sizeof(v.field_key)) && ok;
        ok = pb_pg_opt_text(res, i, 3, v.value_text, sizeof(v.value_text)) && ok;
        ok = pb_pg_bytes(res, i, 4, v.value_sealed, sizeof(v.value_sealed), &v.value_sealed_len) &&
             ok;
        if (!ok) {
            pb_error("postgres: a contact_values row does not fit its struct");
            PQclear(res);
            return PB_QS_HARD_ERROR;
        }
        cb(cls, &v);
    }
    PQclear(res);
    return pb_pg_rows(n);
}

enum pb_qs
pb_pg_value_list(struct pb_conn *conn, const char *account_id, const char *contact_id,
                 pb_contact_value_cb cb, void *cls)
{
    struct pb_pg_conn *c = pb_pg_conn(conn);
    const char *const params[] = {account_id, contact_id};
    PGresult *res;
    enum pb_qs qs = pb_pg_exec(c, PB_PG_VALUE_LIST, "pb_value_list",
                               "SELECT " VALUE_COLUMNS " FROM contact_values"
                               " WHERE account_id = $1 AND contact_id = $2 ORDER BY field_key",
                               2, params, &res);
    return qs < 0 ? qs : each_value(res, cb, cls);
}

enum pb_qs
pb_pg_value_list_field(struct pb_conn *conn, const char *account_id, const char *field_key,
                       const char *after_contact_id, int limit, pb_contact_value_cb cb, void *cls)
{
    struct pb_pg_conn *c = pb_pg_conn(conn);
    char limit_text[16];
    snprintf(limit_text, sizeof(limit_text), "%d", limit < 0 ? 0 : limit);
    const char *const params[] = {account_id, field_key, after_contact_id ? after_contact_id : "",
                                  limit_text};
    PGresult *res;
    enum pb_qs qs = pb_pg_exec(c, PB_PG_VALUE_LIST_FIELD, "pb_value_list_field",
                               "SELECT " VALUE_COLUMNS " FROM contact_values"
                               " WHERE account_id = $1 AND field_key = $2 AND contact_id > $3"
                               " ORDER BY contact_id LIMIT $4",
                               4, params, &res);
    return qs < 0 ? qs : each_value(res, cb, cls);
}
