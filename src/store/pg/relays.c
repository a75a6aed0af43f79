/*
 * PostgreSQL: what an account sends with and must not send to: its SMTP
 * relay, the DKIM keys of its sending domains, and suppression (keyed hashes
 * of addresses never to mail, and the mark on a suppressed contact).
 */
#include "store/pg/pg_internal.h"

#include <stdlib.h>
#include <string.h>

#include "core/log.h"

/* ---- the relay ---- */

enum pb_qs
pb_pg_relay_put(struct pb_conn *conn, const struct pb_smtp_relay *relay)
{
    struct pb_pg_conn *c = pb_pg_conn(conn);
    char port[PB_PG_NUM_MAX], max_conn[PB_PG_NUM_MAX], rate[PB_PG_NUM_MAX], updated[PB_PG_NUM_MAX];
    if (relay->password_sealed_len > sizeof(relay->password_sealed)) {
        pb_error("postgres: a relay's sealed password is longer than %zu bytes",
                 sizeof(relay->password_sealed));
        return PB_QS_HARD_ERROR;
    }
    struct pb_pg_params p;
    pb_pg_params_init(&p, 0);
    pb_pg_param_text(&p, relay->account_id);
    pb_pg_param_text(&p, relay->host);
    pb_pg_param_text(&p, pb_pg_num(port, relay->port));
    pb_pg_param_text(&p, relay->tls);
    pb_pg_param_text(&p, pb_pg_opt(relay->username));
    /* No password: SQL NULL (a NULL value, whatever its format). */
    pb_pg_param_blob(&p, relay->password_sealed_len > 0 ? relay->password_sealed : NULL,
                     relay->password_sealed_len);
    pb_pg_param_text(&p, pb_pg_num(max_conn, relay->max_connections));
    pb_pg_param_text(&p, pb_pg_num(rate, relay->rate_per_second));
    pb_pg_param_text(&p, pb_pg_num(updated, relay->updated_at));
    return pb_pg_params_exec_change(
        c, PB_PG_RELAY_PUT, "pb_relay_put",
        "INSERT INTO smtp_relays (account_id, host, port, tls, username, password_sealed,"
        " max_connections, rate_per_second, updated_at)"
        " VALUES ($1, $2, $3::integer, $4, $5, $6::bytea, $7::integer, $8::integer, $9::bigint)"
        " ON CONFLICT (account_id) DO UPDATE SET host = excluded.host, port = excluded.port,"
        " tls = excluded.tls, username = excluded.username,"
        " password_sealed = excluded.password_sealed,"
        " max_connections = excluded.max_connections,"
        " rate_per_second = excluded.rate_per_second, updated_at = excluded.updated_at",
        &p);
}

/* Fills a struct pb_smtp_relay from row `row` of the columns relay_get selects. */
static bool
read_relay(const PGresult *res, int row, void *dst)
{
    struct pb_smtp_relay *out = dst;
    memset(out, 0, sizeof(*out));
    bool ok = pb_pg_text(res, row, 0, out->account_id, sizeof(out->account_id));
    ok = pb_pg_text(res, row, 1, out->host, sizeof(out->host)) && ok;
    out->port = (int)pb_pg_int64(res, row, 2);
    ok = pb_pg_text(res, row, 3, out->tls, sizeof(out->tls)) && ok;
    ok = pb_pg_opt_text(res, row, 4, out->username, sizeof(out->username)) && ok;
    ok = pb_pg_bytes(res, row, 5, out->password_sealed, sizeof(out->password_sealed),
                     &out->password_sealed_len) &&
         ok;
    out->max_connections = (int)pb_pg_int64(res, row, 6);
    out->rate_per_second = (int)pb_pg_int64(res, row, 7);
    out->updated_at = pb_pg_int64(res, row, 8);
    if (!ok)
        pb_error("postgres: an smtp_relays row does not fit its struct");
    return ok;
}

enum pb_qs
pb_pg_relay_get(struct pb_conn *conn, const char *account_id, struct pb_smtp_relay *out)
{
    struct pb_pg_conn *c = pb_pg_conn(conn);
    const char *const params[] = {account_id};
    PGresult *res;
    enum pb_qs qs = pb_pg_exec(c, PB_PG_RELAY_GET, "pb_relay_get",
                               "SELECT account_id, host, port, tls, username,"
                               " encode(password_sealed, 'hex'), max_connections,"
                               " rate_per_second, updated_at FROM smtp_relays"
                               " WHERE account_id = $1",
                               1, params, &res);
    return qs < 0 ? qs : pb_pg_get_one(res, read_relay, out);
}

/* ---- DKIM keys ---- */

enum pb_qs
pb_pg_dkim_put(struct pb_conn *conn, const struct pb_dkim_row *key)
{
    struct pb_pg_conn *c = pb_pg_conn(conn);
    char created[PB_PG_NUM_MAX];
    if (key->private_sealed_len == 0 || key->private_sealed_len > sizeof(key->private_sealed)) {
        pb_error("postgres: a sealed DKIM key must be 1 to %zu bytes, not %zu",
                 sizeof(key->private_sealed), key->private_sealed_len);
        return PB_QS_HARD_ERROR;
    }
    struct pb_pg_params p;
    pb_pg_params_init(&p, 0);
    pb_pg_param_text(&p, key->account_id);
    pb_pg_param_text(&p, key->domain);
    pb_pg_param_text(&p, key->selector);
    pb_pg_param_text(&p, key->algorithm);
    pb_pg_param_blob(&p, key->private_sealed, key->private_sealed_len);
    pb_pg_param_text(&p, key->public_key);
    pb_pg_param_text(&p, pb_pg_num(created, key->created_at));
    return pb_pg_params_exec_change(
        c, PB_PG_DKIM_PUT, "pb_dkim_put",
        "INSERT INTO dkim_keys (account_id, domain, selector, algorithm, private_sealed,"
        " public_key, created_at) VALUES ($1, $2, $3, $4, $5::bytea, $6, $7::bigint)"
        " ON CONFLICT (account_id, domain, selector) DO UPDATE SET"
        " algorithm = excluded.algorithm, private_sealed = excluded.private_sealed,"
        " public_key = excluded.public_key, created_at = excluded.created_at",
        &p);
}

/* Fills `out` from row `row` of the columns dkim_list selects. */
static bool
read_dkim(const PGresult *res, int row, struct pb_dkim_row *out)
{
    memset(out, 0, sizeof(*out));
    bool ok = pb_pg_text(res, row, 0, out->account_id, sizeof(out->account_id));
    ok = pb_pg_text(res, row, 1, out->domain, sizeof(out->domain)) && ok;
    ok = pb_pg_text(res, row, 2, out->selector, sizeof(out->selector)) && ok;
    ok = pb_pg_text(res, row, 3, out->algorithm, sizeof(out->algorithm)) && ok;
    ok = pb_pg_bytes(res, row, 4, out->private_sealed, sizeof(out->private_sealed),
                     &out->private_sealed_len) &&
         ok;
    ok = pb_pg_text(res, row, 5, out->public_key, sizeof(out->public_key)) && ok;
    out->created_at = pb_pg_int64(res, row, 6);
    if (!ok)
        pb_error("postgres: a dkim_keys row does not fit its struct");
    return ok;
}

enum pb_qs
pb_pg_dkim_list(struct pb_conn *conn, const char *account_id, pb_dkim_cb cb, void *cls)
{
    struct pb_pg_conn *c = pb_pg_conn(conn);
    const char *const params[] = {account_id};
    PGresult *res;
    enum pb_qs qs = pb_pg_exec(c, PB_PG_DKIM_LIST, "pb_dkim_list",
                               "SELECT account_id, domain, selector, algorithm,"
                               " encode(private_sealed, 'hex'), public_key, created_at"
                               " FROM dkim_keys WHERE account_id = $1 ORDER BY domain, selector",
                               1, params, &res);
    if (qs < 0)
        return qs;
    int n = PQntuples(res);
    /* A row is over 5 KB: one on the heap, reused. */
    struct pb_dkim_row *key = calloc(1, sizeof(*key));
    if (key == NULL) {
        pb_error("postgres: dkim_list: out of memory");
        PQclear(res);
        return PB_QS_HARD_ERROR;
    }
    qs = pb_pg_rows(n);
    for (int i = 0; i < n; i++) {
        if (!read_dkim(res, i, key)) {
            qs = PB_QS_HARD_ERROR;
            break;
        }
        cb(cls, key);
    }
    free(key);
    PQclear(res);
    return qs;
}

enum pb_qs
pb_pg_dkim_delete(struct pb_conn *conn, const char *account_id, const char *domain,
                  const char *selector)
{
    struct pb_pg_conn *c = pb_pg_conn(conn);
    const char *const params[] = {account_id, domain, selector};
    return pb_pg_exec_change(
        c, PB_PG_DKIM_DELETE, "pb_dkim_delete",
        "DELETE FROM dkim_keys WHERE account_id = $1 AND domain = $2 AND selector = $3", 3, params);
}

/* ---- suppression ---- */

enum pb_qs
pb_pg_suppression_put(struct pb_conn *conn, const char *account_id,
                      const unsigned char hash[PB_HASH_BYTES], const char *reason, int64_t at)
{
    struct pb_pg_conn *c = pb_pg_conn(conn);
    char at_text[PB_PG_NUM_MAX];
    struct pb_pg_params p;
    pb_pg_params_init(&p, 0);
    pb_pg_param_text(&p, account_id);
    pb_pg_param_blob(&p, hash, PB_HASH_BYTES);
    pb_pg_param_text(&p, reason);
    pb_pg_param_text(&p, pb_pg_num(at_text, at));
    /* A hash there already keeps its first reason and time: PB_QS_NONE. */
    return pb_pg_params_exec_change(
        c, PB_PG_SUPPRESSION_PUT, "pb_suppression_put",
        "INSERT INTO suppressions (account_id, hash, reason, created_at)"
        " VALUES ($1, $2::bytea, $3, $4::bigint)"
        " ON CONFLICT (account_id, hash) DO NOTHING",
        &p);
}

enum pb_qs
pb_pg_suppression_exists(struct pb_conn *conn, const char *account_id,
                         const unsigned char hash[PB_HASH_BYTES])
{
    struct pb_pg_conn *c = pb_pg_conn(conn);
    struct pb_pg_params p;
    pb_pg_params_init(&p, 0);
    pb_pg_param_text(&p, account_id);
    pb_pg_param_blob(&p, hash, PB_HASH_BYTES);
    PGresult *res;
    enum pb_qs qs = pb_pg_params_exec(c, PB_PG_SUPPRESSION_EXISTS, "pb_suppression_exists",
                                      "SELECT 1 FROM suppressions"
                                      " WHERE account_id = $1 AND hash = $2::bytea",
                                      &p, 0, &res);
    if (qs < 0)
        return qs;
    qs = pb_pg_rows(PQntuples(res));
    PQclear(res);
    return qs;
}

enum pb_qs
pb_pg_contact_set_suppressed(struct pb_conn *conn, const char *account_id, const char *contact_id,
                             int64_t at)
{
    struct pb_pg_conn *c = pb_pg_conn(conn);
    char at_text[PB_PG_NUM_MAX];
    const char *const params[] = {account_id, contact_id, pb_pg_num(at_text, at)};
    return pb_pg_exec_change(c, PB_PG_CONTACT_SET_SUPPRESSED, "pb_contact_set_suppressed",
                             "UPDATE contacts SET suppressed_at = $3"
                             " WHERE account_id = $1 AND id = $2",
                             3, params);
}
