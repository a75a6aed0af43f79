/*
 * PostgreSQL: the accounts of the control store, with their settings
 * (two-factor requirement, tracking mode, storage limits) and wrapped data keys.
 */
#include "store/pg/pg_internal.h"

#include <stdio.h>

#include "core/log.h"

enum pb_qs
pb_pg_account_insert(struct pb_conn *conn, const struct pb_account *account)
{
    struct pb_pg_conn *c = pb_pg_conn(conn);
    char created[24], key[PB_PG_SEALED_HEX];
    char unlisted[PB_PG_NUM_MAX], unconfirmed[PB_PG_NUM_MAX], checked[PB_PG_NUM_MAX];
    if (account->data_key_len > sizeof(account->data_key)) {
        pb_error("postgres: an account's data key is longer than %zu bytes",
                 sizeof(account->data_key));
        return PB_QS_HARD_ERROR;
    }
    snprintf(created, sizeof(created), "%lld", (long long)account->created_at);
    const char *const params[] = {
        account->id,
        account->name,
        account->plan,
        created,
        pb_pg_hex(account->data_key, account->data_key_len, key, sizeof(key)),
        account->require_2fa ? "true" : "false",
        pb_pg_opt(account->tracking),
        pb_pg_num(unlisted, account->erase_unlisted_days),
        pb_pg_num(unconfirmed, account->erase_unconfirmed_days),
        pb_pg_num(checked, account->storage_checked_at),
    };
    PGresult *res;
    /* No tracking mode given: the column's default ('aggregate'). */
    enum pb_qs qs = pb_pg_exec(
        c, PB_PG_ACCOUNT_INSERT, "pb_account_insert",
        "INSERT INTO accounts (id, name, plan, created_at, data_key, require_2fa, tracking,"
        " erase_unlisted_days, erase_unconfirmed_days, storage_checked_at)"
        " VALUES ($1, $2, $3, $4, decode($5, 'hex'), $6, COALESCE($7, 'aggregate'), $8, $9, $10)",
        10, params, &res);
    if (qs < 0)
        return qs;
    qs = pb_pg_changes(res);
    PQclear(res);
    return qs;
}

/* The columns read_account() expects, in its order. */
#define ACCOUNT_COLUMNS                                                                            \
    "id, name, plan, created_at, encode(data_key, 'hex'), require_2fa, tracking,"                  \
    " erase_unlisted_days, erase_unconfirmed_days, storage_checked_at"

/* Fills `out` from row `row` of ACCOUNT_COLUMNS. */
static bool
read_account(const PGresult *res, int row, void *dst)
{
    struct pb_account *out = dst;
    bool ok = pb_pg_text(res, row, 0, out->id, sizeof(out->id));
    ok = pb_pg_text(res, row, 1, out->name, sizeof(out->name)) && ok;
    ok = pb_pg_text(res, row, 2, out->plan, sizeof(out->plan)) && ok;
    out->created_at = pb_pg_int64(res, row, 3);
    ok = pb_pg_bytes(res, row, 4, out->data_key, sizeof(out->data_key), &out->data_key_len) && ok;
    out->require_2fa = pb_pg_bool(res, row, 5);
    ok = pb_pg_text(res, row, 6, out->tracking, sizeof(out->tracking)) && ok;
    out->erase_unlisted_days = (int)pb_pg_int64(res, row, 7);
    out->erase_unconfirmed_days = (int)pb_pg_int64(res, row, 8);
    out->storage_checked_at = pb_pg_int64(res, row, 9);
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
    enum pb_qs qs =
        pb_pg_exec(c, PB_PG_ACCOUNT_GET, "pb_account_get",
                   "SELECT " ACCOUNT_COLUMNS " FROM accounts WHERE id = $1", 1, params, &res);
    return qs < 0 ? qs : pb_pg_get_one(res, read_account, out);
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
                               "SELECT " ACCOUNT_COLUMNS " FROM accounts"
                               " WHERE id > $1 ORDER BY id LIMIT $2",
                               2, params, &res);
    if (qs < 0)
        return qs;
    int n = PQntuples(res);
    for (int i = 0; i < n; i++) {
        struct pb_account account = {0};
        if (!read_account(res, i, &account))
            return pb_pg_bad_row(res);
        cb(cls, &account);
    }
    PQclear(res);
    return pb_pg_rows(n);
}

enum pb_qs
pb_pg_account_set_require_2fa(struct pb_conn *conn, const char *id, bool on)
{
    struct pb_pg_conn *c = pb_pg_conn(conn);
    const char *const params[] = {id, on ? "true" : "false"};
    PGresult *res;
    enum pb_qs qs =
        pb_pg_exec(c, PB_PG_ACCOUNT_SET_REQUIRE_2FA, "pb_account_set_require_2fa",
                   "UPDATE accounts SET require_2fa = $2 WHERE id = $1", 2, params, &res);
    if (qs < 0)
        return qs;
    qs = pb_pg_changes(res);
    PQclear(res);
    return qs;
}

enum pb_qs
pb_pg_account_set_data_key(struct pb_conn *conn, const char *id, const unsigned char *wrapped,
                           size_t len)
{
    struct pb_pg_conn *c = pb_pg_conn(conn);
    char key[PB_PG_SEALED_HEX];
    if (wrapped == NULL || len == 0 || len > PB_SEALED_MAX) {
        pb_error("postgres: an account's data key must be 1 to %d bytes, not %zu", PB_SEALED_MAX,
                 len);
        return PB_QS_HARD_ERROR;
    }
    const char *const params[] = {id, pb_pg_hex(wrapped, len, key, sizeof(key))};
    PGresult *res;
    enum pb_qs qs = pb_pg_exec(
        c, PB_PG_ACCOUNT_SET_DATA_KEY, "pb_account_set_data_key",
        "UPDATE accounts SET data_key = decode($2, 'hex') WHERE id = $1 AND data_key IS NULL", 2,
        params, &res);
    if (qs < 0)
        return qs;
    qs = pb_pg_changes(res);
    PQclear(res);
    return qs;
}

enum pb_qs
pb_pg_account_set_tracking(struct pb_conn *conn, const char *id, const char *tracking)
{
    struct pb_pg_conn *c = pb_pg_conn(conn);
    const char *const params[] = {id, tracking};
    /* A mode outside the three breaks the column's CHECK: a hard error. */
    return pb_pg_exec_change(c, PB_PG_ACCOUNT_SET_TRACKING, "pb_account_set_tracking",
                             "UPDATE accounts SET tracking = $2 WHERE id = $1", 2, params);
}

enum pb_qs
pb_pg_account_set_storage_limits(struct pb_conn *conn, const char *id, int unlisted_days,
                                 int unconfirmed_days)
{
    struct pb_pg_conn *c = pb_pg_conn(conn);
    char unlisted[PB_PG_NUM_MAX], unconfirmed[PB_PG_NUM_MAX];
    const char *const params[] = {id, pb_pg_num(unlisted, unlisted_days),
                                  pb_pg_num(unconfirmed, unconfirmed_days)};
    /* Negative days break the columns' CHECK: a hard error. */
    return pb_pg_exec_change(c, PB_PG_ACCOUNT_SET_STORAGE_LIMITS, "pb_account_set_storage_limits",
                             "UPDATE accounts SET erase_unlisted_days = $2,"
                             " erase_unconfirmed_days = $3 WHERE id = $1",
                             3, params);
}

enum pb_qs
pb_pg_account_claim_storage_sweep(struct pb_conn *conn, const char *id, int64_t now,
                                  int64_t due_before)
{
    struct pb_pg_conn *c = pb_pg_conn(conn);
    char now_text[PB_PG_NUM_MAX], due[PB_PG_NUM_MAX];
    const char *const params[] = {id, pb_pg_num(now_text, now), pb_pg_num(due, due_before)};
    /*
     * One conditional UPDATE: of the nodes racing for the sweep, one changes
     * the row; the others wait for its row lock, then see the new time
     * (READ COMMITTED) or fail to serialize and retry (SERIALIZABLE).
     */
    return pb_pg_exec_change(c, PB_PG_ACCOUNT_CLAIM_STORAGE_SWEEP, "pb_account_claim_storage_sweep",
                             "UPDATE accounts SET storage_checked_at = $2"
                             " WHERE id = $1 AND storage_checked_at <= $3",
                             3, params);
}
