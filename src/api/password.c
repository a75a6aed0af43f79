/*
 * POST /password/forgot and POST /password/reset: the only way back into an
 * account. "Forgot" always answers 202 so that nobody learns which emails
 * exist; the rules (tokens, policy, ending sessions) live in model/reset.c.
 */
#include "api/api.h"

#include "core/log.h"
#include "http/json.h"
#include "http/request.h"
#include "model/reset.h"

void
pb_api_password_forgot(struct pb_request *req)
{
    const char *email = NULL;
    if (pb_json_unpack(req, req->json, "{s:s}", "email", &email) != 0)
        return;
    enum pb_err err = pb_reset_request(req->app, email, req->client_addr);
    if (err != PB_ERR_OK) /* logged, never told: the answer must not depend on the email */
        pb_warn("password reset request failed: %s", pb_err_name(err));
    pb_reply_json(req, 202, json_object());
}

void
pb_api_password_reset(struct pb_request *req)
{
    const char *token = NULL, *password = NULL;
    char why[PB_WHY_MAX] = "";
    if (pb_json_unpack(req, req->json, "{s:s, s:s}", "token", &token, "password", &password) != 0)
        return;
    enum pb_err err = pb_reset_complete(req->app, token, password, req->client_addr, why);
    switch (err) {
    case PB_ERR_OK:
        pb_reply_bytes(req, 204, NULL, "", 0);
        return;
    case PB_ERR_PASSWORD_POLICY:
        pb_reply_error(req, err, "password", "%s", why);
        return;
    case PB_ERR_TOKEN_INVALID:
        pb_reply_error(req, err, "token", "ask for a new link with POST /api/v1/password/forgot");
        return;
    default:
        pb_reply_error(req, err, NULL, "cannot set the password now");
        return;
    }
}
