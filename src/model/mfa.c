/* TOTP enrolment, confirmation, turning off, and checking a code once. */
#include "model/mfa.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "core/clock.h"
#include "core/strutil.h"
#include "model/audit.h"

/* Where a user's TOTP seed lives: opening it anywhere else fails. */
static void
seed_place(const struct pb_user *user, char place[96])
{
    snprintf(place, 96, "user_totp:%s:%s", user->account_id, user->id);
}

static enum pb_qs
get_user_tx(struct pb_tx *tx, void *cls)
{
    struct pb_user *u = cls;
    enum pb_qs qs = tx->ops->user_get(tx->conn, u->id, u);
    return qs == PB_QS_NONE ? pb_tx_abort(tx, PB_ERR_UNAUTHENTICATED) : qs;
}

static enum pb_err
load_user(struct pb_app *app, const char *user_id, struct pb_user *out)
{
    memset(out, 0, sizeof(*out));
    pb_strlcpy(out->id, user_id, sizeof(out->id));
    return pb_store_tx(app->control, PB_TX_READ, get_user_tx, out);
}

/* Opens the user's sealed seed into `seed` (PB_TOTP_SECRET_BYTES). */
static enum pb_err
open_seed(struct pb_app *app, const struct pb_user *user, unsigned char *seed)
{
    const struct pb_data_key *key = NULL;
    enum pb_err err = pb_app_data_key(app, user->account_id, &key);
    if (err != PB_ERR_OK)
        return err;
    if (user->totp_secret_len != pb_sealed_len(PB_TOTP_SECRET_BYTES))
        return PB_ERR_INTERNAL;
    char place[96];
    size_t len = 0;
    seed_place(user, place);
    err = pb_data_key_open(key, place, user->totp_secret, user->totp_secret_len, seed, &len);
    return err == PB_ERR_OK && len == PB_TOTP_SECRET_BYTES ? PB_ERR_OK : PB_ERR_INTERNAL;
}

static enum pb_qs
advance_tx(struct pb_tx *tx, void *cls)
{
    const struct pb_user *u = ((const struct pb_user *const *)cls)[0];
    const int64_t *step = ((const int64_t *const *)cls)[1];
    enum pb_qs qs = tx->ops->user_advance_totp_step(tx->conn, u->id, *step);
    /* NONE: another request accepted this step (or a later one) first. */
    return qs == PB_QS_NONE ? pb_tx_abort(tx, PB_ERR_TOTP_WRONG) : qs;
}

enum pb_err
pb_mfa_check_code(struct pb_app *app, const struct pb_user *user, const char *code)
{
    if (!user->totp_enabled)
        return PB_ERR_TOTP_OFF;
    unsigned char seed[PB_TOTP_SECRET_BYTES];
    enum pb_err err = open_seed(app, user, seed);
    if (err != PB_ERR_OK)
        return err;
    int64_t step = 0;
    enum pb_totp_result r =
        pb_totp_verify(seed, sizeof(seed), code, pb_clock_now(), user->totp_last_step, &step);
    sodium_memzero(seed, sizeof(seed));
    if (r == PB_TOTP_MALFORMED)
        return PB_ERR_TOTP_MALFORMED;
    if (r != PB_TOTP_OK)
        return PB_ERR_TOTP_WRONG;
    /* The step is recorded atomically: of two requests with one code, one wins. */
    const void *args[2] = {user, &step};
    return pb_store_tx(app->control, PB_TX_WRITE, advance_tx, args);
}

static enum pb_qs
update_user_tx(struct pb_tx *tx, void *cls)
{
    return tx->ops->user_update(tx->conn, cls);
}

enum pb_err
pb_mfa_enrol_start(struct pb_app *app, const struct pb_principal *who,
                   struct pb_totp_enrolment *out)
{
    memset(out, 0, sizeof(*out));
    struct pb_user user;
    enum pb_err err = load_user(app, who->user_id, &user);
    if (err != PB_ERR_OK)
        return err;
    if (user.totp_enabled)
        return PB_ERR_TOTP_ALREADY_ON;
    const struct pb_data_key *key = NULL;
    if ((err = pb_app_data_key(app, user.account_id, &key)) != PB_ERR_OK)
        return err;

    unsigned char seed[PB_TOTP_SECRET_BYTES];
    char place[96];
    pb_totp_secret_new(seed);
    pb_totp_secret_base32(seed, out->secret);
    seed_place(&user, place);
    pb_data_key_seal(key, place, seed, sizeof(seed), user.totp_secret);
    user.totp_secret_len = pb_sealed_len(sizeof(seed));
    sodium_memzero(seed, sizeof(seed));
    user.totp_enabled = false; /* pending until confirmed */

    out->otpauth_uri = pb_totp_uri("Postbode", user.email, out->secret);
    out->qr_svg = out->otpauth_uri ? pb_totp_qr_svg(out->otpauth_uri) : NULL;
    if (out->qr_svg == NULL) {
        pb_mfa_enrolment_release(out);
        return PB_ERR_NOMEM;
    }
    if ((err = pb_store_tx(app->control, PB_TX_WRITE, update_user_tx, &user)) != PB_ERR_OK)
        pb_mfa_enrolment_release(out);
    return err;
}

void
pb_mfa_enrolment_release(struct pb_totp_enrolment *enrolment)
{
    sodium_memzero(enrolment->secret, sizeof(enrolment->secret));
    free(enrolment->otpauth_uri);
    free(enrolment->qr_svg);
    enrolment->otpauth_uri = NULL;
    enrolment->qr_svg = NULL;
}

struct confirm_ctx {
    struct pb_user *user;
    unsigned char hashes[PB_RECOVERY_CODES][PB_HASH_BYTES];
    struct pb_audit_entry audit;
};

static enum pb_qs
confirm_tx(struct pb_tx *tx, void *cls)
{
    struct confirm_ctx *c = cls;
    enum pb_qs qs;
    /* Only where the stored step is older: a concurrent confirm with the same code loses. */
    if ((qs = tx->ops->user_advance_totp_step(tx->conn, c->user->id, c->user->totp_last_step)) <= 0)
        return qs < 0 ? qs : pb_tx_abort(tx, PB_ERR_TOTP_WRONG);
    if ((qs = tx->ops->user_update(tx->conn, c->user)) < 0 ||
        (qs = tx->ops->recovery_codes_replace(tx->conn, c->user->id,
                                              (const unsigned char(*)[PB_HASH_BYTES])c->hashes,
                                              PB_RECOVERY_CODES)) < 0)
        return qs;
    return tx->ops->audit_insert(tx->conn, &c->audit);
}

/* "abcd-efgh-ijkl-mnop": 16 base32 characters, 80 random bits. */
static void
new_recovery_code(char out[PB_RECOVERY_CODE_LEN + 1], unsigned char hash[PB_HASH_BYTES])
{
    static const char alphabet[] = "abcdefghijklmnopqrstuvwxyz234567";
    char bare[17];
    for (int i = 0; i < 16; i++)
        bare[i] = alphabet[randombytes_uniform(32)];
    bare[16] = '\0';
    snprintf(out, PB_RECOVERY_CODE_LEN + 1, "%.4s-%.4s-%.4s-%.4s", bare, bare + 4, bare + 8,
             bare + 12);
    /* Hashed as auth.c compares them: lower case, no dashes. */
    crypto_generichash(hash, PB_HASH_BYTES, (const unsigned char *)bare, 16, NULL, 0);
    sodium_memzero(bare, sizeof(bare));
}

enum pb_err
pb_mfa_enrol_confirm(struct pb_app *app, const struct pb_principal *who, const char *code,
                     const char *client_ip,
                     char recovery_codes[PB_RECOVERY_CODES][PB_RECOVERY_CODE_LEN + 1])
{
    struct pb_user user;
    enum pb_err err = load_user(app, who->user_id, &user);
    if (err != PB_ERR_OK)
        return err;
    if (user.totp_enabled)
        return PB_ERR_TOTP_ALREADY_ON;
    if (user.totp_secret_len == 0)
        return PB_ERR_TOTP_NOT_PENDING;
    unsigned char seed[PB_TOTP_SECRET_BYTES];
    if ((err = open_seed(app, &user, seed)) != PB_ERR_OK)
        return err;
    int64_t step = 0;
    enum pb_totp_result r =
        pb_totp_verify(seed, sizeof(seed), code, pb_clock_now(), user.totp_last_step, &step);
    sodium_memzero(seed, sizeof(seed));
    if (r == PB_TOTP_MALFORMED)
        return PB_ERR_TOTP_MALFORMED;
    if (r != PB_TOTP_OK)
        return PB_ERR_TOTP_WRONG;

    struct confirm_ctx c = {.user = &user};
    for (int i = 0; i < PB_RECOVERY_CODES; i++)
        new_recovery_code(recovery_codes[i], c.hashes[i]);
    user.totp_enabled = true;
    user.totp_last_step = step;
    pb_audit_entry_make(&c.audit, user.account_id, user.id, "mfa.enabled", client_ip, NULL);
    err = pb_store_tx(app->control, PB_TX_WRITE, confirm_tx, &c);
    if (err != PB_ERR_OK)
        sodium_memzero(recovery_codes, PB_RECOVERY_CODES * (PB_RECOVERY_CODE_LEN + 1));
    return err;
}

struct disable_ctx {
    struct pb_user *user;
    struct pb_audit_entry audit;
};

static enum pb_qs
disable_tx(struct pb_tx *tx, void *cls)
{
    struct disable_ctx *d = cls;
    enum pb_qs qs;
    if ((qs = tx->ops->user_update(tx->conn, d->user)) < 0 ||
        (qs = tx->ops->recovery_codes_replace(tx->conn, d->user->id, NULL, 0)) < 0)
        return qs;
    return tx->ops->audit_insert(tx->conn, &d->audit);
}

enum pb_err
pb_mfa_disable(struct pb_app *app, const struct pb_principal *who, const char *code,
               const char *client_ip)
{
    struct pb_user user;
    enum pb_err err = load_user(app, who->user_id, &user);
    if (err != PB_ERR_OK)
        return err;
    if (!user.totp_enabled)
        return PB_ERR_TOTP_OFF;
    if ((err = pb_mfa_check_code(app, &user, code)) != PB_ERR_OK)
        return err;
    /* Reload: the check advanced the step. */
    if ((err = load_user(app, who->user_id, &user)) != PB_ERR_OK)
        return err;
    user.totp_enabled = false;
    user.totp_secret_len = 0;
    sodium_memzero(user.totp_secret, sizeof(user.totp_secret));
    struct disable_ctx d = {.user = &user};
    pb_audit_entry_make(&d.audit, user.account_id, user.id, "mfa.disabled", client_ip, NULL);
    return pb_store_tx(app->control, PB_TX_WRITE, disable_tx, &d);
}
