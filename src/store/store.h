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
