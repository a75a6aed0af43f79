/* The audit log of sensitive actions. */
#include "model/audit.h"

#include <string.h>

#include "core/clock.h"
#include "core/id.h"
#include "core/strutil.h"
#include "core/vec.h"

void
pb_audit_entry_make(struct pb_audit_entry *entry, const char *account_id, const char *actor_user_id,
                    const char *action, const char *client_ip, const char *detail_json)
{
    memset(entry, 0, sizeof(*entry));
    pb_id_new(entry->id);
    pb_strlcpy(entry->account_id, account_id ? account_id : "", sizeof(entry->account_id));
    pb_strlcpy(entry->actor_user_id, actor_user_id ? actor_user_id : "",
               sizeof(entry->actor_user_id));
    pb_strlcpy(entry->action, action, sizeof(entry->action));
    pb_strlcpy(entry->client_ip, client_ip ? client_ip : "", sizeof(entry->client_ip));
    /* A detail too long for the log is replaced, never cut into invalid JSON. */
    if (detail_json == NULL || !pb_strlcpy(entry->detail, detail_json, sizeof(entry->detail)))
        pb_strlcpy(entry->detail, "{}", sizeof(entry->detail));
    entry->at = pb_clock_now();
}

static enum pb_qs
insert_tx(struct pb_tx *tx, void *cls)
{
    return tx->ops->audit_insert(tx->conn, cls);
}

enum pb_err
pb_audit_record(struct pb_app *app, const char *account_id, const char *actor_user_id,
                const char *action, const char *client_ip, const char *detail_json)
{
    struct pb_audit_entry entry;
    pb_audit_entry_make(&entry, account_id, actor_user_id, action, client_ip, detail_json);
    return pb_store_tx(app->control, PB_TX_WRITE, insert_tx, &entry);
}

struct list_ctx {
    const char *account_id;
    const char *before_id;
    int limit;
    struct pb_vec rows;
};

static void
collect(void *cls, const struct pb_audit_entry *entry)
{
    pb_vec_push(cls, entry);
}

static enum pb_qs
list_tx(struct pb_tx *tx, void *cls)
{
    struct list_ctx *l = cls;
    pb_vec_clear(&l->rows);
    return tx->ops->audit_list(tx->conn, l->account_id, l->before_id, l->limit, collect, &l->rows);
}

enum pb_err
pb_audit_list(struct pb_app *app, const char *account_id, const char *before_id, int limit,
              pb_audit_cb cb, void *cls)
{
    struct list_ctx l = {account_id, before_id ? before_id : "", limit, {0}};
    pb_vec_init(&l.rows, sizeof(struct pb_audit_entry), (size_t)(limit > 0 ? limit : 1));
    enum pb_err err = pb_store_tx(app->control, PB_TX_READ, list_tx, &l);
    if (err == PB_ERR_OK)
        err = l.rows.err;
    for (size_t i = 0; err == PB_ERR_OK && i < l.rows.count; i++)
        cb(cls, pb_vec_at(&l.rows, i));
    pb_vec_release(&l.rows);
    return err;
}
