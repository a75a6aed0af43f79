/*
 * The SQLite backend: opening a connection (with its pragmas and a check
 * that the file is a database), transactions, the statement cache and the
 * ops table that gathers the aggregate files' operations.
 */
#include "store/sqlite/sqlite_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/log.h"
#include "core/strutil.h"

#define BUSY_TIMEOUT_MS 5000

enum pb_qs
pb_sqlite_fail(struct pb_sqlite_conn *c, int rc, const char *what)
{
    int primary = rc & 0xff;
    if (primary == SQLITE_BUSY || primary == SQLITE_LOCKED) {
        pb_debug("sqlite %s: %s: busy (%d)", c->path, what, rc);
        return PB_QS_SOFT_ERROR;
    }
    pb_warn("sqlite %s: %s: %s (%d)", c->path, what, sqlite3_errmsg(c->db), rc);
    return PB_QS_HARD_ERROR;
}

enum pb_qs
pb_sqlite_prepare(struct pb_sqlite_conn *c, enum pb_sq_stmt id, const char *sql, sqlite3_stmt **out)
{
    if (c->stmts[id] == NULL) {
        int rc = sqlite3_prepare_v3(c->db, sql, -1, SQLITE_PREPARE_PERSISTENT, &c->stmts[id], NULL);
        if (rc != SQLITE_OK) {
            c->stmts[id] = NULL;
            return pb_sqlite_fail(c, rc, "prepare");
        }
    }
    *out = c->stmts[id];
    return PB_QS_ONE;
}

void
pb_sqlite_done(sqlite3_stmt *st)
{
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
}

enum pb_qs
pb_sqlite_step_change(struct pb_sqlite_conn *c, sqlite3_stmt *st, const char *what)
{
    int rc = sqlite3_step(st);
    enum pb_qs qs;
    if (rc == SQLITE_DONE || rc == SQLITE_ROW) {
        int n = sqlite3_changes(c->db);
        qs = n == 0 ? PB_QS_NONE : n == 1 ? PB_QS_ONE : PB_QS_N;
    } else {
        qs = pb_sqlite_fail(c, rc, what);
    }
    pb_sqlite_done(st);
    return qs;
}

bool
pb_sqlite_column_text(sqlite3_stmt *st, int col, char *dst, size_t size)
{
    const char *s = (const char *)sqlite3_column_text(st, col);
    if (s == NULL) {
        dst[0] = '\0';
        return false;
    }
    return pb_strlcpy(dst, s, size);
}

bool
pb_sqlite_column_blob(sqlite3_stmt *st, int col, unsigned char *dst, size_t cap, size_t *len)
{
    *len = 0;
    if (sqlite3_column_type(st, col) == SQLITE_NULL)
        return true;
    const void *p = sqlite3_column_blob(st, col);
    size_t n = (size_t)sqlite3_column_bytes(st, col);
    if (n > cap)
        return false;
    if (n > 0)
        memcpy(dst, p, n);
    *len = n;
    return true;
}

void
pb_sqlite_bind_blob(sqlite3_stmt *st, int i, const unsigned char *src, size_t len)
{
    if (src == NULL || len == 0)
        sqlite3_bind_null(st, i);
    else
        sqlite3_bind_blob64(st, i, src, (sqlite3_uint64)len, SQLITE_STATIC);
}

/* The file named by "sqlite:PATH" (or "sqlite://PATH"); NULL when empty. */
static const char *
url_path(const char *url)
{
    if (!pb_str_starts_with(url, "sqlite:"))
        return NULL;
    const char *path = url + strlen("sqlite:");
    if (pb_str_starts_with(path, "//"))
        path += 2;
    return *path ? path : NULL;
}

static void
sqlite_disconnect(struct pb_conn *conn)
{
    struct pb_sqlite_conn *c = pb_sqlite_conn(conn);
    if (c == NULL)
        return;
    for (int i = 0; i < PB_SQ_COUNT; i++)
        sqlite3_finalize(c->stmts[i]);
    sqlite3_close_v2(c->db);
    free(c);
}

static enum pb_err
sqlite_connect(const char *url, struct pb_conn **out, char why[PB_WHY_MAX])
{
    enum pb_err err = PB_ERR_OK;
    sqlite3_stmt *st = NULL;
    struct pb_sqlite_conn *c = NULL;
    const char *path = url_path(url);

    *out = NULL;
    if (path == NULL) {
        snprintf(why, PB_WHY_MAX, "store URL \"%.60s\" names no file; use sqlite:PATH", url);
        return PB_ERR_STORE_URL;
    }
    if ((c = calloc(1, sizeof(*c))) == NULL) {
        snprintf(why, PB_WHY_MAX, "out of memory opening %s", path);
        return PB_ERR_NOMEM;
    }
    pb_strlcpy(c->path, path, sizeof(c->path));

    int rc = sqlite3_open_v2(
        path, &c->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, NULL);
    if (rc != SQLITE_OK) {
        snprintf(why, PB_WHY_MAX, "cannot open SQLite database %s: %s", path,
                 c->db ? sqlite3_errmsg(c->db) : sqlite3_errstr(rc));
        err = PB_ERR_STORE_OPEN;
        goto out;
    }
    sqlite3_extended_result_codes(c->db, 1);
    sqlite3_busy_timeout(c->db, BUSY_TIMEOUT_MS);

    /* Reading the header shows at once whether the file is a database at all. */
    rc = sqlite3_prepare_v2(c->db, "PRAGMA schema_version", -1, &st, NULL);
    if (rc == SQLITE_OK) {
        rc = sqlite3_step(st);
        rc = rc == SQLITE_ROW ? SQLITE_OK : rc;
    }
    sqlite3_finalize(st); /* ends the read, or the pragmas below would be inside it */
    st = NULL;
    if (rc != SQLITE_OK) {
        int primary = rc & 0xff;
        if (primary == SQLITE_NOTADB || primary == SQLITE_CORRUPT) {
            snprintf(why, PB_WHY_MAX, "%s is not a valid SQLite database: %s", path,
                     sqlite3_errmsg(c->db));
            err = PB_ERR_STORE_CORRUPT;
        } else {
            snprintf(why, PB_WHY_MAX, "cannot read SQLite database %s: %s", path,
                     sqlite3_errmsg(c->db));
            err = PB_ERR_STORE_OPEN;
        }
        goto out;
    }

    static const char *const pragmas[] = {
        "PRAGMA journal_mode = WAL",
        "PRAGMA foreign_keys = ON",
        "PRAGMA secure_delete = ON",
        "PRAGMA synchronous = NORMAL",
    };
    for (size_t i = 0; i < sizeof(pragmas) / sizeof(pragmas[0]); i++) {
        char *msg = NULL;
        rc = sqlite3_exec(c->db, pragmas[i], NULL, NULL, &msg);
        if (rc != SQLITE_OK) {
            snprintf(why, PB_WHY_MAX, "cannot set up SQLite database %s (%s): %s", path, pragmas[i],
                     msg ? msg : sqlite3_errstr(rc));
            sqlite3_free(msg);
            err = (rc & 0xff) == SQLITE_NOTADB || (rc & 0xff) == SQLITE_CORRUPT
                      ? PB_ERR_STORE_CORRUPT
                      : PB_ERR_STORE_OPEN;
            goto out;
        }
    }
    *out = (struct pb_conn *)c;
    c = NULL;
out:
    sqlite3_finalize(st);
    if (c != NULL)
        sqlite_disconnect((struct pb_conn *)c);
    return err;
}

static enum pb_qs
exec_simple(struct pb_sqlite_conn *c, const char *sql)
{
    int rc = sqlite3_exec(c->db, sql, NULL, NULL, NULL);
    return rc == SQLITE_OK ? PB_QS_NONE : pb_sqlite_fail(c, rc, sql);
}

static enum pb_qs
sqlite_begin(struct pb_conn *conn, enum pb_tx_mode mode)
{
    /* Both kinds of write take the write lock at once: no upgrade mid-transaction. */
    return exec_simple(pb_sqlite_conn(conn), mode == PB_TX_READ ? "BEGIN" : "BEGIN IMMEDIATE");
}

static enum pb_qs
sqlite_commit(struct pb_conn *conn)
{
    return exec_simple(pb_sqlite_conn(conn), "COMMIT");
}

static void
sqlite_rollback(struct pb_conn *conn)
{
    struct pb_sqlite_conn *c = pb_sqlite_conn(conn);
    if (!sqlite3_get_autocommit(c->db))
        (void)exec_simple(c, "ROLLBACK");
}

const struct pb_store_ops pb_store_sqlite = {
    .name = "sqlite",
    .connect = sqlite_connect,
    .disconnect = sqlite_disconnect,
    .begin = sqlite_begin,
    .commit = sqlite_commit,
    .rollback = sqlite_rollback,
    .migrate = pb_sqlite_migrate,
    .schema_version = pb_sqlite_schema_version,
    .account_insert = pb_sqlite_account_insert,
    .account_get = pb_sqlite_account_get,
    .account_list = pb_sqlite_account_list,
    .region_insert = pb_sqlite_region_insert,
    .region_get = pb_sqlite_region_get,
    .region_list = pb_sqlite_region_list,
    .placement_set = pb_sqlite_placement_set,
    .placement_get = pb_sqlite_placement_get,
    .account_set_require_2fa = pb_sqlite_account_set_require_2fa,
    .account_set_data_key = pb_sqlite_account_set_data_key,
    .user_insert = pb_sqlite_user_insert,
    .user_get = pb_sqlite_user_get,
    .user_get_by_email = pb_sqlite_user_get_by_email,
    .user_list = pb_sqlite_user_list,
    .user_count_role = pb_sqlite_user_count_role,
    .user_update = pb_sqlite_user_update,
    .user_advance_totp_step = pb_sqlite_user_advance_totp_step,
    .user_delete = pb_sqlite_user_delete,
    .session_insert = pb_sqlite_session_insert,
    .session_get = pb_sqlite_session_get,
    .session_touch = pb_sqlite_session_touch,
    .session_delete = pb_sqlite_session_delete,
    .session_delete_for_user = pb_sqlite_session_delete_for_user,
    .recovery_codes_replace = pb_sqlite_recovery_codes_replace,
    .recovery_code_use = pb_sqlite_recovery_code_use,
    .recovery_codes_remaining = pb_sqlite_recovery_codes_remaining,
    .reset_insert = pb_sqlite_reset_insert,
    .reset_consume = pb_sqlite_reset_consume,
    .api_key_insert = pb_sqlite_api_key_insert,
    .api_key_get_by_hash = pb_sqlite_api_key_get_by_hash,
    .api_key_list = pb_sqlite_api_key_list,
    .api_key_delete = pb_sqlite_api_key_delete,
    .api_key_touch = pb_sqlite_api_key_touch,
    .audit_insert = pb_sqlite_audit_insert,
    .audit_list = pb_sqlite_audit_list,
    .throttle_get = pb_sqlite_throttle_get,
    .throttle_fail = pb_sqlite_throttle_fail,
    .throttle_clear = pb_sqlite_throttle_clear,
    .outbox_insert = pb_sqlite_outbox_insert,
    .outbox_claim = pb_sqlite_outbox_claim,
    .outbox_delete = pb_sqlite_outbox_delete,
    .outbox_retry = pb_sqlite_outbox_retry,
    .field_insert = pb_sqlite_field_insert,
    .field_get = pb_sqlite_field_get,
    .field_list = pb_sqlite_field_list,
    .field_update = pb_sqlite_field_update,
    .field_delete = pb_sqlite_field_delete,
    .list_insert = pb_sqlite_list_insert,
    .list_get = pb_sqlite_list_get,
    .list_list = pb_sqlite_list_list,
    .list_update = pb_sqlite_list_update,
    .list_delete = pb_sqlite_list_delete,
    .contact_insert = pb_sqlite_contact_insert,
    .contact_get = pb_sqlite_contact_get,
    .contact_get_by_bidx = pb_sqlite_contact_get_by_bidx,
    .contact_list = pb_sqlite_contact_list,
    .contact_update = pb_sqlite_contact_update,
    .value_put = pb_sqlite_value_put,
    .value_delete = pb_sqlite_value_delete,
    .value_list = pb_sqlite_value_list,
    .value_list_field = pb_sqlite_value_list_field,
    .membership_put = pb_sqlite_membership_put,
    .membership_list_for_contact = pb_sqlite_membership_list_for_contact,
    .statement_insert = pb_sqlite_statement_insert,
    .statement_get = pb_sqlite_statement_get,
    .evidence_insert = pb_sqlite_evidence_insert,
    .evidence_get = pb_sqlite_evidence_get,
    .evidence_get_by_sha = pb_sqlite_evidence_get_by_sha,
    .event_last = pb_sqlite_event_last,
    .event_append = pb_sqlite_event_append,
    .event_list_for_contact = pb_sqlite_event_list_for_contact,
    .event_scan = pb_sqlite_event_scan,
    .event_wipe_personal = pb_sqlite_event_wipe_personal,
    .event_head = pb_sqlite_event_head,
    .job_insert = pb_sqlite_job_insert,
    .job_get = pb_sqlite_job_get,
    .job_claim = pb_sqlite_job_claim,
    .job_checkpoint = pb_sqlite_job_checkpoint,
    .job_finish = pb_sqlite_job_finish,
    .job_claim_id = pb_sqlite_job_claim_id,
    .contact_find_many = pb_sqlite_contact_find_many,
    .contact_insert_many = pb_sqlite_contact_insert_many,
    .value_put_many = pb_sqlite_value_put_many,
    .membership_subscribe_many = pb_sqlite_membership_subscribe_many,
    .event_append_many = pb_sqlite_event_append_many,
    .event_ref_exists_many = pb_sqlite_event_ref_exists_many,
    .value_list_many = pb_sqlite_value_list_many,
    .import_chunk_put = pb_sqlite_import_chunk_put,
    .import_chunk_get = pb_sqlite_import_chunk_get,
    .import_chunks_delete = pb_sqlite_import_chunks_delete,
    .import_reject_insert_many = pb_sqlite_import_reject_insert_many,
    .import_reject_list = pb_sqlite_import_reject_list,
    .account_set_tracking = pb_sqlite_account_set_tracking,
    .relay_put = pb_sqlite_relay_put,
    .relay_get = pb_sqlite_relay_get,
    .dkim_put = pb_sqlite_dkim_put,
    .dkim_list = pb_sqlite_dkim_list,
    .dkim_delete = pb_sqlite_dkim_delete,
    .campaign_insert = pb_sqlite_campaign_insert,
    .campaign_update = pb_sqlite_campaign_update,
    .campaign_get = pb_sqlite_campaign_get,
    .campaign_list = pb_sqlite_campaign_list,
    .campaign_delete = pb_sqlite_campaign_delete,
    .campaign_transition = pb_sqlite_campaign_transition,
    .campaign_set_prepared = pb_sqlite_campaign_set_prepared,
    .campaign_due = pb_sqlite_campaign_due,
    .campaign_sending = pb_sqlite_campaign_sending,
    .campaign_counters_add = pb_sqlite_campaign_counters_add,
    .link_replace = pb_sqlite_link_replace,
    .link_list = pb_sqlite_link_list,
    .link_get = pb_sqlite_link_get,
    .link_counters_add = pb_sqlite_link_counters_add,
    .recipient_snapshot = pb_sqlite_recipient_snapshot,
    .recipient_claim = pb_sqlite_recipient_claim,
    .recipient_finish_many = pb_sqlite_recipient_finish_many,
    .recipient_pending = pb_sqlite_recipient_pending,
    .recipient_sent_since = pb_sqlite_recipient_sent_since,
    .recipient_get = pb_sqlite_recipient_get,
    .recipient_open = pb_sqlite_recipient_open,
    .recipient_click = pb_sqlite_recipient_click,
    .recipient_unsubscribed = pb_sqlite_recipient_unsubscribed,
    .recipient_list_for_contact = pb_sqlite_recipient_list_for_contact,
    .recipient_load = pb_sqlite_recipient_load,
    .suppression_put = pb_sqlite_suppression_put,
    .suppression_exists = pb_sqlite_suppression_exists,
    .contact_set_suppressed = pb_sqlite_contact_set_suppressed,
    /* issue 7: erasure and storage limitation */
    .value_delete_for_contact = pb_sqlite_value_delete_for_contact,
    .evidence_erase_for_contact = pb_sqlite_evidence_erase_for_contact,
    .recipient_wipe_errors = pb_sqlite_recipient_wipe_errors,
    .event_wipe_personal_count = pb_sqlite_event_wipe_personal_count,
    .erasure_insert = pb_sqlite_erasure_insert,
    .erasure_list = pb_sqlite_erasure_list,
    .erasure_get_for_contact = pb_sqlite_erasure_get_for_contact,
    .suppression_get = pb_sqlite_suppression_get,
    .suppression_exists_many = pb_sqlite_suppression_exists_many,
    .suppression_delete = pb_sqlite_suppression_delete,
    .account_set_storage_limits = pb_sqlite_account_set_storage_limits,
    .account_claim_storage_sweep = pb_sqlite_account_claim_storage_sweep,
    .contact_list_expired = pb_sqlite_contact_list_expired,
    .checkpoint = pb_sqlite_checkpoint,
    .recipient_sent_histogram = pb_sqlite_recipient_sent_histogram,
};
