/* Contact lists: create, read, change, delete. */
#include "model/list.h"

#include <stdio.h>
#include <string.h>

#include "core/clock.h"
#include "core/strutil.h"
#include "core/vec.h"
#include "model/tenant.h"

enum { NAME_CHARS = 100, DESCRIPTION_CHARS = 1000 };

/* Checks name and description; `field` and `why` name the bad one. */
static enum pb_err
check(const char *name, const char *description, const char **field, char why[PB_WHY_MAX])
{
    if (name != NULL && (!pb_str_clean_utf8(name, PB_LABEL_MAX) || pb_str_utf8_chars(name) == 0 ||
                         pb_str_utf8_chars(name) > NAME_CHARS)) {
        *field = "name";
        snprintf(why, PB_WHY_MAX, "a list name is 1 to %d characters of text", NAME_CHARS);
        return PB_ERR_INVALID;
    }
    /* Descriptions may hold line breaks: check them line by line. */
    if (description != NULL) {
        size_t len = strlen(description);
        bool ok = len <= PB_DESCRIPTION_MAX && pb_str_utf8_chars(description) <= DESCRIPTION_CHARS;
        char line[PB_DESCRIPTION_MAX + 1];
        for (const char *p = description; ok && *p;) {
            size_t n = strcspn(p, "\n");
            memcpy(line, p, n);
            line[n] = '\0';
            if (n > 0 && line[n - 1] == '\r')
                line[n - 1] = '\0';
            ok = pb_str_clean_utf8(line, sizeof(line));
            p += n + (p[n] == '\n');
        }
        if (!ok) {
            *field = "description";
            snprintf(why, PB_WHY_MAX, "a description is at most %d characters of text",
                     DESCRIPTION_CHARS);
            return PB_ERR_INVALID;
        }
    }
    return PB_ERR_OK;
}

static enum pb_qs
insert_tx(struct pb_tx *tx, void *cls)
{
    return tx->ops->list_insert(tx->conn, cls);
}

enum pb_err
pb_list_create(struct pb_app *app, const struct pb_principal *who, const char *name,
               const char *description, bool is_public, struct pb_list *out, const char **field,
               char why[PB_WHY_MAX])
{
    *field = NULL;
    if (name == NULL) {
        *field = "name";
        snprintf(why, PB_WHY_MAX, "a list needs a name");
        return PB_ERR_INVALID;
    }
    enum pb_err err = check(name, description, field, why);
    if (err != PB_ERR_OK)
        return err;
    memset(out, 0, sizeof(*out));
    pb_id_new(out->id);
    pb_strlcpy(out->account_id, who->account_id, sizeof(out->account_id));
    pb_strlcpy(out->name, name, sizeof(out->name));
    pb_strlcpy(out->description, description ? description : "", sizeof(out->description));
    out->is_public = is_public;
    out->created_at = pb_clock_now();
    return pb_tenant_tx(app, who->account_id, PB_TX_WRITE, insert_tx, out);
}

struct get_ctx {
    const char *account_id;
    const char *id;
    struct pb_list *out;
};

static enum pb_qs
get_tx(struct pb_tx *tx, void *cls)
{
    struct get_ctx *g = cls;
    enum pb_qs qs = tx->ops->list_get(tx->conn, g->account_id, g->id, g->out);
    return qs == PB_QS_NONE ? pb_tx_abort(tx, PB_ERR_NOT_FOUND) : qs;
}

enum pb_err
pb_list_get(struct pb_app *app, const struct pb_principal *who, const char *id, struct pb_list *out)
{
    if (!pb_id_valid(id))
        return PB_ERR_NOT_FOUND;
    struct get_ctx g = {who->account_id, id, out};
    return pb_tenant_tx(app, who->account_id, PB_TX_READ, get_tx, &g);
}

struct list_ctx {
    const char *account_id;
    const char *after_id;
    int limit;
    struct pb_vec rows;
};

static void
collect(void *cls, const struct pb_list *l)
{
    pb_vec_push(cls, l);
}

static enum pb_qs
list_tx(struct pb_tx *tx, void *cls)
{
    struct list_ctx *l = cls;
    pb_vec_clear(&l->rows);
    return tx->ops->list_list(tx->conn, l->account_id, l->after_id, l->limit, collect, &l->rows);
}

enum pb_err
pb_list_list(struct pb_app *app, const struct pb_principal *who, const char *after_id, int limit,
             pb_list_cb cb, void *cls)
{
    struct list_ctx l = {who->account_id, after_id ? after_id : "", limit, {0}};
    pb_vec_init(&l.rows, sizeof(struct pb_list), (size_t)(limit > 0 ? limit : 1));
    enum pb_err err = pb_tenant_tx(app, who->account_id, PB_TX_READ, list_tx, &l);
    if (err == PB_ERR_OK)
        err = l.rows.err;
    for (size_t i = 0; err == PB_ERR_OK && i < l.rows.count; i++)
        cb(cls, pb_vec_at(&l.rows, i));
    pb_vec_release(&l.rows);
    return err;
}

struct update_ctx {
    struct get_ctx g;
    const char *name;
    const char *description;
    const bool *is_public;
};

static enum pb_qs
update_tx(struct pb_tx *tx, void *cls)
{
    struct update_ctx *u = cls;
    enum pb_qs qs = get_tx(tx, &u->g);
    if (qs < 0)
        return qs;
    if (u->name != NULL)
        pb_strlcpy(u->g.out->name, u->name, sizeof(u->g.out->name));
    if (u->description != NULL)
        pb_strlcpy(u->g.out->description, u->description, sizeof(u->g.out->description));
    if (u->is_public != NULL)
        u->g.out->is_public = *u->is_public;
    return tx->ops->list_update(tx->conn, u->g.out);
}

enum pb_err
pb_list_update(struct pb_app *app, const struct pb_principal *who, const char *id, const char *name,
               const char *description, const bool *is_public, struct pb_list *out,
               const char **field, char why[PB_WHY_MAX])
{
    *field = NULL;
    if (!pb_id_valid(id))
        return PB_ERR_NOT_FOUND;
    enum pb_err err = check(name, description, field, why);
    if (err != PB_ERR_OK)
        return err;
    struct update_ctx u = {{who->account_id, id, out}, name, description, is_public};
    return pb_tenant_tx(app, who->account_id, PB_TX_WRITE, update_tx, &u);
}

static enum pb_qs
delete_tx(struct pb_tx *tx, void *cls)
{
    struct get_ctx *g = cls;
    enum pb_qs qs = tx->ops->list_delete(tx->conn, g->account_id, g->id);
    return qs == PB_QS_NONE ? pb_tx_abort(tx, PB_ERR_NOT_FOUND) : qs;
}

enum pb_err
pb_list_delete(struct pb_app *app, const struct pb_principal *who, const char *id)
{
    if (!pb_id_valid(id))
        return PB_ERR_NOT_FOUND;
    struct get_ctx g = {who->account_id, id, NULL};
    return pb_tenant_tx(app, who->account_id, PB_TX_WRITE, delete_tx, &g);
}
