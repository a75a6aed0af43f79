/*
 * The database side of sending a campaign, for the sender threads
 * (jobs/sender.c): claim a batch of recipients under a lease, read what
 * their messages need (addresses and the field values the templates use,
 * opened in memory only), and record what happened, counters included,
 * in one transaction per batch.
 */
#ifndef PB_MODEL_DELIVERY_H
#define PB_MODEL_DELIVERY_H

#include "core/arena.h"
#include "model/app.h"
#include "model/campaign_compile.h"

#define PB_DELIVERY_BATCH_MAX 200 /* recipients claimed at once, at most */
#define PB_DELIVERY_ATTEMPTS  5   /* tries of a temporarily failing recipient */

struct pb_delivery_recipient {
    char contact_id[PB_ID_LEN + 1];
    char email[PB_EMAIL_BYTES];
    int attempts;   /* before this one */
    bool reclaimed; /* in flight on a sender that died: it may have been sent */
    /*
     * Not to be sent after all: erased, suppressed or unsubscribed since
     * the snapshot (the reason is in `skip_reason`); recorded as failed.
     */
    bool skip;
    const char *skip_reason;
    /* The template variables (slots of the compiled campaign); NULL: no value. */
    const char *values[PB_CAMPAIGN_VAR_FIELDS + PB_CAMPAIGN_FIELDS_MAX];
};

struct pb_delivery_batch {
    char account_id[PB_ID_LEN + 1];
    char campaign_id[PB_ID_LEN + 1];
    int n;
    struct pb_delivery_recipient r[PB_DELIVERY_BATCH_MAX];
    struct pb_arena *arena; /* the opened values: wiped when the batch is released */
};

/*
 * Claims up to `limit` recipients of the compiled campaign for `owner` and
 * reads their addresses and values. With `rate_per_minute` > 0, no more
 * than the campaign's 60-second window has room for (sent and in flight,
 * counted under the campaign's row lock, so across senders and nodes).
 * b->n is 0 when none is due.
 */
enum pb_err
pb_delivery_claim(struct pb_app *app, const struct pb_campaign_compiled *cc, const char *owner,
                  int limit, int rate_per_minute, struct pb_delivery_batch *b);

/* Wipes and frees what the batch holds (the struct itself is the caller's). */
void
pb_delivery_release(struct pb_delivery_batch *b);

/* What happened to one recipient, decided by the sender. */
enum pb_delivery_result {
    PB_DELIVERY_SENT,
    PB_DELIVERY_DEFERRED, /* temporary: tried again later, up to PB_DELIVERY_ATTEMPTS */
    PB_DELIVERY_FAILED,   /* permanent, not the address's fault (e.g. content refused) */
    PB_DELIVERY_BOUNCED,  /* permanent failure of the address: suppressed for the account */
    PB_DELIVERY_RELEASED, /* not tried (the relay could not be used): back in the queue */
};

struct pb_delivery_outcome {
    enum pb_delivery_result result;
    char error[PB_WHY_MAX]; /* the relay's answer; "" when sent */
};

/*
 * Records the outcomes of b->r[0..n-1] (outcomes[i] for r[i]) in one
 * transaction: recipient states, the campaign's counters, suppression of
 * bounced addresses. Rows whose lease `owner` lost are not counted.
 */
enum pb_err
pb_delivery_record(struct pb_app *app, const struct pb_delivery_batch *b, const char *owner,
                   const struct pb_delivery_outcome *outcomes, int64_t now);

/*
 * When nothing of a "sending" campaign is pending any more, marks it
 * "sent". `*finished` says whether this call did.
 */
enum pb_err
pb_delivery_finish_if_done(struct pb_app *app, const char *account_id, const char *campaign_id,
                           bool *finished);

/* The keyed hash an address is suppressed by (domain-separated from the blind index). */
enum pb_err
pb_suppression_hash(struct pb_app *app, const char *account_id, const char *email,
                    unsigned char out[PB_HASH_BYTES]);

#endif
