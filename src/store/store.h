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
    bool require_2fa;  /* users without TOTP must enrol before anything else */
    char tracking[12]; /* "off", "aggregate" (counts only) or "individual" (per recipient) */
    /* Storage limitation (GDPR art. 5(1)(e)); 0 = off. */
    int erase_unlisted_days;    /* erase contacts this long without any subscription */
    int erase_unconfirmed_days; /* erase unconfirmed double opt-ins this long after sign-up */
    int64_t storage_checked_at; /* when a sweep was last scheduled for the account */
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
    int64_t suppressed_at; /* 0: may be mailed; else when it was suppressed (hard bounce) */
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
    char status[16]; /* "subscribed", "unsubscribed" or "unconfirmed" (double opt-in pending) */
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

/* ---- Erasure and storage limitation (issue 7) ---- */

#define PB_PSEUDONYM_MAX     63
#define PB_ERASURE_WIPED_MAX 512 /* what an erasure wiped: a small JSON object */

/* The receipt of one erasure: no personal data. */
struct pb_erasure {
    char id[PB_ID_LEN + 1];
    char account_id[PB_ID_LEN + 1];
    char contact_id[PB_ID_LEN + 1];
    char pseudonym[PB_PSEUDONYM_MAX + 1];
    char actor[PB_ACTOR_MAX + 1];
    char reason[24];                      /* "request" or "storage_limitation" */
    char wiped[PB_ERASURE_WIPED_MAX + 1]; /* JSON: {"address":true,"field_values":3,...} */
    int64_t erased_at;
};

typedef void (*pb_erasure_cb)(void *cls, const struct pb_erasure *erasure);

/* ---- Campaigns and sending (issue 6) ---- */

#define PB_SUBJECT_MAX        1000          /* bytes of a campaign subject template */
#define PB_ADDRESS_HEADER_MAX 512           /* a From or Reply-To value: "Name <addr>" */
#define PB_BODY_MAX           (1024 * 1024) /* bytes of an HTML or text body template */
#define PB_CAMPAIGN_LISTS_MAX 32            /* lists one campaign is sent to, at most */
#define PB_URL_MAX            2048          /* a link of a campaign */
#define PB_HOST_MAX           255
#define PB_SMTP_USER_MAX      255
#define PB_DOMAIN_MAX         253
#define PB_SELECTOR_MAX       63
#define PB_DKIM_SEALED_MAX    4096 /* a sealed DKIM private key (RSA-2048 PEM and the seal) */
#define PB_DKIM_PUBLIC_MAX    1024 /* the p= value of the DNS record, base64 */

/* An account's SMTP relay (one per account). */
struct pb_smtp_relay {
    char account_id[PB_ID_LEN + 1];
    char host[PB_HOST_MAX + 1];
    int port;
    char tls[12];                                      /* "starttls", "smtps" or "none" */
    char username[PB_SMTP_USER_MAX + 1];               /* "" (NULL): no AUTH */
    unsigned char password_sealed[PB_SEALED_MAX + 64]; /* a 255-byte password and its seal */
    size_t password_sealed_len;                        /* 0 (NULL): none */
    int max_connections;                               /* 1..32 */
    int rate_per_second;                               /* 0: unlimited */
    int64_t updated_at;
};

/* A DKIM signing key of a sending domain. */
struct pb_dkim_row {
    char account_id[PB_ID_LEN + 1];
    char domain[PB_DOMAIN_MAX + 1];
    char selector[PB_SELECTOR_MAX + 1];
    char algorithm[16]; /* "rsa-sha256" or "ed25519-sha256" */
    unsigned char private_sealed[PB_DKIM_SEALED_MAX];
    size_t private_sealed_len;
    char public_key[PB_DKIM_PUBLIC_MAX + 1]; /* base64, the DNS record's p= */
    int64_t created_at;
};

/* What happened with a campaign: counters kept with the events, never counted from rows. */
struct pb_campaign_counters {
    int64_t recipients; /* recipients snapshotted when the send started */
    int64_t sent;       /* accepted by the relay */
    int64_t deferred;   /* temporary failures (each retry counts once) */
    int64_t failed;     /* given up: permanent failure or retries exhausted */
    int64_t bounced;    /* permanent failures of the address itself (5xx on RCPT) */
    int64_t opens_unique;
    int64_t opens_total;
    int64_t clicks_unique; /* recipients who clicked at least once */
    int64_t clicks_total;
    int64_t unsubscribes;
    int64_t reclaimed; /* recipients taken over from a dead sender (in flight at a crash) */
};

/*
 * A campaign. html and text are malloc'd by campaign_get when asked for
 * (free them with pb_campaign_bodies_free); NULL otherwise. For insert and
 * update the caller points them at its own strings.
 */
struct pb_campaign {
    char id[PB_ID_LEN + 1];
    char account_id[PB_ID_LEN + 1];
    char name[PB_LABEL_MAX + 1];
    char subject[PB_SUBJECT_MAX + 1];
    char from_addr[PB_ADDRESS_HEADER_MAX + 1];
    char reply_to[PB_ADDRESS_HEADER_MAX + 1]; /* "" (NULL): none */
    char *html;
    char *text;     /* "" : generated from the HTML at send time */
    char state[12]; /* "draft", "scheduled", "sending", "paused", "sent", "cancelled", "failed" */
    int64_t scheduled_at;   /* 0: not scheduled */
    bool prepared;          /* the recipients are all snapshotted */
    int rate_per_minute;    /* 0: no per-campaign limit */
    char error[PB_WHY_MAX]; /* "" (NULL): none */
    char created_by[PB_ACTOR_MAX + 1];
    char list_ids[PB_CAMPAIGN_LISTS_MAX][PB_ID_LEN + 1];
    int list_count;
    struct pb_campaign_counters counters;
    int64_t created_at;
    int64_t updated_at;
    int64_t started_at;  /* 0: never sent */
    int64_t finished_at; /* 0: not finished */
};

/* A tracked link of a campaign and its click counters. */
struct pb_campaign_link {
    int n; /* 0, 1, ... in order of first appearance in the HTML */
    char url[PB_URL_MAX + 1];
    int64_t clicks_unique; /* recipients who clicked this link */
    int64_t clicks_total;
};

/* One recipient of a campaign, and what happened to it. */
struct pb_recipient {
    char account_id[PB_ID_LEN + 1];
    char campaign_id[PB_ID_LEN + 1];
    char contact_id[PB_ID_LEN + 1];
    char state[12]; /* "queued", "sending", "sent", "deferred", "failed" */
    int attempts;
    int64_t next_attempt_at;
    char lease_owner[PB_JOB_OWNER_MAX + 1]; /* "" (NULL): none */
    int64_t lease_until;
    char error[PB_WHY_MAX]; /* "" (NULL): none */
    int64_t sent_at;
    int opens;
    int64_t first_open_at;
    int clicks;
    int64_t unsubscribed_at;
    bool reclaimed; /* set by recipient_claim when taken over from an expired lease */
};

/* The outcome of sending to one claimed recipient. */
struct pb_recipient_outcome {
    const char *contact_id;
    const char *state; /* "sent", "deferred" or "failed" */
    int attempts;
    int64_t next_attempt_at; /* for "deferred" */
    const char *error;       /* NULL: none */
    int64_t sent_at;         /* for "sent" */
};

typedef void (*pb_campaign_cb)(void *cls, const struct pb_campaign *campaign);
typedef void (*pb_campaign_link_cb)(void *cls, const struct pb_campaign_link *link);
typedef void (*pb_recipient_cb)(void *cls, const struct pb_recipient *recipient);
/* A campaign a contact received: the recipient row and the campaign's name. */
typedef void (*pb_received_cb)(void *cls, const struct pb_recipient *recipient,
                               const char *campaign_name);
typedef void (*pb_dkim_cb)(void *cls, const struct pb_dkim_row *key);
/* A recipient's contact (recipient_load) and whether it is on one of the campaign's lists. */
typedef void (*pb_recipient_contact_cb)(void *cls, const struct pb_contact *contact, bool on_list);

/*
 * How a transaction runs. PB_TX_WRITE is serializable: whatever it reads
 * holds when it commits. PB_TX_WRITE_LOCKED is for the hot paths whose
 * correctness rests on row locks alone (claiming rows with SKIP LOCKED,
 * conditional updates, adding to counters): PostgreSQL runs them READ
 * COMMITTED, so that many senders working on one campaign do not cancel
 * each other with serialization failures; SQLite's write transactions are
 * exclusive anyway.
 */
enum pb_tx_mode { PB_TX_READ, PB_TX_WRITE, PB_TX_WRITE_LOCKED };

struct pb_store_ops {
    const char *name; /* "sqlite" or "postgres" */

    /* Connection life. `why` explains a failure in one line, naming the database. */
    enum pb_err (*connect)(const char *url, struct pb_conn **out, char why[PB_WHY_MAX]);
    void (*disconnect)(struct pb_conn *conn);

    /* Transactions; pb_store_tx() is the only caller. */
    enum pb_qs (*begin)(struct pb_conn *conn, enum pb_tx_mode mode);
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

    /* ---- Campaigns and sending (issue 6); all filter on account_id ---- */
    /* The account's tracking mode: "off", "aggregate" or "individual" (control store). */
    enum pb_qs (*account_set_tracking)(struct pb_conn *conn, const char *id, const char *tracking);

    /* The account's SMTP relay: put inserts or replaces it. */
    enum pb_qs (*relay_put)(struct pb_conn *conn, const struct pb_smtp_relay *relay);
    enum pb_qs (*relay_get)(struct pb_conn *conn, const char *account_id,
                            struct pb_smtp_relay *out);

    /* DKIM keys: put inserts or replaces the key of (account, domain, selector). */
    enum pb_qs (*dkim_put)(struct pb_conn *conn, const struct pb_dkim_row *key);
    /* The account's keys in domain, then selector order. */
    enum pb_qs (*dkim_list)(struct pb_conn *conn, const char *account_id, pb_dkim_cb cb, void *cls);
    enum pb_qs (*dkim_delete)(struct pb_conn *conn, const char *account_id, const char *domain,
                              const char *selector);

    /*
     * Campaigns with their list_ids. Insert and update answer PB_QS_NONE,
     * writing nothing, when a list is not the account's (update: also when
     * there is no such campaign). Update writes name, subject, from_addr,
     * reply_to, html, text, rate_per_minute, the lists and updated_at.
     */
    enum pb_qs (*campaign_insert)(struct pb_conn *conn, const struct pb_campaign *campaign);
    enum pb_qs (*campaign_update)(struct pb_conn *conn, const struct pb_campaign *campaign);
    /* With `bodies`, html and text are malloc'd copies (pb_campaign_bodies_free). */
    enum pb_qs (*campaign_get)(struct pb_conn *conn, const char *account_id, const char *id,
                               bool bodies, struct pb_campaign *out);
    /* Newest first (id descending), before `before_id` ("" for the newest); no bodies. */
    enum pb_qs (*campaign_list)(struct pb_conn *conn, const char *account_id, const char *before_id,
                                int limit, pb_campaign_cb cb, void *cls);
    /* Deletes the campaign with its lists, links, recipients and clicks. */
    enum pb_qs (*campaign_delete)(struct pb_conn *conn, const char *account_id, const char *id);
    /*
     * Moves the campaign to `to` only when its state is one of `from`
     * (comma-separated): PB_QS_ONE, or PB_QS_NONE when it is not. Writes
     * updated_at = now; scheduled_at when `scheduled_at` >= 0; error when
     * `error` is not NULL ("" clears it); started_at = now when `to` is
     * "sending" and it was 0; finished_at = now when `to` is "sent",
     * "cancelled" or "failed"; prepared = false when `to` is "scheduled".
     */
    enum pb_qs (*campaign_transition)(struct pb_conn *conn, const char *account_id, const char *id,
                                      const char *from, const char *to, int64_t now,
                                      int64_t scheduled_at, const char *error);
    enum pb_qs (*campaign_set_prepared)(struct pb_conn *conn, const char *account_id,
                                        const char *id);
    /* Scheduled campaigns due at `now` (any account), oldest schedule first; no bodies. */
    enum pb_qs (*campaign_due)(struct pb_conn *conn, int64_t now, int limit, pb_campaign_cb cb,
                               void *cls);
    /*
     * Campaigns "sending" (any account), in id order after `after_id`; no
     * bodies. Their snapshot may still be running (`prepared` false): the
     * recipients in already are sent meanwhile.
     */
    enum pb_qs (*campaign_sending)(struct pb_conn *conn, const char *after_id, int limit,
                                   pb_campaign_cb cb, void *cls);
    /* Adds `delta` to the campaign's counters (one UPDATE). */
    enum pb_qs (*campaign_counters_add)(struct pb_conn *conn, const char *account_id,
                                        const char *id, const struct pb_campaign_counters *delta);

    /* The tracked links of a campaign: replace sets urls[0..n-1] as links 0..n-1, counters 0. */
    enum pb_qs (*link_replace)(struct pb_conn *conn, const char *account_id,
                               const char *campaign_id, const char *const *urls, int n);
    enum pb_qs (*link_list)(struct pb_conn *conn, const char *account_id, const char *campaign_id,
                            pb_campaign_link_cb cb, void *cls);
    enum pb_qs (*link_get)(struct pb_conn *conn, const char *account_id, const char *campaign_id,
                           int n, struct pb_campaign_link *out);
    enum pb_qs (*link_counters_add)(struct pb_conn *conn, const char *account_id,
                                    const char *campaign_id, int n, int64_t unique, int64_t total);

    /*
     * Snapshots recipients: scans the contacts subscribed to at least one of
     * the campaign's lists with an id after `after_contact_id`, at most
     * `limit` of them in id order, and inserts a "queued" recipient for each
     * that is active (not erased) and not suppressed and not a recipient
     * already. `last` gets the last contact id scanned ("" when none was:
     * the snapshot is complete), `*added` the recipients inserted.
     */
    enum pb_qs (*recipient_snapshot)(struct pb_conn *conn, const char *account_id,
                                     const char *campaign_id, const char *after_contact_id,
                                     int limit, char last[PB_ID_LEN + 1], int64_t *added);
    /*
     * Claims up to `limit` recipients in contact id order that are
     * "queued", "deferred" with next_attempt_at <= now, or "sending" under
     * a lease that ran out (lease_until <= now: `reclaimed` is set in what
     * cb gets): sets them "sending" under `owner` until `lease_until` and
     * calls cb for each. PostgreSQL skips rows another claim holds, so two
     * nodes never get the same recipient.
     */
    enum pb_qs (*recipient_claim)(struct pb_conn *conn, const char *account_id,
                                  const char *campaign_id, int64_t now, const char *owner,
                                  int64_t lease_until, int limit, pb_recipient_cb cb, void *cls);
    /*
     * Records outcomes of claimed recipients; only for those still
     * "sending" under `owner` (applied[i] says which; the others were lost
     * to another sender and must not be counted). Clears the lease.
     */
    enum pb_qs (*recipient_finish_many)(struct pb_conn *conn, const char *account_id,
                                        const char *campaign_id, const char *owner,
                                        const struct pb_recipient_outcome *outcomes, int n,
                                        bool *applied);
    /* How many recipients are "queued", "sending" or "deferred". */
    enum pb_qs (*recipient_pending)(struct pb_conn *conn, const char *account_id,
                                    const char *campaign_id, int64_t *count);
    /*
     * How many recipients count against a campaign's rate window that began
     * at `since`: those sent at or after it, and those being sent (state
     * "sending" under a lease running past `since`), so that two senders
     * cannot both fill the window.
     */
    enum pb_qs (*recipient_sent_since)(struct pb_conn *conn, const char *account_id,
                                       const char *campaign_id, int64_t since, int64_t *count);
    enum pb_qs (*recipient_get)(struct pb_conn *conn, const char *account_id,
                                const char *campaign_id, const char *contact_id,
                                struct pb_recipient *out);
    /* opens + 1; first_open_at = now and *first = true when it was 0. */
    enum pb_qs (*recipient_open)(struct pb_conn *conn, const char *account_id,
                                 const char *campaign_id, const char *contact_id, int64_t now,
                                 bool *first);
    /*
     * A click of the recipient on link n: clicks + 1 on the recipient and on
     * its (recipient, link) row; *first_link when it is the recipient's
     * first click on that link, *first_any when its first click at all.
     */
    enum pb_qs (*recipient_click)(struct pb_conn *conn, const char *account_id,
                                  const char *campaign_id, const char *contact_id, int n,
                                  int64_t now, bool *first_link, bool *first_any);
    /* unsubscribed_at = now when it was 0 (*first = true then). */
    enum pb_qs (*recipient_unsubscribed)(struct pb_conn *conn, const char *account_id,
                                         const char *campaign_id, const char *contact_id,
                                         int64_t now, bool *first);
    /* The campaigns a contact is a recipient of, newest campaign first. */
    enum pb_qs (*recipient_list_for_contact)(struct pb_conn *conn, const char *account_id,
                                             const char *contact_id, pb_received_cb cb, void *cls);

    /*
     * Suppression: keyed hashes of addresses the account must not mail
     * (reason "bounce", "erasure", "complaint" or "manual"). Putting a hash
     * that is there answers PB_QS_NONE.
     */
    enum pb_qs (*suppression_put)(struct pb_conn *conn, const char *account_id,
                                  const unsigned char hash[PB_HASH_BYTES], const char *reason,
                                  int64_t at);
    enum pb_qs (*suppression_exists)(struct pb_conn *conn, const char *account_id,
                                     const unsigned char hash[PB_HASH_BYTES]);
    /* Marks a contact suppressed (never mailed again; recipient_snapshot skips it). */
    enum pb_qs (*contact_set_suppressed)(struct pb_conn *conn, const char *account_id,
                                         const char *contact_id, int64_t at);
    /*
     * What the messages to `n` recipients (contact ids: a claimed batch)
     * need, in a few statements whatever n: contact_cb for each of those
     * contacts that exists, with whether it is subscribed to one of the
     * campaign's lists, then value_cb for each of their values (sealed ones
     * as stored). The rows may come in any order; contact_cb fills only id,
     * account_id, status, suppressed_at and the sealed address.
     */
    enum pb_qs (*recipient_load)(struct pb_conn *conn, const char *account_id,
                                 const char *campaign_id, const pb_id_text *contact_ids, int n,
                                 pb_recipient_contact_cb contact_cb, pb_contact_value_cb value_cb,
                                 void *cls);
    /* ---- end of campaigns ---- */

    /*
     * ---- Erasure and storage limitation (issue 7); all filter on account_id ----
     * The wiping operations run in the erasure's one write transaction and
     * give in `*n` how many rows they changed.
     */
    /* Deletes every field value of the contact. */
    enum pb_qs (*value_delete_for_contact)(struct pb_conn *conn, const char *account_id,
                                           const char *contact_id, int64_t *n);
    /*
     * Deletes the evidence (metadata and sealed file, and its links to
     * statements) that no other contact's statement uses: evidence linked
     * only to statements that name this contact (through a membership or a
     * consent event) and no other contact.
     */
    enum pb_qs (*evidence_erase_for_contact)(struct pb_conn *conn, const char *account_id,
                                             const char *contact_id, int64_t *n);
    /* Sets error to NULL on the contact's campaign recipients (SMTP replies quote addresses). */
    enum pb_qs (*recipient_wipe_errors)(struct pb_conn *conn, const char *account_id,
                                        const char *contact_id, int64_t *n);
    /* Like event_wipe_personal, counting the events that had a personal part. */
    enum pb_qs (*event_wipe_personal_count)(struct pb_conn *conn, const char *account_id,
                                            const char *contact_id, int64_t *n);
    /* Receipts: insert one; list newest first (id descending) before `before_id` ("" newest). */
    enum pb_qs (*erasure_insert)(struct pb_conn *conn, const struct pb_erasure *erasure);
    enum pb_qs (*erasure_list)(struct pb_conn *conn, const char *account_id, const char *before_id,
                               int limit, pb_erasure_cb cb, void *cls);
    enum pb_qs (*erasure_get_for_contact)(struct pb_conn *conn, const char *account_id,
                                          const char *contact_id, struct pb_erasure *out);
    /* The reason ("bounce", "erasure", ...) and time of a suppression; PB_QS_NONE: none. */
    enum pb_qs (*suppression_get)(struct pb_conn *conn, const char *account_id,
                                  const unsigned char hash[PB_HASH_BYTES], char reason[16],
                                  int64_t *at);
    /* has[i]: whether hashes[i] is suppressed for the account (imports). */
    enum pb_qs (*suppression_exists_many)(struct pb_conn *conn, const char *account_id,
                                          const unsigned char (*hashes)[PB_HASH_BYTES], int n,
                                          bool *has);
    /* Removes a suppression (an owner's override with a fresh consent statement). */
    enum pb_qs (*suppression_delete)(struct pb_conn *conn, const char *account_id,
                                     const unsigned char hash[PB_HASH_BYTES]);
    /* Storage-limitation settings of an account (control store); days 0 = off. */
    enum pb_qs (*account_set_storage_limits)(struct pb_conn *conn, const char *id,
                                             int unlisted_days, int unconfirmed_days);
    /*
     * Sets storage_checked_at = now only when it is <= `due_before`: PB_QS_ONE
     * for the one node that wins the account's sweep, PB_QS_NONE for the others.
     */
    enum pb_qs (*account_claim_storage_sweep)(struct pb_conn *conn, const char *id, int64_t now,
                                              int64_t due_before);
    /*
     * Contacts past their storage limit, in id order after `after_id`, at
     * most `limit`; active ones only, each given once, when either holds:
     * - `unlisted_before` > 0: no "subscribed" or "unconfirmed" membership,
     *   and the newest membership change (or, without any membership, its
     *   creation) is older than `unlisted_before`;
     * - `unconfirmed_before` > 0: no "subscribed" membership, at least one
     *   "unconfirmed" one, and every "unconfirmed" one began before
     *   `unconfirmed_before`.
     */
    enum pb_qs (*contact_list_expired)(struct pb_conn *conn, const char *account_id,
                                       int64_t unlisted_before, int64_t unconfirmed_before,
                                       const char *after_id, int limit, pb_contact_cb cb,
                                       void *cls);
    /*
     * Makes wiped bytes leave the database files (SQLite: a WAL checkpoint
     * that truncates the log; PostgreSQL: nothing, a dump never holds dead
     * rows). Outside any transaction; see pb_store_checkpoint.
     */
    enum pb_qs (*checkpoint)(struct pb_conn *conn);
    /* ---- end of erasure ---- */

    /*
     * ---- A campaign's statistics over time (issue 8) ----
     * Recipients sent at or after `from`, counted per `bucket_seconds`:
     * sent[i] += those sent in [from + i*bucket, from + (i+1)*bucket); those
     * past the last of the `n` buckets count in the last. One indexed scan of
     * the campaign's sent recipients; read on demand, never by /stats.
     */
    enum pb_qs (*recipient_sent_histogram)(struct pb_conn *conn, const char *account_id,
                                           const char *campaign_id, int64_t from,
                                           int64_t bucket_seconds, int n, int64_t *sent);
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

/*
 * Runs ops->checkpoint on a pooled connection, outside a transaction, after
 * an erasure committed. PB_ERR_STORE_SOFT when readers kept the log busy.
 */
enum pb_err
pb_store_checkpoint(struct pb_store *store);

/* Frees the bodies campaign_get allocated and sets them to NULL. */
void
pb_campaign_bodies_free(struct pb_campaign *campaign);

#endif
