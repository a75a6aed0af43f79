/* Test sends: compose without a contact, send through the relay, report per address. */
#include "model/campaign_test.h"

#include <stdio.h>
#include <string.h>

#include <sodium.h>

#include "core/clock.h"
#include "mail/smtp.h"
#include "model/campaign.h"
#include "model/campaign_compile.h"
#include "model/compose.h"
#include "model/email.h"
#include "model/relay.h"

enum pb_err
pb_campaign_test_send(struct pb_app *app, const struct pb_principal *who, const char *id,
                      const char *const *emails, int n, json_t **out, const char **field,
                      char why[PB_WHY_MAX])
{
    *out = NULL;
    *field = NULL;
    if (n < 1 || n > PB_CAMPAIGN_TEST_MAX) {
        *field = "emails";
        snprintf(why, PB_WHY_MAX, "give 1 to %d addresses", PB_CAMPAIGN_TEST_MAX);
        return PB_ERR_INVALID;
    }
    char normal[PB_CAMPAIGN_TEST_MAX][PB_EMAIL_MAX + 1];
    for (int i = 0; i < n; i++) {
        if (pb_email_normalize(emails[i], PB_EMAIL_KEEP_LOCAL_CASE, normal[i], why) != PB_ERR_OK) {
            *field = "emails";
            return PB_ERR_INVALID;
        }
    }
    struct pb_campaign c;
    enum pb_err err = pb_campaign_get(app, who, id, true, &c);
    if (err != PB_ERR_OK)
        return err;
    struct pb_campaign_compiled *cc = NULL;
    err = pb_campaign_compile(app, &c, true, &cc, field, why);
    pb_campaign_bodies_free(&c);
    if (err != PB_ERR_OK)
        return err;

    struct pb_relay_config relay;
    struct pb_compose compose;
    bool composing = false;
    struct pb_smtp *smtp = NULL;
    struct pb_buf msg;
    pb_buf_init(&msg, 24u * 1024 * 1024);
    json_t *results = json_array();
    err = pb_relay_load(app, who->account_id, &relay);
    if (err == PB_ERR_NOT_FOUND) {
        *field = "smtp";
        snprintf(why, PB_WHY_MAX,
                 "the account has no SMTP relay: set one with PUT /api/v1/settings/smtp");
        err = PB_ERR_INVALID;
        goto out;
    }
    if (err != PB_ERR_OK)
        goto out;
    if ((err = pb_compose_init(&compose, app, cc)) != PB_ERR_OK)
        goto out;
    composing = true;

    struct pb_smtp_config cfg;
    pb_relay_smtp_config(app, &relay, &cfg);
    struct pb_smtp_error cerr;
    if (pb_smtp_connect(&cfg, &smtp, &cerr) != PB_SMTP_OK) {
        *field = "smtp";
        snprintf(why, PB_WHY_MAX, "relay %s:%u: %s", relay.host, relay.port, cerr.text);
        err = PB_ERR_UNAVAILABLE;
        goto out;
    }
    const char *values[PB_CAMPAIGN_VAR_FIELDS + PB_CAMPAIGN_FIELDS_MAX] = {NULL};
    struct pb_smtp_result res;
    memset(&res, 0, sizeof(res));
    for (int i = 0; i < n; i++) {
        pb_buf_reset(&msg);
        err = pb_compose_message(&compose, "", normal[i], values, pb_clock_now(), &msg);
        if (err != PB_ERR_OK)
            break;
        const char *to = normal[i];
        enum pb_smtp_class cls = pb_smtp_send(smtp, cc->from_addr, &to, 1, msg.data, msg.len, &res);
        json_array_append_new(
            results,
            cls == PB_SMTP_OK
                ? json_pack("{s:s, s:b}", "email", to, "sent", 1)
                : json_pack("{s:s, s:b, s:s}", "email", to, "sent", 0, "error",
                            res.rcpt != NULL && res.nrcpt > 0 ? res.rcpt[0].text : res.error.text));
    }
    pb_smtp_result_release(&res);
    if (err == PB_ERR_OK)
        *out = json_pack("{s:O}", "results", results);
out:
    pb_smtp_quit_and_free(smtp);
    if (composing)
        pb_compose_release(&compose);
    sodium_memzero(&relay, sizeof(relay));
    pb_buf_release(&msg, 1);
    json_decref(results);
    pb_campaign_compiled_free(cc);
    return err;
}
