/*
 * Two-factor enrolment of the calling user (mission feature 1): start (a new
 * secret, sealed under the account's data key, pending until confirmed),
 * confirm with a valid code (turns TOTP on, returns ten single-use recovery
 * codes, stored hashed), and turn off with a valid code.
 */
#ifndef PB_MODEL_MFA_H
#define PB_MODEL_MFA_H

#include "crypto/totp.h"
#include "model/app.h"
#include "model/auth.h"

#define PB_RECOVERY_CODES    10
#define PB_RECOVERY_CODE_LEN 19 /* "xxxx-xxxx-xxxx-xxxx": 80 random bits */

struct pb_totp_enrolment {
    char secret[PB_TOTP_SECRET_B32LEN + 1];
    char *otpauth_uri; /* malloc'd */
    char *qr_svg;      /* malloc'd */
};

/* PB_ERR_TOTP_ALREADY_ON when TOTP is on already (turn it off first). */
enum pb_err
pb_mfa_enrol_start(struct pb_app *app, const struct pb_principal *who,
                   struct pb_totp_enrolment *out);

void
pb_mfa_enrolment_release(struct pb_totp_enrolment *enrolment);

/* Errors: PB_ERR_TOTP_NOT_PENDING, PB_ERR_TOTP_MALFORMED, PB_ERR_TOTP_WRONG. */
enum pb_err
pb_mfa_enrol_confirm(struct pb_app *app, const struct pb_principal *who, const char *code,
                     const char *client_ip,
                     char recovery_codes[PB_RECOVERY_CODES][PB_RECOVERY_CODE_LEN + 1]);

/* Errors: PB_ERR_TOTP_OFF, PB_ERR_TOTP_MALFORMED, PB_ERR_TOTP_WRONG. */
enum pb_err
pb_mfa_disable(struct pb_app *app, const struct pb_principal *who, const char *code,
               const char *client_ip);

/*
 * Checks a code against a user's active secret and records its step so it
 * is never accepted again (used by login and disable).
 */
enum pb_err
pb_mfa_check_code(struct pb_app *app, const struct pb_user *user, const char *code);

#endif
