/*
 * The right to be forgotten (mission feature 6): a contact's personal data
 * is wiped while the contact row stays, under a random pseudonym and status
 * "erased", so that list sizes, campaign counters and per-campaign events
 * keep their numbers. What is wiped: the address and its blind index, every
 * field value, the evidence images no other contact's statement uses, the
 * personal parts of its consent events, the SMTP replies kept with its
 * deliveries. What is kept: a keyed hash of the address in the suppression
 * list (so that a later import cannot bring the person back unnoticed), an
 * "erased" consent event without personal data, and a receipt.
 *
 * One transaction per contact: a crash leaves the old or the erased state,
 * never a mix. SQLite's secure_delete zeroes the freed bytes and a WAL
 * checkpoint after the commit takes them out of the log.
 */
#ifndef PB_MODEL_ERASURE_H
#define PB_MODEL_ERASURE_H

#include <stdbool.h>

#include <jansson.h>

#include "model/app.h"
#include "model/auth.h"
#include "model/consent.h"
#include "store/store.h"

#define PB_ERASURE_REASON_REQUEST "request"
#define PB_ERASURE_REASON_STORAGE "storage_limitation"

/* Who asks for an erasure, and why. */
struct pb_erasure_by {
    const char *account_id;
    const char *actor;   /* "user:ID", "api_key:ID", "cli", "system" */
    const char *channel; /* PB_CHANNEL_API, PB_CHANNEL_CLI, or "system" */
    const char *reason;  /* PB_ERASURE_REASON_* */
    bool checkpoint; /* checkpoint the WAL after the commit (false: the caller does, per batch) */
    /*
     * Storage limitation only: erase only while the contact is still past
     * these cut-offs (as store.h's contact_list_expired defines them; 0 =
     * rule off), checked again inside the erasure's transaction, so that a
     * contact who subscribed again since the sweep listed it is kept
     * (PB_ERR_CONFLICT). Both 0: no condition.
     */
    int64_t unlisted_before;
    int64_t unconfirmed_before;
};

/*
 * Erases the contact with address `email`, or the contact `contact_id` when
 * `email` is NULL, and gives its receipt. Errors, with `field` ("email" or
 * "contact_id"): PB_ERR_EMAIL_INVALID; PB_ERR_NOT_FOUND (no contact with
 * this address or id); PB_ERR_ALREADY_ERASED (the contact, or the address
 * in the suppression list, was erased before: `receipt` is the earlier one
 * when it is known, else zeroed).
 */
enum pb_err
pb_erasure_erase(struct pb_app *app, const struct pb_erasure_by *by, const char *email,
                 const char *contact_id, struct pb_erasure *receipt, const char **field,
                 char why[PB_WHY_MAX]);

/* A receipt as JSON: {id, contact_id, pseudonym, actor, reason, erased_at, wiped}. */
json_t *
pb_erasure_to_json(const struct pb_erasure *receipt);

/* A page of receipts, newest first, for the page helper. */
typedef void (*pb_erasure_json_cb)(void *cls, const char *id, json_t *item);

enum pb_err
pb_erasure_list_json(struct pb_app *app, const char *account_id, const char *before_id, int limit,
                     pb_erasure_json_cb cb, void *cls);

/*
 * Inside the write transaction that adds a new address to the account:
 * `*suppressed` says whether the address (its suppression hash, see
 * pb_suppression_hash) is on the suppression list (erased, bounced, ...).
 * With `override` (an owner adding it again with a fresh consent statement)
 * a suppression is lifted instead and `*suppressed` is false.
 */
enum pb_qs
pb_erasure_check_suppressed_tx(struct pb_tx *tx, const char *account_id,
                               const unsigned char hash[PB_HASH_BYTES], bool override,
                               bool *suppressed);

#endif
