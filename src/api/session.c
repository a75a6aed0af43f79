/*
 * POST/GET/DELETE /session and POST /session/mfa: log in with a password,
 * the TOTP step, who am I, log out. The session token travels only in the
 * __Host-pb_session cookie; the rules live in model/auth.c.
 */
#include "api/api.h"

#include <stdio.h>
#include <string.h>

#include <sodium.h>

#include "core/log.h"
#include "http/json.h"
#include "http/request.h"
#include "model/auth.h"

#define COOKIE_ATTRIBUTES "; Path=/; Secure; HttpOnly; SameSite=Strict"

/* Adds the Set-Cookie header of a new session. Returns 0, or -1 after replying. */
static int
set_session_cookie(struct pb_request *req, const char *token)
{
    char cookie[PB_TOKEN_LEN + 128];
    snprintf(cookie, sizeof(cookie), "%s=%s%s", PB_SESSION_COOKIE, token, COOKIE_ATTRIBUTES);
    int rc = pb_request_add_reply_header(req, MHD_HTTP_HEADER_SET_COOKIE, cookie);
    sodium_memzero(cookie, sizeof(cookie));
    if (rc != 0) {
        pb_reply_error(req, PB_ERR_NOMEM, NULL, "out of memory");
        return -1;
    }
    return 0;
}

/* Replies 429 with Retry-After (at least one second). */
static void
reply_throttled(struct pb_request *req, int retry_after)
{
    char seconds[24];
    if (retry_after < 1)
        retry_after = 1;
    snprintf(seconds, sizeof(seconds), "%d", retry_after);
    if (pb_request_add_reply_header(req, MHD_HTTP_HEADER_RETRY_AFTER, seconds) != 0) {
        pb_reply_error(req, PB_ERR_NOMEM, NULL, "out of memory");
        return;
    }
    pb_reply_error(req, PB_ERR_THROTTLED, NULL, "try again in %d seconds", retry_after);
}

void
pb_api_session_create(struct pb_request *req)
{
    const char *email = NULL, *password = NULL;
    struct pb_login login;
    memset(&login, 0, sizeof(login));
    if (pb_json_unpack(req, req->json, "{s:s, s:s}", "email", &email, "password", &password) != 0)
        return;
    enum pb_err err = pb_auth_login(req->app, email, password, req->client_addr, &login);
    switch (err) {
    case PB_ERR_OK:
        break;
    case PB_ERR_LOGIN_FAILED:
        /* The same answer whether the email exists or not. */
        pb_reply_error(req, PB_ERR_LOGIN_FAILED, NULL, "the email or the password is wrong");
        goto out;
    case PB_ERR_THROTTLED:
        reply_throttled(req, login.retry_after);
        goto out;
    default:
        pb_reply_error(req, err, NULL, "cannot log in now");
        goto out;
    }
    char csrf[PB_TOKEN_LEN + 1];
    pb_auth_csrf_token(login.token, csrf);
    if (set_session_cookie(req, login.token) == 0)
        pb_reply_json(
            req, 200,
            json_pack("{s:b, s:s}", "mfa_required", login.mfa_required, "csrf_token", csrf));
    sodium_memzero(csrf, sizeof(csrf));
out:
    sodium_memzero(&login, sizeof(login));
}

void
pb_api_session_mfa(struct pb_request *req)
{
    const char *code = NULL, *recovery_code = NULL;
    struct pb_login login;
    memset(&login, 0, sizeof(login));
    if (req->json == NULL) {
        pb_reply_error(req, PB_ERR_MISSING_FIELD, "code",
                       "send the code of your authenticator app, or a recovery_code");
        return;
    }
    if (pb_json_unpack(req, req->json, "{s?s, s?s}", "code", &code, "recovery_code",
                       &recovery_code) != 0)
        return;
    if (code == NULL && recovery_code == NULL) {
        pb_reply_error(req, PB_ERR_MISSING_FIELD, "code",
                       "send the code of your authenticator app, or a recovery_code");
        return;
    }
    if (code != NULL && recovery_code != NULL) {
        pb_reply_error(req, PB_ERR_BAD_REQUEST, "recovery_code",
                       "send either code or recovery_code, not both");
        return;
    }
    if (!req->principal.mfa_pending) {
        pb_reply_error(req, PB_ERR_CONFLICT, NULL, "no two-factor step is pending");
        return;
    }
    enum pb_err err =
        pb_auth_mfa(req->app, &req->principal, code, recovery_code, req->client_addr, &login);
    const char *field = code != NULL ? "code" : "recovery_code";
    switch (err) {
    case PB_ERR_OK:
        break;
    case PB_ERR_THROTTLED:
        reply_throttled(req, login.retry_after);
        goto out;
    case PB_ERR_TOTP_MALFORMED:
    case PB_ERR_TOTP_WRONG:
    case PB_ERR_RECOVERY_CODE_WRONG:
        pb_reply_error(req, err, field, "the %s was not accepted", field);
        goto out;
    default:
        pb_reply_error(req, err, NULL, "cannot complete the two-factor step");
        goto out;
    }
    char csrf[PB_TOKEN_LEN + 1];
    pb_auth_csrf_token(login.token, csrf);
    if (set_session_cookie(req, login.token) == 0)
        pb_reply_json(req, 200, json_pack("{s:s}", "csrf_token", csrf));
    sodium_memzero(csrf, sizeof(csrf));
out:
    sodium_memzero(&login, sizeof(login));
}

void
pb_api_session_get(struct pb_request *req)
{
    const struct pb_principal *who = &req->principal;
    const char *role = pb_role_name(who->role);
    json_t *body =
        json_pack("{s:{s:s, s:s, s:s, s:b}, s:{s:s, s:s}, s:b, s:b, s:s}", "user", "id",
                  who->user_id, "email", who->email, "role", role != NULL ? role : "",
                  "totp_enabled", who->totp_enabled, "account", "id", who->account_id, "plan",
                  who->enterprise ? "enterprise" : "standard", "mfa_pending", who->mfa_pending,
                  "must_enrol", who->must_enrol, "via", req->via_cookie ? "session" : "api_key");
    if (body == NULL) {
        pb_reply_error(req, PB_ERR_NOMEM, NULL, "out of memory");
        return;
    }
    if (req->via_cookie) {
        char csrf[PB_TOKEN_LEN + 1];
        pb_auth_csrf_token(req->session_token, csrf);
        int rc = json_object_set_new(body, "csrf_token", json_string(csrf));
        sodium_memzero(csrf, sizeof(csrf));
        if (rc != 0) {
            json_decref(body);
            pb_reply_error(req, PB_ERR_NOMEM, NULL, "out of memory");
            return;
        }
    }
    pb_reply_json(req, 200, body);
}

void
pb_api_session_delete(struct pb_request *req)
{
    if (!req->via_cookie) {
        pb_reply_error(req, PB_ERR_CONFLICT, NULL,
                       "an API key has no session to end; revoke the key with "
                       "DELETE /api/v1/api-keys/{id}");
        return;
    }
    enum pb_err err = pb_auth_logout(req->app, &req->principal);
    if (err != PB_ERR_OK) {
        pb_reply_error(req, err, NULL, "cannot end the session now");
        return;
    }
    if (pb_request_add_reply_header(req, MHD_HTTP_HEADER_SET_COOKIE,
                                    PB_SESSION_COOKIE "=" COOKIE_ATTRIBUTES "; Max-Age=0") != 0) {
        pb_reply_error(req, PB_ERR_NOMEM, NULL, "out of memory");
        return;
    }
    pb_reply_bytes(req, 204, NULL, "", 0);
}
