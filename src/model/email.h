/*
 * Email addresses: syntax within the RFC 5321/5322 limits, and the one
 * normal form used for storage, lookups and blind indexes.
 */
#ifndef PB_MODEL_EMAIL_H
#define PB_MODEL_EMAIL_H

#include "core/err.h"

#define PB_EMAIL_MAX 254 /* RFC 5321 path limit less the angle brackets */

enum pb_email_case {
    PB_EMAIL_KEEP_LOCAL_CASE, /* contacts: the local part is the owner's to interpret */
    PB_EMAIL_LOWER_ALL,       /* user logins: one account per address, whatever its case */
};

/*
 * Normalises `input`: surrounding white space trimmed, the domain lower-cased
 * and an internationalised domain converted to punycode (IDNA2008), the local
 * part checked as a dot-atom (or a quoted string) of at most 64 octets, the
 * whole at most 254 octets. PB_ERR_INVALID with `why` saying what is wrong.
 */
enum pb_err
pb_email_normalize(const char *input, enum pb_email_case mode, char out[PB_EMAIL_MAX + 1],
                   char why[PB_WHY_MAX]);

/* "j***@***.be": the first character of the local part and the top-level domain. */
void
pb_email_mask(const char *email, char out[PB_EMAIL_MAX + 1]);

#endif
