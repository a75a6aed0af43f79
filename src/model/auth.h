/*
 * Authentication (mission features 1 and 8): password login with throttling,
 * the TOTP second step, sessions (idle and absolute timeouts, rotation),
 * API keys, logout, and the CSRF token of a session.
 *
 * Tokens (sessions, API keys) are 256-bit random strings given to the client
 * once; the stores keep only their BLAKE2b hash.
 */
#ifndef PB_MODEL_AUTH_H
#define PB_MODEL_AUTH_H

#include <stdbool.h>

#include "core/id.h"
#include "model/app.h"
#include "model/roles.h"

#define PB_SESSION_COOKIE           "__Host-pb_session"
#define PB_SESSION_IDLE_SECONDS     (30 * 60)
#define PB_SESSION_ABSOLUTE_SECONDS (12 * 60 * 60)
#define PB_API_KEY_PREFIX           "pbk_"
#define PB_API_KEY_LEN              (4 + PB_TOKEN_LEN)

/* Who is calling, as established by pb_auth_session or pb_auth_api_key. */
struct pb_principal {
    char user_id[PB_ID_LEN + 1];
    char account_id[PB_ID_LEN + 1];
    char email[PB_EMAIL_BYTES];
    enum pb_role role;
    bool enterprise;
    bool via_api_key;
    bool mfa_pending; /* a session whose TOTP step is still due: only that step is open */
    bool must_enrol;  /* the account requires 2FA and this user has none: enrol first */
    bool totp_enabled;
    unsigned char session_hash[PB_HASH_BYTES]; /* when !via_api_key */
    char api_key_id[PB_ID_LEN + 1];            /* when via_api_key */
};

struct pb_login {
    char token[PB_TOKEN_LEN + 1]; /* the new session's token: the cookie value */
    bool mfa_required;            /* the session waits for POST /session/mfa */
    int retry_after;              /* seconds, with PB_ERR_THROTTLED */
};

/*
 * Checks an email and password. The answer and its timing are the same
 * whether the email exists or not (PB_ERR_LOGIN_FAILED). Failures are
 * counted per email and per client address; past a few, an exponential
 * delay applies and the answer is PB_ERR_THROTTLED with `retry_after`.
 * A success rehashes the password when the hashing parameters rose.
 */
enum pb_err
pb_auth_login(struct pb_app *app, const char *email, const char *password, const char *client_ip,
              struct pb_login *out);

/*
 * Completes the TOTP step of a pending session with a `code` or a
 * `recovery_code` (one of them NULL). On success the session is replaced by a
 * new one (new token in `out->token`). Errors: PB_ERR_TOTP_MALFORMED,
 * PB_ERR_TOTP_WRONG, PB_ERR_RECOVERY_CODE_WRONG, PB_ERR_THROTTLED.
 */
enum pb_err
pb_auth_mfa(struct pb_app *app, const struct pb_principal *who, const char *code,
            const char *recovery_code, const char *client_ip, struct pb_login *out);

/* The principal of a session token; PB_ERR_UNAUTHENTICATED when unknown or expired. */
enum pb_err
pb_auth_session(struct pb_app *app, const char *token, struct pb_principal *out);

/* The principal of an API key ("pbk_..."); PB_ERR_UNAUTHENTICATED when unknown. */
enum pb_err
pb_auth_api_key(struct pb_app *app, const char *token, struct pb_principal *out);

/* Ends the caller's session on the server. */
enum pb_err
pb_auth_logout(struct pb_app *app, const struct pb_principal *who);

/*
 * The CSRF token of a session, derived from its token (so nothing more is
 * stored): the client gets it from GET /session and sends it back in
 * X-CSRF-Token on unsafe methods.
 */
void
pb_auth_csrf_token(const char *session_token, char out[PB_TOKEN_LEN + 1]);

/* Whether `sent` is the CSRF token of `session_token` (constant time). */
bool
pb_auth_csrf_valid(const char *session_token, const char *sent);

/* BLAKE2b-256 of a token, as the stores keep it. */
void
pb_auth_token_hash(const char *token, unsigned char out[PB_HASH_BYTES]);

#endif
