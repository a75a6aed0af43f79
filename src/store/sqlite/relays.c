/*
 * SQLite: what an account sends with and must not send to: its SMTP relay,
 * the DKIM keys of its sending domains, and the suppression list (keyed
 * hashes of addresses that bounced, complained or were erased).
 */
#include "store/sqlite/sqlite_internal.h"

#include <string.h>

#include "core/log.h"

/* ---- the relay ---- */

enum pb_qs
pb_sqlite_relay_put(struct pb_conn *conn, const struct pb_smtp_relay *relay)
{
    struct pb_sqlite_conn *c = pb_sqlite_conn(conn);
    sqlite3_stmt *st;
    if (relay->password_sealed_len > sizeof(relay->password_sealed)) {
        pb_error("sqlite: a relay's sealed password is longer than %zu bytes",
                 sizeof(relay->password_sealed));
        return PB_QS_HARD_ERROR;
    }
    enum pb_qs qs = pb_sqlite_prepare(
        c, PB_SQ_RELAY_PUT,
        "INSERT INTO smtp_relays (account_id, host, port, tls, username, password_sealed,"
        " max_connections, rate_per_second, updated_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)"
        " ON CONFLICT (account_id) DO UPDATE SET host = excluded.host, port = excluded.port,"
        " tls = excluded.tls, username = excluded.username,"
        " password_sealed = excluded.password_sealed, max_connections = excluded.max_connections,"
        " rate_per_second = excluded.rate_per_second, updated_at = excluded.updated_at",
        &st);
    if (qs < 0)
        return qs;
    sqlite3_bind_text(st, 1, relay->account_id, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, relay->host, -1, SQLITE_STATIC);
    sqlite3_bind_int(st, 3, relay->port);
    sqlite3_bind_text(st, 4, relay->tls, -1, SQLITE_STATIC);
    pb_sqlite_bind_opt_text(st, 5, relay->username);
    pb_sqlite_bind_blob(st, 6, relay->password_sealed, relay->password_sealed_len);
    sqlite3_bind_int(st, 7, relay->max_connections);
    sqlite3_bind_int(st, 8, relay->rate_per_second);
    sqlite3_bind_int64(st, 9, relay->updated_at);
    return pb_sqlite_step_change(c, st, "relay put");
}

/* Fills a struct pb_smtp_relay from a row of smtp_relays (the columns of relay_get). */
static bool
read_relay(sqlite3_stmt *st, void *dst)
{
    struct pb_smtp_relay *out = dst;
    memset(out, 0, sizeof(*out));
    bool ok = pb_sqlite_column_text(st, 0, out->account_id, sizeof(out->account_id));
    ok = pb_sqlite_column_text(st, 1, out->host, sizeof(out->host)) && ok;
    out->port = sqlite3_column_int(st, 2);
    ok = pb_sqlite_column_text(st, 3, out->tls, sizeof(out->tls)) && ok;
    ok = pb_sqlite_column_opt_text(st, 4, out->username, sizeof(out->username)) && ok;
    ok = pb_sqlite_column_blob(st, 5, out->password_sealed, sizeof(out->password_sealed),
                               &out->password_sealed_len) &&
         ok;
    out->max_connections = sqlite3_column_int(st, 6);
    out->rate_per_second = sqlite3_column_int(st, 7);
    out->updated_at = sqlite3_column_int64(st, 8);
    if (!ok)
        pb_error("sqlite: an smtp_relays row does not fit its struct");
    return ok;
}

enum pb_qs
pb_sqlite_relay_get(struct pb_conn *conn, const char *account_id, struct pb_smtp_relay *out)
{
    struct pb_sqlite_conn *c = pb_sqlite_conn(conn);
    sqlite3_stmt *st;
    enum pb_qs qs = pb_sqlite_prepare(
        c, PB_SQ_RELAY_GET,
        "SELECT account_id, host, port, tls, username, password_sealed, max_connections,"
        " rate_per_second, updated_at FROM smtp_relays WHERE account_id = ?1",
        &st);
    if (qs < 0)
        return qs;
    sqlite3_bind_text(st, 1, account_id, -1, SQLITE_STATIC);
    return pb_sqlite_get_one(c, st, read_relay, out, "relay get");
}

/* ---- DKIM keys ---- */

enum pb_qs
pb_sqlite_dkim_put(struct pb_conn *conn, const struct pb_dkim_row *key)
{
    struct pb_sqlite_conn *c = pb_sqlite_conn(conn);
    sqlite3_stmt *st;
    if (key->private_sealed_len == 0 || key->private_sealed_len > sizeof(key->private_sealed)) {
        pb_error("sqlite: a sealed DKIM key of %zu bytes (1 to %zu)", key->private_sealed_len,
                 sizeof(key->private_sealed));
        return PB_QS_HARD_ERROR;
    }
    enum pb_qs qs = pb_sqlite_prepare(
        c, PB_SQ_DKIM_PUT,
        "INSERT INTO dkim_keys (account_id, domain, selector, algorithm, private_sealed,"
        " public_key, created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)"
        " ON CONFLICT (account_id, domain, selector) DO UPDATE SET algorithm = excluded.algorithm,"
        " private_sealed = excluded.private_sealed, public_key = excluded.public_key,"
        " created_at = excluded.created_at",
        &st);
    if (qs < 0)
        return qs;
    sqlite3_bind_text(st, 1, key->account_id, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, key->domain, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 3, key->selector, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 4, key->algorithm, -1, SQLITE_STATIC);
    pb_sqlite_bind_blob(st, 5, key->private_sealed, key->private_sealed_len);
    sqlite3_bind_text(st, 6, key->public_key, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 7, key->created_at);
    return pb_sqlite_step_change(c, st, "dkim put");
}

/* Fills `out` from a row of dkim_keys (the columns of dkim_list). */
static bool
read_dkim(sqlite3_stmt *st, struct pb_dkim_row *out)
{
    memset(out, 0, sizeof(*out));
    bool ok = pb_sqlite_column_text(st, 0, out->account_id, sizeof(out->account_id));
    ok = pb_sqlite_column_text(st, 1, out->domain, sizeof(out->domain)) && ok;
    ok = pb_sqlite_column_text(st, 2, out->selector, sizeof(out->selector)) && ok;
    ok = pb_sqlite_column_text(st, 3, out->algorithm, sizeof(out->algorithm)) && ok;
    ok = pb_sqlite_column_blob(st, 4, out->private_sealed, sizeof(out->private_sealed),
                               &out->private_sealed_len) &&
         ok;
    ok = pb_sqlite_column_text(st, 5, out->public_key, sizeof(out->public_key)) && ok;
    out->created_at = sqlite3_column_int64(st, 6);
    if (!ok)
        pb_error("sqlite: a dkim_keys row does not fit its struct");
    return ok;
}

enum pb_qs
pb_sqlite_dkim_list(struct pb_conn *conn, const char *account_id, pb_dkim_cb cb, void *cls)
{
    struct pb_sqlite_conn *c = pb_sqlite_conn(conn);
    sqlite3_stmt *st;
    enum pb_qs qs =
        pb_sqlite_prepare(c, PB_SQ_DKIM_LIST,
                          "SELECT account_id, domain, selector, algorithm, private_sealed,"
                          " public_key, created_at FROM dkim_keys WHERE account_id = ?1"
                          " ORDER BY domain, selector",
                          &st);
    if (qs < 0)
        return qs;
    sqlite3_bind_text(st, 1, account_id, -1, SQLITE_STATIC);
    for (int n = 0; pb_sqlite_next(c, st, n, &qs, "dkim list"); n++) {
        struct pb_dkim_row key;
        if (!read_dkim(st, &key))
            return pb_sqlite_bad_row(st);
        cb(cls, &key);
    }
    return qs;
}

enum pb_qs
pb_sqlite_dkim_delete(struct pb_conn *conn, const char *account_id, const char *domain,
                      const char *selector)
{
    struct pb_sqlite_conn *c = pb_sqlite_conn(conn);
    sqlite3_stmt *st;
    enum pb_qs qs = pb_sqlite_prepare(
        c, PB_SQ_DKIM_DELETE,
        "DELETE FROM dkim_keys WHERE account_id = ?1 AND domain = ?2 AND selector = ?3", &st);
    if (qs < 0)
        return qs;
    sqlite3_bind_text(st, 1, account_id, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, domain, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 3, selector, -1, SQLITE_STATIC);
    return pb_sqlite_step_change(c, st, "dkim delete");
}

/* ---- suppression ---- */

enum pb_qs
pb_sqlite_suppression_put(struct pb_conn *conn, const char *account_id,
                          const unsigned char hash[PB_HASH_BYTES], const char *reason, int64_t at)
{
    struct pb_sqlite_conn *c = pb_sqlite_conn(conn);
    sqlite3_stmt *st;
    /* The first reason stays: a later bounce does not rewrite why an address was erased. */
    enum pb_qs qs = pb_sqlite_prepare(
        c, PB_SQ_SUPPRESSION_PUT,
        "INSERT INTO suppressions (account_id, hash, reason, created_at) VALUES (?1, ?2, ?3, ?4)"
        " ON CONFLICT (account_id, hash) DO NOTHING",
        &st);
    if (qs < 0)
        return qs;
    sqlite3_bind_text(st, 1, account_id, -1, SQLITE_STATIC);
    sqlite3_bind_blob(st, 2, hash, PB_HASH_BYTES, SQLITE_STATIC);
    sqlite3_bind_text(st, 3, reason, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 4, at);
    return pb_sqlite_step_change(c, st, "suppression put");
}

enum pb_qs
pb_sqlite_suppression_exists(struct pb_conn *conn, const char *account_id,
                             const unsigned char hash[PB_HASH_BYTES])
{
    struct pb_sqlite_conn *c = pb_sqlite_conn(conn);
    sqlite3_stmt *st;
    enum pb_qs qs =
        pb_sqlite_prepare(c, PB_SQ_SUPPRESSION_EXISTS,
                          "SELECT 1 FROM suppressions WHERE account_id = ?1 AND hash = ?2", &st);
    if (qs < 0)
        return qs;
    sqlite3_bind_text(st, 1, account_id, -1, SQLITE_STATIC);
    sqlite3_bind_blob(st, 2, hash, PB_HASH_BYTES, SQLITE_STATIC);
    return pb_sqlite_exists(c, st, "suppression exists");
}
