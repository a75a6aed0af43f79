/* PostgreSQL: evidence files (screenshots of sign-up forms), sealed and deduplicated by SHA-256. */
#include "store/pg/pg_internal.h"

#include <stdio.h>
#include <stdlib.h>

#include "core/log.h"

#define SHA_HEX (2 * PB_SHA256_BYTES + 1)

enum pb_qs
pb_pg_evidence_insert(struct pb_conn *conn, const struct pb_evidence *evidence,
                      const unsigned char *sealed, size_t sealed_len)
{
    struct pb_pg_conn *c = pb_pg_conn(conn);
    char sha[SHA_HEX], size[24], created[24];
    char *hex = malloc(2 * sealed_len + 1);
    if (hex == NULL) {
        pb_error("postgres: out of memory storing evidence of %zu bytes", sealed_len);
        return PB_QS_HARD_ERROR;
    }
    hex[0] = '\0'; /* an empty file is an empty bytea, never NULL */
    pb_pg_hex(sealed, sealed_len, hex, 2 * sealed_len + 1);
    snprintf(size, sizeof(size), "%lld", (long long)evidence->size);
    snprintf(created, sizeof(created), "%lld", (long long)evidence->created_at);
    const char *const params[] = {
        evidence->id,
        evidence->account_id,
        pb_pg_hex(evidence->sha256, PB_SHA256_BYTES, sha, sizeof(sha)),
        evidence->type,
        size,
        hex,
        created,
    };
    enum pb_qs qs = pb_pg_exec_change(
        c, PB_PG_EVIDENCE_INSERT, "pb_evidence_insert",
        "INSERT INTO evidence (id, account_id, sha256, type, size, sealed, created_at)"
        " VALUES ($1, $2, decode($3, 'hex'), $4, $5, decode($6, 'hex'), $7)"
        " ON CONFLICT (account_id, sha256) DO NOTHING",
        7, params);
    free(hex);
    return qs;
}

#define EVIDENCE_COLUMNS "id, account_id, encode(sha256, 'hex'), type, size, created_at"

static bool
read_evidence(const PGresult *res, int row, void *dst)
{
    struct pb_evidence *out = dst;
    size_t sha_len = 0;
    bool ok = pb_pg_text(res, row, 0, out->id, sizeof(out->id));
    ok = pb_pg_text(res, row, 1, out->account_id, sizeof(out->account_id)) && ok;
    ok = pb_pg_bytes(res, row, 2, out->sha256, sizeof(out->sha256), &sha_len) &&
         sha_len == PB_SHA256_BYTES && ok;
    ok = pb_pg_text(res, row, 3, out->type, sizeof(out->type)) && ok;
    out->size = pb_pg_int64(res, row, 4);
    out->created_at = pb_pg_int64(res, row, 5);
    if (!ok)
        pb_error("postgres: an evidence row does not fit its struct");
    return ok;
}

enum pb_qs
pb_pg_evidence_get(struct pb_conn *conn, const char *account_id, const char *id,
                   struct pb_evidence *out, unsigned char **sealed, size_t *sealed_len)
{
    struct pb_pg_conn *c = pb_pg_conn(conn);
    const char *const params[] = {account_id, id};
    PGresult *res;
    if (sealed != NULL) {
        *sealed = NULL;
        *sealed_len = 0;
    }
    enum pb_qs qs = pb_pg_exec(c, PB_PG_EVIDENCE_GET, "pb_evidence_get",
                               "SELECT " EVIDENCE_COLUMNS ", encode(sealed, 'hex') FROM evidence"
                               " WHERE account_id = $1 AND id = $2",
                               2, params, &res);
    if (qs < 0)
        return qs;
    if (PQntuples(res) == 0) {
        qs = PB_QS_NONE;
    } else if (!read_evidence(res, 0, out)) {
        qs = PB_QS_HARD_ERROR;
    } else if (sealed != NULL) {
        size_t cap = (size_t)PQgetlength(res, 0, 6) / 2;
        if ((*sealed = malloc(cap ? cap : 1)) == NULL) {
            pb_error("postgres: out of memory reading evidence of %zu bytes", cap);
            qs = PB_QS_HARD_ERROR;
        } else if (!pb_pg_bytes(res, 0, 6, *sealed, cap, sealed_len)) {
            pb_error("postgres: an evidence row has a malformed file");
            free(*sealed);
            *sealed = NULL;
            *sealed_len = 0;
            qs = PB_QS_HARD_ERROR;
        } else {
            qs = PB_QS_ONE;
        }
    } else {
        qs = PB_QS_ONE;
    }
    PQclear(res);
    return qs;
}

enum pb_qs
pb_pg_evidence_get_by_sha(struct pb_conn *conn, const char *account_id,
                          const unsigned char sha256[PB_SHA256_BYTES], struct pb_evidence *out)
{
    struct pb_pg_conn *c = pb_pg_conn(conn);
    char sha[SHA_HEX];
    const char *const params[] = {account_id, pb_pg_hex(sha256, PB_SHA256_BYTES, sha, sizeof(sha))};
    PGresult *res;
    enum pb_qs qs = pb_pg_exec(c, PB_PG_EVIDENCE_GET_BY_SHA, "pb_evidence_get_by_sha",
                               "SELECT " EVIDENCE_COLUMNS " FROM evidence"
                               " WHERE account_id = $1 AND sha256 = decode($2, 'hex')",
                               2, params, &res);
    return qs < 0 ? qs : pb_pg_get_one(res, read_evidence, out);
}
