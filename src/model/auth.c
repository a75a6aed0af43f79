/* Login, the TOTP step, sessions, API keys, logout and CSRF tokens. */
#include "model/auth.h"

#include <stdio.h>
#include <string.h>

#include <sodium.h>

#include "core/clock.h"
#include "core/log.h"
#include "core/strutil.h"
#include "crypto/password.h"
#include "model/audit.h"
#include "model/email.h"
#include "model/mfa.h"

/*
 * Throttling: after THRESHOLD failures a key waits FIRST_WAIT * 2^(n - THRESHOLD)
 * seconds after its last failure, up to MAX_WAIT. The client address gets a
 * higher threshold, as offices share one.
 */
enum {
    FIRST_WAIT_SECONDS = 5,
    EMAIL_THRESHOLD = 5,
    IP_THRESHOLD = 20,
    MFA_THRESHOLD = 5,
    MAX_WAIT_SECONDS = 15 * 60,
    TOUCH_EVERY_SECONDS = 60, /* a session's last_seen_at is written at most this often */
};

void
pb_auth_token_hash(const char *token, unsigned char out[PB_HASH_BYTES])
{
    crypto_generichash(out, PB_HASH_BYTES, (const unsigned char *)token, strlen(token), NULL, 0);
}

void
pb_auth_csrf_token(const char *session_token, char out[PB_TOKEN_LEN + 1])
{
    /* A different hash than the stored one, so the database never holds CSRF tokens. */
    unsigned char mac[32];
    static const unsigned char domain[] = "postbode csrf token v1";
    crypto_generichash(mac, sizeof(mac), (const unsigned char *)session_token,
                       strlen(session_token), domain, sizeof(domain) - 1);
    sodium_bin2base64(out, PB_TOKEN_LEN + 1, mac, sizeof(mac),
                      sodium_base64_VARIANT_URLSAFE_NO_PADDING);
}

bool
pb_auth_csrf_valid(const char *session_token, const char *sent)
{
    if (session_token == NULL || sent == NULL || strlen(sent) != PB_TOKEN_LEN)
        return false;
    char expect[PB_TOKEN_LEN + 1];
    pb_auth_csrf_token(session_token, expect);
    return sodium_memcmp(expect, sent, PB_TOKEN_LEN) == 0;
}

/* The throttle key of an email: a hash, so the table holds no address. */
static void
email_key(const char *email, char out[80])
{
    unsigned char h[16];
    char hex[33];
    crypto_generichash(h, sizeof(h), (const unsigned char *)email, strlen(email), NULL, 0);
    sodium_bin2hex(hex, sizeof(hex), h, sizeof(h));
    snprintf(out, 80, "email:%s", hex);
}

/* Seconds still to wait under `t`, or 0. */
static int
wait_left(const struct pb_throttle *t, int threshold, int64_t now)
{
    if (t->failures < threshold)
        return 0;
    int shift = t->failures - threshold;
    int64_t wait = shift >= 10 ? MAX_WAIT_SECONDS : (int64_t)FIRST_WAIT_SECONDS << shift;
    if (wait > MAX_WAIT_SECONDS)
        wait = MAX_WAIT_SECONDS;
    int64_t left = t->last_failure_at + wait - now;
    return left > 0 ? (int)left : 0;
}

struct throttle_check {
    const char *keys[2];
    int thresholds[2];
    int64_t now;
    int retry_after;
};

static enum pb_qs
throttle_check_tx(struct pb_tx *tx, void *cls)
{
    struct throttle_check *c = cls;
    c->retry_after = 0;
    for (int i = 0; i < 2 && c->keys[i] != NULL; i++) {
        struct pb_throttle t = {0, 0};
        enum pb_qs qs = tx->ops->throttle_get(tx->conn, c->keys[i], &t);
        if (qs < 0)
            return qs;
        int left = wait_left(&t, c->thresholds[i], c->now);
        if (left > c->retry_after)
            c->retry_after = left;
    }
    return PB_QS_ONE;
}

struct failure {
    const char *keys[2];
    int64_t now;
    struct pb_audit_entry audit;
};

static enum pb_qs
failure_tx(struct pb_tx *tx, void *cls)
{
    struct failure *f = cls;
    for (int i = 0; i < 2 && f->keys[i] != NULL; i++) {
        enum pb_qs qs = tx->ops->throttle_fail(tx->conn, f->keys[i], f->now);
        if (qs < 0)
            return qs;
    }
    return tx->ops->audit_insert(tx->conn, &f->audit);
}

static enum pb_qs
get_user_by_email_tx(struct pb_tx *tx, void *cls)
{
    struct pb_user *u = cls;
    return tx->ops->user_get_by_email(tx->conn, u->email, u);
}

/* A new session for `user_id`: its token into `token`, its row into `session`. */
static void
new_session(const char *user_id, bool mfa_pending, char token[PB_TOKEN_LEN + 1],
            struct pb_session *session)
{
    memset(session, 0, sizeof(*session));
    pb_token_new(token);
    pb_auth_token_hash(token, session->token_hash);
    pb_strlcpy(session->user_id, user_id, sizeof(session->user_id));
    session->mfa_pending = mfa_pending;
    session->created_at = session->last_seen_at = pb_clock_now();
}

struct success {
    struct pb_user *user;
    bool rehash;
    const char *email_key;
    struct pb_session session;
    struct pb_audit_entry audit;
};

static enum pb_qs
success_tx(struct pb_tx *tx, void *cls)
{
    struct success *s = cls;
    enum pb_qs qs;
    if (s->rehash && (qs = tx->ops->user_update(tx->conn, s->user)) < 0)
        return qs;
    if ((qs = tx->ops->throttle_clear(tx->conn, s->email_key)) < 0 ||
        (qs = tx->ops->session_insert(tx->conn, &s->session)) < 0)
        return qs;
    return tx->ops->audit_insert(tx->conn, &s->audit);
}

enum pb_err
pb_auth_login(struct pb_app *app, const char *email, const char *password, const char *client_ip,
              struct pb_login *out)
{
    memset(out, 0, sizeof(*out));
    char normal[PB_EMAIL_MAX + 1], why[PB_WHY_MAX], ekey[80], ikey[80];
    bool valid_email = pb_email_normalize(email, PB_EMAIL_LOWER_ALL, normal, why) == PB_ERR_OK;
    if (!valid_email)
        pb_strlcpy(normal, "-", sizeof(normal));
    email_key(normal, ekey);
    snprintf(ikey, sizeof(ikey), "ip:%s", client_ip ? client_ip : "-");
    int64_t now = pb_clock_now();

    struct throttle_check check = {{ekey, ikey}, {EMAIL_THRESHOLD, IP_THRESHOLD}, now, 0};
    enum pb_err err = pb_store_tx(app->control, PB_TX_READ, throttle_check_tx, &check);
    if (err != PB_ERR_OK)
        return err;
    if (check.retry_after > 0) {
        out->retry_after = check.retry_after;
        return PB_ERR_THROTTLED;
    }

    struct pb_user user;
    memset(&user, 0, sizeof(user));
    bool found = false;
    if (valid_email) {
        pb_strlcpy(user.email, normal, sizeof(user.email));
        err = pb_store_tx(app->control, PB_TX_READ, get_user_by_email_tx, &user);
        if (err != PB_ERR_OK)
            return err;
        found = user.id[0] != '\0';
    }
    /* The same work whether or not the user exists, so timing tells nothing. */
    bool ok = false;
    if (found && user.password_hash[0] != '\0')
        ok = pb_password_verify(user.password_hash, password);
    else
        pb_password_verify_dummy(password);

    if (!ok) {
        struct failure f = {.keys = {ekey, ikey}, .now = now};
        pb_audit_entry_make(&f.audit, found ? user.account_id : "", found ? user.id : "",
                            "login.failure", client_ip, NULL);
        err = pb_store_tx(app->control, PB_TX_WRITE, failure_tx, &f);
        return err != PB_ERR_OK ? err : PB_ERR_LOGIN_FAILED;
    }

    struct success s = {.user = &user, .email_key = ekey};
    if (pb_password_needs_rehash(user.password_hash)) {
        char fresh[PB_PASSWORD_HASH_MAX];
        if (pb_password_hash(password, fresh) == PB_ERR_OK) {
            pb_strlcpy(user.password_hash, fresh, sizeof(user.password_hash));
            s.rehash = true;
        }
    }
    new_session(user.id, user.totp_enabled, out->token, &s.session);
    pb_audit_entry_make(&s.audit, user.account_id, user.id,
                        user.totp_enabled ? "login.password_ok" : "login.success", client_ip, NULL);
    if ((err = pb_store_tx(app->control, PB_TX_WRITE, success_tx, &s)) != PB_ERR_OK)
        return err;
    out->mfa_required = user.totp_enabled;
    return PB_ERR_OK;
}

/* Recovery codes are compared in one form: lower case, without dashes or spaces. */
static void
recovery_hash(const char *code, unsigned char out[PB_HASH_BYTES])
{
    char normal[64];
    size_t n = 0;
    for (const char *p = code; *p && n + 1 < sizeof(normal); p++) {
        if (*p == '-' || *p == ' ')
            continue;
        normal[n++] = (*p >= 'A' && *p <= 'Z') ? (char)(*p - 'A' + 'a') : *p;
    }
    normal[n] = '\0';
    crypto_generichash(out, PB_HASH_BYTES, (const unsigned char *)normal, n, NULL, 0);
    sodium_memzero(normal, sizeof(normal));
}

struct mfa_ctx {
    const struct pb_principal *who;
    const char *throttle_key;
    struct pb_user user;
    unsigned char recovery[PB_HASH_BYTES];
    bool use_recovery;
    bool recovery_ok;
    struct pb_session session;
    struct pb_audit_entry audit;
};

static enum pb_qs
load_user_tx(struct pb_tx *tx, void *cls)
{
    struct mfa_ctx *m = cls;
    enum pb_qs qs = tx->ops->user_get(tx->conn, m->who->user_id, &m->user);
    return qs == PB_QS_NONE ? pb_tx_abort(tx, PB_ERR_UNAUTHENTICATED) : qs;
}

/* Replaces the pending session by a complete one, spending the recovery code if used. */
static enum pb_qs
mfa_done_tx(struct pb_tx *tx, void *cls)
{
    struct mfa_ctx *m = cls;
    enum pb_qs qs;
    if (m->use_recovery) {
        qs = tx->ops->recovery_code_use(tx->conn, m->user.id, m->recovery, pb_clock_now());
        if (qs < 0)
            return qs;
        m->recovery_ok = qs == PB_QS_ONE;
        if (!m->recovery_ok)
            return pb_tx_abort(tx, PB_ERR_RECOVERY_CODE_WRONG);
    }
    if ((qs = tx->ops->throttle_clear(tx->conn, m->throttle_key)) < 0 ||
        (qs = tx->ops->session_delete(tx->conn, m->who->session_hash)) < 0 ||
        (qs = tx->ops->session_insert(tx->conn, &m->session)) < 0)
        return qs;
    return tx->ops->audit_insert(tx->conn, &m->audit);
}

enum pb_err
pb_auth_mfa(struct pb_app *app, const struct pb_principal *who, const char *code,
            const char *recovery_code, const char *client_ip, struct pb_login *out)
{
    memset(out, 0, sizeof(*out));
    if (!who->mfa_pending || who->via_api_key)
        return PB_ERR_CONFLICT;
    char mkey[80];
    snprintf(mkey, sizeof(mkey), "mfa:%s", who->user_id);
    int64_t now = pb_clock_now();
    struct throttle_check check = {{mkey, NULL}, {MFA_THRESHOLD, 0}, now, 0};
    enum pb_err err = pb_store_tx(app->control, PB_TX_READ, throttle_check_tx, &check);
    if (err != PB_ERR_OK)
        return err;
    if (check.retry_after > 0) {
        out->retry_after = check.retry_after;
        return PB_ERR_THROTTLED;
    }

    struct mfa_ctx m;
    memset(&m, 0, sizeof(m));
    m.who = who;
    m.throttle_key = mkey;
    if ((err = pb_store_tx(app->control, PB_TX_READ, load_user_tx, &m)) != PB_ERR_OK)
        return err;
    if (recovery_code != NULL) {
        m.use_recovery = true;
        recovery_hash(recovery_code, m.recovery);
    } else {
        err = pb_mfa_check_code(app, &m.user, code);
        if (err == PB_ERR_TOTP_MALFORMED)
            return err;
    }
    if (err == PB_ERR_OK) {
        new_session(m.user.id, false, out->token, &m.session);
        pb_audit_entry_make(&m.audit, m.user.account_id, m.user.id, "login.success", client_ip,
                            m.use_recovery ? "{\"second_factor\":\"recovery_code\"}"
                                           : "{\"second_factor\":\"totp\"}");
        err = pb_store_tx(app->control, PB_TX_WRITE, mfa_done_tx, &m);
    }
    if (err == PB_ERR_TOTP_WRONG || err == PB_ERR_RECOVERY_CODE_WRONG) {
        struct failure f = {.keys = {mkey, NULL}, .now = now};
        pb_audit_entry_make(&f.audit, m.user.account_id, m.user.id, "login.mfa_failure", client_ip,
                            NULL);
        enum pb_err ferr = pb_store_tx(app->control, PB_TX_WRITE, failure_tx, &f);
        if (ferr != PB_ERR_OK)
            return ferr;
    }
    return err;
}

struct session_ctx {
    unsigned char hash[PB_HASH_BYTES];
    int64_t now;
    struct pb_session session;
    struct pb_user user;
    struct pb_account account;
    bool expired;
};

/* Reads a session with its user and account; every request does this, so it only reads. */
static enum pb_qs
session_tx(struct pb_tx *tx, void *cls)
{
    struct session_ctx *s = cls;
    enum pb_qs qs = tx->ops->session_get(tx->conn, s->hash, &s->session);
    if (qs <= 0)
        return qs < 0 ? qs : pb_tx_abort(tx, PB_ERR_UNAUTHENTICATED);
    s->expired = s->now - s->session.last_seen_at > PB_SESSION_IDLE_SECONDS ||
                 s->now - s->session.created_at > PB_SESSION_ABSOLUTE_SECONDS;
    if (s->expired)
        return PB_QS_ONE;
    if ((qs = tx->ops->user_get(tx->conn, s->session.user_id, &s->user)) <= 0)
        return qs < 0 ? qs : pb_tx_abort(tx, PB_ERR_UNAUTHENTICATED);
    if ((qs = tx->ops->account_get(tx->conn, s->user.account_id, &s->account)) <= 0)
        return qs < 0 ? qs : pb_tx_abort(tx, PB_ERR_UNAUTHENTICATED);
    return PB_QS_ONE;
}

/* The rare write after it: delete an expired session, or note that it was seen. */
static enum pb_qs
session_write_tx(struct pb_tx *tx, void *cls)
{
    struct session_ctx *s = cls;
    if (s->expired)
        return tx->ops->session_delete(tx->conn, s->hash);
    return tx->ops->session_touch(tx->conn, s->hash, s->now);
}

/* Fills the principal common to sessions and API keys. */
static void
fill_principal(struct pb_principal *out, const struct pb_user *user,
               const struct pb_account *account)
{
    pb_strlcpy(out->user_id, user->id, sizeof(out->user_id));
    pb_strlcpy(out->account_id, user->account_id, sizeof(out->account_id));
    pb_strlcpy(out->email, user->email, sizeof(out->email));
    out->role = pb_role_parse(user->role);
    out->enterprise = strcmp(account->plan, "enterprise") == 0;
    out->totp_enabled = user->totp_enabled;
    out->must_enrol = account->require_2fa && !user->totp_enabled;
}

enum pb_err
pb_auth_session(struct pb_app *app, const char *token, struct pb_principal *out)
{
    memset(out, 0, sizeof(*out));
    if (token == NULL || strlen(token) != PB_TOKEN_LEN)
        return PB_ERR_UNAUTHENTICATED;
    struct session_ctx s;
    memset(&s, 0, sizeof(s));
    pb_auth_token_hash(token, s.hash);
    s.now = pb_clock_now();
    enum pb_err err = pb_store_tx(app->control, PB_TX_READ, session_tx, &s);
    if (err != PB_ERR_OK)
        return err;
    /* last_seen_at is written at most once a minute: requests stay reads. */
    if ((s.expired || s.now - s.session.last_seen_at >= TOUCH_EVERY_SECONDS) &&
        (err = pb_store_tx(app->control, PB_TX_WRITE, session_write_tx, &s)) != PB_ERR_OK)
        return err;
    if (s.expired)
        return PB_ERR_UNAUTHENTICATED;
    fill_principal(out, &s.user, &s.account);
    out->mfa_pending = s.session.mfa_pending;
    memcpy(out->session_hash, s.hash, PB_HASH_BYTES);
    return PB_ERR_OK;
}

struct key_ctx {
    unsigned char hash[PB_HASH_BYTES];
    int64_t now;
    struct pb_api_key key;
    struct pb_user user;
    struct pb_account account;
};

static enum pb_qs
api_key_tx(struct pb_tx *tx, void *cls)
{
    struct key_ctx *k = cls;
    enum pb_qs qs = tx->ops->api_key_get_by_hash(tx->conn, k->hash, &k->key);
    if (qs <= 0)
        return qs < 0 ? qs : pb_tx_abort(tx, PB_ERR_UNAUTHENTICATED);
    if ((qs = tx->ops->user_get(tx->conn, k->key.user_id, &k->user)) <= 0)
        return qs < 0 ? qs : pb_tx_abort(tx, PB_ERR_UNAUTHENTICATED);
    if ((qs = tx->ops->account_get(tx->conn, k->user.account_id, &k->account)) <= 0)
        return qs < 0 ? qs : pb_tx_abort(tx, PB_ERR_UNAUTHENTICATED);
    return PB_QS_ONE;
}

static enum pb_qs
api_key_touch_tx(struct pb_tx *tx, void *cls)
{
    struct key_ctx *k = cls;
    return tx->ops->api_key_touch(tx->conn, k->key.id, k->now);
}

enum pb_err
pb_auth_api_key(struct pb_app *app, const char *token, struct pb_principal *out)
{
    memset(out, 0, sizeof(*out));
    if (token == NULL || strlen(token) != PB_API_KEY_LEN ||
        !pb_str_starts_with(token, PB_API_KEY_PREFIX))
        return PB_ERR_UNAUTHENTICATED;
    struct key_ctx k;
    memset(&k, 0, sizeof(k));
    pb_auth_token_hash(token, k.hash);
    k.now = pb_clock_now();
    enum pb_err err = pb_store_tx(app->control, PB_TX_READ, api_key_tx, &k);
    if (err == PB_ERR_OK && k.now - k.key.last_used_at >= TOUCH_EVERY_SECONDS)
        err = pb_store_tx(app->control, PB_TX_WRITE, api_key_touch_tx, &k);
    if (err != PB_ERR_OK)
        return err;
    fill_principal(out, &k.user, &k.account);
    out->via_api_key = true;
    pb_strlcpy(out->api_key_id, k.key.id, sizeof(out->api_key_id));
    return PB_ERR_OK;
}

static enum pb_qs
logout_tx(struct pb_tx *tx, void *cls)
{
    return tx->ops->session_delete(tx->conn, cls);
}

enum pb_err
pb_auth_logout(struct pb_app *app, const struct pb_principal *who)
{
    if (who->via_api_key)
        return PB_ERR_OK;
    unsigned char hash[PB_HASH_BYTES];
    memcpy(hash, who->session_hash, sizeof(hash));
    return pb_store_tx(app->control, PB_TX_WRITE, logout_tx, hash);
}
