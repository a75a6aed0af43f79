/*
 * The builder of minimal system messages (password reset, invitation):
 * headers, a quoted-printable UTF-8 text body, an RFC 2047 subject.
 */
#include "mail/message.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sodium.h>

#include "core/clock.h"
#include "core/id.h"
#include "core/strutil.h"

#define QP_LINE     76  /* RFC 2045: encoded lines at most 76 characters */
#define SUBJECT_RAW 900 /* a longer ASCII subject is folded as encoded words */
#define WORD_BYTES  36  /* subject bytes per encoded word: 48 base64 characters */
#define HEADER_MAX  2000

static const char hex[] = "0123456789ABCDEF";

/* A header value: no C0 control (CR, LF, tab...), no DEL, bounded. */
static bool
value_ok(const char *v)
{
    if (v == NULL || strlen(v) > HEADER_MAX)
        return false;
    for (const unsigned char *p = (const unsigned char *)v; *p; p++)
        if (*p < 0x20 || *p == 0x7f)
            return false;
    return true;
}

enum pb_err
pb_mail_message_qp(struct pb_buf *out, const char *text, size_t len)
{
    enum pb_err err = PB_ERR_OK;
    size_t i = 0;
    while (i < len && err == PB_ERR_OK) {
        /* One input line: [i, end), its break (LF or CRLF) not included. */
        const char *nl = memchr(text + i, '\n', len - i);
        size_t end = nl ? (size_t)(nl - text) : len;
        size_t next = nl ? end + 1 : len;
        if (nl && end > i && text[end - 1] == '\r')
            end--;
        size_t col = 0;
        for (size_t j = i; j < end && err == PB_ERR_OK; j++) {
            unsigned char c = (unsigned char)text[j];
            char tok[3];
            size_t tl = 1;
            bool ws = c == ' ' || c == '\t';
            if ((c >= 33 && c <= 126 && c != '=') || (ws && j + 1 < end)) {
                tok[0] = (char)c;
            } else {
                tok[0] = '=';
                tok[1] = hex[c >> 4];
                tok[2] = hex[c & 15];
                tl = 3;
            }
            if (col + tl > QP_LINE - 1) { /* leave room for the soft break's '=' */
                err = pb_buf_append(out, "=\r\n", 3);
                col = 0;
            }
            if (err == PB_ERR_OK)
                err = pb_buf_append(out, tok, tl);
            col += tl;
        }
        if (err == PB_ERR_OK)
            err = pb_buf_append(out, "\r\n", 2);
        i = next;
    }
    return err;
}

enum pb_err
pb_mail_message_subject(struct pb_buf *out, const char *subject)
{
    size_t len = strlen(subject);
    bool plain = len <= SUBJECT_RAW && strstr(subject, "=?") == NULL;
    for (size_t i = 0; i < len && plain; i++)
        if ((unsigned char)subject[i] < 0x20 || (unsigned char)subject[i] > 0x7e)
            plain = false;
    if (plain)
        return pb_buf_append(out, subject, len);
    enum pb_err err = PB_ERR_OK;
    size_t i = 0;
    while (i < len && err == PB_ERR_OK) {
        size_t n = len - i < WORD_BYTES ? len - i : WORD_BYTES;
        /* Never split a UTF-8 character: back off over continuation bytes. */
        while (i + n < len && n > 1 && ((unsigned char)subject[i + n] & 0xc0) == 0x80)
            n--;
        char b64[sodium_base64_ENCODED_LEN(WORD_BYTES, sodium_base64_VARIANT_ORIGINAL)];
        sodium_bin2base64(b64, sizeof(b64), (const unsigned char *)subject + i, n,
                          sodium_base64_VARIANT_ORIGINAL);
        err = pb_buf_printf(out, "%s=?utf-8?B?%s?=", i > 0 ? "\r\n " : "", b64);
        i += n;
    }
    return err;
}

/* The domain of the address in `from` ("a@b.example" or "Name <a@b.example>"). */
static bool
from_domain(const char *from, char *out, size_t size)
{
    const char *at = strrchr(from, '@');
    if (at == NULL)
        return false;
    size_t n = strcspn(at + 1, ">");
    if (n == 0 || n >= size)
        return false;
    for (size_t i = 0; i < n; i++) {
        char c = at[1 + i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '-' || c == '.'))
            return false;
    }
    memcpy(out, at + 1, n);
    out[n] = '\0';
    return true;
}

/* "Sun, 29 Nov 2026 04:00:27 +0000" (RFC 5322 3.3), whatever the locale. */
static void
format_date(char out[40])
{
    static const char *const days[] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
    static const char *const months[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                         "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
    time_t t = (time_t)pb_clock_now();
    struct tm tm;
    gmtime_r(&t, &tm);
    snprintf(out, 40, "%s, %02d %s %04d %02d:%02d:%02d +0000", days[tm.tm_wday % 7], tm.tm_mday,
             months[tm.tm_mon % 12], tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec);
}

enum pb_err
pb_mail_build_simple(const char *from, const char *to, const char *subject, const char *text_body,
                     char **out, size_t *len)
{
    struct pb_buf b;
    char domain[256], date[40], token[PB_TOKEN_LEN + 1];
    enum pb_err err;
    *out = NULL;
    *len = 0;
    pb_buf_init(&b, PB_MAIL_SIMPLE_MAX);
    if (!value_ok(from) || !value_ok(to) || subject == NULL || text_body == NULL ||
        !pb_str_clean_utf8(subject, HEADER_MAX) || !from_domain(from, domain, sizeof(domain)))
        return PB_ERR_INVALID;
    format_date(date);
    pb_token_new(token);
    err = pb_buf_printf(&b, "Date: %s\r\nFrom: %s\r\nTo: %s\r\nSubject: ", date, from, to);
    if (err == PB_ERR_OK)
        err = pb_mail_message_subject(&b, subject);
    if (err == PB_ERR_OK)
        err = pb_buf_printf(&b,
                            "\r\nMessage-ID: <%s@%s>\r\nMIME-Version: 1.0\r\n"
                            "Content-Type: text/plain; charset=utf-8\r\n"
                            "Content-Transfer-Encoding: quoted-printable\r\n\r\n",
                            token, domain);
    if (err == PB_ERR_OK)
        err = pb_mail_message_qp(&b, text_body, strlen(text_body));
    if (err != PB_ERR_OK)
        goto out;
    *out = b.data;
    *len = b.len;
    b.data = NULL;
out:
    pb_buf_release(&b, 0);
    return err;
}
