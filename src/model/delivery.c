/* Claiming recipients, reading what their messages need, recording outcomes. */
#include "model/delivery.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "core/clock.h"
#include "core/strutil.h"
#include "model/contact.h"
#include "model/email.h"
#include "model/job.h"
#include "model/tenant.h"

/* Opened values of one batch, at most: 200 recipients x a few fields of up to 4 KB. */
#define ARENA_LIMIT (64u * 1024 * 1024)

/* ---- claiming ---- */

struct claim_ctx {
    struct pb_delivery_batch *b;
    const char *owner;
    int limit;
    int rate_per_minute; /* 0: no window */
    int64_t now;
    int64_t lease_until;
};

static void
claimed_one(void *cls, const struct pb_recipient *r)
{
    struct claim_ctx *c = cls;
    struct pb_delivery_batch *b = c->b;
    if (b->n >= PB_DELIVERY_BATCH_MAX)
        return;
    struct pb_delivery_recipient *d = &b->r[b->n++];
    memset(d, 0, sizeof(*d));
    pb_strlcpy(d->contact_id, r->contact_id, sizeof(d->contact_id));
    d->attempts = r->attempts;
    d->reclaimed = r->reclaimed;
}

static enum pb_qs
claim_tx(struct pb_tx *tx, void *cls)
{
    struct claim_ctx *c = cls;
    c->b->n = 0;
    int limit = c->limit;
    if (c->rate_per_minute > 0) {
        /*
         * The campaign's window: lock its row first (an update adding
         * nothing), so that two senders count and claim one after the
         * other, each seeing what the other has in flight.
         */
        struct pb_campaign_counters none;
        memset(&none, 0, sizeof(none));
        int64_t recent = 0;
        enum pb_qs qs =
            tx->ops->campaign_counters_add(tx->conn, c->b->account_id, c->b->campaign_id, &none);
        if (qs >= 0)
            qs = tx->ops->recipient_sent_since(tx->conn, c->b->account_id, c->b->campaign_id,
                                               c->now - 60, &recent);
        if (qs < 0)
            return qs;
        if (recent >= c->rate_per_minute)
            return PB_QS_NONE;
        if (limit > c->rate_per_minute - recent)
            limit = (int)(c->rate_per_minute - recent);
    }
    return tx->ops->recipient_claim(tx->conn, c->b->account_id, c->b->campaign_id, c->now, c->owner,
                                    c->lease_until, limit, claimed_one, c);
}

struct load_ctx {
    const struct pb_campaign_compiled *cc;
    const struct pb_data_key *key;
    struct pb_delivery_batch *b;
    pb_id_text ids[PB_DELIVERY_BATCH_MAX];
    bool failed; /* out of arena memory */
};

/* The recipient of a contact id (binary search: the batch is in contact id order). */
static struct pb_delivery_recipient *
find(struct pb_delivery_batch *b, const char *contact_id)
{
    int lo = 0, hi = b->n - 1;
    while (lo <= hi) {
        int mid = (lo + hi) / 2;
        int c = strcmp(b->r[mid].contact_id, contact_id);
        if (c == 0)
            return &b->r[mid];
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid - 1;
    }
    return NULL;
}

/* Checked again at send time: the snapshot may be hours old. */
static void
contact_one(void *cls, const struct pb_contact *c, bool on_list)
{
    struct load_ctx *l = cls;
    struct pb_delivery_recipient *d = find(l->b, c->id);
    if (d == NULL)
        return;
    d->skip = true;
    if (strcmp(c->status, "active") != 0) {
        d->skip_reason = "the contact was erased";
    } else if (c->suppressed_at != 0) {
        d->skip_reason = "the address is suppressed (it bounced)";
    } else if (!on_list) {
        d->skip_reason = "the contact left the campaign's lists";
    } else {
        char place[PB_CONTACT_PLACE_MAX];
        size_t len = 0;
        pb_contact_email_place(l->b->account_id, d->contact_id, place);
        if (c->email_sealed_len == 0 || c->email_sealed_len > PB_EMAIL_SEALED_MAX ||
            pb_data_key_open(l->key, place, c->email_sealed, c->email_sealed_len,
                             (unsigned char *)d->email, &len) != PB_ERR_OK ||
            len >= sizeof(d->email)) {
            d->skip_reason = "the address cannot be read";
            len = 0;
        } else {
            d->skip = false;
            d->skip_reason = NULL;
        }
        d->email[len] = '\0';
        d->values[PB_CAMPAIGN_VAR_EMAIL] = d->email;
    }
}

static void
value_one(void *cls, const struct pb_contact_value *v)
{
    struct load_ctx *l = cls;
    struct pb_delivery_recipient *d = find(l->b, v->contact_id);
    if (d == NULL || d->skip)
        return;
    for (int i = PB_CAMPAIGN_VAR_FIELDS; i < l->cc->nvars; i++) {
        if (!l->cc->used[i] || strcmp(l->cc->names[i], v->field_key) != 0)
            continue;
        if (v->value_sealed_len == 0) {
            d->values[i] = pb_arena_strdup(l->b->arena, v->value_text);
        } else {
            /* Sensitive values are opened here, in memory, for this render only. */
            char place[PB_CONTACT_PLACE_MAX];
            unsigned char plain[PB_VALUE_SEALED_MAX];
            size_t len = 0;
            pb_contact_value_place(v->account_id, v->contact_id, v->field_key, place);
            if (pb_data_key_open(l->key, place, v->value_sealed, v->value_sealed_len, plain,
                                 &len) == PB_ERR_OK)
                d->values[i] = pb_arena_strndup(l->b->arena, (const char *)plain, len);
            sodium_memzero(plain, sizeof(plain));
        }
        if (d->values[i] == NULL)
            l->failed = true;
        return;
    }
}

/* The batch's contacts, memberships and values: a few statements for the whole batch. */
static enum pb_qs
load_tx(struct pb_tx *tx, void *cls)
{
    struct load_ctx *l = cls;
    struct pb_delivery_batch *b = l->b;
    l->failed = false;
    for (int i = 0; i < b->n; i++) {
        struct pb_delivery_recipient *d = &b->r[i];
        memset(d->values, 0, sizeof(d->values));
        /* A contact that does not come back is gone. */
        d->skip = true;
        d->skip_reason = "the contact was erased";
        d->email[0] = '\0';
        pb_strlcpy(l->ids[i], d->contact_id, sizeof(l->ids[i]));
    }
    return tx->ops->recipient_load(tx->conn, b->account_id, b->campaign_id,
                                   (const pb_id_text *)l->ids, b->n, contact_one, value_one, l);
}

enum pb_err
pb_delivery_claim(struct pb_app *app, const struct pb_campaign_compiled *cc, const char *owner,
                  int limit, int rate_per_minute, struct pb_delivery_batch *b)
{
    b->n = 0;
    b->arena = NULL;
    pb_strlcpy(b->account_id, cc->account_id, sizeof(b->account_id));
    pb_strlcpy(b->campaign_id, cc->campaign_id, sizeof(b->campaign_id));
    if (limit > PB_DELIVERY_BATCH_MAX)
        limit = PB_DELIVERY_BATCH_MAX;
    const struct pb_data_key *key = NULL;
    enum pb_err err = pb_app_data_key(app, cc->account_id, &key);
    if (err != PB_ERR_OK)
        return err;
    int64_t now = pb_clock_now();
    struct claim_ctx c = {b, owner, limit, rate_per_minute, now, now + pb_job_lease_seconds(app)};
    err = pb_tenant_tx(app, cc->account_id, PB_TX_WRITE_LOCKED, claim_tx, &c);
    if (err != PB_ERR_OK || b->n == 0)
        return err;

    struct load_ctx *l = calloc(1, sizeof(*l));
    b->arena = pb_arena_new(ARENA_LIMIT);
    if (l == NULL || b->arena == NULL) {
        free(l);
        return PB_ERR_NOMEM;
    }
    l->cc = cc;
    l->key = key;
    l->b = b;
    err = pb_tenant_tx(app, cc->account_id, PB_TX_READ, load_tx, l);
    if (err == PB_ERR_OK && l->failed)
        err = PB_ERR_NOMEM;
    free(l);
    return err;
}

void
pb_delivery_release(struct pb_delivery_batch *b)
{
    for (int i = 0; i < b->n; i++)
        sodium_memzero(b->r[i].email, sizeof(b->r[i].email));
    if (b->arena != NULL) {
        pb_arena_wipe(b->arena);
        pb_arena_free(b->arena);
        b->arena = NULL;
    }
    b->n = 0;
}

/* ---- recording ---- */

enum pb_err
pb_suppression_hash(struct pb_app *app, const char *account_id, const char *email,
                    unsigned char out[PB_HASH_BYTES])
{
    char normal[PB_EMAIL_MAX + 1], why[PB_WHY_MAX];
    if (pb_email_normalize(email, PB_EMAIL_LOWER_ALL, normal, why) != PB_ERR_OK)
        return PB_ERR_EMAIL_INVALID;
    const struct pb_data_key *key = NULL;
    enum pb_err err = pb_app_data_key(app, account_id, &key);
    if (err == PB_ERR_OK)
        pb_data_key_blind_index(key, "suppression", normal, strlen(normal), out);
    return err;
}

/* A 4xx is tried again after 1, 2, 4, 8 minutes... (at most 6 hours). */
static int64_t
retry_delay(const struct pb_app *app, int attempts)
{
    int64_t base = app->config != NULL && app->config->send_retry_seconds > 0
                       ? app->config->send_retry_seconds
                       : 60;
    int64_t d = base;
    for (int i = 1; i < attempts && d < 6 * 3600; i++)
        d *= 2;
    return d < 6 * 3600 ? d : 6 * 3600;
}

struct record_ctx {
    struct pb_app *app;
    const struct pb_delivery_batch *b;
    const char *owner;
    const struct pb_delivery_outcome *outcomes;
    int64_t now;
    struct pb_recipient_outcome rows[PB_DELIVERY_BATCH_MAX];
    bool applied[PB_DELIVERY_BATCH_MAX];
    unsigned char hashes[PB_DELIVERY_BATCH_MAX][PB_HASH_BYTES];
    bool bounced[PB_DELIVERY_BATCH_MAX];
};

static enum pb_qs
record_tx(struct pb_tx *tx, void *cls)
{
    struct record_ctx *r = cls;
    const struct pb_delivery_batch *b = r->b;
    enum pb_qs qs = tx->ops->recipient_finish_many(tx->conn, b->account_id, b->campaign_id,
                                                   r->owner, r->rows, b->n, r->applied);
    if (qs < 0)
        return qs;
    struct pb_campaign_counters delta;
    memset(&delta, 0, sizeof(delta));
    for (int i = 0; i < b->n; i++) {
        if (!r->applied[i])
            continue; /* another sender took it over: it counts there */
        const char *state = r->rows[i].state;
        if (b->r[i].reclaimed && r->outcomes[i].result != PB_DELIVERY_RELEASED)
            delta.reclaimed++;
        if (strcmp(state, "sent") == 0)
            delta.sent++;
        else if (strcmp(state, "failed") == 0)
            delta.failed++;
        else if (r->outcomes[i].result == PB_DELIVERY_DEFERRED)
            delta.deferred++;
        if (r->bounced[i] && strcmp(state, "failed") == 0) {
            delta.bounced++;
            qs = tx->ops->contact_set_suppressed(tx->conn, b->account_id, b->r[i].contact_id,
                                                 r->now);
            if (qs < 0)
                return qs;
            qs = tx->ops->suppression_put(tx->conn, b->account_id, r->hashes[i], "bounce", r->now);
            if (qs < 0)
                return qs;
        }
    }
    return tx->ops->campaign_counters_add(tx->conn, b->account_id, b->campaign_id, &delta);
}

enum pb_err
pb_delivery_record(struct pb_app *app, const struct pb_delivery_batch *b, const char *owner,
                   const struct pb_delivery_outcome *outcomes, int64_t now)
{
    struct record_ctx *r = calloc(1, sizeof(*r));
    if (r == NULL)
        return PB_ERR_NOMEM;
    r->app = app;
    r->b = b;
    r->owner = owner;
    r->outcomes = outcomes;
    r->now = now;
    for (int i = 0; i < b->n; i++) {
        const struct pb_delivery_recipient *d = &b->r[i];
        const struct pb_delivery_outcome *o = &outcomes[i];
        struct pb_recipient_outcome *row = &r->rows[i];
        row->contact_id = d->contact_id;
        row->attempts = d->attempts;
        row->error = o->error[0] ? o->error : NULL;
        switch (o->result) {
        case PB_DELIVERY_SENT:
            row->state = "sent";
            row->attempts = d->attempts + 1;
            row->sent_at = now;
            break;
        case PB_DELIVERY_DEFERRED:
            row->attempts = d->attempts + 1;
            if (row->attempts >= PB_DELIVERY_ATTEMPTS) {
                row->state = "failed";
            } else {
                row->state = "deferred";
                row->next_attempt_at = now + retry_delay(app, row->attempts);
            }
            break;
        case PB_DELIVERY_RELEASED:
            row->state = "deferred";
            row->next_attempt_at = now;
            break;
        case PB_DELIVERY_BOUNCED:
            r->bounced[i] =
                pb_suppression_hash(app, b->account_id, d->email, r->hashes[i]) == PB_ERR_OK;
            row->attempts = d->attempts + 1;
            row->state = "failed";
            break;
        case PB_DELIVERY_FAILED:
            row->attempts = d->attempts + 1;
            row->state = "failed";
            break;
        }
    }
    enum pb_err err = pb_tenant_tx(app, b->account_id, PB_TX_WRITE_LOCKED, record_tx, r);
    free(r);
    return err;
}

struct finish_ctx {
    const char *account_id;
    const char *campaign_id;
    bool finished;
};

static enum pb_qs
finish_tx(struct pb_tx *tx, void *cls)
{
    struct finish_ctx *f = cls;
    int64_t pending = 0;
    f->finished = false;
    struct pb_campaign c;
    memset(&c, 0, sizeof(c));
    enum pb_qs qs = tx->ops->campaign_get(tx->conn, f->account_id, f->campaign_id, false, &c);
    /* While the snapshot runs, more recipients may come: not done yet. */
    if (qs <= 0 || !c.prepared)
        return qs;
    qs = tx->ops->recipient_pending(tx->conn, f->account_id, f->campaign_id, &pending);
    if (qs < 0 || pending > 0)
        return qs;
    /* Sent: a relay problem shown while sending is over (the counters keep what failed). */
    qs = tx->ops->campaign_transition(tx->conn, f->account_id, f->campaign_id, "sending", "sent",
                                      pb_clock_now(), -1, "");
    f->finished = qs == PB_QS_ONE;
    return qs;
}

enum pb_err
pb_delivery_finish_if_done(struct pb_app *app, const char *account_id, const char *campaign_id,
                           bool *finished)
{
    struct finish_ctx f = {account_id, campaign_id, false};
    enum pb_err err = pb_tenant_tx(app, account_id, PB_TX_WRITE, finish_tx, &f);
    *finished = f.finished;
    return err;
}
