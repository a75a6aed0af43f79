/*
 * GET/POST /campaigns, GET/PATCH/DELETE /campaigns/{id}: campaigns of the
 * caller's account (authors may write them); POST /campaigns/{id}/test,
 * /send {at?}, /pause, /resume, /cancel (sending needs campaigns.send);
 * GET /campaigns/{id}/stats and /timeline. The rules are in model/campaign.c.
 */
#include "api/api.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

#include "api/contact_common.h"
#include "api/page.h"
#include "core/clock.h"
#include "http/json.h"
#include "http/request.h"
#include "model/campaign.h"
#include "model/campaign_test.h"

static const char *
campaign_id_param(struct pb_request *req)
{
    const char *id = pb_request_param(req, "id");
    if (id == NULL || !pb_id_valid(id)) {
        pb_reply_error(req, PB_ERR_NOT_FOUND, NULL, "no such campaign");
        return NULL;
    }
    return id;
}

static void
campaign_one(void *cls, const struct pb_campaign *c)
{
    pb_api_page_add(cls, c->id, pb_campaign_json(c));
}

void
pb_api_campaigns_list(struct pb_request *req)
{
    const struct pb_principal *who = pb_request_caller(req);
    struct pb_api_page page;
    if (who == NULL || pb_api_page_begin(req, &page) != 0)
        return;
    enum pb_err err = pb_campaign_list(req->app, who, page.cursor != NULL ? page.cursor : "",
                                       page.limit + 1, campaign_one, &page);
    pb_api_page_reply(req, &page, err, "list the campaigns");
}

/* Reads the body of a create or a change into `in`; -1 after replying 400/422. */
static int
read_input(struct pb_request *req, struct pb_campaign_input *in, bool create)
{
    json_t *lists = NULL;
    json_int_t rate = -1;
    memset(in, 0, sizeof(*in));
    in->list_count = -1;
    in->rate_per_minute = -1;
    if (pb_json_unpack(req, req->json,
                       create ? "{s:s, s:s, s:s, s?s, s:s, s?s, s?o, s?I}"
                              : "{s?s, s?s, s?s, s?s, s?s, s?s, s?o, s?I}",
                       "name", &in->name, "subject", &in->subject, "from", &in->from, "reply_to",
                       &in->reply_to, "html", &in->html, "text", &in->text, "list_ids", &lists,
                       "rate_per_minute", &rate) != 0)
        return -1;
    if (lists != NULL) {
        if (!json_is_array(lists)) {
            pb_reply_error(req, PB_ERR_WRONG_TYPE, "list_ids", "list_ids is an array of list ids");
            return -1;
        }
        size_t n = json_array_size(lists);
        if (n > PB_CAMPAIGN_LISTS_MAX) {
            pb_reply_error(req, PB_ERR_TOO_LARGE, "list_ids", "a campaign goes to at most %d lists",
                           PB_CAMPAIGN_LISTS_MAX);
            return -1;
        }
        const char **ids = pb_arena_alloc(req->arena, (n + 1) * sizeof(*ids));
        if (ids == NULL) {
            pb_reply_error(req, PB_ERR_NOMEM, NULL, "cannot read the list ids now");
            return -1;
        }
        for (size_t i = 0; i < n; i++) {
            ids[i] = json_string_value(json_array_get(lists, i));
            if (ids[i] == NULL) {
                pb_reply_error(req, PB_ERR_WRONG_TYPE, "list_ids",
                               "list_ids is an array of list ids (strings)");
                return -1;
            }
        }
        in->list_ids = ids;
        in->list_count = (int)n;
    }
    if (rate != -1 && (rate < 0 || rate > 1000000)) {
        pb_reply_error(req, PB_ERR_INVALID, "rate_per_minute",
                       "rate_per_minute is 0 (no limit) to 1000000");
        return -1;
    }
    in->rate_per_minute = (int)rate;
    return 0;
}

void
pb_api_campaigns_create(struct pb_request *req)
{
    const struct pb_principal *who = pb_request_caller(req);
    struct pb_campaign_input in;
    if (who == NULL || read_input(req, &in, true) != 0)
        return;
    struct pb_campaign c;
    const char *field = NULL;
    char why[PB_WHY_MAX] = "";
    enum pb_err err = pb_campaign_create(req->app, who, &in, &c, &field, why);
    if (err == PB_ERR_OK) {
        char location[64];
        snprintf(location, sizeof(location), "/api/v1/campaigns/%s", c.id);
        pb_request_add_reply_header(req, "Location", location);
        pb_reply_json(req, 201, pb_campaign_json(&c));
    } else {
        pb_api_reply_failure(req, err, field, why, "no such list", "create the campaign");
    }
}

void
pb_api_campaigns_get(struct pb_request *req)
{
    const struct pb_principal *who = pb_request_caller(req);
    const char *id = who != NULL ? campaign_id_param(req) : NULL;
    if (id == NULL)
        return;
    struct pb_campaign c;
    enum pb_err err = pb_campaign_get(req->app, who, id, true, &c);
    if (err == PB_ERR_OK) {
        pb_reply_json(req, 200, pb_campaign_json(&c));
        pb_campaign_bodies_free(&c);
    } else {
        pb_api_reply_failure(req, err, NULL, NULL, "no such campaign", "read the campaign");
    }
}

void
pb_api_campaigns_update(struct pb_request *req)
{
    const struct pb_principal *who = pb_request_caller(req);
    const char *id = who != NULL ? campaign_id_param(req) : NULL;
    struct pb_campaign_input in;
    if (id == NULL || read_input(req, &in, false) != 0)
        return;
    struct pb_campaign c;
    const char *field = NULL;
    char why[PB_WHY_MAX] = "";
    enum pb_err err = pb_campaign_update(req->app, who, id, &in, &c, &field, why);
    if (err == PB_ERR_OK)
        pb_reply_json(req, 200, pb_campaign_json(&c));
    else
        pb_api_reply_failure(req, err, field, why,
                             field != NULL ? "no such list" : "no such campaign",
                             "change the campaign");
}

void
pb_api_campaigns_delete(struct pb_request *req)
{
    const struct pb_principal *who = pb_request_caller(req);
    const char *id = who != NULL ? campaign_id_param(req) : NULL;
    if (id == NULL)
        return;
    enum pb_err err = pb_campaign_delete(req->app, who, id);
    if (err == PB_ERR_OK)
        pb_reply_bytes(req, 204, NULL, "", 0);
    else
        pb_api_reply_failure(req, err, NULL,
                             err == PB_ERR_CONFLICT
                                 ? "a campaign being sent cannot be deleted: cancel it first"
                                 : NULL,
                             "no such campaign", "delete the campaign");
}

void
pb_api_campaigns_test(struct pb_request *req)
{
    const struct pb_principal *who = pb_request_caller(req);
    const char *id = who != NULL ? campaign_id_param(req) : NULL;
    json_t *emails = NULL;
    if (id == NULL || pb_json_unpack(req, req->json, "{s:o}", "emails", &emails) != 0)
        return;
    size_t n = json_is_array(emails) ? json_array_size(emails) : 0;
    if (!json_is_array(emails) || n == 0 || n > PB_CAMPAIGN_TEST_MAX) {
        pb_reply_error(req, PB_ERR_INVALID, "emails", "emails is an array of 1 to %d addresses",
                       PB_CAMPAIGN_TEST_MAX);
        return;
    }
    const char *list[PB_CAMPAIGN_TEST_MAX];
    for (size_t i = 0; i < n; i++) {
        list[i] = json_string_value(json_array_get(emails, i));
        if (list[i] == NULL) {
            pb_reply_error(req, PB_ERR_WRONG_TYPE, "emails", "emails holds strings");
            return;
        }
    }
    json_t *out = NULL;
    const char *field = NULL;
    char why[PB_WHY_MAX] = "";
    enum pb_err err = pb_campaign_test_send(req->app, who, id, list, (int)n, &out, &field, why);
    if (err == PB_ERR_OK)
        pb_reply_json(req, 200, out);
    else
        pb_api_reply_failure(req, err, field, why, "no such campaign", "send the test");
}

/* Parses an RFC 3339 UTC time "YYYY-MM-DDTHH:MM:SSZ" (or with +00:00); -1 if not one. */
static int64_t
parse_time(const char *s)
{
    struct tm tm;
    memset(&tm, 0, sizeof(tm));
    const char *end = strptime(s, "%Y-%m-%dT%H:%M:%S", &tm);
    if (end == NULL || (strcmp(end, "Z") != 0 && strcmp(end, "+00:00") != 0))
        return -1;
    int day = tm.tm_mday, month = tm.tm_mon;
    time_t t = timegm(&tm);
    /* timegm rolls February 30 over to March 2: refuse a day the month does not have. */
    struct tm back;
    if (gmtime_r(&t, &back) == NULL || back.tm_mday != day || back.tm_mon != month)
        return -1;
    return (int64_t)t;
}

void
pb_api_campaigns_send(struct pb_request *req)
{
    const struct pb_principal *who = pb_request_caller(req);
    const char *id = who != NULL ? campaign_id_param(req) : NULL;
    const char *at_text = NULL;
    if (id == NULL ||
        (req->json != NULL && pb_json_unpack(req, req->json, "{s?s}", "at", &at_text) != 0))
        return;
    int64_t at = 0;
    if (at_text != NULL && (at = parse_time(at_text)) < 0) {
        pb_reply_error(req, PB_ERR_INVALID, "at",
                       "at is a UTC time like 2026-12-01T09:00:00Z, or absent for now");
        return;
    }
    struct pb_campaign c;
    const char *field = NULL;
    char why[PB_WHY_MAX] = "";
    enum pb_err err = pb_campaign_send(req->app, who, id, at, &c, &field, why);
    if (err == PB_ERR_OK)
        pb_reply_json(req, 202, pb_campaign_json(&c));
    else
        pb_api_reply_failure(req, err, field, why, "no such campaign", "send the campaign");
}

static void
control(struct pb_request *req, const char *action)
{
    const struct pb_principal *who = pb_request_caller(req);
    const char *id = who != NULL ? campaign_id_param(req) : NULL;
    if (id == NULL)
        return;
    struct pb_campaign c;
    char why[PB_WHY_MAX] = "";
    enum pb_err err = pb_campaign_control(req->app, who, id, action, &c, why);
    if (err == PB_ERR_OK)
        pb_reply_json(req, 200, pb_campaign_json(&c));
    else
        pb_api_reply_failure(req, err, NULL, why, "no such campaign", "change the campaign");
}

void
pb_api_campaigns_pause(struct pb_request *req)
{
    control(req, "pause");
}

void
pb_api_campaigns_resume(struct pb_request *req)
{
    control(req, "resume");
}

void
pb_api_campaigns_cancel(struct pb_request *req)
{
    control(req, "cancel");
}

void
pb_api_campaigns_stats(struct pb_request *req)
{
    const struct pb_principal *who = pb_request_caller(req);
    const char *id = who != NULL ? campaign_id_param(req) : NULL;
    if (id == NULL)
        return;
    json_t *out = NULL;
    enum pb_err err = pb_campaign_stats(req->app, who, id, &out);
    if (err == PB_ERR_OK)
        pb_reply_json(req, 200, out);
    else
        pb_api_reply_failure(req, err, NULL, NULL, "no such campaign", "read the statistics");
}

void
pb_api_campaigns_timeline(struct pb_request *req)
{
    const struct pb_principal *who = pb_request_caller(req);
    const char *id = who != NULL ? campaign_id_param(req) : NULL;
    if (id == NULL)
        return;
    json_t *out = NULL;
    enum pb_err err = pb_campaign_timeline(req->app, who, id, &out);
    if (err == PB_ERR_OK)
        pb_reply_json(req, 200, out);
    else
        pb_api_reply_failure(req, err, NULL, NULL, "no such campaign", "read the timeline");
}
