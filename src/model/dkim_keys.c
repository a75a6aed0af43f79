/* DKIM keys of sending domains: generated, stored sealed, listed with their DNS records, loaded. */
#include "model/dkim_keys.h"

#include <ctype.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "core/clock.h"
#include "core/log.h"
#include "core/strutil.h"
#include "core/vec.h"
#include "model/audit.h"
#include "model/auth.h"
#include "model/tenant.h"

/* Rows a listing collects at most (an account has PB_DKIM_KEYS_MAX). */
#define LIST_MAX 1000

static bool
alg_parse(const char *algorithm, enum pb_dkim_alg *out)
{
    if (algorithm != NULL && strcmp(algorithm, "rsa-sha256") == 0)
        *out = PB_DKIM_RSA_SHA256;
    else if (algorithm != NULL && strcmp(algorithm, "ed25519-sha256") == 0)
        *out = PB_DKIM_ED25519_SHA256;
    else
        return false;
    return true;
}

/*
 * Whether `s` is dot-separated LDH labels (letters, digits, inner hyphens,
 * 1 to 63 characters each), at least `min_labels` of them, lower-cased into
 * `out` (`size` bytes with the NUL).
 */
static bool
ldh_name(const char *s, int min_labels, char *out, size_t size)
{
    size_t len = s != NULL ? strlen(s) : 0, label = 0;
    int labels = 0;
    if (len == 0 || len >= size)
        return false;
    for (size_t i = 0; i <= len; i++) {
        unsigned char ch = (unsigned char)s[i];
        if (ch == '.' || ch == '\0') {
            if (label == 0 || label > 63 || s[i - 1] == '-')
                return false;
            label = 0;
            labels++;
        } else if (isalnum(ch) || (ch == '-' && label > 0)) {
            label++;
        } else {
            return false;
        }
        out[i] = (char)tolower(ch);
    }
    return labels >= min_labels;
}

/* Checks and lower-cases a domain and a selector; `field` and `why` name the bad one. */
static enum pb_err
names_check(const char *domain, const char *selector, char d[PB_DOMAIN_MAX + 1],
            char s[PB_SELECTOR_MAX + 1], const char **field, char why[PB_WHY_MAX])
{
    if (!ldh_name(domain, 2, d, PB_DOMAIN_MAX + 1)) {
        *field = "domain";
        snprintf(why, PB_WHY_MAX,
                 "a domain is at most %d characters: dot-separated labels of letters, digits and "
                 "inner hyphens (an internationalised name as its xn-- form), at least two",
                 PB_DOMAIN_MAX);
        return PB_ERR_INVALID;
    }
    if (!ldh_name(selector, 1, s, PB_SELECTOR_MAX + 1)) {
        *field = "selector";
        snprintf(why, PB_WHY_MAX,
                 "a selector is 1 to %d characters: letters, digits, inner hyphens (dots "
                 "between labels)",
                 PB_SELECTOR_MAX);
        return PB_ERR_INVALID;
    }
    return PB_ERR_OK;
}

/* Where a private key lives: opening it anywhere else fails. */
static void
key_place(const char *account_id, const char *domain, const char *selector, char place[400])
{
    snprintf(place, 400, "dkim_key:%s:%s:%s", account_id, domain, selector);
}

/* A key as the API shows it, with the DNS record to publish; NULL on failure. */
static json_t *
key_json(const char *domain, const char *selector, const char *algorithm, int64_t created_at,
         const char *public_key)
{
    enum pb_dkim_alg alg;
    char *name = NULL, *value = NULL, created[21];
    if (!alg_parse(algorithm, &alg) ||
        pb_dkim_dns_record(alg, selector, domain, public_key, &name, &value) != PB_ERR_OK)
        return NULL;
    pb_clock_format_rfc3339(created_at, created);
    json_t *j = json_pack("{s:s, s:s, s:s, s:s, s:{s:s, s:s, s:s}}", "domain", domain, "selector",
                          selector, "algorithm", algorithm, "created_at", created, "dns", "name",
                          name, "type", "TXT", "value", value);
    free(name);
    free(value);
    return j;
}

/* ---- put ---- */

struct put_ctx {
    const struct pb_dkim_row *row;
    int others;    /* keys of the account but this one */
    bool replaced; /* a key of this domain and selector was there */
};

static void
count_key(void *cls, const struct pb_dkim_row *key)
{
    struct put_ctx *p = cls;
    if (strcmp(key->domain, p->row->domain) == 0 && strcmp(key->selector, p->row->selector) == 0)
        p->replaced = true;
    else
        p->others++;
}

static enum pb_qs
put_tx(struct pb_tx *tx, void *cls)
{
    struct put_ctx *p = cls;
    p->others = 0;
    p->replaced = false;
    enum pb_qs qs = tx->ops->dkim_list(tx->conn, p->row->account_id, count_key, p);
    if (qs < 0)
        return qs;
    if (p->others >= PB_DKIM_KEYS_MAX)
        return pb_tx_abort(tx, PB_ERR_INVALID);
    return tx->ops->dkim_put(tx->conn, p->row);
}

enum pb_err
pb_dkim_keys_put(struct pb_app *app, const struct pb_principal *who, const char *domain,
                 const char *selector, const char *algorithm, const char *client_ip, json_t **out,
                 const char **field, char why[PB_WHY_MAX])
{
    *out = NULL;
    *field = NULL;
    unsigned char *priv = NULL;
    size_t priv_len = 0;
    char *pub = NULL;
    struct pb_dkim_row *row = NULL;
    enum pb_dkim_alg alg;
    if (!alg_parse(algorithm, &alg)) {
        *field = "algorithm";
        snprintf(why, PB_WHY_MAX, "algorithm is \"rsa-sha256\" or \"ed25519-sha256\"");
        return PB_ERR_INVALID;
    }
    char d[PB_DOMAIN_MAX + 1], s[PB_SELECTOR_MAX + 1];
    enum pb_err err = names_check(domain, selector, d, s, field, why);
    if (err != PB_ERR_OK)
        return err;
    const struct pb_data_key *key = NULL;
    if ((err = pb_app_data_key(app, who->account_id, &key)) != PB_ERR_OK)
        return err;
    if ((row = calloc(1, sizeof(*row))) == NULL)
        return PB_ERR_NOMEM;
    if ((err = pb_dkim_generate(alg, &priv, &priv_len, &pub)) != PB_ERR_OK)
        goto out;
    if (pb_sealed_len(priv_len) > sizeof(row->private_sealed) ||
        !pb_strlcpy(row->public_key, pub, sizeof(row->public_key))) {
        pb_error("a generated DKIM key does not fit its row (%zu bytes private)", priv_len);
        err = PB_ERR_INTERNAL;
        goto out;
    }
    pb_strlcpy(row->account_id, who->account_id, sizeof(row->account_id));
    pb_strlcpy(row->domain, d, sizeof(row->domain));
    pb_strlcpy(row->selector, s, sizeof(row->selector));
    pb_strlcpy(row->algorithm, algorithm, sizeof(row->algorithm));
    char place[400];
    key_place(row->account_id, d, s, place);
    pb_data_key_seal(key, place, priv, priv_len, row->private_sealed);
    row->private_sealed_len = pb_sealed_len(priv_len);
    row->created_at = pb_clock_now();

    struct put_ctx p = {.row = row};
    err = pb_tenant_tx(app, who->account_id, PB_TX_WRITE, put_tx, &p);
    if (err == PB_ERR_INVALID) {
        snprintf(why, PB_WHY_MAX, "an account has at most %d DKIM keys: delete one first",
                 PB_DKIM_KEYS_MAX);
        goto out;
    }
    if (err != PB_ERR_OK)
        goto out;

    char detail[512];
    snprintf(detail, sizeof(detail),
             "{\"domain\":\"%s\",\"selector\":\"%s\",\"algorithm\":\"%s\",\"replaced\":%s}", d, s,
             algorithm, p.replaced ? "true" : "false");
    enum pb_err audit_err = pb_audit_record(app, who->account_id, who->user_id,
                                            "settings.dkim_changed", client_ip, detail);
    if (audit_err != PB_ERR_OK)
        pb_error("account %s: the audit entry of a DKIM key cannot be written (%s)",
                 who->account_id, pb_err_hint(audit_err));
    if ((*out = key_json(d, s, algorithm, row->created_at, pub)) == NULL)
        err = PB_ERR_NOMEM;
out:
    if (priv != NULL)
        sodium_memzero(priv, priv_len);
    free(priv);
    free(pub);
    free(row);
    return err;
}

/* ---- list ---- */

/* What a listing shows of a key (never its sealed private half). */
struct listed {
    char domain[PB_DOMAIN_MAX + 1];
    char selector[PB_SELECTOR_MAX + 1];
    char algorithm[16];
    char public_key[PB_DKIM_PUBLIC_MAX + 1];
    int64_t created_at;
};

static void
collect_listed(void *cls, const struct pb_dkim_row *key)
{
    struct listed l;
    memset(&l, 0, sizeof(l));
    pb_strlcpy(l.domain, key->domain, sizeof(l.domain));
    pb_strlcpy(l.selector, key->selector, sizeof(l.selector));
    pb_strlcpy(l.algorithm, key->algorithm, sizeof(l.algorithm));
    pb_strlcpy(l.public_key, key->public_key, sizeof(l.public_key));
    l.created_at = key->created_at;
    pb_vec_push(cls, &l);
}

struct list_ctx {
    const char *account_id;
    struct pb_vec rows;
};

static enum pb_qs
list_tx(struct pb_tx *tx, void *cls)
{
    struct list_ctx *l = cls;
    pb_vec_clear(&l->rows);
    return tx->ops->dkim_list(tx->conn, l->account_id, collect_listed, &l->rows);
}

enum pb_err
pb_dkim_keys_list_json(struct pb_app *app, const struct pb_principal *who, json_t **out)
{
    *out = NULL;
    struct list_ctx l = {.account_id = who->account_id};
    pb_vec_init(&l.rows, sizeof(struct listed), LIST_MAX);
    enum pb_err err = pb_tenant_tx(app, who->account_id, PB_TX_READ, list_tx, &l);
    if (err == PB_ERR_OK)
        err = l.rows.err;
    json_t *items = err == PB_ERR_OK ? json_array() : NULL;
    if (err == PB_ERR_OK && items == NULL)
        err = PB_ERR_NOMEM;
    for (size_t i = 0; err == PB_ERR_OK && i < l.rows.count; i++) {
        const struct listed *k = pb_vec_at(&l.rows, i);
        json_t *item = key_json(k->domain, k->selector, k->algorithm, k->created_at, k->public_key);
        if (item == NULL) {
            pb_error("account %s: the DKIM key %s._domainkey.%s cannot be shown", who->account_id,
                     k->selector, k->domain);
            err = PB_ERR_INTERNAL;
        } else {
            json_array_append_new(items, item);
        }
    }
    pb_vec_release(&l.rows);
    if (err == PB_ERR_OK && (*out = json_pack("{s:o}", "items", items)) == NULL)
        err = PB_ERR_NOMEM;
    else if (err != PB_ERR_OK)
        json_decref(items);
    return err;
}

/* ---- delete ---- */

struct delete_ctx {
    const char *account_id;
    const char *domain;
    const char *selector;
};

static enum pb_qs
delete_tx(struct pb_tx *tx, void *cls)
{
    struct delete_ctx *dc = cls;
    enum pb_qs qs = tx->ops->dkim_delete(tx->conn, dc->account_id, dc->domain, dc->selector);
    return qs == PB_QS_NONE ? pb_tx_abort(tx, PB_ERR_NOT_FOUND) : qs;
}

enum pb_err
pb_dkim_keys_delete(struct pb_app *app, const struct pb_principal *who, const char *domain,
                    const char *selector, const char *client_ip)
{
    char d[PB_DOMAIN_MAX + 1], s[PB_SELECTOR_MAX + 1], why[PB_WHY_MAX];
    const char *field = NULL;
    if (names_check(domain, selector, d, s, &field, why) != PB_ERR_OK)
        return PB_ERR_NOT_FOUND; /* no key can have such a name */
    struct delete_ctx dc = {who->account_id, d, s};
    enum pb_err err = pb_tenant_tx(app, who->account_id, PB_TX_WRITE, delete_tx, &dc);
    if (err != PB_ERR_OK)
        return err;
    char detail[512];
    snprintf(detail, sizeof(detail), "{\"domain\":\"%s\",\"selector\":\"%s\"}", d, s);
    if ((err = pb_audit_record(app, who->account_id, who->user_id, "settings.dkim_deleted",
                               client_ip, detail)) != PB_ERR_OK)
        pb_error("account %s: the audit entry of a DKIM key deletion cannot be written (%s)",
                 who->account_id, pb_err_hint(err));
    return PB_ERR_OK;
}

/* ---- load (for the sender) ---- */

struct load_ctx {
    const char *account_id;
    const char *domain;
    int max;
    struct pb_vec rows; /* struct pb_dkim_row of the domain, at most max */
};

static void
collect_domain(void *cls, const struct pb_dkim_row *key)
{
    struct load_ctx *l = cls;
    if (strcmp(key->domain, l->domain) == 0 && l->rows.count < (size_t)l->max)
        pb_vec_push(&l->rows, key);
}

static enum pb_qs
load_tx(struct pb_tx *tx, void *cls)
{
    struct load_ctx *l = cls;
    pb_vec_clear(&l->rows);
    return tx->ops->dkim_list(tx->conn, l->account_id, collect_domain, l);
}

enum pb_err
pb_dkim_keys_load(struct pb_app *app, const char *account_id, const char *domain,
                  struct pb_dkim_key **keys, int max, int *n)
{
    *n = 0;
    char d[PB_DOMAIN_MAX + 1];
    if (max <= 0 || !pb_id_valid(account_id) || !ldh_name(domain, 2, d, sizeof(d)))
        return PB_ERR_OK; /* no key can be for such a domain */
    const struct pb_data_key *key = NULL;
    enum pb_err err = pb_app_data_key(app, account_id, &key);
    if (err != PB_ERR_OK)
        return err;
    struct load_ctx l = {.account_id = account_id, .domain = d, .max = max};
    pb_vec_init(&l.rows, sizeof(struct pb_dkim_row), (size_t)max);
    unsigned char *plain = malloc(PB_DKIM_SEALED_MAX);
    if (plain == NULL) {
        err = PB_ERR_NOMEM;
        goto out;
    }
    if ((err = pb_tenant_tx(app, account_id, PB_TX_READ, load_tx, &l)) != PB_ERR_OK ||
        (err = l.rows.err) != PB_ERR_OK)
        goto out;
    for (size_t i = 0; i < l.rows.count; i++) {
        const struct pb_dkim_row *row = pb_vec_at(&l.rows, i);
        enum pb_dkim_alg alg;
        char place[400], why[PB_WHY_MAX] = "";
        size_t len = 0;
        key_place(account_id, row->domain, row->selector, place);
        if (!alg_parse(row->algorithm, &alg) || row->private_sealed_len > PB_DKIM_SEALED_MAX ||
            pb_data_key_open(key, place, row->private_sealed, row->private_sealed_len, plain,
                             &len) != PB_ERR_OK) {
            pb_error("account %s: the DKIM key %s._domainkey.%s does not open", account_id,
                     row->selector, row->domain);
            err = PB_ERR_INTERNAL;
            goto out;
        }
        err = pb_dkim_key_load(alg, row->domain, row->selector, plain, len, &keys[*n], why);
        sodium_memzero(plain, len);
        if (err != PB_ERR_OK) {
            pb_error("account %s: the DKIM key %s._domainkey.%s cannot be loaded: %s", account_id,
                     row->selector, row->domain, why);
            err = PB_ERR_INTERNAL;
            goto out;
        }
        (*n)++;
    }
out:
    if (err != PB_ERR_OK) {
        for (int i = 0; i < *n; i++) {
            pb_dkim_key_free(keys[i]);
            keys[i] = NULL;
        }
        *n = 0;
    }
    if (plain != NULL)
        sodium_memzero(plain, PB_DKIM_SEALED_MAX);
    free(plain);
    pb_vec_release(&l.rows);
    return err;
}
