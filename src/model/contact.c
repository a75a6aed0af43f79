/* Contacts: sealed addresses with a blind index, field values, memberships, consent events. */
#include "model/contact.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "core/clock.h"
#include "core/strutil.h"
#include "model/delivery.h"
#include "model/email.h"
#include "model/erasure.h"
#include "model/field.h"
#include "model/roles.h"
#include "model/tenant.h"

void
pb_contact_email_place(const char *account_id, const char *contact_id,
                       char place[PB_CONTACT_PLACE_MAX])
{
    snprintf(place, PB_CONTACT_PLACE_MAX, "contact_email:%s:%s", account_id, contact_id);
}

void
pb_contact_value_place(const char *account_id, const char *contact_id, const char *key,
                       char place[PB_CONTACT_PLACE_MAX])
{
    snprintf(place, PB_CONTACT_PLACE_MAX, "contact_field:%s:%s:%s", account_id, contact_id, key);
}

enum pb_err
pb_contact_email_index(struct pb_app *app, const char *account_id, const char *email,
                       unsigned char bidx[PB_BIDX_MAX], char why[PB_WHY_MAX])
{
    char normal[PB_EMAIL_MAX + 1];
    if (email == NULL || pb_email_normalize(email, PB_EMAIL_LOWER_ALL, normal, why) != PB_ERR_OK)
        return PB_ERR_EMAIL_INVALID;
    const struct pb_data_key *key = NULL;
    enum pb_err err = pb_app_data_key(app, account_id, &key);
    if (err != PB_ERR_OK)
        return err;
    /* Lower-cased as a whole: one person, one contact, whatever the case they type. */
    pb_data_key_blind_index(key, "email", normal, strlen(normal), bidx);
    return PB_ERR_OK;
}

/* The address of a contact, opened; "" when erased or unreadable. */
static void
open_email(const struct pb_data_key *key, const struct pb_contact *c, char out[PB_EMAIL_MAX + 1])
{
    char place[PB_CONTACT_PLACE_MAX];
    size_t len = 0;
    out[0] = '\0';
    if (c->email_sealed_len == 0 || c->email_sealed_len > PB_EMAIL_SEALED_MAX)
        return;
    pb_contact_email_place(c->account_id, c->id, place);
    unsigned char plain[PB_EMAIL_SEALED_MAX];
    if (pb_data_key_open(key, place, c->email_sealed, c->email_sealed_len, plain, &len) ==
            PB_ERR_OK &&
        len <= PB_EMAIL_MAX) {
        memcpy(out, plain, len);
        out[len] = '\0';
    }
    sodium_memzero(plain, sizeof(plain));
}

struct json_ctx {
    const struct pb_data_key *key;
    bool reveal;
    json_t *fields;
    json_t *lists;
};

static void
value_json(void *cls, const struct pb_contact_value *v)
{
    struct json_ctx *j = cls;
    if (v->value_sealed_len == 0) {
        json_object_set_new(j->fields, v->field_key, json_string(v->value_text));
        return;
    }
    if (!j->reveal)
        return; /* sensitive values only for those who may see them */
    char place[PB_CONTACT_PLACE_MAX];
    unsigned char plain[PB_VALUE_SEALED_MAX];
    size_t len = 0;
    pb_contact_value_place(v->account_id, v->contact_id, v->field_key, place);
    if (pb_data_key_open(j->key, place, v->value_sealed, v->value_sealed_len, plain, &len) ==
        PB_ERR_OK)
        json_object_set_new(j->fields, v->field_key, json_stringn((const char *)plain, len));
    sodium_memzero(plain, sizeof(plain));
}

static void
membership_json(void *cls, const struct pb_membership *m)
{
    struct json_ctx *j = cls;
    char since[21];
    pb_clock_format_rfc3339(m->since, since);
    json_array_append_new(j->lists, json_pack("{s:s, s:s, s:s, s:s?}", "list_id", m->list_id,
                                              "status", m->status, "since", since, "statement_id",
                                              m->statement_id[0] ? m->statement_id : NULL));
}

json_t *
pb_contact_to_json_tx(struct pb_tx *tx, const struct pb_data_key *key,
                      const struct pb_contact *contact, bool reveal, bool full)
{
    char email[PB_EMAIL_MAX + 1], masked[PB_EMAIL_MAX + 1], created[21];
    open_email(key, contact, email);
    pb_email_mask(email, masked);
    pb_clock_format_rfc3339(contact->created_at, created);
    bool erased = strcmp(contact->status, "erased") == 0;
    json_t *out = json_pack("{s:s, s:s?, s:s, s:s}", "id", contact->id, "email",
                            erased ? NULL : (reveal ? email : masked), "status", contact->status,
                            "created_at", created);
    sodium_memzero(email, sizeof(email));
    if (out == NULL || !full)
        return out;
    if (erased)
        json_object_set_new(out, "pseudonym", json_string(contact->pseudonym));
    struct json_ctx j = {key, reveal, json_object(), json_array()};
    if (tx->ops->value_list(tx->conn, contact->account_id, contact->id, value_json, &j) < 0 ||
        tx->ops->membership_list_for_contact(tx->conn, contact->account_id, contact->id,
                                             membership_json, &j) < 0) {
        json_decref(j.fields);
        json_decref(j.lists);
        json_decref(out);
        return NULL;
    }
    json_object_set_new(out, "fields", j.fields);
    json_object_set_new(out, "lists", j.lists);
    return out;
}

/* ---- writing values ---- */

/* A JSON value as text ("12", "true", "Jan"); false for objects, arrays and null. */
static bool
value_text(json_t *v, char out[PB_VALUE_MAX + 1])
{
    if (json_is_string(v))
        return pb_strlcpy(out, json_string_value(v), PB_VALUE_MAX + 1);
    if (json_is_integer(v))
        snprintf(out, PB_VALUE_MAX + 1, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
    else if (json_is_real(v))
        snprintf(out, PB_VALUE_MAX + 1, "%.17g", json_real_value(v));
    else if (json_is_boolean(v))
        snprintf(out, PB_VALUE_MAX + 1, "%s", json_is_true(v) ? "true" : "false");
    else
        return false;
    return true;
}

/*
 * The name of the bad field ("fields.KEY") handed out through `*field`: it
 * must outlive the call, so it lives per thread, valid until the thread's
 * next call.
 */
static _Thread_local char bad_field_name[PB_FIELD_KEY_MAX + 16];

struct write_ctx {
    const char *account_id;
    const struct pb_data_key *key;
    const char **field;
    char *why;
};

/* Checks and writes `fields` (null deletes) for a contact inside a write transaction. */
static enum pb_qs
write_values_tx(struct pb_tx *tx, struct write_ctx *w, const char *contact_id, json_t *fields)
{
    const char *k;
    json_t *v;
    json_object_foreach(fields, k, v)
    {
        snprintf(bad_field_name, sizeof(bad_field_name), "fields.%s", k);
        struct pb_field f;
        enum pb_qs qs = strlen(k) <= PB_FIELD_KEY_MAX
                            ? tx->ops->field_get(tx->conn, w->account_id, k, &f)
                            : PB_QS_NONE;
        if (qs < 0)
            return qs;
        *w->field = bad_field_name;
        if (qs == PB_QS_NONE) {
            snprintf(w->why, PB_WHY_MAX, "no field \"%.64s\"; create it first (POST /fields)", k);
            return pb_tx_abort(tx, PB_ERR_FIELD_INVALID);
        }
        if (json_is_null(v)) {
            if ((qs = tx->ops->value_delete(tx->conn, w->account_id, contact_id, k)) < 0)
                return qs;
            continue;
        }
        struct pb_contact_value cv;
        char text[PB_VALUE_MAX + 1];
        memset(&cv, 0, sizeof(cv));
        if (!value_text(v, text)) {
            snprintf(w->why, PB_WHY_MAX, "a value is a string, number or boolean");
            return pb_tx_abort(tx, PB_ERR_FIELD_INVALID);
        }
        if (pb_field_value_check(&f, text, cv.value_text, w->why) != PB_ERR_OK)
            return pb_tx_abort(tx, PB_ERR_FIELD_INVALID);
        pb_strlcpy(cv.account_id, w->account_id, sizeof(cv.account_id));
        pb_strlcpy(cv.contact_id, contact_id, sizeof(cv.contact_id));
        pb_strlcpy(cv.field_key, k, sizeof(cv.field_key));
        if (f.sensitive) {
            char place[PB_CONTACT_PLACE_MAX];
            size_t len = strlen(cv.value_text);
            pb_contact_value_place(w->account_id, contact_id, k, place);
            pb_data_key_seal(w->key, place, cv.value_text, len, cv.value_sealed);
            cv.value_sealed_len = pb_sealed_len(len);
            sodium_memzero(cv.value_text, sizeof(cv.value_text));
        }
        qs = tx->ops->value_put(tx->conn, &cv);
        sodium_memzero(&cv, sizeof(cv));
        if (qs < 0)
            return qs;
    }
    *w->field = NULL;
    return PB_QS_ONE;
}

/* ---- creating ---- */

struct create_ctx {
    const struct pb_contact_new *in;
    const struct pb_consent_origin *origin;
    struct write_ctx w;
    struct pb_contact contact;
    unsigned char suppression_hash[PB_HASH_BYTES];
};

/* Checks the lists named and whether one of them is public. */
static enum pb_qs
check_lists_tx(struct pb_tx *tx, const char *account_id, const char *const *ids, int count,
               bool *any_public, const char **field)
{
    *any_public = false;
    for (int i = 0; i < count; i++) {
        struct pb_list l;
        enum pb_qs qs =
            pb_id_valid(ids[i]) ? tx->ops->list_get(tx->conn, account_id, ids[i], &l) : PB_QS_NONE;
        if (qs < 0)
            return qs;
        if (qs == PB_QS_NONE) {
            *field = "lists";
            return pb_tx_abort(tx, PB_ERR_NOT_FOUND);
        }
        *any_public = *any_public || l.is_public;
    }
    return PB_QS_ONE;
}

static enum pb_qs
create_tx(struct pb_tx *tx, void *cls)
{
    struct create_ctx *c = cls;
    const char *account = c->w.account_id;
    bool any_public = false;
    enum pb_qs qs =
        check_lists_tx(tx, account, c->in->list_ids, c->in->list_count, &any_public, c->w.field);
    if (qs < 0)
        return qs;
    if (any_public && c->in->consent == NULL) {
        *c->w.field = "consent";
        snprintf(c->w.why, PB_WHY_MAX,
                 "a public list: say how the address was obtained "
                 "(consent: {basis, description} or {statement_id})");
        return pb_tx_abort(tx, PB_ERR_CONSENT_REQUIRED);
    }
    if ((qs = tx->ops->contact_insert(tx->conn, &c->contact)) < 0)
        return qs;
    if (qs == PB_QS_NONE) {
        *c->w.field = "email";
        snprintf(c->w.why, PB_WHY_MAX, "this address is a contact already");
        return pb_tx_abort(tx, PB_ERR_CONFLICT);
    }
    /* A new address: it may have been erased or bounced before. */
    bool suppressed = false;
    if ((qs = pb_erasure_check_suppressed_tx(tx, account, c->suppression_hash,
                                             c->in->override_suppression, &suppressed)) < 0)
        return qs;
    if (suppressed) {
        *c->w.field = "email";
        snprintf(c->w.why, PB_WHY_MAX,
                 "this address was erased or bounced before and is on the suppression list; "
                 "an owner may add it again with override_suppression and a fresh consent "
                 "statement");
        return pb_tx_abort(tx, PB_ERR_SUPPRESSED);
    }
    if (c->in->fields != NULL &&
        (qs = write_values_tx(tx, &c->w, c->contact.id, c->in->fields)) < 0)
        return qs;
    char statement[PB_ID_LEN + 1] = "";
    if (c->in->consent != NULL && (qs = pb_consent_resolve_tx(tx, account, c->in->consent,
                                                              c->origin ? c->origin->actor : NULL,
                                                              statement, c->w.field)) < 0)
        return qs;
    if ((qs = pb_consent_append_tx(tx, c->w.key, account, "added", c->contact.id, NULL, statement,
                                   c->origin)) < 0)
        return qs;
    for (int i = 0; i < c->in->list_count; i++) {
        qs = tx->ops->membership_put(tx->conn, account, c->in->list_ids[i], c->contact.id,
                                     "subscribed", statement, pb_clock_now());
        if (qs < 0)
            return qs;
        if (qs == PB_QS_ONE &&
            (qs = pb_consent_append_tx(tx, c->w.key, account, "subscribed", c->contact.id,
                                       c->in->list_ids[i], statement, c->origin)) < 0)
            return qs;
    }
    return PB_QS_ONE;
}

enum pb_err
pb_contact_create(struct pb_app *app, const struct pb_principal *who,
                  const struct pb_contact_new *in, const struct pb_consent_origin *origin,
                  char id[PB_ID_LEN + 1], const char **field, char why[PB_WHY_MAX])
{
    *field = NULL;
    char email[PB_EMAIL_MAX + 1];
    if (in->email == NULL ||
        pb_email_normalize(in->email, PB_EMAIL_KEEP_LOCAL_CASE, email, why) != PB_ERR_OK) {
        *field = "email";
        return PB_ERR_EMAIL_INVALID;
    }
    if (in->list_count > PB_CONTACT_LISTS_MAX) {
        *field = "lists";
        snprintf(why, PB_WHY_MAX, "at most %d lists at once", PB_CONTACT_LISTS_MAX);
        return PB_ERR_INVALID;
    }
    if (in->fields != NULL && !json_is_object(in->fields)) {
        *field = "fields";
        snprintf(why, PB_WHY_MAX, "fields is an object of field keys and values");
        return PB_ERR_FIELD_INVALID;
    }
    if (in->override_suppression && !pb_role_allows(who->role, PB_PERM_SUPPRESSION_OVERRIDE)) {
        *field = "override_suppression";
        snprintf(why, PB_WHY_MAX, "only an owner may add a suppressed address again");
        return PB_ERR_FORBIDDEN;
    }
    if (in->override_suppression && (in->consent == NULL || in->consent->statement_id != NULL)) {
        /* The person's earlier erasure stands unless they gave consent anew. */
        *field = "consent";
        snprintf(why, PB_WHY_MAX,
                 "overriding a suppression needs a fresh consent statement: consent {basis, "
                 "description}, not a statement_id");
        return PB_ERR_CONSENT_REQUIRED;
    }
    struct create_ctx c;
    memset(&c, 0, sizeof(c));
    c.in = in;
    c.origin = origin;
    c.w.account_id = who->account_id;
    c.w.field = field;
    c.w.why = why;
    enum pb_err err = pb_app_data_key(app, who->account_id, &c.w.key);
    if (err != PB_ERR_OK)
        return err;
    if ((err = pb_contact_email_index(app, who->account_id, email, c.contact.email_bidx, why)) !=
            PB_ERR_OK ||
        (err = pb_suppression_hash(app, who->account_id, email, c.suppression_hash)) != PB_ERR_OK) {
        sodium_memzero(email, sizeof(email));
        return err;
    }
    struct pb_contact *ct = &c.contact;
    pb_id_new(ct->id);
    pb_strlcpy(ct->account_id, who->account_id, sizeof(ct->account_id));
    ct->email_bidx_len = PB_BIDX_MAX;
    char place[PB_CONTACT_PLACE_MAX];
    pb_contact_email_place(ct->account_id, ct->id, place);
    pb_data_key_seal(c.w.key, place, email, strlen(email), ct->email_sealed);
    ct->email_sealed_len = pb_sealed_len(strlen(email));
    pb_strlcpy(ct->status, "active", sizeof(ct->status));
    ct->created_at = ct->updated_at = pb_clock_now();
    sodium_memzero(email, sizeof(email));

    err = pb_tenant_tx(app, who->account_id, PB_TX_WRITE, create_tx, &c);
    if (err == PB_ERR_OK)
        pb_strlcpy(id, ct->id, PB_ID_LEN + 1);
    else if (err == PB_ERR_NOT_FOUND && *field != NULL)
        snprintf(why, PB_WHY_MAX, "no such %s in this account",
                 strcmp(*field, "lists") == 0 ? "list" : "consent statement or evidence");
    else if (err == PB_ERR_INVALID && *field != NULL && pb_str_starts_with(*field, "consent."))
        snprintf(why, PB_WHY_MAX, "%s",
                 strcmp(*field, "consent.basis") == 0
                     ? "basis is one of the six GDPR art. 6 bases"
                     : "description: how the address was obtained, 1 to "
                       "1000 characters");
    return err;
}

/* ---- reading ---- */

struct get_ctx {
    const char *account_id;
    const char *id;
    const unsigned char *bidx;
    const struct pb_data_key *key;
    bool reveal;
    json_t *out;
};

static enum pb_qs
get_tx(struct pb_tx *tx, void *cls)
{
    struct get_ctx *g = cls;
    json_decref(g->out);
    g->out = NULL;
    struct pb_contact c;
    enum pb_qs qs = g->bidx != NULL ? tx->ops->contact_get_by_bidx(tx->conn, g->account_id, g->bidx,
                                                                   PB_BIDX_MAX, &c)
                                    : tx->ops->contact_get(tx->conn, g->account_id, g->id, &c);
    if (qs <= 0)
        return qs;
    g->out = pb_contact_to_json_tx(tx, g->key, &c, g->reveal, true);
    return g->out != NULL ? PB_QS_ONE : PB_QS_HARD_ERROR;
}

enum pb_err
pb_contact_get_json(struct pb_app *app, const struct pb_principal *who, const char *id, bool reveal,
                    json_t **out)
{
    *out = NULL;
    if (!pb_id_valid(id))
        return PB_ERR_NOT_FOUND;
    struct get_ctx g = {who->account_id, id, NULL, NULL, reveal, NULL};
    enum pb_err err = pb_app_data_key(app, who->account_id, &g.key);
    if (err == PB_ERR_OK)
        err = pb_tenant_tx(app, who->account_id, PB_TX_READ, get_tx, &g);
    if (err == PB_ERR_OK && g.out == NULL)
        err = PB_ERR_NOT_FOUND;
    *out = g.out;
    return err;
}

enum pb_err
pb_contact_search(struct pb_app *app, const struct pb_principal *who, const char *email,
                  bool reveal, bool *found, json_t **out)
{
    *found = false;
    *out = NULL;
    char why[PB_WHY_MAX];
    unsigned char bidx[PB_BIDX_MAX];
    enum pb_err err = pb_contact_email_index(app, who->account_id, email, bidx, why);
    if (err == PB_ERR_EMAIL_INVALID)
        return PB_ERR_OK; /* not an address: certainly not a contact */
    if (err != PB_ERR_OK)
        return err;
    struct get_ctx g = {who->account_id, NULL, bidx, NULL, reveal, NULL};
    if ((err = pb_app_data_key(app, who->account_id, &g.key)) == PB_ERR_OK)
        err = pb_tenant_tx(app, who->account_id, PB_TX_READ, get_tx, &g);
    *found = err == PB_ERR_OK && g.out != NULL;
    *out = g.out;
    return err;
}

struct list_ctx {
    const char *account_id;
    const char *list_id;
    const char *after_id;
    int limit;
    const struct pb_data_key *key;
    bool reveal;
    json_t *items; /* [[id, item], ...] collected inside the transaction */
};

static void
collect_contact(void *cls, const struct pb_contact *c)
{
    struct list_ctx *l = cls;
    json_t *item = pb_contact_to_json_tx(NULL, l->key, c, l->reveal, false);
    json_array_append_new(l->items, json_pack("[s, o]", c->id, item ? item : json_null()));
}

static enum pb_qs
list_tx(struct pb_tx *tx, void *cls)
{
    struct list_ctx *l = cls;
    json_array_clear(l->items);
    return tx->ops->contact_list(tx->conn, l->account_id, l->list_id, l->after_id, l->limit,
                                 collect_contact, l);
}

enum pb_err
pb_contact_list_json(struct pb_app *app, const struct pb_principal *who, const char *list_id,
                     const char *after_id, int limit, bool reveal, pb_contact_json_cb cb, void *cls)
{
    if (list_id != NULL && list_id[0] != '\0' && !pb_id_valid(list_id))
        return PB_ERR_NOT_FOUND;
    struct list_ctx l = {who->account_id, list_id,     after_id ? after_id : "", limit, NULL,
                         reveal,          json_array()};
    if (l.items == NULL)
        return PB_ERR_NOMEM;
    enum pb_err err = pb_app_data_key(app, who->account_id, &l.key);
    if (err == PB_ERR_OK)
        err = pb_tenant_tx(app, who->account_id, PB_TX_READ, list_tx, &l);
    size_t i;
    json_t *pair;
    json_array_foreach(l.items, i, pair)
    {
        if (err != PB_ERR_OK)
            break;
        cb(cls, json_string_value(json_array_get(pair, 0)), json_incref(json_array_get(pair, 1)));
    }
    json_decref(l.items);
    return err;
}

/* ---- changing ---- */

struct update_ctx {
    const char *id;
    json_t *fields;
    const struct pb_consent_origin *origin;
    struct write_ctx w;
};

static enum pb_qs
update_tx(struct pb_tx *tx, void *cls)
{
    struct update_ctx *u = cls;
    struct pb_contact c;
    enum pb_qs qs = tx->ops->contact_get(tx->conn, u->w.account_id, u->id, &c);
    if (qs <= 0)
        return qs < 0 ? qs : pb_tx_abort(tx, PB_ERR_NOT_FOUND);
    if (strcmp(c.status, "erased") == 0)
        return pb_tx_abort(tx, PB_ERR_NOT_FOUND);
    if ((qs = write_values_tx(tx, &u->w, u->id, u->fields)) < 0)
        return qs;
    c.updated_at = pb_clock_now();
    if ((qs = tx->ops->contact_update(tx->conn, &c)) < 0)
        return qs;
    return pb_consent_append_tx(tx, u->w.key, u->w.account_id, "field_changed", u->id, NULL, NULL,
                                u->origin);
}

enum pb_err
pb_contact_update(struct pb_app *app, const struct pb_principal *who, const char *id,
                  json_t *fields, const struct pb_consent_origin *origin, const char **field,
                  char why[PB_WHY_MAX])
{
    *field = NULL;
    if (!pb_id_valid(id))
        return PB_ERR_NOT_FOUND;
    if (!json_is_object(fields)) {
        *field = "fields";
        snprintf(why, PB_WHY_MAX, "fields is an object of field keys and values");
        return PB_ERR_FIELD_INVALID;
    }
    struct update_ctx u = {.id = id, .fields = fields, .origin = origin};
    u.w.account_id = who->account_id;
    u.w.field = field;
    u.w.why = why;
    enum pb_err err = pb_app_data_key(app, who->account_id, &u.w.key);
    if (err != PB_ERR_OK)
        return err;
    return pb_tenant_tx(app, who->account_id, PB_TX_WRITE, update_tx, &u);
}

struct subscribe_ctx {
    const struct pb_data_key *key;
    const char *account_id;
    const char *list_id;
    const char *const *ids;
    int count;
    const struct pb_consent_input *consent;
    const struct pb_consent_origin *origin;
    const char *status;
    int changed;
    const char *field;
};

static enum pb_qs
subscribe_tx(struct pb_tx *tx, void *cls)
{
    struct subscribe_ctx *s = cls;
    s->changed = 0;
    struct pb_list list;
    enum pb_qs qs = tx->ops->list_get(tx->conn, s->account_id, s->list_id, &list);
    if (qs <= 0) {
        s->field = "list";
        return qs < 0 ? qs : pb_tx_abort(tx, PB_ERR_NOT_FOUND);
    }
    bool subscribing = strcmp(s->status, "subscribed") == 0;
    if (subscribing && list.is_public && s->consent == NULL) {
        s->field = "consent";
        return pb_tx_abort(tx, PB_ERR_CONSENT_REQUIRED);
    }
    char statement[PB_ID_LEN + 1] = "";
    if (subscribing && s->consent != NULL &&
        (qs = pb_consent_resolve_tx(tx, s->account_id, s->consent,
                                    s->origin ? s->origin->actor : NULL, statement, &s->field)) < 0)
        return qs;
    for (int i = 0; i < s->count; i++) {
        struct pb_contact c;
        qs = pb_id_valid(s->ids[i]) ? tx->ops->contact_get(tx->conn, s->account_id, s->ids[i], &c)
                                    : PB_QS_NONE;
        if (qs < 0)
            return qs;
        if (qs == PB_QS_NONE || strcmp(c.status, "erased") == 0) {
            s->field = "contact_ids";
            return pb_tx_abort(tx, PB_ERR_NOT_FOUND);
        }
        qs = tx->ops->membership_put(tx->conn, s->account_id, s->list_id, c.id, s->status,
                                     statement, pb_clock_now());
        if (qs < 0)
            return qs;
        if (qs == PB_QS_ONE) {
            s->changed++;
            if ((qs = pb_consent_append_tx(tx, s->key, s->account_id, s->status, c.id, s->list_id,
                                           statement, s->origin)) < 0)
                return qs;
        }
    }
    return PB_QS_ONE;
}

enum pb_err
pb_contact_subscribe(struct pb_app *app, const struct pb_principal *who, const char *list_id,
                     const char *const *contact_ids, int count,
                     const struct pb_consent_input *consent, const struct pb_consent_origin *origin,
                     int *changed, const char **field, char why[PB_WHY_MAX])
{
    *changed = 0;
    *field = NULL;
    if (!pb_id_valid(list_id))
        return PB_ERR_NOT_FOUND;
    struct subscribe_ctx s = {.account_id = who->account_id,
                              .list_id = list_id,
                              .ids = contact_ids,
                              .count = count,
                              .consent = consent,
                              .origin = origin,
                              .status = "subscribed"};
    enum pb_err err = pb_app_data_key(app, who->account_id, &s.key);
    if (err == PB_ERR_OK)
        err = pb_tenant_tx(app, who->account_id, PB_TX_WRITE, subscribe_tx, &s);
    *field = s.field;
    *changed = s.changed;
    if (err == PB_ERR_CONSENT_REQUIRED)
        snprintf(why, PB_WHY_MAX,
                 "a public list: say how the addresses were obtained "
                 "(consent: {basis, description} or {statement_id})");
    else if (err == PB_ERR_NOT_FOUND)
        snprintf(why, PB_WHY_MAX, "no such %s in this account",
                 s.field && strcmp(s.field, "contact_ids") == 0 ? "contact" : "list or statement");
    else if (err == PB_ERR_INVALID)
        snprintf(why, PB_WHY_MAX, "the consent statement is not valid");
    return err;
}

enum pb_err
pb_contact_unsubscribe(struct pb_app *app, const struct pb_principal *who, const char *list_id,
                       const char *contact_id, const struct pb_consent_origin *origin)
{
    if (!pb_id_valid(list_id) || !pb_id_valid(contact_id))
        return PB_ERR_NOT_FOUND;
    const char *ids[1] = {contact_id};
    struct subscribe_ctx s = {.account_id = who->account_id,
                              .list_id = list_id,
                              .ids = ids,
                              .count = 1,
                              .origin = origin,
                              .status = "unsubscribed"};
    enum pb_err err = pb_app_data_key(app, who->account_id, &s.key);
    if (err != PB_ERR_OK)
        return err;
    return pb_tenant_tx(app, who->account_id, PB_TX_WRITE, subscribe_tx, &s);
}
