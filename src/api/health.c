/* GET /healthz: whether this node can serve (the control store answers). */
#include "api/api.h"

#include "core/log.h"
#include "http/request.h"
#include "http/server.h"
#include "store/store.h"

static enum pb_qs
read_schema_version(struct pb_tx *tx, void *cls)
{
    return tx->ops->schema_version(tx->conn, cls);
}

void
pb_api_healthz(struct pb_request *req)
{
    if (req->app != NULL && req->app->control != NULL) {
        int version = 0;
        enum pb_err err = pb_store_tx(req->app->control, PB_TX_READ, read_schema_version, &version);
        if (err != PB_ERR_OK) {
            pb_warn("health check: the control store does not answer (%s)", pb_err_name(err));
            pb_reply_json(req, 503, json_pack("{s:s}", "status", "unavailable"));
            return;
        }
    }
    pb_reply_json(req, 200, json_pack("{s:s}", "status", "ok"));
}
