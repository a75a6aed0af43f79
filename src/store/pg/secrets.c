/* PostgreSQL: one-time secrets of users, stored as hashes: recovery codes and password resets. */
#include "store/pg/pg_internal.h"

#include <stdio.h>

#include "core/log.h"

enum pb_qs
pb_pg_recovery_codes_replace(struct pb_conn *conn, const char *user_id,
                             const unsigned char (*hashes)[PB_HASH_BYTES], int n)
{
    struct pb_pg_conn *c = pb_pg_conn(conn);
    const char *const del_params[] = {user_id};
    enum pb_qs qs =
        pb_pg_exec_change(c, PB_PG_RECOVERY_DELETE_ALL, "pb_recovery_delete_all",
                          "DELETE FROM recovery_codes WHERE user_id = $1", 1, del_params);
    if (qs < 0)
        return qs;
    if (n <= 0 || hashes == NULL)
        return PB_QS_NONE;
    for (int i = 0; i < n; i++) {
        char hex[PB_PG_HASH_HEX];
        const char *const params[] = {user_id,
                                      pb_pg_hex(hashes[i], PB_HASH_BYTES, hex, sizeof(hex))};
        qs = pb_pg_exec_change(c, PB_PG_RECOVERY_INSERT, "pb_recovery_insert",
                               "INSERT INTO recovery_codes (user_id, code_hash, used_at)"
                               " VALUES ($1, decode($2, 'hex'), NULL)",
                               2, params);
        if (qs < 0)
            return qs;
    }
    return pb_pg_rows(n);
}

enum pb_qs
pb_pg_recovery_code_use(struct pb_conn *conn, const char *user_id,
                        const unsigned char hash[PB_HASH_BYTES], int64_t now)
{
    struct pb_pg_conn *c = pb_pg_conn(conn);
    char hex[PB_PG_HASH_HEX], now_text[24];
    snprintf(now_text, sizeof(now_text), "%lld", (long long)now);
    const char *const params[] = {user_id, pb_pg_hex(hash, PB_HASH_BYTES, hex, sizeof(hex)),
                                  now_text};
    return pb_pg_exec_change(c, PB_PG_RECOVERY_USE, "pb_recovery_use",
                             "UPDATE recovery_codes SET used_at = $3 WHERE user_id = $1"
                             " AND code_hash = decode($2, 'hex') AND used_at IS NULL",
                             3, params);
}

enum pb_qs
pb_pg_recovery_codes_remaining(struct pb_conn *conn, const char *user_id, long *count)
{
    struct pb_pg_conn *c = pb_pg_conn(conn);
    const char *const params[] = {user_id};
    PGresult *res;
    *count = 0;
    enum pb_qs qs =
        pb_pg_exec(c, PB_PG_RECOVERY_REMAINING, "pb_recovery_remaining",
                   "SELECT count(*) FROM recovery_codes WHERE user_id = $1 AND used_at IS NULL", 1,
                   params, &res);
    if (qs < 0)
        return qs;
    *count = (long)pb_pg_int64(res, 0, 0);
    PQclear(res);
    return PB_QS_ONE;
}

enum pb_qs
pb_pg_reset_insert(struct pb_conn *conn, const unsigned char hash[PB_HASH_BYTES],
                   const char *user_id, int64_t expires_at)
{
    struct pb_pg_conn *c = pb_pg_conn(conn);
    char hex[PB_PG_HASH_HEX], expires[24];
    snprintf(expires, sizeof(expires), "%lld", (long long)expires_at);
    const char *const params[] = {pb_pg_hex(hash, PB_HASH_BYTES, hex, sizeof(hex)), user_id,
                                  expires};
    return pb_pg_exec_change(c, PB_PG_RESET_INSERT, "pb_reset_insert",
                             "INSERT INTO password_resets (token_hash, user_id, expires_at,"
                             " used_at) VALUES (decode($1, 'hex'), $2, $3, NULL)",
                             3, params);
}

enum pb_qs
pb_pg_reset_consume(struct pb_conn *conn, const unsigned char hash[PB_HASH_BYTES], int64_t now,
                    char user_id[PB_ID_LEN + 1])
{
    struct pb_pg_conn *c = pb_pg_conn(conn);
    char hex[PB_PG_HASH_HEX], now_text[24];
    user_id[0] = '\0';
    snprintf(now_text, sizeof(now_text), "%lld", (long long)now);
    const char *const params[] = {pb_pg_hex(hash, PB_HASH_BYTES, hex, sizeof(hex)), now_text};
    PGresult *res;
    enum pb_qs qs = pb_pg_exec(c, PB_PG_RESET_CONSUME, "pb_reset_consume",
                               "UPDATE password_resets SET used_at = $2"
                               " WHERE token_hash = decode($1, 'hex') AND used_at IS NULL"
                               " AND expires_at > $2 RETURNING user_id",
                               2, params, &res);
    if (qs < 0)
        return qs;
    if (PQntuples(res) == 0) {
        qs = PB_QS_NONE;
    } else if (!pb_pg_text(res, 0, 0, user_id, PB_ID_LEN + 1)) {
        pb_error("postgres: a reset token's user id does not fit its buffer");
        qs = PB_QS_HARD_ERROR;
    } else {
        qs = PB_QS_ONE;
    }
    PQclear(res);
    return qs;
}
