/*
 * Test sends of a campaign (POST /campaigns/{id}/test): the message as it
 * will go out, rendered without a contact (tags take their defaults),
 * signed, and sent at once to a few addresses through the account's relay.
 * Nothing is recorded in the campaign's recipients or statistics.
 */
#ifndef PB_MODEL_CAMPAIGN_TEST_H
#define PB_MODEL_CAMPAIGN_TEST_H

#include <jansson.h>

#include "model/app.h"
#include "model/auth.h"

#define PB_CAMPAIGN_TEST_MAX 10 /* addresses of one test send, at most */

/*
 * Sends to `emails` (n of them) and gives {"results": [{email, sent, error?}]}.
 * Errors with `field`: "emails" (PB_ERR_INVALID), "smtp" (no relay; the
 * relay refused the connection: PB_ERR_UNAVAILABLE), template errors.
 */
enum pb_err
pb_campaign_test_send(struct pb_app *app, const struct pb_principal *who, const char *id,
                      const char *const *emails, int n, json_t **out, const char **field,
                      char why[PB_WHY_MAX]);

#endif
