/*
 * The SQLite backend's private parts: the connection with its cache of
 * prepared statements, the helpers every aggregate file uses, and the
 * operations each of those files provides to the ops table in conn.c.
 */
#ifndef PB_STORE_SQLITE_INTERNAL_H
#define PB_STORE_SQLITE_INTERNAL_H

#include <sqlite3.h>

#include "store/store.h"

/* Every cached statement has a slot; the SQL stays next to the function using it. */
enum pb_sq_stmt {
    PB_SQ_VERSION_TABLE,
    PB_SQ_VERSION_MAX,
    PB_SQ_VERSION_INSERT,
    PB_SQ_ACCOUNT_INSERT,
    PB_SQ_ACCOUNT_GET,
    PB_SQ_ACCOUNT_LIST,
    PB_SQ_REGION_INSERT,
    PB_SQ_REGION_GET,
    PB_SQ_REGION_LIST,
    PB_SQ_PLACEMENT_SET,
    PB_SQ_PLACEMENT_GET,
    PB_SQ_ACCOUNT_SET_REQUIRE_2FA,
    PB_SQ_ACCOUNT_SET_DATA_KEY,
    PB_SQ_USER_INSERT,
    PB_SQ_USER_GET,
    PB_SQ_USER_GET_BY_EMAIL,
    PB_SQ_USER_LIST,
    PB_SQ_USER_COUNT_ROLE,
    PB_SQ_USER_UPDATE,
    PB_SQ_USER_ADVANCE_TOTP_STEP,
    PB_SQ_USER_DELETE,
    PB_SQ_SESSION_INSERT,
    PB_SQ_SESSION_GET,
    PB_SQ_SESSION_TOUCH,
    PB_SQ_SESSION_DELETE,
    PB_SQ_SESSION_DELETE_FOR_USER,
    PB_SQ_RECOVERY_DELETE_ALL,
    PB_SQ_RECOVERY_INSERT,
    PB_SQ_RECOVERY_USE,
    PB_SQ_RECOVERY_REMAINING,
    PB_SQ_RESET_INSERT,
    PB_SQ_RESET_CONSUME,
    PB_SQ_API_KEY_INSERT,
    PB_SQ_API_KEY_GET_BY_HASH,
    PB_SQ_API_KEY_LIST,
    PB_SQ_API_KEY_DELETE,
    PB_SQ_API_KEY_TOUCH,
    PB_SQ_AUDIT_INSERT,
    PB_SQ_AUDIT_LIST,
    PB_SQ_THROTTLE_GET,
    PB_SQ_THROTTLE_FAIL,
    PB_SQ_THROTTLE_CLEAR,
    PB_SQ_OUTBOX_INSERT,
    PB_SQ_OUTBOX_DUE,
    PB_SQ_OUTBOX_LEASE,
    PB_SQ_OUTBOX_DELETE,
    PB_SQ_OUTBOX_RETRY,
    PB_SQ_FIELD_INSERT,
    PB_SQ_FIELD_GET,
    PB_SQ_FIELD_LIST,
    PB_SQ_FIELD_UPDATE,
    PB_SQ_FIELD_DELETE_VALUES,
    PB_SQ_FIELD_DELETE,
    PB_SQ_VALUE_PUT,
    PB_SQ_VALUE_DELETE,
    PB_SQ_VALUE_LIST,
    PB_SQ_VALUE_LIST_FIELD,
    PB_SQ_LIST_INSERT,
    PB_SQ_LIST_GET,
    PB_SQ_LIST_LIST,
    PB_SQ_LIST_UPDATE,
    PB_SQ_LIST_DELETE,
    PB_SQ_MEMBERSHIP_STATE,
    PB_SQ_MEMBERSHIP_UPSERT,
    PB_SQ_MEMBERSHIP_COUNT,
    PB_SQ_MEMBERSHIP_LIST,
    PB_SQ_CONTACT_INSERT,
    PB_SQ_CONTACT_GET,
    PB_SQ_CONTACT_GET_BY_BIDX,
    PB_SQ_CONTACT_LIST,
    PB_SQ_CONTACT_LIST_IN_LIST,
    PB_SQ_CONTACT_UPDATE,
    PB_SQ_STATEMENT_EVIDENCE_CHECK,
    PB_SQ_STATEMENT_INSERT,
    PB_SQ_STATEMENT_LINK,
    PB_SQ_STATEMENT_GET,
    PB_SQ_STATEMENT_GET_EVIDENCE,
    PB_SQ_EVIDENCE_INSERT,
    PB_SQ_EVIDENCE_GET,
    PB_SQ_EVIDENCE_GET_BY_SHA,
    PB_SQ_EVENT_LAST,
    PB_SQ_EVENT_APPEND,
    PB_SQ_EVENT_PERSONAL_INSERT,
    PB_SQ_EVENT_LIST_FOR_CONTACT,
    PB_SQ_EVENT_SCAN,
    PB_SQ_EVENT_WIPE_PERSONAL,
    PB_SQ_EVENT_HEAD_PUT,
    PB_SQ_EVENT_HEAD_GET,
    PB_SQ_JOB_INSERT,
    PB_SQ_JOB_GET,
    PB_SQ_JOB_DUE,
    PB_SQ_JOB_LEASE,
    PB_SQ_JOB_CHECKPOINT,
    PB_SQ_JOB_FINISH,
    PB_SQ_JOB_DUE_ID,
    PB_SQ_CONTACT_FIND_MANY,
    PB_SQ_CONTACT_INSERT_MANY,
    PB_SQ_VALUE_PUT_MANY_OWNER,
    PB_SQ_VALUE_PUT_MANY,
    PB_SQ_SUBSCRIBE_LIST_CHECK,
    PB_SQ_SUBSCRIBE_MANY,
    PB_SQ_SUBSCRIBE_COUNT,
    PB_SQ_EVENT_REF_EXISTS,
    PB_SQ_IMPORT_CHUNK_PUT,
    PB_SQ_IMPORT_CHUNK_GET,
    PB_SQ_IMPORT_CHUNKS_DELETE,
    PB_SQ_IMPORT_REJECT_INSERT,
    PB_SQ_IMPORT_REJECT_LIST,
    PB_SQ_ACCOUNT_SET_TRACKING,
    PB_SQ_RELAY_PUT,
    PB_SQ_RELAY_GET,
    PB_SQ_DKIM_PUT,
    PB_SQ_DKIM_LIST,
    PB_SQ_DKIM_DELETE,
    PB_SQ_SUPPRESSION_PUT,
    PB_SQ_SUPPRESSION_EXISTS,
    PB_SQ_CONTACT_SET_SUPPRESSED,
    PB_SQ_CAMPAIGN_LIST_CHECK,
    PB_SQ_CAMPAIGN_OWNED,
    PB_SQ_CAMPAIGN_INSERT,
    PB_SQ_CAMPAIGN_LISTS_INSERT,
    PB_SQ_CAMPAIGN_LISTS_DELETE,
    PB_SQ_CAMPAIGN_UPDATE,
    PB_SQ_CAMPAIGN_GET,
    PB_SQ_CAMPAIGN_GET_BODIES,
    PB_SQ_CAMPAIGN_LIST,
    PB_SQ_CAMPAIGN_DELETE,
    PB_SQ_CAMPAIGN_TRANSITION,
    PB_SQ_CAMPAIGN_SET_PREPARED,
    PB_SQ_CAMPAIGN_DUE,
    PB_SQ_CAMPAIGN_SENDING,
    PB_SQ_CAMPAIGN_COUNTERS_ADD,
    PB_SQ_LINK_DELETE,
    PB_SQ_LINK_INSERT,
    PB_SQ_LINK_LIST,
    PB_SQ_LINK_GET,
    PB_SQ_LINK_COUNTERS_ADD,
    PB_SQ_SNAPSHOT_BOUND,
    PB_SQ_SNAPSHOT_LAST,
    PB_SQ_SNAPSHOT_INSERT,
    PB_SQ_RECIPIENT_CLAIMABLE,
    PB_SQ_RECIPIENT_LEASE,
    PB_SQ_RECIPIENT_FINISH,
    PB_SQ_RECIPIENT_PENDING,
    PB_SQ_RECIPIENT_SENT_SINCE,
    PB_SQ_RECIPIENT_GET,
    PB_SQ_RECIPIENT_OPEN,
    PB_SQ_RECIPIENT_CLICK,
    PB_SQ_RECIPIENT_CLICK_LINK,
    PB_SQ_RECIPIENT_UNSUBSCRIBED,
    PB_SQ_RECIPIENT_EXISTS,
    PB_SQ_RECIPIENT_LIST_FOR_CONTACT,
    PB_SQ_RECIPIENT_LOAD_CONTACTS,
    PB_SQ_RECIPIENT_LOAD_VALUES,
    /* issue 7: accounts.c (storage limits) and erasure.c */
    PB_SQ_ACCOUNT_SET_STORAGE_LIMITS,
    PB_SQ_ACCOUNT_CLAIM_STORAGE_SWEEP,
    PB_SQ_VALUE_DELETE_FOR_CONTACT,
    PB_SQ_EVIDENCE_ERASABLE,
    PB_SQ_EVIDENCE_UNLINK,
    PB_SQ_EVIDENCE_DELETE,
    PB_SQ_RECIPIENT_WIPE_ERRORS,
    PB_SQ_EVENT_WIPE_PERSONAL_COUNT,
    PB_SQ_ERASURE_INSERT,
    PB_SQ_ERASURE_LIST,
    PB_SQ_ERASURE_GET_FOR_CONTACT,
    PB_SQ_SUPPRESSION_GET,
    PB_SQ_SUPPRESSION_EXISTS_MANY,
    PB_SQ_SUPPRESSION_DELETE,
    PB_SQ_CONTACT_LIST_EXPIRED,
    /* issue 8: campaign_timeline.c */
    PB_SQ_RECIPIENT_SENT_HISTOGRAM,
    PB_SQ_CHECKPOINT,
    PB_SQ_COUNT
};

struct pb_sqlite_conn {
    sqlite3 *db;
    char path[PB_STORE_URL_MAX + 1];
    sqlite3_stmt *stmts[PB_SQ_COUNT];
};

/* The backend's view of the opaque connection. */
static inline struct pb_sqlite_conn *
pb_sqlite_conn(struct pb_conn *conn)
{
    return (struct pb_sqlite_conn *)conn;
}

/* Maps a failed SQLite result code to SOFT (busy, locked) or HARD, logging it. */
enum pb_qs
pb_sqlite_fail(struct pb_sqlite_conn *c, int rc, const char *what);

/* The cached statement `id`, prepared from `sql` on first use. */
enum pb_qs
pb_sqlite_prepare(struct pb_sqlite_conn *c, enum pb_sq_stmt id, const char *sql,
                  sqlite3_stmt **out);

/* Resets a statement after use and clears its bindings. */
void
pb_sqlite_done(sqlite3_stmt *st);

/* Runs a statement that returns no rows; PB_QS_NONE/ONE/N from the rows changed. */
enum pb_qs
pb_sqlite_step_change(struct pb_sqlite_conn *c, sqlite3_stmt *st, const char *what);

/* Copies text column `col` into `dst`; false when it is NULL or does not fit. */
bool
pb_sqlite_column_text(sqlite3_stmt *st, int col, char *dst, size_t size);

/*
 * Copies blob column `col` into `dst` (room for `cap` bytes) and its length
 * into `*len` (0 for NULL); false when it does not fit.
 */
bool
pb_sqlite_column_blob(sqlite3_stmt *st, int col, unsigned char *dst, size_t cap, size_t *len);

/* Binds `len` bytes at `src` as a blob, or NULL when `len` is 0. */
void
pb_sqlite_bind_blob(sqlite3_stmt *st, int i, const unsigned char *src, size_t len);

/* Binds `s` as text, or NULL when it is NULL or "". */
static inline void
pb_sqlite_bind_opt_text(sqlite3_stmt *st, int i, const char *s)
{
    if (s == NULL || *s == '\0')
        sqlite3_bind_null(st, i);
    else
        sqlite3_bind_text(st, i, s, -1, SQLITE_STATIC);
}

/* Copies text column `col` into `dst` ("" for NULL); false when it does not fit. */
static inline bool
pb_sqlite_column_opt_text(sqlite3_stmt *st, int col, char *dst, size_t size)
{
    if (sqlite3_column_type(st, col) == SQLITE_NULL) {
        dst[0] = '\0';
        return true;
    }
    return pb_sqlite_column_text(st, col, dst, size);
}

/* NONE, ONE or N for a count of rows. */
static inline enum pb_qs
pb_sqlite_rows(int n)
{
    return n == 0 ? PB_QS_NONE : n == 1 ? PB_QS_ONE : PB_QS_N;
}

/* Reads the current row of `st` into `dst` (a struct); false, logged, when it does not fit. */
typedef bool (*pb_sqlite_read_fn)(sqlite3_stmt *st, void *dst);

/*
 * Steps a statement selecting at most one row (its parameters bound) and
 * reads it into `dst` with `read`: PB_QS_ONE, NONE when there is no row, or
 * an error (HARD when the row does not fit). The statement is reset.
 */
static inline enum pb_qs
pb_sqlite_get_one(struct pb_sqlite_conn *c, sqlite3_stmt *st, pb_sqlite_read_fn read, void *dst,
                  const char *what)
{
    enum pb_qs qs;
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW)
        qs = read(st, dst) ? PB_QS_ONE : PB_QS_HARD_ERROR;
    else if (rc == SQLITE_DONE)
        qs = PB_QS_NONE;
    else
        qs = pb_sqlite_fail(c, rc, what);
    pb_sqlite_done(st);
    return qs;
}

/*
 * Steps to the next row of a statement selecting many: true with that row
 * to read. At the end, or on an error, false with the statement reset and
 * `*qs` the answer: NONE, ONE or N from the `n` rows read before, or the
 * error. A loop over the rows:
 *
 *     for (int n = 0; pb_sqlite_next(c, st, n, &qs, what); n++) {
 *         if (!read_x(st, &x))
 *             return pb_sqlite_bad_row(st);
 *         cb(cls, &x);
 *     }
 *     return qs;
 */
static inline bool
pb_sqlite_next(struct pb_sqlite_conn *c, sqlite3_stmt *st, int n, enum pb_qs *qs, const char *what)
{
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW)
        return true;
    *qs = rc == SQLITE_DONE ? pb_sqlite_rows(n) : pb_sqlite_fail(c, rc, what);
    pb_sqlite_done(st);
    return false;
}

/* Leaves a statement whose row did not fit its struct (its reader said so): reset, HARD. */
static inline enum pb_qs
pb_sqlite_bad_row(sqlite3_stmt *st)
{
    pb_sqlite_done(st);
    return PB_QS_HARD_ERROR;
}

/* Steps a statement (its parameters bound): PB_QS_ONE when it finds a row, NONE when not. */
static inline enum pb_qs
pb_sqlite_exists(struct pb_sqlite_conn *c, sqlite3_stmt *st, const char *what)
{
    int rc = sqlite3_step(st);
    enum pb_qs qs = rc == SQLITE_ROW    ? PB_QS_ONE
                    : rc == SQLITE_DONE ? PB_QS_NONE
                                        : pb_sqlite_fail(c, rc, what);
    pb_sqlite_done(st);
    return qs;
}

/* migrations.c */
enum pb_err
pb_sqlite_migrate(struct pb_conn *conn, int *from, int *to, char why[PB_WHY_MAX]);
/* Like pb_sqlite_migrate, but stops at schema version `target` (for the tests of upgrades). */
enum pb_err
pb_sqlite_migrate_to(struct pb_conn *conn, int target, int *from, int *to, char why[PB_WHY_MAX]);
enum pb_qs
pb_sqlite_schema_version(struct pb_conn *conn, int *version);

/* accounts.c */
enum pb_qs
pb_sqlite_account_insert(struct pb_conn *conn, const struct pb_account *account);
enum pb_qs
pb_sqlite_account_get(struct pb_conn *conn, const char *id, struct pb_account *out);
enum pb_qs
pb_sqlite_account_list(struct pb_conn *conn, const char *after_id, int limit, pb_account_cb cb,
                       void *cls);
enum pb_qs
pb_sqlite_account_set_require_2fa(struct pb_conn *conn, const char *id, bool on);
enum pb_qs
pb_sqlite_account_set_data_key(struct pb_conn *conn, const char *id, const unsigned char *wrapped,
                               size_t len);
enum pb_qs
pb_sqlite_account_set_tracking(struct pb_conn *conn, const char *id, const char *tracking);
enum pb_qs
pb_sqlite_account_set_storage_limits(struct pb_conn *conn, const char *id, int unlisted_days,
                                     int unconfirmed_days);
enum pb_qs
pb_sqlite_account_claim_storage_sweep(struct pb_conn *conn, const char *id, int64_t now,
                                      int64_t due_before);

/* regions.c */
enum pb_qs
pb_sqlite_region_insert(struct pb_conn *conn, const struct pb_region *region);
enum pb_qs
pb_sqlite_region_get(struct pb_conn *conn, const char *name, struct pb_region *out);
enum pb_qs
pb_sqlite_region_list(struct pb_conn *conn, pb_region_cb cb, void *cls);

/* placements.c */
enum pb_qs
pb_sqlite_placement_set(struct pb_conn *conn, const char *account_id, const char *region);
enum pb_qs
pb_sqlite_placement_get(struct pb_conn *conn, const char *account_id,
                        char region[PB_REGION_NAME_MAX + 1]);

/* users.c */
enum pb_qs
pb_sqlite_user_insert(struct pb_conn *conn, const struct pb_user *user);
enum pb_qs
pb_sqlite_user_get(struct pb_conn *conn, const char *id, struct pb_user *out);
enum pb_qs
pb_sqlite_user_get_by_email(struct pb_conn *conn, const char *email, struct pb_user *out);
enum pb_qs
pb_sqlite_user_list(struct pb_conn *conn, const char *account_id, const char *after_id, int limit,
                    pb_user_cb cb, void *cls);
enum pb_qs
pb_sqlite_user_count_role(struct pb_conn *conn, const char *account_id, const char *role,
                          long *count);
enum pb_qs
pb_sqlite_user_update(struct pb_conn *conn, const struct pb_user *user);
enum pb_qs
pb_sqlite_user_advance_totp_step(struct pb_conn *conn, const char *user_id, int64_t step);
enum pb_qs
pb_sqlite_user_delete(struct pb_conn *conn, const char *id);

/* sessions.c */
enum pb_qs
pb_sqlite_session_insert(struct pb_conn *conn, const struct pb_session *session);
enum pb_qs
pb_sqlite_session_get(struct pb_conn *conn, const unsigned char hash[PB_HASH_BYTES],
                      struct pb_session *out);
enum pb_qs
pb_sqlite_session_touch(struct pb_conn *conn, const unsigned char hash[PB_HASH_BYTES], int64_t now);
enum pb_qs
pb_sqlite_session_delete(struct pb_conn *conn, const unsigned char hash[PB_HASH_BYTES]);
enum pb_qs
pb_sqlite_session_delete_for_user(struct pb_conn *conn, const char *user_id);

/* secrets.c */
enum pb_qs
pb_sqlite_recovery_codes_replace(struct pb_conn *conn, const char *user_id,
                                 const unsigned char (*hashes)[PB_HASH_BYTES], int n);
enum pb_qs
pb_sqlite_recovery_code_use(struct pb_conn *conn, const char *user_id,
                            const unsigned char hash[PB_HASH_BYTES], int64_t now);
enum pb_qs
pb_sqlite_recovery_codes_remaining(struct pb_conn *conn, const char *user_id, long *count);
enum pb_qs
pb_sqlite_reset_insert(struct pb_conn *conn, const unsigned char hash[PB_HASH_BYTES],
                       const char *user_id, int64_t expires_at);
enum pb_qs
pb_sqlite_reset_consume(struct pb_conn *conn, const unsigned char hash[PB_HASH_BYTES], int64_t now,
                        char user_id[PB_ID_LEN + 1]);

/* api_keys.c */
enum pb_qs
pb_sqlite_api_key_insert(struct pb_conn *conn, const struct pb_api_key *key);
enum pb_qs
pb_sqlite_api_key_get_by_hash(struct pb_conn *conn, const unsigned char hash[PB_HASH_BYTES],
                              struct pb_api_key *out);
enum pb_qs
pb_sqlite_api_key_list(struct pb_conn *conn, const char *user_id, pb_api_key_cb cb, void *cls);
enum pb_qs
pb_sqlite_api_key_delete(struct pb_conn *conn, const char *user_id, const char *id);
enum pb_qs
pb_sqlite_api_key_touch(struct pb_conn *conn, const char *id, int64_t now);

/* audit.c */
enum pb_qs
pb_sqlite_audit_insert(struct pb_conn *conn, const struct pb_audit_entry *entry);
enum pb_qs
pb_sqlite_audit_list(struct pb_conn *conn, const char *account_id, const char *before_id, int limit,
                     pb_audit_cb cb, void *cls);

/* throttle.c */
enum pb_qs
pb_sqlite_throttle_get(struct pb_conn *conn, const char *key, struct pb_throttle *out);
enum pb_qs
pb_sqlite_throttle_fail(struct pb_conn *conn, const char *key, int64_t now);
enum pb_qs
pb_sqlite_throttle_clear(struct pb_conn *conn, const char *key);

/* outbox.c */
enum pb_qs
pb_sqlite_outbox_insert(struct pb_conn *conn, const struct pb_outbox_mail *mail);
enum pb_qs
pb_sqlite_outbox_claim(struct pb_conn *conn, int64_t now, int64_t lease_until, int limit,
                       pb_outbox_cb cb, void *cls);
enum pb_qs
pb_sqlite_outbox_delete(struct pb_conn *conn, const char *id);
enum pb_qs
pb_sqlite_outbox_retry(struct pb_conn *conn, const char *id, int attempts, int64_t next_attempt_at);

/* fields.c */
enum pb_qs
pb_sqlite_field_insert(struct pb_conn *conn, const struct pb_field *field);
enum pb_qs
pb_sqlite_field_get(struct pb_conn *conn, const char *account_id, const char *key,
                    struct pb_field *out);
enum pb_qs
pb_sqlite_field_list(struct pb_conn *conn, const char *account_id, pb_field_cb cb, void *cls);
enum pb_qs
pb_sqlite_field_update(struct pb_conn *conn, const struct pb_field *field);
enum pb_qs
pb_sqlite_field_delete(struct pb_conn *conn, const char *account_id, const char *key);
enum pb_qs
pb_sqlite_value_put(struct pb_conn *conn, const struct pb_contact_value *value);
enum pb_qs
pb_sqlite_value_delete(struct pb_conn *conn, const char *account_id, const char *contact_id,
                       const char *field_key);
enum pb_qs
pb_sqlite_value_list(struct pb_conn *conn, const char *account_id, const char *contact_id,
                     pb_contact_value_cb cb, void *cls);
enum pb_qs
pb_sqlite_value_list_field(struct pb_conn *conn, const char *account_id, const char *field_key,
                           const char *after_contact_id, int limit, pb_contact_value_cb cb,
                           void *cls);

/* lists.c */
enum pb_qs
pb_sqlite_list_insert(struct pb_conn *conn, const struct pb_list *list);
enum pb_qs
pb_sqlite_list_get(struct pb_conn *conn, const char *account_id, const char *id,
                   struct pb_list *out);
enum pb_qs
pb_sqlite_list_list(struct pb_conn *conn, const char *account_id, const char *after_id, int limit,
                    pb_list_cb cb, void *cls);
enum pb_qs
pb_sqlite_list_update(struct pb_conn *conn, const struct pb_list *list);
enum pb_qs
pb_sqlite_list_delete(struct pb_conn *conn, const char *account_id, const char *id);
enum pb_qs
pb_sqlite_membership_put(struct pb_conn *conn, const char *account_id, const char *list_id,
                         const char *contact_id, const char *status, const char *statement_id,
                         int64_t since);
enum pb_qs
pb_sqlite_membership_list_for_contact(struct pb_conn *conn, const char *account_id,
                                      const char *contact_id, pb_membership_cb cb, void *cls);

/* contacts.c */
enum pb_qs
pb_sqlite_contact_insert(struct pb_conn *conn, const struct pb_contact *contact);
enum pb_qs
pb_sqlite_contact_get(struct pb_conn *conn, const char *account_id, const char *id,
                      struct pb_contact *out);
enum pb_qs
pb_sqlite_contact_get_by_bidx(struct pb_conn *conn, const char *account_id,
                              const unsigned char *bidx, size_t bidx_len, struct pb_contact *out);
enum pb_qs
pb_sqlite_contact_list(struct pb_conn *conn, const char *account_id, const char *list_id,
                       const char *after_id, int limit, pb_contact_cb cb, void *cls);
enum pb_qs
pb_sqlite_contact_update(struct pb_conn *conn, const struct pb_contact *contact);
enum pb_qs
pb_sqlite_contact_set_suppressed(struct pb_conn *conn, const char *account_id,
                                 const char *contact_id, int64_t at);

/* evidence.c */
enum pb_qs
pb_sqlite_evidence_insert(struct pb_conn *conn, const struct pb_evidence *evidence,
                          const unsigned char *sealed, size_t sealed_len);
enum pb_qs
pb_sqlite_evidence_get(struct pb_conn *conn, const char *account_id, const char *id,
                       struct pb_evidence *out, unsigned char **sealed, size_t *sealed_len);
enum pb_qs
pb_sqlite_evidence_get_by_sha(struct pb_conn *conn, const char *account_id,
                              const unsigned char sha256[PB_SHA256_BYTES], struct pb_evidence *out);

/* consent.c */
enum pb_qs
pb_sqlite_statement_insert(struct pb_conn *conn, const struct pb_consent_statement *st);
enum pb_qs
pb_sqlite_statement_get(struct pb_conn *conn, const char *account_id, const char *id,
                        struct pb_consent_statement *out);
enum pb_qs
pb_sqlite_event_last(struct pb_conn *conn, const char *account_id, int64_t *seq,
                     unsigned char hash[PB_EVENT_HASH_BYTES]);
enum pb_qs
pb_sqlite_event_append(struct pb_conn *conn, const struct pb_consent_event *event,
                       const struct pb_consent_personal *personal);
enum pb_qs
pb_sqlite_event_list_for_contact(struct pb_conn *conn, const char *account_id,
                                 const char *contact_id, pb_consent_event_cb cb, void *cls);
enum pb_qs
pb_sqlite_event_scan(struct pb_conn *conn, const char *account_id, int64_t after_seq, int limit,
                     pb_consent_event_cb cb, void *cls);
enum pb_qs
pb_sqlite_event_head(struct pb_conn *conn, const char *account_id, int64_t *seq,
                     unsigned char hash[PB_EVENT_HASH_BYTES]);
enum pb_qs
pb_sqlite_event_wipe_personal(struct pb_conn *conn, const char *account_id, const char *contact_id);
/*
 * For event_append and event_append_many: inserts the hashed part of an
 * event (PB_QS_SOFT_ERROR when its seq is taken), and moves the head to it.
 */
enum pb_qs
pb_sqlite_event_insert(struct pb_sqlite_conn *c, const struct pb_consent_event *event);
enum pb_qs
pb_sqlite_event_head_put(struct pb_sqlite_conn *c, const struct pb_consent_event *event);

/* jobs.c */
enum pb_qs
pb_sqlite_job_insert(struct pb_conn *conn, const struct pb_job *job);
enum pb_qs
pb_sqlite_job_get(struct pb_conn *conn, const char *account_id, const char *id, struct pb_job *out);
enum pb_qs
pb_sqlite_job_claim(struct pb_conn *conn, int64_t now, const char *owner, int64_t lease_until,
                    const char *kinds, struct pb_job *out);
enum pb_qs
pb_sqlite_job_checkpoint(struct pb_conn *conn, int64_t now, const char *id, const char *owner,
                         const char *cursor, int64_t done, int64_t total, int64_t lease_until);
enum pb_qs
pb_sqlite_job_finish(struct pb_conn *conn, int64_t now, const char *id, const char *owner,
                     const char *state, const char *result, const char *error);
enum pb_qs
pb_sqlite_job_claim_id(struct pb_conn *conn, int64_t now, const char *account_id, const char *id,
                       const char *owner, int64_t lease_until, struct pb_job *out);

/* imports.c */
enum pb_qs
pb_sqlite_contact_find_many(struct pb_conn *conn, const char *account_id,
                            const unsigned char (*bidx)[PB_BIDX_MAX], int n, pb_id_text *ids);
enum pb_qs
pb_sqlite_contact_insert_many(struct pb_conn *conn, const struct pb_contact *contacts, int n);
enum pb_qs
pb_sqlite_value_put_many(struct pb_conn *conn, const char *account_id,
                         const struct pb_value_ref *values, int n);
enum pb_qs
pb_sqlite_membership_subscribe_many(struct pb_conn *conn, const char *account_id,
                                    const char *list_id, const pb_id_text *contact_ids, int n,
                                    const char *statement_id, int64_t since, bool *changed);
enum pb_qs
pb_sqlite_event_append_many(struct pb_conn *conn, const struct pb_consent_event *events, int n);
enum pb_qs
pb_sqlite_event_ref_exists_many(struct pb_conn *conn, const char *account_id, const char *ref,
                                const pb_id_text *contact_ids, int n, bool *has);
enum pb_qs
pb_sqlite_value_list_many(struct pb_conn *conn, const char *account_id,
                          const pb_id_text *contact_ids, int n, pb_contact_value_cb cb, void *cls);
enum pb_qs
pb_sqlite_import_chunk_put(struct pb_conn *conn, const char *account_id, const char *import_id,
                           int64_t n, const unsigned char *sealed, size_t len);
enum pb_qs
pb_sqlite_import_chunk_get(struct pb_conn *conn, const char *account_id, const char *import_id,
                           int64_t n, unsigned char *out, size_t *len);
enum pb_qs
pb_sqlite_import_chunks_delete(struct pb_conn *conn, const char *account_id, const char *import_id);
enum pb_qs
pb_sqlite_import_reject_insert_many(struct pb_conn *conn, const char *account_id,
                                    const char *import_id, const struct pb_import_reject *rejects,
                                    int n);
enum pb_qs
pb_sqlite_import_reject_list(struct pb_conn *conn, const char *account_id, const char *import_id,
                             int64_t after_line, int limit, pb_import_reject_cb cb, void *cls);

/* relays.c */
enum pb_qs
pb_sqlite_relay_put(struct pb_conn *conn, const struct pb_smtp_relay *relay);
enum pb_qs
pb_sqlite_relay_get(struct pb_conn *conn, const char *account_id, struct pb_smtp_relay *out);
enum pb_qs
pb_sqlite_dkim_put(struct pb_conn *conn, const struct pb_dkim_row *key);
enum pb_qs
pb_sqlite_dkim_list(struct pb_conn *conn, const char *account_id, pb_dkim_cb cb, void *cls);
enum pb_qs
pb_sqlite_dkim_delete(struct pb_conn *conn, const char *account_id, const char *domain,
                      const char *selector);
enum pb_qs
pb_sqlite_suppression_put(struct pb_conn *conn, const char *account_id,
                          const unsigned char hash[PB_HASH_BYTES], const char *reason, int64_t at);
enum pb_qs
pb_sqlite_suppression_exists(struct pb_conn *conn, const char *account_id,
                             const unsigned char hash[PB_HASH_BYTES]);

/* campaigns.c */
enum pb_qs
pb_sqlite_campaign_insert(struct pb_conn *conn, const struct pb_campaign *campaign);
enum pb_qs
pb_sqlite_campaign_update(struct pb_conn *conn, const struct pb_campaign *campaign);
enum pb_qs
pb_sqlite_campaign_get(struct pb_conn *conn, const char *account_id, const char *id, bool bodies,
                       struct pb_campaign *out);
enum pb_qs
pb_sqlite_campaign_list(struct pb_conn *conn, const char *account_id, const char *before_id,
                        int limit, pb_campaign_cb cb, void *cls);
enum pb_qs
pb_sqlite_campaign_delete(struct pb_conn *conn, const char *account_id, const char *id);
enum pb_qs
pb_sqlite_campaign_transition(struct pb_conn *conn, const char *account_id, const char *id,
                              const char *from, const char *to, int64_t now, int64_t scheduled_at,
                              const char *error);
enum pb_qs
pb_sqlite_campaign_set_prepared(struct pb_conn *conn, const char *account_id, const char *id);
enum pb_qs
pb_sqlite_campaign_due(struct pb_conn *conn, int64_t now, int limit, pb_campaign_cb cb, void *cls);
enum pb_qs
pb_sqlite_campaign_sending(struct pb_conn *conn, const char *after_id, int limit, pb_campaign_cb cb,
                           void *cls);
enum pb_qs
pb_sqlite_campaign_counters_add(struct pb_conn *conn, const char *account_id, const char *id,
                                const struct pb_campaign_counters *delta);
enum pb_qs
pb_sqlite_link_replace(struct pb_conn *conn, const char *account_id, const char *campaign_id,
                       const char *const *urls, int n);
enum pb_qs
pb_sqlite_link_list(struct pb_conn *conn, const char *account_id, const char *campaign_id,
                    pb_campaign_link_cb cb, void *cls);
enum pb_qs
pb_sqlite_link_get(struct pb_conn *conn, const char *account_id, const char *campaign_id, int n,
                   struct pb_campaign_link *out);
enum pb_qs
pb_sqlite_link_counters_add(struct pb_conn *conn, const char *account_id, const char *campaign_id,
                            int n, int64_t unique, int64_t total);
enum pb_qs
pb_sqlite_recipient_snapshot(struct pb_conn *conn, const char *account_id, const char *campaign_id,
                             const char *after_contact_id, int limit, char last[PB_ID_LEN + 1],
                             int64_t *added);
enum pb_qs
pb_sqlite_recipient_claim(struct pb_conn *conn, const char *account_id, const char *campaign_id,
                          int64_t now, const char *owner, int64_t lease_until, int limit,
                          pb_recipient_cb cb, void *cls);
enum pb_qs
pb_sqlite_recipient_finish_many(struct pb_conn *conn, const char *account_id,
                                const char *campaign_id, const char *owner,
                                const struct pb_recipient_outcome *outcomes, int n, bool *applied);
enum pb_qs
pb_sqlite_recipient_pending(struct pb_conn *conn, const char *account_id, const char *campaign_id,
                            int64_t *count);
enum pb_qs
pb_sqlite_recipient_sent_since(struct pb_conn *conn, const char *account_id,
                               const char *campaign_id, int64_t since, int64_t *count);
enum pb_qs
pb_sqlite_recipient_get(struct pb_conn *conn, const char *account_id, const char *campaign_id,
                        const char *contact_id, struct pb_recipient *out);
enum pb_qs
pb_sqlite_recipient_open(struct pb_conn *conn, const char *account_id, const char *campaign_id,
                         const char *contact_id, int64_t now, bool *first);
enum pb_qs
pb_sqlite_recipient_click(struct pb_conn *conn, const char *account_id, const char *campaign_id,
                          const char *contact_id, int n, int64_t now, bool *first_link,
                          bool *first_any);
enum pb_qs
pb_sqlite_recipient_unsubscribed(struct pb_conn *conn, const char *account_id,
                                 const char *campaign_id, const char *contact_id, int64_t now,
                                 bool *first);
enum pb_qs
pb_sqlite_recipient_list_for_contact(struct pb_conn *conn, const char *account_id,
                                     const char *contact_id, pb_received_cb cb, void *cls);
enum pb_qs
pb_sqlite_recipient_load(struct pb_conn *conn, const char *account_id, const char *campaign_id,
                         const pb_id_text *contact_ids, int n, pb_recipient_contact_cb contact_cb,
                         pb_contact_value_cb value_cb, void *cls);

/* erasure.c: wiping a contact's data, erasure receipts, suppression, storage limitation */
enum pb_qs
pb_sqlite_value_delete_for_contact(struct pb_conn *conn, const char *account_id,
                                   const char *contact_id, int64_t *n);
enum pb_qs
pb_sqlite_evidence_erase_for_contact(struct pb_conn *conn, const char *account_id,
                                     const char *contact_id, int64_t *n);
enum pb_qs
pb_sqlite_recipient_wipe_errors(struct pb_conn *conn, const char *account_id,
                                const char *contact_id, int64_t *n);
enum pb_qs
pb_sqlite_event_wipe_personal_count(struct pb_conn *conn, const char *account_id,
                                    const char *contact_id, int64_t *n);
enum pb_qs
pb_sqlite_erasure_insert(struct pb_conn *conn, const struct pb_erasure *erasure);
enum pb_qs
pb_sqlite_erasure_list(struct pb_conn *conn, const char *account_id, const char *before_id,
                       int limit, pb_erasure_cb cb, void *cls);
enum pb_qs
pb_sqlite_erasure_get_for_contact(struct pb_conn *conn, const char *account_id,
                                  const char *contact_id, struct pb_erasure *out);
enum pb_qs
pb_sqlite_suppression_get(struct pb_conn *conn, const char *account_id,
                          const unsigned char hash[PB_HASH_BYTES], char reason[16], int64_t *at);
enum pb_qs
pb_sqlite_suppression_exists_many(struct pb_conn *conn, const char *account_id,
                                  const unsigned char (*hashes)[PB_HASH_BYTES], int n, bool *has);
enum pb_qs
pb_sqlite_suppression_delete(struct pb_conn *conn, const char *account_id,
                             const unsigned char hash[PB_HASH_BYTES]);
enum pb_qs
pb_sqlite_contact_list_expired(struct pb_conn *conn, const char *account_id,
                               int64_t unlisted_before, int64_t unconfirmed_before,
                               const char *after_id, int limit, pb_contact_cb cb, void *cls);
enum pb_qs
pb_sqlite_checkpoint(struct pb_conn *conn);

/* contacts.c: the columns of a contact row ("c" is contacts) and their reader (a struct
 * pb_contact). */
#define PB_SQ_CONTACT_COLUMNS                                                                      \
    "c.id, c.account_id, c.email_sealed, c.email_bidx, c.status, c.pseudonym, c.created_at,"       \
    " c.updated_at, c.suppressed_at"

bool
pb_sqlite_read_contact(sqlite3_stmt *st, void *dst);

/* campaign_timeline.c: a campaign's sends over time */
enum pb_qs
pb_sqlite_recipient_sent_histogram(struct pb_conn *conn, const char *account_id,
                                   const char *campaign_id, int64_t from, int64_t bucket_seconds,
                                   int n, int64_t *sent);

#endif
