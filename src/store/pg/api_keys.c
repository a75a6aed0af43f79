/* PostgreSQL: users' API keys, found by the hash of their token. */
#include "store/pg/pg_internal.h"

#include <stdio.h>

#include "core/log.h"

enum pb_qs
pb_pg_api_key_insert(struct pb_conn *conn, const struct pb_api_key *key)
{
    struct pb_pg_conn *c = pb_pg_conn(conn);
    char hash[PB_PG_HASH_HEX], created[24], used[24];
    snprintf(created, sizeof(created), "%lld", (long long)key->created_at);
    snprintf(used, sizeof(used), "%lld", (long long)key->last_used_at);
    const char *const params[] = {
        key->id,     key->user_id,
        key->name,   pb_pg_hex(key->token_hash, PB_HASH_BYTES, hash, sizeof(hash)),
        key->prefix, created,
        used,
    };
    return pb_pg_exec_change(
        c, PB_PG_API_KEY_INSERT, "pb_api_key_insert",
        "INSERT INTO api_keys (id, user_id, name, token_hash, prefix, created_at, last_used_at)"
        " VALUES ($1, $2, $3, decode($4, 'hex'), $5, $6, $7)",
        7, params);
}

/* The columns read_key() expects, in its order. */
#define KEY_COLUMNS "id, user_id, name, encode(token_hash, 'hex'), prefix, created_at, last_used_at"

/* Fills `out` from row `row` of KEY_COLUMNS. */
static bool
read_key(const PGresult *res, int row, void *dst)
{
    struct pb_api_key *out = dst;
    size_t len = 0;
    bool ok = pb_pg_text(res, row, 0, out->id, sizeof(out->id));
    ok = pb_pg_text(res, row, 1, out->user_id, sizeof(out->user_id)) && ok;
    ok = pb_pg_text(res, row, 2, out->name, sizeof(out->name)) && ok;
    ok = pb_pg_bytes(res, row, 3, out->token_hash, sizeof(out->token_hash), &len) &&
         len == PB_HASH_BYTES && ok;
    ok = pb_pg_text(res, row, 4, out->prefix, sizeof(out->prefix)) && ok;
    out->created_at = pb_pg_int64(res, row, 5);
    out->last_used_at = pb_pg_int64(res, row, 6);
    if (!ok)
        pb_error("postgres: an api_keys row does not fit its struct");
    return ok;
}

enum pb_qs
pb_pg_api_key_get_by_hash(struct pb_conn *conn, const unsigned char hash[PB_HASH_BYTES],
                          struct pb_api_key *out)
{
    struct pb_pg_conn *c = pb_pg_conn(conn);
    char hex[PB_PG_HASH_HEX];
    const char *const params[] = {pb_pg_hex(hash, PB_HASH_BYTES, hex, sizeof(hex))};
    PGresult *res;
    enum pb_qs qs =
        pb_pg_exec(c, PB_PG_API_KEY_GET_BY_HASH, "pb_api_key_get_by_hash",
                   "SELECT " KEY_COLUMNS " FROM api_keys WHERE token_hash = decode($1, 'hex')", 1,
                   params, &res);
    return qs < 0 ? qs : pb_pg_get_one(res, read_key, out);
}

enum pb_qs
pb_pg_api_key_list(struct pb_conn *conn, const char *user_id, pb_api_key_cb cb, void *cls)
{
    struct pb_pg_conn *c = pb_pg_conn(conn);
    const char *const params[] = {user_id};
    PGresult *res;
    enum pb_qs qs = pb_pg_exec(
        c, PB_PG_API_KEY_LIST, "pb_api_key_list",
        "SELECT " KEY_COLUMNS " FROM api_keys WHERE user_id = $1 ORDER BY id", 1, params, &res);
    if (qs < 0)
        return qs;
    int n = PQntuples(res);
    for (int i = 0; i < n; i++) {
        struct pb_api_key key = {0};
        if (!read_key(res, i, &key))
            return pb_pg_bad_row(res);
        cb(cls, &key);
    }
    PQclear(res);
    return pb_pg_rows(n);
}

enum pb_qs
pb_pg_api_key_delete(struct pb_conn *conn, const char *user_id, const char *id)
{
    struct pb_pg_conn *c = pb_pg_conn(conn);
    const char *const params[] = {id, user_id};
    return pb_pg_exec_change(c, PB_PG_API_KEY_DELETE, "pb_api_key_delete",
                             "DELETE FROM api_keys WHERE id = $1 AND user_id = $2", 2, params);
}

enum pb_qs
pb_pg_api_key_touch(struct pb_conn *conn, const char *id, int64_t now)
{
    struct pb_pg_conn *c = pb_pg_conn(conn);
    char now_text[24];
    snprintf(now_text, sizeof(now_text), "%lld", (long long)now);
    const char *const params[] = {id, now_text};
    return pb_pg_exec_change(c, PB_PG_API_KEY_TOUCH, "pb_api_key_touch",
                             "UPDATE api_keys SET last_used_at = $2 WHERE id = $1", 2, params);
}
