/*
 * Campaigns: write (authors too), send, schedule, pause, resume, cancel
 * (campaigns.send: owners and admins), and read their statistics. The
 * sending itself is done by the prepare job (jobs/send.c, which snapshots
 * the recipients) and the sender threads (jobs/sender.c); this module
 * holds the rules about states.
 *
 *   draft -> scheduled -> sending <-> paused
 *   draft -> sending -> sent          (and -> cancelled from any unfinished state)
 */
#ifndef PB_MODEL_CAMPAIGN_H
#define PB_MODEL_CAMPAIGN_H

#include <jansson.h>

#include "model/app.h"
#include "model/auth.h"

#define PB_CAMPAIGN_PREPARE_KIND "campaign.prepare"

/* What a create or a change gives; NULL (or -1) leaves a value as it is on change. */
struct pb_campaign_input {
    const char *name;
    const char *subject;
    const char *from;
    const char *reply_to;
    const char *html;
    const char *text;
    const char *const *list_ids;
    int list_count;      /* -1: not given */
    int rate_per_minute; /* -1: not given */
};

/*
 * Errors with `field`: PB_ERR_INVALID or PB_ERR_TOO_LARGE (name, subject,
 * from, reply_to, html, text, list_ids, rate_per_minute; an unknown merge
 * tag names its line), PB_ERR_NOT_FOUND (list_ids: not the account's list).
 */
enum pb_err
pb_campaign_create(struct pb_app *app, const struct pb_principal *who,
                   const struct pb_campaign_input *in, struct pb_campaign *out, const char **field,
                   char why[PB_WHY_MAX]);

/* Only a draft or a scheduled campaign changes (PB_ERR_CONFLICT otherwise). */
enum pb_err
pb_campaign_update(struct pb_app *app, const struct pb_principal *who, const char *id,
                   const struct pb_campaign_input *in, struct pb_campaign *out, const char **field,
                   char why[PB_WHY_MAX]);

/* `out` has its bodies when `bodies` (pb_campaign_bodies_free). */
enum pb_err
pb_campaign_get(struct pb_app *app, const struct pb_principal *who, const char *id, bool bodies,
                struct pb_campaign *out);

enum pb_err
pb_campaign_list(struct pb_app *app, const struct pb_principal *who, const char *before_id,
                 int limit, pb_campaign_cb cb, void *cls);

/* Not while it is being sent (PB_ERR_CONFLICT: pause or cancel it first). */
enum pb_err
pb_campaign_delete(struct pb_app *app, const struct pb_principal *who, const char *id);

/*
 * Sends a draft now (`at` <= now) or schedules it. Refused with `why`:
 * PB_ERR_CONFLICT when it is not a draft (sent twice), PB_ERR_INVALID when
 * it has no list, its lists have no subscribed member, a template no
 * longer compiles, or the account has no SMTP relay.
 */
enum pb_err
pb_campaign_send(struct pb_app *app, const struct pb_principal *who, const char *id, int64_t at,
                 struct pb_campaign *out, const char **field, char why[PB_WHY_MAX]);

/* "pause", "resume" or "cancel"; PB_ERR_CONFLICT with `why` when the state does not allow it. */
enum pb_err
pb_campaign_control(struct pb_app *app, const struct pb_principal *who, const char *id,
                    const char *action, struct pb_campaign *out, char why[PB_WHY_MAX]);

/* The campaign as the API shows it (with bodies when `c` has them). */
json_t *
pb_campaign_json(const struct pb_campaign *c);

/* GET /campaigns/{id}/stats: counters, per-link clicks, tracking mode. */
enum pb_err
pb_campaign_stats(struct pb_app *app, const struct pb_principal *who, const char *id, json_t **out);

/*
 * GET /campaigns/{id}/timeline: the messages sent over time, for a chart:
 * {start, bucket_seconds, sent: [...]} from the start of the send to its end
 * (or now), in at most PB_CAMPAIGN_TIMELINE_MAX buckets of a round size
 * (a minute, 5 minutes, ... a week). `sent` is empty before the send starts.
 */
#define PB_CAMPAIGN_TIMELINE_MAX 60

enum pb_err
pb_campaign_timeline(struct pb_app *app, const struct pb_principal *who, const char *id,
                     json_t **out);

/*
 * For the sender threads: moves scheduled campaigns that are due to
 * "sending" and queues their prepare jobs. Returns how many started.
 */
int
pb_campaign_start_due(struct pb_app *app, int64_t now);

/*
 * The prepare job's step: snapshots the next batch of recipients (cursor:
 * the last contact id), counting them; `*finished` when all are in, the
 * campaign then marked prepared (or sent at once when nobody is left).
 */
enum pb_err
pb_campaign_prepare_step(struct pb_app *app, struct pb_job *job, bool *finished,
                         char why[PB_WHY_MAX]);

#endif
