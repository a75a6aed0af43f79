/* Evidence images: checked, sealed, deduplicated, read back. */
#include "model/evidence.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "core/clock.h"
#include "core/strutil.h"
#include "model/evidence_check.h"
#include "model/tenant.h"

static void
evidence_place(const char *account_id, const char *id, char place[96])
{
    snprintf(place, 96, "evidence:%s:%s", account_id, id);
}

struct store_ctx {
    struct pb_evidence *ev;
    const unsigned char *sealed;
    size_t sealed_len;
    bool existed;
};

static enum pb_qs
store_tx(struct pb_tx *tx, void *cls)
{
    struct store_ctx *s = cls;
    struct pb_evidence found;
    enum pb_qs qs =
        tx->ops->evidence_get_by_sha(tx->conn, s->ev->account_id, s->ev->sha256, &found);
    if (qs < 0)
        return qs;
    s->existed = qs == PB_QS_ONE;
    if (s->existed) {
        *s->ev = found;
        return PB_QS_ONE;
    }
    return tx->ops->evidence_insert(tx->conn, s->ev, s->sealed, s->sealed_len);
}

enum pb_err
pb_evidence_store(struct pb_app *app, const struct pb_principal *who, const unsigned char *data,
                  size_t len, struct pb_evidence *out, bool *existed, char why[PB_WHY_MAX])
{
    memset(out, 0, sizeof(*out));
    *existed = false;
    char type[PB_EVIDENCE_TYPE_MAX];
    enum pb_err err = pb_evidence_check(data, len, type, why);
    if (err != PB_ERR_OK)
        return err;
    const struct pb_data_key *key = NULL;
    if ((err = pb_app_data_key(app, who->account_id, &key)) != PB_ERR_OK)
        return err;
    pb_id_new(out->id);
    pb_strlcpy(out->account_id, who->account_id, sizeof(out->account_id));
    pb_evidence_sha256(data, len, out->sha256);
    pb_strlcpy(out->type, type, sizeof(out->type));
    out->size = (int64_t)len;
    out->created_at = pb_clock_now();

    size_t sealed_len = pb_sealed_len(len);
    unsigned char *sealed = malloc(sealed_len);
    if (sealed == NULL)
        return PB_ERR_NOMEM;
    char place[96];
    evidence_place(out->account_id, out->id, place);
    pb_data_key_seal(key, place, data, len, sealed);
    struct store_ctx s = {out, sealed, sealed_len, false};
    err = pb_tenant_tx(app, who->account_id, PB_TX_WRITE, store_tx, &s);
    free(sealed);
    *existed = s.existed;
    return err;
}

struct read_ctx {
    const char *account_id;
    const char *id;
    struct pb_evidence *out;
    unsigned char *sealed;
    size_t sealed_len;
};

static enum pb_qs
read_tx(struct pb_tx *tx, void *cls)
{
    struct read_ctx *r = cls;
    free(r->sealed);
    r->sealed = NULL;
    enum pb_qs qs =
        tx->ops->evidence_get(tx->conn, r->account_id, r->id, r->out, &r->sealed, &r->sealed_len);
    return qs == PB_QS_NONE ? pb_tx_abort(tx, PB_ERR_NOT_FOUND) : qs;
}

enum pb_err
pb_evidence_read(struct pb_app *app, const struct pb_principal *who, const char *id,
                 struct pb_evidence *out, unsigned char **data, size_t *len)
{
    *data = NULL;
    *len = 0;
    if (!pb_id_valid(id))
        return PB_ERR_NOT_FOUND;
    const struct pb_data_key *key = NULL;
    enum pb_err err = pb_app_data_key(app, who->account_id, &key);
    if (err != PB_ERR_OK)
        return err;
    struct read_ctx r = {who->account_id, id, out, NULL, 0};
    if ((err = pb_tenant_tx(app, who->account_id, PB_TX_READ, read_tx, &r)) != PB_ERR_OK) {
        free(r.sealed);
        return err;
    }
    unsigned char *plain = r.sealed_len >= pb_sealed_len(0) ? malloc(r.sealed_len) : NULL;
    char place[96];
    evidence_place(who->account_id, id, place);
    if (plain == NULL ||
        pb_data_key_open(key, place, r.sealed, r.sealed_len, plain, len) != PB_ERR_OK) {
        free(plain);
        free(r.sealed);
        return plain == NULL ? PB_ERR_NOMEM : PB_ERR_INTERNAL;
    }
    free(r.sealed);
    *data = plain;
    return PB_ERR_OK;
}
