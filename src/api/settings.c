/*
 * GET/PUT /settings/smtp: the account's SMTP relay (the password is taken,
 * never shown); GET/PUT /settings/dkim and DELETE
 * /settings/dkim/{domain}/{selector}: the DKIM keys of its sending domains
 * (generated here; the reply is the DNS record to publish). The router has
 * checked settings.manage; model/relay.c and model/dkim_keys.c audit changes.
 */
#include "api/api.h"

#include <limits.h>
#include <string.h>

#include "api/contact_common.h"
#include "http/json.h"
#include "http/request.h"
#include "model/dkim_keys.h"
#include "model/relay.h"

/* A JSON integer that was not in the body. */
#define ABSENT LLONG_MIN

/* An optional integer of the body as struct pb_relay_input takes it. */
static int
relay_int(json_int_t v)
{
    if (v == ABSENT)
        return PB_RELAY_DEFAULT;
    /* Far out of every range: an int that fails the model's checks, never a wrapped one. */
    return v < -1000000 || v > 1000000 ? INT_MAX : (int)v;
}

void
pb_api_settings_smtp_get(struct pb_request *req)
{
    const struct pb_principal *who = pb_request_caller(req);
    if (who == NULL)
        return;
    json_t *relay = NULL;
    enum pb_err err = pb_relay_get_json(req->app, who, &relay);
    if (err == PB_ERR_OK)
        pb_reply_json(req, 200, relay);
    else
        pb_api_reply_failure(req, err, NULL, NULL, "no SMTP relay is set up yet",
                             "read the SMTP relay");
}

void
pb_api_settings_smtp_put(struct pb_request *req)
{
    const struct pb_principal *who = pb_request_caller(req);
    struct pb_relay_input in;
    memset(&in, 0, sizeof(in));
    json_int_t port = ABSENT, max_connections = ABSENT, rate = ABSENT;
    if (who == NULL || pb_json_unpack(req, req->json, "{s:s, s?I, s?s, s?s, s?s, s?I, s?I}", "host",
                                      &in.host, "port", &port, "tls", &in.tls, "username",
                                      &in.username, "password", &in.password, "max_connections",
                                      &max_connections, "rate_per_second", &rate) != 0)
        return;
    in.port = relay_int(port);
    in.max_connections = relay_int(max_connections);
    in.rate_per_second = relay_int(rate);
    const char *field = NULL;
    char why[PB_WHY_MAX] = "";
    enum pb_err err = pb_relay_put(req->app, who, &in, req->client_addr, &field, why);
    json_t *relay = NULL;
    if (err == PB_ERR_OK)
        err = pb_relay_get_json(req->app, who, &relay);
    if (err == PB_ERR_OK)
        pb_reply_json(req, 200, relay);
    else
        pb_api_reply_failure(req, err, field, why, "no SMTP relay is set up yet",
                             "change the SMTP relay");
}

void
pb_api_settings_dkim_get(struct pb_request *req)
{
    const struct pb_principal *who = pb_request_caller(req);
    if (who == NULL)
        return;
    json_t *keys = NULL;
    enum pb_err err = pb_dkim_keys_list_json(req->app, who, &keys);
    if (err == PB_ERR_OK)
        pb_reply_json(req, 200, keys);
    else
        pb_api_reply_failure(req, err, NULL, NULL, "no such key", "list the DKIM keys");
}

void
pb_api_settings_dkim_put(struct pb_request *req)
{
    const struct pb_principal *who = pb_request_caller(req);
    const char *domain = NULL, *selector = NULL, *algorithm = NULL;
    if (who == NULL || pb_json_unpack(req, req->json, "{s:s, s:s, s:s}", "domain", &domain,
                                      "selector", &selector, "algorithm", &algorithm) != 0)
        return;
    const char *field = NULL;
    char why[PB_WHY_MAX] = "";
    json_t *key = NULL;
    enum pb_err err = pb_dkim_keys_put(req->app, who, domain, selector, algorithm, req->client_addr,
                                       &key, &field, why);
    if (err == PB_ERR_OK)
        pb_reply_json(req, 200, key);
    else
        pb_api_reply_failure(req, err, field, why, "no such key", "create the DKIM key");
}

void
pb_api_settings_dkim_delete(struct pb_request *req)
{
    const struct pb_principal *who = pb_request_caller(req);
    const char *domain = pb_request_param(req, "domain");
    const char *selector = pb_request_param(req, "selector");
    if (who == NULL)
        return;
    enum pb_err err = domain != NULL && selector != NULL
                          ? pb_dkim_keys_delete(req->app, who, domain, selector, req->client_addr)
                          : PB_ERR_NOT_FOUND;
    if (err == PB_ERR_OK)
        pb_reply_bytes(req, 204, NULL, "", 0);
    else
        pb_api_reply_failure(req, err, NULL, NULL, "no DKIM key of that domain and selector",
                             "delete the DKIM key");
}
