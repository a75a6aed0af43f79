/*
 * One campaign message for one recipient: the templates rendered with the
 * recipient's values and signed links (unsubscribe, clicks, the open
 * pixel, as the account's tracking allows), the MIME message built, and
 * DKIM signatures prepended (one per key of the From domain: two for dual
 * signing). A composer holds scratch buffers reused message after message,
 * so a message costs no allocation once they have grown.
 */
#ifndef PB_MODEL_COMPOSE_H
#define PB_MODEL_COMPOSE_H

#include "core/buf.h"
#include "mail/dkim.h"
#include "model/app.h"
#include "model/campaign_compile.h"
#include "model/link_token.h"

#define PB_COMPOSE_DKIM_MAX 2

enum pb_tracking { PB_TRACKING_OFF, PB_TRACKING_AGGREGATE, PB_TRACKING_INDIVIDUAL };

struct pb_compose {
    const struct pb_campaign_compiled *cc;
    const struct pb_keys *keys;
    char public_url[512];
    enum pb_tracking tracking;
    struct pb_dkim_key *dkim[PB_COMPOSE_DKIM_MAX];
    int ndkim;
    struct pb_link_signer signer;
    /* Aggregate tracking: the click URLs and the pixel are the same for all, made once. */
    char **clicks;
    int nclicks;
    char *pixel;
    /* scratch, reused */
    struct pb_buf subject, html, text, message, url;
    const char *contact_id; /* the recipient being rendered ("" for a test send) */
};

/* Parses "off", "aggregate" or "individual" (anything else: aggregate). */
enum pb_tracking
pb_tracking_parse(const char *s);

/*
 * Prepares a composer for a compiled campaign: the public URL, the
 * account's tracking mode and the DKIM keys of the From domain.
 */
enum pb_err
pb_compose_init(struct pb_compose *c, struct pb_app *app, const struct pb_campaign_compiled *cc);

void
pb_compose_release(struct pb_compose *c);

/*
 * Appends the whole message for `contact_id` ("" for a test: links then
 * name no recipient) at `email` with the variable `values` (slots of the
 * compiled campaign; the address and unsubscribe URL slots are filled
 * here) to `out`.
 */
enum pb_err
pb_compose_message(struct pb_compose *c, const char *contact_id, const char *email,
                   const char *const *values, int64_t now, struct pb_buf *out);

#endif
