/*
 * PostgreSQL: campaigns with the lists they go to, their tracked links, and
 * their recipients: the snapshot taken when sending starts, claims under a
 * lease, outcomes, opens, clicks and unsubscriptions.
 *
 * Two senders never get one recipient: a claim locks the rows it takes with
 * FOR UPDATE SKIP LOCKED, so a concurrent claim passes over them instead of
 * waiting, and an outcome is recorded only while the row is still under the
 * recording sender's lease.
 */
#include "store/pg/pg_internal.h"

#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "core/log.h"
#include "core/strutil.h"

/* The length of `s` cut to at most `max` bytes, never inside a UTF-8 sequence. */
static size_t
cut_utf8(const char *s, size_t max)
{
    size_t len = strnlen(s, max + 1);
    if (len <= max)
        return len;
    len = max;
    while (len > 0 && ((unsigned char)s[len] & 0xc0) == 0x80)
        len--;
    return len;
}

/* A limit as text: negative ones are 0. */
static const char *
limit_text(char buf[PB_PG_NUM_MAX], int limit)
{
    return pb_pg_num(buf, limit < 0 ? 0 : limit);
}

/* ---- campaigns ---- */

/*
 * The columns read_campaign() expects, in its order; the list ids come as
 * one comma-separated text (ids never hold a comma).
 */
#define CAMPAIGN_COLUMNS                                                                           \
    "c.id, c.account_id, c.name, c.subject, c.from_addr, c.reply_to, c.state, c.scheduled_at,"     \
    " c.prepared, c.rate_per_minute, c.error, c.created_by, c.created_at, c.updated_at,"           \
    " c.started_at, c.finished_at, c.recipients, c.sent, c.deferred, c.failed, c.bounced,"         \
    " c.opens_unique, c.opens_total, c.clicks_unique, c.clicks_total, c.unsubscribes,"             \
    " c.reclaimed, (SELECT string_agg(cl.list_id, ',' ORDER BY cl.list_id)"                        \
    " FROM campaign_lists cl WHERE cl.campaign_id = c.id)"
#define CAMPAIGN_NCOLS 28

/* Splits the comma-separated list ids into `out`; false when they do not fit. */
static bool
read_list_ids(const char *s, struct pb_campaign *out)
{
    out->list_count = 0;
    while (*s != '\0') {
        size_t len = strcspn(s, ",");
        if (out->list_count == PB_CAMPAIGN_LISTS_MAX || len >= sizeof(out->list_ids[0]))
            return false;
        memcpy(out->list_ids[out->list_count], s, len);
        out->list_ids[out->list_count][len] = '\0';
        out->list_count++;
        s += len;
        if (*s == ',')
            s++;
    }
    return true;
}

/* Fills `out` (without bodies) from row `row` of CAMPAIGN_COLUMNS. */
static bool
read_campaign(const PGresult *res, int row, struct pb_campaign *out)
{
    memset(out, 0, sizeof(*out));
    bool ok = pb_pg_text(res, row, 0, out->id, sizeof(out->id));
    ok = pb_pg_text(res, row, 1, out->account_id, sizeof(out->account_id)) && ok;
    ok = pb_pg_text(res, row, 2, out->name, sizeof(out->name)) && ok;
    ok = pb_pg_text(res, row, 3, out->subject, sizeof(out->subject)) && ok;
    ok = pb_pg_text(res, row, 4, out->from_addr, sizeof(out->from_addr)) && ok;
    ok = pb_pg_opt_text(res, row, 5, out->reply_to, sizeof(out->reply_to)) && ok;
    ok = pb_pg_text(res, row, 6, out->state, sizeof(out->state)) && ok;
    out->scheduled_at = pb_pg_int64(res, row, 7);
    out->prepared = pb_pg_bool(res, row, 8);
    out->rate_per_minute = (int)pb_pg_int64(res, row, 9);
    ok = pb_pg_opt_text(res, row, 10, out->error, sizeof(out->error)) && ok;
    ok = pb_pg_text(res, row, 11, out->created_by, sizeof(out->created_by)) && ok;
    out->created_at = pb_pg_int64(res, row, 12);
    out->updated_at = pb_pg_int64(res, row, 13);
    out->started_at = pb_pg_int64(res, row, 14);
    out->finished_at = pb_pg_int64(res, row, 15);
    struct pb_campaign_counters *k = &out->counters;
    k->recipients = pb_pg_int64(res, row, 16);
    k->sent = pb_pg_int64(res, row, 17);
    k->deferred = pb_pg_int64(res, row, 18);
    k->failed = pb_pg_int64(res, row, 19);
    k->bounced = pb_pg_int64(res, row, 20);
    k->opens_unique = pb_pg_int64(res, row, 21);
    k->opens_total = pb_pg_int64(res, row, 22);
    k->clicks_unique = pb_pg_int64(res, row, 23);
    k->clicks_total = pb_pg_int64(res, row, 24);
    k->unsubscribes = pb_pg_int64(res, row, 25);
    k->reclaimed = pb_pg_int64(res, row, 26);
    if (!PQgetisnull(res, row, 27))
        ok = read_list_ids(PQgetvalue(res, row, 27), out) && ok;
    if (!ok)
        pb_error("postgres: a campaigns row does not fit its struct");
    return ok;
}

/* Calls cb for every campaign of a result of CAMPAIGN_COLUMNS; clears `res`. */
static enum pb_qs
each_campaign(PGresult *res, pb_campaign_cb cb, void *cls)
{
    int n = PQntuples(res);
    enum pb_qs qs = pb_pg_rows(n);
    /* Over 5 KB: one on the heap, reused. */
    struct pb_campaign *campaign = malloc(sizeof(*campaign));
    if (campaign == NULL) {
        pb_error("postgres: out of memory listing campaigns");
        qs = PB_QS_HARD_ERROR;
        n = 0;
    }
    for (int i = 0; i < n; i++) {
        if (!read_campaign(res, i, campaign)) {
            qs = PB_QS_HARD_ERROR;
            break;
        }
        cb(cls, campaign);
    }
    free(campaign);
    PQclear(res);
    return qs;
}

/* Refuses a campaign with more lists than the struct holds. */
static bool
lists_fit(const struct pb_campaign *campaign)
{
    if (campaign->list_count < 0 || campaign->list_count > PB_CAMPAIGN_LISTS_MAX) {
        pb_error("postgres: a campaign with %d lists (%d at most)", campaign->list_count,
                 PB_CAMPAIGN_LISTS_MAX);
        return false;
    }
    return true;
}

/* What the campaign says: name, subject, from, reply-to and the two bodies, in that order. */
static void
param_message(struct pb_pg_params *p, const struct pb_campaign *campaign)
{
    pb_pg_param_text(p, campaign->name);
    pb_pg_param_text(p, campaign->subject);
    pb_pg_param_text(p, campaign->from_addr);
    pb_pg_param_text(p, pb_pg_opt(campaign->reply_to));
    pb_pg_param_text(p, campaign->html ? campaign->html : "");
    pb_pg_param_text(p, campaign->text ? campaign->text : "");
}

/* The campaign's list ids as one text[] parameter. */
static void
param_list_ids(struct pb_pg_params *p, const struct pb_campaign *campaign)
{
    pb_pg_array_begin(p, PB_PG_OID_TEXT, campaign->list_count);
    for (int i = 0; i < campaign->list_count; i++)
        pb_pg_elem_text(p, campaign->list_ids[i], sizeof(campaign->list_ids[i]));
    pb_pg_array_end(p);
}

/* NONE, ONE or N from the count a statement answers (`SELECT count(*) FROM ...`); clears `res`. */
static enum pb_qs
rows_counted(PGresult *res)
{
    enum pb_qs qs = pb_pg_rows((int)pb_pg_int64(res, 0, 0));
    PQclear(res);
    return qs;
}

/*
 * The common head of insert and update: `l` the distinct list ids of
 * parameter `lists`, `ok` whether every one of them is a list of the
 * account in parameter `account`.
 */
#define LISTS_CHECK(account, lists)                                                                \
    "WITH l AS (SELECT DISTINCT u.id FROM unnest(" lists "::text[]) AS u(id)),"                    \
    " ok AS (SELECT count(*) = (SELECT count(*) FROM l) AS ok FROM lists x"                        \
    "  WHERE x.account_id = " account " AND x.id IN (SELECT id FROM l)),"

enum pb_qs
pb_pg_campaign_insert(struct pb_conn *conn, const struct pb_campaign *campaign)
{
    struct pb_pg_conn *c = pb_pg_conn(conn);
    char scheduled[PB_PG_NUM_MAX], rate[PB_PG_NUM_MAX], created[PB_PG_NUM_MAX],
        updated[PB_PG_NUM_MAX], started[PB_PG_NUM_MAX], finished[PB_PG_NUM_MAX];
    if (!lists_fit(campaign))
        return PB_QS_HARD_ERROR;
    struct pb_pg_params p;
    pb_pg_params_init(&p, 64 + (size_t)campaign->list_count * (4 + PB_ID_LEN));
    pb_pg_param_text(&p, campaign->id);
    pb_pg_param_text(&p, campaign->account_id);
    param_message(&p, campaign);
    pb_pg_param_text(&p, campaign->state[0] ? campaign->state : "draft");
    pb_pg_param_text(&p, pb_pg_num(scheduled, campaign->scheduled_at));
    pb_pg_param_text(&p, campaign->prepared ? "true" : "false");
    pb_pg_param_text(&p, pb_pg_num(rate, campaign->rate_per_minute));
    pb_pg_param_text(&p, pb_pg_opt(campaign->error));
    pb_pg_param_text(&p, campaign->created_by);
    pb_pg_param_text(&p, pb_pg_num(created, campaign->created_at));
    pb_pg_param_text(&p, pb_pg_num(updated, campaign->updated_at));
    pb_pg_param_text(&p, pb_pg_num(started, campaign->started_at));
    pb_pg_param_text(&p, pb_pg_num(finished, campaign->finished_at));
    param_list_ids(&p, campaign);
    PGresult *res;
    /* Nothing at all when a list is not the account's. */
    enum pb_qs qs = pb_pg_params_exec(
        c, PB_PG_CAMPAIGN_INSERT, "pb_campaign_insert",
        LISTS_CHECK("$2", "$19") " ins AS (INSERT INTO campaigns (id, account_id, name, subject,"
                                 "  from_addr, reply_to, html, text_body, state, scheduled_at,"
                                 "  prepared, rate_per_minute, error, created_by, created_at,"
                                 "  updated_at, started_at, finished_at)"
                                 "  SELECT $1, $2, $3, $4, $5, $6, $7, $8, $9, $10::bigint,"
                                 "  $11::boolean, $12::integer, $13, $14, $15::bigint,"
                                 "  $16::bigint, $17::bigint, $18::bigint FROM ok WHERE ok.ok"
                                 "  RETURNING id),"
                                 " links AS (INSERT INTO campaign_lists (campaign_id, list_id,"
                                 "  account_id) SELECT ins.id, l.id, $2 FROM ins CROSS JOIN l)"
                                 " SELECT count(*) FROM ins",
        &p, 0, &res);
    return qs < 0 ? qs : rows_counted(res);
}

enum pb_qs
pb_pg_campaign_update(struct pb_conn *conn, const struct pb_campaign *campaign)
{
    struct pb_pg_conn *c = pb_pg_conn(conn);
    char rate[PB_PG_NUM_MAX], updated[PB_PG_NUM_MAX];
    if (!lists_fit(campaign))
        return PB_QS_HARD_ERROR;
    struct pb_pg_params p;
    pb_pg_params_init(&p, 64 + (size_t)campaign->list_count * (4 + PB_ID_LEN));
    pb_pg_param_text(&p, campaign->account_id);
    pb_pg_param_text(&p, campaign->id);
    param_message(&p, campaign);
    pb_pg_param_text(&p, pb_pg_num(rate, campaign->rate_per_minute));
    pb_pg_param_text(&p, pb_pg_num(updated, campaign->updated_at));
    param_list_ids(&p, campaign);
    PGresult *res;
    /*
     * The lists dropped go, the new ones come, those kept stay: the two
     * statements touch different rows.
     */
    enum pb_qs qs = pb_pg_params_exec(
        c, PB_PG_CAMPAIGN_UPDATE, "pb_campaign_update",
        LISTS_CHECK("$1", "$11") " up AS (UPDATE campaigns SET name = $3, subject = $4,"
                                 "  from_addr = $5, reply_to = $6, html = $7, text_body = $8,"
                                 "  rate_per_minute = $9::integer, updated_at = $10::bigint"
                                 "  WHERE account_id = $1 AND id = $2 AND (SELECT ok FROM ok)"
                                 "  RETURNING id),"
                                 " gone AS (DELETE FROM campaign_lists WHERE campaign_id IN"
                                 "  (SELECT id FROM up) AND list_id NOT IN (SELECT id FROM l)),"
                                 " added AS (INSERT INTO campaign_lists (campaign_id, list_id,"
                                 "  account_id) SELECT up.id, l.id, $1 FROM up CROSS JOIN l"
                                 "  ON CONFLICT (campaign_id, list_id) DO NOTHING)"
                                 " SELECT count(*) FROM up",
        &p, 0, &res);
    return qs < 0 ? qs : rows_counted(res);
}

/* A malloc'd copy of a field, or NULL when out of memory. */
static char *
copy_field(const PGresult *res, int row, int col)
{
    size_t len = (size_t)PQgetlength(res, row, col);
    char *s = malloc(len + 1);
    if (s != NULL) {
        memcpy(s, PQgetvalue(res, row, col), len);
        s[len] = '\0';
    }
    return s;
}

enum pb_qs
pb_pg_campaign_get(struct pb_conn *conn, const char *account_id, const char *id, bool bodies,
                   struct pb_campaign *out)
{
    struct pb_pg_conn *c = pb_pg_conn(conn);
    const char *const params[] = {account_id, id, bodies ? "true" : "false"};
    PGresult *res;
    /* The bodies (up to 1 MiB each) only travel when asked for. */
    enum pb_qs qs = pb_pg_exec(c, PB_PG_CAMPAIGN_GET, "pb_campaign_get",
                               "SELECT " CAMPAIGN_COLUMNS ", CASE WHEN $3::boolean THEN c.html END,"
                               " CASE WHEN $3::boolean THEN c.text_body END"
                               " FROM campaigns c WHERE c.account_id = $1 AND c.id = $2",
                               3, params, &res);
    if (qs < 0)
        return qs;
    if (PQntuples(res) == 0) {
        PQclear(res);
        return PB_QS_NONE;
    }
    if (!read_campaign(res, 0, out)) {
        PQclear(res);
        return PB_QS_HARD_ERROR;
    }
    qs = PB_QS_ONE;
    if (bodies) {
        out->html = copy_field(res, 0, CAMPAIGN_NCOLS);
        out->text = copy_field(res, 0, CAMPAIGN_NCOLS + 1);
        if (out->html == NULL || out->text == NULL) {
            pb_error("postgres: out of memory reading a campaign's bodies");
            pb_campaign_bodies_free(out);
            qs = PB_QS_HARD_ERROR;
        }
    }
    PQclear(res);
    return qs;
}

enum pb_qs
pb_pg_campaign_list(struct pb_conn *conn, const char *account_id, const char *before_id, int limit,
                    pb_campaign_cb cb, void *cls)
{
    struct pb_pg_conn *c = pb_pg_conn(conn);
    char limit_buf[PB_PG_NUM_MAX];
    /* No cursor: "~" sorts (as bytes) after every id, so the index range starts at the end. */
    const char *before = before_id != NULL && *before_id != '\0' ? before_id : "~";
    const char *const params[] = {account_id, before, limit_text(limit_buf, limit)};
    PGresult *res;
    enum pb_qs qs = pb_pg_exec(c, PB_PG_CAMPAIGN_LIST, "pb_campaign_list",
                               "SELECT " CAMPAIGN_COLUMNS " FROM campaigns c"
                               " WHERE c.account_id = $1 AND c.id < $2"
                               " ORDER BY c.id DESC LIMIT $3",
                               3, params, &res);
    return qs < 0 ? qs : each_campaign(res, cb, cls);
}

enum pb_qs
pb_pg_campaign_delete(struct pb_conn *conn, const char *account_id, const char *id)
{
    struct pb_pg_conn *c = pb_pg_conn(conn);
    const char *const params[] = {account_id, id};
    /* Its lists, links, recipients and clicks go with it (ON DELETE CASCADE). */
    return pb_pg_exec_change(c, PB_PG_CAMPAIGN_DELETE, "pb_campaign_delete",
                             "DELETE FROM campaigns WHERE account_id = $1 AND id = $2", 2, params);
}

enum pb_qs
pb_pg_campaign_transition(struct pb_conn *conn, const char *account_id, const char *id,
                          const char *from, const char *to, int64_t now, int64_t scheduled_at,
                          const char *error)
{
    struct pb_pg_conn *c = pb_pg_conn(conn);
    char now_text[PB_PG_NUM_MAX], scheduled[PB_PG_NUM_MAX], why[PB_WHY_MAX];
    /* An error longer than the struct holds is cut (at a character), not refused. */
    if (error != NULL) {
        size_t len = cut_utf8(error, sizeof(why) - 1);
        memcpy(why, error, len);
        why[len] = '\0';
    }
    const char *const params[] = {account_id,
                                  id,
                                  from,
                                  to,
                                  pb_pg_num(now_text, now),
                                  pb_pg_num(scheduled, scheduled_at),
                                  error != NULL ? why : NULL};
    /* `from` may be written "a, b": blanks are dropped before it is split. */
    return pb_pg_exec_change(
        c, PB_PG_CAMPAIGN_TRANSITION, "pb_campaign_transition",
        "UPDATE campaigns SET state = $4, updated_at = $5::bigint,"
        " scheduled_at = CASE WHEN $6::bigint >= 0 THEN $6::bigint ELSE scheduled_at END,"
        " error = CASE WHEN $7::text IS NULL THEN error ELSE NULLIF($7::text, '') END,"
        " started_at = CASE WHEN $4 = 'sending' AND started_at = 0 THEN $5::bigint"
        "  ELSE started_at END,"
        " finished_at = CASE WHEN $4 IN ('sent', 'cancelled', 'failed') THEN $5::bigint"
        "  ELSE finished_at END,"
        " prepared = CASE WHEN $4 = 'scheduled' THEN false ELSE prepared END"
        " WHERE account_id = $1 AND id = $2"
        " AND state = ANY (string_to_array(replace($3::text, ' ', ''), ','))",
        7, params);
}

enum pb_qs
pb_pg_campaign_set_prepared(struct pb_conn *conn, const char *account_id, const char *id)
{
    struct pb_pg_conn *c = pb_pg_conn(conn);
    const char *const params[] = {account_id, id};
    return pb_pg_exec_change(c, PB_PG_CAMPAIGN_SET_PREPARED, "pb_campaign_set_prepared",
                             "UPDATE campaigns SET prepared = true"
                             " WHERE account_id = $1 AND id = $2",
                             2, params);
}

enum pb_qs
pb_pg_campaign_due(struct pb_conn *conn, int64_t now, int limit, pb_campaign_cb cb, void *cls)
{
    struct pb_pg_conn *c = pb_pg_conn(conn);
    char now_text[PB_PG_NUM_MAX], limit_buf[PB_PG_NUM_MAX];
    const char *const params[] = {pb_pg_num(now_text, now), limit_text(limit_buf, limit)};
    PGresult *res;
    enum pb_qs qs = pb_pg_exec(c, PB_PG_CAMPAIGN_DUE, "pb_campaign_due",
                               "SELECT " CAMPAIGN_COLUMNS " FROM campaigns c"
                               " WHERE c.state = 'scheduled' AND c.scheduled_at <= $1"
                               " ORDER BY c.scheduled_at, c.id LIMIT $2",
                               2, params, &res);
    return qs < 0 ? qs : each_campaign(res, cb, cls);
}

enum pb_qs
pb_pg_campaign_sending(struct pb_conn *conn, const char *after_id, int limit, pb_campaign_cb cb,
                       void *cls)
{
    struct pb_pg_conn *c = pb_pg_conn(conn);
    char limit_buf[PB_PG_NUM_MAX];
    const char *const params[] = {after_id ? after_id : "", limit_text(limit_buf, limit)};
    PGresult *res;
    enum pb_qs qs = pb_pg_exec(c, PB_PG_CAMPAIGN_SENDING, "pb_campaign_sending",
                               "SELECT " CAMPAIGN_COLUMNS " FROM campaigns c"
                               " WHERE c.state = 'sending' AND c.id > $1"
                               " ORDER BY c.id LIMIT $2",
                               2, params, &res);
    return qs < 0 ? qs : each_campaign(res, cb, cls);
}

enum pb_qs
pb_pg_campaign_counters_add(struct pb_conn *conn, const char *account_id, const char *id,
                            const struct pb_campaign_counters *delta)
{
    struct pb_pg_conn *c = pb_pg_conn(conn);
    char v[11][24];
    const char *const params[] = {account_id,
                                  id,
                                  pb_pg_num(v[0], delta->recipients),
                                  pb_pg_num(v[1], delta->sent),
                                  pb_pg_num(v[2], delta->deferred),
                                  pb_pg_num(v[3], delta->failed),
                                  pb_pg_num(v[4], delta->bounced),
                                  pb_pg_num(v[5], delta->opens_unique),
                                  pb_pg_num(v[6], delta->opens_total),
                                  pb_pg_num(v[7], delta->clicks_unique),
                                  pb_pg_num(v[8], delta->clicks_total),
                                  pb_pg_num(v[9], delta->unsubscribes),
                                  pb_pg_num(v[10], delta->reclaimed)};
    return pb_pg_exec_change(
        c, PB_PG_CAMPAIGN_COUNTERS_ADD, "pb_campaign_counters_add",
        "UPDATE campaigns SET recipients = recipients + $3, sent = sent + $4,"
        " deferred = deferred + $5, failed = failed + $6, bounced = bounced + $7,"
        " opens_unique = opens_unique + $8, opens_total = opens_total + $9,"
        " clicks_unique = clicks_unique + $10, clicks_total = clicks_total + $11,"
        " unsubscribes = unsubscribes + $12, reclaimed = reclaimed + $13"
        " WHERE account_id = $1 AND id = $2",
        13, params);
}

/* ---- links ---- */

enum pb_qs
pb_pg_link_replace(struct pb_conn *conn, const char *account_id, const char *campaign_id,
                   const char *const *urls, int n)
{
    struct pb_pg_conn *c = pb_pg_conn(conn);
    if (n < 0) {
        pb_error("postgres: link_replace: %d links", n);
        return PB_QS_HARD_ERROR;
    }
    size_t hint = 128;
    for (int i = 0; i < n; i++) {
        size_t len = urls[i] != NULL ? strnlen(urls[i], PB_URL_MAX + 1) : PB_URL_MAX + 1;
        if (len > PB_URL_MAX) {
            pb_error("postgres: link_replace: link %d is missing or longer than %d bytes", i,
                     PB_URL_MAX);
            return PB_QS_HARD_ERROR;
        }
        hint += 4 + len;
    }
    struct pb_pg_params p;
    pb_pg_params_init(&p, hint);
    pb_pg_param_text(&p, account_id);
    pb_pg_param_text(&p, campaign_id);
    pb_pg_array_begin(&p, PB_PG_OID_TEXT, n);
    for (int i = 0; i < n; i++)
        pb_pg_elem_text(&p, urls[i], PB_URL_MAX);
    pb_pg_array_end(&p);
    PGresult *res;
    /*
     * Links past the new count go, the others are written over with their
     * counters at 0: the two touch different rows, so one statement does it.
     * The answer counts the links written; nothing for a campaign of another
     * account (PB_QS_NONE).
     */
    enum pb_qs qs = pb_pg_params_exec(
        c, PB_PG_LINK_REPLACE, "pb_link_replace",
        "WITH c AS (SELECT id FROM campaigns WHERE account_id = $1 AND id = $2),"
        " gone AS (DELETE FROM campaign_links WHERE campaign_id IN (SELECT id FROM c)"
        "  AND n >= cardinality($3::text[])),"
        " put AS (INSERT INTO campaign_links (account_id, campaign_id, n, url,"
        "  clicks_unique, clicks_total)"
        "  SELECT $1, c.id, u.i - 1, u.url, 0, 0"
        "  FROM c CROSS JOIN unnest($3::text[]) WITH ORDINALITY AS u(url, i)"
        "  ON CONFLICT (campaign_id, n) DO UPDATE SET url = excluded.url,"
        "  clicks_unique = 0, clicks_total = 0 RETURNING 1)"
        " SELECT count(*) FROM put",
        &p, 0, &res);
    return qs < 0 ? qs : rows_counted(res);
}

#define LINK_COLUMNS "n, url, clicks_unique, clicks_total"

/* Fills a struct pb_campaign_link from row `row` of LINK_COLUMNS. */
static bool
read_link(const PGresult *res, int row, void *dst)
{
    struct pb_campaign_link *out = dst;
    out->n = (int)pb_pg_int64(res, row, 0);
    bool ok = pb_pg_text(res, row, 1, out->url, sizeof(out->url));
    out->clicks_unique = pb_pg_int64(res, row, 2);
    out->clicks_total = pb_pg_int64(res, row, 3);
    if (!ok)
        pb_error("postgres: a campaign_links row does not fit its struct");
    return ok;
}

enum pb_qs
pb_pg_link_list(struct pb_conn *conn, const char *account_id, const char *campaign_id,
                pb_campaign_link_cb cb, void *cls)
{
    struct pb_pg_conn *c = pb_pg_conn(conn);
    const char *const params[] = {account_id, campaign_id};
    PGresult *res;
    enum pb_qs qs = pb_pg_exec(c, PB_PG_LINK_LIST, "pb_link_list",
                               "SELECT " LINK_COLUMNS " FROM campaign_links"
                               " WHERE account_id = $1 AND campaign_id = $2 ORDER BY n",
                               2, params, &res);
    if (qs < 0)
        return qs;
    int n = PQntuples(res);
    for (int i = 0; i < n; i++) {
        struct pb_campaign_link link;
        if (!read_link(res, i, &link))
            return pb_pg_bad_row(res);
        cb(cls, &link);
    }
    PQclear(res);
    return pb_pg_rows(n);
}

enum pb_qs
pb_pg_link_get(struct pb_conn *conn, const char *account_id, const char *campaign_id, int n,
               struct pb_campaign_link *out)
{
    struct pb_pg_conn *c = pb_pg_conn(conn);
    char n_text[PB_PG_NUM_MAX];
    const char *const params[] = {account_id, campaign_id, pb_pg_num(n_text, n)};
    PGresult *res;
    enum pb_qs qs = pb_pg_exec(c, PB_PG_LINK_GET, "pb_link_get",
                               "SELECT " LINK_COLUMNS " FROM campaign_links"
                               " WHERE account_id = $1 AND campaign_id = $2 AND n = $3",
                               3, params, &res);
    return qs < 0 ? qs : pb_pg_get_one(res, read_link, out);
}

enum pb_qs
pb_pg_link_counters_add(struct pb_conn *conn, const char *account_id, const char *campaign_id,
                        int n, int64_t unique, int64_t total)
{
    struct pb_pg_conn *c = pb_pg_conn(conn);
    char n_text[PB_PG_NUM_MAX], unique_text[PB_PG_NUM_MAX], total_text[PB_PG_NUM_MAX];
    const char *const params[] = {account_id, campaign_id, pb_pg_num(n_text, n),
                                  pb_pg_num(unique_text, unique), pb_pg_num(total_text, total)};
    return pb_pg_exec_change(c, PB_PG_LINK_COUNTERS_ADD, "pb_link_counters_add",
                             "UPDATE campaign_links SET clicks_unique = clicks_unique + $4,"
                             " clicks_total = clicks_total + $5"
                             " WHERE account_id = $1 AND campaign_id = $2 AND n = $3",
                             5, params);
}

/* ---- recipients ---- */

#define RECIPIENT_COLUMNS                                                                          \
    "r.account_id, r.campaign_id, r.contact_id, r.state, r.attempts, r.next_attempt_at,"           \
    " r.lease_owner, r.lease_until, r.error, r.sent_at, r.opens, r.first_open_at, r.clicks,"       \
    " r.unsubscribed_at"
#define RECIPIENT_NCOLS 14

/* Fills `out` from row `row` of RECIPIENT_COLUMNS (`reclaimed` false). */
static bool
read_recipient(const PGresult *res, int row, void *dst)
{
    struct pb_recipient *out = dst;
    memset(out, 0, sizeof(*out));
    bool ok = pb_pg_text(res, row, 0, out->account_id, sizeof(out->account_id));
    ok = pb_pg_text(res, row, 1, out->campaign_id, sizeof(out->campaign_id)) && ok;
    ok = pb_pg_text(res, row, 2, out->contact_id, sizeof(out->contact_id)) && ok;
    ok = pb_pg_text(res, row, 3, out->state, sizeof(out->state)) && ok;
    out->attempts = (int)pb_pg_int64(res, row, 4);
    out->next_attempt_at = pb_pg_int64(res, row, 5);
    ok = pb_pg_opt_text(res, row, 6, out->lease_owner, sizeof(out->lease_owner)) && ok;
    out->lease_until = pb_pg_int64(res, row, 7);
    ok = pb_pg_opt_text(res, row, 8, out->error, sizeof(out->error)) && ok;
    out->sent_at = pb_pg_int64(res, row, 9);
    out->opens = (int)pb_pg_int64(res, row, 10);
    out->first_open_at = pb_pg_int64(res, row, 11);
    out->clicks = (int)pb_pg_int64(res, row, 12);
    out->unsubscribed_at = pb_pg_int64(res, row, 13);
    if (!ok)
        pb_error("postgres: a campaign_recipients row does not fit its struct");
    return ok;
}

enum pb_qs
pb_pg_recipient_snapshot(struct pb_conn *conn, const char *account_id, const char *campaign_id,
                         const char *after_contact_id, int limit, char last[PB_ID_LEN + 1],
                         int64_t *added)
{
    struct pb_pg_conn *c = pb_pg_conn(conn);
    char limit_buf[PB_PG_NUM_MAX];
    last[0] = '\0';
    *added = 0;
    if (limit <= 0) {
        /* A scan of nothing would read as a complete snapshot. */
        pb_error("postgres: recipient_snapshot with a limit of %d", limit);
        return PB_QS_HARD_ERROR;
    }
    const char *const params[] = {account_id, campaign_id, after_contact_id ? after_contact_id : "",
                                  limit_text(limit_buf, limit)};
    PGresult *res;
    /*
     * One statement. `scan` takes at most `limit` distinct subscribed
     * contacts after the cursor: the first `limit` of each list (an index
     * range on the membership key, in contact order) hold them all, so a
     * batch reads at most lists x limit memberships however large the lists
     * are. Of those, the active and unsuppressed ones not yet recipients
     * are inserted.
     */
    enum pb_qs qs = pb_pg_exec(
        c, PB_PG_RECIPIENT_SNAPSHOT, "pb_recipient_snapshot",
        "WITH scan AS (SELECT DISTINCT m.contact_id FROM campaign_lists cl"
        "  CROSS JOIN LATERAL (SELECT contact_id FROM memberships"
        "   WHERE list_id = cl.list_id AND contact_id > $3 AND status = 'subscribed'"
        "   AND account_id = $1 ORDER BY contact_id LIMIT $4::integer) m"
        "  WHERE cl.campaign_id = $2 AND cl.account_id = $1"
        "  ORDER BY m.contact_id LIMIT $4::integer),"
        " ins AS (INSERT INTO campaign_recipients (account_id, campaign_id, contact_id, state)"
        "  SELECT $1, $2, s.contact_id, 'queued' FROM scan s"
        "  JOIN contacts ct ON ct.id = s.contact_id"
        "  WHERE ct.account_id = $1 AND ct.status = 'active' AND ct.suppressed_at = 0"
        "  ORDER BY s.contact_id"
        "  ON CONFLICT (campaign_id, contact_id) DO NOTHING RETURNING 1)"
        " SELECT (SELECT count(*) FROM scan), (SELECT max(contact_id) FROM scan),"
        " (SELECT count(*) FROM ins)",
        4, params, &res);
    if (qs < 0)
        return qs;
    int64_t scanned = pb_pg_int64(res, 0, 0);
    if (scanned > 0 && !pb_pg_text(res, 0, 1, last, PB_ID_LEN + 1)) {
        pb_error("postgres: recipient_snapshot: a contact id does not fit");
        last[0] = '\0';
        PQclear(res);
        return PB_QS_HARD_ERROR;
    }
    *added = pb_pg_int64(res, 0, 2);
    PQclear(res);
    return pb_pg_rows((int)scanned);
}

enum pb_qs
pb_pg_recipient_claim(struct pb_conn *conn, const char *account_id, const char *campaign_id,
                      int64_t now, const char *owner, int64_t lease_until, int limit,
                      pb_recipient_cb cb, void *cls)
{
    struct pb_pg_conn *c = pb_pg_conn(conn);
    char now_text[PB_PG_NUM_MAX], lease_text[PB_PG_NUM_MAX], limit_buf[PB_PG_NUM_MAX];
    if (owner == NULL || *owner == '\0' || strlen(owner) > PB_JOB_OWNER_MAX) {
        pb_error("postgres: recipient_claim: an owner must be 1 to %d bytes", PB_JOB_OWNER_MAX);
        return PB_QS_HARD_ERROR;
    }
    const char *const params[] = {account_id,
                                  campaign_id,
                                  pb_pg_num(now_text, now),
                                  owner,
                                  pb_pg_num(lease_text, lease_until),
                                  limit_text(limit_buf, limit)};
    PGresult *res;
    /*
     * One ordered index range (campaign, state, contact) per state that can
     * be claimed, each taking at most `limit` rows and skipping those another
     * claim holds (never waiting for them); the first `limit` of the three in
     * contact order are leased. A single scan filtering on the state would
     * walk every recipient sent already on each claim. The few rows locked
     * but not taken stay locked only until this transaction ends.
     *
     * The state is a range of one value and the order (state, contact_id)
     * on purpose: only that index gives that order, so the planner cannot
     * take the primary key or the contact index in contact order instead,
     * filtering on the state. It did (its statistics see the states spread
     * evenly over the contacts; they are not: the first ones are sent), and
     * each claim walked every recipient sent so far.
     */
    enum pb_qs qs =
        pb_pg_exec(c, PB_PG_RECIPIENT_CLAIM, "pb_recipient_claim",
                   "WITH q AS (SELECT contact_id, false AS reclaimed FROM campaign_recipients"
                   "  WHERE campaign_id = $2 AND state >= 'queued' AND state <= 'queued'"
                   "  AND account_id = $1 ORDER BY state, contact_id LIMIT $6::integer"
                   "  FOR UPDATE SKIP LOCKED),"
                   " d AS (SELECT contact_id, false AS reclaimed FROM campaign_recipients"
                   "  WHERE campaign_id = $2 AND state >= 'deferred' AND state <= 'deferred'"
                   "  AND next_attempt_at <= $3::bigint AND account_id = $1"
                   "  ORDER BY state, contact_id LIMIT $6::integer FOR UPDATE SKIP LOCKED),"
                   " s AS (SELECT contact_id, true AS reclaimed FROM campaign_recipients"
                   "  WHERE campaign_id = $2 AND state >= 'sending' AND state <= 'sending'"
                   "  AND lease_until <= $3::bigint AND account_id = $1"
                   "  ORDER BY state, contact_id LIMIT $6::integer FOR UPDATE SKIP LOCKED),"
                   " pick AS (SELECT * FROM q UNION ALL SELECT * FROM d UNION ALL SELECT * FROM s"
                   "  ORDER BY contact_id LIMIT $6::integer),"
                   " up AS (UPDATE campaign_recipients r SET state = 'sending', lease_owner = $4,"
                   "  lease_until = $5::bigint FROM pick"
                   "  WHERE r.campaign_id = $2 AND r.contact_id = pick.contact_id"
                   "  RETURNING " RECIPIENT_COLUMNS ", pick.reclaimed)"
                   " SELECT * FROM up ORDER BY contact_id",
                   6, params, &res);
    if (qs < 0)
        return qs;
    int n = PQntuples(res);
    for (int i = 0; i < n; i++) {
        struct pb_recipient r;
        if (!read_recipient(res, i, &r))
            return pb_pg_bad_row(res);
        r.reclaimed = pb_pg_bool(res, i, RECIPIENT_NCOLS);
        cb(cls, &r);
    }
    PQclear(res);
    return pb_pg_rows(n);
}

enum pb_qs
pb_pg_recipient_finish_many(struct pb_conn *conn, const char *account_id, const char *campaign_id,
                            const char *owner, const struct pb_recipient_outcome *outcomes, int n,
                            bool *applied)
{
    struct pb_pg_conn *c = pb_pg_conn(conn);
    if (n < 0) {
        pb_error("postgres: recipient_finish_many: a batch of %d", n);
        return PB_QS_HARD_ERROR;
    }
    for (int i = 0; i < n; i++) {
        applied[i] = false;
        if (outcomes[i].contact_id == NULL || outcomes[i].state == NULL) {
            pb_error("postgres: recipient_finish_many: an outcome without contact or state");
            return PB_QS_HARD_ERROR;
        }
    }
    if (n == 0)
        return PB_QS_NONE;

    struct pb_pg_params p;
    pb_pg_params_init(&p, 128 + (size_t)n * (6 * 4 + 3 * 8 + PB_ID_LEN + 16 + 64));
    pb_pg_param_text(&p, account_id);
    pb_pg_param_text(&p, campaign_id);
    pb_pg_param_text(&p, owner);
    pb_pg_array_begin(&p, PB_PG_OID_TEXT, n);
    for (int i = 0; i < n; i++)
        pb_pg_elem_text(&p, outcomes[i].contact_id, PB_ID_LEN + 1);
    pb_pg_array_end(&p);
    pb_pg_array_begin(&p, PB_PG_OID_TEXT, n);
    for (int i = 0; i < n; i++)
        pb_pg_elem_text(&p, outcomes[i].state, 16);
    pb_pg_array_end(&p);
    pb_pg_array_begin(&p, PB_PG_OID_INT8, n);
    for (int i = 0; i < n; i++)
        pb_pg_elem_int8(&p, outcomes[i].attempts);
    pb_pg_array_end(&p);
    pb_pg_array_begin(&p, PB_PG_OID_INT8, n);
    for (int i = 0; i < n; i++)
        pb_pg_elem_int8(&p, outcomes[i].next_attempt_at);
    pb_pg_array_end(&p);
    /* An error longer than a recipient's struct holds is cut at a character. */
    pb_pg_array_begin(&p, PB_PG_OID_TEXT, n);
    for (int i = 0; i < n; i++) {
        const char *e = outcomes[i].error;
        if (e == NULL)
            pb_pg_elem_text(&p, NULL, 0);
        else
            pb_pg_elem_bytes(&p, e, cut_utf8(e, PB_WHY_MAX - 1));
    }
    pb_pg_array_end(&p);
    pb_pg_array_begin(&p, PB_PG_OID_INT8, n);
    for (int i = 0; i < n; i++)
        pb_pg_elem_int8(&p, outcomes[i].sent_at);
    pb_pg_array_end(&p);
    PGresult *res;
    /* Only rows still under this sender's lease; their positions in the batch come back. */
    enum pb_qs qs = pb_pg_params_exec(
        c, PB_PG_RECIPIENT_FINISH_MANY, "pb_recipient_finish_many",
        "WITH u AS (SELECT * FROM unnest($4::text[], $5::text[], $6::int8[], $7::int8[],"
        "  $8::text[], $9::int8[]) WITH ORDINALITY"
        "  AS u(contact_id, state, attempts, next_at, error, sent_at, i)),"
        " up AS (UPDATE campaign_recipients r SET state = u.state, attempts = u.attempts,"
        "  next_attempt_at = u.next_at, error = u.error, sent_at = u.sent_at,"
        "  lease_owner = NULL, lease_until = 0"
        "  FROM u WHERE r.campaign_id = $2 AND r.contact_id = u.contact_id"
        "  AND r.account_id = $1 AND r.state = 'sending' AND r.lease_owner = $3"
        "  RETURNING u.i)"
        " SELECT i FROM up",
        &p, 0, &res);
    if (qs < 0)
        return qs;
    int rows = PQntuples(res);
    for (int r = 0; r < rows; r++) {
        int64_t i = pb_pg_int64(res, r, 0);
        if (i < 1 || i > n) {
            pb_error("postgres: recipient_finish_many: a position out of the batch");
            PQclear(res);
            return PB_QS_HARD_ERROR;
        }
        applied[i - 1] = true;
    }
    PQclear(res);
    return pb_pg_rows(rows);
}

/* Runs a statement answering one count into `*count`. */
static enum pb_qs
count_one(struct pb_pg_conn *c, enum pb_pg_stmt id, const char *name, const char *sql, int nparams,
          const char *const *params, int64_t *count)
{
    PGresult *res;
    *count = 0;
    enum pb_qs qs = pb_pg_exec(c, id, name, sql, nparams, params, &res);
    if (qs < 0)
        return qs;
    *count = pb_pg_int64(res, 0, 0);
    PQclear(res);
    return PB_QS_ONE;
}

enum pb_qs
pb_pg_recipient_pending(struct pb_conn *conn, const char *account_id, const char *campaign_id,
                        int64_t *count)
{
    const char *const params[] = {account_id, campaign_id};
    /* The account is checked on the campaign: the count itself reads only the state index. */
    return count_one(pb_pg_conn(conn), PB_PG_RECIPIENT_PENDING, "pb_recipient_pending",
                     "SELECT count(*) FROM campaign_recipients"
                     " WHERE campaign_id = (SELECT id FROM campaigns"
                     "  WHERE account_id = $1 AND id = $2)"
                     " AND state IN ('queued', 'sending', 'deferred')",
                     2, params, count);
}

enum pb_qs
pb_pg_recipient_sent_since(struct pb_conn *conn, const char *account_id, const char *campaign_id,
                           int64_t since, int64_t *count)
{
    char since_text[PB_PG_NUM_MAX];
    const char *const params[] = {account_id, campaign_id, pb_pg_num(since_text, since)};
    /* sent_at is 0 for a recipient not sent: never counted, whatever `since`. */
    return count_one(pb_pg_conn(conn), PB_PG_RECIPIENT_SENT_SINCE, "pb_recipient_sent_since",
                     "SELECT count(*) FROM campaign_recipients"
                     " WHERE campaign_id = (SELECT id FROM campaigns"
                     "  WHERE account_id = $1 AND id = $2)"
                     " AND ((sent_at >= $3 AND sent_at > 0)"
                     "  OR (state = 'sending' AND lease_until > $3))",
                     3, params, count);
}

enum pb_qs
pb_pg_recipient_get(struct pb_conn *conn, const char *account_id, const char *campaign_id,
                    const char *contact_id, struct pb_recipient *out)
{
    struct pb_pg_conn *c = pb_pg_conn(conn);
    const char *const params[] = {account_id, campaign_id, contact_id};
    PGresult *res;
    enum pb_qs qs = pb_pg_exec(c, PB_PG_RECIPIENT_GET, "pb_recipient_get",
                               "SELECT " RECIPIENT_COLUMNS " FROM campaign_recipients r"
                               " WHERE r.account_id = $1 AND r.campaign_id = $2"
                               " AND r.contact_id = $3",
                               3, params, &res);
    return qs < 0 ? qs : pb_pg_get_one(res, read_recipient, out);
}

/*
 * Reads the answer (`qs`, `res`) of a statement returning no row (no such
 * recipient: PB_QS_NONE) or one row of booleans into `flags`, all false
 * unless read; clears `res`. A failed statement's `qs` is answered as is.
 */
static enum pb_qs
take_flags(enum pb_qs qs, PGresult *res, bool *const *flags, int nflags)
{
    for (int i = 0; i < nflags; i++)
        *flags[i] = false;
    if (qs < 0)
        return qs;
    qs = PB_QS_NONE;
    if (PQntuples(res) > 0) {
        for (int i = 0; i < nflags; i++)
            *flags[i] = pb_pg_bool(res, 0, i);
        qs = PB_QS_ONE;
    }
    PQclear(res);
    return qs;
}

enum pb_qs
pb_pg_recipient_open(struct pb_conn *conn, const char *account_id, const char *campaign_id,
                     const char *contact_id, int64_t now, bool *first)
{
    struct pb_pg_conn *c = pb_pg_conn(conn);
    char now_text[PB_PG_NUM_MAX];
    const char *const params[] = {account_id, campaign_id, contact_id, pb_pg_num(now_text, now)};
    PGresult *res;
    /* `o` is the row before the update: its first_open_at says whether this open is the first. */
    enum pb_qs qs =
        pb_pg_exec(c, PB_PG_RECIPIENT_OPEN, "pb_recipient_open",
                   "WITH o AS (SELECT first_open_at FROM campaign_recipients"
                   "  WHERE account_id = $1 AND campaign_id = $2 AND contact_id = $3 FOR UPDATE)"
                   " UPDATE campaign_recipients r SET opens = r.opens + 1,"
                   " first_open_at = CASE WHEN r.first_open_at = 0 THEN $4::bigint"
                   "  ELSE r.first_open_at END"
                   " FROM o WHERE r.campaign_id = $2 AND r.contact_id = $3"
                   " RETURNING o.first_open_at = 0",
                   4, params, &res);
    bool *const flags[] = {first};
    return take_flags(qs, res, flags, 1);
}

enum pb_qs
pb_pg_recipient_click(struct pb_conn *conn, const char *account_id, const char *campaign_id,
                      const char *contact_id, int n, int64_t now, bool *first_link, bool *first_any)
{
    struct pb_pg_conn *c = pb_pg_conn(conn);
    char n_text[PB_PG_NUM_MAX], now_text[PB_PG_NUM_MAX];
    const char *const params[] = {account_id, campaign_id, contact_id, pb_pg_num(n_text, n),
                                  pb_pg_num(now_text, now)};
    PGresult *res;
    /*
     * The recipient's clicks + 1 (`o`: before), then its row for the link,
     * upserted only when the recipient is there: without it nothing is
     * written. A link row at 1 click after the upsert is a new one.
     */
    enum pb_qs qs = pb_pg_exec(
        c, PB_PG_RECIPIENT_CLICK, "pb_recipient_click",
        "WITH o AS (SELECT clicks FROM campaign_recipients"
        "  WHERE account_id = $1 AND campaign_id = $2 AND contact_id = $3 FOR UPDATE),"
        " bump AS (UPDATE campaign_recipients r SET clicks = r.clicks + 1 FROM o"
        "  WHERE r.campaign_id = $2 AND r.contact_id = $3 RETURNING o.clicks AS before),"
        " k AS (INSERT INTO campaign_clicks (account_id, campaign_id, contact_id, n, clicks,"
        "  first_at) SELECT $1, $2, $3, $4::integer, 1, $5::bigint FROM bump"
        "  ON CONFLICT (campaign_id, contact_id, n)"
        "  DO UPDATE SET clicks = campaign_clicks.clicks + 1 RETURNING clicks)"
        " SELECT k.clicks = 1, bump.before = 0 FROM bump CROSS JOIN k",
        5, params, &res);
    bool *const flags[] = {first_link, first_any};
    return take_flags(qs, res, flags, 2);
}

enum pb_qs
pb_pg_recipient_unsubscribed(struct pb_conn *conn, const char *account_id, const char *campaign_id,
                             const char *contact_id, int64_t now, bool *first)
{
    struct pb_pg_conn *c = pb_pg_conn(conn);
    char now_text[PB_PG_NUM_MAX];
    const char *const params[] = {account_id, campaign_id, contact_id, pb_pg_num(now_text, now)};
    PGresult *res;
    /* A row when the recipient is there; written only the first time. */
    enum pb_qs qs = pb_pg_exec(c, PB_PG_RECIPIENT_UNSUBSCRIBED, "pb_recipient_unsubscribed",
                               "WITH o AS (SELECT 1 FROM campaign_recipients"
                               "  WHERE account_id = $1 AND campaign_id = $2 AND contact_id = $3),"
                               " up AS (UPDATE campaign_recipients SET unsubscribed_at = $4::bigint"
                               "  WHERE account_id = $1 AND campaign_id = $2 AND contact_id = $3"
                               "  AND unsubscribed_at = 0 RETURNING 1)"
                               " SELECT EXISTS (SELECT 1 FROM up) FROM o",
                               4, params, &res);
    bool *const flags[] = {first};
    return take_flags(qs, res, flags, 1);
}

enum pb_qs
pb_pg_recipient_list_for_contact(struct pb_conn *conn, const char *account_id,
                                 const char *contact_id, pb_received_cb cb, void *cls)
{
    struct pb_pg_conn *c = pb_pg_conn(conn);
    const char *const params[] = {account_id, contact_id};
    PGresult *res;
    enum pb_qs qs = pb_pg_exec(c, PB_PG_RECIPIENT_LIST_FOR_CONTACT, "pb_recipient_list_for_contact",
                               "SELECT " RECIPIENT_COLUMNS ", c.name FROM campaign_recipients r"
                               " JOIN campaigns c ON c.id = r.campaign_id"
                               " WHERE r.contact_id = $2 AND r.account_id = $1"
                               " AND c.account_id = $1 ORDER BY r.campaign_id DESC",
                               2, params, &res);
    if (qs < 0)
        return qs;
    int n = PQntuples(res);
    for (int i = 0; i < n; i++) {
        struct pb_recipient r;
        if (!read_recipient(res, i, &r))
            return pb_pg_bad_row(res);
        cb(cls, &r, PQgetvalue(res, i, RECIPIENT_NCOLS));
    }
    PQclear(res);
    return pb_pg_rows(n);
}

/* ---- what the messages of a claimed batch need ---- */

/* The ids as a text[] parameter. */
static void
param_id_array(struct pb_pg_params *p, const pb_id_text *ids, int n)
{
    pb_pg_array_begin(p, PB_PG_OID_TEXT, n);
    for (int i = 0; i < n; i++)
        pb_pg_elem_text(p, ids[i], PB_ID_LEN + 1);
    pb_pg_array_end(p);
}

enum pb_qs
pb_pg_recipient_load(struct pb_conn *conn, const char *account_id, const char *campaign_id,
                     const pb_id_text *contact_ids, int n, pb_recipient_contact_cb contact_cb,
                     pb_contact_value_cb value_cb, void *cls)
{
    struct pb_pg_conn *c = pb_pg_conn(conn);
    if (n < 0) {
        pb_error("postgres: recipient_load: %d ids", n);
        return PB_QS_HARD_ERROR;
    }
    if (n == 0)
        return PB_QS_NONE;
    struct pb_pg_params p;
    pb_pg_params_init(&p, 64 + (size_t)n * (4 + PB_ID_LEN));
    pb_pg_param_text(&p, account_id);
    pb_pg_param_text(&p, campaign_id);
    param_id_array(&p, contact_ids, n);
    PGresult *res;
    /* Binary results: the sealed address comes as bytes; the others are cast to text. */
    enum pb_qs qs = pb_pg_params_exec(
        c, PB_PG_RECIPIENT_LOAD_CONTACTS, "pb_recipient_load_contacts",
        "SELECT ct.id, ct.status, ct.suppressed_at::text, ct.email_sealed,"
        " EXISTS (SELECT 1 FROM campaign_lists cl JOIN memberships m ON m.list_id = cl.list_id"
        "  WHERE cl.campaign_id = $2 AND cl.account_id = $1 AND m.contact_id = ct.id"
        "  AND m.account_id = $1 AND m.status = 'subscribed')::text"
        " FROM contacts ct WHERE ct.id = ANY($3::text[]) AND ct.account_id = $1",
        &p, 1, &res);
    if (qs < 0)
        return qs;
    int rows = PQntuples(res);
    struct pb_contact contact;
    memset(&contact, 0, sizeof(contact));
    pb_strlcpy(contact.account_id, account_id, sizeof(contact.account_id));
    for (int i = 0; i < rows; i++) {
        size_t len = PQgetisnull(res, i, 3) ? 0 : (size_t)PQgetlength(res, i, 3);
        if (!pb_pg_text(res, i, 0, contact.id, sizeof(contact.id)) ||
            !pb_pg_text(res, i, 1, contact.status, sizeof(contact.status)) ||
            len > sizeof(contact.email_sealed)) {
            pb_error("postgres: a contacts row does not fit its struct");
            PQclear(res);
            return PB_QS_HARD_ERROR;
        }
        memcpy(contact.email_sealed, PQgetvalue(res, i, 3), len);
        contact.email_sealed_len = len;
        contact.suppressed_at = pb_pg_int64(res, i, 2);
        contact_cb(cls, &contact, PQgetvalue(res, i, 4)[0] == 't');
    }
    PQclear(res);

    pb_pg_params_init(&p, 64 + (size_t)n * (4 + PB_ID_LEN));
    pb_pg_param_text(&p, account_id);
    param_id_array(&p, contact_ids, n);
    qs = pb_pg_params_exec(c, PB_PG_RECIPIENT_LOAD_VALUES, "pb_recipient_load_values",
                           /* Each contact's own few (the primary key), never the
                              account's values of a field (as value_list_many). */
                           "SELECT v.contact_id, v.field_key, v.value_text, v.value_sealed"
                           " FROM (SELECT DISTINCT c FROM unnest($2::text[]) AS c) u"
                           " CROSS JOIN LATERAL (SELECT * FROM contact_values"
                           " WHERE contact_id = u.c OFFSET 0) v WHERE v.account_id = $1",
                           &p, 1, &res);
    if (qs < 0)
        return qs;
    /* One value at a time, in scratch memory filled field by field (it is 8 KB). */
    struct pb_contact_value *v = malloc(sizeof(*v));
    if (v == NULL) {
        PQclear(res);
        return PB_QS_HARD_ERROR;
    }
    pb_strlcpy(v->account_id, account_id, sizeof(v->account_id));
    int nvalues = PQntuples(res);
    for (int i = 0; i < nvalues; i++) {
        size_t len = PQgetisnull(res, i, 3) ? 0 : (size_t)PQgetlength(res, i, 3);
        if (!pb_pg_text(res, i, 0, v->contact_id, sizeof(v->contact_id)) ||
            !pb_pg_text(res, i, 1, v->field_key, sizeof(v->field_key)) ||
            !pb_pg_opt_text(res, i, 2, v->value_text, sizeof(v->value_text)) ||
            len > sizeof(v->value_sealed)) {
            pb_error("postgres: a contact_values row does not fit its struct");
            qs = PB_QS_HARD_ERROR;
            break;
        }
        memcpy(v->value_sealed, PQgetvalue(res, i, 3), len);
        v->value_sealed_len = len;
        value_cb(cls, v);
    }
    sodium_memzero(v, sizeof(*v)); /* it held personal data */
    free(v);
    PQclear(res);
    return qs < 0 ? qs : pb_pg_rows(rows);
}
