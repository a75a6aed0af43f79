/*
 * The right to be forgotten: wipes a contact's personal data in one
 * transaction (the contact row stays, under a pseudonym), keeps the keyed
 * hash of its address on the suppression list, logs an "erased" consent
 * event without personal data, and writes a receipt. Also the receipts'
 * JSON and list, and the suppression check of additions.
 */
#include "model/erasure.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sodium.h>

#include "core/clock.h"
#include "core/log.h"
#include "core/strutil.h"
#include "model/audit.h"
#include "model/contact.h"
#include "model/delivery.h"
#include "model/email.h"
#include "model/tenant.h"

enum {
    PSEUDONYM_RANDOM = 20, /* base32 characters after "anon-": 100 random bits */
};

_Static_assert(5 + PSEUDONYM_RANDOM <= PB_PSEUDONYM_MAX, "the pseudonym fits its column");

/* "anon-" and 20 characters of base32 (RFC 4648 alphabet, lower case) from the CSPRNG. */
static void
pseudonym_new(char out[PB_PSEUDONYM_MAX + 1])
{
    static const char alphabet[] = "abcdefghijklmnopqrstuvwxyz234567";
    unsigned char rnd[PSEUDONYM_RANDOM];
    randombytes_buf(rnd, sizeof(rnd));
    memcpy(out, "anon-", 5);
    for (int i = 0; i < PSEUDONYM_RANDOM; i++)
        out[5 + i] = alphabet[rnd[i] & 31];
    out[5 + PSEUDONYM_RANDOM] = '\0';
    sodium_memzero(rnd, sizeof(rnd));
}

/* ---- finding the contact ---- */

struct find_ctx {
    const char *account_id;
    const unsigned char *bidx; /* by address, or */
    const char *contact_id;    /* by id */
    const unsigned char *hash; /* the address's suppression hash (by address only) */
    struct pb_contact contact;
    bool found;
    bool suppressed;
    char suppression_reason[16];
    struct pb_erasure *earlier; /* the receipt of an earlier erasure */
    bool has_earlier;
};

static enum pb_qs
find_tx(struct pb_tx *tx, void *cls)
{
    struct find_ctx *f = cls;
    f->found = f->suppressed = f->has_earlier = false;
    f->suppression_reason[0] = '\0';
    enum pb_qs qs = f->bidx != NULL
                        ? tx->ops->contact_get_by_bidx(tx->conn, f->account_id, f->bidx,
                                                       PB_BIDX_MAX, &f->contact)
                        : tx->ops->contact_get(tx->conn, f->account_id, f->contact_id, &f->contact);
    if (qs < 0)
        return qs;
    if (qs == PB_QS_NONE) {
        if (f->hash == NULL)
            return PB_QS_NONE;
        int64_t at = 0;
        qs = tx->ops->suppression_get(tx->conn, f->account_id, f->hash, f->suppression_reason, &at);
        f->suppressed = qs > 0;
        return qs < 0 ? qs : PB_QS_NONE;
    }
    f->found = true;
    if (strcmp(f->contact.status, "erased") != 0)
        return PB_QS_ONE;
    qs = tx->ops->erasure_get_for_contact(tx->conn, f->account_id, f->contact.id, f->earlier);
    f->has_earlier = qs > 0;
    return qs < 0 ? qs : PB_QS_ONE;
}

/* The address of a contact opened into `out` (the caller wipes it); false when it does not open. */
static bool
open_address(const struct pb_data_key *key, const struct pb_contact *c, char out[PB_EMAIL_MAX + 1])
{
    char place[PB_CONTACT_PLACE_MAX];
    unsigned char plain[PB_EMAIL_SEALED_MAX];
    size_t len = 0;
    bool ok = false;
    out[0] = '\0';
    if (c->email_sealed_len == 0 || c->email_sealed_len > PB_EMAIL_SEALED_MAX)
        return false;
    pb_contact_email_place(c->account_id, c->id, place);
    if (pb_data_key_open(key, place, c->email_sealed, c->email_sealed_len, plain, &len) ==
            PB_ERR_OK &&
        len <= PB_EMAIL_MAX) {
        memcpy(out, plain, len);
        out[len] = '\0';
        ok = true;
    }
    sodium_memzero(plain, sizeof(plain));
    return ok;
}

/* ---- erasing ---- */

/* What still_expired learns from the contact's memberships. */
struct expiry {
    bool subscribed, unconfirmed;
    int64_t newest_change;      /* of any membership */
    int64_t newest_unconfirmed; /* of the unconfirmed ones */
};

static void
expiry_cb(void *cls, const struct pb_membership *m)
{
    struct expiry *x = cls;
    if (m->since > x->newest_change)
        x->newest_change = m->since;
    if (strcmp(m->status, "subscribed") == 0)
        x->subscribed = true;
    if (strcmp(m->status, "unconfirmed") == 0) {
        x->unconfirmed = true;
        if (m->since > x->newest_unconfirmed)
            x->newest_unconfirmed = m->since;
    }
}

/*
 * Inside the erasure's transaction: whether the contact is still past the
 * storage limits of `by`, by the rules of the store's contact_list_expired
 * (which listed it, possibly a moment before it subscribed again).
 */
static enum pb_qs
still_expired(struct pb_tx *tx, const struct pb_erasure_by *by, const struct pb_contact *c,
              bool *expired)
{
    struct expiry x = {false, false, 0, 0};
    *expired = false;
    enum pb_qs qs =
        tx->ops->membership_list_for_contact(tx->conn, by->account_id, c->id, expiry_cb, &x);
    if (qs < 0)
        return qs;
    int64_t newest = x.newest_change > 0 ? x.newest_change : c->created_at;
    bool unlisted =
        by->unlisted_before > 0 && !x.subscribed && !x.unconfirmed && newest < by->unlisted_before;
    bool unconfirmed = by->unconfirmed_before > 0 && !x.subscribed && x.unconfirmed &&
                       x.newest_unconfirmed < by->unconfirmed_before;
    *expired = unlisted || unconfirmed;
    return PB_QS_ONE;
}

struct erase_ctx {
    const struct pb_erasure_by *by;
    const struct pb_data_key *key;
    const char *contact_id;
    const unsigned char *hash; /* NULL: the address could not be opened, nothing to suppress */
    struct pb_erasure *receipt;
    int64_t values, evidence, events, replies;
};

static enum pb_qs
erase_tx(struct pb_tx *tx, void *cls)
{
    struct erase_ctx *e = cls;
    const char *account = e->by->account_id;
    struct pb_erasure *r = e->receipt;
    e->values = e->evidence = e->events = e->replies = 0;

    /* Again, under the write lock: another request may have erased it meanwhile. */
    struct pb_contact c;
    enum pb_qs qs = tx->ops->contact_get(tx->conn, account, e->contact_id, &c);
    if (qs <= 0)
        return qs < 0 ? qs : pb_tx_abort(tx, PB_ERR_NOT_FOUND);
    if (strcmp(c.status, "erased") == 0) {
        struct pb_erasure earlier;
        qs = tx->ops->erasure_get_for_contact(tx->conn, account, c.id, &earlier);
        if (qs < 0)
            return qs;
        if (qs > 0)
            *r = earlier;
        else
            memset(r, 0, sizeof(*r));
        return pb_tx_abort(tx, PB_ERR_ALREADY_ERASED);
    }

    if (e->by->unlisted_before > 0 || e->by->unconfirmed_before > 0) {
        bool expired = false;
        if ((qs = still_expired(tx, e->by, &c, &expired)) < 0)
            return qs;
        if (!expired)
            return pb_tx_abort(tx, PB_ERR_CONFLICT);
    }

    if ((qs = tx->ops->value_delete_for_contact(tx->conn, account, c.id, &e->values)) < 0 ||
        (qs = tx->ops->evidence_erase_for_contact(tx->conn, account, c.id, &e->evidence)) < 0 ||
        (qs = tx->ops->event_wipe_personal_count(tx->conn, account, c.id, &e->events)) < 0 ||
        (qs = tx->ops->recipient_wipe_errors(tx->conn, account, c.id, &e->replies)) < 0)
        return qs;

    int64_t now = pb_clock_now();
    sodium_memzero(c.email_sealed, sizeof(c.email_sealed));
    c.email_sealed_len = 0;
    sodium_memzero(c.email_bidx, sizeof(c.email_bidx));
    c.email_bidx_len = 0;
    pb_strlcpy(c.status, "erased", sizeof(c.status));
    pb_strlcpy(c.pseudonym, r->pseudonym, sizeof(c.pseudonym));
    c.updated_at = now;
    if ((qs = tx->ops->contact_update(tx->conn, &c)) < 0)
        return qs;
    /*
     * Suppressed already (a bounce, say): the entry is replaced by the
     * erasure's, so that asking again by address is answered "erased".
     */
    if (e->hash != NULL &&
        (qs = tx->ops->suppression_put(tx->conn, account, e->hash, "erasure", now)) == PB_QS_NONE &&
        (qs = tx->ops->suppression_delete(tx->conn, account, e->hash)) >= 0)
        qs = tx->ops->suppression_put(tx->conn, account, e->hash, "erasure", now);
    if (qs < 0)
        return qs;

    /* The log says that it happened, and by whom; nothing about the person. */
    struct pb_consent_origin origin = {e->by->channel, e->by->actor, NULL, NULL};
    if ((qs = pb_consent_append_tx(tx, e->key, account, "erased", c.id, NULL, NULL, &origin)) < 0)
        return qs;

    r->erased_at = now;
    snprintf(r->wiped, sizeof(r->wiped),
             "{\"address\":true,\"field_values\":%lld,\"evidence\":%lld,"
             "\"event_personal_data\":%lld,\"delivery_replies\":%lld}",
             (long long)e->values, (long long)e->evidence, (long long)e->events,
             (long long)e->replies);
    return tx->ops->erasure_insert(tx->conn, r);
}

/* After the commit: takes the wiped bytes out of SQLite's log (nothing on PostgreSQL). */
static void
checkpoint(struct pb_app *app, const char *account_id, const char *erasure_id)
{
    enum pb_err err = pb_tenant_checkpoint(app, account_id);
    if (err != PB_ERR_OK)
        pb_warn("erasure %s is committed, but the WAL checkpoint failed (%s): the wiped bytes "
                "leave the log at the next checkpoint",
                erasure_id, pb_err_hint(err));
}

/* The audit log's entry: who erased which contact, and why; never the address. */
static void
audit(struct pb_app *app, const struct pb_erasure_by *by, const struct pb_erasure *r)
{
    const char *user =
        by->actor != NULL && pb_str_starts_with(by->actor, "user:") ? by->actor + 5 : NULL;
    json_t *detail = json_pack("{s:s, s:s, s:s, s:s}", "erasure_id", r->id, "contact_id",
                               r->contact_id, "reason", r->reason, "actor", r->actor);
    char *text = detail != NULL ? json_dumps(detail, JSON_COMPACT) : NULL;
    enum pb_err err =
        text == NULL ? PB_ERR_NOMEM
                     : pb_audit_record(app, by->account_id, user, "contacts.erased", NULL, text);
    if (err != PB_ERR_OK)
        pb_error("erasure %s: the audit entry cannot be written (%s)", r->id, pb_err_hint(err));
    free(text);
    json_decref(detail);
}

/* The answer to an erasure asked for again: the earlier receipt when it is known. */
static enum pb_err
already_erased(const struct pb_erasure *earlier, char why[PB_WHY_MAX])
{
    if (earlier->id[0] != '\0') {
        char at[21];
        pb_clock_format_rfc3339(earlier->erased_at, at);
        snprintf(why, PB_WHY_MAX, "this contact was erased at %s (receipt %s, pseudonym %s)", at,
                 earlier->id, earlier->pseudonym);
    } else {
        snprintf(why, PB_WHY_MAX, "this contact was erased before");
    }
    return PB_ERR_ALREADY_ERASED;
}

enum pb_err
pb_erasure_erase(struct pb_app *app, const struct pb_erasure_by *by, const char *email,
                 const char *contact_id, struct pb_erasure *receipt, const char **field,
                 char why[PB_WHY_MAX])
{
    memset(receipt, 0, sizeof(*receipt));
    why[0] = '\0';
    *field = email != NULL ? "email" : "contact_id";
    const char *account = by->account_id;
    unsigned char bidx[PB_BIDX_MAX], hash[PB_HASH_BYTES];
    char address[PB_EMAIL_MAX + 1] = "";
    bool has_hash = false;
    const struct pb_data_key *key = NULL;
    struct find_ctx *f = calloc(1, sizeof(*f));
    enum pb_err err = f == NULL ? PB_ERR_NOMEM : pb_app_data_key(app, account, &key);
    if (err != PB_ERR_OK)
        goto out;
    f->account_id = account;
    f->earlier = receipt;

    if (email != NULL) {
        if ((err = pb_contact_email_index(app, account, email, bidx, why)) != PB_ERR_OK ||
            (err = pb_suppression_hash(app, account, email, hash)) != PB_ERR_OK)
            goto out;
        has_hash = true;
        f->bidx = bidx;
        f->hash = hash;
    } else {
        if (contact_id == NULL || !pb_id_valid(contact_id)) {
            snprintf(why, PB_WHY_MAX, "no contact with this id in the account");
            err = PB_ERR_NOT_FOUND;
            goto out;
        }
        f->contact_id = contact_id;
    }
    if ((err = pb_tenant_tx(app, account, PB_TX_READ, find_tx, f)) != PB_ERR_OK)
        goto out;
    if (!f->found && f->suppressed && strcmp(f->suppression_reason, "erasure") == 0) {
        snprintf(why, PB_WHY_MAX,
                 "this address was erased before; its keyed hash is on the suppression list");
        err = PB_ERR_ALREADY_ERASED;
        goto out;
    }
    if (!f->found) {
        if (f->suppressed)
            snprintf(why, PB_WHY_MAX,
                     "no contact with this address in the account (the address is on the "
                     "suppression list: %s)",
                     f->suppression_reason);
        else
            snprintf(why, PB_WHY_MAX, "no contact with this %s in the account",
                     email != NULL ? "address" : "id");
        err = PB_ERR_NOT_FOUND;
        goto out;
    }
    if (strcmp(f->contact.status, "erased") == 0) {
        if (!f->has_earlier)
            memset(receipt, 0, sizeof(*receipt));
        err = already_erased(receipt, why);
        goto out;
    }
    if (email == NULL) {
        /* Only the id was given: the hash comes from the stored address. */
        if (open_address(key, &f->contact, address) &&
            pb_suppression_hash(app, account, address, hash) == PB_ERR_OK)
            has_hash = true;
        else
            pb_warn("erasure of contact %s: its address does not open; it is erased without a "
                    "suppression entry",
                    f->contact.id);
        sodium_memzero(address, sizeof(address));
    }

    pb_id_new(receipt->id);
    pb_strlcpy(receipt->account_id, account, sizeof(receipt->account_id));
    pb_strlcpy(receipt->contact_id, f->contact.id, sizeof(receipt->contact_id));
    pseudonym_new(receipt->pseudonym);
    pb_strlcpy(receipt->actor, by->actor != NULL ? by->actor : "", sizeof(receipt->actor));
    pb_strlcpy(receipt->reason, by->reason != NULL ? by->reason : PB_ERASURE_REASON_REQUEST,
               sizeof(receipt->reason));
    struct erase_ctx e = {by, key, f->contact.id, has_hash ? hash : NULL, receipt, 0, 0, 0, 0};
    err = pb_tenant_tx(app, account, PB_TX_WRITE, erase_tx, &e);
    if (err == PB_ERR_ALREADY_ERASED) { /* by another request meanwhile */
        err = already_erased(receipt, why);
        goto out;
    }
    if (err != PB_ERR_OK) {
        memset(receipt, 0, sizeof(*receipt));
        if (err == PB_ERR_CONFLICT)
            snprintf(why, PB_WHY_MAX, "the contact is no longer past its storage limit");
        if (err == PB_ERR_NOT_FOUND)
            snprintf(why, PB_WHY_MAX, "no contact with this %s in the account",
                     email != NULL ? "address" : "id");
        goto out;
    }
    *field = NULL;
    if (by->checkpoint)
        checkpoint(app, account, receipt->id);
    /*
     * A person's request is a user's (or the operator's) action: audited.
     * The storage-limitation sweep's erasures are the system's, recorded
     * by their receipts alone (thousands of them would bury the log).
     */
    if (strcmp(receipt->reason, PB_ERASURE_REASON_STORAGE) != 0)
        audit(app, by, receipt);
out:
    sodium_memzero(bidx, sizeof(bidx));
    sodium_memzero(hash, sizeof(hash));
    if (f != NULL) {
        sodium_memzero(f, sizeof(*f)); /* the contact's sealed address and blind index */
        free(f);
    }
    return err;
}

/* ---- receipts ---- */

json_t *
pb_erasure_to_json(const struct pb_erasure *r)
{
    char at[21];
    pb_clock_format_rfc3339(r->erased_at, at);
    json_t *wiped = json_loads(r->wiped, 0, NULL);
    return json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:o}", "id", r->id, "contact_id",
                     r->contact_id, "pseudonym", r->pseudonym, "actor", r->actor, "reason",
                     r->reason, "erased_at", at, "wiped", wiped != NULL ? wiped : json_object());
}

struct list_ctx {
    const char *account_id;
    const char *before_id;
    int limit;
    json_t *items; /* [[id, receipt], ...] collected inside the transaction */
};

static void
collect(void *cls, const struct pb_erasure *r)
{
    struct list_ctx *l = cls;
    json_t *item = pb_erasure_to_json(r);
    json_array_append_new(l->items, json_pack("[s, o]", r->id, item ? item : json_null()));
}

static enum pb_qs
list_tx(struct pb_tx *tx, void *cls)
{
    struct list_ctx *l = cls;
    json_array_clear(l->items);
    return tx->ops->erasure_list(tx->conn, l->account_id, l->before_id, l->limit, collect, l);
}

enum pb_err
pb_erasure_list_json(struct pb_app *app, const char *account_id, const char *before_id, int limit,
                     pb_erasure_json_cb cb, void *cls)
{
    struct list_ctx l = {account_id, before_id != NULL ? before_id : "", limit, json_array()};
    if (l.items == NULL)
        return PB_ERR_NOMEM;
    enum pb_err err = pb_tenant_tx(app, account_id, PB_TX_READ, list_tx, &l);
    size_t i;
    json_t *pair;
    json_array_foreach(l.items, i, pair)
    {
        if (err != PB_ERR_OK)
            break;
        json_t *item = json_array_get(pair, 1);
        cb(cls, json_string_value(json_array_get(pair, 0)),
           json_is_null(item) ? NULL : json_incref(item));
    }
    json_decref(l.items);
    return err;
}

/* ---- additions ---- */

enum pb_qs
pb_erasure_check_suppressed_tx(struct pb_tx *tx, const char *account_id,
                               const unsigned char hash[PB_HASH_BYTES], bool override,
                               bool *suppressed)
{
    *suppressed = false;
    enum pb_qs qs = tx->ops->suppression_exists(tx->conn, account_id, hash);
    if (qs <= 0)
        return qs < 0 ? qs : PB_QS_ONE;
    if (!override) {
        *suppressed = true;
        return PB_QS_ONE;
    }
    qs = tx->ops->suppression_delete(tx->conn, account_id, hash);
    return qs < 0 ? qs : PB_QS_ONE;
}
