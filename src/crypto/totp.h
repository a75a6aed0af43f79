/*
 * TOTP two-factor codes (RFC 6238, mission feature 1) through liboath:
 * 160-bit secrets, 6 digits, 30-second steps, one step of tolerance either
 * way, and replay refusal: a code is accepted only for a time step later
 * than the last accepted one, so no code is ever accepted twice.
 * Also the enrolment material: the base32 secret, the otpauth:// URI and
 * its QR code as SVG (libqrencode).
 */
#ifndef PB_CRYPTO_TOTP_H
#define PB_CRYPTO_TOTP_H

#include <stddef.h>
#include <stdint.h>

#include "core/err.h"

#define PB_TOTP_SECRET_BYTES  20
#define PB_TOTP_SECRET_B32LEN 32 /* base32 of 20 bytes, no padding */
#define PB_TOTP_DIGITS        6
#define PB_TOTP_STEP          30

enum pb_totp_result {
    PB_TOTP_OK,
    PB_TOTP_MALFORMED, /* not exactly 6 digits */
    PB_TOTP_WRONG,     /* no match within one step of now */
    PB_TOTP_REPLAYED,  /* matched a step already used (or older) */
};

/* Must run once at start-up, before any thread uses TOTP. */
enum pb_err
pb_totp_init(void);

void
pb_totp_secret_new(unsigned char secret[PB_TOTP_SECRET_BYTES]);

/* RFC 4648 base32 without padding, as authenticator apps expect. */
void
pb_totp_secret_base32(const unsigned char secret[PB_TOTP_SECRET_BYTES],
                      char out[PB_TOTP_SECRET_B32LEN + 1]);

/*
 * Checks `code` at Unix time `now`. `last_step` is the step of the last
 * accepted code (-1 if none); on success `*step` gets the matched step, to
 * be stored as the new last step in the same transaction.
 */
enum pb_totp_result
pb_totp_verify(const unsigned char *secret, size_t secret_len, const char *code, int64_t now,
               int64_t last_step, int64_t *step);

/* The code for `now` (tests and tools; digits 6 or 8; sha 1, 256 or 512). */
enum pb_err
pb_totp_generate(const unsigned char *secret, size_t secret_len, int64_t now, unsigned digits,
                 int sha, char *out);

/* "otpauth://totp/Issuer:label?secret=...&issuer=Issuer&algorithm=SHA1&digits=6&period=30"
 * (malloc'd). */
char *
pb_totp_uri(const char *issuer, const char *label, const char *secret_b32);

/* The QR code of `text` as a standalone SVG document (malloc'd), or NULL. */
char *
pb_totp_qr_svg(const char *text);

#endif
