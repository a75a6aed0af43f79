/* Custom contact fields, their value types, and sealing values of sensitive ones. */
#include "model/field.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "core/clock.h"
#include "core/strutil.h"
#include "core/vec.h"
#include "model/contact.h"
#include "model/tenant.h"

enum { LABEL_CHARS = 100, RESEAL_BATCH = 500 };

/* Merge tags that exist for every contact or campaign: no field may take their names. */
static const char *const reserved[] = {"email", "id",     "unsubscribe_url",
                                       "list",  "status", "created_at"};

static bool
valid_key(const char *key, char why[PB_WHY_MAX])
{
    size_t len = key ? strlen(key) : 0;
    bool ok = len >= 1 && len <= PB_FIELD_KEY_MAX && key[0] >= 'a' && key[0] <= 'z';
    for (size_t i = 0; ok && i < len; i++)
        ok = (key[i] >= 'a' && key[i] <= 'z') || (key[i] >= '0' && key[i] <= '9') || key[i] == '_';
    if (!ok) {
        snprintf(why, PB_WHY_MAX, "a key is 1 to 64 of a-z, 0-9 and _, starting with a letter");
        return false;
    }
    for (size_t i = 0; i < sizeof(reserved) / sizeof(reserved[0]); i++) {
        if (strcmp(key, reserved[i]) == 0) {
            snprintf(why, PB_WHY_MAX, "\"%s\" is a built-in merge tag; choose another key", key);
            return false;
        }
    }
    return true;
}

static bool
valid_label(const char *label)
{
    return label != NULL && pb_str_clean_utf8(label, PB_LABEL_MAX) &&
           pb_str_utf8_chars(label) >= 1 && pb_str_utf8_chars(label) <= LABEL_CHARS;
}

static bool
valid_type(const char *type)
{
    return type != NULL && (strcmp(type, "text") == 0 || strcmp(type, "number") == 0 ||
                            strcmp(type, "date") == 0 || strcmp(type, "bool") == 0);
}

/* A real calendar date as YYYY-MM-DD. */
static bool
valid_date(const char *s)
{
    if (strlen(s) != 10 || s[4] != '-' || s[7] != '-')
        return false;
    for (int i = 0; i < 10; i++)
        if (i != 4 && i != 7 && !isdigit((unsigned char)s[i]))
            return false;
    int y = atoi(s), m = atoi(s + 5), d = atoi(s + 8);
    static const int days[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    if (y < 1 || m < 1 || m > 12 || d < 1)
        return false;
    bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    return d <= days[m - 1] + (m == 2 && leap);
}

enum pb_err
pb_field_value_check(const struct pb_field *field, const char *value, char out[PB_VALUE_MAX + 1],
                     char why[PB_WHY_MAX])
{
    if (strcmp(field->type, "number") == 0) {
        char *end = NULL;
        errno = 0;
        double d = strtod(value, &end);
        if (value[0] == '\0' || isspace((unsigned char)value[0]) || *end != '\0' || errno != 0 ||
            !isfinite(d) || strlen(value) > 64) {
            snprintf(why, PB_WHY_MAX, "%s is a number, like 42 or 3.5", field->key);
            return PB_ERR_FIELD_INVALID;
        }
    } else if (strcmp(field->type, "date") == 0) {
        if (!valid_date(value)) {
            snprintf(why, PB_WHY_MAX, "%s is a date as YYYY-MM-DD", field->key);
            return PB_ERR_FIELD_INVALID;
        }
    } else if (strcmp(field->type, "bool") == 0) {
        if (strcmp(value, "true") != 0 && strcmp(value, "false") != 0) {
            snprintf(why, PB_WHY_MAX, "%s is true or false", field->key);
            return PB_ERR_FIELD_INVALID;
        }
    } else if (!pb_str_clean_utf8(value, PB_VALUE_MAX) ||
               pb_str_utf8_chars(value) > PB_FIELD_VALUE_CHARS) {
        snprintf(why, PB_WHY_MAX, "%s is text of at most %d characters, without control characters",
                 field->key, PB_FIELD_VALUE_CHARS);
        return PB_ERR_FIELD_INVALID;
    }
    pb_strlcpy(out, value, PB_VALUE_MAX + 1);
    return PB_ERR_OK;
}

static enum pb_qs
insert_tx(struct pb_tx *tx, void *cls)
{
    enum pb_qs qs = tx->ops->field_insert(tx->conn, cls);
    return qs == PB_QS_NONE ? pb_tx_abort(tx, PB_ERR_CONFLICT) : qs;
}

enum pb_err
pb_field_create(struct pb_app *app, const struct pb_principal *who, const struct pb_field *in,
                struct pb_field *out, const char **field, char why[PB_WHY_MAX])
{
    *field = NULL;
    if (!valid_key(in->key, why)) {
        *field = "key";
        return PB_ERR_INVALID;
    }
    if (!valid_label(in->label)) {
        *field = "label";
        snprintf(why, PB_WHY_MAX, "a label is 1 to %d characters of text", LABEL_CHARS);
        return PB_ERR_INVALID;
    }
    if (!valid_type(in->type)) {
        *field = "type";
        snprintf(why, PB_WHY_MAX, "type is text, number, date or bool");
        return PB_ERR_INVALID;
    }
    *out = *in;
    pb_strlcpy(out->account_id, who->account_id, sizeof(out->account_id));
    out->created_at = pb_clock_now();
    enum pb_err err = pb_tenant_tx(app, who->account_id, PB_TX_WRITE, insert_tx, out);
    if (err == PB_ERR_CONFLICT) {
        *field = "key";
        snprintf(why, PB_WHY_MAX, "a field with this key exists already");
    }
    return err;
}

struct list_ctx {
    const char *account_id;
    struct pb_vec rows;
};

static void
collect(void *cls, const struct pb_field *f)
{
    pb_vec_push(cls, f);
}

static enum pb_qs
list_tx(struct pb_tx *tx, void *cls)
{
    struct list_ctx *l = cls;
    pb_vec_clear(&l->rows);
    return tx->ops->field_list(tx->conn, l->account_id, collect, &l->rows);
}

enum pb_err
pb_field_list(struct pb_app *app, const struct pb_principal *who, pb_field_cb cb, void *cls)
{
    /* Fields are few by nature; 1000 is a bound no account needs. */
    struct list_ctx l = {who->account_id, {0}};
    pb_vec_init(&l.rows, sizeof(struct pb_field), 1000);
    enum pb_err err = pb_tenant_tx(app, who->account_id, PB_TX_READ, list_tx, &l);
    if (err == PB_ERR_OK)
        err = l.rows.err;
    for (size_t i = 0; err == PB_ERR_OK && i < l.rows.count; i++)
        cb(cls, pb_vec_at(&l.rows, i));
    pb_vec_release(&l.rows);
    return err;
}

struct get_ctx {
    const char *account_id;
    const char *key;
    struct pb_field *out;
};

static enum pb_qs
get_tx(struct pb_tx *tx, void *cls)
{
    struct get_ctx *g = cls;
    enum pb_qs qs = tx->ops->field_get(tx->conn, g->account_id, g->key, g->out);
    return qs == PB_QS_NONE ? pb_tx_abort(tx, PB_ERR_NOT_FOUND) : qs;
}

enum pb_err
pb_field_get(struct pb_app *app, const struct pb_principal *who, const char *key,
             struct pb_field *out)
{
    if (key == NULL || strlen(key) > PB_FIELD_KEY_MAX)
        return PB_ERR_NOT_FOUND;
    struct get_ctx g = {who->account_id, key, out};
    return pb_tenant_tx(app, who->account_id, PB_TX_READ, get_tx, &g);
}

/* ---- sealing or opening every value of a field, batch by batch ---- */

struct reseal_ctx {
    const char *account_id;
    const char *key;
    const struct pb_data_key *dk;
    const char *after;
    struct pb_vec batch;
    int seen;
    int changed;
    bool gone; /* the field was deleted meanwhile */
};

static void
collect_value(void *cls, const struct pb_contact_value *v)
{
    struct reseal_ctx *r = cls;
    pb_vec_push(&r->batch, v);
    r->seen++;
}

static enum pb_qs
reseal_tx(struct pb_tx *tx, void *cls)
{
    struct reseal_ctx *r = cls;
    pb_vec_clear(&r->batch);
    r->seen = r->changed = 0;
    /* The flag as it is now: a job started for an older change converges to it. */
    struct pb_field f;
    enum pb_qs qs = tx->ops->field_get(tx->conn, r->account_id, r->key, &f);
    if (qs <= 0) {
        r->gone = qs == PB_QS_NONE;
        return qs;
    }
    qs = tx->ops->value_list_field(tx->conn, r->account_id, r->key, r->after, RESEAL_BATCH,
                                   collect_value, r);
    if (qs < 0 || r->batch.err != PB_ERR_OK)
        return qs < 0 ? qs : PB_QS_HARD_ERROR;
    for (size_t i = 0; i < r->batch.count; i++) {
        struct pb_contact_value *v = pb_vec_at(&r->batch, i);
        bool sealed = v->value_sealed_len > 0;
        if (sealed == f.sensitive)
            continue; /* already as wanted: an earlier, interrupted run did it */
        char place[PB_CONTACT_PLACE_MAX];
        pb_contact_value_place(v->account_id, v->contact_id, v->field_key, place);
        if (f.sensitive) {
            size_t len = strlen(v->value_text);
            pb_data_key_seal(r->dk, place, v->value_text, len, v->value_sealed);
            v->value_sealed_len = pb_sealed_len(len);
            sodium_memzero(v->value_text, sizeof(v->value_text));
        } else {
            unsigned char plain[PB_VALUE_SEALED_MAX];
            size_t len = 0;
            if (pb_data_key_open(r->dk, place, v->value_sealed, v->value_sealed_len, plain, &len) !=
                    PB_ERR_OK ||
                len > PB_VALUE_MAX)
                return pb_tx_abort(tx, PB_ERR_INTERNAL);
            memcpy(v->value_text, plain, len);
            v->value_text[len] = '\0';
            v->value_sealed_len = 0;
            sodium_memzero(plain, sizeof(plain));
        }
        if ((qs = tx->ops->value_put(tx->conn, v)) < 0)
            return qs;
        r->changed++;
    }
    return PB_QS_ONE;
}

enum pb_err
pb_field_reseal_batch(struct pb_app *app, const char *account_id, const char *key,
                      char after[PB_ID_LEN + 1], int *changed, bool *finished)
{
    *changed = 0;
    *finished = false;
    struct reseal_ctx r = {.account_id = account_id, .key = key, .after = after};
    enum pb_err err = pb_app_data_key(app, account_id, &r.dk);
    if (err != PB_ERR_OK)
        return err;
    pb_vec_init(&r.batch, sizeof(struct pb_contact_value), RESEAL_BATCH);
    err = pb_tenant_tx(app, account_id, PB_TX_WRITE, reseal_tx, &r);
    if (err == PB_ERR_OK) {
        *changed = r.changed;
        *finished = r.gone || r.seen < RESEAL_BATCH;
        if (r.batch.count > 0) {
            struct pb_contact_value *last = pb_vec_at(&r.batch, r.batch.count - 1);
            pb_strlcpy(after, last->contact_id, PB_ID_LEN + 1);
        }
    }
    if (r.batch.items != NULL)
        sodium_memzero(r.batch.items, r.batch.cap * r.batch.item_size);
    pb_vec_release(&r.batch);
    return err;
}

struct update_ctx {
    const char *account_id;
    const char *key;
    const char *label;
    const bool *sensitive;
    struct pb_field *out;
    char *job_id;
};

static enum pb_qs
update_tx(struct pb_tx *tx, void *cls)
{
    struct update_ctx *u = cls;
    u->job_id[0] = '\0';
    enum pb_qs qs = tx->ops->field_get(tx->conn, u->account_id, u->key, u->out);
    if (qs <= 0)
        return qs < 0 ? qs : pb_tx_abort(tx, PB_ERR_NOT_FOUND);
    bool flips = u->sensitive != NULL && *u->sensitive != u->out->sensitive;
    if (u->label != NULL)
        pb_strlcpy(u->out->label, u->label, sizeof(u->out->label));
    if (u->sensitive != NULL)
        u->out->sensitive = *u->sensitive;
    if ((qs = tx->ops->field_update(tx->conn, u->out)) < 0 || !flips)
        return qs;
    /* The values follow in a job, queued with the change so neither exists without the other. */
    struct pb_job job;
    memset(&job, 0, sizeof(job));
    pb_id_new(job.id);
    pb_strlcpy(job.account_id, u->account_id, sizeof(job.account_id));
    pb_strlcpy(job.kind, PB_FIELD_RESEAL_JOB, sizeof(job.kind));
    snprintf(job.params, sizeof(job.params), "{\"key\":\"%s\"}", u->key);
    pb_strlcpy(job.state, "queued", sizeof(job.state));
    job.created_at = job.updated_at = pb_clock_now();
    if ((qs = tx->ops->job_insert(tx->conn, &job)) < 0)
        return qs;
    pb_strlcpy(u->job_id, job.id, PB_ID_LEN + 1);
    return PB_QS_ONE;
}

enum pb_err
pb_field_update(struct pb_app *app, const struct pb_principal *who, const char *key,
                const char *label, const bool *sensitive, struct pb_field *out,
                char job_id[PB_ID_LEN + 1], const char **field, char why[PB_WHY_MAX])
{
    *field = NULL;
    job_id[0] = '\0';
    if (key == NULL || strlen(key) > PB_FIELD_KEY_MAX)
        return PB_ERR_NOT_FOUND;
    if (label != NULL && !valid_label(label)) {
        *field = "label";
        snprintf(why, PB_WHY_MAX, "a label is 1 to %d characters of text", LABEL_CHARS);
        return PB_ERR_INVALID;
    }
    struct update_ctx u = {who->account_id, key, label, sensitive, out, job_id};
    return pb_tenant_tx(app, who->account_id, PB_TX_WRITE, update_tx, &u);
}

static enum pb_qs
delete_tx(struct pb_tx *tx, void *cls)
{
    struct get_ctx *g = cls;
    enum pb_qs qs = tx->ops->field_delete(tx->conn, g->account_id, g->key);
    return qs == PB_QS_NONE ? pb_tx_abort(tx, PB_ERR_NOT_FOUND) : qs;
}

enum pb_err
pb_field_delete(struct pb_app *app, const struct pb_principal *who, const char *key)
{
    if (key == NULL || strlen(key) > PB_FIELD_KEY_MAX)
        return PB_ERR_NOT_FOUND;
    struct get_ctx g = {who->account_id, key, NULL};
    return pb_tenant_tx(app, who->account_id, PB_TX_WRITE, delete_tx, &g);
}
