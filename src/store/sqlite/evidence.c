/* SQLite: evidence files (screenshots of sign-up forms), sealed and deduplicated by SHA-256. */
#include "store/sqlite/sqlite_internal.h"

#include <stdlib.h>
#include <string.h>

#include "core/log.h"

enum pb_qs
pb_sqlite_evidence_insert(struct pb_conn *conn, const struct pb_evidence *evidence,
                          const unsigned char *sealed, size_t sealed_len)
{
    struct pb_sqlite_conn *c = pb_sqlite_conn(conn);
    sqlite3_stmt *st;
    enum pb_qs qs = pb_sqlite_prepare(
        c, PB_SQ_EVIDENCE_INSERT,
        "INSERT INTO evidence (id, account_id, sha256, type, size, sealed, created_at)"
        " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7) ON CONFLICT (account_id, sha256) DO NOTHING",
        &st);
    if (qs < 0)
        return qs;
    sqlite3_bind_text(st, 1, evidence->id, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, evidence->account_id, -1, SQLITE_STATIC);
    sqlite3_bind_blob(st, 3, evidence->sha256, PB_SHA256_BYTES, SQLITE_STATIC);
    sqlite3_bind_text(st, 4, evidence->type, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 5, evidence->size);
    /* Never NULL: an empty file is still a (zero-length) blob. */
    sqlite3_bind_blob64(st, 6, sealed ? (const void *)sealed : "", (sqlite3_uint64)sealed_len,
                        SQLITE_STATIC);
    sqlite3_bind_int64(st, 7, evidence->created_at);
    return pb_sqlite_step_change(c, st, "evidence insert");
}

#define EVIDENCE_COLUMNS "id, account_id, sha256, type, size, created_at"

static bool
read_evidence(sqlite3_stmt *st, void *dst)
{
    struct pb_evidence *out = dst;
    size_t sha_len = 0;
    bool ok = pb_sqlite_column_text(st, 0, out->id, sizeof(out->id));
    ok = pb_sqlite_column_text(st, 1, out->account_id, sizeof(out->account_id)) && ok;
    ok = pb_sqlite_column_blob(st, 2, out->sha256, sizeof(out->sha256), &sha_len) &&
         sha_len == PB_SHA256_BYTES && ok;
    ok = pb_sqlite_column_text(st, 3, out->type, sizeof(out->type)) && ok;
    out->size = sqlite3_column_int64(st, 4);
    out->created_at = sqlite3_column_int64(st, 5);
    if (!ok)
        pb_error("sqlite: an evidence row does not fit its struct");
    return ok;
}

enum pb_qs
pb_sqlite_evidence_get(struct pb_conn *conn, const char *account_id, const char *id,
                       struct pb_evidence *out, unsigned char **sealed, size_t *sealed_len)
{
    struct pb_sqlite_conn *c = pb_sqlite_conn(conn);
    sqlite3_stmt *st;
    if (sealed != NULL) {
        *sealed = NULL;
        *sealed_len = 0;
    }
    enum pb_qs qs = pb_sqlite_prepare(c, PB_SQ_EVIDENCE_GET,
                                      "SELECT " EVIDENCE_COLUMNS ", sealed FROM evidence"
                                      " WHERE account_id = ?1 AND id = ?2",
                                      &st);
    if (qs < 0)
        return qs;
    sqlite3_bind_text(st, 1, account_id, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, id, -1, SQLITE_STATIC);
    int rc = sqlite3_step(st);
    if (rc == SQLITE_DONE) {
        qs = PB_QS_NONE;
    } else if (rc != SQLITE_ROW) {
        qs = pb_sqlite_fail(c, rc, "evidence get");
    } else if (!read_evidence(st, out)) {
        qs = PB_QS_HARD_ERROR;
    } else if (sealed != NULL) {
        const void *blob = sqlite3_column_blob(st, 6);
        size_t len = (size_t)sqlite3_column_bytes(st, 6);
        if ((*sealed = malloc(len ? len : 1)) == NULL) {
            pb_error("sqlite: out of memory reading evidence of %zu bytes", len);
            qs = PB_QS_HARD_ERROR;
        } else {
            if (len > 0)
                memcpy(*sealed, blob, len);
            *sealed_len = len;
            qs = PB_QS_ONE;
        }
    } else {
        qs = PB_QS_ONE;
    }
    pb_sqlite_done(st);
    return qs;
}

enum pb_qs
pb_sqlite_evidence_get_by_sha(struct pb_conn *conn, const char *account_id,
                              const unsigned char sha256[PB_SHA256_BYTES], struct pb_evidence *out)
{
    struct pb_sqlite_conn *c = pb_sqlite_conn(conn);
    sqlite3_stmt *st;
    enum pb_qs qs = pb_sqlite_prepare(c, PB_SQ_EVIDENCE_GET_BY_SHA,
                                      "SELECT " EVIDENCE_COLUMNS " FROM evidence"
                                      " WHERE account_id = ?1 AND sha256 = ?2",
                                      &st);
    if (qs < 0)
        return qs;
    sqlite3_bind_text(st, 1, account_id, -1, SQLITE_STATIC);
    sqlite3_bind_blob(st, 2, sha256, PB_SHA256_BYTES, SQLITE_STATIC);
    return pb_sqlite_get_one(c, st, read_evidence, out, "evidence get by sha");
}
