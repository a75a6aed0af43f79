/*
 * GET /lists/{id}/export?format=csv|json: the members of a list as a
 * download, streamed straight from the database (model/export.h) so that a
 * list of any size takes the same memory. The router lets only roles with
 * contacts.export in (authors get 403); closing the export, when the
 * connection is done with it, writes the audit entry.
 */
#include "api/api.h"

#include <stdio.h>
#include <string.h>

#include "api/contact_common.h"
#include "core/id.h"
#include "core/log.h"
#include "http/request.h"
#include "model/export.h"
#include "model/roles.h"

/* The stream's source: the export, read on the server's thread. */
static ssize_t
export_read(void *cls, char *buf, size_t max)
{
    size_t got = 0;
    enum pb_err err = pb_export_read(cls, buf, max, &got);
    if (err != PB_ERR_OK) {
        pb_error("an export was cut short: %s", pb_err_hint(err));
        return -1;
    }
    return (ssize_t)got;
}

/* Sent whole, cut short or never sent: the export is closed and audited. */
static void
export_done(void *cls)
{
    int64_t rows = 0;
    bool complete = false;
    pb_export_close(cls, &rows, &complete);
    pb_info("export: %lld rows%s", (long long)rows, complete ? "" : ", cut short");
}

/* HEAD: the headers of the download, no body and no export. */
static ssize_t
empty_read(void *cls, char *buf, size_t max)
{
    (void)cls;
    (void)buf;
    (void)max;
    return 0;
}

static void
empty_done(void *cls)
{
    (void)cls;
}

void
pb_api_lists_export(struct pb_request *req)
{
    const struct pb_principal *who = pb_request_caller(req);
    if (who == NULL)
        return;
    const char *list_id = pb_request_param(req, "id");
    if (list_id == NULL || !pb_id_valid(list_id)) {
        pb_reply_error(req, PB_ERR_NOT_FOUND, NULL, "no such list");
        return;
    }
    enum pb_export_format format = PB_EXPORT_CSV;
    const char *name = pb_request_query(req, "format");
    if (name != NULL && pb_export_format_parse(name, &format) != PB_ERR_OK) {
        pb_reply_error(req, PB_ERR_BAD_REQUEST, "format", "format is csv or json");
        return;
    }
    char actor[PB_API_ACTOR_MAX];
    if (who->via_api_key)
        snprintf(actor, sizeof(actor), "api_key:%s", who->api_key_id);
    else
        snprintf(actor, sizeof(actor), "user:%s", who->user_id);
    struct pb_export_params params = {
        .account_id = who->account_id,
        .list_id = list_id,
        .format = format,
        .reveal = pb_role_allows(who->role, PB_PERM_CONTACTS_VIEW_ADDRESSES),
        .actor_user_id = who->user_id,
        .actor = actor,
        .client_ip = req->client_addr,
    };
    struct pb_export *x = NULL;
    enum pb_err err = pb_export_open(req->app, &params, &x);
    if (err != PB_ERR_OK) {
        pb_api_reply_failure(req, err, NULL, NULL, "no such list", "export the list");
        return;
    }
    char filename[64];
    snprintf(filename, sizeof(filename), "list-%s.%s", list_id, pb_export_format_name(format));
    const char *type =
        format == PB_EXPORT_CSV ? "text/csv; charset=utf-8" : "application/json; charset=utf-8";
    if (strcmp(req->method, "HEAD") == 0) {
        pb_export_discard(x);
        pb_reply_stream(req, 200, type, filename, empty_read, empty_done, NULL);
        return;
    }
    pb_reply_stream(req, 200, type, filename, export_read, export_done, x);
}
