/*
 * POST /imports: a multipart/form-data upload (the CSV in part `file`, and
 * the parts list_ids, basis, description or statement_id, evidence_ids,
 * mode, columns, override_suppression), parsed by libmicrohttpd's post
 * processor as it arrives, the file going straight into the database in
 * sealed chunks; then the import job is queued (202). GET /imports/{id}:
 * progress, counts and the rejected lines.
 */
#include <stdlib.h>
#include <string.h>

#include <microhttpd.h>

#include "api/api.h"
#include "api/contact_common.h"
#include "core/buf.h"
#include "core/strutil.h"
#include "http/request.h"
#include "model/import.h"

enum {
    POST_BUFFER = 64 * 1024, /* the post processor's buffer */
    PART_MAX = 64 * 1024,    /* bytes of one form part other than the file */
    REJECTS_DEFAULT = 100,   /* rejected lines per page */
    REJECTS_MAX = 1000,
};

/* The form parts besides the file, in the order of `part_names`. */
static const char *const part_names[] = {
    "list_ids",     "basis", "description", "statement_id",
    "evidence_ids", "mode",  "columns",     "override_suppression"};
enum {
    PART_LISTS,
    PART_BASIS,
    PART_DESCRIPTION,
    PART_STATEMENT,
    PART_EVIDENCE,
    PART_MODE,
    PART_COLUMNS,
    PART_OVERRIDE,
    PARTS
};

struct upload_state {
    struct pb_request *req;
    struct MHD_PostProcessor *pp;
    struct pb_import_upload *up;
    bool saw_file;
    bool imported; /* the job took the upload: keep it */
    /* The first problem; everything after it is read and dropped. */
    enum pb_err err;
    const char *field;
    char why[PB_WHY_MAX];
    struct pb_buf parts[PARTS];
};

static void
upload_free(void *cls)
{
    struct upload_state *st = cls;
    if (st->pp != NULL)
        MHD_destroy_post_processor(st->pp);
    pb_import_upload_free(st->up, !st->imported);
    for (int i = 0; i < PARTS; i++)
        pb_buf_release(&st->parts[i], 0);
    free(st);
}

static void
refuse(struct upload_state *st, enum pb_err err, const char *field, const char *why)
{
    if (st->err != PB_ERR_OK)
        return;
    st->err = err;
    st->field = field;
    pb_strlcpy(st->why, why, sizeof(st->why));
}

static enum MHD_Result
iterate(void *cls, enum MHD_ValueKind kind, const char *key, const char *filename,
        const char *content_type, const char *transfer_encoding, const char *data, uint64_t off,
        size_t size)
{
    (void)kind, (void)filename, (void)content_type, (void)transfer_encoding, (void)off;
    struct upload_state *st = cls;
    if (st->err != PB_ERR_OK)
        return MHD_NO;
    if (strcmp(key, "file") == 0) {
        st->saw_file = true;
        char why[PB_WHY_MAX];
        enum pb_err err = size > 0 ? pb_import_upload_write(st->up, data, size, why) : PB_ERR_OK;
        if (err != PB_ERR_OK) {
            refuse(st, err, "file", why);
            return MHD_NO;
        }
        return MHD_YES;
    }
    for (int i = 0; i < PARTS; i++)
        if (strcmp(key, part_names[i]) == 0) {
            /* A part given twice (list_ids, evidence_ids) is read as one comma-separated list. */
            if (off == 0 && st->parts[i].len > 0 &&
                pb_buf_append(&st->parts[i], ",", 1) != PB_ERR_OK)
                break;
            if (size > 0 && pb_buf_append(&st->parts[i], data, size) != PB_ERR_OK)
                break;
            return MHD_YES;
        }
    bool known = false;
    for (int i = 0; i < PARTS; i++)
        known = known || strcmp(key, part_names[i]) == 0;
    refuse(st, known ? PB_ERR_BODY_TOO_LARGE : PB_ERR_INVALID, key,
           known ? "a form part is at most 64 KiB" : "unknown form part");
    return MHD_NO;
}

void
pb_api_imports_body(struct pb_request *req, const char *data, size_t len)
{
    struct upload_state *st = req->upload;
    if (st == NULL) {
        const struct pb_principal *who = pb_request_principal(req);
        if (who == NULL || (st = calloc(1, sizeof(*st))) == NULL)
            return;
        st->req = req;
        for (int i = 0; i < PARTS; i++)
            pb_buf_init(&st->parts[i], PART_MAX);
        req->upload = st;
        req->upload_free = upload_free;
        st->pp = MHD_create_post_processor(req->conn, POST_BUFFER, iterate, st);
        if (st->pp == NULL) {
            refuse(st, PB_ERR_UNSUPPORTED_MEDIA_TYPE, NULL,
                   "send the file as multipart/form-data, in a part named \"file\"");
            return;
        }
        enum pb_err err = pb_import_upload_begin(req->app, who->account_id, &st->up);
        if (err != PB_ERR_OK) {
            refuse(st, err, NULL, "cannot store the upload now");
            return;
        }
    }
    if (st->err == PB_ERR_OK && st->pp != NULL && MHD_post_process(st->pp, data, len) != MHD_YES)
        refuse(st, PB_ERR_INVALID, "file", "the multipart body is malformed");
}

/* A part as a NUL-terminated string, or NULL when absent or empty. */
static const char *
part(struct upload_state *st, int i)
{
    if (st->parts[i].len == 0 || pb_buf_append(&st->parts[i], "", 1) != PB_ERR_OK)
        return NULL;
    return (const char *)st->parts[i].data;
}

/* Splits a comma- or space-separated list in place; PB_ERR_TOO_LARGE past `max` items. */
static enum pb_err
split(char *s, const char **out, int max, int *count)
{
    *count = 0;
    for (char *save = NULL, *tok = strtok_r(s, ", \t\r\n", &save); tok != NULL;
         tok = strtok_r(NULL, ", \t\r\n", &save)) {
        if (*count == max)
            return PB_ERR_TOO_LARGE;
        out[(*count)++] = tok;
    }
    return PB_ERR_OK;
}

void
pb_api_imports_create(struct pb_request *req)
{
    const struct pb_principal *who = pb_request_caller(req);
    if (who == NULL)
        return;
    struct upload_state *st = req->upload;
    if (st == NULL) {
        pb_reply_error(req, PB_ERR_INVALID, "file",
                       "send the file as multipart/form-data, in a part named \"file\"");
        return;
    }
    if (st->pp != NULL && st->err == PB_ERR_OK) {
        /* Tells the post processor that the body ended, so it hands over what it holds. */
        enum MHD_Result complete = MHD_destroy_post_processor(st->pp);
        st->pp = NULL;
        if (complete != MHD_YES)
            refuse(st, PB_ERR_INVALID, "file", "the multipart body ends before its last part does");
    }
    if (st->err != PB_ERR_OK) {
        pb_reply_error(req, st->err, st->field, "%s", st->why);
        return;
    }
    if (!st->saw_file) {
        pb_reply_error(req, PB_ERR_INVALID, "file", "no part named \"file\": attach the CSV file");
        return;
    }

    struct pb_import_request in;
    struct pb_consent_input consent;
    memset(&in, 0, sizeof(in));
    memset(&consent, 0, sizeof(consent));
    char *lists = (char *)part(st, PART_LISTS);
    if (lists == NULL ||
        split(lists, in.list_ids, PB_CONTACT_LISTS_MAX, &in.list_count) != PB_ERR_OK ||
        in.list_count == 0) {
        pb_reply_error(req, PB_ERR_INVALID, "list_ids", "name 1 to %d lists (comma-separated ids)",
                       PB_CONTACT_LISTS_MAX);
        return;
    }
    consent.basis = part(st, PART_BASIS);
    consent.description = part(st, PART_DESCRIPTION);
    consent.statement_id = part(st, PART_STATEMENT);
    char *evidence = (char *)part(st, PART_EVIDENCE);
    if (evidence != NULL && split(evidence, consent.evidence_ids, PB_STATEMENT_EVIDENCE,
                                  &consent.evidence_count) != PB_ERR_OK) {
        pb_reply_error(req, PB_ERR_INVALID, "evidence_ids", "at most %d evidence images",
                       PB_STATEMENT_EVIDENCE);
        return;
    }
    if (consent.statement_id != NULL || consent.basis != NULL || consent.description != NULL ||
        consent.evidence_count > 0)
        in.consent = &consent;
    in.mode = part(st, PART_MODE);
    const char *override = part(st, PART_OVERRIDE);
    if (override != NULL && strcmp(override, "true") != 0 && strcmp(override, "false") != 0) {
        pb_reply_error(req, PB_ERR_INVALID, "override_suppression",
                       "override_suppression is \"true\" or \"false\"");
        return;
    }
    in.override_suppression = override != NULL && strcmp(override, "true") == 0;
    in.client_ip = req->client_addr;
    const char *columns = part(st, PART_COLUMNS);
    if (columns != NULL &&
        (in.columns = json_loads(columns, JSON_REJECT_DUPLICATES, NULL)) == NULL) {
        pb_reply_error(req, PB_ERR_INVALID, "columns",
                       "columns is a JSON object: header name -> \"email\", a field key or null");
        return;
    }

    char actor[PB_API_ACTOR_MAX];
    struct pb_consent_origin origin;
    pb_api_consent_origin(req, who, actor, &origin);
    char id[PB_ID_LEN + 1], why[PB_WHY_MAX] = "";
    const char *field = NULL;
    enum pb_err err = pb_import_start(req->app, who, st->up, &in, &origin, id, &field, why);
    json_decref(in.columns);
    if (err != PB_ERR_OK) {
        pb_reply_error(req, err, field, "%s", why[0] ? why : "cannot start the import now");
        return;
    }
    st->imported = true;
    char location[64];
    snprintf(location, sizeof(location), "/api/v1/imports/%s", id);
    pb_request_add_reply_header(req, "Location", location);
    pb_reply_json(req, 202, json_pack("{s:s, s:s}", "id", id, "state", "queued"));
}

void
pb_api_imports_get(struct pb_request *req)
{
    const struct pb_principal *who = pb_request_caller(req);
    if (who == NULL)
        return;
    long after = 0, limit = REJECTS_DEFAULT;
    const char *cursor = pb_request_query(req, "cursor");
    const char *limit_text = pb_request_query(req, "limit");
    if (cursor != NULL && !pb_str_to_long(cursor, 0, INT64_MAX / 2, &after)) {
        pb_reply_error(req, PB_ERR_INVALID, "cursor", "the cursor is the next_cursor of a page");
        return;
    }
    if (limit_text != NULL && !pb_str_to_long(limit_text, 1, REJECTS_MAX, &limit)) {
        pb_reply_error(req, PB_ERR_INVALID, "limit", "limit is 1 to %d", REJECTS_MAX);
        return;
    }
    json_t *out = NULL;
    enum pb_err err = pb_import_get_json(req->app, who->account_id, pb_request_param(req, "id"),
                                         after, (int)limit, &out);
    if (err == PB_ERR_OK)
        pb_reply_json(req, 200, out);
    else if (err == PB_ERR_NOT_FOUND)
        pb_reply_error(req, err, NULL, "no such import in this account");
    else
        pb_reply_error(req, err, NULL, "cannot read the import now");
}
