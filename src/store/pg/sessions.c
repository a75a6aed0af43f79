/* PostgreSQL: login sessions, found by the hash of their token. */
#include "store/pg/pg_internal.h"

#include <stdio.h>

#include "core/log.h"

enum pb_qs
pb_pg_session_insert(struct pb_conn *conn, const struct pb_session *session)
{
    struct pb_pg_conn *c = pb_pg_conn(conn);
    char hash[PB_PG_HASH_HEX], created[24], seen[24];
    snprintf(created, sizeof(created), "%lld", (long long)session->created_at);
    snprintf(seen, sizeof(seen), "%lld", (long long)session->last_seen_at);
    const char *const params[] = {
        pb_pg_hex(session->token_hash, PB_HASH_BYTES, hash, sizeof(hash)),
        session->user_id,
        session->mfa_pending ? "true" : "false",
        created,
        seen,
    };
    return pb_pg_exec_change(
        c, PB_PG_SESSION_INSERT, "pb_session_insert",
        "INSERT INTO sessions (token_hash, user_id, mfa_pending, created_at, last_seen_at)"
        " VALUES (decode($1, 'hex'), $2, $3, $4, $5)",
        5, params);
}

enum pb_qs
pb_pg_session_get(struct pb_conn *conn, const unsigned char hash[PB_HASH_BYTES],
                  struct pb_session *out)
{
    struct pb_pg_conn *c = pb_pg_conn(conn);
    char hex[PB_PG_HASH_HEX];
    const char *const params[] = {pb_pg_hex(hash, PB_HASH_BYTES, hex, sizeof(hex))};
    PGresult *res;
    enum pb_qs qs = pb_pg_exec(c, PB_PG_SESSION_GET, "pb_session_get",
                               "SELECT encode(token_hash, 'hex'), user_id, mfa_pending,"
                               " created_at, last_seen_at FROM sessions"
                               " WHERE token_hash = decode($1, 'hex')",
                               1, params, &res);
    if (qs < 0)
        return qs;
    if (PQntuples(res) == 0) {
        qs = PB_QS_NONE;
    } else {
        size_t len = 0;
        bool ok = pb_pg_bytes(res, 0, 0, out->token_hash, sizeof(out->token_hash), &len) &&
                  len == PB_HASH_BYTES;
        ok = pb_pg_text(res, 0, 1, out->user_id, sizeof(out->user_id)) && ok;
        out->mfa_pending = pb_pg_bool(res, 0, 2);
        out->created_at = pb_pg_int64(res, 0, 3);
        out->last_seen_at = pb_pg_int64(res, 0, 4);
        qs = PB_QS_ONE;
        if (!ok) {
            pb_error("postgres: a sessions row does not fit its struct");
            qs = PB_QS_HARD_ERROR;
        }
    }
    PQclear(res);
    return qs;
}

enum pb_qs
pb_pg_session_touch(struct pb_conn *conn, const unsigned char hash[PB_HASH_BYTES], int64_t now)
{
    struct pb_pg_conn *c = pb_pg_conn(conn);
    char hex[PB_PG_HASH_HEX], now_text[24];
    snprintf(now_text, sizeof(now_text), "%lld", (long long)now);
    const char *const params[] = {pb_pg_hex(hash, PB_HASH_BYTES, hex, sizeof(hex)), now_text};
    return pb_pg_exec_change(
        c, PB_PG_SESSION_TOUCH, "pb_session_touch",
        "UPDATE sessions SET last_seen_at = $2 WHERE token_hash = decode($1, 'hex')", 2, params);
}

enum pb_qs
pb_pg_session_delete(struct pb_conn *conn, const unsigned char hash[PB_HASH_BYTES])
{
    struct pb_pg_conn *c = pb_pg_conn(conn);
    char hex[PB_PG_HASH_HEX];
    const char *const params[] = {pb_pg_hex(hash, PB_HASH_BYTES, hex, sizeof(hex))};
    return pb_pg_exec_change(c, PB_PG_SESSION_DELETE, "pb_session_delete",
                             "DELETE FROM sessions WHERE token_hash = decode($1, 'hex')", 1,
                             params);
}

enum pb_qs
pb_pg_session_delete_for_user(struct pb_conn *conn, const char *user_id)
{
    struct pb_pg_conn *c = pb_pg_conn(conn);
    const char *const params[] = {user_id};
    return pb_pg_exec_change(c, PB_PG_SESSION_DELETE_FOR_USER, "pb_session_delete_for_user",
                             "DELETE FROM sessions WHERE user_id = $1", 1, params);
}
