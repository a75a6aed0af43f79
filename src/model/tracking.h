/*
 * What the links in campaign mail do: one-click unsubscribe (RFC 8058),
 * the open pixel and the click redirect. Reached without login; the signed
 * token (model/link_token.h) is the only credential, and it names one
 * account, campaign and recipient. Counters change in the same transaction
 * as the per-recipient records, so statistics never need to count rows and
 * stay exact when a contact is later anonymised.
 */
#ifndef PB_MODEL_TRACKING_H
#define PB_MODEL_TRACKING_H

#include "model/app.h"
#include "model/link_token.h"

/* Checks an unsubscribe token (GET /u/{token} shows a page only for a valid one). */
enum pb_err
pb_tracking_unsubscribe_check(struct pb_app *app, const char *token, struct pb_link_token *out);

/*
 * Unsubscribes the recipient from the campaign's lists it is on, with an
 * "unsubscribed" consent event per list and the campaign's counter (once
 * per recipient). Idempotent. PB_ERR_NOT_FOUND for a bad token.
 */
enum pb_err
pb_tracking_unsubscribe(struct pb_app *app, const char *token, int *lists_left);

/* Counts an open (where the account tracks). PB_ERR_NOT_FOUND for a bad token. */
enum pb_err
pb_tracking_open(struct pb_app *app, const char *token);

/*
 * Counts a click and gives the link's URL, which is always one of the
 * campaign's own links: no open redirect. PB_ERR_NOT_FOUND for a bad token.
 */
enum pb_err
pb_tracking_click(struct pb_app *app, const char *token, char url[PB_URL_MAX + 1]);

#endif
