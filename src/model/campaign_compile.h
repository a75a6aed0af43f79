/*
 * A campaign compiled for sending: its subject, HTML and text templates
 * parsed once against the variables a message may use (the address, the
 * unsubscribe link and the account's fields), so that each recipient costs
 * only substitution. Saving a campaign compiles it too, so an unknown tag
 * is an error when the campaign is saved, not when it is sent.
 */
#ifndef PB_MODEL_CAMPAIGN_COMPILE_H
#define PB_MODEL_CAMPAIGN_COMPILE_H

#include <stdbool.h>

#include "mail/template.h"
#include "model/app.h"

/* The variable slots every campaign has; the account's fields follow. */
enum {
    PB_CAMPAIGN_VAR_EMAIL = 0,
    PB_CAMPAIGN_VAR_UNSUBSCRIBE_URL = 1,
    PB_CAMPAIGN_VAR_FIELDS = 2, /* the first field's slot */
};

#define PB_CAMPAIGN_FIELDS_MAX 200 /* fields a campaign can use, at most */

struct pb_campaign_compiled {
    char campaign_id[PB_ID_LEN + 1];
    char account_id[PB_ID_LEN + 1];
    int64_t updated_at; /* of the campaign compiled: a change makes a new compilation */
    struct pb_tpl *subject;
    struct pb_tpl *html;
    struct pb_tpl *text;
    bool track_links; /* links of the HTML go through /c/ */
    int nvars;
    const char *names[PB_CAMPAIGN_VAR_FIELDS + PB_CAMPAIGN_FIELDS_MAX];
    char keys[PB_CAMPAIGN_FIELDS_MAX][PB_FIELD_KEY_MAX + 1];
    bool sensitive[PB_CAMPAIGN_VAR_FIELDS + PB_CAMPAIGN_FIELDS_MAX];
    bool used[PB_CAMPAIGN_VAR_FIELDS + PB_CAMPAIGN_FIELDS_MAX]; /* by any of the templates */
    char from[PB_ADDRESS_HEADER_MAX + 1];
    char from_addr[PB_EMAIL_BYTES]; /* the address of From: (envelope sender) */
    char from_domain[PB_DOMAIN_MAX + 1];
    char reply_to[PB_ADDRESS_HEADER_MAX + 1];
    char list_ids[PB_CAMPAIGN_LISTS_MAX][PB_ID_LEN + 1]; /* a recipient must still be on one */
    int list_count;
};

/*
 * Compiles `c` (with its bodies) against the fields of its account. An
 * empty text body is generated from the HTML. Errors: PB_ERR_INVALID or
 * PB_ERR_TOO_LARGE with `field` ("subject", "html", "text", "from",
 * "reply_to") and `why` naming the tag and line.
 */
enum pb_err
pb_campaign_compile(struct pb_app *app, const struct pb_campaign *c, bool track_links,
                    struct pb_campaign_compiled **out, const char **field, char why[PB_WHY_MAX]);

void
pb_campaign_compiled_free(struct pb_campaign_compiled *cc);

#endif
