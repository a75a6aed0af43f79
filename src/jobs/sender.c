/* The sender threads: claim, compose, send, record; see sender.h. */
#include "jobs/sender.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sodium.h>

#include "core/clock.h"
#include "core/log.h"
#include "core/strutil.h"
#include "mail/smtp.h"
#include "model/campaign.h"
#include "model/compose.h"
#include "model/delivery.h"
#include "model/relay.h"
#include "model/tenant.h"

#define SENDING_MAX    32  /* campaigns looked at per round */
#define RELAYS_MAX     64  /* relays a node keeps limits for */
#define IDLE_MS        250 /* the pause when there is nothing to send */
#define RELAY_PAUSE_S  5   /* after a relay could not be reached */
#define MESSAGE_MAX    (24u * 1024 * 1024)
#define STATE_CHECK_US 250000 /* how often a thread sending a batch looks for a pause or cancel */

/* Per relay (host, port, user) on this node: connections in use and the rate's token bucket. */
struct relay_slot {
    char key[PB_HOST_MAX + PB_SMTP_USER_MAX + 16];
    int connections;
    double tokens;
    int64_t refilled_us;
    int64_t paused_until; /* after a failure to connect: let it breathe */
};

struct worker {
    struct pb_sender *sender;
    pthread_t thread;
    int index;
    char owner[PB_JOB_OWNER_MAX + 1];
    struct pb_campaign_compiled *cc; /* the campaign last worked on */
    struct pb_compose compose;
    bool composing;
    struct pb_smtp *smtp;
    char relay_key[sizeof(((struct relay_slot *)0)->key)];
    int64_t relay_updated_at;
    struct pb_buf message;
    struct pb_delivery_batch batch;
    struct pb_delivery_outcome outcomes[PB_DELIVERY_BATCH_MAX];
    struct pb_campaign sending[SENDING_MAX];
};

struct pb_sender {
    struct pb_app *app;
    pthread_mutex_t lock;
    pthread_cond_t wake;
    bool stopping;
    struct relay_slot relays[RELAYS_MAX];
    int nworkers;
    struct worker *workers;
    int64_t last_schedule_ms;
};

static bool
stopping(struct pb_sender *s)
{
    pthread_mutex_lock(&s->lock);
    bool stop = s->stopping;
    pthread_mutex_unlock(&s->lock);
    return stop;
}

/* Waits up to `ms` milliseconds, or until the sender is stopped. */
static void
pause_ms(struct pb_sender *s, int ms)
{
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += ms / 1000;
    until.tv_nsec += (long)(ms % 1000) * 1000000L;
    if (until.tv_nsec >= 1000000000L) {
        until.tv_sec++;
        until.tv_nsec -= 1000000000L;
    }
    pthread_mutex_lock(&s->lock);
    while (!s->stopping && pthread_cond_timedwait(&s->wake, &s->lock, &until) != ETIMEDOUT)
        ;
    pthread_mutex_unlock(&s->lock);
}

/* ---- relay limits (call with the lock held) ---- */

static struct relay_slot *
slot_of(struct pb_sender *s, const char *key)
{
    struct relay_slot *free_slot = NULL;
    for (int i = 0; i < RELAYS_MAX; i++) {
        if (strcmp(s->relays[i].key, key) == 0)
            return &s->relays[i];
        if (free_slot == NULL && s->relays[i].connections == 0)
            free_slot = &s->relays[i];
    }
    if (free_slot != NULL) {
        memset(free_slot, 0, sizeof(*free_slot));
        pb_strlcpy(free_slot->key, key, sizeof(free_slot->key));
    }
    return free_slot;
}

/*
 * Whether this worker may use a connection to the relay now. A worker
 * holds one of the relay's connection slots exactly while its relay_key
 * names the relay (connected or not): it takes one here when it holds none,
 * and gives it back in relay_release.
 */
static bool
relay_acquire(struct worker *w, const char *key, const struct pb_relay_config *relay)
{
    struct pb_sender *s = w->sender;
    bool held = strcmp(w->relay_key, key) == 0;
    pthread_mutex_lock(&s->lock);
    struct relay_slot *slot = slot_of(s, key);
    bool ok = slot != NULL && slot->paused_until <= pb_clock_now() &&
              (held || slot->connections < relay->max_connections);
    if (ok && !held)
        slot->connections++;
    pthread_mutex_unlock(&s->lock);
    return ok;
}

static void
relay_release(struct worker *w)
{
    if (w->smtp != NULL) {
        pb_smtp_quit_and_free(w->smtp);
        w->smtp = NULL;
    }
    if (w->relay_key[0] == '\0')
        return;
    pthread_mutex_lock(&w->sender->lock);
    struct relay_slot *slot = slot_of(w->sender, w->relay_key);
    if (slot != NULL && slot->connections > 0)
        slot->connections--;
    pthread_mutex_unlock(&w->sender->lock);
    w->relay_key[0] = '\0';
}

static void
relay_pause(struct worker *w)
{
    pthread_mutex_lock(&w->sender->lock);
    struct relay_slot *slot = slot_of(w->sender, w->relay_key);
    if (slot != NULL)
        slot->paused_until = pb_clock_now() + RELAY_PAUSE_S;
    pthread_mutex_unlock(&w->sender->lock);
}

/* Waits for a token of the relay's per-second rate (0: no limit). */
static void
relay_rate_wait(struct worker *w, int rate)
{
    if (rate <= 0)
        return;
    for (;;) {
        pthread_mutex_lock(&w->sender->lock);
        struct relay_slot *slot = slot_of(w->sender, w->relay_key);
        int64_t now = pb_clock_mono_us();
        if (slot == NULL) {
            pthread_mutex_unlock(&w->sender->lock);
            return;
        }
        if (slot->refilled_us == 0) {
            slot->refilled_us = now;
            slot->tokens = 1;
        }
        slot->tokens += (double)(now - slot->refilled_us) * rate / 1e6;
        if (slot->tokens > rate)
            slot->tokens = rate; /* a burst of at most one second's worth */
        slot->refilled_us = now;
        bool go = slot->tokens >= 1;
        if (go)
            slot->tokens -= 1;
        int wait_us = go ? 0 : (int)((1 - slot->tokens) * 1e6 / rate) + 1;
        pthread_mutex_unlock(&w->sender->lock);
        if (go || stopping(w->sender))
            return;
        struct timespec ts = {wait_us / 1000000, (long)(wait_us % 1000000) * 1000};
        nanosleep(&ts, NULL);
    }
}

/* ---- the campaign being worked on ---- */

struct load_ctx {
    const char *account_id;
    const char *id;
    struct pb_campaign *c;
};

static enum pb_qs
load_tx(struct pb_tx *tx, void *cls)
{
    struct load_ctx *l = cls;
    pb_campaign_bodies_free(l->c);
    return tx->ops->campaign_get(tx->conn, l->account_id, l->id, true, l->c);
}

/* Marks the campaign `to` ("paused", "failed") with `why`, from "sending". */
struct stop_ctx {
    const char *account_id;
    const char *id;
    const char *to;
    const char *why;
};

static enum pb_qs
stop_tx(struct pb_tx *tx, void *cls)
{
    struct stop_ctx *s = cls;
    return tx->ops->campaign_transition(tx->conn, s->account_id, s->id, "sending", s->to,
                                        pb_clock_now(), -1, s->why);
}

static void
campaign_stop(struct worker *w, const struct pb_campaign *c, const char *to, const char *why)
{
    struct stop_ctx s = {c->account_id, c->id, to, why};
    if (pb_tenant_tx(w->sender->app, c->account_id, PB_TX_WRITE, stop_tx, &s) == PB_ERR_OK)
        pb_warn("sender: campaign %s %s: %s", c->id, to, why);
}

/* Shows (or, with "", clears) a problem in the campaign's status while it goes on sending. */
static void
campaign_note(struct worker *w, const struct pb_campaign *c, const char *why)
{
    struct stop_ctx s = {c->account_id, c->id, "sending", why};
    (void)pb_tenant_tx(w->sender->app, c->account_id, PB_TX_WRITE, stop_tx, &s);
}

static void
forget_campaign(struct worker *w)
{
    if (w->composing)
        pb_compose_release(&w->compose);
    w->composing = false;
    pb_campaign_compiled_free(w->cc);
    w->cc = NULL;
}

/* Compiles `c` unless this worker has it compiled at its current version. */
static bool
ensure_compiled(struct worker *w, const struct pb_campaign *c)
{
    if (w->cc != NULL && strcmp(w->cc->campaign_id, c->id) == 0 &&
        w->cc->updated_at == c->updated_at)
        return true;
    forget_campaign(w);
    struct pb_campaign full;
    memset(&full, 0, sizeof(full));
    struct load_ctx l = {c->account_id, c->id, &full};
    enum pb_err err = pb_tenant_tx(w->sender->app, c->account_id, PB_TX_READ, load_tx, &l);
    const char *field = NULL;
    char why[PB_WHY_MAX] = "";
    if (err == PB_ERR_OK)
        err = pb_campaign_compile(w->sender->app, &full, true, &w->cc, &field, why);
    pb_campaign_bodies_free(&full);
    if (err == PB_ERR_OK) {
        err = pb_compose_init(&w->compose, w->sender->app, w->cc);
        w->composing = true;
        if (err != PB_ERR_OK)
            snprintf(why, sizeof(why), "the DKIM keys of %s cannot be used: %s", w->cc->from_domain,
                     pb_err_hint(err));
    }
    if (err == PB_ERR_OK)
        return true;
    forget_campaign(w);
    if (err == PB_ERR_INVALID || err == PB_ERR_TOO_LARGE)
        campaign_stop(w, c, "failed", why[0] ? why : "the campaign does not compile");
    else
        pb_warn("sender: campaign %s: %s", c->id, pb_err_hint(err));
    return false;
}

/* ---- sending one batch ---- */

static void
outcome(struct pb_delivery_outcome *o, enum pb_delivery_result r, const char *why)
{
    o->result = r;
    pb_strlcpy(o->error, why != NULL ? why : "", sizeof(o->error));
}

/* What an SMTP answer means for the recipient. */
static void
classify(const struct pb_smtp_result *res, struct pb_delivery_outcome *o)
{
    const struct pb_smtp_error *e =
        res->nrcpt > 0 && res->rcpt != NULL ? &res->rcpt[0] : &res->error;
    switch (e->cls) {
    case PB_SMTP_OK:
        outcome(o, PB_DELIVERY_SENT, NULL);
        return;
    case PB_SMTP_TEMPORARY:
    case PB_SMTP_CONNECTION:
    case PB_SMTP_PROTOCOL:
        /* Not taken (no 250 after the data): try again later. */
        outcome(o, PB_DELIVERY_DEFERRED, e->text);
        return;
    case PB_SMTP_PERMANENT:
        /* A 5xx to RCPT is about the address: a hard bounce. Others (content) are not. */
        outcome(o, strncmp(e->text, "RCPT", 4) == 0 ? PB_DELIVERY_BOUNCED : PB_DELIVERY_FAILED,
                e->text);
        return;
    }
}

struct state_ctx {
    const struct pb_campaign *c;
    struct pb_campaign now;
};

static enum pb_qs
state_tx(struct pb_tx *tx, void *cls)
{
    struct state_ctx *s = cls;
    return tx->ops->campaign_get(tx->conn, s->c->account_id, s->c->id, false, &s->now);
}

/*
 * Whether the campaign is still "sending": a pause or a cancel takes effect
 * within STATE_CHECK_US, not only at the end of a batch. When the state
 * cannot be read, sending goes on (the next batch looks again).
 */
static bool
still_sending(struct worker *w, const struct pb_campaign *c)
{
    struct state_ctx *s = calloc(1, sizeof(*s));
    if (s == NULL)
        return true;
    s->c = c;
    bool sending =
        pb_tenant_tx(w->sender->app, c->account_id, PB_TX_READ, state_tx, s) != PB_ERR_OK ||
        strcmp(s->now.state, "sending") == 0;
    free(s);
    return sending;
}

static enum pb_smtp_class
connect_relay(struct worker *w, const struct pb_relay_config *relay, struct pb_smtp_error *err)
{
    struct pb_smtp_config cfg;
    pb_relay_smtp_config(w->sender->app, relay, &cfg);
    return pb_smtp_connect(&cfg, &w->smtp, err);
}

/*
 * Sends the claimed batch; fills w->outcomes. When the relay could not be
 * reached, `down_why` says why (else it is "").
 */
static void
send_batch(struct worker *w, const struct pb_campaign *c, const struct pb_relay_config *relay,
           char down_why[PB_WHY_MAX])
{
    struct pb_delivery_batch *b = &w->batch;
    struct pb_smtp_result res;
    memset(&res, 0, sizeof(res));
    bool relay_down = false;
    down_why[0] = '\0';
    bool halted = false; /* paused or cancelled while this batch was being sent */
    int64_t checked_us = pb_clock_mono_us();
    for (int i = 0; i < b->n; i++) {
        struct pb_delivery_recipient *r = &b->r[i];
        struct pb_delivery_outcome *o = &w->outcomes[i];
        if (!halted && pb_clock_mono_us() - checked_us >= STATE_CHECK_US) {
            checked_us = pb_clock_mono_us();
            halted = !still_sending(w, c);
        }
        if (relay_down || halted || stopping(w->sender)) {
            outcome(o, PB_DELIVERY_RELEASED, down_why);
            continue;
        }
        if (r->skip) {
            outcome(o, PB_DELIVERY_FAILED, r->skip_reason);
            continue;
        }
        pb_buf_reset(&w->message);
        enum pb_err err = pb_compose_message(&w->compose, r->contact_id, r->email, r->values,
                                             pb_clock_now(), &w->message);
        if (err != PB_ERR_OK) {
            char why[PB_WHY_MAX];
            snprintf(why, sizeof(why), "the message could not be built: %s", pb_err_hint(err));
            outcome(o, PB_DELIVERY_FAILED, why);
            continue;
        }
        if (w->smtp == NULL || !pb_smtp_usable(w->smtp)) {
            if (w->smtp != NULL) {
                pb_smtp_quit_and_free(w->smtp);
                w->smtp = NULL;
            }
            struct pb_smtp_error cerr;
            memset(&cerr, 0, sizeof(cerr));
            enum pb_smtp_class cls = connect_relay(w, relay, &cerr);
            if (cls != PB_SMTP_OK) {
                relay_down = true;
                snprintf(down_why, PB_WHY_MAX, "relay %s:%u: %s", relay->host, relay->port,
                         cerr.text);
                if (cls == PB_SMTP_PERMANENT) {
                    /* Refused AUTH or TLS: no retry helps until someone fixes the settings. */
                    char why[PB_WHY_MAX];
                    snprintf(why, sizeof(why),
                             "%s; fix the SMTP settings, then resume the campaign", down_why);
                    campaign_stop(w, c, "paused", why);
                } else {
                    relay_pause(w);
                    pb_warn("sender: %s", down_why);
                }
                outcome(o, PB_DELIVERY_RELEASED, down_why);
                continue;
            }
        }
        relay_rate_wait(w, relay->rate_per_second);
        const char *to = r->email;
        pb_smtp_send(w->smtp, w->cc->from_addr, &to, 1, w->message.data, w->message.len, &res);
        classify(&res, o);
    }
    pb_smtp_result_release(&res);
}

static int
count_sent_since(struct worker *w, const struct pb_campaign *c, int64_t since, int64_t *count);

/* Works on one campaign: one batch. Whether there was anything to do. */
static bool
work_campaign(struct worker *w, const struct pb_campaign *c)
{
    struct pb_app *app = w->sender->app;
    if (!ensure_compiled(w, c))
        return true;

    struct pb_relay_config relay;
    enum pb_err err = pb_relay_load(app, c->account_id, &relay);
    if (err == PB_ERR_NOT_FOUND) {
        campaign_stop(w, c, "paused",
                      "the account has no SMTP relay: set one, then resume the campaign");
        return true;
    }
    if (err != PB_ERR_OK)
        return false;
    char key[sizeof(w->relay_key)];
    snprintf(key, sizeof(key), "%s:%u:%s", relay.host, relay.port, relay.user);
    bool changed = strcmp(key, w->relay_key) != 0 || relay.updated_at != w->relay_updated_at;
    if (changed)
        relay_release(w); /* another relay, or new settings: a new connection */
    int limit = app->config != NULL && app->config->send_batch > 0 ? app->config->send_batch : 100;
    if (c->rate_per_minute > 0) {
        int64_t recent = 0;
        if (count_sent_since(w, c, pb_clock_now() - 60, &recent) != 0)
            goto out;
        if (recent >= c->rate_per_minute)
            goto out; /* the campaign's window is full: later */
        if (limit > c->rate_per_minute - recent)
            limit = (int)(c->rate_per_minute - recent);
    }
    if (!relay_acquire(w, key, &relay))
        goto out; /* the relay has all the connections it may have */
    pb_strlcpy(w->relay_key, key, sizeof(w->relay_key));
    w->relay_updated_at = relay.updated_at;

    err = pb_delivery_claim(app, w->cc, w->owner, limit, c->rate_per_minute, &w->batch);
    if (err != PB_ERR_OK || w->batch.n == 0) {
        pb_delivery_release(&w->batch);
        bool finished = false;
        if (err == PB_ERR_OK &&
            pb_delivery_finish_if_done(app, c->account_id, c->id, &finished) == PB_ERR_OK &&
            finished)
            pb_info("sender: campaign %s sent", c->id);
        if (err != PB_ERR_OK)
            pb_warn("sender: claiming recipients of %s: %s", c->id, pb_err_hint(err));
        sodium_memzero(relay.password, sizeof(relay.password));
        return finished;
    }
    char down_why[PB_WHY_MAX];
    send_batch(w, c, &relay, down_why);
    int sent = 0;
    for (int i = 0; i < w->batch.n; i++)
        sent += w->outcomes[i].result == PB_DELIVERY_SENT;
    pb_debug("sender: %s: a batch of %d for campaign %s: %d sent", w->owner, w->batch.n, c->id,
             sent);
    err = pb_delivery_record(app, &w->batch, w->owner, w->outcomes, pb_clock_now());
    if (err != PB_ERR_OK)
        pb_warn("sender: recording a batch of %s: %s (its lease runs out; it is sent again)", c->id,
                pb_err_hint(err));
    pb_delivery_release(&w->batch);
    /* The campaign's status tells the user about a relay that is down, until it is back. */
    if (down_why[0] != '\0')
        campaign_note(w, c, down_why);
    else if (sent > 0 && c->error[0] != '\0')
        campaign_note(w, c, "");
    sodium_memzero(relay.password, sizeof(relay.password));
    return true;
out:
    sodium_memzero(relay.password, sizeof(relay.password));
    return false;
}

struct since_ctx {
    const char *account_id;
    const char *id;
    int64_t since;
    int64_t *count;
};

static enum pb_qs
since_tx(struct pb_tx *tx, void *cls)
{
    struct since_ctx *s = cls;
    return tx->ops->recipient_sent_since(tx->conn, s->account_id, s->id, s->since, s->count);
}

static int
count_sent_since(struct worker *w, const struct pb_campaign *c, int64_t since, int64_t *count)
{
    struct since_ctx s = {c->account_id, c->id, since, count};
    return pb_tenant_tx(w->sender->app, c->account_id, PB_TX_READ, since_tx, &s) == PB_ERR_OK ? 0
                                                                                              : -1;
}

/* ---- the thread ---- */

struct sending_ctx {
    struct worker *w;
    int n;
};

static void
sending_one(void *cls, const struct pb_campaign *c)
{
    struct sending_ctx *s = cls;
    if (s->n < SENDING_MAX)
        s->w->sending[s->n++] = *c;
}

static enum pb_qs
sending_tx(struct pb_tx *tx, void *cls)
{
    struct sending_ctx *s = cls;
    s->n = 0;
    return tx->ops->campaign_sending(tx->conn, "", SENDING_MAX, sending_one, s);
}

static void *
run(void *arg)
{
    struct worker *w = arg;
    struct pb_sender *s = w->sender;
    while (!stopping(s)) {
        if (w->index == 0) {
            int64_t now_ms = pb_clock_now_ms();
            if (now_ms - s->last_schedule_ms >= 1000) {
                s->last_schedule_ms = now_ms;
                int started = pb_campaign_start_due(s->app, pb_clock_now());
                if (started > 0)
                    pb_info("sender: %d scheduled campaigns started", started);
            }
        }
        /* Campaigns live in the account stores; like the job runner, look in the control store. */
        struct sending_ctx list = {w, 0};
        bool did = false;
        if (pb_store_tx(s->app->control, PB_TX_READ, sending_tx, &list) == PB_ERR_OK) {
            for (int k = 0; k < list.n && !stopping(s); k++)
                did = work_campaign(w, &w->sending[(k + w->index) % list.n]) || did;
        }
        if (!did)
            pause_ms(s, IDLE_MS);
    }
    relay_release(w);
    forget_campaign(w);
    pb_buf_release(&w->message, 1);
    return NULL;
}

enum pb_err
pb_sender_start(struct pb_app *app, const char *node_id, int threads, struct pb_sender **out)
{
    *out = NULL;
    if (threads <= 0)
        return PB_ERR_OK;
    struct pb_sender *s = calloc(1, sizeof(*s));
    if (s == NULL)
        return PB_ERR_NOMEM;
    s->workers = calloc((size_t)threads, sizeof(*s->workers));
    if (s->workers == NULL) {
        free(s);
        return PB_ERR_NOMEM;
    }
    s->app = app;
    pthread_mutex_init(&s->lock, NULL);
    pthread_cond_init(&s->wake, NULL);
    for (int i = 0; i < threads; i++) {
        struct worker *w = &s->workers[i];
        w->sender = s;
        w->index = i;
        snprintf(w->owner, sizeof(w->owner), "%s#send%d", node_id, i);
        pb_buf_init(&w->message, MESSAGE_MAX);
        if (pthread_create(&w->thread, NULL, run, w) != 0) {
            pb_buf_release(&w->message, 0);
            break;
        }
        s->nworkers++;
    }
    if (s->nworkers == 0) {
        pthread_cond_destroy(&s->wake);
        pthread_mutex_destroy(&s->lock);
        free(s->workers);
        free(s);
        return PB_ERR_NOMEM;
    }
    *out = s;
    return PB_ERR_OK;
}

void
pb_sender_stop(struct pb_sender *sender)
{
    if (sender == NULL)
        return;
    pthread_mutex_lock(&sender->lock);
    sender->stopping = true;
    pthread_cond_broadcast(&sender->wake);
    pthread_mutex_unlock(&sender->lock);
    for (int i = 0; i < sender->nworkers; i++)
        pthread_join(sender->workers[i].thread, NULL);
    pthread_cond_destroy(&sender->wake);
    pthread_mutex_destroy(&sender->lock);
    free(sender->workers);
    free(sender);
}
