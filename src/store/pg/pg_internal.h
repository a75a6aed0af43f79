/*
 * The PostgreSQL backend's private parts: the connection with the record of
 * which statements it has prepared, the helpers every aggregate file uses,
 * and the operations each of those files provides to the ops table in conn.c.
 */
#ifndef PB_STORE_PG_INTERNAL_H
#define PB_STORE_PG_INTERNAL_H

#include <libpq-fe.h>
#include <stdio.h>

#include "store/store.h"

/* Every prepared statement has a slot; the SQL stays next to the function using it. */
enum pb_pg_stmt {
    PB_PG_VERSION_TABLE,
    PB_PG_VERSION_MAX,
    PB_PG_ACCOUNT_INSERT,
    PB_PG_ACCOUNT_GET,
    PB_PG_ACCOUNT_LIST,
    PB_PG_REGION_INSERT,
    PB_PG_REGION_GET,
    PB_PG_REGION_LIST,
    PB_PG_PLACEMENT_SET,
    PB_PG_PLACEMENT_GET,
    PB_PG_ACCOUNT_SET_REQUIRE_2FA,
    PB_PG_ACCOUNT_SET_DATA_KEY,
    PB_PG_USER_INSERT,
    PB_PG_USER_GET,
    PB_PG_USER_GET_BY_EMAIL,
    PB_PG_USER_LIST,
    PB_PG_USER_COUNT_ROLE,
    PB_PG_USER_UPDATE,
    PB_PG_USER_ADVANCE_TOTP_STEP,
    PB_PG_USER_DELETE,
    PB_PG_SESSION_INSERT,
    PB_PG_SESSION_GET,
    PB_PG_SESSION_TOUCH,
    PB_PG_SESSION_DELETE,
    PB_PG_SESSION_DELETE_FOR_USER,
    PB_PG_RECOVERY_DELETE_ALL,
    PB_PG_RECOVERY_INSERT,
    PB_PG_RECOVERY_USE,
    PB_PG_RECOVERY_REMAINING,
    PB_PG_RESET_INSERT,
    PB_PG_RESET_CONSUME,
    PB_PG_API_KEY_INSERT,
    PB_PG_API_KEY_GET_BY_HASH,
    PB_PG_API_KEY_LIST,
    PB_PG_API_KEY_DELETE,
    PB_PG_API_KEY_TOUCH,
    PB_PG_AUDIT_INSERT,
    PB_PG_AUDIT_LIST,
    PB_PG_THROTTLE_GET,
    PB_PG_THROTTLE_FAIL,
    PB_PG_THROTTLE_CLEAR,
    PB_PG_OUTBOX_INSERT,
    PB_PG_OUTBOX_DUE,
    PB_PG_OUTBOX_LEASE,
    PB_PG_OUTBOX_DELETE,
    PB_PG_OUTBOX_RETRY,
    PB_PG_FIELD_INSERT,
    PB_PG_FIELD_GET,
    PB_PG_FIELD_LIST,
    PB_PG_FIELD_UPDATE,
    PB_PG_FIELD_DELETE_VALUES,
    PB_PG_FIELD_DELETE,
    PB_PG_VALUE_PUT,
    PB_PG_VALUE_DELETE,
    PB_PG_VALUE_LIST,
    PB_PG_VALUE_LIST_FIELD,
    PB_PG_LIST_INSERT,
    PB_PG_LIST_GET,
    PB_PG_LIST_LIST,
    PB_PG_LIST_UPDATE,
    PB_PG_LIST_DELETE,
    PB_PG_MEMBERSHIP_STATE,
    PB_PG_MEMBERSHIP_UPSERT,
    PB_PG_MEMBERSHIP_COUNT,
    PB_PG_MEMBERSHIP_LIST,
    PB_PG_CONTACT_INSERT,
    PB_PG_CONTACT_GET,
    PB_PG_CONTACT_GET_BY_BIDX,
    PB_PG_CONTACT_LIST,
    PB_PG_CONTACT_LIST_IN_LIST,
    PB_PG_CONTACT_UPDATE,
    PB_PG_STATEMENT_EVIDENCE_CHECK,
    PB_PG_STATEMENT_INSERT,
    PB_PG_STATEMENT_LINK,
    PB_PG_STATEMENT_GET,
    PB_PG_STATEMENT_GET_EVIDENCE,
    PB_PG_EVIDENCE_INSERT,
    PB_PG_EVIDENCE_GET,
    PB_PG_EVIDENCE_GET_BY_SHA,
    PB_PG_EVENT_LAST,
    PB_PG_EVENT_APPEND,
    PB_PG_EVENT_PERSONAL_INSERT,
    PB_PG_EVENT_LIST_FOR_CONTACT,
    PB_PG_EVENT_SCAN,
    PB_PG_EVENT_WIPE_PERSONAL,
    PB_PG_EVENT_HEAD_PUT,
    PB_PG_EVENT_HEAD_GET,
    PB_PG_JOB_INSERT,
    PB_PG_JOB_GET,
    PB_PG_JOB_DUE,
    PB_PG_JOB_LEASE,
    PB_PG_JOB_CHECKPOINT,
    PB_PG_JOB_FINISH,
    PB_PG_JOB_CLAIM_ID,
    PB_PG_CONTACT_FIND_MANY,
    PB_PG_CONTACT_INSERT_MANY,
    PB_PG_VALUE_PUT_MANY,
    PB_PG_MEMBERSHIP_SUBSCRIBE_MANY,
    PB_PG_EVENT_APPEND_MANY,
    PB_PG_EVENT_REF_EXISTS_MANY,
    PB_PG_VALUE_LIST_MANY,
    PB_PG_IMPORT_CHUNK_PUT,
    PB_PG_IMPORT_CHUNK_GET,
    PB_PG_IMPORT_CHUNKS_DELETE,
    PB_PG_IMPORT_REJECT_INSERT_MANY,
    PB_PG_IMPORT_REJECT_LIST,
    PB_PG_ACCOUNT_SET_TRACKING,
    PB_PG_RELAY_PUT,
    PB_PG_RELAY_GET,
    PB_PG_DKIM_PUT,
    PB_PG_DKIM_LIST,
    PB_PG_DKIM_DELETE,
    PB_PG_SUPPRESSION_PUT,
    PB_PG_SUPPRESSION_EXISTS,
    PB_PG_CONTACT_SET_SUPPRESSED,
    PB_PG_CAMPAIGN_INSERT,
    PB_PG_CAMPAIGN_UPDATE,
    PB_PG_CAMPAIGN_GET,
    PB_PG_CAMPAIGN_LIST,
    PB_PG_CAMPAIGN_DELETE,
    PB_PG_CAMPAIGN_TRANSITION,
    PB_PG_CAMPAIGN_SET_PREPARED,
    PB_PG_CAMPAIGN_DUE,
    PB_PG_CAMPAIGN_SENDING,
    PB_PG_CAMPAIGN_COUNTERS_ADD,
    PB_PG_LINK_REPLACE,
    PB_PG_LINK_LIST,
    PB_PG_LINK_GET,
    PB_PG_LINK_COUNTERS_ADD,
    PB_PG_RECIPIENT_SNAPSHOT,
    PB_PG_RECIPIENT_CLAIM,
    PB_PG_RECIPIENT_FINISH_MANY,
    PB_PG_RECIPIENT_PENDING,
    PB_PG_RECIPIENT_SENT_SINCE,
    PB_PG_RECIPIENT_GET,
    PB_PG_RECIPIENT_OPEN,
    PB_PG_RECIPIENT_CLICK,
    PB_PG_RECIPIENT_UNSUBSCRIBED,
    PB_PG_RECIPIENT_LIST_FOR_CONTACT,
    PB_PG_RECIPIENT_LOAD_CONTACTS,
    PB_PG_RECIPIENT_LOAD_VALUES,
    /* issue 7: accounts.c (storage limits) and erasure.c */
    PB_PG_ACCOUNT_SET_STORAGE_LIMITS,
    PB_PG_ACCOUNT_CLAIM_STORAGE_SWEEP,
    PB_PG_VALUE_DELETE_FOR_CONTACT,
    PB_PG_EVIDENCE_ERASE_FOR_CONTACT,
    PB_PG_RECIPIENT_WIPE_ERRORS,
    PB_PG_EVENT_WIPE_PERSONAL_COUNT,
    PB_PG_ERASURE_INSERT,
    PB_PG_ERASURE_LIST,
    PB_PG_ERASURE_GET_FOR_CONTACT,
    PB_PG_SUPPRESSION_GET,
    PB_PG_SUPPRESSION_EXISTS_MANY,
    PB_PG_SUPPRESSION_DELETE,
    PB_PG_CONTACT_LIST_EXPIRED,
    /* issue 8: campaign_timeline.c */
    PB_PG_RECIPIENT_SENT_HISTOGRAM,
    PB_PG_COUNT
};

struct pb_pg_conn {
    PGconn *pg;
    char where[160]; /* "database DB on HOST:PORT", for messages (never the password) */
    bool prepared[PB_PG_COUNT];
};

/* The backend's view of the opaque connection. */
static inline struct pb_pg_conn *
pb_pg_conn(struct pb_conn *conn)
{
    return (struct pb_pg_conn *)conn;
}

/*
 * Runs the prepared statement `id` (named `name`, prepared from `sql` on
 * first use on this connection) with `nparams` text parameters. On success
 * returns PB_QS_ONE and the result in `*out` (PQclear it); otherwise
 * PB_QS_SOFT_ERROR (serialization failure, deadlock) or PB_QS_HARD_ERROR.
 */
enum pb_qs
pb_pg_exec(struct pb_pg_conn *c, enum pb_pg_stmt id, const char *name, const char *sql, int nparams,
           const char *const *params, PGresult **out);

/*
 * pb_pg_exec with each parameter's length and format (NULL `lengths` and
 * `formats`: all text) and the results' format (0 text, 1 binary): for
 * binary arrays and blobs, which the statement's SQL must cast to their type
 * (`$2::bytea[]`) since it is prepared without parameter types.
 */
enum pb_qs
pb_pg_exec_params(struct pb_pg_conn *c, enum pb_pg_stmt id, const char *name, const char *sql,
                  int nparams, const char *const *params, const int *lengths, const int *formats,
                  int result_format, PGresult **out);

/* Runs a statement that returns no rows (as pb_pg_exec); PB_QS_NONE/ONE/N from the rows changed. */
enum pb_qs
pb_pg_exec_change(struct pb_pg_conn *c, enum pb_pg_stmt id, const char *name, const char *sql,
                  int nparams, const char *const *params);

/* Reconnects a lost connection (its statements are then prepared anew); false when it stays lost.
 */
bool
pb_pg_ensure_alive(struct pb_pg_conn *c);

/* Classifies a failed result (NULL: no result at all), logging it. */
enum pb_qs
pb_pg_fail(struct pb_pg_conn *c, const PGresult *res, const char *what);

/* PB_QS_NONE/ONE/N from the rows a command touched. */
enum pb_qs
pb_pg_changes(const PGresult *res);

/* Copies a field into `dst`; false when it is NULL or does not fit. */
bool
pb_pg_text(const PGresult *res, int row, int col, char *dst, size_t size);

/* A field as a 64-bit integer. */
int64_t
pb_pg_int64(const PGresult *res, int row, int col);

/* A boolean field ("t" or "f"). */
bool
pb_pg_bool(const PGresult *res, int row, int col);

/* Room for the hex text of a token hash, and of a sealed value. */
#define PB_PG_HASH_HEX   (2 * PB_HASH_BYTES + 1)
#define PB_PG_SEALED_HEX (2 * PB_SEALED_MAX + 1)

/*
 * Bytes as hex text, for a `decode($n, 'hex')` parameter: `dst` (of
 * `size` >= 2 * len + 1 bytes), or NULL (SQL NULL) when `len` is 0.
 */
const char *
pb_pg_hex(const unsigned char *src, size_t len, char *dst, size_t size);

/*
 * Decodes a field selected as `encode(col, 'hex')` into `dst` (room for
 * `cap` bytes), its length into `*len` (0 for NULL); false when it does not
 * fit or is not hex.
 */
bool
pb_pg_bytes(const PGresult *res, int row, int col, unsigned char *dst, size_t cap, size_t *len);

/* `s`, or NULL (SQL NULL) when it is NULL or "". */
static inline const char *
pb_pg_opt(const char *s)
{
    return s != NULL && *s != '\0' ? s : NULL;
}

/* Copies a field into `dst` ("" for NULL); false when it does not fit. */
static inline bool
pb_pg_opt_text(const PGresult *res, int row, int col, char *dst, size_t size)
{
    if (PQgetisnull(res, row, col)) {
        dst[0] = '\0';
        return true;
    }
    return pb_pg_text(res, row, col, dst, size);
}

/* NONE, ONE or N for a count of rows. */
static inline enum pb_qs
pb_pg_rows(int n)
{
    return n == 0 ? PB_QS_NONE : n == 1 ? PB_QS_ONE : PB_QS_N;
}

/* Room for any 64-bit integer as decimal text. */
#define PB_PG_NUM_MAX 24

/* `v` as decimal text in `buf`, for a text parameter. */
static inline const char *
pb_pg_num(char buf[PB_PG_NUM_MAX], int64_t v)
{
    snprintf(buf, PB_PG_NUM_MAX, "%lld", (long long)v);
    return buf;
}

/* Reads row `row` of `res` into `dst`, the caller's struct; false (logged) when it does not fit. */
typedef bool (*pb_pg_read_fn)(const PGresult *res, int row, void *dst);

/*
 * The answer of a statement selecting at most one row, read into `dst`
 * with `read`: PB_QS_ONE, NONE when there is no row, HARD when it does not
 * fit. Clears `res`.
 */
static inline enum pb_qs
pb_pg_get_one(PGresult *res, pb_pg_read_fn read, void *dst)
{
    enum pb_qs qs;
    if (PQntuples(res) == 0)
        qs = PB_QS_NONE;
    else
        qs = read(res, 0, dst) ? PB_QS_ONE : PB_QS_HARD_ERROR;
    PQclear(res);
    return qs;
}

/* Leaves a result whose row did not fit its struct (its reader said so): cleared, HARD. */
static inline enum pb_qs
pb_pg_bad_row(PGresult *res)
{
    PQclear(res);
    return PB_QS_HARD_ERROR;
}

/* arrays.c: the parameters of a batch statement */

/* Type oids of array elements (PostgreSQL's catalog/pg_type.dat). */
#define PB_PG_OID_BYTEA 17
#define PB_PG_OID_INT8  20
#define PB_PG_OID_TEXT  25

#define PB_PG_PARAMS_MAX 24 /* a campaign's insert has 19 */

/*
 * The parameters of one statement: text scalars, binary blobs (borrowed),
 * and binary arrays (copied into `buf`). A failure to build (out of memory,
 * too large) is kept in `failed` and reported when the statement is run, so
 * that building needs no checks.
 */
struct pb_pg_params {
    unsigned char *buf;
    size_t len;
    size_t cap;
    bool failed;
    int n;
    int expected;                /* elements the open array was begun with */
    int written;                 /* elements written into it */
    size_t at[PB_PG_PARAMS_MAX]; /* where an array starts in buf; SIZE_MAX for the others */
    const char *values[PB_PG_PARAMS_MAX];
    int lengths[PB_PG_PARAMS_MAX];
    int formats[PB_PG_PARAMS_MAX];
};

/* Starts with room for `hint` bytes of arrays (0: none needed). */
void
pb_pg_params_init(struct pb_pg_params *p, size_t hint);
/* A text parameter (NULL: SQL NULL), borrowed until the statement has run. */
void
pb_pg_param_text(struct pb_pg_params *p, const char *s);
/* A binary parameter (a bytea), borrowed until the statement has run. */
void
pb_pg_param_blob(struct pb_pg_params *p, const unsigned char *data, size_t len);
/* Starts a one-dimensional array of `count` elements of type `oid`; the elements follow. */
void
pb_pg_array_begin(struct pb_pg_params *p, uint32_t oid, int count);
void
pb_pg_array_end(struct pb_pg_params *p);
/* A text or bytea element of `len` bytes. */
void
pb_pg_elem_bytes(struct pb_pg_params *p, const void *data, size_t len);
/* A text element of at most `max` bytes (NULL: SQL NULL). */
void
pb_pg_elem_text(struct pb_pg_params *p, const char *s, size_t max);
/* A text element, "" and NULL being SQL NULL. */
void
pb_pg_elem_opt(struct pb_pg_params *p, const char *s, size_t max);
/* A bytea element, an empty one being SQL NULL. */
void
pb_pg_elem_blob(struct pb_pg_params *p, const unsigned char *data, size_t len);
void
pb_pg_elem_int8(struct pb_pg_params *p, int64_t v);
/*
 * Runs the prepared statement (as pb_pg_exec_params) with the parameters
 * built, and frees them. The SQL casts each binary parameter to its type
 * (`$2::bytea[]`): that is what tells the server how to read the bytes.
 */
enum pb_qs
pb_pg_params_exec(struct pb_pg_conn *c, enum pb_pg_stmt id, const char *name, const char *sql,
                  struct pb_pg_params *p, int result_format, PGresult **out);
/* The same for a statement returning no rows; NONE/ONE/N from the rows changed. */
enum pb_qs
pb_pg_params_exec_change(struct pb_pg_conn *c, enum pb_pg_stmt id, const char *name,
                         const char *sql, struct pb_pg_params *p);

/* migrations.c */
enum pb_err
pb_pg_migrate(struct pb_conn *conn, int *from, int *to, char why[PB_WHY_MAX]);
/* Like pb_pg_migrate, but stops at schema version `target` (for the tests of upgrades). */
enum pb_err
pb_pg_migrate_to(struct pb_conn *conn, int target, int *from, int *to, char why[PB_WHY_MAX]);
enum pb_qs
pb_pg_schema_version(struct pb_conn *conn, int *version);

/* accounts.c */
enum pb_qs
pb_pg_account_insert(struct pb_conn *conn, const struct pb_account *account);
enum pb_qs
pb_pg_account_get(struct pb_conn *conn, const char *id, struct pb_account *out);
enum pb_qs
pb_pg_account_list(struct pb_conn *conn, const char *after_id, int limit, pb_account_cb cb,
                   void *cls);
enum pb_qs
pb_pg_account_set_require_2fa(struct pb_conn *conn, const char *id, bool on);
enum pb_qs
pb_pg_account_set_data_key(struct pb_conn *conn, const char *id, const unsigned char *wrapped,
                           size_t len);
enum pb_qs
pb_pg_account_set_tracking(struct pb_conn *conn, const char *id, const char *tracking);
enum pb_qs
pb_pg_account_set_storage_limits(struct pb_conn *conn, const char *id, int unlisted_days,
                                 int unconfirmed_days);
enum pb_qs
pb_pg_account_claim_storage_sweep(struct pb_conn *conn, const char *id, int64_t now,
                                  int64_t due_before);

/* regions.c */
enum pb_qs
pb_pg_region_insert(struct pb_conn *conn, const struct pb_region *region);
enum pb_qs
pb_pg_region_get(struct pb_conn *conn, const char *name, struct pb_region *out);
enum pb_qs
pb_pg_region_list(struct pb_conn *conn, pb_region_cb cb, void *cls);

/* placements.c */
enum pb_qs
pb_pg_placement_set(struct pb_conn *conn, const char *account_id, const char *region);
enum pb_qs
pb_pg_placement_get(struct pb_conn *conn, const char *account_id,
                    char region[PB_REGION_NAME_MAX + 1]);

/* users.c */
enum pb_qs
pb_pg_user_insert(struct pb_conn *conn, const struct pb_user *user);
enum pb_qs
pb_pg_user_get(struct pb_conn *conn, const char *id, struct pb_user *out);
enum pb_qs
pb_pg_user_get_by_email(struct pb_conn *conn, const char *email, struct pb_user *out);
enum pb_qs
pb_pg_user_list(struct pb_conn *conn, const char *account_id, const char *after_id, int limit,
                pb_user_cb cb, void *cls);
enum pb_qs
pb_pg_user_count_role(struct pb_conn *conn, const char *account_id, const char *role, long *count);
enum pb_qs
pb_pg_user_update(struct pb_conn *conn, const struct pb_user *user);
enum pb_qs
pb_pg_user_advance_totp_step(struct pb_conn *conn, const char *user_id, int64_t step);
enum pb_qs
pb_pg_user_delete(struct pb_conn *conn, const char *id);

/* sessions.c */
enum pb_qs
pb_pg_session_insert(struct pb_conn *conn, const struct pb_session *session);
enum pb_qs
pb_pg_session_get(struct pb_conn *conn, const unsigned char hash[PB_HASH_BYTES],
                  struct pb_session *out);
enum pb_qs
pb_pg_session_touch(struct pb_conn *conn, const unsigned char hash[PB_HASH_BYTES], int64_t now);
enum pb_qs
pb_pg_session_delete(struct pb_conn *conn, const unsigned char hash[PB_HASH_BYTES]);
enum pb_qs
pb_pg_session_delete_for_user(struct pb_conn *conn, const char *user_id);

/* secrets.c */
enum pb_qs
pb_pg_recovery_codes_replace(struct pb_conn *conn, const char *user_id,
                             const unsigned char (*hashes)[PB_HASH_BYTES], int n);
enum pb_qs
pb_pg_recovery_code_use(struct pb_conn *conn, const char *user_id,
                        const unsigned char hash[PB_HASH_BYTES], int64_t now);
enum pb_qs
pb_pg_recovery_codes_remaining(struct pb_conn *conn, const char *user_id, long *count);
enum pb_qs
pb_pg_reset_insert(struct pb_conn *conn, const unsigned char hash[PB_HASH_BYTES],
                   const char *user_id, int64_t expires_at);
enum pb_qs
pb_pg_reset_consume(struct pb_conn *conn, const unsigned char hash[PB_HASH_BYTES], int64_t now,
                    char user_id[PB_ID_LEN + 1]);

/* api_keys.c */
enum pb_qs
pb_pg_api_key_insert(struct pb_conn *conn, const struct pb_api_key *key);
enum pb_qs
pb_pg_api_key_get_by_hash(struct pb_conn *conn, const unsigned char hash[PB_HASH_BYTES],
                          struct pb_api_key *out);
enum pb_qs
pb_pg_api_key_list(struct pb_conn *conn, const char *user_id, pb_api_key_cb cb, void *cls);
enum pb_qs
pb_pg_api_key_delete(struct pb_conn *conn, const char *user_id, const char *id);
enum pb_qs
pb_pg_api_key_touch(struct pb_conn *conn, const char *id, int64_t now);

/* audit.c */
enum pb_qs
pb_pg_audit_insert(struct pb_conn *conn, const struct pb_audit_entry *entry);
enum pb_qs
pb_pg_audit_list(struct pb_conn *conn, const char *account_id, const char *before_id, int limit,
                 pb_audit_cb cb, void *cls);

/* throttle.c */
enum pb_qs
pb_pg_throttle_get(struct pb_conn *conn, const char *key, struct pb_throttle *out);
enum pb_qs
pb_pg_throttle_fail(struct pb_conn *conn, const char *key, int64_t now);
enum pb_qs
pb_pg_throttle_clear(struct pb_conn *conn, const char *key);

/* outbox.c */
enum pb_qs
pb_pg_outbox_insert(struct pb_conn *conn, const struct pb_outbox_mail *mail);
enum pb_qs
pb_pg_outbox_claim(struct pb_conn *conn, int64_t now, int64_t lease_until, int limit,
                   pb_outbox_cb cb, void *cls);
enum pb_qs
pb_pg_outbox_delete(struct pb_conn *conn, const char *id);
enum pb_qs
pb_pg_outbox_retry(struct pb_conn *conn, const char *id, int attempts, int64_t next_attempt_at);

/* fields.c */
enum pb_qs
pb_pg_field_insert(struct pb_conn *conn, const struct pb_field *field);
enum pb_qs
pb_pg_field_get(struct pb_conn *conn, const char *account_id, const char *key,
                struct pb_field *out);
enum pb_qs
pb_pg_field_list(struct pb_conn *conn, const char *account_id, pb_field_cb cb, void *cls);
enum pb_qs
pb_pg_field_update(struct pb_conn *conn, const struct pb_field *field);
enum pb_qs
pb_pg_field_delete(struct pb_conn *conn, const char *account_id, const char *key);
enum pb_qs
pb_pg_value_put(struct pb_conn *conn, const struct pb_contact_value *value);
enum pb_qs
pb_pg_value_delete(struct pb_conn *conn, const char *account_id, const char *contact_id,
                   const char *field_key);
enum pb_qs
pb_pg_value_list(struct pb_conn *conn, const char *account_id, const char *contact_id,
                 pb_contact_value_cb cb, void *cls);
enum pb_qs
pb_pg_value_list_field(struct pb_conn *conn, const char *account_id, const char *field_key,
                       const char *after_contact_id, int limit, pb_contact_value_cb cb, void *cls);

/* lists.c */
enum pb_qs
pb_pg_list_insert(struct pb_conn *conn, const struct pb_list *list);
enum pb_qs
pb_pg_list_get(struct pb_conn *conn, const char *account_id, const char *id, struct pb_list *out);
enum pb_qs
pb_pg_list_list(struct pb_conn *conn, const char *account_id, const char *after_id, int limit,
                pb_list_cb cb, void *cls);
enum pb_qs
pb_pg_list_update(struct pb_conn *conn, const struct pb_list *list);
enum pb_qs
pb_pg_list_delete(struct pb_conn *conn, const char *account_id, const char *id);
enum pb_qs
pb_pg_membership_put(struct pb_conn *conn, const char *account_id, const char *list_id,
                     const char *contact_id, const char *status, const char *statement_id,
                     int64_t since);
enum pb_qs
pb_pg_membership_list_for_contact(struct pb_conn *conn, const char *account_id,
                                  const char *contact_id, pb_membership_cb cb, void *cls);

/* contacts.c */
enum pb_qs
pb_pg_contact_insert(struct pb_conn *conn, const struct pb_contact *contact);
enum pb_qs
pb_pg_contact_get(struct pb_conn *conn, const char *account_id, const char *id,
                  struct pb_contact *out);
enum pb_qs
pb_pg_contact_get_by_bidx(struct pb_conn *conn, const char *account_id, const unsigned char *bidx,
                          size_t bidx_len, struct pb_contact *out);
enum pb_qs
pb_pg_contact_list(struct pb_conn *conn, const char *account_id, const char *list_id,
                   const char *after_id, int limit, pb_contact_cb cb, void *cls);
enum pb_qs
pb_pg_contact_update(struct pb_conn *conn, const struct pb_contact *contact);

/* evidence.c */
enum pb_qs
pb_pg_evidence_insert(struct pb_conn *conn, const struct pb_evidence *evidence,
                      const unsigned char *sealed, size_t sealed_len);
enum pb_qs
pb_pg_evidence_get(struct pb_conn *conn, const char *account_id, const char *id,
                   struct pb_evidence *out, unsigned char **sealed, size_t *sealed_len);
enum pb_qs
pb_pg_evidence_get_by_sha(struct pb_conn *conn, const char *account_id,
                          const unsigned char sha256[PB_SHA256_BYTES], struct pb_evidence *out);

/* consent.c */
enum pb_qs
pb_pg_statement_insert(struct pb_conn *conn, const struct pb_consent_statement *st);
enum pb_qs
pb_pg_statement_get(struct pb_conn *conn, const char *account_id, const char *id,
                    struct pb_consent_statement *out);
enum pb_qs
pb_pg_event_last(struct pb_conn *conn, const char *account_id, int64_t *seq,
                 unsigned char hash[PB_EVENT_HASH_BYTES]);
enum pb_qs
pb_pg_event_append(struct pb_conn *conn, const struct pb_consent_event *event,
                   const struct pb_consent_personal *personal);
enum pb_qs
pb_pg_event_list_for_contact(struct pb_conn *conn, const char *account_id, const char *contact_id,
                             pb_consent_event_cb cb, void *cls);
enum pb_qs
pb_pg_event_scan(struct pb_conn *conn, const char *account_id, int64_t after_seq, int limit,
                 pb_consent_event_cb cb, void *cls);
enum pb_qs
pb_pg_event_head(struct pb_conn *conn, const char *account_id, int64_t *seq,
                 unsigned char hash[PB_EVENT_HASH_BYTES]);
enum pb_qs
pb_pg_event_wipe_personal(struct pb_conn *conn, const char *account_id, const char *contact_id);

/* jobs.c */
enum pb_qs
pb_pg_job_insert(struct pb_conn *conn, const struct pb_job *job);
enum pb_qs
pb_pg_job_get(struct pb_conn *conn, const char *account_id, const char *id, struct pb_job *out);
enum pb_qs
pb_pg_job_claim(struct pb_conn *conn, int64_t now, const char *owner, int64_t lease_until,
                const char *kinds, struct pb_job *out);
enum pb_qs
pb_pg_job_checkpoint(struct pb_conn *conn, int64_t now, const char *id, const char *owner,
                     const char *cursor, int64_t done, int64_t total, int64_t lease_until);
enum pb_qs
pb_pg_job_finish(struct pb_conn *conn, int64_t now, const char *id, const char *owner,
                 const char *state, const char *result, const char *error);
enum pb_qs
pb_pg_job_claim_id(struct pb_conn *conn, int64_t now, const char *account_id, const char *id,
                   const char *owner, int64_t lease_until, struct pb_job *out);

/* imports.c: the batch writes of an import, the chunks of an upload, rejected lines */
enum pb_qs
pb_pg_contact_find_many(struct pb_conn *conn, const char *account_id,
                        const unsigned char (*bidx)[PB_BIDX_MAX], int n, pb_id_text *ids);
enum pb_qs
pb_pg_contact_insert_many(struct pb_conn *conn, const struct pb_contact *contacts, int n);
enum pb_qs
pb_pg_value_put_many(struct pb_conn *conn, const char *account_id,
                     const struct pb_value_ref *values, int n);
enum pb_qs
pb_pg_membership_subscribe_many(struct pb_conn *conn, const char *account_id, const char *list_id,
                                const pb_id_text *contact_ids, int n, const char *statement_id,
                                int64_t since, bool *changed);
enum pb_qs
pb_pg_event_append_many(struct pb_conn *conn, const struct pb_consent_event *events, int n);
enum pb_qs
pb_pg_event_ref_exists_many(struct pb_conn *conn, const char *account_id, const char *ref,
                            const pb_id_text *contact_ids, int n, bool *has);
enum pb_qs
pb_pg_value_list_many(struct pb_conn *conn, const char *account_id, const pb_id_text *contact_ids,
                      int n, pb_contact_value_cb cb, void *cls);
enum pb_qs
pb_pg_import_chunk_put(struct pb_conn *conn, const char *account_id, const char *import_id,
                       int64_t n, const unsigned char *sealed, size_t len);
enum pb_qs
pb_pg_import_chunk_get(struct pb_conn *conn, const char *account_id, const char *import_id,
                       int64_t n, unsigned char *out, size_t *len);
enum pb_qs
pb_pg_import_chunks_delete(struct pb_conn *conn, const char *account_id, const char *import_id);
enum pb_qs
pb_pg_import_reject_insert_many(struct pb_conn *conn, const char *account_id, const char *import_id,
                                const struct pb_import_reject *rejects, int n);
enum pb_qs
pb_pg_import_reject_list(struct pb_conn *conn, const char *account_id, const char *import_id,
                         int64_t after_line, int limit, pb_import_reject_cb cb, void *cls);

/* relays.c: an account's SMTP relay, DKIM keys and suppressed addresses */
enum pb_qs
pb_pg_relay_put(struct pb_conn *conn, const struct pb_smtp_relay *relay);
enum pb_qs
pb_pg_relay_get(struct pb_conn *conn, const char *account_id, struct pb_smtp_relay *out);
enum pb_qs
pb_pg_dkim_put(struct pb_conn *conn, const struct pb_dkim_row *key);
enum pb_qs
pb_pg_dkim_list(struct pb_conn *conn, const char *account_id, pb_dkim_cb cb, void *cls);
enum pb_qs
pb_pg_dkim_delete(struct pb_conn *conn, const char *account_id, const char *domain,
                  const char *selector);
enum pb_qs
pb_pg_suppression_put(struct pb_conn *conn, const char *account_id,
                      const unsigned char hash[PB_HASH_BYTES], const char *reason, int64_t at);
enum pb_qs
pb_pg_suppression_exists(struct pb_conn *conn, const char *account_id,
                         const unsigned char hash[PB_HASH_BYTES]);
enum pb_qs
pb_pg_contact_set_suppressed(struct pb_conn *conn, const char *account_id, const char *contact_id,
                             int64_t at);

/* campaigns.c: campaigns with their lists, links, recipients and clicks */
enum pb_qs
pb_pg_campaign_insert(struct pb_conn *conn, const struct pb_campaign *campaign);
enum pb_qs
pb_pg_campaign_update(struct pb_conn *conn, const struct pb_campaign *campaign);
enum pb_qs
pb_pg_campaign_get(struct pb_conn *conn, const char *account_id, const char *id, bool bodies,
                   struct pb_campaign *out);
enum pb_qs
pb_pg_campaign_list(struct pb_conn *conn, const char *account_id, const char *before_id, int limit,
                    pb_campaign_cb cb, void *cls);
enum pb_qs
pb_pg_campaign_delete(struct pb_conn *conn, const char *account_id, const char *id);
enum pb_qs
pb_pg_campaign_transition(struct pb_conn *conn, const char *account_id, const char *id,
                          const char *from, const char *to, int64_t now, int64_t scheduled_at,
                          const char *error);
enum pb_qs
pb_pg_campaign_set_prepared(struct pb_conn *conn, const char *account_id, const char *id);
enum pb_qs
pb_pg_campaign_due(struct pb_conn *conn, int64_t now, int limit, pb_campaign_cb cb, void *cls);
enum pb_qs
pb_pg_campaign_sending(struct pb_conn *conn, const char *after_id, int limit, pb_campaign_cb cb,
                       void *cls);
enum pb_qs
pb_pg_campaign_counters_add(struct pb_conn *conn, const char *account_id, const char *id,
                            const struct pb_campaign_counters *delta);
enum pb_qs
pb_pg_link_replace(struct pb_conn *conn, const char *account_id, const char *campaign_id,
                   const char *const *urls, int n);
enum pb_qs
pb_pg_link_list(struct pb_conn *conn, const char *account_id, const char *campaign_id,
                pb_campaign_link_cb cb, void *cls);
enum pb_qs
pb_pg_link_get(struct pb_conn *conn, const char *account_id, const char *campaign_id, int n,
               struct pb_campaign_link *out);
enum pb_qs
pb_pg_link_counters_add(struct pb_conn *conn, const char *account_id, const char *campaign_id,
                        int n, int64_t unique, int64_t total);
enum pb_qs
pb_pg_recipient_snapshot(struct pb_conn *conn, const char *account_id, const char *campaign_id,
                         const char *after_contact_id, int limit, char last[PB_ID_LEN + 1],
                         int64_t *added);
enum pb_qs
pb_pg_recipient_claim(struct pb_conn *conn, const char *account_id, const char *campaign_id,
                      int64_t now, const char *owner, int64_t lease_until, int limit,
                      pb_recipient_cb cb, void *cls);
enum pb_qs
pb_pg_recipient_finish_many(struct pb_conn *conn, const char *account_id, const char *campaign_id,
                            const char *owner, const struct pb_recipient_outcome *outcomes, int n,
                            bool *applied);
enum pb_qs
pb_pg_recipient_pending(struct pb_conn *conn, const char *account_id, const char *campaign_id,
                        int64_t *count);
enum pb_qs
pb_pg_recipient_sent_since(struct pb_conn *conn, const char *account_id, const char *campaign_id,
                           int64_t since, int64_t *count);
enum pb_qs
pb_pg_recipient_get(struct pb_conn *conn, const char *account_id, const char *campaign_id,
                    const char *contact_id, struct pb_recipient *out);
enum pb_qs
pb_pg_recipient_open(struct pb_conn *conn, const char *account_id, const char *campaign_id,
                     const char *contact_id, int64_t now, bool *first);
enum pb_qs
pb_pg_recipient_click(struct pb_conn *conn, const char *account_id, const char *campaign_id,
                      const char *contact_id, int n, int64_t now, bool *first_link,
                      bool *first_any);
enum pb_qs
pb_pg_recipient_unsubscribed(struct pb_conn *conn, const char *account_id, const char *campaign_id,
                             const char *contact_id, int64_t now, bool *first);
enum pb_qs
pb_pg_recipient_list_for_contact(struct pb_conn *conn, const char *account_id,
                                 const char *contact_id, pb_received_cb cb, void *cls);
enum pb_qs
pb_pg_recipient_load(struct pb_conn *conn, const char *account_id, const char *campaign_id,
                     const pb_id_text *contact_ids, int n, pb_recipient_contact_cb contact_cb,
                     pb_contact_value_cb value_cb, void *cls);

/* erasure.c: wiping a contact's data, erasure receipts, suppression, storage limitation */
enum pb_qs
pb_pg_value_delete_for_contact(struct pb_conn *conn, const char *account_id, const char *contact_id,
                               int64_t *n);
enum pb_qs
pb_pg_evidence_erase_for_contact(struct pb_conn *conn, const char *account_id,
                                 const char *contact_id, int64_t *n);
enum pb_qs
pb_pg_recipient_wipe_errors(struct pb_conn *conn, const char *account_id, const char *contact_id,
                            int64_t *n);
enum pb_qs
pb_pg_event_wipe_personal_count(struct pb_conn *conn, const char *account_id,
                                const char *contact_id, int64_t *n);
enum pb_qs
pb_pg_erasure_insert(struct pb_conn *conn, const struct pb_erasure *erasure);
enum pb_qs
pb_pg_erasure_list(struct pb_conn *conn, const char *account_id, const char *before_id, int limit,
                   pb_erasure_cb cb, void *cls);
enum pb_qs
pb_pg_erasure_get_for_contact(struct pb_conn *conn, const char *account_id, const char *contact_id,
                              struct pb_erasure *out);
enum pb_qs
pb_pg_suppression_get(struct pb_conn *conn, const char *account_id,
                      const unsigned char hash[PB_HASH_BYTES], char reason[16], int64_t *at);
enum pb_qs
pb_pg_suppression_exists_many(struct pb_conn *conn, const char *account_id,
                              const unsigned char (*hashes)[PB_HASH_BYTES], int n, bool *has);
enum pb_qs
pb_pg_suppression_delete(struct pb_conn *conn, const char *account_id,
                         const unsigned char hash[PB_HASH_BYTES]);
enum pb_qs
pb_pg_contact_list_expired(struct pb_conn *conn, const char *account_id, int64_t unlisted_before,
                           int64_t unconfirmed_before, const char *after_id, int limit,
                           pb_contact_cb cb, void *cls);
enum pb_qs
pb_pg_checkpoint(struct pb_conn *conn);

/* contacts.c: the columns of a contact row ("c" is contacts) and their reader (a struct
 * pb_contact). */
#define PB_PG_CONTACT_COLUMNS                                                                      \
    "c.id, c.account_id, encode(c.email_sealed, 'hex'), encode(c.email_bidx, 'hex'), c.status,"    \
    " c.pseudonym, c.created_at, c.updated_at, c.suppressed_at"

bool
pb_pg_read_contact(const PGresult *res, int row, void *dst);

/* campaign_timeline.c: a campaign's sends over time */
enum pb_qs
pb_pg_recipient_sent_histogram(struct pb_conn *conn, const char *account_id,
                               const char *campaign_id, int64_t from, int64_t bucket_seconds, int n,
                               int64_t *sent);

#endif
