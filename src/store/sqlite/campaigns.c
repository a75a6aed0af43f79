/*
 * SQLite: campaigns with their lists, tracked links, recipients and clicks.
 *
 * Recipients are the sending queue: snapshotted from the campaign's lists in
 * contact id pages, claimed in batches under a lease, finished with their
 * outcome. A write transaction holds the whole database, so a claim's read
 * and its lease are never split by another claim.
 */
#include "store/sqlite/sqlite_internal.h"

#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "core/log.h"
#include "core/strutil.h"

/* Recipients one claim takes at most, whatever `limit` asks (they are held in memory). */
#define CLAIM_MAX 1000

/*
 * Above every id in keyset comparisons: ids are ULIDs (digits and upper-case
 * letters), which all sort before '~'.
 */
#define ID_CEILING "~"

/* NONE, ONE or N for a count of rows that may exceed an int. */
static enum pb_qs
rows64(int64_t n)
{
    return n == 0 ? PB_QS_NONE : n == 1 ? PB_QS_ONE : PB_QS_N;
}

/*
 * Ids one execution of a statement over a batch of recipients takes: their
 * IN lists have this many parameters. One statement for many rows, not one
 * per row: besides the calls, each run of a statement changing `state`
 * builds the ephemeral table of its CHECK (state IN (...)) anew.
 */
#define LOAD_IDS 100
#define Q5       "?,?,?,?,?"
#define Q25      Q5 "," Q5 "," Q5 "," Q5 "," Q5
#define Q100     Q25 "," Q25 "," Q25 "," Q25

/*
 * Binds ids[0, n) (n <= LOAD_IDS) to the last LOAD_IDS parameters of `st`,
 * NULL to those left over (an IN list never matches NULL).
 */
static void
bind_ids(sqlite3_stmt *st, const pb_id_text *ids, int n)
{
    int first = sqlite3_bind_parameter_count(st) - LOAD_IDS + 1;
    for (int i = 0; i < LOAD_IDS; i++) {
        if (i < n)
            sqlite3_bind_text(st, first + i, ids[i], -1, SQLITE_STATIC);
        else
            sqlite3_bind_null(st, first + i);
    }
}

/*
 * Steps a statement answering at most one row of one integer (a count, or
 * the counter an UPDATE ... RETURNING left): PB_QS_ONE with it in `*out`,
 * NONE when there is no row.
 */
static enum pb_qs
step_int64(struct pb_sqlite_conn *c, sqlite3_stmt *st, int64_t *out, const char *what)
{
    enum pb_qs qs;
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        *out = sqlite3_column_int64(st, 0);
        qs = PB_QS_ONE;
    } else {
        qs = rc == SQLITE_DONE ? PB_QS_NONE : pb_sqlite_fail(c, rc, what);
    }
    pb_sqlite_done(st);
    return qs;
}

/* ---- campaigns ---- */

/* The columns read_campaign() expects, in its order; the bodies follow where asked for. */
#define CAMPAIGN_COLUMNS                                                                           \
    "c.id, c.account_id, c.name, c.subject, c.from_addr, c.reply_to, c.state, c.scheduled_at,"     \
    " c.prepared, c.rate_per_minute, c.error, c.created_by, c.created_at, c.updated_at,"           \
    " c.started_at, c.finished_at, c.recipients, c.sent, c.deferred, c.failed, c.bounced,"         \
    " c.opens_unique, c.opens_total, c.clicks_unique, c.clicks_total, c.unsubscribes,"             \
    " c.reclaimed, (SELECT group_concat(cl.list_id, ',') FROM campaign_lists cl"                   \
    " WHERE cl.campaign_id = c.id)"
#define COL_LISTS 27
#define COL_HTML  28
#define COL_TEXT  29

/* Splits "ID,ID,..." into the campaign's list_ids; false when it does not fit. */
static bool
parse_list_ids(const char *s, struct pb_campaign *out)
{
    out->list_count = 0;
    if (s == NULL || *s == '\0')
        return true;
    for (;;) {
        const char *comma = strchr(s, ',');
        size_t len = comma != NULL ? (size_t)(comma - s) : strlen(s);
        if (len != PB_ID_LEN || out->list_count >= PB_CAMPAIGN_LISTS_MAX)
            return false;
        memcpy(out->list_ids[out->list_count], s, len);
        out->list_ids[out->list_count][len] = '\0';
        out->list_count++;
        if (comma == NULL)
            return true;
        s = comma + 1;
    }
}

/* A malloc'd copy of text column `col` into `*out`; false when too long or out of memory. */
static bool
copy_body(sqlite3_stmt *st, int col, char **out)
{
    const unsigned char *s = sqlite3_column_text(st, col);
    size_t n = (size_t)sqlite3_column_bytes(st, col);
    if (n > PB_BODY_MAX || (*out = malloc(n + 1)) == NULL)
        return false;
    if (n > 0)
        memcpy(*out, s, n);
    (*out)[n] = '\0';
    return true;
}

/* Fills a struct pb_campaign from a row of CAMPAIGN_COLUMNS, without the bodies. */
static bool
read_campaign(sqlite3_stmt *st, void *dst)
{
    struct pb_campaign *out = dst;
    memset(out, 0, sizeof(*out));
    bool ok = pb_sqlite_column_text(st, 0, out->id, sizeof(out->id));
    ok = pb_sqlite_column_text(st, 1, out->account_id, sizeof(out->account_id)) && ok;
    ok = pb_sqlite_column_text(st, 2, out->name, sizeof(out->name)) && ok;
    ok = pb_sqlite_column_text(st, 3, out->subject, sizeof(out->subject)) && ok;
    ok = pb_sqlite_column_text(st, 4, out->from_addr, sizeof(out->from_addr)) && ok;
    ok = pb_sqlite_column_opt_text(st, 5, out->reply_to, sizeof(out->reply_to)) && ok;
    ok = pb_sqlite_column_text(st, 6, out->state, sizeof(out->state)) && ok;
    out->scheduled_at = sqlite3_column_int64(st, 7);
    out->prepared = sqlite3_column_int(st, 8) != 0;
    out->rate_per_minute = sqlite3_column_int(st, 9);
    ok = pb_sqlite_column_opt_text(st, 10, out->error, sizeof(out->error)) && ok;
    ok = pb_sqlite_column_text(st, 11, out->created_by, sizeof(out->created_by)) && ok;
    out->created_at = sqlite3_column_int64(st, 12);
    out->updated_at = sqlite3_column_int64(st, 13);
    out->started_at = sqlite3_column_int64(st, 14);
    out->finished_at = sqlite3_column_int64(st, 15);
    struct pb_campaign_counters *k = &out->counters;
    k->recipients = sqlite3_column_int64(st, 16);
    k->sent = sqlite3_column_int64(st, 17);
    k->deferred = sqlite3_column_int64(st, 18);
    k->failed = sqlite3_column_int64(st, 19);
    k->bounced = sqlite3_column_int64(st, 20);
    k->opens_unique = sqlite3_column_int64(st, 21);
    k->opens_total = sqlite3_column_int64(st, 22);
    k->clicks_unique = sqlite3_column_int64(st, 23);
    k->clicks_total = sqlite3_column_int64(st, 24);
    k->unsubscribes = sqlite3_column_int64(st, 25);
    k->reclaimed = sqlite3_column_int64(st, 26);
    ok = parse_list_ids((const char *)sqlite3_column_text(st, COL_LISTS), out) && ok;
    if (!ok)
        pb_error("sqlite: a campaigns row does not fit its struct");
    return ok;
}

/* read_campaign, then the bodies that follow CAMPAIGN_COLUMNS (malloc'd). */
static bool
read_campaign_bodies(sqlite3_stmt *st, void *dst)
{
    struct pb_campaign *out = dst;
    if (!read_campaign(st, out))
        return false;
    if (copy_body(st, COL_HTML, &out->html) && copy_body(st, COL_TEXT, &out->text))
        return true;
    pb_campaign_bodies_free(out);
    pb_error("sqlite: a campaign's bodies are too long, or no memory for them");
    return false;
}

/* Steps a statement selecting campaigns (no bodies), calling `cb` for each. */
static enum pb_qs
run_campaigns(struct pb_sqlite_conn *c, sqlite3_stmt *st, pb_campaign_cb cb, void *cls,
              const char *what)
{
    enum pb_qs qs;
    for (int n = 0; pb_sqlite_next(c, st, n, &qs, what); n++) {
        struct pb_campaign campaign;
        if (!read_campaign(st, &campaign))
            return pb_sqlite_bad_row(st);
        cb(cls, &campaign);
    }
    return qs;
}

/*
 * Binds a campaign's key as the statements finding one campaign (or its
 * links, recipients) take it: ?1 its account, ?2 its id.
 */
static void
bind_campaign_key(sqlite3_stmt *st, const char *account_id, const char *id)
{
    sqlite3_bind_text(st, 1, account_id, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, id, -1, SQLITE_STATIC);
}

/* Binds a recipient's key: its campaign's (?1, ?2), and ?3 its contact. */
static void
bind_recipient_key(sqlite3_stmt *st, const char *account_id, const char *campaign_id,
                   const char *contact_id)
{
    bind_campaign_key(st, account_id, campaign_id);
    sqlite3_bind_text(st, 3, contact_id, -1, SQLITE_STATIC);
}

/* Binds what the campaign says, ?3 to ?8: name, subject, from, reply-to and the two bodies. */
static void
bind_message(sqlite3_stmt *st, const struct pb_campaign *cp)
{
    sqlite3_bind_text(st, 3, cp->name, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 4, cp->subject, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 5, cp->from_addr, -1, SQLITE_STATIC);
    pb_sqlite_bind_opt_text(st, 6, cp->reply_to);
    sqlite3_bind_text(st, 7, cp->html ? cp->html : "", -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 8, cp->text ? cp->text : "", -1, SQLITE_STATIC);
}

/* Binds the eleven counters, in the struct's order, from parameter `first` on. */
static void
bind_counters(sqlite3_stmt *st, int first, const struct pb_campaign_counters *k)
{
    const int64_t v[] = {k->recipients,   k->sent,         k->deferred,    k->failed,
                         k->bounced,      k->opens_unique, k->opens_total, k->clicks_unique,
                         k->clicks_total, k->unsubscribes, k->reclaimed};
    for (int i = 0; i < (int)(sizeof(v) / sizeof(v[0])); i++)
        sqlite3_bind_int64(st, first + i, v[i]);
}

/* Refuses what the columns or the struct cannot hold. */
static bool
campaign_fits(const struct pb_campaign *cp)
{
    if (cp->list_count < 0 || cp->list_count > PB_CAMPAIGN_LISTS_MAX ||
        (cp->html != NULL && strlen(cp->html) > PB_BODY_MAX) ||
        (cp->text != NULL && strlen(cp->text) > PB_BODY_MAX)) {
        pb_error("sqlite: a campaign with %d lists (%d at most) or a body over %d bytes",
                 cp->list_count, PB_CAMPAIGN_LISTS_MAX, PB_BODY_MAX);
        return false;
    }
    return true;
}

/* PB_QS_ONE when every list of the campaign is its account's, NONE when one is not. */
static enum pb_qs
lists_owned(struct pb_sqlite_conn *c, const struct pb_campaign *cp)
{
    sqlite3_stmt *st;
    enum pb_qs qs = pb_sqlite_prepare(c, PB_SQ_CAMPAIGN_LIST_CHECK,
                                      "SELECT 1 FROM lists WHERE id = ?2 AND account_id = ?1", &st);
    if (qs < 0)
        return qs;
    for (int i = 0; i < cp->list_count; i++) {
        sqlite3_bind_text(st, 1, cp->account_id, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 2, cp->list_ids[i], -1, SQLITE_STATIC);
        if ((qs = pb_sqlite_exists(c, st, "campaign list check")) != PB_QS_ONE)
            return qs;
    }
    return PB_QS_ONE;
}

/* PB_QS_ONE when the campaign is the account's, NONE when not. */
static enum pb_qs
campaign_owned(struct pb_sqlite_conn *c, const char *account_id, const char *id)
{
    sqlite3_stmt *st;
    enum pb_qs qs = pb_sqlite_prepare(
        c, PB_SQ_CAMPAIGN_OWNED, "SELECT 1 FROM campaigns WHERE id = ?2 AND account_id = ?1", &st);
    if (qs < 0)
        return qs;
    bind_campaign_key(st, account_id, id);
    return pb_sqlite_exists(c, st, "campaign owned");
}

/* Writes the campaign's lists (checked already); a list named twice is written once. */
static enum pb_qs
lists_write(struct pb_sqlite_conn *c, const struct pb_campaign *cp)
{
    sqlite3_stmt *st;
    enum pb_qs qs =
        pb_sqlite_prepare(c, PB_SQ_CAMPAIGN_LISTS_INSERT,
                          "INSERT INTO campaign_lists (campaign_id, list_id, account_id)"
                          " VALUES (?1, ?2, ?3) ON CONFLICT DO NOTHING",
                          &st);
    if (qs < 0)
        return qs;
    for (int i = 0; i < cp->list_count; i++) {
        sqlite3_bind_text(st, 1, cp->id, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 2, cp->list_ids[i], -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 3, cp->account_id, -1, SQLITE_STATIC);
        if ((qs = pb_sqlite_step_change(c, st, "campaign lists insert")) < 0)
            return qs;
    }
    return PB_QS_ONE;
}

enum pb_qs
pb_sqlite_campaign_insert(struct pb_conn *conn, const struct pb_campaign *campaign)
{
    struct pb_sqlite_conn *c = pb_sqlite_conn(conn);
    const struct pb_campaign *cp = campaign;
    sqlite3_stmt *st;
    if (!campaign_fits(cp))
        return PB_QS_HARD_ERROR;
    /* Every list checked before anything is written: NONE leaves no trace. */
    enum pb_qs qs = lists_owned(c, cp);
    if (qs != PB_QS_ONE)
        return qs;
    qs = pb_sqlite_prepare(
        c, PB_SQ_CAMPAIGN_INSERT,
        "INSERT INTO campaigns (id, account_id, name, subject, from_addr, reply_to, html,"
        " text_body, state, scheduled_at, prepared, rate_per_minute, error, created_by,"
        " created_at, updated_at, started_at, finished_at, recipients, sent, deferred, failed,"
        " bounced, opens_unique, opens_total, clicks_unique, clicks_total, unsubscribes,"
        " reclaimed) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15,"
        " ?16, ?17, ?18, ?19, ?20, ?21, ?22, ?23, ?24, ?25, ?26, ?27, ?28, ?29)",
        &st);
    if (qs < 0)
        return qs;
    sqlite3_bind_text(st, 1, cp->id, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, cp->account_id, -1, SQLITE_STATIC);
    bind_message(st, cp);
    sqlite3_bind_text(st, 9, cp->state[0] ? cp->state : "draft", -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 10, cp->scheduled_at);
    sqlite3_bind_int(st, 11, cp->prepared ? 1 : 0);
    sqlite3_bind_int(st, 12, cp->rate_per_minute);
    pb_sqlite_bind_opt_text(st, 13, cp->error);
    sqlite3_bind_text(st, 14, cp->created_by, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 15, cp->created_at);
    sqlite3_bind_int64(st, 16, cp->updated_at);
    sqlite3_bind_int64(st, 17, cp->started_at);
    sqlite3_bind_int64(st, 18, cp->finished_at);
    bind_counters(st, 19, &cp->counters);
    if ((qs = pb_sqlite_step_change(c, st, "campaign insert")) != PB_QS_ONE)
        return qs < 0 ? qs : PB_QS_HARD_ERROR;
    if ((qs = lists_write(c, cp)) < 0)
        return qs;
    return PB_QS_ONE;
}

enum pb_qs
pb_sqlite_campaign_update(struct pb_conn *conn, const struct pb_campaign *campaign)
{
    struct pb_sqlite_conn *c = pb_sqlite_conn(conn);
    const struct pb_campaign *cp = campaign;
    sqlite3_stmt *st;
    if (!campaign_fits(cp))
        return PB_QS_HARD_ERROR;
    enum pb_qs qs = campaign_owned(c, cp->account_id, cp->id);
    if (qs != PB_QS_ONE)
        return qs;
    if ((qs = lists_owned(c, cp)) != PB_QS_ONE)
        return qs;
    qs = pb_sqlite_prepare(
        c, PB_SQ_CAMPAIGN_UPDATE,
        "UPDATE campaigns SET name = ?3, subject = ?4, from_addr = ?5, reply_to = ?6, html = ?7,"
        " text_body = ?8, rate_per_minute = ?9, updated_at = ?10"
        " WHERE account_id = ?1 AND id = ?2",
        &st);
    if (qs < 0)
        return qs;
    bind_campaign_key(st, cp->account_id, cp->id);
    bind_message(st, cp);
    sqlite3_bind_int(st, 9, cp->rate_per_minute);
    sqlite3_bind_int64(st, 10, cp->updated_at);
    if ((qs = pb_sqlite_step_change(c, st, "campaign update")) != PB_QS_ONE)
        return qs < 0 ? qs : PB_QS_HARD_ERROR;

    qs = pb_sqlite_prepare(c, PB_SQ_CAMPAIGN_LISTS_DELETE,
                           "DELETE FROM campaign_lists WHERE campaign_id = ?1", &st);
    if (qs < 0)
        return qs;
    sqlite3_bind_text(st, 1, cp->id, -1, SQLITE_STATIC);
    if ((qs = pb_sqlite_step_change(c, st, "campaign lists delete")) < 0)
        return qs;
    if ((qs = lists_write(c, cp)) < 0)
        return qs;
    return PB_QS_ONE;
}

enum pb_qs
pb_sqlite_campaign_get(struct pb_conn *conn, const char *account_id, const char *id, bool bodies,
                       struct pb_campaign *out)
{
    struct pb_sqlite_conn *c = pb_sqlite_conn(conn);
    sqlite3_stmt *st;
    enum pb_qs qs;
    if (bodies)
        qs = pb_sqlite_prepare(c, PB_SQ_CAMPAIGN_GET_BODIES,
                               "SELECT " CAMPAIGN_COLUMNS ", c.html, c.text_body FROM campaigns c"
                               " WHERE c.account_id = ?1 AND c.id = ?2",
                               &st);
    else
        qs = pb_sqlite_prepare(c, PB_SQ_CAMPAIGN_GET,
                               "SELECT " CAMPAIGN_COLUMNS " FROM campaigns c"
                               " WHERE c.account_id = ?1 AND c.id = ?2",
                               &st);
    if (qs < 0)
        return qs;
    bind_campaign_key(st, account_id, id);
    return pb_sqlite_get_one(c, st, bodies ? read_campaign_bodies : read_campaign, out,
                             "campaign get");
}

enum pb_qs
pb_sqlite_campaign_list(struct pb_conn *conn, const char *account_id, const char *before_id,
                        int limit, pb_campaign_cb cb, void *cls)
{
    struct pb_sqlite_conn *c = pb_sqlite_conn(conn);
    sqlite3_stmt *st;
    /* A plain range (no "?2 = '' OR"), so the index is entered at before_id. */
    enum pb_qs qs = pb_sqlite_prepare(c, PB_SQ_CAMPAIGN_LIST,
                                      "SELECT " CAMPAIGN_COLUMNS " FROM campaigns c"
                                      " WHERE c.account_id = ?1 AND c.id < ?2"
                                      " ORDER BY c.id DESC LIMIT ?3",
                                      &st);
    if (qs < 0)
        return qs;
    sqlite3_bind_text(st, 1, account_id, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, before_id && *before_id ? before_id : ID_CEILING, -1, SQLITE_STATIC);
    sqlite3_bind_int(st, 3, limit < 0 ? 0 : limit);
    return run_campaigns(c, st, cb, cls, "campaign list");
}

enum pb_qs
pb_sqlite_campaign_delete(struct pb_conn *conn, const char *account_id, const char *id)
{
    struct pb_sqlite_conn *c = pb_sqlite_conn(conn);
    sqlite3_stmt *st;
    /* Lists, links, recipients and clicks go with it: ON DELETE CASCADE (foreign_keys is on). */
    enum pb_qs qs = pb_sqlite_prepare(
        c, PB_SQ_CAMPAIGN_DELETE, "DELETE FROM campaigns WHERE account_id = ?1 AND id = ?2", &st);
    if (qs < 0)
        return qs;
    bind_campaign_key(st, account_id, id);
    return pb_sqlite_step_change(c, st, "campaign delete");
}

enum pb_qs
pb_sqlite_campaign_transition(struct pb_conn *conn, const char *account_id, const char *id,
                              const char *from, const char *to, int64_t now, int64_t scheduled_at,
                              const char *error)
{
    struct pb_sqlite_conn *c = pb_sqlite_conn(conn);
    sqlite3_stmt *st;
    if (from == NULL || to == NULL) {
        pb_error("sqlite: a campaign transition without its states");
        return PB_QS_HARD_ERROR;
    }
    /* One conditional UPDATE: of two racing transitions only the first finds its state. */
    enum pb_qs qs = pb_sqlite_prepare(
        c, PB_SQ_CAMPAIGN_TRANSITION,
        "UPDATE campaigns SET state = ?4, updated_at = ?5,"
        " scheduled_at = CASE WHEN ?6 >= 0 THEN ?6 ELSE scheduled_at END,"
        " error = CASE WHEN ?7 THEN ?8 ELSE error END,"
        " started_at = CASE WHEN ?4 = 'sending' AND started_at = 0 THEN ?5 ELSE started_at END,"
        " finished_at = CASE WHEN ?4 IN ('sent', 'cancelled', 'failed') THEN ?5"
        " ELSE finished_at END,"
        " prepared = CASE WHEN ?4 = 'scheduled' THEN 0 ELSE prepared END"
        " WHERE account_id = ?1 AND id = ?2 AND instr(',' || ?3 || ',', ',' || state || ',') > 0",
        &st);
    if (qs < 0)
        return qs;
    bind_campaign_key(st, account_id, id);
    sqlite3_bind_text(st, 3, from, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 4, to, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 5, now);
    sqlite3_bind_int64(st, 6, scheduled_at);
    sqlite3_bind_int(st, 7, error != NULL ? 1 : 0);
    pb_sqlite_bind_opt_text(st, 8, error); /* "" clears: NULL */
    return pb_sqlite_step_change(c, st, "campaign transition");
}

enum pb_qs
pb_sqlite_campaign_set_prepared(struct pb_conn *conn, const char *account_id, const char *id)
{
    struct pb_sqlite_conn *c = pb_sqlite_conn(conn);
    sqlite3_stmt *st;
    enum pb_qs qs = pb_sqlite_prepare(
        c, PB_SQ_CAMPAIGN_SET_PREPARED,
        "UPDATE campaigns SET prepared = 1 WHERE account_id = ?1 AND id = ?2", &st);
    if (qs < 0)
        return qs;
    bind_campaign_key(st, account_id, id);
    return pb_sqlite_step_change(c, st, "campaign set prepared");
}

enum pb_qs
pb_sqlite_campaign_due(struct pb_conn *conn, int64_t now, int limit, pb_campaign_cb cb, void *cls)
{
    struct pb_sqlite_conn *c = pb_sqlite_conn(conn);
    sqlite3_stmt *st;
    enum pb_qs qs = pb_sqlite_prepare(c, PB_SQ_CAMPAIGN_DUE,
                                      "SELECT " CAMPAIGN_COLUMNS " FROM campaigns c"
                                      " WHERE c.state = 'scheduled' AND c.scheduled_at <= ?1"
                                      " ORDER BY c.scheduled_at, c.id LIMIT ?2",
                                      &st);
    if (qs < 0)
        return qs;
    sqlite3_bind_int64(st, 1, now);
    sqlite3_bind_int(st, 2, limit < 0 ? 0 : limit);
    return run_campaigns(c, st, cb, cls, "campaign due");
}

enum pb_qs
pb_sqlite_campaign_sending(struct pb_conn *conn, const char *after_id, int limit, pb_campaign_cb cb,
                           void *cls)
{
    struct pb_sqlite_conn *c = pb_sqlite_conn(conn);
    sqlite3_stmt *st;
    enum pb_qs qs = pb_sqlite_prepare(c, PB_SQ_CAMPAIGN_SENDING,
                                      "SELECT " CAMPAIGN_COLUMNS " FROM campaigns c"
                                      " WHERE c.state = 'sending' AND c.id > ?1"
                                      " ORDER BY c.id LIMIT ?2",
                                      &st);
    if (qs < 0)
        return qs;
    sqlite3_bind_text(st, 1, after_id ? after_id : "", -1, SQLITE_STATIC);
    sqlite3_bind_int(st, 2, limit < 0 ? 0 : limit);
    return run_campaigns(c, st, cb, cls, "campaign sending");
}

enum pb_qs
pb_sqlite_campaign_counters_add(struct pb_conn *conn, const char *account_id, const char *id,
                                const struct pb_campaign_counters *delta)
{
    struct pb_sqlite_conn *c = pb_sqlite_conn(conn);
    sqlite3_stmt *st;
    enum pb_qs qs =
        pb_sqlite_prepare(c, PB_SQ_CAMPAIGN_COUNTERS_ADD,
                          "UPDATE campaigns SET recipients = recipients + ?3, sent = sent + ?4,"
                          " deferred = deferred + ?5, failed = failed + ?6, bounced = bounced + ?7,"
                          " opens_unique = opens_unique + ?8, opens_total = opens_total + ?9,"
                          " clicks_unique = clicks_unique + ?10, clicks_total = clicks_total + ?11,"
                          " unsubscribes = unsubscribes + ?12, reclaimed = reclaimed + ?13"
                          " WHERE account_id = ?1 AND id = ?2",
                          &st);
    if (qs < 0)
        return qs;
    bind_campaign_key(st, account_id, id);
    bind_counters(st, 3, delta);
    return pb_sqlite_step_change(c, st, "campaign counters add");
}

/* ---- links ---- */

enum pb_qs
pb_sqlite_link_replace(struct pb_conn *conn, const char *account_id, const char *campaign_id,
                       const char *const *urls, int n)
{
    struct pb_sqlite_conn *c = pb_sqlite_conn(conn);
    sqlite3_stmt *st;
    if (n < 0) {
        pb_error("sqlite: link replace: %d links", n);
        return PB_QS_HARD_ERROR;
    }
    for (int i = 0; i < n; i++)
        if (urls[i] == NULL || strlen(urls[i]) > PB_URL_MAX) {
            pb_error("sqlite: link replace: link %d is missing or over %d bytes", i, PB_URL_MAX);
            return PB_QS_HARD_ERROR;
        }
    enum pb_qs qs = campaign_owned(c, account_id, campaign_id);
    if (qs != PB_QS_ONE)
        return qs;
    qs = pb_sqlite_prepare(c, PB_SQ_LINK_DELETE,
                           "DELETE FROM campaign_links WHERE campaign_id = ?1", &st);
    if (qs < 0)
        return qs;
    sqlite3_bind_text(st, 1, campaign_id, -1, SQLITE_STATIC);
    if ((qs = pb_sqlite_step_change(c, st, "link delete")) < 0)
        return qs;
    qs = pb_sqlite_prepare(c, PB_SQ_LINK_INSERT,
                           "INSERT INTO campaign_links (account_id, campaign_id, n, url)"
                           " VALUES (?1, ?2, ?3, ?4)",
                           &st);
    if (qs < 0)
        return qs;
    for (int i = 0; i < n; i++) {
        bind_campaign_key(st, account_id, campaign_id);
        sqlite3_bind_int(st, 3, i);
        sqlite3_bind_text(st, 4, urls[i], -1, SQLITE_STATIC);
        if ((qs = pb_sqlite_step_change(c, st, "link insert")) < 0)
            return qs;
    }
    return pb_sqlite_rows(n);
}

/* The columns read_link() expects, in its order. */
#define LINK_COLUMNS "n, url, clicks_unique, clicks_total"

/* Fills a struct pb_campaign_link from a row of LINK_COLUMNS. */
static bool
read_link(sqlite3_stmt *st, void *dst)
{
    struct pb_campaign_link *out = dst;
    out->n = sqlite3_column_int(st, 0);
    bool ok = pb_sqlite_column_text(st, 1, out->url, sizeof(out->url));
    out->clicks_unique = sqlite3_column_int64(st, 2);
    out->clicks_total = sqlite3_column_int64(st, 3);
    if (!ok)
        pb_error("sqlite: a campaign_links row does not fit its struct");
    return ok;
}

enum pb_qs
pb_sqlite_link_list(struct pb_conn *conn, const char *account_id, const char *campaign_id,
                    pb_campaign_link_cb cb, void *cls)
{
    struct pb_sqlite_conn *c = pb_sqlite_conn(conn);
    sqlite3_stmt *st;
    enum pb_qs qs = pb_sqlite_prepare(c, PB_SQ_LINK_LIST,
                                      "SELECT " LINK_COLUMNS " FROM campaign_links"
                                      " WHERE campaign_id = ?2 AND account_id = ?1 ORDER BY n",
                                      &st);
    if (qs < 0)
        return qs;
    bind_campaign_key(st, account_id, campaign_id);
    for (int n = 0; pb_sqlite_next(c, st, n, &qs, "link list"); n++) {
        struct pb_campaign_link link;
        if (!read_link(st, &link))
            return pb_sqlite_bad_row(st);
        cb(cls, &link);
    }
    return qs;
}

enum pb_qs
pb_sqlite_link_get(struct pb_conn *conn, const char *account_id, const char *campaign_id, int n,
                   struct pb_campaign_link *out)
{
    struct pb_sqlite_conn *c = pb_sqlite_conn(conn);
    sqlite3_stmt *st;
    enum pb_qs qs = pb_sqlite_prepare(c, PB_SQ_LINK_GET,
                                      "SELECT " LINK_COLUMNS " FROM campaign_links"
                                      " WHERE campaign_id = ?2 AND n = ?3 AND account_id = ?1",
                                      &st);
    if (qs < 0)
        return qs;
    bind_campaign_key(st, account_id, campaign_id);
    sqlite3_bind_int(st, 3, n);
    return pb_sqlite_get_one(c, st, read_link, out, "link get");
}

enum pb_qs
pb_sqlite_link_counters_add(struct pb_conn *conn, const char *account_id, const char *campaign_id,
                            int n, int64_t unique, int64_t total)
{
    struct pb_sqlite_conn *c = pb_sqlite_conn(conn);
    sqlite3_stmt *st;
    enum pb_qs qs = pb_sqlite_prepare(
        c, PB_SQ_LINK_COUNTERS_ADD,
        "UPDATE campaign_links SET clicks_unique = clicks_unique + ?4,"
        " clicks_total = clicks_total + ?5 WHERE campaign_id = ?2 AND n = ?3 AND account_id = ?1",
        &st);
    if (qs < 0)
        return qs;
    bind_campaign_key(st, account_id, campaign_id);
    sqlite3_bind_int(st, 3, n);
    sqlite3_bind_int64(st, 4, unique);
    sqlite3_bind_int64(st, 5, total);
    return pb_sqlite_step_change(c, st, "link counters add");
}

/* ---- recipients ---- */

/*
 * Steps a statement answering one row of one id (or NULL) into `out` (""
 * for NULL); a value that is not an id is a hard error.
 */
static enum pb_qs
step_id(struct pb_sqlite_conn *c, sqlite3_stmt *st, char out[PB_ID_LEN + 1], const char *what)
{
    enum pb_qs qs;
    out[0] = '\0';
    int rc = sqlite3_step(st);
    if (rc != SQLITE_ROW) {
        qs = rc == SQLITE_DONE ? PB_QS_NONE : pb_sqlite_fail(c, rc, what);
    } else if (sqlite3_column_type(st, 0) == SQLITE_NULL) {
        qs = PB_QS_NONE;
    } else if (!pb_sqlite_column_text(st, 0, out, PB_ID_LEN + 1)) {
        pb_error("sqlite: %s: a contact id longer than %d characters", what, PB_ID_LEN);
        out[0] = '\0';
        qs = PB_QS_HARD_ERROR;
    } else {
        qs = PB_QS_ONE;
    }
    pb_sqlite_done(st);
    return qs;
}

/* The columns read_recipient() expects, in its order. */
#define RECIPIENT_COLUMNS                                                                          \
    "r.account_id, r.campaign_id, r.contact_id, r.state, r.attempts, r.next_attempt_at,"           \
    " r.lease_owner, r.lease_until, r.error, r.sent_at, r.opens, r.first_open_at, r.clicks,"       \
    " r.unsubscribed_at"

/* Fills a struct pb_recipient from a row of RECIPIENT_COLUMNS (`reclaimed` false). */
static bool
read_recipient(sqlite3_stmt *st, void *dst)
{
    struct pb_recipient *out = dst;
    memset(out, 0, sizeof(*out));
    bool ok = pb_sqlite_column_text(st, 0, out->account_id, sizeof(out->account_id));
    ok = pb_sqlite_column_text(st, 1, out->campaign_id, sizeof(out->campaign_id)) && ok;
    ok = pb_sqlite_column_text(st, 2, out->contact_id, sizeof(out->contact_id)) && ok;
    ok = pb_sqlite_column_text(st, 3, out->state, sizeof(out->state)) && ok;
    out->attempts = sqlite3_column_int(st, 4);
    out->next_attempt_at = sqlite3_column_int64(st, 5);
    ok = pb_sqlite_column_opt_text(st, 6, out->lease_owner, sizeof(out->lease_owner)) && ok;
    out->lease_until = sqlite3_column_int64(st, 7);
    ok = pb_sqlite_column_opt_text(st, 8, out->error, sizeof(out->error)) && ok;
    out->sent_at = sqlite3_column_int64(st, 9);
    out->opens = sqlite3_column_int(st, 10);
    out->first_open_at = sqlite3_column_int64(st, 11);
    out->clicks = sqlite3_column_int(st, 12);
    out->unsubscribed_at = sqlite3_column_int64(st, 13);
    if (!ok)
        pb_error("sqlite: a campaign_recipients row does not fit its struct");
    return ok;
}

enum pb_qs
pb_sqlite_recipient_snapshot(struct pb_conn *conn, const char *account_id, const char *campaign_id,
                             const char *after_contact_id, int limit, char last[PB_ID_LEN + 1],
                             int64_t *added)
{
    struct pb_sqlite_conn *c = pb_sqlite_conn(conn);
    sqlite3_stmt *st;
    const char *after = after_contact_id ? after_contact_id : "";
    last[0] = '\0';
    *added = 0;
    if (limit <= 0)
        return PB_QS_NONE;

    /*
     * Where the page ends. Each list's members come in contact id order from
     * its primary key (list_id, contact_id), so the `limit`-th member of
     * each list after `after` is one short index walk; the page cannot end
     * after the smallest of them (that list alone fills it). Bounding the
     * distinct merge below by it keeps every page's cost at `limit` rows per
     * list, however long the lists are. No bound (NULL): no list has that
     * many members left.
     */
    char bound[PB_ID_LEN + 1];
    enum pb_qs qs = pb_sqlite_prepare(
        c, PB_SQ_SNAPSHOT_BOUND,
        "SELECT min((SELECT m.contact_id FROM memberships m WHERE m.list_id = cl.list_id"
        " AND m.status = 'subscribed' AND m.contact_id > ?3 AND m.account_id = ?1"
        " ORDER BY m.contact_id LIMIT 1 OFFSET ?4))"
        " FROM campaign_lists cl WHERE cl.campaign_id = ?2 AND cl.account_id = ?1",
        &st);
    if (qs < 0)
        return qs;
    bind_campaign_key(st, account_id, campaign_id);
    sqlite3_bind_text(st, 3, after, -1, SQLITE_STATIC);
    sqlite3_bind_int(st, 4, limit - 1);
    if ((qs = step_id(c, st, bound, "snapshot bound")) < 0)
        return qs;
    if (bound[0] == '\0')
        pb_strlcpy(bound, ID_CEILING, sizeof(bound));

    /* The last of the first `limit` distinct subscribed contacts. */
    qs = pb_sqlite_prepare(
        c, PB_SQ_SNAPSHOT_LAST,
        "SELECT max(contact_id) FROM (SELECT DISTINCT m.contact_id"
        " FROM campaign_lists cl CROSS JOIN memberships m"
        " WHERE m.list_id = cl.list_id AND cl.campaign_id = ?2 AND cl.account_id = ?1"
        " AND m.account_id = ?1 AND m.status = 'subscribed'"
        " AND m.contact_id > ?3 AND m.contact_id <= ?4"
        " ORDER BY m.contact_id LIMIT ?5)",
        &st);
    if (qs < 0)
        return qs;
    bind_campaign_key(st, account_id, campaign_id);
    sqlite3_bind_text(st, 3, after, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 4, bound, -1, SQLITE_STATIC);
    sqlite3_bind_int(st, 5, limit);
    if ((qs = step_id(c, st, last, "snapshot last")) < 0 || last[0] == '\0')
        return qs < 0 ? qs : PB_QS_NONE; /* none left to scan: the snapshot is complete */

    /*
     * The page's recipients in one statement; a contact in two lists is one
     * row. CROSS JOIN fixes the order of the loops (SQLite's way): the
     * lists' members in the page's range, then each one's contact, never a
     * walk through all the account's contacts in that range.
     */
    qs = pb_sqlite_prepare(
        c, PB_SQ_SNAPSHOT_INSERT,
        "INSERT INTO campaign_recipients (account_id, campaign_id, contact_id, state)"
        " SELECT DISTINCT ?1, ?2, m.contact_id, 'queued'"
        " FROM campaign_lists cl CROSS JOIN memberships m CROSS JOIN contacts ct"
        " WHERE m.list_id = cl.list_id AND ct.id = m.contact_id"
        " AND cl.campaign_id = ?2 AND cl.account_id = ?1 AND m.account_id = ?1"
        " AND m.status = 'subscribed' AND m.contact_id > ?3 AND m.contact_id <= ?4"
        " AND ct.account_id = ?1 AND ct.status = 'active' AND ct.suppressed_at = 0"
        " ORDER BY m.contact_id ON CONFLICT (campaign_id, contact_id) DO NOTHING",
        &st);
    if (qs >= 0) {
        bind_campaign_key(st, account_id, campaign_id);
        sqlite3_bind_text(st, 3, after, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 4, last, -1, SQLITE_STATIC);
        int rc = sqlite3_step(st);
        if (rc == SQLITE_DONE) {
            *added = sqlite3_changes64(c->db);
            qs = rows64(*added);
        } else {
            qs = pb_sqlite_fail(c, rc, "snapshot insert");
        }
        pb_sqlite_done(st);
    }
    if (qs < 0)
        last[0] = '\0';
    return qs;
}

/*
 * What recipient_claim may take. Each claimable state walks its own index
 * range (campaign_id, state, contact_id) in contact id order, so the rows
 * already sent are never read; the first `limit` of the union are the first
 * `limit` claimable.
 */
#define CLAIMABLE(cond)                                                                            \
    "SELECT * FROM (SELECT " RECIPIENT_COLUMNS " FROM campaign_recipients r"                       \
    " WHERE r.campaign_id = ?2 AND " cond " AND r.account_id = ?1"                                 \
    " ORDER BY r.contact_id LIMIT ?4)"
#define CLAIM_QUEUED   CLAIMABLE("r.state = 'queued'")
#define CLAIM_DEFERRED CLAIMABLE("r.state = 'deferred' AND r.next_attempt_at <= ?3")
#define CLAIM_EXPIRED  CLAIMABLE("r.state = 'sending' AND r.lease_until <= ?3")
#define CLAIM_SQL                                                                                  \
    "SELECT * FROM (" CLAIM_QUEUED " UNION ALL " CLAIM_DEFERRED " UNION ALL " CLAIM_EXPIRED ")"    \
    " ORDER BY contact_id LIMIT ?4"

enum pb_qs
pb_sqlite_recipient_claim(struct pb_conn *conn, const char *account_id, const char *campaign_id,
                          int64_t now, const char *owner, int64_t lease_until, int limit,
                          pb_recipient_cb cb, void *cls)
{
    struct pb_sqlite_conn *c = pb_sqlite_conn(conn);
    struct pb_recipient *rows = NULL;
    sqlite3_stmt *st;
    enum pb_qs qs;
    int n = 0;
    if (limit <= 0)
        return PB_QS_NONE;
    if (limit > CLAIM_MAX)
        limit = CLAIM_MAX;

    qs = pb_sqlite_prepare(c, PB_SQ_RECIPIENT_CLAIMABLE, CLAIM_SQL, &st);
    if (qs < 0)
        return qs;
    if ((rows = malloc((size_t)limit * sizeof(*rows))) == NULL) {
        pb_error("sqlite: recipient claim: out of memory for %d rows", limit);
        return PB_QS_HARD_ERROR;
    }
    bind_campaign_key(st, account_id, campaign_id);
    sqlite3_bind_int64(st, 3, now);
    sqlite3_bind_int(st, 4, limit);
    /* Read whole before any is leased: updating them would move them in the index walked. */
    int rc = SQLITE_DONE;
    while (n < limit && (rc = sqlite3_step(st)) == SQLITE_ROW) {
        if (!read_recipient(st, &rows[n])) {
            pb_sqlite_done(st);
            qs = PB_QS_HARD_ERROR;
            goto out;
        }
        n++;
    }
    qs = n == limit || rc == SQLITE_DONE ? PB_QS_ONE : pb_sqlite_fail(c, rc, "recipient claim");
    pb_sqlite_done(st);
    if (qs < 0)
        goto out;

    qs = pb_sqlite_prepare(c, PB_SQ_RECIPIENT_LEASE,
                           "UPDATE campaign_recipients SET state = 'sending', lease_owner = ?3,"
                           " lease_until = ?4 WHERE campaign_id = ?1 AND account_id = ?2"
                           " AND contact_id IN (" Q100 ")",
                           &st);
    if (qs < 0)
        goto out;
    pb_id_text *ids = malloc((size_t)n * sizeof(*ids) + 1);
    if (ids == NULL) {
        qs = PB_QS_HARD_ERROR;
        goto out;
    }
    for (int i = 0; i < n; i++)
        pb_strlcpy(ids[i], rows[i].contact_id, sizeof(ids[i]));
    int leased = 0;
    for (int at = 0; at < n && qs >= 0; at += LOAD_IDS) {
        int k = n - at < LOAD_IDS ? n - at : LOAD_IDS;
        sqlite3_bind_text(st, 1, campaign_id, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 2, account_id, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 3, owner, -1, SQLITE_STATIC);
        sqlite3_bind_int64(st, 4, lease_until);
        bind_ids(st, ids + at, k);
        qs = pb_sqlite_step_change(c, st, "recipient lease");
        leased += qs >= 0 ? sqlite3_changes(c->db) : 0;
    }
    free(ids);
    if (qs >= 0 && leased != n) {
        /* Read and leased in one write transaction: nothing can have come between. */
        pb_error("sqlite: recipient claim: %d rows read, %d leased", n, leased);
        qs = PB_QS_HARD_ERROR;
    }
    if (qs < 0)
        goto out;
    for (int i = 0; i < n; i++) {
        struct pb_recipient *r = &rows[i];
        r->reclaimed = strcmp(r->state, "sending") == 0;
        pb_strlcpy(r->state, "sending", sizeof(r->state));
        pb_strlcpy(r->lease_owner, owner, sizeof(r->lease_owner));
        r->lease_until = lease_until;
    }
    for (int i = 0; i < n; i++)
        cb(cls, &rows[i]);
    qs = pb_sqlite_rows(n);
out:
    free(rows);
    return qs;
}

/* Whether `state` is an outcome a claimed recipient may end in. */
static bool
outcome_state(const char *state)
{
    return state != NULL && (strcmp(state, "sent") == 0 || strcmp(state, "deferred") == 0 ||
                             strcmp(state, "failed") == 0);
}

enum pb_qs
pb_sqlite_recipient_finish_many(struct pb_conn *conn, const char *account_id,
                                const char *campaign_id, const char *owner,
                                const struct pb_recipient_outcome *outcomes, int n, bool *applied)
{
    struct pb_sqlite_conn *c = pb_sqlite_conn(conn);
    sqlite3_stmt *st;
    if (n < 0) {
        pb_error("sqlite: recipient finish many: %d outcomes", n);
        return PB_QS_HARD_ERROR;
    }
    for (int i = 0; i < n; i++) {
        applied[i] = false;
        if (outcomes[i].contact_id == NULL || !outcome_state(outcomes[i].state)) {
            pb_error("sqlite: recipient finish many: outcome %d has no contact or a state that"
                     " is not sent, deferred or failed",
                     i);
            return PB_QS_HARD_ERROR;
        }
    }
    if (n == 0)
        return PB_QS_NONE;
    /*
     * Only under the caller's lease: a recipient taken over by another
     * sender is not touched. Outcomes alike (a batch is mostly "sent" at one
     * time) go in one statement; RETURNING says which rows it applied to.
     */
    enum pb_qs qs = pb_sqlite_prepare(
        c, PB_SQ_RECIPIENT_FINISH,
        "UPDATE campaign_recipients SET state = ?5, attempts = ?6, next_attempt_at = ?7,"
        " error = ?8, sent_at = CASE WHEN ?5 = 'sent' THEN ?9 ELSE sent_at END,"
        " lease_owner = NULL, lease_until = 0"
        " WHERE campaign_id = ?2 AND account_id = ?1 AND state = 'sending' AND lease_owner = ?4"
        " AND contact_id IN (" Q100 ") RETURNING contact_id",
        &st);
    if (qs < 0)
        return qs;
    bool *done = calloc((size_t)n, sizeof(*done));
    int *group = malloc((size_t)n * sizeof(*group));
    pb_id_text *ids = malloc((size_t)n * sizeof(*ids));
    int count = 0;
    if (done == NULL || group == NULL || ids == NULL) {
        pb_error("sqlite: recipient finish many: out of memory for %d outcomes", n);
        qs = PB_QS_HARD_ERROR;
    }
    for (int first = 0; first < n && qs >= 0; first++) {
        if (done[first])
            continue;
        /* The outcomes like this one: the same columns to set. */
        const struct pb_recipient_outcome *o = &outcomes[first];
        int k = 0;
        for (int i = first; i < n; i++) {
            const struct pb_recipient_outcome *x = &outcomes[i];
            if (done[i] || strcmp(x->state, o->state) != 0 || x->attempts != o->attempts ||
                x->next_attempt_at != o->next_attempt_at || x->sent_at != o->sent_at ||
                strcmp(x->error != NULL ? x->error : "", o->error != NULL ? o->error : "") != 0)
                continue;
            done[i] = true;
            group[k] = i;
            pb_strlcpy(ids[k], x->contact_id, sizeof(ids[k]));
            k++;
        }
        for (int at = 0; at < k && qs >= 0; at += LOAD_IDS) {
            int m = k - at < LOAD_IDS ? k - at : LOAD_IDS;
            sqlite3_bind_text(st, 1, account_id, -1, SQLITE_STATIC);
            sqlite3_bind_text(st, 2, campaign_id, -1, SQLITE_STATIC);
            sqlite3_bind_text(st, 4, owner, -1, SQLITE_STATIC);
            sqlite3_bind_text(st, 5, o->state, -1, SQLITE_STATIC);
            sqlite3_bind_int(st, 6, o->attempts);
            sqlite3_bind_int64(st, 7, o->next_attempt_at);
            pb_sqlite_bind_opt_text(st, 8, o->error);
            sqlite3_bind_int64(st, 9, o->sent_at);
            bind_ids(st, ids + at, m);
            for (int rows = 0; pb_sqlite_next(c, st, rows, &qs, "recipient finish"); rows++) {
                const char *id = (const char *)sqlite3_column_text(st, 0);
                for (int j = at; id != NULL && j < at + m; j++) {
                    if (!applied[group[j]] && strcmp(ids[j], id) == 0) {
                        applied[group[j]] = true;
                        count++;
                        break;
                    }
                }
            }
        }
    }
    free(done);
    free(group);
    free(ids);
    return qs < 0 ? qs : pb_sqlite_rows(count);
}

enum pb_qs
pb_sqlite_recipient_pending(struct pb_conn *conn, const char *account_id, const char *campaign_id,
                            int64_t *count)
{
    struct pb_sqlite_conn *c = pb_sqlite_conn(conn);
    sqlite3_stmt *st;
    *count = 0;
    enum pb_qs qs =
        pb_sqlite_prepare(c, PB_SQ_RECIPIENT_PENDING,
                          "SELECT count(*) FROM campaign_recipients WHERE campaign_id = ?2"
                          " AND state IN ('queued', 'sending', 'deferred') AND account_id = ?1",
                          &st);
    if (qs < 0)
        return qs;
    bind_campaign_key(st, account_id, campaign_id);
    return step_int64(c, st, count, "recipient pending");
}

enum pb_qs
pb_sqlite_recipient_sent_since(struct pb_conn *conn, const char *account_id,
                               const char *campaign_id, int64_t since, int64_t *count)
{
    struct pb_sqlite_conn *c = pb_sqlite_conn(conn);
    sqlite3_stmt *st;
    *count = 0;
    /*
     * state = 'sent': the others have sent_at 0, which a `since` of 0 would
     * count. Two counts, so that each walks an index of its own.
     */
    enum pb_qs qs = pb_sqlite_prepare(
        c, PB_SQ_RECIPIENT_SENT_SINCE,
        "SELECT (SELECT count(*) FROM campaign_recipients WHERE"
        "  campaign_id = ?2 AND sent_at >= ?3 AND state = 'sent' AND account_id = ?1)"
        " + (SELECT count(*) FROM campaign_recipients WHERE"
        "  campaign_id = ?2 AND state = 'sending' AND lease_until > ?3 AND account_id = ?1)",
        &st);
    if (qs < 0)
        return qs;
    bind_campaign_key(st, account_id, campaign_id);
    sqlite3_bind_int64(st, 3, since);
    return step_int64(c, st, count, "recipient sent since");
}

enum pb_qs
pb_sqlite_recipient_get(struct pb_conn *conn, const char *account_id, const char *campaign_id,
                        const char *contact_id, struct pb_recipient *out)
{
    struct pb_sqlite_conn *c = pb_sqlite_conn(conn);
    sqlite3_stmt *st;
    enum pb_qs qs = pb_sqlite_prepare(c, PB_SQ_RECIPIENT_GET,
                                      "SELECT " RECIPIENT_COLUMNS " FROM campaign_recipients r"
                                      " WHERE r.campaign_id = ?2 AND r.contact_id = ?3"
                                      " AND r.account_id = ?1",
                                      &st);
    if (qs < 0)
        return qs;
    bind_recipient_key(st, account_id, campaign_id, contact_id);
    return pb_sqlite_get_one(c, st, read_recipient, out, "recipient get");
}

enum pb_qs
pb_sqlite_recipient_open(struct pb_conn *conn, const char *account_id, const char *campaign_id,
                         const char *contact_id, int64_t now, bool *first)
{
    struct pb_sqlite_conn *c = pb_sqlite_conn(conn);
    sqlite3_stmt *st;
    *first = false;
    /* Only this operation counts opens, so one open after the update means the first. */
    enum pb_qs qs = pb_sqlite_prepare(
        c, PB_SQ_RECIPIENT_OPEN,
        "UPDATE campaign_recipients SET opens = opens + 1,"
        " first_open_at = CASE WHEN first_open_at = 0 THEN ?4 ELSE first_open_at END"
        " WHERE campaign_id = ?2 AND contact_id = ?3 AND account_id = ?1 RETURNING opens",
        &st);
    if (qs < 0)
        return qs;
    bind_recipient_key(st, account_id, campaign_id, contact_id);
    sqlite3_bind_int64(st, 4, now);
    int64_t opens = 0;
    if ((qs = step_int64(c, st, &opens, "recipient open")) == PB_QS_ONE)
        *first = opens == 1;
    return qs;
}

enum pb_qs
pb_sqlite_recipient_click(struct pb_conn *conn, const char *account_id, const char *campaign_id,
                          const char *contact_id, int n, int64_t now, bool *first_link,
                          bool *first_any)
{
    struct pb_sqlite_conn *c = pb_sqlite_conn(conn);
    sqlite3_stmt *st;
    *first_link = *first_any = false;
    /* The recipient first: without its row nothing is written. */
    enum pb_qs qs = pb_sqlite_prepare(
        c, PB_SQ_RECIPIENT_CLICK,
        "UPDATE campaign_recipients SET clicks = clicks + 1"
        " WHERE campaign_id = ?2 AND contact_id = ?3 AND account_id = ?1 RETURNING clicks",
        &st);
    if (qs < 0)
        return qs;
    bind_recipient_key(st, account_id, campaign_id, contact_id);
    int64_t clicks = 0;
    if ((qs = step_int64(c, st, &clicks, "recipient click")) != PB_QS_ONE)
        return qs;

    qs = pb_sqlite_prepare(c, PB_SQ_RECIPIENT_CLICK_LINK,
                           "INSERT INTO campaign_clicks (account_id, campaign_id, contact_id, n,"
                           " clicks, first_at) VALUES (?1, ?2, ?3, ?4, 1, ?5)"
                           " ON CONFLICT (campaign_id, contact_id, n) DO UPDATE"
                           " SET clicks = campaign_clicks.clicks + 1 RETURNING clicks",
                           &st);
    if (qs < 0)
        return qs;
    bind_recipient_key(st, account_id, campaign_id, contact_id);
    sqlite3_bind_int(st, 4, n);
    sqlite3_bind_int64(st, 5, now);
    int64_t link_clicks = 0;
    if ((qs = step_int64(c, st, &link_clicks, "recipient click link")) != PB_QS_ONE)
        return qs < 0 ? qs : PB_QS_HARD_ERROR;
    *first_any = clicks == 1;
    *first_link = link_clicks == 1;
    return PB_QS_ONE;
}

enum pb_qs
pb_sqlite_recipient_unsubscribed(struct pb_conn *conn, const char *account_id,
                                 const char *campaign_id, const char *contact_id, int64_t now,
                                 bool *first)
{
    struct pb_sqlite_conn *c = pb_sqlite_conn(conn);
    sqlite3_stmt *st;
    *first = false;
    enum pb_qs qs = pb_sqlite_prepare(
        c, PB_SQ_RECIPIENT_UNSUBSCRIBED,
        "UPDATE campaign_recipients SET unsubscribed_at = ?4 WHERE campaign_id = ?2"
        " AND contact_id = ?3 AND account_id = ?1 AND unsubscribed_at = 0",
        &st);
    if (qs < 0)
        return qs;
    bind_recipient_key(st, account_id, campaign_id, contact_id);
    sqlite3_bind_int64(st, 4, now);
    if ((qs = pb_sqlite_step_change(c, st, "recipient unsubscribed")) != PB_QS_NONE) {
        *first = qs == PB_QS_ONE;
        return qs;
    }
    /* Nothing changed: unsubscribed before, or not a recipient at all. */
    qs = pb_sqlite_prepare(c, PB_SQ_RECIPIENT_EXISTS,
                           "SELECT 1 FROM campaign_recipients WHERE campaign_id = ?2"
                           " AND contact_id = ?3 AND account_id = ?1",
                           &st);
    if (qs < 0)
        return qs;
    bind_recipient_key(st, account_id, campaign_id, contact_id);
    return pb_sqlite_exists(c, st, "recipient exists");
}

enum pb_qs
pb_sqlite_recipient_list_for_contact(struct pb_conn *conn, const char *account_id,
                                     const char *contact_id, pb_received_cb cb, void *cls)
{
    struct pb_sqlite_conn *c = pb_sqlite_conn(conn);
    sqlite3_stmt *st;
    enum pb_qs qs =
        pb_sqlite_prepare(c, PB_SQ_RECIPIENT_LIST_FOR_CONTACT,
                          "SELECT " RECIPIENT_COLUMNS ", c.name FROM campaign_recipients r"
                          " JOIN campaigns c ON c.id = r.campaign_id"
                          " WHERE r.contact_id = ?2 AND r.account_id = ?1 AND c.account_id = ?1"
                          " ORDER BY r.campaign_id DESC",
                          &st);
    if (qs < 0)
        return qs;
    sqlite3_bind_text(st, 1, account_id, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, contact_id, -1, SQLITE_STATIC);
    for (int n = 0; pb_sqlite_next(c, st, n, &qs, "recipient list for contact"); n++) {
        struct pb_recipient r;
        char name[PB_LABEL_MAX + 1];
        if (!read_recipient(st, &r) || !pb_sqlite_column_text(st, 14, name, sizeof(name))) {
            pb_error("sqlite: a received campaign does not fit its struct");
            return pb_sqlite_bad_row(st);
        }
        cb(cls, &r, name);
    }
    return qs;
}

/* ---- what the messages of a claimed batch need ---- */

/* The contacts of ids[0, n) with whether each is subscribed to one of the campaign's lists. */
static enum pb_qs
load_contacts(struct pb_sqlite_conn *c, const char *account_id, const char *campaign_id,
              const pb_id_text *ids, int n, pb_recipient_contact_cb cb, void *cls)
{
    sqlite3_stmt *st;
    /* ?1 and ?2 come first in the text: the anonymous parameters are ?3 onwards. */
    enum pb_qs qs = pb_sqlite_prepare(
        c, PB_SQ_RECIPIENT_LOAD_CONTACTS,
        "SELECT ct.id, ct.status, ct.suppressed_at, ct.email_sealed,"
        " EXISTS (SELECT 1 FROM campaign_lists cl CROSS JOIN memberships m"
        "  WHERE cl.campaign_id = ?2 AND cl.account_id = ?1 AND m.list_id = cl.list_id"
        "  AND m.contact_id = ct.id AND m.account_id = ?1 AND m.status = 'subscribed')"
        " FROM contacts ct WHERE ct.id IN (" Q100 ") AND ct.account_id = ?1",
        &st);
    if (qs < 0)
        return qs;
    bind_campaign_key(st, account_id, campaign_id);
    bind_ids(st, ids, n);
    struct pb_contact contact;
    memset(&contact, 0, sizeof(contact));
    pb_strlcpy(contact.account_id, account_id, sizeof(contact.account_id));
    for (int rows = 0; pb_sqlite_next(c, st, rows, &qs, "recipient load contacts"); rows++) {
        if (!pb_sqlite_column_text(st, 0, contact.id, sizeof(contact.id)) ||
            !pb_sqlite_column_text(st, 1, contact.status, sizeof(contact.status)) ||
            !pb_sqlite_column_blob(st, 3, contact.email_sealed, sizeof(contact.email_sealed),
                                   &contact.email_sealed_len)) {
            pb_error("sqlite: a contacts row does not fit its struct");
            return pb_sqlite_bad_row(st);
        }
        contact.suppressed_at = sqlite3_column_int64(st, 2);
        cb(cls, &contact, sqlite3_column_int(st, 4) != 0);
    }
    return qs;
}

/* The values of the contacts ids[0, n); `v` is scratch room for one. */
static enum pb_qs
load_values(struct pb_sqlite_conn *c, const char *account_id, const pb_id_text *ids, int n,
            struct pb_contact_value *v, pb_contact_value_cb cb, void *cls)
{
    sqlite3_stmt *st;
    /* "+account_id": the primary key (contact_id, field_key) is the index to walk. */
    enum pb_qs qs = pb_sqlite_prepare(c, PB_SQ_RECIPIENT_LOAD_VALUES,
                                      "SELECT contact_id, field_key, value_text, value_sealed"
                                      " FROM contact_values WHERE +account_id = ?1"
                                      " AND contact_id IN (" Q100 ")",
                                      &st);
    if (qs < 0)
        return qs;
    sqlite3_bind_text(st, 1, account_id, -1, SQLITE_STATIC);
    bind_ids(st, ids, n);
    for (int rows = 0; pb_sqlite_next(c, st, rows, &qs, "recipient load values"); rows++) {
        if (!pb_sqlite_column_text(st, 0, v->contact_id, sizeof(v->contact_id)) ||
            !pb_sqlite_column_text(st, 1, v->field_key, sizeof(v->field_key)) ||
            !pb_sqlite_column_opt_text(st, 2, v->value_text, sizeof(v->value_text)) ||
            !pb_sqlite_column_blob(st, 3, v->value_sealed, sizeof(v->value_sealed),
                                   &v->value_sealed_len)) {
            pb_error("sqlite: a contact_values row does not fit its struct");
            return pb_sqlite_bad_row(st);
        }
        cb(cls, v);
    }
    return qs;
}

enum pb_qs
pb_sqlite_recipient_load(struct pb_conn *conn, const char *account_id, const char *campaign_id,
                         const pb_id_text *contact_ids, int n, pb_recipient_contact_cb contact_cb,
                         pb_contact_value_cb value_cb, void *cls)
{
    struct pb_sqlite_conn *c = pb_sqlite_conn(conn);
    if (n < 0) {
        pb_error("sqlite: recipient load: %d ids", n);
        return PB_QS_HARD_ERROR;
    }
    /* One value at a time, in scratch memory filled field by field (it is 8 KB). */
    struct pb_contact_value *v = malloc(sizeof(*v));
    if (v == NULL) {
        pb_error("sqlite: recipient load: out of memory");
        return PB_QS_HARD_ERROR;
    }
    pb_strlcpy(v->account_id, account_id, sizeof(v->account_id));
    enum pb_qs qs = PB_QS_NONE;
    int64_t rows = 0;
    for (int at = 0; at < n && qs >= 0; at += LOAD_IDS) {
        int k = n - at < LOAD_IDS ? n - at : LOAD_IDS;
        qs = load_contacts(c, account_id, campaign_id, contact_ids + at, k, contact_cb, cls);
        rows += qs > 0 ? qs : 0;
    }
    for (int at = 0; at < n && qs >= 0; at += LOAD_IDS) {
        int k = n - at < LOAD_IDS ? n - at : LOAD_IDS;
        qs = load_values(c, account_id, contact_ids + at, k, v, value_cb, cls);
    }
    sodium_memzero(v, sizeof(*v)); /* it held personal data */
    free(v);
    return qs < 0 ? qs : rows64(rows);
}
