/*
 * The store: one interface over the two database backends (SQLite and
 * PostgreSQL), in the manner of GNU Taler's database plugins.
 *
 * A backend is a `const struct pb_store_ops` of function pointers; each
 * operation runs on one connection and answers with an `enum pb_qs`.
 * A `struct pb_store` is a pool of connections to one database URL.
 * Callers never begin or commit themselves: they hand a function to
 * pb_store_tx(), which runs it in a transaction and retries it when the
 * database reports a transient conflict (SQLITE_BUSY, PostgreSQL 40001/40P01).
 *
 * SQL lives next to the function that runs it, inside the backend, and
 * always binds its parameters.
 */
#ifndef PB_STORE_STORE_H
#define PB_STORE_STORE_H

#include <stdbool.h>
#include <stdint.h>

#include "core/err.h"
#include "core/id.h"

/* The outcome of one store operation (negative: failure; otherwise rows touched). */
enum pb_qs {
    PB_QS_HARD_ERROR = -2, /* a real error: constraint broken, bad SQL, lost connection */
    PB_QS_SOFT_ERROR = -1, /* a transient conflict: the transaction should be retried */
    PB_QS_NONE = 0,        /* no row matched */
    PB_QS_ONE = 1,         /* exactly one row */
    PB_QS_N = 2,           /* more than one row */
};

#define PB_ACCOUNT_NAME_MAX 400 /* bytes: 100 characters of up to 4 bytes */
#define PB_REGION_NAME_MAX  32
#define PB_STORE_URL_MAX    2048

#define PB_EMAIL_BYTES         255 /* 254 octets and the NUL */
#define PB_HASH_BYTES          32  /* BLAKE2b-256 of a token or code */
#define PB_SEALED_MAX          256 /* a sealed TOTP seed, a wrapped data key */
#define PB_PASSWORD_HASH_BYTES 128

struct pb_account {
    char id[PB_ID_LEN + 1];
    char name[PB_ACCOUNT_NAME_MAX + 1];
    char plan[16];      /* "standard" or "enterprise" */
    int64_t created_at; /* Unix seconds */
    /* The account's data key, wrapped by the master key (crypto/keys.h). */
    unsigned char data_key[PB_SEALED_MAX];
    size_t data_key_len;
    bool require_2fa; /* users without TOTP must enrol before anything else */
};

/* ---- Users and what authenticates them (control store) ---- */

struct pb_user {
    char id[PB_ID_LEN + 1];
    char account_id[PB_ID_LEN + 1];
    char email[PB_EMAIL_BYTES]; /* normalised, lower-case; unique across the platform */
    char role[8];               /* "owner", "admin" or "author" */
    char password_hash[PB_PASSWORD_HASH_BYTES]; /* "" until the user sets a password */
    unsigned char totp_secret[PB_SEALED_MAX];   /* sealed under the account's data key */
    size_t totp_secret_len;                     /* 0: no secret */
    bool totp_enabled;                          /* false while an enrolment is pending */
    int64_t totp_last_step;                     /* -1: no code accepted yet */
    int64_t created_at;
};

struct pb_session {
    unsigned char token_hash[PB_HASH_BYTES];
    char user_id[PB_ID_LEN + 1];
    bool mfa_pending;     /* password checked, TOTP code still due */
    int64_t created_at;   /* for the absolute timeout */
    int64_t last_seen_at; /* for the idle timeout */
};

struct pb_api_key {
    char id[PB_ID_LEN + 1];
    char user_id[PB_ID_LEN + 1];
    char name[PB_ACCOUNT_NAME_MAX + 1];
    unsigned char token_hash[PB_HASH_BYTES];
    char prefix[16]; /* the token's first characters, to tell keys apart */
    int64_t created_at;
    int64_t last_used_at; /* 0: never */
};

struct pb_audit_entry {
    char id[PB_ID_LEN + 1];
    char account_id[PB_ID_LEN + 1];    /* "" for platform events */
    char actor_user_id[PB_ID_LEN + 1]; /* "" when no user is known */
    char action[48];                   /* "login.success", "mfa.enabled", ... */
    char detail[1024];                 /* a JSON object; never a secret */
    char client_ip[64];
    int64_t at;
};

struct pb_throttle {
    int failures;
    int64_t last_failure_at;
};

struct pb_outbox_mail {
    char id[PB_ID_LEN + 1];
    char recipient[PB_EMAIL_BYTES];
    unsigned char *sealed; /* the whole message, sealed: it may hold a reset link */
    size_t sealed_len;
    int attempts;
    int64_t next_attempt_at;
};

struct pb_region {
    char name[PB_REGION_NAME_MAX + 1];
    char url[PB_STORE_URL_MAX + 1]; /* "sqlite:PATH", "postgres://..." or "control" */
    int64_t created_at;
};

/* ---- Tenant data (issue 4): fields, lists, contacts, consent ---- */

#define PB_FIELD_KEY_MAX      64   /* bytes of a field key */
#define PB_LABEL_MAX          400  /* a field label, a list name: 100 characters */
#define PB_DESCRIPTION_MAX    4000 /* a list or statement description: 1000 characters */
#define PB_VALUE_MAX          4000 /* a field value as text */
#define PB_VALUE_SEALED_MAX   4160 /* a sealed field value (PB_VALUE_MAX and the seal) */
#define PB_EMAIL_SEALED_MAX   512  /* a sealed email address */
#define PB_BIDX_MAX           32   /* a blind index (keyed BLAKE2b) */
#define PB_SHA256_BYTES       32
#define PB_EVENT_HASH_BYTES   32
#define PB_ACTOR_MAX          64 /* "user:ID", "api_key:ID", "cli", "form" ... */
#define PB_STATEMENT_EVIDENCE 16 /* evidence ids per consent statement, at most */
#define PB_EVENT_REF_MAX      64 /* an event's reference to what caused it: "job:ID" */

struct pb_field {
    char account_id[PB_ID_LEN + 1];
    char key[PB_FIELD_KEY_MAX + 1];
    char label[PB_LABEL_MAX + 1];
    char type[8]; /* "text", "number", "date" or "bool" */
    bool sensitive;
    int64_t created_at;
};

struct pb_list {
    char id[PB_ID_LEN + 1];
    char account_id[PB_ID_LEN + 1];
    char name[PB_LABEL_MAX + 1];
    char description[PB_DESCRIPTION_MAX + 1];
    bool is_public;
    int64_t member_count; /* subscribed members, kept by membership_put */
    int64_t created_at;
};

struct pb_contact {
    char id[PB_ID_LEN + 1];
    char account_id[PB_ID_LEN + 1];
    unsigned char email_sealed[PB_EMAIL_SEALED_MAX]; /* sealed under the account's data key */
    size_t email_sealed_len;                         /* 0: none (NULL, after erasure) */
    unsigned char email_bidx[PB_BIDX_MAX];           /* blind index of the normalised address */
    size_t email_bidx_len;                           /* 0: none (NULL) */
    char status[8];                                  /* "active" or "erased" */
    char pseudonym[64];                              /* "" (NULL) until erased */
    int64_t created_at;
    int64_t updated_at;
};

/* A contact's value of a field: value_sealed when value_sealed_len > 0, else value_text. */
struct pb_contact_value {
    char account_id[PB_ID_LEN + 1];
    char contact_id[PB_ID_LEN + 1];
    char field_key[PB_FIELD_KEY_MAX + 1];
    char value_text[PB_VALUE_MAX + 1]; /* stored NULL when the value is sealed */
    unsigned char value_sealed[PB_VALUE_SEALED_MAX];
    size_t value_sealed_len;
};

struct pb_membership {
    char account_id[PB_ID_LEN + 1];
    char list_id[PB_ID_LEN + 1];
    char contact_id[PB_ID_LEN + 1];
    char status[16];                  /* "subscribed" or "unsubscribed" */
    char statement_id[PB_ID_LEN + 1]; /* "" (NULL): none */
    int64_t since;
};

struct pb_consent_statement {
    char id[PB_ID_LEN + 1];
    char account_id[PB_ID_LEN + 1];
    char basis[24]; /* "consent", "contract", "legal_obligation", "vital_interests",
                       "public_task" or "legitimate_interests" */
    char description[PB_DESCRIPTION_MAX + 1];
    char created_by[PB_ACTOR_MAX + 1];
    int64_t created_at;
    char evidence_ids[PB_STATEMENT_EVIDENCE][PB_ID_LEN + 1];
    int evidence_count;
};

/* Evidence metadata; the sealed file travels beside it (it may be megabytes). */
struct pb_evidence {
    char id[PB_ID_LEN + 1];
    char account_id[PB_ID_LEN + 1];
    unsigned char sha256[PB_SHA256_BYTES]; /* of the plain file, for deduplication */
    char type[32];                         /* "image/png", "image/jpeg" or "image/webp" */
    int64_t size;                          /* of the plain file */
    int64_t created_at;
};

/* The hashed part of a consent event. */
struct pb_consent_event {
    char account_id[PB_ID_LEN + 1];
    int64_t seq; /* 1, 2, ... per account */
    char id[PB_ID_LEN + 1];
    char type[32]; /* "added", "subscribed", "unsubscribed", ... */
    char contact_id[PB_ID_LEN + 1];
    char list_id[PB_ID_LEN + 1];      /* "" (NULL): none */
    char statement_id[PB_ID_LEN + 1]; /* "" (NULL): none */
    char channel[16];                 /* "ui", "api", "cli", "import", "form" */
    char actor[PB_ACTOR_MAX + 1];
    int64_t at;
    char ref[PB_EVENT_REF_MAX + 1]; /* what caused it, e.g. "job:ID"; "" (NULL): none */
    unsigned char prev_hash[PB_EVENT_HASH_BYTES];
    unsigned char hash[PB_EVENT_HASH_BYTES];
};

/* The personal part of a consent event, kept beside it so that erasure can wipe it. */
struct pb_consent_personal {
    char client_ip[64];   /* "" (NULL): none */
    char user_agent[512]; /* "" (NULL): none */
    char note[1024];      /* "" (NULL): none */
};

typedef void (*pb_field_cb)(void *cls, const struct pb_field *field);
typedef void (*pb_list_cb)(void *cls, const struct pb_list *list);
typedef void (*pb_contact_cb)(void *cls, const struct pb_contact *contact);
typedef void (*pb_contact_value_cb)(void *cls, const struct pb_contact_value *value);
typedef void (*pb_membership_cb)(void *cls, const struct pb_membership *membership);
/* `personal` is NULL where the operation does not read it (event_scan). */
typedef void (*pb_consent_event_cb)(void *cls, const struct pb_consent_event *event,
                                    const struct pb_consent_personal *personal);

/*
 * One connection of a backend; opaque to everyone but that backend, which
 * casts it to its own struct (pb_sqlite_conn, pb_pg_conn).
 */
struct pb_conn;

typedef void (*pb_account_cb)(void *cls, const struct pb_account *account);
typedef void (*pb_region_cb)(void *cls, const struct pb_region *region);
typedef void (*pb_user_cb)(void *cls, const struct pb_user *user);
typedef void (*pb_api_key_cb)(void *cls, const struct pb_api_key *key);
typedef void (*pb_audit_cb)(void *cls, const struct pb_audit_entry *entry);
typedef void (*pb_outbox_cb)(void *cls, const struct pb_outbox_mail *mail);

/* ---- Jobs: long tasks under a lease (tenant store) ---- */

#define PB_JOB_KIND_MAX   32
#define PB_JOB_PARAMS_MAX 4096 /* the parameters, a JSON object */
#define PB_JOB_CURSOR_MAX 1024 /* where to resume, the kind's own text */
#define PB_JOB_RESULT_MAX 4096 /* the outcome, a JSON object */
#define PB_JOB_OWNER_MAX  64   /* a lease owner: "NODE#THREAD" */

/* Text columns that may be NULL are "" here. */
struct pb_job {
    char id[PB_ID_LEN + 1];
    char account_id[PB_ID_LEN + 1];
    char kind[PB_JOB_KIND_MAX + 1];
    char params[PB_JOB_PARAMS_MAX + 1];
    char state[8]; /* "queued", "running", "done" or "failed" */
    int64_t progress_done;
    int64_t progress_total;
    char cursor[PB_JOB_CURSOR_MAX + 1]; /* "": from the start */
    char result[PB_JOB_RESULT_MAX + 1]; /* "": none */
    char error[PB_WHY_MAX];             /* "": none */
    char lease_owner[PB_JOB_OWNER_MAX + 1];
    int64_t lease_until;
    int64_t created_at;
    int64_t updated_at;
};

typedef void (*pb_job_cb)(void *cls, const struct pb_job *job);

/* ---- Imports (issue 5): uploads, rejected lines, and the bulk writes of one batch ---- */

#define PB_IMPORT_CHUNK_BYTES                                                                      \
    65536 /* plain bytes per stored chunk of an upload (the last: fewer) */
#define PB_IMPORT_CHUNK_SEALED_MAX (PB_IMPORT_CHUNK_BYTES + 64) /* a chunk with its seal */
#define PB_REJECT_REASON_MAX       200 /* bytes of the reason a line was rejected */

/* A contact's value in a batch: points into the caller's memory. */
struct pb_value_ref {
    const char *contact_id;
    const char *field_key;
    const char *text;            /* the plain value, or NULL when sealed */
    const unsigned char *sealed; /* the sealed value, or NULL when plain */
    size_t sealed_len;
};

/* A line of an import that was not imported, and why (never the line's content). */
struct pb_import_reject {
    int64_t line; /* 1-based line number in the file where the record starts */
    char reason[PB_REJECT_REASON_MAX + 1];
};

typedef void (*pb_import_reject_cb)(void *cls, const struct pb_import_reject *reject);

/* A contact id as the batch operations take them. */
typedef char pb_id_text[PB_ID_LEN + 1];

struct pb_store_ops {
    const char *name; /* "sqlite" or "postgres" */

    /* Connection life. `why` explains a failure in one line, naming the database. */
    enum pb_err (*connect)(const char *url, struct pb_conn **out, char why[PB_WHY_MAX]);
    void (*disconnect)(struct pb_conn *conn);

    /* Transactions; pb_store_tx() is the only caller. */
    enum pb_qs (*begin)(struct pb_conn *conn, bool write);
    enum pb_qs (*commit)(struct pb_conn *conn);
    void (*rollback)(struct pb_conn *conn);

    /*
     * Applies the migrations the database lacks, all in one transaction,
     * and records each in the schema_version table. `*from` and `*to` get
     * the versions before and after.
     */
    enum pb_err (*migrate)(struct pb_conn *conn, int *from, int *to, char why[PB_WHY_MAX]);
    /* The schema version the database is at (0 for an empty database). */
    enum pb_qs (*schema_version)(struct pb_conn *conn, int *version);

    /* Accounts (control store). */
    enum pb_qs (*account_insert)(struct pb_conn *conn, const struct pb_account *account);
    enum pb_qs (*account_get)(struct pb_conn *conn, const char *id, struct pb_account *out);
    /* Accounts in id order, after `after_id` ("" for the start), at most `limit`. */
    enum pb_qs (*account_list)(struct pb_conn *conn, const char *after_id, int limit,
                               pb_account_cb cb, void *cls);

    /* Regions (control store). Inserting an existing name answers PB_QS_NONE. */
    enum pb_qs (*region_insert)(struct pb_conn *conn, const struct pb_region *region);
    enum pb_qs (*region_get)(struct pb_conn *conn, const char *name, struct pb_region *out);
    enum pb_qs (*region_list)(struct pb_conn *conn, pb_region_cb cb, void *cls);

    /* Placements: which region holds an account's data (control store). */
    enum pb_qs (*placement_set)(struct pb_conn *conn, const char *account_id, const char *region);
    enum pb_qs (*placement_get)(struct pb_conn *conn, const char *account_id,
                                char region[PB_REGION_NAME_MAX + 1]);

    /* Account settings and keys (control store). */
    enum pb_qs (*account_set_require_2fa)(struct pb_conn *conn, const char *id, bool on);
    /* Gives a data key to an account created before keys existed (only when it has none). */
    enum pb_qs (*account_set_data_key)(struct pb_conn *conn, const char *id,
                                       const unsigned char *wrapped, size_t len);

    /* Users (control store). Inserting an email that exists answers PB_QS_NONE. */
    enum pb_qs (*user_insert)(struct pb_conn *conn, const struct pb_user *user);
    enum pb_qs (*user_get)(struct pb_conn *conn, const char *id, struct pb_user *out);
    enum pb_qs (*user_get_by_email)(struct pb_conn *conn, const char *email, struct pb_user *out);
    /* Users of an account in id order, after `after_id` ("" for the start), at most `limit`. */
    enum pb_qs (*user_list)(struct pb_conn *conn, const char *account_id, const char *after_id,
                            int limit, pb_user_cb cb, void *cls);
    enum pb_qs (*user_count_role)(struct pb_conn *conn, const char *account_id, const char *role,
                                  long *count);
    /* Writes role, password_hash, totp_secret, totp_enabled and totp_last_step. */
    enum pb_qs (*user_update)(struct pb_conn *conn, const struct pb_user *user);
    /*
     * Replay protection in one statement: sets totp_last_step to `step` only
     * when `step` is greater than the stored one; PB_QS_NONE otherwise.
     */
    enum pb_qs (*user_advance_totp_step)(struct pb_conn *conn, const char *user_id, int64_t step);
    /* Deletes a user with its sessions, API keys, recovery codes and reset tokens. */
    enum pb_qs (*user_delete)(struct pb_conn *conn, const char *id);

    /* Sessions, found by the hash of their token. */
    enum pb_qs (*session_insert)(struct pb_conn *conn, const struct pb_session *session);
    enum pb_qs (*session_get)(struct pb_conn *conn, const unsigned char hash[PB_HASH_BYTES],
                              struct pb_session *out);
    enum pb_qs (*session_touch)(struct pb_conn *conn, const unsigned char hash[PB_HASH_BYTES],
                                int64_t now);
    enum pb_qs (*session_delete)(struct pb_conn *conn, const unsigned char hash[PB_HASH_BYTES]);
    enum pb_qs (*session_delete_for_user)(struct pb_conn *conn, const char *user_id);

    /* Recovery codes, stored as hashes only. Replacing deletes the old set. */
    enum pb_qs (*recovery_codes_replace)(struct pb_conn *conn, const char *user_id,
                                         const unsigned char (*hashes)[PB_HASH_BYTES], int n);
    /* Marks an unused code used; PB_QS_ONE when one matched, PB_QS_NONE otherwise. */
    enum pb_qs (*recovery_code_use)(struct pb_conn *conn, const char *user_id,
                                    const unsigned char hash[PB_HASH_BYTES], int64_t now);
    enum pb_qs (*recovery_codes_remaining)(struct pb_conn *conn, const char *user_id, long *count);

    /* Password reset and set-password tokens, stored as hashes only. */
    enum pb_qs (*reset_insert)(struct pb_conn *conn, const unsigned char hash[PB_HASH_BYTES],
                               const char *user_id, int64_t expires_at);
    /* Marks the token used and gives its user, when it is unused and not expired. */
    enum pb_qs (*reset_consume)(struct pb_conn *conn, const unsigned char hash[PB_HASH_BYTES],
                                int64_t now, char user_id[PB_ID_LEN + 1]);

    /* API keys, found by the hash of their token. */
    enum pb_qs (*api_key_insert)(struct pb_conn *conn, const struct pb_api_key *key);
    enum pb_qs (*api_key_get_by_hash)(struct pb_conn *conn, const unsigned char hash[PB_HASH_BYTES],
                                      struct pb_api_key *out);
    enum pb_qs (*api_key_list)(struct pb_conn *conn, const char *user_id, pb_api_key_cb cb,
                               void *cls);
    /* Deletes the key `id` only when it belongs to `user_id`. */
    enum pb_qs (*api_key_delete)(struct pb_conn *conn, const char *user_id, const char *id);
    enum pb_qs (*api_key_touch)(struct pb_conn *conn, const char *id, int64_t now);

    /* The audit log: newest first, before `before_id` ("" for the newest), at most `limit`. */
    enum pb_qs (*audit_insert)(struct pb_conn *conn, const struct pb_audit_entry *entry);
    enum pb_qs (*audit_list)(struct pb_conn *conn, const char *account_id, const char *before_id,
                             int limit, pb_audit_cb cb, void *cls);

    /* Login throttling: failures per key (a hash of an email, or a client address). */
    enum pb_qs (*throttle_get)(struct pb_conn *conn, const char *key, struct pb_throttle *out);
    /* failures + 1 and last_failure_at = now, creating the row when needed. */
    enum pb_qs (*throttle_fail)(struct pb_conn *conn, const char *key, int64_t now);
    enum pb_qs (*throttle_clear)(struct pb_conn *conn, const char *key);

    /* The system mail outbox (password resets, invitations), retried until delivered. */
    enum pb_qs (*outbox_insert)(struct pb_conn *conn, const struct pb_outbox_mail *mail);
    /*
     * Calls `cb` for up to `limit` mails due at `now`, oldest first, and sets
     * their next_attempt_at to `lease_until` so that no other node takes them.
     */
    enum pb_qs (*outbox_claim)(struct pb_conn *conn, int64_t now, int64_t lease_until, int limit,
                               pb_outbox_cb cb, void *cls);
    enum pb_qs (*outbox_delete)(struct pb_conn *conn, const char *id);
    enum pb_qs (*outbox_retry)(struct pb_conn *conn, const char *id, int attempts,
                               int64_t next_attempt_at);
    /* ---- Tenant data (issue 4): fields, lists, contacts, consent ---- */
    /*
     * Every operation filters on `account_id` (in the struct for inserts and
     * updates): an id of another account answers PB_QS_NONE, never a row.
     */

    /* Fields. Inserting an existing key answers PB_QS_NONE. */
    enum pb_qs (*field_insert)(struct pb_conn *conn, const struct pb_field *field);
    enum pb_qs (*field_get)(struct pb_conn *conn, const char *account_id, const char *key,
                            struct pb_field *out);
    /* All fields of the account in key order. */
    enum pb_qs (*field_list)(struct pb_conn *conn, const char *account_id, pb_field_cb cb,
                             void *cls);
    /* Writes label and sensitive. */
    enum pb_qs (*field_update)(struct pb_conn *conn, const struct pb_field *field);
    /* Deletes the field with every contact's value of it. */
    enum pb_qs (*field_delete)(struct pb_conn *conn, const char *account_id, const char *key);

    /* Lists. */
    enum pb_qs (*list_insert)(struct pb_conn *conn, const struct pb_list *list);
    enum pb_qs (*list_get)(struct pb_conn *conn, const char *account_id, const char *id,
                           struct pb_list *out);
    /* Lists in id order, after `after_id` ("" for the start), at most `limit`. */
    enum pb_qs (*list_list)(struct pb_conn *conn, const char *account_id, const char *after_id,
                            int limit, pb_list_cb cb, void *cls);
    /* Writes name, description and is_public (never member_count). */
    enum pb_qs (*list_update)(struct pb_conn *conn, const struct pb_list *list);
    /* Deletes the list with its memberships. */
    enum pb_qs (*list_delete)(struct pb_conn *conn, const char *account_id, const char *id);

    /* Contacts. Inserting a blind index the account already has answers PB_QS_NONE. */
    enum pb_qs (*contact_insert)(struct pb_conn *conn, const struct pb_contact *contact);
    enum pb_qs (*contact_get)(struct pb_conn *conn, const char *account_id, const char *id,
                              struct pb_contact *out);
    enum pb_qs (*contact_get_by_bidx)(struct pb_conn *conn, const char *account_id,
                                      const unsigned char *bidx, size_t bidx_len,
                                      struct pb_contact *out);
    /*
     * Contacts in id order, after `after_id` ("" for the start), at most
     * `limit`; with `list_id` (NULL or "" for all) only those subscribed to it.
     */
    enum pb_qs (*contact_list)(struct pb_conn *conn, const char *account_id, const char *list_id,
                               const char *after_id, int limit, pb_contact_cb cb, void *cls);
    /*
     * Writes email_sealed, email_bidx, status, pseudonym and updated_at.
     * A blind index another contact of the account has is a hard error.
     */
    enum pb_qs (*contact_update)(struct pb_conn *conn, const struct pb_contact *contact);

    /* Field values. value_put inserts or replaces (PB_QS_NONE: no such contact in the account). */
    enum pb_qs (*value_put)(struct pb_conn *conn, const struct pb_contact_value *value);
    enum pb_qs (*value_delete)(struct pb_conn *conn, const char *account_id, const char *contact_id,
                               const char *field_key);
    /* A contact's values in field key order. */
    enum pb_qs (*value_list)(struct pb_conn *conn, const char *account_id, const char *contact_id,
                             pb_contact_value_cb cb, void *cls);
    /* Values of one field in contact id order, after `after_contact_id`, at most `limit`. */
    enum pb_qs (*value_list_field)(struct pb_conn *conn, const char *account_id,
                                   const char *field_key, const char *after_contact_id, int limit,
                                   pb_contact_value_cb cb, void *cls);

    /*
     * Memberships. Sets the status of `contact_id` on `list_id`, creating the
     * row when needed, and keeps the list's member_count exact: +1 when the
     * contact becomes subscribed, -1 when it stops being so. PB_QS_ONE when
     * the status changed (statement_id and since are then written too);
     * PB_QS_NONE when it was already so, or when the list or the contact is
     * not the account's (nothing written). Run it in a write transaction.
     */
    enum pb_qs (*membership_put)(struct pb_conn *conn, const char *account_id, const char *list_id,
                                 const char *contact_id, const char *status,
                                 const char *statement_id, int64_t since);
    /* A contact's memberships (every status) in list id order. */
    enum pb_qs (*membership_list_for_contact)(struct pb_conn *conn, const char *account_id,
                                              const char *contact_id, pb_membership_cb cb,
                                              void *cls);

    /*
     * Consent statements with their evidence_ids (at most PB_STATEMENT_EVIDENCE).
     * Inserting answers PB_QS_NONE, writing nothing, when an evidence id is
     * not the account's.
     */
    enum pb_qs (*statement_insert)(struct pb_conn *conn, const struct pb_consent_statement *st);
    enum pb_qs (*statement_get)(struct pb_conn *conn, const char *account_id, const char *id,
                                struct pb_consent_statement *out);

    /* Evidence. Inserting a sha256 the account already has answers PB_QS_NONE. */
    enum pb_qs (*evidence_insert)(struct pb_conn *conn, const struct pb_evidence *evidence,
                                  const unsigned char *sealed, size_t sealed_len);
    /*
     * The metadata and, when `sealed` is not NULL, a malloc'd copy of the
     * sealed file in `*sealed` (the caller frees it) and its length.
     */
    enum pb_qs (*evidence_get)(struct pb_conn *conn, const char *account_id, const char *id,
                               struct pb_evidence *out, unsigned char **sealed, size_t *sealed_len);
    /* The metadata of the account's evidence with that sha256. */
    enum pb_qs (*evidence_get_by_sha)(struct pb_conn *conn, const char *account_id,
                                      const unsigned char sha256[PB_SHA256_BYTES],
                                      struct pb_evidence *out);

    /*
     * The consent log: append-only, one hash chain per account. event_last
     * gives the last seq and hash (PB_QS_NONE when the log is empty).
     */
    enum pb_qs (*event_last)(struct pb_conn *conn, const char *account_id, int64_t *seq,
                             unsigned char hash[PB_EVENT_HASH_BYTES]);
    /*
     * Appends an event (its seq and hash computed by the caller) with its
     * personal part (NULL: none). A seq the account already has answers
     * PB_QS_SOFT_ERROR: another writer got there first; retry.
     */
    enum pb_qs (*event_append)(struct pb_conn *conn, const struct pb_consent_event *event,
                               const struct pb_consent_personal *personal);
    /* A contact's events in seq order, each with its personal part. */
    enum pb_qs (*event_list_for_contact)(struct pb_conn *conn, const char *account_id,
                                         const char *contact_id, pb_consent_event_cb cb, void *cls);
    /* Events in seq order after `after_seq` (0 for the start), at most `limit`; personal NULL. */
    enum pb_qs (*event_scan)(struct pb_conn *conn, const char *account_id, int64_t after_seq,
                             int limit, pb_consent_event_cb cb, void *cls);
    /*
     * The head of the account's chain (seq and hash of its newest event), kept
     * apart by event_append in the same transaction, so that removing the
     * newest events is detected too. PB_QS_NONE when the account has no events.
     */
    enum pb_qs (*event_head)(struct pb_conn *conn, const char *account_id, int64_t *seq,
                             unsigned char hash[PB_EVENT_HASH_BYTES]);
    /* Sets client_ip, user_agent and note of a contact's events to NULL. */
    enum pb_qs (*event_wipe_personal)(struct pb_conn *conn, const char *account_id,
                                      const char *contact_id);
    /* ---- Jobs (issue 5): long tasks under a lease in the database ---- */
    /* Inserts a job as given (normally state "queued", no lease). */
    enum pb_qs (*job_insert)(struct pb_conn *conn, const struct pb_job *job);
    enum pb_qs (*job_get)(struct pb_conn *conn, const char *account_id, const char *id,
                          struct pb_job *out);
    /*
     * Takes the oldest job that is queued, or running under a lease that has
     * run out (lease_until <= now: its node died), of one of `kinds` (names
     * joined by commas; NULL or "" for any): sets it running under `owner`
     * until `lease_until` and gives it in `out`. PB_QS_ONE, or PB_QS_NONE when
     * there is none. Run it in a write transaction: no two callers get the
     * same job (PostgreSQL skips rows another claim holds; SQLite's write
     * transaction is exclusive).
     */
    enum pb_qs (*job_claim)(struct pb_conn *conn, int64_t now, const char *owner,
                            int64_t lease_until, const char *kinds, struct pb_job *out);
    /*
     * Records progress and renews the lease, only while the job is running
     * under `owner`; PB_QS_NONE means the lease was lost: stop working on it.
     */
    enum pb_qs (*job_checkpoint)(struct pb_conn *conn, int64_t now, const char *id,
                                 const char *owner, const char *cursor, int64_t done, int64_t total,
                                 int64_t lease_until);
    /*
     * Ends a job: `state` "done" or "failed", with `result` (JSON) and
     * `error` ("" or NULL for none), and drops the lease; only for `owner`
     * of a running job (PB_QS_NONE otherwise).
     */
    enum pb_qs (*job_finish)(struct pb_conn *conn, int64_t now, const char *id, const char *owner,
                             const char *state, const char *result, const char *error);
    /*
     * Takes the job `id` of `account_id` when it is queued or its lease ran
     * out, as job_claim does (for `postbode import`, which runs its own job).
     * PB_QS_NONE when it is not there, finished, or running under a lease
     * that has not run out (whoever holds it).
     */
    enum pb_qs (*job_claim_id)(struct pb_conn *conn, int64_t now, const char *account_id,
                               const char *id, const char *owner, int64_t lease_until,
                               struct pb_job *out);
    /* ---- end of jobs ---- */

    /*
     * ---- Imports and exports (issue 5) ----
     * The batch operations do for `n` rows what the single ones do for one,
     * in as few statements as the backend allows; all run in the caller's
     * write transaction and filter on `account_id` like the rest. They answer
     * by the rows they touched (found, written, changed): PB_QS_NONE for
     * none (and for n = 0), PB_QS_ONE, PB_QS_N. A row given twice in one
     * call is the caller's mistake: the last value wins, `changed` marks the
     * first. After an error the transaction must end: part of the batch may
     * have been written.
     */
    /* ids[i] gets the id of the account's contact with blind index bidx[i], or "". */
    enum pb_qs (*contact_find_many)(struct pb_conn *conn, const char *account_id,
                                    const unsigned char (*bidx)[PB_BIDX_MAX], int n,
                                    pb_id_text *ids);
    /* Inserts `n` new contacts (one account's); a blind index already there is a hard error. */
    enum pb_qs (*contact_insert_many)(struct pb_conn *conn, const struct pb_contact *contacts,
                                      int n);
    /* Inserts or replaces `n` values of the account's contacts. */
    enum pb_qs (*value_put_many)(struct pb_conn *conn, const char *account_id,
                                 const struct pb_value_ref *values, int n);
    /*
     * Subscribes `n` contacts to `list_id` (statement and since written where
     * the status changes); changed[i] is true where contact i was not
     * subscribed before. The list's member_count grows by their number.
     */
    enum pb_qs (*membership_subscribe_many)(struct pb_conn *conn, const char *account_id,
                                            const char *list_id, const pb_id_text *contact_ids,
                                            int n, const char *statement_id, int64_t since,
                                            bool *changed);
    /*
     * Appends `n` events of one account without personal parts, their seq
     * consecutive after the head and hashes computed by the caller; the head
     * becomes the last. A seq that exists answers PB_QS_SOFT_ERROR.
     */
    enum pb_qs (*event_append_many)(struct pb_conn *conn, const struct pb_consent_event *events,
                                    int n);
    /* has[i]: whether contact_ids[i] has an event whose ref is `ref`. */
    enum pb_qs (*event_ref_exists_many)(struct pb_conn *conn, const char *account_id,
                                        const char *ref, const pb_id_text *contact_ids, int n,
                                        bool *has);
    /* The values of `n` contacts, in contact id then field key order. */
    enum pb_qs (*value_list_many)(struct pb_conn *conn, const char *account_id,
                                  const pb_id_text *contact_ids, int n, pb_contact_value_cb cb,
                                  void *cls);

    /* The sealed chunks of an uploaded file, numbered from 0. Putting chunk n twice replaces it. */
    enum pb_qs (*import_chunk_put)(struct pb_conn *conn, const char *account_id,
                                   const char *import_id, int64_t n, const unsigned char *sealed,
                                   size_t len);
    /* Chunk n into `out` (room for PB_IMPORT_CHUNK_SEALED_MAX bytes) and its length. */
    enum pb_qs (*import_chunk_get)(struct pb_conn *conn, const char *account_id,
                                   const char *import_id, int64_t n, unsigned char *out,
                                   size_t *len);
    /* Deletes every chunk of an upload. */
    enum pb_qs (*import_chunks_delete)(struct pb_conn *conn, const char *account_id,
                                       const char *import_id);
    /* Records rejected lines of an import; a line recorded already is left as it is. */
    enum pb_qs (*import_reject_insert_many)(struct pb_conn *conn, const char *account_id,
                                            const char *import_id,
                                            const struct pb_import_reject *rejects, int n);
    /* Rejected lines in line order after `after_line` (0 for the start), at most `limit`. */
    enum pb_qs (*import_reject_list)(struct pb_conn *conn, const char *account_id,
                                     const char *import_id, int64_t after_line, int limit,
                                     pb_import_reject_cb cb, void *cls);
    /* ---- end of imports ---- */
};

extern const struct pb_store_ops pb_store_sqlite;
extern const struct pb_store_ops pb_store_postgres;

/* Picks the backend for a URL by its scheme; NULL when none fits. */
const struct pb_store_ops *
pb_store_backend(const char *url);

/* A pool of connections to one database. */
struct pb_store;

/*
 * Opens a pool of up to `pool_size` connections to `url`. The first
 * connection is made at once, so a wrong URL, an unreachable server or a
 * corrupt file fails here with a message in `why`.
 */
enum pb_err
pb_store_open(const char *url, int pool_size, struct pb_store **out, char why[PB_WHY_MAX]);

void
pb_store_close(struct pb_store *store);

const struct pb_store_ops *
pb_store_get_ops(const struct pb_store *store);

const char *
pb_store_url(const struct pb_store *store);

/* Applies pending migrations (see pb_store_ops.migrate). */
enum pb_err
pb_store_migrate(struct pb_store *store, int *from, int *to, char why[PB_WHY_MAX]);

/* What a transaction function gets: the backend and the connection it runs on. */
struct pb_tx {
    const struct pb_store_ops *ops;
    struct pb_conn *conn;
    enum pb_err abort_err; /* set by pb_tx_abort() */
    int attempt;           /* 0 on the first try */
};

/*
 * Ends the transaction with a business-rule error: the runner rolls back
 * and pb_store_tx() returns `err`. Use as `return pb_tx_abort(tx, err);`.
 */
enum pb_qs
pb_tx_abort(struct pb_tx *tx, enum pb_err err);

/*
 * The body of a transaction. It may run several times (after a soft
 * error), so it must not have effects outside the database, and must reset
 * whatever it accumulates in `cls` at its start.
 */
typedef enum pb_qs (*pb_tx_fn)(struct pb_tx *tx, void *cls);

enum pb_tx_mode { PB_TX_READ, PB_TX_WRITE };

/*
 * Runs `fn` in a transaction on a pooled connection: commits when it
 * returns >= 0; on PB_QS_SOFT_ERROR (from `fn` or the commit) rolls back,
 * waits a random, growing delay and tries again, up to 8 times.
 * Returns PB_ERR_OK, the error given to pb_tx_abort(), PB_ERR_STORE_SOFT
 * when the retries ran out, PB_ERR_STORE_OPEN when no connection could be
 * made, or PB_ERR_STORE_HARD.
 *
 * Never call it from inside another transaction function on the same store:
 * the inner call waits for a pooled connection the outer one holds.
 */
enum pb_err
pb_store_tx(struct pb_store *store, enum pb_tx_mode mode, pb_tx_fn fn, void *cls);

#endif
