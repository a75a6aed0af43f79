/*
 * POST /me/totp, POST /me/totp/confirm, DELETE /me/totp: the caller's
 * two-factor enrolment (start, confirm with a code, turn off with a code).
 * The rules live in model/mfa.c.
 */
#include "api/api.h"

#include <stdbool.h>
#include <string.h>

#include <sodium.h>

#include "http/json.h"
#include "http/request.h"
#include "model/mfa.h"

/* Whether a body was sent; replies 400 naming "code" when there is none. */
static bool
has_code_body(struct pb_request *req)
{
    if (req->json != NULL)
        return true;
    pb_reply_error(req, PB_ERR_MISSING_FIELD, "code", "send {\"code\": \"123456\"}");
    return false;
}

/* Replies a model error, naming the field "code" where the error is about it. */
static void
reply_mfa_error(struct pb_request *req, enum pb_err err)
{
    switch (err) {
    case PB_ERR_TOTP_MALFORMED:
    case PB_ERR_TOTP_WRONG:
        pb_reply_error(req, err, "code", "the code was not accepted");
        return;
    case PB_ERR_TOTP_NOT_PENDING:
        pb_reply_error(req, err, NULL, "no enrolment is pending");
        return;
    case PB_ERR_TOTP_ALREADY_ON:
        pb_reply_error(req, err, NULL, "turn it off first (DELETE /api/v1/me/totp)");
        return;
    case PB_ERR_TOTP_OFF:
        pb_reply_error(req, err, NULL, "there is nothing to turn off");
        return;
    default:
        pb_reply_error(req, err, NULL, "cannot change two-factor authentication now");
        return;
    }
}

void
pb_api_totp_start(struct pb_request *req)
{
    struct pb_totp_enrolment enrolment = {0};
    /* No body is needed; one that is sent must be an empty object. */
    if (req->json != NULL && pb_json_unpack(req, req->json, "{}") != 0)
        return;
    enum pb_err err = pb_mfa_enrol_start(req->app, &req->principal, &enrolment);
    if (err != PB_ERR_OK) {
        reply_mfa_error(req, err);
        goto out;
    }
    pb_reply_json(req, 200,
                  json_pack("{s:s, s:s, s:s}", "secret", enrolment.secret, "otpauth_uri",
                            enrolment.otpauth_uri, "qr_svg", enrolment.qr_svg));
out:
    pb_mfa_enrolment_release(&enrolment);
    sodium_memzero(&enrolment, sizeof(enrolment));
}

void
pb_api_totp_confirm(struct pb_request *req)
{
    const char *code = NULL;
    char codes[PB_RECOVERY_CODES][PB_RECOVERY_CODE_LEN + 1];
    memset(codes, 0, sizeof(codes));
    if (!has_code_body(req) || pb_json_unpack(req, req->json, "{s:s}", "code", &code) != 0)
        return;
    enum pb_err err =
        pb_mfa_enrol_confirm(req->app, &req->principal, code, req->client_addr, codes);
    if (err != PB_ERR_OK) {
        reply_mfa_error(req, err);
        goto out;
    }
    json_t *list = json_array();
    for (int i = 0; list != NULL && i < PB_RECOVERY_CODES; i++)
        if (json_array_append_new(list, json_string(codes[i])) != 0) {
            json_decref(list);
            list = NULL;
        }
    if (list == NULL) {
        pb_reply_error(req, PB_ERR_NOMEM, NULL, "out of memory");
        goto out;
    }
    pb_reply_json(req, 200, json_pack("{s:o}", "recovery_codes", list));
out:
    sodium_memzero(codes, sizeof(codes));
}

void
pb_api_totp_delete(struct pb_request *req)
{
    const char *code = NULL;
    if (!has_code_body(req) || pb_json_unpack(req, req->json, "{s:s}", "code", &code) != 0)
        return;
    enum pb_err err = pb_mfa_disable(req->app, &req->principal, code, req->client_addr);
    if (err != PB_ERR_OK) {
        reply_mfa_error(req, err);
        return;
    }
    pb_reply_bytes(req, 204, NULL, "", 0);
}
