/*
 * POST /consent-statements: a reusable statement of how addresses were
 * lawfully obtained. GET /consent?email=: a person's whole history.
 * GET /subject-access?email=: the same as a downloadable report (GDPR
 * art. 15/20). GET /consent/verify: checks the account's hash chain.
 * The router lets only roles with consent.history read histories. Never log
 * an address.
 */
#include "api/api.h"

#include <stdbool.h>
#include <string.h>

#include "api/contact_common.h"
#include "core/clock.h"
#include "http/json.h"
#include "http/request.h"
#include "model/consent.h"

/* A statement as the API shows it. */
static json_t *
statement_json(const struct pb_consent_statement *st)
{
    char created[21];
    pb_clock_format_rfc3339(st->created_at, created);
    json_t *evidence = json_array();
    for (int i = 0; evidence != NULL && i < st->evidence_count; i++)
        if (json_array_append_new(evidence, json_string(st->evidence_ids[i])) != 0) {
            json_decref(evidence);
            evidence = NULL;
        }
    if (evidence == NULL)
        return NULL;
    return json_pack("{s:s, s:s, s:s, s:o, s:s}", "id", st->id, "basis", st->basis, "description",
                     st->description, "evidence_ids", evidence, "created_at", created);
}

void
pb_api_statements_create(struct pb_request *req)
{
    const struct pb_principal *who = pb_request_caller(req);
    struct pb_consent_input in;
    memset(&in, 0, sizeof(in));
    json_t *evidence = NULL;
    if (who == NULL ||
        pb_json_unpack(req, req->json, "{s:s, s:s, s?o}", "basis", &in.basis, "description",
                       &in.description, "evidence_ids", &evidence) != 0 ||
        pb_api_evidence_ids_parse(req, evidence, "evidence_ids", &in) != 0)
        return;
    char actor[PB_API_ACTOR_MAX];
    struct pb_consent_origin origin;
    pb_api_consent_origin(req, who, actor, &origin);
    struct pb_consent_statement st;
    memset(&st, 0, sizeof(st));
    const char *field = NULL;
    char why[PB_WHY_MAX] = "";
    enum pb_err err = pb_consent_statement_create(req->app, who, &in, &origin, &st, &field, why);
    if (err == PB_ERR_OK)
        pb_reply_json(req, 201, statement_json(&st));
    else
        pb_api_reply_failure(req, err, field, why, "no such evidence",
                             "create the consent statement");
}

/*
 * The history of the ?email= of the request (a new reference, {found:false}
 * when the account has no such address), or NULL after replying.
 */
static json_t *
history(struct pb_request *req, const struct pb_principal *who)
{
    const char *email = pb_request_query(req, "email");
    if (email == NULL || email[0] == '\0') {
        pb_reply_error(req, PB_ERR_BAD_REQUEST, "email", "give the address: ?email=");
        return NULL;
    }
    bool found = false;
    json_t *out = NULL;
    char why[PB_WHY_MAX] = "";
    enum pb_err err = pb_consent_history(req->app, who->account_id, email, &found, &out, why);
    if (err == PB_ERR_EMAIL_INVALID) {
        json_decref(out);
        pb_reply_error(req, err, "email", "%s", why[0] != '\0' ? why : "the address is not valid");
        return NULL;
    }
    if (err != PB_ERR_OK) {
        json_decref(out);
        pb_api_reply_failure(req, err, "email", why, "no such address", "read the history");
        return NULL;
    }
    if (!found || out == NULL) {
        json_decref(out);
        out = json_pack("{s:b}", "found", 0);
    } else if (json_is_object(out) && json_object_get(out, "found") == NULL) {
        json_object_set_new(out, "found", json_true());
    }
    if (out == NULL)
        pb_reply_error(req, PB_ERR_NOMEM, NULL, "out of memory");
    return out;
}

void
pb_api_consent_history(struct pb_request *req)
{
    const struct pb_principal *who = pb_request_caller(req);
    json_t *out = who != NULL ? history(req, who) : NULL;
    if (out != NULL)
        pb_reply_json(req, 200, out);
}

void
pb_api_subject_access(struct pb_request *req)
{
    const struct pb_principal *who = pb_request_caller(req);
    json_t *data = who != NULL ? history(req, who) : NULL;
    if (data == NULL)
        return;
    char now[21];
    pb_clock_format_rfc3339(pb_clock_now(), now);
    json_t *report = json_pack("{s:s, s:s, s:s, s:o}", "report", "GDPR art. 15/20 subject access",
                               "generated_at", now, "account_id", who->account_id, "data", data);
    if (report == NULL) {
        pb_reply_error(req, PB_ERR_NOMEM, NULL, "out of memory");
        return;
    }
    if (pb_request_add_reply_header(req, "Content-Disposition",
                                    "attachment; filename=\"subject-access.json\"") != 0) {
        json_decref(report);
        pb_reply_error(req, PB_ERR_NOMEM, NULL, "out of memory");
        return;
    }
    pb_reply_json(req, 200, report);
}

void
pb_api_consent_verify(struct pb_request *req)
{
    const struct pb_principal *who = pb_request_caller(req);
    if (who == NULL)
        return;
    bool ok = false;
    long events = 0;
    char why[PB_WHY_MAX] = "";
    enum pb_err err = pb_consent_verify(req->app, who->account_id, &ok, &events, why);
    if (err != PB_ERR_OK) {
        pb_api_reply_failure(req, err, NULL, NULL, "no such log", "verify the consent log");
        return;
    }
    json_t *out = json_pack("{s:b, s:I}", "ok", ok, "events", (json_int_t)events);
    if (out != NULL && !ok)
        json_object_set_new(out, "problem", json_string(why));
    pb_reply_json(req, 200, out);
}
