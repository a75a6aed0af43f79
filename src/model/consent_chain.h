/*
 * The tamper-evident hash chain of the consent log.
 *
 * Every consent event of an account carries
 *     hash = BLAKE2b-256(prev_hash || canonical(event))
 * where prev_hash is the hash of the account's previous event (32 zero bytes
 * for the first, seq 1). canonical(event) encodes only the non-personal
 * fields, unambiguously: a format tag, then account_id, seq, id, type,
 * contact_id, list_id, statement_id, channel, actor, at, and ref only when
 * it is not NULL (it came later; older events hash as before), each string as a
 * uint32 big-endian length and its bytes (NULL as length 0xFFFFFFFF with no
 * bytes, distinct from ""), the integers as 8 bytes big-endian. The personal
 * fields (client address, user agent, note) are stored beside the hashed part
 * and not hashed, so that an erasure can wipe them and the chain still verifies.
 *
 * The encoding is a stored format: changing it invalidates every chain
 * already written (tests/unit/test_consent_chain.c holds a known answer).
 */
#ifndef PB_MODEL_CONSENT_CHAIN_H
#define PB_MODEL_CONSENT_CHAIN_H

#include <stdbool.h>
#include <stdint.h>

#include "core/err.h"
#include "crypto/keys.h"

#define PB_CHAIN_HASH_BYTES 32

/* The longest account id a verifier accepts (ids are 26 characters). */
#define PB_CHAIN_ACCOUNT_MAX 64

/* One event as the chain sees it. Strings may be NULL (hashed distinctly from ""). */
struct pb_chain_event {
    /* Hashed. */
    const char *account_id;
    int64_t seq; /* 1, 2, 3, ... per account, no gaps */
    const char *id;
    const char *type; /* "added", "subscribed", "unsubscribed", ... */
    const char *contact_id;
    const char *list_id;
    const char *statement_id;
    const char *channel; /* "ui", "api", "cli", "import", "form" */
    const char *actor;
    int64_t at;      /* time of the event, as stored (Unix seconds or ms: the caller's unit) */
    const char *ref; /* what caused it ("job:ID"), or NULL */
    /* Personal, not hashed: an erasure may wipe them. */
    const char *client_addr;
    const char *user_agent;
    const char *note;
};

/*
 * out = BLAKE2b-256(prev || canonical(e)), keyed with the account's chain
 * key (`key`), so that only a holder of the master key can make a chain that
 * verifies; NULL: unkeyed (the format's known-answer test). `out` may alias
 * `prev`.
 */
void
pb_chain_hash(const struct pb_data_key *key, const unsigned char prev[PB_CHAIN_HASH_BYTES],
              const struct pb_chain_event *e, unsigned char out[PB_CHAIN_HASH_BYTES]);

/*
 * A streaming verifier of one account's chain: feed it the events in seq
 * order with the prev_hash and hash stored with each. It keeps the first
 * failure and refuses everything after it.
 */
struct pb_chain_verifier {
    char account_id[PB_CHAIN_ACCOUNT_MAX + 1];
    unsigned char prev[PB_CHAIN_HASH_BYTES]; /* hash of the last verified event */
    int64_t last_seq;                        /* seq of the last verified event, 0 at first */
    uint64_t checked;                        /* events verified */
    bool failed;
    int64_t bad_seq;
    char reason[PB_WHY_MAX];
    const struct pb_data_key *key; /* borrowed; NULL: unkeyed */
};

/* Starts a verification of `account_id`'s chain. PB_ERR_INVALID if it is NULL or too long. */
enum pb_err
pb_chain_verifier_init(struct pb_chain_verifier *v, const char *account_id,
                       const struct pb_data_key *key);

/*
 * Checks the next event: it belongs to the account, its seq is the one after
 * the previous event's (a removed event is detected), `stored_prev` is the
 * previous event's hash (a reordered or replaced event is detected), and the
 * hash recomputed from its content is `stored_hash` (an edited event is
 * detected). PB_ERR_OK, or PB_ERR_INVALID with the failure recorded (and
 * returned again for every later call).
 */
enum pb_err
pb_chain_verify_next(struct pb_chain_verifier *v, const struct pb_chain_event *e,
                     const unsigned char stored_prev[PB_CHAIN_HASH_BYTES],
                     const unsigned char stored_hash[PB_CHAIN_HASH_BYTES]);

/*
 * Checks the end of the chain against a head kept elsewhere (for instance
 * the account row's last seq and hash): without it, removing the newest
 * events leaves a chain that verifies. PB_ERR_OK, or PB_ERR_INVALID recorded
 * like pb_chain_verify_next's failures.
 */
enum pb_err
pb_chain_verify_end(struct pb_chain_verifier *v, int64_t head_seq,
                    const unsigned char head_hash[PB_CHAIN_HASH_BYTES]);

/*
 * The outcome so far: whether every event fed verified, how many did, the
 * seq of the first bad event (0 if none) and the reason ("" if none). Any
 * out-pointer may be NULL; `reason` holds PB_WHY_MAX bytes.
 */
void
pb_chain_verify_result(const struct pb_chain_verifier *v, bool *ok, uint64_t *events_checked,
                       int64_t *first_bad_seq, char reason[PB_WHY_MAX]);

#endif
