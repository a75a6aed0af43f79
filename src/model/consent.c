/* Consent statements, the hash-chained event log, a person's history, verification. */
#include "model/consent.h"

#include <stdio.h>
#include <string.h>

#include <jansson.h>
#include <sodium.h>

#include "core/clock.h"
#include "core/strutil.h"
#include "model/consent_chain.h"
#include "model/contact.h"
#include "model/tenant.h"

enum { DESCRIPTION_CHARS = 1000, VERIFY_BATCH = 1000 };

static const char *const bases[] = {"consent",         "contract",    "legal_obligation",
                                    "vital_interests", "public_task", "legitimate_interests"};

bool
pb_consent_basis_valid(const char *basis)
{
    for (size_t i = 0; basis != NULL && i < sizeof(bases) / sizeof(bases[0]); i++)
        if (strcmp(basis, bases[i]) == 0)
            return true;
    return false;
}

/* Optional strings are stored as NULL when empty: hash them the same way on both paths. */
static const char *
opt(const char *s)
{
    return s != NULL && s[0] != '\0' ? s : NULL;
}

static void
chain_view(const struct pb_consent_event *e, struct pb_chain_event *out)
{
    memset(out, 0, sizeof(*out));
    out->account_id = e->account_id;
    out->seq = e->seq;
    out->id = e->id;
    out->type = e->type;
    out->contact_id = opt(e->contact_id);
    out->list_id = opt(e->list_id);
    out->statement_id = opt(e->statement_id);
    out->channel = opt(e->channel);
    out->actor = opt(e->actor);
    out->at = e->at;
    out->ref = opt(e->ref);
}

enum pb_qs
pb_consent_append_tx(struct pb_tx *tx, const struct pb_data_key *key, const char *account_id,
                     const char *type, const char *contact_id, const char *list_id,
                     const char *statement_id, const struct pb_consent_origin *origin)
{
    struct pb_consent_event e;
    memset(&e, 0, sizeof(e));
    int64_t last = 0;
    enum pb_qs qs = tx->ops->event_last(tx->conn, account_id, &last, e.prev_hash);
    if (qs < 0)
        return qs;
    if (qs == PB_QS_NONE) {
        last = 0;
        memset(e.prev_hash, 0, sizeof(e.prev_hash));
    }
    pb_strlcpy(e.account_id, account_id, sizeof(e.account_id));
    e.seq = last + 1;
    pb_id_new(e.id);
    pb_strlcpy(e.type, type, sizeof(e.type));
    pb_strlcpy(e.contact_id, contact_id ? contact_id : "", sizeof(e.contact_id));
    pb_strlcpy(e.list_id, list_id ? list_id : "", sizeof(e.list_id));
    pb_strlcpy(e.statement_id, statement_id ? statement_id : "", sizeof(e.statement_id));
    pb_strlcpy(e.channel, origin && origin->channel ? origin->channel : "", sizeof(e.channel));
    pb_strlcpy(e.actor, origin && origin->actor ? origin->actor : "", sizeof(e.actor));
    e.at = pb_clock_now();
    struct pb_chain_event view;
    chain_view(&e, &view);
    pb_chain_hash(key, e.prev_hash, &view, e.hash);

    struct pb_consent_personal personal;
    memset(&personal, 0, sizeof(personal));
    if (origin != NULL) {
        pb_strlcpy(personal.client_ip, origin->client_ip ? origin->client_ip : "",
                   sizeof(personal.client_ip));
        pb_strlcpy(personal.user_agent, origin->user_agent ? origin->user_agent : "",
                   sizeof(personal.user_agent));
    }
    return tx->ops->event_append(tx->conn, &e, &personal);
}

void
pb_consent_event_hash(const struct pb_data_key *key, struct pb_consent_event *e)
{
    struct pb_chain_event view;
    chain_view(e, &view);
    pb_chain_hash(key, e->prev_hash, &view, e->hash);
}

enum pb_qs
pb_consent_resolve_tx(struct pb_tx *tx, const char *account_id, const struct pb_consent_input *in,
                      const char *created_by, char statement_id[PB_ID_LEN + 1], const char **field)
{
    enum pb_qs qs;
    if (in->statement_id != NULL) {
        struct pb_consent_statement st;
        if (!pb_id_valid(in->statement_id) ||
            (qs = tx->ops->statement_get(tx->conn, account_id, in->statement_id, &st)) ==
                PB_QS_NONE) {
            *field = "consent.statement_id";
            return pb_tx_abort(tx, PB_ERR_NOT_FOUND);
        }
        if (qs < 0)
            return qs;
        pb_strlcpy(statement_id, st.id, PB_ID_LEN + 1);
        return PB_QS_ONE;
    }
    if (!pb_consent_basis_valid(in->basis)) {
        *field = "consent.basis";
        return pb_tx_abort(tx, PB_ERR_INVALID);
    }
    if (in->description == NULL || !pb_str_clean_utf8(in->description, PB_DESCRIPTION_MAX) ||
        pb_str_utf8_chars(in->description) == 0 ||
        pb_str_utf8_chars(in->description) > DESCRIPTION_CHARS) {
        *field = "consent.description";
        return pb_tx_abort(tx, PB_ERR_INVALID);
    }
    struct pb_consent_statement st;
    memset(&st, 0, sizeof(st));
    pb_id_new(st.id);
    pb_strlcpy(st.account_id, account_id, sizeof(st.account_id));
    pb_strlcpy(st.basis, in->basis, sizeof(st.basis));
    pb_strlcpy(st.description, in->description, sizeof(st.description));
    pb_strlcpy(st.created_by, created_by ? created_by : "", sizeof(st.created_by));
    st.created_at = pb_clock_now();
    for (int i = 0; i < in->evidence_count && i < PB_STATEMENT_EVIDENCE; i++) {
        if (!pb_id_valid(in->evidence_ids[i])) {
            *field = "consent.evidence_ids";
            return pb_tx_abort(tx, PB_ERR_NOT_FOUND);
        }
        pb_strlcpy(st.evidence_ids[st.evidence_count++], in->evidence_ids[i], PB_ID_LEN + 1);
    }
    if ((qs = tx->ops->statement_insert(tx->conn, &st)) < 0)
        return qs;
    if (qs == PB_QS_NONE) {
        *field = "consent.evidence_ids";
        return pb_tx_abort(tx, PB_ERR_NOT_FOUND);
    }
    pb_strlcpy(statement_id, st.id, PB_ID_LEN + 1);
    return PB_QS_ONE;
}

struct statement_ctx {
    const char *account_id;
    const struct pb_consent_input *in;
    const char *actor;
    char id[PB_ID_LEN + 1];
    const char *field;
    struct pb_consent_statement *out;
};

static enum pb_qs
statement_tx(struct pb_tx *tx, void *cls)
{
    struct statement_ctx *s = cls;
    enum pb_qs qs = pb_consent_resolve_tx(tx, s->account_id, s->in, s->actor, s->id, &s->field);
    if (qs < 0)
        return qs;
    return tx->ops->statement_get(tx->conn, s->account_id, s->id, s->out);
}

enum pb_err
pb_consent_statement_create(struct pb_app *app, const struct pb_principal *who,
                            const struct pb_consent_input *in,
                            const struct pb_consent_origin *origin,
                            struct pb_consent_statement *out, const char **field,
                            char why[PB_WHY_MAX])
{
    struct pb_consent_input fresh = *in;
    fresh.statement_id = NULL; /* this call always creates */
    struct statement_ctx s = {
        who->account_id, &fresh, origin ? origin->actor : NULL, "", NULL, out};
    memset(out, 0, sizeof(*out));
    enum pb_err err = pb_tenant_tx(app, who->account_id, PB_TX_WRITE, statement_tx, &s);
    /* Standalone, the fields are top-level: "basis", not "consent.basis". */
    *field = s.field != NULL && pb_str_starts_with(s.field, "consent.") ? s.field + 8 : s.field;
    if (err == PB_ERR_INVALID && *field != NULL && strcmp(*field, "basis") == 0)
        snprintf(why, PB_WHY_MAX,
                 "basis is one of consent, contract, legal_obligation, "
                 "vital_interests, public_task, legitimate_interests");
    else if (err == PB_ERR_INVALID)
        snprintf(why, PB_WHY_MAX,
                 "description says how the addresses were obtained, in 1 to "
                 "1000 characters of text");
    else if (err == PB_ERR_NOT_FOUND)
        snprintf(why, PB_WHY_MAX, "an evidence id is not one of this account's");
    return err;
}

/* ---- verification ---- */

struct verify_ctx {
    const char *account_id;
    struct pb_chain_verifier base; /* the state after the last committed batch */
    struct pb_chain_verifier v;
    int64_t after;
    int seen;
};

static void
verify_one(void *cls, const struct pb_consent_event *e, const struct pb_consent_personal *personal)
{
    (void)personal;
    struct verify_ctx *c = cls;
    struct pb_chain_event view;
    chain_view(e, &view);
    pb_chain_verify_next(&c->v, &view, e->prev_hash, e->hash);
    c->after = e->seq;
    c->seen++;
}

static enum pb_qs
verify_tx(struct pb_tx *tx, void *cls)
{
    struct verify_ctx *c = cls;
    /* A retried batch starts again from the state before it. */
    c->v = c->base;
    c->after = c->base.last_seq;
    c->seen = 0;
    return tx->ops->event_scan(tx->conn, c->account_id, c->after, VERIFY_BATCH, verify_one, c);
}

struct head_ctx {
    const char *account_id;
    bool found;
    int64_t seq;
    unsigned char hash[PB_EVENT_HASH_BYTES];
};

static enum pb_qs
head_tx(struct pb_tx *tx, void *cls)
{
    struct head_ctx *h = cls;
    enum pb_qs qs = tx->ops->event_head(tx->conn, h->account_id, &h->seq, h->hash);
    h->found = qs == PB_QS_ONE;
    if (!h->found)
        memset(h->hash, 0, sizeof(h->hash));
    return qs;
}

enum pb_err
pb_consent_verify(struct pb_app *app, const char *account_id, bool *ok, long *events,
                  char why[PB_WHY_MAX])
{
    struct verify_ctx c = {.account_id = account_id};
    const struct pb_data_key *key = NULL;
    enum pb_err err = pb_app_data_key(app, account_id, &key);
    if (err != PB_ERR_OK)
        return err;
    err = pb_chain_verifier_init(&c.base, account_id, key);
    if (err != PB_ERR_OK)
        return err;
    /* In batches, each its own read transaction: a big log never sits in memory. */
    do {
        if ((err = pb_tenant_tx(app, account_id, PB_TX_READ, verify_tx, &c)) != PB_ERR_OK)
            return err;
        c.base = c.v;
    } while (c.seen == VERIFY_BATCH && !c.v.failed);
    /* The end of the chain against its head, kept apart: removed newest events show. */
    struct head_ctx h = {.account_id = account_id};
    if ((err = pb_tenant_tx(app, account_id, PB_TX_READ, head_tx, &h)) != PB_ERR_OK)
        return err;
    if (!c.v.failed)
        pb_chain_verify_end(&c.v, h.found ? h.seq : 0, h.hash);
    uint64_t checked = 0;
    int64_t bad = 0;
    pb_chain_verify_result(&c.v, ok, &checked, &bad, why);
    *events = (long)checked;
    return PB_ERR_OK;
}

/* ---- the history of one person ---- */

struct history_ctx {
    const char *account_id;
    const struct pb_data_key *key;
    unsigned char bidx[PB_BIDX_MAX];
    json_t *out;
    json_t *statement_ids; /* object used as a set */
};

static void
event_json(void *cls, const struct pb_consent_event *e, const struct pb_consent_personal *p)
{
    struct history_ctx *h = cls;
    char at[21];
    pb_clock_format_rfc3339(e->at, at);
    json_t *item = json_pack("{s:I, s:s, s:s, s:s, s:s?, s:s?, s:s?, s:s?, s:s?}", "seq",
                             (json_int_t)e->seq, "id", e->id, "type", e->type, "at", at, "list_id",
                             opt(e->list_id), "statement_id", opt(e->statement_id), "channel",
                             opt(e->channel), "actor", opt(e->actor), "ref", opt(e->ref));
    if (item != NULL && p != NULL) {
        if (opt(p->client_ip))
            json_object_set_new(item, "client_ip", json_string(p->client_ip));
        if (opt(p->user_agent))
            json_object_set_new(item, "user_agent", json_string(p->user_agent));
        if (opt(p->note))
            json_object_set_new(item, "note", json_string(p->note));
    }
    json_array_append_new(json_object_get(h->out, "events"), item);
    if (opt(e->statement_id))
        json_object_set_new(h->statement_ids, e->statement_id, json_true());
}

/* RFC 3339, or JSON null for 0 ("never"). */
static json_t *
time_or_null(int64_t at)
{
    char text[21];
    if (at == 0)
        return json_null();
    pb_clock_format_rfc3339(at, text);
    return json_string(text);
}

/* A campaign the person was a recipient of: what was sent and what they did with it. */
static void
campaign_json(void *cls, const struct pb_recipient *r, const char *campaign_name)
{
    struct history_ctx *h = cls;
    json_t *item = json_pack("{s:s, s:s, s:s, s:o, s:i, s:i, s:o}", "campaign_id", r->campaign_id,
                             "name", campaign_name, "state", r->state, "sent_at",
                             time_or_null(r->sent_at), "opens", r->opens, "clicks", r->clicks,
                             "unsubscribed_at", time_or_null(r->unsubscribed_at));
    json_array_append_new(json_object_get(h->out, "campaigns"), item);
}

static enum pb_qs
history_tx(struct pb_tx *tx, void *cls)
{
    struct history_ctx *h = cls;
    json_decref(h->out);
    json_decref(h->statement_ids);
    h->out = json_pack("{s:b, s:[], s:{}, s:[]}", "found", 1, "events", "statements", "campaigns");
    h->statement_ids = json_object();
    if (h->out == NULL || h->statement_ids == NULL)
        return PB_QS_HARD_ERROR;

    struct pb_contact contact;
    enum pb_qs qs =
        tx->ops->contact_get_by_bidx(tx->conn, h->account_id, h->bidx, PB_BIDX_MAX, &contact);
    if (qs <= 0) {
        if (qs == PB_QS_NONE)
            json_object_set_new(h->out, "found", json_false());
        return qs;
    }
    json_t *c = pb_contact_to_json_tx(tx, h->key, &contact, true, true);
    if (c == NULL)
        return PB_QS_HARD_ERROR;
    json_object_set_new(h->out, "contact", c);
    if ((qs = tx->ops->event_list_for_contact(tx->conn, h->account_id, contact.id, event_json, h)) <
        0)
        return qs;
    if ((qs = tx->ops->recipient_list_for_contact(tx->conn, h->account_id, contact.id,
                                                  campaign_json, h)) < 0)
        return qs;

    const char *sid;
    json_t *unused;
    json_object_foreach(h->statement_ids, sid, unused)
    {
        struct pb_consent_statement st;
        if ((qs = tx->ops->statement_get(tx->conn, h->account_id, sid, &st)) < 0)
            return qs;
        if (qs == PB_QS_NONE)
            continue;
        char at[21];
        pb_clock_format_rfc3339(st.created_at, at);
        json_t *evidence = json_array();
        for (int i = 0; i < st.evidence_count; i++) {
            struct pb_evidence ev;
            if ((qs = tx->ops->evidence_get(tx->conn, h->account_id, st.evidence_ids[i], &ev, NULL,
                                            NULL)) < 0)
                return qs;
            if (qs == PB_QS_NONE)
                continue;
            char sha[PB_SHA256_BYTES * 2 + 1];
            sodium_bin2hex(sha, sizeof(sha), ev.sha256, sizeof(ev.sha256));
            json_array_append_new(evidence,
                                  json_pack("{s:s, s:s, s:I, s:s}", "id", ev.id, "type", ev.type,
                                            "size", (json_int_t)ev.size, "sha256", sha));
        }
        json_object_set_new(json_object_get(h->out, "statements"), sid,
                            json_pack("{s:s, s:s, s:s, s:s, s:o}", "id", st.id, "basis", st.basis,
                                      "description", st.description, "created_at", at, "evidence",
                                      evidence));
    }
    return PB_QS_ONE;
}

enum pb_err
pb_consent_history(struct pb_app *app, const char *account_id, const char *email, bool *found,
                   json_t **out, char why[PB_WHY_MAX])
{
    *found = false;
    *out = NULL;
    struct history_ctx h = {.account_id = account_id};
    enum pb_err err = pb_app_data_key(app, account_id, &h.key);
    if (err != PB_ERR_OK)
        return err;
    if ((err = pb_contact_email_index(app, account_id, email, h.bidx, why)) != PB_ERR_OK)
        return err;
    err = pb_tenant_tx(app, account_id, PB_TX_READ, history_tx, &h);
    json_decref(h.statement_ids);
    if (err != PB_ERR_OK) {
        json_decref(h.out);
        return err;
    }
    *found = json_is_true(json_object_get(h.out, "found"));
    *out = h.out;
    return PB_ERR_OK;
}
