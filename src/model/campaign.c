/* Campaigns: checking and saving them, and the rules of their states. */
#include "model/campaign.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/clock.h"
#include "core/strutil.h"
#include "model/account.h"
#include "model/campaign_compile.h"
#include "model/job.h"
#include "model/tenant.h"

enum {
    NAME_CHARS = 100,
    RATE_PER_MINUTE_MAX = 1000000,
    PREPARE_BATCH = 1000, /* contacts scanned per step of the prepare job */
};

static enum pb_err
bad(const char **field, const char *name, char why[PB_WHY_MAX], const char *text)
{
    *field = name;
    snprintf(why, PB_WHY_MAX, "%s", text);
    return PB_ERR_INVALID;
}

/* Applies `in` to `c` after checking each value given; `field` names a bad one. */
static enum pb_err
apply_input(struct pb_campaign *c, const struct pb_campaign_input *in, const char **field,
            char why[PB_WHY_MAX])
{
    if (in->name != NULL) {
        if (!pb_str_clean_utf8(in->name, PB_LABEL_MAX) || pb_str_utf8_chars(in->name) == 0 ||
            pb_str_utf8_chars(in->name) > NAME_CHARS)
            return bad(field, "name", why, "a campaign name is 1 to 100 characters of text");
        pb_strlcpy(c->name, in->name, sizeof(c->name));
    }
    if (in->subject != NULL) {
        if (in->subject[0] == '\0' || !pb_str_clean_utf8(in->subject, PB_SUBJECT_MAX))
            return bad(field, "subject", why, "a subject is 1 to 1000 bytes of text on one line");
        pb_strlcpy(c->subject, in->subject, sizeof(c->subject));
    }
    if (in->from != NULL) {
        if (!pb_str_clean_utf8(in->from, PB_ADDRESS_HEADER_MAX) || in->from[0] == '\0')
            return bad(field, "from", why,
                       "from is an address or \"Name <address>\" of at most 512 bytes");
        pb_strlcpy(c->from_addr, in->from, sizeof(c->from_addr));
    }
    if (in->reply_to != NULL) {
        if (!pb_str_clean_utf8(in->reply_to, PB_ADDRESS_HEADER_MAX))
            return bad(field, "reply_to", why,
                       "reply_to is an address or \"Name <address>\" of at most 512 bytes");
        pb_strlcpy(c->reply_to, in->reply_to, sizeof(c->reply_to));
    }
    if (in->html != NULL) {
        if (strlen(in->html) > PB_BODY_MAX) {
            *field = "html";
            snprintf(why, PB_WHY_MAX, "the HTML body is over %d bytes", PB_BODY_MAX);
            return PB_ERR_TOO_LARGE;
        }
        if (!pb_str_text_utf8(in->html, PB_BODY_MAX))
            return bad(field, "html", why, "the HTML body must be UTF-8 text");
        c->html = (char *)in->html;
    }
    if (in->text != NULL) {
        if (strlen(in->text) > PB_BODY_MAX) {
            *field = "text";
            snprintf(why, PB_WHY_MAX, "the text body is over %d bytes", PB_BODY_MAX);
            return PB_ERR_TOO_LARGE;
        }
        if (!pb_str_text_utf8(in->text, PB_BODY_MAX))
            return bad(field, "text", why, "the text body must be UTF-8 text");
        c->text = (char *)in->text;
    }
    if (in->list_count >= 0) {
        if (in->list_count > PB_CAMPAIGN_LISTS_MAX) {
            *field = "list_ids";
            snprintf(why, PB_WHY_MAX, "a campaign goes to at most %d lists", PB_CAMPAIGN_LISTS_MAX);
            return PB_ERR_TOO_LARGE;
        }
        c->list_count = 0;
        for (int i = 0; i < in->list_count; i++) {
            if (!pb_id_valid(in->list_ids[i])) {
                *field = "list_ids";
                snprintf(why, PB_WHY_MAX, "no list %.40s in this account", in->list_ids[i]);
                return PB_ERR_NOT_FOUND;
            }
            bool seen = false;
            for (int j = 0; j < c->list_count; j++)
                seen = seen || strcmp(c->list_ids[j], in->list_ids[i]) == 0;
            if (!seen)
                pb_strlcpy(c->list_ids[c->list_count++], in->list_ids[i], PB_ID_LEN + 1);
        }
    }
    if (in->rate_per_minute >= 0) {
        if (in->rate_per_minute > RATE_PER_MINUTE_MAX)
            return bad(field, "rate_per_minute", why, "rate_per_minute is 0 (no limit) to 1000000");
        c->rate_per_minute = in->rate_per_minute;
    }
    return PB_ERR_OK;
}

/* ---- saving ---- */

struct save_ctx {
    struct pb_campaign *c;
    const struct pb_campaign_compiled *cc;
    bool insert;
    const char *const *urls;
    int nurls;
};

static enum pb_qs
save_tx(struct pb_tx *tx, void *cls)
{
    struct save_ctx *s = cls;
    enum pb_qs qs;
    if (!s->insert) {
        struct pb_campaign now;
        memset(&now, 0, sizeof(now));
        qs = tx->ops->campaign_get(tx->conn, s->c->account_id, s->c->id, false, &now);
        if (qs < 0)
            return qs;
        if (qs == PB_QS_NONE)
            return pb_tx_abort(tx, PB_ERR_NOT_FOUND);
        if (strcmp(now.state, "draft") != 0 && strcmp(now.state, "scheduled") != 0)
            return pb_tx_abort(tx, PB_ERR_CONFLICT);
    }
    qs = s->insert ? tx->ops->campaign_insert(tx->conn, s->c)
                   : tx->ops->campaign_update(tx->conn, s->c);
    if (qs < 0)
        return qs;
    if (qs == PB_QS_NONE)
        return pb_tx_abort(tx, PB_ERR_NOT_FOUND); /* a list of another account */
    return tx->ops->link_replace(tx->conn, s->c->account_id, s->c->id, s->urls, s->nurls);
}

/* Compiles `c` (so that a broken template is refused now) and writes it with its links. */
static enum pb_err
save(struct pb_app *app, struct pb_campaign *c, bool insert, const char **field,
     char why[PB_WHY_MAX])
{
    struct pb_campaign_compiled *cc = NULL;
    enum pb_err err = pb_campaign_compile(app, c, true, &cc, field, why);
    if (err != PB_ERR_OK)
        return err;
    int n = pb_tpl_link_count(cc->html);
    const char **urls = calloc((size_t)n + 1, sizeof(*urls));
    if (urls == NULL) {
        pb_campaign_compiled_free(cc);
        return PB_ERR_NOMEM;
    }
    for (int i = 0; i < n; i++)
        urls[i] = pb_tpl_link(cc->html, i);
    struct save_ctx s = {c, cc, insert, urls, n};
    err = pb_tenant_tx(app, c->account_id, PB_TX_WRITE, save_tx, &s);
    free(urls);
    pb_campaign_compiled_free(cc);
    if (err == PB_ERR_NOT_FOUND && insert) {
        *field = "list_ids";
        snprintf(why, PB_WHY_MAX, "a list of list_ids is not a list of this account");
    } else if (err == PB_ERR_CONFLICT) {
        snprintf(why, PB_WHY_MAX, "only a draft or a scheduled campaign can be changed");
    }
    return err;
}

enum pb_err
pb_campaign_create(struct pb_app *app, const struct pb_principal *who,
                   const struct pb_campaign_input *in, struct pb_campaign *out, const char **field,
                   char why[PB_WHY_MAX])
{
    *field = NULL;
    memset(out, 0, sizeof(*out));
    if (in->name == NULL)
        return bad(field, "name", why, "a campaign needs a name");
    if (in->subject == NULL)
        return bad(field, "subject", why, "a campaign needs a subject");
    if (in->from == NULL)
        return bad(field, "from", why, "a campaign needs a from address");
    if (in->html == NULL || in->html[0] == '\0')
        return bad(field, "html", why, "a campaign needs an HTML body");
    pb_id_new(out->id);
    pb_strlcpy(out->account_id, who->account_id, sizeof(out->account_id));
    pb_strlcpy(out->state, "draft", sizeof(out->state));
    snprintf(out->created_by, sizeof(out->created_by), "%s:%s",
             who->via_api_key ? "api_key" : "user",
             who->via_api_key ? who->api_key_id : who->user_id);
    enum pb_err err = apply_input(out, in, field, why);
    if (err != PB_ERR_OK)
        return err;
    if (out->text == NULL)
        out->text = "";
    out->created_at = out->updated_at = pb_clock_now();
    err = save(app, out, true, field, why);
    /* The bodies point at the caller's strings: never hand them back as ours. */
    out->html = out->text = NULL;
    return err;
}

enum pb_err
pb_campaign_update(struct pb_app *app, const struct pb_principal *who, const char *id,
                   const struct pb_campaign_input *in, struct pb_campaign *out, const char **field,
                   char why[PB_WHY_MAX])
{
    *field = NULL;
    enum pb_err err = pb_campaign_get(app, who, id, true, out);
    if (err != PB_ERR_OK)
        return err;
    char *html = out->html, *text = out->text; /* ours, freed below */
    err = apply_input(out, in, field, why);
    if (err == PB_ERR_OK) {
        out->updated_at = pb_clock_now();
        err = save(app, out, false, field, why);
    }
    out->html = html;
    out->text = text;
    pb_campaign_bodies_free(out);
    if (err == PB_ERR_OK)
        err = pb_campaign_get(app, who, id, false, out);
    return err;
}

/* ---- reading ---- */

struct get_ctx {
    const char *account_id;
    const char *id;
    bool bodies;
    struct pb_campaign *out;
};

static enum pb_qs
get_tx(struct pb_tx *tx, void *cls)
{
    struct get_ctx *g = cls;
    pb_campaign_bodies_free(g->out); /* a retried transaction starts again */
    enum pb_qs qs = tx->ops->campaign_get(tx->conn, g->account_id, g->id, g->bodies, g->out);
    return qs == PB_QS_NONE ? pb_tx_abort(tx, PB_ERR_NOT_FOUND) : qs;
}

enum pb_err
pb_campaign_get(struct pb_app *app, const struct pb_principal *who, const char *id, bool bodies,
                struct pb_campaign *out)
{
    memset(out, 0, sizeof(*out));
    if (!pb_id_valid(id))
        return PB_ERR_NOT_FOUND;
    struct get_ctx g = {who->account_id, id, bodies, out};
    enum pb_err err = pb_tenant_tx(app, who->account_id, PB_TX_READ, get_tx, &g);
    if (err != PB_ERR_OK)
        pb_campaign_bodies_free(out);
    return err;
}

struct list_ctx {
    const char *account_id;
    const char *before_id;
    int limit;
    pb_campaign_cb cb;
    void *cls;
};

static enum pb_qs
list_tx(struct pb_tx *tx, void *cls)
{
    struct list_ctx *l = cls;
    return tx->ops->campaign_list(tx->conn, l->account_id, l->before_id, l->limit, l->cb, l->cls);
}

enum pb_err
pb_campaign_list(struct pb_app *app, const struct pb_principal *who, const char *before_id,
                 int limit, pb_campaign_cb cb, void *cls)
{
    struct list_ctx l = {who->account_id, before_id, limit, cb, cls};
    return pb_tenant_tx(app, who->account_id, PB_TX_READ, list_tx, &l);
}

struct delete_ctx {
    const char *account_id;
    const char *id;
};

static enum pb_qs
delete_tx(struct pb_tx *tx, void *cls)
{
    struct delete_ctx *d = cls;
    struct pb_campaign c;
    memset(&c, 0, sizeof(c));
    enum pb_qs qs = tx->ops->campaign_get(tx->conn, d->account_id, d->id, false, &c);
    if (qs < 0)
        return qs;
    if (qs == PB_QS_NONE)
        return pb_tx_abort(tx, PB_ERR_NOT_FOUND);
    if (strcmp(c.state, "sending") == 0 || strcmp(c.state, "paused") == 0)
        return pb_tx_abort(tx, PB_ERR_CONFLICT);
    return tx->ops->campaign_delete(tx->conn, d->account_id, d->id);
}

enum pb_err
pb_campaign_delete(struct pb_app *app, const struct pb_principal *who, const char *id)
{
    if (!pb_id_valid(id))
        return PB_ERR_NOT_FOUND;
    struct delete_ctx d = {who->account_id, id};
    return pb_tenant_tx(app, who->account_id, PB_TX_WRITE, delete_tx, &d);
}

/* ---- sending ---- */

struct send_ctx {
    const char *account_id;
    const char *id;
    int64_t now;
    int64_t at;
    int64_t members; /* subscribed members of the campaign's lists (an upper bound) */
    bool has_relay;
    struct pb_campaign *c;
};

static enum pb_qs
send_tx(struct pb_tx *tx, void *cls)
{
    struct send_ctx *s = cls;
    struct pb_smtp_relay relay;
    enum pb_qs qs = tx->ops->relay_get(tx->conn, s->account_id, &relay);
    if (qs < 0)
        return qs;
    s->has_relay = qs == PB_QS_ONE;
    s->members = 0;
    for (int i = 0; i < s->c->list_count; i++) {
        struct pb_list list;
        qs = tx->ops->list_get(tx->conn, s->account_id, s->c->list_ids[i], &list);
        if (qs < 0)
            return qs;
        if (qs == PB_QS_ONE)
            s->members += list.member_count;
    }
    if (!s->has_relay || s->members == 0 || s->c->list_count == 0)
        return pb_tx_abort(tx, PB_ERR_INVALID);
    if (s->at > s->now)
        qs = tx->ops->campaign_transition(tx->conn, s->account_id, s->id, "draft", "scheduled",
                                          s->now, s->at, "");
    else
        qs = tx->ops->campaign_transition(tx->conn, s->account_id, s->id, "draft", "sending",
                                          s->now, 0, "");
    if (qs < 0)
        return qs;
    if (qs == PB_QS_NONE)
        return pb_tx_abort(tx, PB_ERR_CONFLICT);
    if (s->at > s->now)
        return qs;
    char params[128], job_id[PB_ID_LEN + 1];
    snprintf(params, sizeof(params), "{\"campaign_id\":\"%s\"}", s->id);
    return pb_job_insert_tx(tx, s->account_id, PB_CAMPAIGN_PREPARE_KIND, params, job_id);
}

enum pb_err
pb_campaign_send(struct pb_app *app, const struct pb_principal *who, const char *id, int64_t at,
                 struct pb_campaign *out, const char **field, char why[PB_WHY_MAX])
{
    *field = NULL;
    enum pb_err err = pb_campaign_get(app, who, id, true, out);
    if (err != PB_ERR_OK)
        return err;
    if (strcmp(out->state, "draft") != 0) {
        snprintf(why, PB_WHY_MAX, "the campaign is %s already; only a draft can be sent",
                 out->state);
        pb_campaign_bodies_free(out);
        return PB_ERR_CONFLICT;
    }
    /* Fields may have gone since the campaign was saved: compile again. */
    struct pb_campaign_compiled *cc = NULL;
    err = pb_campaign_compile(app, out, true, &cc, field, why);
    pb_campaign_compiled_free(cc);
    pb_campaign_bodies_free(out);
    if (err != PB_ERR_OK)
        return err;
    if (out->list_count == 0)
        return bad(field, "list_ids", why, "the campaign has no list to send to");

    struct send_ctx s = {who->account_id, id, pb_clock_now(), at, 0, false, out};
    err = pb_tenant_tx(app, who->account_id, PB_TX_WRITE, send_tx, &s);
    if (err == PB_ERR_INVALID && !s.has_relay) {
        *field = "smtp";
        snprintf(why, PB_WHY_MAX,
                 "the account has no SMTP relay: set one with PUT /api/v1/settings/smtp");
    } else if (err == PB_ERR_INVALID) {
        *field = "list_ids";
        snprintf(why, PB_WHY_MAX, "the campaign's lists have no subscribed member");
    } else if (err == PB_ERR_CONFLICT) {
        snprintf(why, PB_WHY_MAX, "the campaign is no longer a draft; only a draft can be sent");
    }
    if (err == PB_ERR_OK) {
        pb_job_notify_queued(); /* the prepare job (none when scheduled for later: harmless) */
        err = pb_campaign_get(app, who, id, false, out);
    }
    return err;
}

struct control_ctx {
    const char *account_id;
    const char *id;
    const char *from;
    const char *to;
};

static enum pb_qs
control_tx(struct pb_tx *tx, void *cls)
{
    struct control_ctx *c = cls;
    enum pb_qs qs = tx->ops->campaign_transition(tx->conn, c->account_id, c->id, c->from, c->to,
                                                 pb_clock_now(), -1, "");
    return qs == PB_QS_NONE ? pb_tx_abort(tx, PB_ERR_CONFLICT) : qs;
}

enum pb_err
pb_campaign_control(struct pb_app *app, const struct pb_principal *who, const char *id,
                    const char *action, struct pb_campaign *out, char why[PB_WHY_MAX])
{
    static const struct {
        const char *action, *from, *to;
    } rules[] = {
        {"pause", "sending,scheduled", "paused"},
        {"resume", "paused", "sending"},
        {"cancel", "draft,scheduled,sending,paused", "cancelled"},
    };
    enum pb_err err = pb_campaign_get(app, who, id, false, out);
    if (err != PB_ERR_OK)
        return err;
    for (size_t i = 0; i < sizeof(rules) / sizeof(rules[0]); i++) {
        if (strcmp(rules[i].action, action) != 0)
            continue;
        /* A campaign paused before its time came goes back to waiting for it. */
        const char *to = rules[i].to;
        if (strcmp(action, "resume") == 0 && out->started_at == 0)
            to = "scheduled";
        struct control_ctx c = {who->account_id, id, rules[i].from, to};
        err = pb_tenant_tx(app, who->account_id, PB_TX_WRITE, control_tx, &c);
        if (err == PB_ERR_CONFLICT)
            snprintf(why, PB_WHY_MAX, "a %s campaign cannot be %s", out->state,
                     strcmp(action, "pause") == 0    ? "paused"
                     : strcmp(action, "resume") == 0 ? "resumed"
                                                     : "cancelled");
        if (err == PB_ERR_OK)
            err = pb_campaign_get(app, who, id, false, out);
        return err;
    }
    snprintf(why, PB_WHY_MAX, "unknown action %s", action);
    return PB_ERR_INVALID;
}

/* ---- the scheduler and the prepare job ---- */

struct due_ctx {
    struct pb_campaign rows[16];
    int n;
};

static void
due_one(void *cls, const struct pb_campaign *c)
{
    struct due_ctx *d = cls;
    if (d->n < (int)(sizeof(d->rows) / sizeof(d->rows[0])))
        d->rows[d->n++] = *c;
}

static enum pb_qs
due_tx(struct pb_tx *tx, void *cls)
{
    struct due_ctx *d = cls;
    d->n = 0;
    return tx->ops->campaign_due(tx->conn, pb_clock_now(), 16, due_one, d);
}

struct start_ctx {
    const struct pb_campaign *c;
    int64_t now;
    bool started;
};

static enum pb_qs
start_tx(struct pb_tx *tx, void *cls)
{
    struct start_ctx *s = cls;
    s->started = false;
    enum pb_qs qs = tx->ops->campaign_transition(tx->conn, s->c->account_id, s->c->id, "scheduled",
                                                 "sending", s->now, -1, NULL);
    if (qs <= 0)
        return qs; /* another node started it */
    char params[128], job_id[PB_ID_LEN + 1];
    snprintf(params, sizeof(params), "{\"campaign_id\":\"%s\"}", s->c->id);
    qs = pb_job_insert_tx(tx, s->c->account_id, PB_CAMPAIGN_PREPARE_KIND, params, job_id);
    s->started = qs >= 0;
    return qs;
}

int
pb_campaign_start_due(struct pb_app *app, int64_t now)
{
    /*
     * Scheduled campaigns live in the account stores; the scheduler looks in
     * the control store (the region "local"), like the job runner does.
     */
    struct due_ctx *d = calloc(1, sizeof(*d));
    if (d == NULL)
        return 0;
    int started = 0;
    if (pb_store_tx(app->control, PB_TX_READ, due_tx, d) == PB_ERR_OK) {
        for (int i = 0; i < d->n; i++) {
            struct start_ctx s = {&d->rows[i], now, false};
            if (pb_tenant_tx(app, d->rows[i].account_id, PB_TX_WRITE, start_tx, &s) == PB_ERR_OK &&
                s.started)
                started++;
        }
    }
    free(d);
    if (started > 0)
        pb_job_notify_queued();
    return started;
}

struct prepare_ctx {
    const char *account_id;
    const char *campaign_id;
    const char *after;
    char last[PB_ID_LEN + 1];
    int64_t added;
    bool active;
};

static enum pb_qs
prepare_tx(struct pb_tx *tx, void *cls)
{
    struct prepare_ctx *p = cls;
    struct pb_campaign c;
    memset(&c, 0, sizeof(c));
    enum pb_qs qs = tx->ops->campaign_get(tx->conn, p->account_id, p->campaign_id, false, &c);
    if (qs < 0)
        return qs;
    /* Cancelled or deleted meanwhile: nothing left to prepare. */
    p->active =
        qs == PB_QS_ONE && (strcmp(c.state, "sending") == 0 || strcmp(c.state, "paused") == 0);
    p->last[0] = '\0';
    p->added = 0;
    if (!p->active)
        return PB_QS_NONE;
    qs = tx->ops->recipient_snapshot(tx->conn, p->account_id, p->campaign_id, p->after,
                                     PREPARE_BATCH, p->last, &p->added);
    if (qs < 0)
        return qs;
    if (p->added > 0) {
        struct pb_campaign_counters delta = {.recipients = p->added};
        qs = tx->ops->campaign_counters_add(tx->conn, p->account_id, p->campaign_id, &delta);
        if (qs < 0)
            return qs;
    }
    if (p->last[0] == '\0') {
        qs = tx->ops->campaign_set_prepared(tx->conn, p->account_id, p->campaign_id);
        if (qs < 0)
            return qs;
        if (c.counters.recipients == 0) /* nobody to send to (all unsubscribed meanwhile) */
            qs = tx->ops->campaign_transition(tx->conn, p->account_id, p->campaign_id,
                                              "sending,paused", "sent", pb_clock_now(), -1,
                                              "no recipient: every member left the lists");
    }
    return qs < 0 ? qs : PB_QS_ONE;
}

enum pb_err
pb_campaign_prepare_step(struct pb_app *app, struct pb_job *job, bool *finished,
                         char why[PB_WHY_MAX])
{
    *finished = false;
    json_t *params = json_loads(job->params, 0, NULL);
    const char *campaign_id = json_string_value(json_object_get(params, "campaign_id"));
    if (campaign_id == NULL || !pb_id_valid(campaign_id)) {
        json_decref(params);
        snprintf(why, PB_WHY_MAX, "the job names no campaign");
        return PB_ERR_INVALID;
    }
    struct prepare_ctx p = {job->account_id, campaign_id, job->cursor, "", 0, false};
    enum pb_err err = pb_tenant_tx(app, job->account_id, PB_TX_WRITE_LOCKED, prepare_tx, &p);
    json_decref(params);
    if (err != PB_ERR_OK)
        return err;
    job->progress_done += p.added;
    pb_strlcpy(job->cursor, p.last, sizeof(job->cursor));
    *finished = !p.active || p.last[0] == '\0';
    if (*finished)
        snprintf(job->result, sizeof(job->result), "{\"recipients\":%lld}",
                 (long long)job->progress_done);
    return PB_ERR_OK;
}

/* ---- the API's view ---- */

json_t *
pb_campaign_json(const struct pb_campaign *c)
{
    char created[21], updated[21];
    pb_clock_format_rfc3339(c->created_at, created);
    pb_clock_format_rfc3339(c->updated_at, updated);
    json_t *lists = json_array();
    for (int i = 0; i < c->list_count; i++)
        json_array_append_new(lists, json_string(c->list_ids[i]));
    json_t *o = json_pack("{s:s, s:s, s:s, s:s, s:s?, s:s, s:o, s:I, s:s, s:s, s:s}", "id", c->id,
                          "name", c->name, "subject", c->subject, "from", c->from_addr, "reply_to",
                          c->reply_to[0] ? c->reply_to : NULL, "state", c->state, "list_ids", lists,
                          "rate_per_minute", (json_int_t)c->rate_per_minute, "created_by",
                          c->created_by, "created_at", created, "updated_at", updated);
    if (o == NULL)
        return NULL;
    char t[21];
    if (c->scheduled_at > 0) {
        pb_clock_format_rfc3339(c->scheduled_at, t);
        json_object_set_new(o, "scheduled_at", json_string(t));
    }
    if (c->started_at > 0) {
        pb_clock_format_rfc3339(c->started_at, t);
        json_object_set_new(o, "started_at", json_string(t));
    }
    if (c->finished_at > 0) {
        pb_clock_format_rfc3339(c->finished_at, t);
        json_object_set_new(o, "finished_at", json_string(t));
    }
    json_object_set_new(o, "error", c->error[0] ? json_string(c->error) : json_null());
    json_object_set_new(
        o, "progress",
        json_pack("{s:I, s:I, s:I, s:I}", "recipients", (json_int_t)c->counters.recipients, "sent",
                  (json_int_t)c->counters.sent, "failed", (json_int_t)c->counters.failed,
                  "deferred", (json_int_t)c->counters.deferred));
    if (c->html != NULL)
        json_object_set_new(o, "html", json_string(c->html));
    if (c->text != NULL)
        json_object_set_new(o, "text", json_string(c->text));
    return o;
}

struct stats_ctx {
    const char *account_id;
    const char *id;
    struct pb_campaign c;
    json_t *links;
    int64_t pending;
};

static void
link_one(void *cls, const struct pb_campaign_link *l)
{
    struct stats_ctx *s = cls;
    json_array_append_new(s->links, json_pack("{s:i, s:s, s:I, s:I}", "n", l->n, "url", l->url,
                                              "clicks_unique", (json_int_t)l->clicks_unique,
                                              "clicks_total", (json_int_t)l->clicks_total));
}

static enum pb_qs
stats_tx(struct pb_tx *tx, void *cls)
{
    struct stats_ctx *s = cls;
    json_array_clear(s->links);
    enum pb_qs qs = tx->ops->campaign_get(tx->conn, s->account_id, s->id, false, &s->c);
    if (qs < 0)
        return qs;
    if (qs == PB_QS_NONE)
        return pb_tx_abort(tx, PB_ERR_NOT_FOUND);
    qs = tx->ops->recipient_pending(tx->conn, s->account_id, s->id, &s->pending);
    if (qs < 0)
        return qs;
    return tx->ops->link_list(tx->conn, s->account_id, s->id, link_one, s);
}

enum pb_err
pb_campaign_stats(struct pb_app *app, const struct pb_principal *who, const char *id, json_t **out)
{
    *out = NULL;
    if (!pb_id_valid(id))
        return PB_ERR_NOT_FOUND;
    struct pb_account account;
    enum pb_err err = pb_account_get(app, who->account_id, &account);
    if (err != PB_ERR_OK)
        return err;
    struct stats_ctx *s = calloc(1, sizeof(*s));
    if (s == NULL)
        return PB_ERR_NOMEM;
    s->account_id = who->account_id;
    s->id = id;
    s->links = json_array();
    err = pb_tenant_tx(app, who->account_id, PB_TX_READ, stats_tx, s);
    if (err == PB_ERR_OK) {
        const struct pb_campaign_counters *k = &s->c.counters;
        /* Unique counts need per-recipient records, which aggregate tracking does not keep. */
        bool individual = strcmp(account.tracking, "individual") == 0;
        *out = json_pack(
            "{s:s, s:s, s:s, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:o, s:I, s:o, s:I, s:o, s:I}",
            "id", s->c.id, "state", s->c.state, "tracking", account.tracking, "recipients",
            (json_int_t)k->recipients, "sent", (json_int_t)k->sent, "deferred",
            (json_int_t)k->deferred, "failed", (json_int_t)k->failed, "bounced",
            (json_int_t)k->bounced, "pending", (json_int_t)s->pending, "opens",
            (json_int_t)k->opens_total, "unique_opens",
            individual || k->opens_unique > 0 ? json_integer(k->opens_unique) : json_null(),
            "clicks", (json_int_t)k->clicks_total, "unique_clicks",
            individual || k->clicks_unique > 0 ? json_integer(k->clicks_unique) : json_null(),
            "unsubscribes", (json_int_t)k->unsubscribes, "links", s->links, "uncertain",
            (json_int_t)k->reclaimed);
        s->links = NULL;
        if (*out == NULL)
            err = PB_ERR_NOMEM;
    }
    json_decref(s->links);
    free(s);
    return err;
}

/* ---- the timeline ---- */

struct timeline_ctx {
    const char *account_id;
    const char *id;
    struct pb_campaign c;
    int64_t now;
    int64_t bucket;
    int n;
    int64_t sent[PB_CAMPAIGN_TIMELINE_MAX];
};

/* The smallest round bucket that spans `range` seconds in at most PB_CAMPAIGN_TIMELINE_MAX. */
static int64_t
timeline_bucket(int64_t range)
{
    static const int64_t round[] = {60,       300,      900,       1800,  3600,
                                    3 * 3600, 6 * 3600, 12 * 3600, 86400, 7 * 86400};
    for (size_t i = 0; i < sizeof(round) / sizeof(round[0]); i++)
        if (range <= round[i] * PB_CAMPAIGN_TIMELINE_MAX)
            return round[i];
    return (range + PB_CAMPAIGN_TIMELINE_MAX - 1) / PB_CAMPAIGN_TIMELINE_MAX;
}

static enum pb_qs
timeline_tx(struct pb_tx *tx, void *cls)
{
    struct timeline_ctx *t = cls;
    t->n = 0;
    enum pb_qs qs = tx->ops->campaign_get(tx->conn, t->account_id, t->id, false, &t->c);
    if (qs < 0)
        return qs;
    if (qs == PB_QS_NONE)
        return pb_tx_abort(tx, PB_ERR_NOT_FOUND);
    if (t->c.started_at == 0)
        return PB_QS_ONE; /* nothing sent yet */
    int64_t end = t->c.finished_at > 0 ? t->c.finished_at : t->now;
    int64_t range = end > t->c.started_at ? end - t->c.started_at + 1 : 1;
    t->bucket = timeline_bucket(range);
    t->n = (int)((range + t->bucket - 1) / t->bucket);
    return tx->ops->recipient_sent_histogram(tx->conn, t->account_id, t->id, t->c.started_at,
                                             t->bucket, t->n, t->sent);
}

enum pb_err
pb_campaign_timeline(struct pb_app *app, const struct pb_principal *who, const char *id,
                     json_t **out)
{
    *out = NULL;
    if (!pb_id_valid(id))
        return PB_ERR_NOT_FOUND;
    struct timeline_ctx *t = calloc(1, sizeof(*t));
    if (t == NULL)
        return PB_ERR_NOMEM;
    t->account_id = who->account_id;
    t->id = id;
    t->now = pb_clock_now();
    enum pb_err err = pb_tenant_tx(app, who->account_id, PB_TX_READ, timeline_tx, t);
    if (err == PB_ERR_OK) {
        json_t *sent = json_array();
        for (int i = 0; i < t->n; i++)
            json_array_append_new(sent, json_integer(t->sent[i]));
        char start[21] = "";
        if (t->c.started_at > 0)
            pb_clock_format_rfc3339(t->c.started_at, start);
        *out = json_pack("{s:s, s:s?, s:I, s:o}", "id", t->c.id, "start",
                         t->c.started_at > 0 ? start : NULL, "bucket_seconds",
                         (json_int_t)t->bucket, "sent", sent);
        if (*out == NULL)
            err = PB_ERR_NOMEM;
    }
    free(t);
    return err;
}
