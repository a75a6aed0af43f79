/* Unsubscribe, open and click: tokens in, counters and consent events out. */
#include "model/tracking.h"

#include <string.h>

#include "core/clock.h"
#include "model/account.h"
#include "model/compose.h"
#include "model/consent.h"
#include "model/tenant.h"

#define CHANNEL_EMAIL "email" /* the consent event came from a link in a mail */

enum pb_err
pb_tracking_unsubscribe_check(struct pb_app *app, const char *token, struct pb_link_token *out)
{
    return pb_link_token_parse(app->keys, PB_LINK_UNSUBSCRIBE, token, out);
}

struct unsub_ctx {
    const struct pb_link_token *t;
    const struct pb_data_key *key;
    int lists_left;
};

static enum pb_qs
unsub_tx(struct pb_tx *tx, void *cls)
{
    struct unsub_ctx *u = cls;
    const struct pb_link_token *t = u->t;
    u->lists_left = 0;
    struct pb_campaign c;
    memset(&c, 0, sizeof(c));
    enum pb_qs qs = tx->ops->campaign_get(tx->conn, t->account_id, t->campaign_id, false, &c);
    if (qs < 0)
        return qs;
    if (qs == PB_QS_NONE)
        return pb_tx_abort(tx, PB_ERR_NOT_FOUND);
    int64_t now = pb_clock_now();
    const struct pb_consent_origin origin = {CHANNEL_EMAIL, "unsubscribe_link", NULL, NULL};
    for (int i = 0; i < c.list_count; i++) {
        qs = tx->ops->membership_put(tx->conn, t->account_id, c.list_ids[i], t->contact_id,
                                     "unsubscribed", NULL, now);
        if (qs < 0)
            return qs;
        if (qs == PB_QS_ONE) {
            u->lists_left++;
            qs = pb_consent_append_tx(tx, u->key, t->account_id, "unsubscribed", t->contact_id,
                                      c.list_ids[i], NULL, &origin);
            if (qs < 0)
                return qs;
        }
    }
    bool first = false;
    qs = tx->ops->recipient_unsubscribed(tx->conn, t->account_id, t->campaign_id, t->contact_id,
                                         now, &first);
    if (qs < 0)
        return qs;
    if (first) {
        struct pb_campaign_counters delta = {.unsubscribes = 1};
        qs = tx->ops->campaign_counters_add(tx->conn, t->account_id, t->campaign_id, &delta);
    }
    return qs < 0 ? qs : PB_QS_ONE;
}

enum pb_err
pb_tracking_unsubscribe(struct pb_app *app, const char *token, int *lists_left)
{
    struct pb_link_token t;
    *lists_left = 0;
    enum pb_err err = pb_link_token_parse(app->keys, PB_LINK_UNSUBSCRIBE, token, &t);
    if (err != PB_ERR_OK || t.contact_id[0] == '\0')
        return PB_ERR_NOT_FOUND;
    const struct pb_data_key *key = NULL;
    if ((err = pb_app_data_key(app, t.account_id, &key)) != PB_ERR_OK)
        return err;
    struct unsub_ctx u = {&t, key, 0};
    err = pb_tenant_tx(app, t.account_id, PB_TX_WRITE, unsub_tx, &u);
    *lists_left = u.lists_left;
    return err;
}

/* The account's tracking mode; PB_TRACKING_OFF when it cannot be read. */
static enum pb_tracking
tracking_of(struct pb_app *app, const char *account_id)
{
    struct pb_account account;
    if (pb_account_get(app, account_id, &account) != PB_ERR_OK)
        return PB_TRACKING_OFF;
    return pb_tracking_parse(account.tracking);
}

struct count_ctx {
    const struct pb_link_token *t;
    enum pb_tracking tracking;
    char *url;
};

static enum pb_qs
open_tx(struct pb_tx *tx, void *cls)
{
    struct count_ctx *o = cls;
    const struct pb_link_token *t = o->t;
    struct pb_campaign_counters delta = {.opens_total = 1};
    if (o->tracking == PB_TRACKING_INDIVIDUAL && t->contact_id[0] != '\0') {
        bool first = false;
        enum pb_qs qs = tx->ops->recipient_open(tx->conn, t->account_id, t->campaign_id,
                                                t->contact_id, pb_clock_now(), &first);
        if (qs < 0)
            return qs;
        delta.opens_unique = first ? 1 : 0;
    }
    return tx->ops->campaign_counters_add(tx->conn, t->account_id, t->campaign_id, &delta);
}

enum pb_err
pb_tracking_open(struct pb_app *app, const char *token)
{
    struct pb_link_token t;
    enum pb_err err = pb_link_token_parse(app->keys, PB_LINK_OPEN, token, &t);
    if (err != PB_ERR_OK)
        return err;
    struct count_ctx o = {&t, tracking_of(app, t.account_id), NULL};
    if (o.tracking == PB_TRACKING_OFF)
        return PB_ERR_OK; /* the account turned tracking off since: count nothing */
    return pb_tenant_tx(app, t.account_id, PB_TX_WRITE_LOCKED, open_tx, &o);
}

static enum pb_qs
click_tx(struct pb_tx *tx, void *cls)
{
    struct count_ctx *k = cls;
    const struct pb_link_token *t = k->t;
    struct pb_campaign_link link;
    enum pb_qs qs = tx->ops->link_get(tx->conn, t->account_id, t->campaign_id, t->link, &link);
    if (qs < 0)
        return qs;
    if (qs == PB_QS_NONE)
        return pb_tx_abort(tx, PB_ERR_NOT_FOUND);
    memcpy(k->url, link.url, sizeof(link.url));
    if (k->tracking == PB_TRACKING_OFF)
        return PB_QS_ONE;
    struct pb_campaign_counters delta = {.clicks_total = 1};
    bool first_link = false, first_any = false;
    if (k->tracking == PB_TRACKING_INDIVIDUAL && t->contact_id[0] != '\0') {
        qs = tx->ops->recipient_click(tx->conn, t->account_id, t->campaign_id, t->contact_id,
                                      t->link, pb_clock_now(), &first_link, &first_any);
        if (qs < 0)
            return qs;
        delta.clicks_unique = first_any ? 1 : 0;
    }
    qs = tx->ops->link_counters_add(tx->conn, t->account_id, t->campaign_id, t->link,
                                    first_link ? 1 : 0, 1);
    if (qs < 0)
        return qs;
    return tx->ops->campaign_counters_add(tx->conn, t->account_id, t->campaign_id, &delta);
}

enum pb_err
pb_tracking_click(struct pb_app *app, const char *token, char url[PB_URL_MAX + 1])
{
    struct pb_link_token t;
    url[0] = '\0';
    enum pb_err err = pb_link_token_parse(app->keys, PB_LINK_CLICK, token, &t);
    if (err != PB_ERR_OK)
        return err;
    struct count_ctx k = {&t, tracking_of(app, t.account_id), url};
    return pb_tenant_tx(app, t.account_id, PB_TX_WRITE_LOCKED, click_tx, &k);
}
