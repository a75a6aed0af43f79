/* Email syntax checks, normalisation (IDN to punycode) and masking for authors. */
#include "model/email.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <idn2.h>

#include "core/strutil.h"

enum { LOCAL_MAX = 64, DOMAIN_MAX = 253, LABEL_MAX = 63 };

/* RFC 5322 atext: letters, digits and these. Non-ASCII (SMTPUTF8) is accepted as text too. */
static bool
is_atext(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           strchr("!#$%&'*+-/=?^_`{|}~", c) != NULL || c >= 0x80;
}

static bool
valid_local(const char *local, size_t len, char why[PB_WHY_MAX])
{
    if (len == 0 || len > LOCAL_MAX) {
        snprintf(why, PB_WHY_MAX, "the part before @ must be 1 to %d characters", LOCAL_MAX);
        return false;
    }
    if (local[0] == '"') {
        /* A quoted string: printable ASCII, with \\ and \" escaped. */
        if (len < 2 || local[len - 1] != '"')
            goto bad;
        for (size_t i = 1; i + 1 < len; i++) {
            unsigned char c = (unsigned char)local[i];
            if (c == '\\') {
                if (++i + 1 >= len)
                    goto bad;
                continue;
            }
            if (c < 0x20 || c == 0x7f || c == '"')
                goto bad;
        }
        return true;
    }
    /* A dot-atom: atext runs separated by single dots, no leading or trailing dot. */
    if (local[0] == '.' || local[len - 1] == '.')
        goto bad;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)local[i];
        if (c == '.' ? local[i + 1] == '.' : !is_atext(c))
            goto bad;
    }
    return true;
bad:
    snprintf(why, PB_WHY_MAX, "the part before @ has characters an address cannot have");
    return false;
}

/* Checks an ASCII (already punycoded) domain: LDH labels of 1..63, at least two labels. */
static bool
valid_domain(const char *domain, char why[PB_WHY_MAX])
{
    size_t len = strlen(domain);
    if (len == 0 || len > DOMAIN_MAX) {
        snprintf(why, PB_WHY_MAX, "the domain must be 1 to %d characters", DOMAIN_MAX);
        return false;
    }
    size_t label = 0, labels = 1;
    for (size_t i = 0; i <= len; i++) {
        char c = domain[i];
        if (c == '.' || c == '\0') {
            if (label == 0 || domain[i - 1] == '-' || domain[i - label] == '-') {
                snprintf(why, PB_WHY_MAX,
                         "the domain has an empty label or a label with a "
                         "leading or trailing dash");
                return false;
            }
            if (c == '.')
                labels++;
            label = 0;
            continue;
        }
        if (++label > LABEL_MAX) {
            snprintf(why, PB_WHY_MAX, "a label of the domain is longer than %d characters",
                     LABEL_MAX);
            return false;
        }
        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-')) {
            snprintf(why, PB_WHY_MAX, "the domain may hold only letters, digits, dashes and dots");
            return false;
        }
    }
    if (labels < 2) {
        snprintf(why, PB_WHY_MAX, "the domain needs a dot, as in example.org");
        return false;
    }
    return true;
}

enum pb_err
pb_email_normalize(const char *input, enum pb_email_case mode, char out[PB_EMAIL_MAX + 1],
                   char why[PB_WHY_MAX])
{
    while (*input == ' ' || *input == '\t' || *input == '\r' || *input == '\n')
        input++;
    size_t len = strlen(input);
    while (len > 0 && (input[len - 1] == ' ' || input[len - 1] == '\t' || input[len - 1] == '\r' ||
                       input[len - 1] == '\n'))
        len--;
    if (len == 0) {
        snprintf(why, PB_WHY_MAX, "the address is empty");
        return PB_ERR_INVALID;
    }
    if (len > 1024) {
        snprintf(why, PB_WHY_MAX, "the address is longer than %d characters", PB_EMAIL_MAX);
        return PB_ERR_INVALID;
    }
    char copy[1025];
    memcpy(copy, input, len);
    copy[len] = '\0';
    if (!pb_str_clean_utf8(copy, sizeof(copy))) {
        snprintf(why, PB_WHY_MAX, "the address holds control characters or is not UTF-8");
        return PB_ERR_INVALID;
    }
    char *at = strrchr(copy, '@');
    if (at == NULL || at == copy || at[1] == '\0') {
        snprintf(why, PB_WHY_MAX, "an address looks like name@example.org");
        return PB_ERR_INVALID;
    }
    *at = '\0';
    const char *local = copy, *domain_in = at + 1;
    if (!valid_local(local, strlen(local), why))
        return PB_ERR_INVALID;

    /* IDNA2008 with the UTS #46 mapping also lower-cases the domain. */
    char *domain = NULL;
    int rc = idn2_to_ascii_8z(domain_in, &domain, IDN2_NONTRANSITIONAL | IDN2_NFC_INPUT);
    if (rc != IDN2_OK) {
        snprintf(why, PB_WHY_MAX, "the domain is not a valid domain name: %s", idn2_strerror(rc));
        return PB_ERR_INVALID;
    }
    for (char *p = domain; *p; p++)
        if (*p >= 'A' && *p <= 'Z')
            *p = (char)(*p - 'A' + 'a');
    enum pb_err err = PB_ERR_OK;
    if (!valid_domain(domain, why)) {
        err = PB_ERR_INVALID;
    } else if (strlen(local) + 1 + strlen(domain) > PB_EMAIL_MAX) {
        snprintf(why, PB_WHY_MAX, "the address is longer than %d characters", PB_EMAIL_MAX);
        err = PB_ERR_INVALID;
    } else {
        snprintf(out, PB_EMAIL_MAX + 1, "%s@%s", local, domain);
        if (mode == PB_EMAIL_LOWER_ALL)
            for (char *p = out; *p; p++)
                if (*p >= 'A' && *p <= 'Z')
                    *p = (char)(*p - 'A' + 'a');
    }
    idn2_free(domain);
    return err;
}

void
pb_email_mask(const char *email, char out[PB_EMAIL_MAX + 1])
{
    const char *at = strrchr(email, '@');
    const char *dot = at ? strrchr(at, '.') : NULL;
    if (at == NULL || at == email) {
        snprintf(out, PB_EMAIL_MAX + 1, "***");
        return;
    }
    /* The whole first character, even when it takes several UTF-8 bytes. */
    size_t first = 1;
    while (((unsigned char)email[first] & 0xc0) == 0x80)
        first++;
    snprintf(out, PB_EMAIL_MAX + 1, "%.*s***@***%s", (int)first, email, dot ? dot : "");
}
