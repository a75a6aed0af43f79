/*
 * Passwords (mission feature 8): Argon2id hashes through libsodium's
 * crypto_pwhash_str, never stored or logged in any reversible form, and the
 * policy a new password must meet: 12 to 128 characters, no composition
 * rules, not one of the common leaked passwords shipped with Postbode
 * (NIST SP 800-63B, OWASP ASVS 2.1).
 */
#ifndef PB_CRYPTO_PASSWORD_H
#define PB_CRYPTO_PASSWORD_H

#include <stdbool.h>
#include <stddef.h>

#include "core/err.h"

#define PB_PASSWORD_MIN_CHARS 12
#define PB_PASSWORD_MAX_CHARS 128
#define PB_PASSWORD_HASH_MAX  128 /* crypto_pwhash_STRBYTES */

enum pb_password_verdict {
    PB_PASSWORD_OK,
    PB_PASSWORD_TOO_SHORT,
    PB_PASSWORD_TOO_LONG,
    PB_PASSWORD_NOT_TEXT, /* not UTF-8, or holds control characters */
    PB_PASSWORD_COMMON,   /* on the list of common leaked passwords */
};

/* Checks a new password against the policy. */
enum pb_password_verdict
pb_password_check(const char *password);

/* A sentence for users explaining the verdict. */
const char *
pb_password_verdict_text(enum pb_password_verdict verdict);

/*
 * Hashes with Argon2id at the current parameters (64 MiB, 2 passes).
 * At most a few hashes run at once, since each takes 64 MiB.
 */
enum pb_err
pb_password_hash(const char *password, char out[PB_PASSWORD_HASH_MAX]);

/* Whether `password` matches `hash` (constant time within libsodium). */
bool
pb_password_verify(const char *hash, const char *password);

/* Whether `hash` was made with weaker parameters than today's, so it should be redone. */
bool
pb_password_needs_rehash(const char *hash);

/*
 * Spends the time a verification takes without a real hash, so that a
 * login for an unknown email answers as slowly as one for a known email.
 */
void
pb_password_verify_dummy(const char *password);

#endif
