/*
 * POST /evidence: an evidence image (the raw body), accepted only when its
 * content is a well-formed PNG, JPEG or WebP (the declared Content-Type
 * decides nothing), deduplicated by SHA-256. GET /evidence/{id}: the image
 * back, as an attachment, to those allowed to see consent histories.
 */
#include "api/api.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "api/contact_common.h"
#include "core/id.h"
#include "http/request.h"
#include "model/evidence.h"

/* The file name extension of a stored type. */
static const char *
extension(const char *type)
{
    if (strcmp(type, "image/png") == 0)
        return "png";
    if (strcmp(type, "image/jpeg") == 0)
        return "jpg";
    if (strcmp(type, "image/webp") == 0)
        return "webp";
    return "bin";
}

void
pb_api_evidence_create(struct pb_request *req)
{
    const struct pb_principal *who = pb_request_caller(req);
    if (who == NULL)
        return;
    if (req->body.len == 0 || req->body.data == NULL) {
        pb_reply_error(req, PB_ERR_INVALID, NULL,
                       "the body is empty: send the image itself (PNG, JPEG or WebP)");
        return;
    }
    struct pb_evidence ev;
    memset(&ev, 0, sizeof(ev));
    bool existed = false;
    char why[PB_WHY_MAX] = "";
    enum pb_err err = pb_evidence_store(req->app, who, (const unsigned char *)req->body.data,
                                        req->body.len, &ev, &existed, why);
    if (err != PB_ERR_OK) {
        pb_api_reply_failure(req, err, NULL, why, "no such evidence", "store the evidence");
        return;
    }
    char hex[PB_SHA256_BYTES * 2 + 1];
    sodium_bin2hex(hex, sizeof(hex), ev.sha256, sizeof(ev.sha256));
    pb_reply_json(req, existed ? 200 : 201,
                  json_pack("{s:s, s:s, s:s, s:I}", "id", ev.id, "sha256", hex, "type", ev.type,
                            "size", (json_int_t)ev.size));
}

void
pb_api_evidence_get(struct pb_request *req)
{
    const struct pb_principal *who = pb_request_caller(req);
    if (who == NULL)
        return;
    const char *id = pb_request_param(req, "id");
    if (id == NULL || !pb_id_valid(id)) {
        pb_reply_error(req, PB_ERR_NOT_FOUND, NULL, "no such evidence");
        return;
    }
    struct pb_evidence ev;
    memset(&ev, 0, sizeof(ev));
    unsigned char *data = NULL;
    size_t len = 0;
    enum pb_err err = pb_evidence_read(req->app, who, id, &ev, &data, &len);
    if (err != PB_ERR_OK) {
        pb_api_reply_failure(req, err, NULL, NULL, "no such evidence", "read the evidence");
        free(data);
        return;
    }
    char disposition[96];
    snprintf(disposition, sizeof(disposition), "attachment; filename=\"evidence-%s.%s\"", ev.id,
             extension(ev.type));
    if (pb_request_add_reply_header(req, "Content-Disposition", disposition) != 0 ||
        pb_request_add_reply_header(req, "Cache-Control", "no-store") != 0)
        pb_reply_error(req, PB_ERR_NOMEM, NULL, "out of memory");
    else
        pb_reply_bytes(req, 200, ev.type, data != NULL ? (const void *)data : "", len);
    if (data != NULL)
        sodium_memzero(data, len);
    free(data);
}
