/*
 * The PostgreSQL backend: connecting (and reconnecting after a lost
 * connection), transactions, lazily prepared statements, the classification
 * of errors into soft and hard, and the ops table that gathers the aggregate
 * files' operations.
 */
#include "store/pg/pg_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/log.h"
#include "core/strutil.h"

/* Keeps the server's NOTICEs out of stderr; they are worth a debug line at most. */
static void
notice_processor(void *arg, const char *message)
{
    (void)arg;
    pb_debug("postgres: %.*s", (int)strcspn(message, "\n"), message);
}

/* The first line of libpq's last error on this connection. */
static const char *
first_line(const char *msg, char *buf, size_t size)
{
    snprintf(buf, size, "%.*s", (int)strcspn(msg, "\n"), msg);
    return buf;
}

enum pb_qs
pb_pg_fail(struct pb_pg_conn *c, const PGresult *res, const char *what)
{
    const char *state = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
    if (state != NULL && (strcmp(state, "40001") == 0 || strcmp(state, "40P01") == 0)) {
        pb_debug("postgres %s: %s: conflict (%s)", c->where, what, state);
        return PB_QS_SOFT_ERROR;
    }
    /* The primary message only: the detail may quote personal values. */
    const char *msg = res ? PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY) : NULL;
    char line[256];
    if (msg == NULL)
        msg = first_line(PQerrorMessage(c->pg), line, sizeof(line));
    pb_warn("postgres %s: %s: %s (%s)%s", c->where, what, msg, state ? state : "no SQLSTATE",
            PQstatus(c->pg) == CONNECTION_BAD ? "; connection lost" : "");
    return PB_QS_HARD_ERROR;
}

enum pb_qs
pb_pg_exec(struct pb_pg_conn *c, enum pb_pg_stmt id, const char *name, const char *sql, int nparams,
           const char *const *params, PGresult **out)
{
    return pb_pg_exec_params(c, id, name, sql, nparams, params, NULL, NULL, 0, out);
}

enum pb_qs
pb_pg_exec_params(struct pb_pg_conn *c, enum pb_pg_stmt id, const char *name, const char *sql,
                  int nparams, const char *const *params, const int *lengths, const int *formats,
                  int result_format, PGresult **out)
{
    PGresult *res;
    enum pb_qs qs;

    *out = NULL;
    if (!c->prepared[id]) {
        res = PQprepare(c->pg, name, sql, nparams, NULL);
        if (PQresultStatus(res) != PGRES_COMMAND_OK) {
            qs = pb_pg_fail(c, res, name);
            PQclear(res);
            return qs;
        }
        PQclear(res);
        c->prepared[id] = true;
    }
    res = PQexecPrepared(c->pg, name, nparams, params, lengths, formats, result_format);
    ExecStatusType status = PQresultStatus(res);
    if (status != PGRES_COMMAND_OK && status != PGRES_TUPLES_OK) {
        qs = pb_pg_fail(c, res, name);
        PQclear(res);
        return qs;
    }
    *out = res;
    return PB_QS_ONE;
}

enum pb_qs
pb_pg_exec_change(struct pb_pg_conn *c, enum pb_pg_stmt id, const char *name, const char *sql,
                  int nparams, const char *const *params)
{
    PGresult *res;
    enum pb_qs qs = pb_pg_exec(c, id, name, sql, nparams, params, &res);
    if (qs < 0)
        return qs;
    qs = pb_pg_changes(res);
    PQclear(res);
    return qs;
}

enum pb_qs
pb_pg_changes(const PGresult *res)
{
    const char *n = PQcmdTuples((PGresult *)res);
    long rows = 0;
    if (n != NULL && *n != '\0' && !pb_str_to_long(n, 0, 1L << 62, &rows))
        return PB_QS_HARD_ERROR;
    return rows == 0 ? PB_QS_NONE : rows == 1 ? PB_QS_ONE : PB_QS_N;
}

bool
pb_pg_text(const PGresult *res, int row, int col, char *dst, size_t size)
{
    if (PQgetisnull(res, row, col)) {
        dst[0] = '\0';
        return false;
    }
    return pb_strlcpy(dst, PQgetvalue(res, row, col), size);
}

int64_t
pb_pg_int64(const PGresult *res, int row, int col)
{
    return strtoll(PQgetvalue(res, row, col), NULL, 10);
}

bool
pb_pg_bool(const PGresult *res, int row, int col)
{
    return strcmp(PQgetvalue(res, row, col), "t") == 0;
}

const char *
pb_pg_hex(const unsigned char *src, size_t len, char *dst, size_t size)
{
    static const char digits[] = "0123456789abcdef";
    if (src == NULL || len == 0 || size < 2 * len + 1)
        return NULL;
    for (size_t i = 0; i < len; i++) {
        dst[2 * i] = digits[src[i] >> 4];
        dst[2 * i + 1] = digits[src[i] & 0x0f];
    }
    dst[2 * len] = '\0';
    return dst;
}

/* The value of one hex digit, or -1. */
static int
hex_digit(char ch)
{
    if (ch >= '0' && ch <= '9')
        return ch - '0';
    if (ch >= 'a' && ch <= 'f')
        return ch - 'a' + 10;
    if (ch >= 'A' && ch <= 'F')
        return ch - 'A' + 10;
    return -1;
}

bool
pb_pg_bytes(const PGresult *res, int row, int col, unsigned char *dst, size_t cap, size_t *len)
{
    *len = 0;
    if (PQgetisnull(res, row, col))
        return true;
    const char *hex = PQgetvalue(res, row, col);
    size_t n = (size_t)PQgetlength(res, row, col);
    if (n % 2 != 0 || n / 2 > cap)
        return false;
    for (size_t i = 0; i < n / 2; i++) {
        int hi = hex_digit(hex[2 * i]), lo = hex_digit(hex[2 * i + 1]);
        if (hi < 0 || lo < 0)
            return false;
        dst[i] = (unsigned char)(hi << 4 | lo);
    }
    *len = n / 2;
    return true;
}

/* Runs a statement without parameters or rows (BEGIN, SET ...). */
static enum pb_qs
exec_simple(struct pb_pg_conn *c, const char *sql)
{
    PGresult *res = PQexec(c->pg, sql);
    enum pb_qs qs = PQresultStatus(res) == PGRES_COMMAND_OK ? PB_QS_NONE : pb_pg_fail(c, res, sql);
    PQclear(res);
    return qs;
}

/* What every new (or reset) session needs. */
static enum pb_qs
session_setup(struct pb_pg_conn *c)
{
    memset(c->prepared, 0, sizeof(c->prepared));
    PQsetNoticeProcessor(c->pg, notice_processor, NULL);
    return exec_simple(c, "SET client_min_messages = warning");
}

static void
pg_disconnect(struct pb_conn *conn)
{
    struct pb_pg_conn *c = pb_pg_conn(conn);
    if (c == NULL)
        return;
    PQfinish(c->pg);
    free(c);
}

static enum pb_err
pg_connect(const char *url, struct pb_conn **out, char why[PB_WHY_MAX])
{
    enum pb_err err = PB_ERR_OK;
    struct pb_pg_conn *c = NULL;
    char *parse_err = NULL;
    char line[256];

    *out = NULL;
    PQconninfoOption *opts = PQconninfoParse(url, &parse_err);
    if (opts == NULL) {
        snprintf(why, PB_WHY_MAX, "store URL is not a valid PostgreSQL URL: %s",
                 parse_err ? first_line(parse_err, line, sizeof(line)) : "out of memory");
        PQfreemem(parse_err);
        return parse_err ? PB_ERR_STORE_URL : PB_ERR_NOMEM;
    }
    PQconninfoFree(opts);

    if ((c = calloc(1, sizeof(*c))) == NULL) {
        snprintf(why, PB_WHY_MAX, "out of memory connecting to PostgreSQL");
        return PB_ERR_NOMEM;
    }
    /* Later keywords win: the URL's own connect_timeout overrides ours. */
    const char *const keys[] = {"connect_timeout", "fallback_application_name", "dbname", NULL};
    const char *const values[] = {"10", "postbode", url, NULL};
    c->pg = PQconnectdbParams(keys, values, 1);
    if (c->pg == NULL) {
        snprintf(why, PB_WHY_MAX, "out of memory connecting to PostgreSQL");
        err = PB_ERR_NOMEM;
        goto out;
    }
    const char *host = PQhost(c->pg);
    snprintf(c->where, sizeof(c->where), "database %s on %s:%s", PQdb(c->pg) ? PQdb(c->pg) : "?",
             host && *host ? host : "localhost", PQport(c->pg) ? PQport(c->pg) : "5432");
    if (PQstatus(c->pg) != CONNECTION_OK) {
        snprintf(why, PB_WHY_MAX, "cannot connect to PostgreSQL %s: %s", c->where,
                 first_line(PQerrorMessage(c->pg), line, sizeof(line)));
        err = PB_ERR_STORE_OPEN;
        goto out;
    }
    if (session_setup(c) < 0) {
        snprintf(why, PB_WHY_MAX, "cannot set up the session on PostgreSQL %s: %s", c->where,
                 first_line(PQerrorMessage(c->pg), line, sizeof(line)));
        err = PB_ERR_STORE_OPEN;
        goto out;
    }
    *out = (struct pb_conn *)c;
    c = NULL;
out:
    if (c != NULL)
        pg_disconnect((struct pb_conn *)c);
    return err;
}

bool
pb_pg_ensure_alive(struct pb_pg_conn *c)
{
    if (PQstatus(c->pg) == CONNECTION_OK)
        return true;
    pb_warn("postgres %s: connection lost, reconnecting", c->where);
    PQreset(c->pg);
    if (PQstatus(c->pg) != CONNECTION_OK) {
        char line[256];
        pb_error("postgres %s: cannot reconnect: %s", c->where,
                 first_line(PQerrorMessage(c->pg), line, sizeof(line)));
        return false;
    }
    return session_setup(c) >= 0;
}

static enum pb_qs
pg_begin(struct pb_conn *conn, enum pb_tx_mode mode)
{
    struct pb_pg_conn *c = pb_pg_conn(conn);
    if (!pb_pg_ensure_alive(c))
        return PB_QS_HARD_ERROR;
    if (PQtransactionStatus(c->pg) != PQTRANS_IDLE)
        (void)exec_simple(c, "ROLLBACK");
    switch (mode) {
    case PB_TX_WRITE:
        return exec_simple(c, "BEGIN ISOLATION LEVEL SERIALIZABLE");
    case PB_TX_WRITE_LOCKED:
        return exec_simple(c, "BEGIN ISOLATION LEVEL READ COMMITTED");
    case PB_TX_READ:
        break;
    }
    return exec_simple(c, "BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY");
}

static enum pb_qs
pg_commit(struct pb_conn *conn)
{
    struct pb_pg_conn *c = pb_pg_conn(conn);
    PGresult *res = PQexec(c->pg, "COMMIT");
    enum pb_qs qs = PB_QS_NONE;
    if (PQresultStatus(res) != PGRES_COMMAND_OK) {
        qs = pb_pg_fail(c, res, "COMMIT");
    } else if (strcmp(PQcmdStatus(res), "ROLLBACK") == 0) {
        /* The transaction had failed: PostgreSQL answers COMMIT by rolling back. */
        pb_warn("postgres %s: COMMIT of a failed transaction rolled it back", c->where);
        qs = PB_QS_HARD_ERROR;
    }
    PQclear(res);
    return qs;
}

static void
pg_rollback(struct pb_conn *conn)
{
    struct pb_pg_conn *c = pb_pg_conn(conn);
    if (PQstatus(c->pg) == CONNECTION_OK && PQtransactionStatus(c->pg) != PQTRANS_IDLE)
        (void)exec_simple(c, "ROLLBACK");
}

const struct pb_store_ops pb_store_postgres = {
    .name = "postgres",
    .connect = pg_connect,
    .disconnect = pg_disconnect,
    .begin = pg_begin,
    .commit = pg_commit,
    .rollback = pg_rollback,
    .migrate = pb_pg_migrate,
    .schema_version = pb_pg_schema_version,
    .account_insert = pb_pg_account_insert,
    .account_get = pb_pg_account_get,
    .account_list = pb_pg_account_list,
    .region_insert = pb_pg_region_insert,
    .region_get = pb_pg_region_get,
    .region_list = pb_pg_region_list,
    .placement_set = pb_pg_placement_set,
    .placement_get = pb_pg_placement_get,
    .account_set_require_2fa = pb_pg_account_set_require_2fa,
    .account_set_data_key = pb_pg_account_set_data_key,
    .user_insert = pb_pg_user_insert,
    .user_get = pb_pg_user_get,
    .user_get_by_email = pb_pg_user_get_by_email,
    .user_list = pb_pg_user_list,
    .user_count_role = pb_pg_user_count_role,
    .user_update = pb_pg_user_update,
    .user_advance_totp_step = pb_pg_user_advance_totp_step,
    .user_delete = pb_pg_user_delete,
    .session_insert = pb_pg_session_insert,
    .session_get = pb_pg_session_get,
    .session_touch = pb_pg_session_touch,
    .session_delete = pb_pg_session_delete,
    .session_delete_for_user = pb_pg_session_delete_for_user,
    .recovery_codes_replace = pb_pg_recovery_codes_replace,
    .recovery_code_use = pb_pg_recovery_code_use,
    .recovery_codes_remaining = pb_pg_recovery_codes_remaining,
    .reset_insert = pb_pg_reset_insert,
    .reset_consume = pb_pg_reset_consume,
    .api_key_insert = pb_pg_api_key_insert,
    .api_key_get_by_hash = pb_pg_api_key_get_by_hash,
    .api_key_list = pb_pg_api_key_list,
    .api_key_delete = pb_pg_api_key_delete,
    .api_key_touch = pb_pg_api_key_touch,
    .audit_insert = pb_pg_audit_insert,
    .audit_list = pb_pg_audit_list,
    .throttle_get = pb_pg_throttle_get,
    .throttle_fail = pb_pg_throttle_fail,
    .throttle_clear = pb_pg_throttle_clear,
    .outbox_insert = pb_pg_outbox_insert,
    .outbox_claim = pb_pg_outbox_claim,
    .outbox_delete = pb_pg_outbox_delete,
    .outbox_retry = pb_pg_outbox_retry,
    .field_insert = pb_pg_field_insert,
    .field_get = pb_pg_field_get,
    .field_list = pb_pg_field_list,
    .field_update = pb_pg_field_update,
    .field_delete = pb_pg_field_delete,
    .list_insert = pb_pg_list_insert,
    .list_get = pb_pg_list_get,
    .list_list = pb_pg_list_list,
    .list_update = pb_pg_list_update,
    .list_delete = pb_pg_list_delete,
    .contact_insert = pb_pg_contact_insert,
    .contact_get = pb_pg_contact_get,
    .contact_get_by_bidx = pb_pg_contact_get_by_bidx,
    .contact_list = pb_pg_contact_list,
    .contact_update = pb_pg_contact_update,
    .value_put = pb_pg_value_put,
    .value_delete = pb_pg_value_delete,
    .value_list = pb_pg_value_list,
    .value_list_field = pb_pg_value_list_field,
    .membership_put = pb_pg_membership_put,
    .membership_list_for_contact = pb_pg_membership_list_for_contact,
    .statement_insert = pb_pg_statement_insert,
    .statement_get = pb_pg_statement_get,
    .evidence_insert = pb_pg_evidence_insert,
    .evidence_get = pb_pg_evidence_get,
    .evidence_get_by_sha = pb_pg_evidence_get_by_sha,
    .event_last = pb_pg_event_last,
    .event_append = pb_pg_event_append,
    .event_list_for_contact = pb_pg_event_list_for_contact,
    .event_scan = pb_pg_event_scan,
    .event_wipe_personal = pb_pg_event_wipe_personal,
    .event_head = pb_pg_event_head,
    .job_insert = pb_pg_job_insert,
    .job_get = pb_pg_job_get,
    .job_claim = pb_pg_job_claim,
    .job_checkpoint = pb_pg_job_checkpoint,
    .job_finish = pb_pg_job_finish,
    .job_claim_id = pb_pg_job_claim_id,
    .contact_find_many = pb_pg_contact_find_many,
    .contact_insert_many = pb_pg_contact_insert_many,
    .value_put_many = pb_pg_value_put_many,
    .membership_subscribe_many = pb_pg_membership_subscribe_many,
    .event_append_many = pb_pg_event_append_many,
    .event_ref_exists_many = pb_pg_event_ref_exists_many,
    .value_list_many = pb_pg_value_list_many,
    .import_chunk_put = pb_pg_import_chunk_put,
    .import_chunk_get = pb_pg_import_chunk_get,
    .import_chunks_delete = pb_pg_import_chunks_delete,
    .import_reject_insert_many = pb_pg_import_reject_insert_many,
    .import_reject_list = pb_pg_import_reject_list,
    .account_set_tracking = pb_pg_account_set_tracking,
    .relay_put = pb_pg_relay_put,
    .relay_get = pb_pg_relay_get,
    .dkim_put = pb_pg_dkim_put,
    .dkim_list = pb_pg_dkim_list,
    .dkim_delete = pb_pg_dkim_delete,
    .campaign_insert = pb_pg_campaign_insert,
    .campaign_update = pb_pg_campaign_update,
    .campaign_get = pb_pg_campaign_get,
    .campaign_list = pb_pg_campaign_list,
    .campaign_delete = pb_pg_campaign_delete,
    .campaign_transition = pb_pg_campaign_transition,
    .campaign_set_prepared = pb_pg_campaign_set_prepared,
    .campaign_due = pb_pg_campaign_due,
    .campaign_sending = pb_pg_campaign_sending,
    .campaign_counters_add = pb_pg_campaign_counters_add,
    .link_replace = pb_pg_link_replace,
    .link_list = pb_pg_link_list,
    .link_get = pb_pg_link_get,
    .link_counters_add = pb_pg_link_counters_add,
    .recipient_snapshot = pb_pg_recipient_snapshot,
    .recipient_claim = pb_pg_recipient_claim,
    .recipient_finish_many = pb_pg_recipient_finish_many,
    .recipient_pending = pb_pg_recipient_pending,
    .recipient_sent_since = pb_pg_recipient_sent_since,
    .recipient_get = pb_pg_recipient_get,
    .recipient_open = pb_pg_recipient_open,
    .recipient_click = pb_pg_recipient_click,
    .recipient_unsubscribed = pb_pg_recipient_unsubscribed,
    .recipient_list_for_contact = pb_pg_recipient_list_for_contact,
    .recipient_load = pb_pg_recipient_load,
    .suppression_put = pb_pg_suppression_put,
    .suppression_exists = pb_pg_suppression_exists,
    .contact_set_suppressed = pb_pg_contact_set_suppressed,
    /* issue 7: erasure and storage limitation */
    .value_delete_for_contact = pb_pg_value_delete_for_contact,
    .evidence_erase_for_contact = pb_pg_evidence_erase_for_contact,
    .recipient_wipe_errors = pb_pg_recipient_wipe_errors,
    .event_wipe_personal_count = pb_pg_event_wipe_personal_count,
    .erasure_insert = pb_pg_erasure_insert,
    .erasure_list = pb_pg_erasure_list,
    .erasure_get_for_contact = pb_pg_erasure_get_for_contact,
    .suppression_get = pb_pg_suppression_get,
    .suppression_exists_many = pb_pg_suppression_exists_many,
    .suppression_delete = pb_pg_suppression_delete,
    .account_set_storage_limits = pb_pg_account_set_storage_limits,
    .account_claim_storage_sweep = pb_pg_account_claim_storage_sweep,
    .contact_list_expired = pb_pg_contact_list_expired,
    .checkpoint = pb_pg_checkpoint,
    .recipient_sent_histogram = pb_pg_recipient_sent_histogram,
};
