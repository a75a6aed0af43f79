/* SQLite: users' API keys, found by the hash of their token. */
#include "store/sqlite/sqlite_internal.h"

#include "core/log.h"

enum pb_qs
pb_sqlite_api_key_insert(struct pb_conn *conn, const struct pb_api_key *key)
{
    struct pb_sqlite_conn *c = pb_sqlite_conn(conn);
    sqlite3_stmt *st;
    enum pb_qs qs = pb_sqlite_prepare(
        c, PB_SQ_API_KEY_INSERT,
        "INSERT INTO api_keys (id, user_id, name, token_hash, prefix, created_at, last_used_at)"
        " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        &st);
    if (qs < 0)
        return qs;
    sqlite3_bind_text(st, 1, key->id, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, key->user_id, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 3, key->name, -1, SQLITE_STATIC);
    pb_sqlite_bind_blob(st, 4, key->token_hash, PB_HASH_BYTES);
    sqlite3_bind_text(st, 5, key->prefix, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 6, key->created_at);
    sqlite3_bind_int64(st, 7, key->last_used_at);
    return pb_sqlite_step_change(c, st, "api key insert");
}

/* The columns read_key() expects, in its order. */
#define KEY_COLUMNS "id, user_id, name, token_hash, prefix, created_at, last_used_at"

/* Fills `out` from a row of KEY_COLUMNS. */
static bool
read_key(sqlite3_stmt *st, void *dst)
{
    struct pb_api_key *out = dst;
    size_t len = 0;
    bool ok = pb_sqlite_column_text(st, 0, out->id, sizeof(out->id));
    ok = pb_sqlite_column_text(st, 1, out->user_id, sizeof(out->user_id)) && ok;
    ok = pb_sqlite_column_text(st, 2, out->name, sizeof(out->name)) && ok;
    ok = pb_sqlite_column_blob(st, 3, out->token_hash, sizeof(out->token_hash), &len) &&
         len == PB_HASH_BYTES && ok;
    ok = pb_sqlite_column_text(st, 4, out->prefix, sizeof(out->prefix)) && ok;
    out->created_at = sqlite3_column_int64(st, 5);
    out->last_used_at = sqlite3_column_int64(st, 6);
    if (!ok)
        pb_error("sqlite: an api_keys row does not fit its struct");
    return ok;
}

enum pb_qs
pb_sqlite_api_key_get_by_hash(struct pb_conn *conn, const unsigned char hash[PB_HASH_BYTES],
                              struct pb_api_key *out)
{
    struct pb_sqlite_conn *c = pb_sqlite_conn(conn);
    sqlite3_stmt *st;
    enum pb_qs qs =
        pb_sqlite_prepare(c, PB_SQ_API_KEY_GET_BY_HASH,
                          "SELECT " KEY_COLUMNS " FROM api_keys WHERE token_hash = ?1", &st);
    if (qs < 0)
        return qs;
    pb_sqlite_bind_blob(st, 1, hash, PB_HASH_BYTES);
    return pb_sqlite_get_one(c, st, read_key, out, "api key get by hash");
}

enum pb_qs
pb_sqlite_api_key_list(struct pb_conn *conn, const char *user_id, pb_api_key_cb cb, void *cls)
{
    struct pb_sqlite_conn *c = pb_sqlite_conn(conn);
    sqlite3_stmt *st;
    enum pb_qs qs = pb_sqlite_prepare(
        c, PB_SQ_API_KEY_LIST,
        "SELECT " KEY_COLUMNS " FROM api_keys WHERE user_id = ?1 ORDER BY id", &st);
    if (qs < 0)
        return qs;
    sqlite3_bind_text(st, 1, user_id, -1, SQLITE_STATIC);
    for (int n = 0; pb_sqlite_next(c, st, n, &qs, "api key list"); n++) {
        struct pb_api_key key = {0};
        if (!read_key(st, &key))
            return pb_sqlite_bad_row(st);
        cb(cls, &key);
    }
    return qs;
}

enum pb_qs
pb_sqlite_api_key_delete(struct pb_conn *conn, const char *user_id, const char *id)
{
    struct pb_sqlite_conn *c = pb_sqlite_conn(conn);
    sqlite3_stmt *st;
    enum pb_qs qs = pb_sqlite_prepare(c, PB_SQ_API_KEY_DELETE,
                                      "DELETE FROM api_keys WHERE id = ?1 AND user_id = ?2", &st);
    if (qs < 0)
        return qs;
    sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, user_id, -1, SQLITE_STATIC);
    return pb_sqlite_step_change(c, st, "api key delete");
}

enum pb_qs
pb_sqlite_api_key_touch(struct pb_conn *conn, const char *id, int64_t now)
{
    struct pb_sqlite_conn *c = pb_sqlite_conn(conn);
    sqlite3_stmt *st;
    enum pb_qs qs = pb_sqlite_prepare(c, PB_SQ_API_KEY_TOUCH,
                                      "UPDATE api_keys SET last_used_at = ?2 WHERE id = ?1", &st);
    if (qs < 0)
        return qs;
    sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, now);
    return pb_sqlite_step_change(c, st, "api key touch");
}
