/* TOTP verification with replay refusal, and enrolment material (URI, QR SVG). */
#include "crypto/totp.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <liboath/oath.h>
#include <qrencode.h>
#include <sodium.h>

#include "core/buf.h"

enum pb_err
pb_totp_init(void)
{
    return oath_init() == OATH_OK ? PB_ERR_OK : PB_ERR_CRYPTO_INIT;
}

void
pb_totp_secret_new(unsigned char secret[PB_TOTP_SECRET_BYTES])
{
    randombytes_buf(secret, PB_TOTP_SECRET_BYTES);
}

void
pb_totp_secret_base32(const unsigned char secret[PB_TOTP_SECRET_BYTES],
                      char out[PB_TOTP_SECRET_B32LEN + 1])
{
    static const char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
    /* 20 bytes = 160 bits = 32 digits of 5 bits, no padding needed. */
    size_t o = 0;
    for (size_t i = 0; i < PB_TOTP_SECRET_BYTES; i += 5) {
        uint64_t v = 0;
        for (size_t j = 0; j < 5; j++)
            v = (v << 8) | secret[i + j];
        for (int k = 7; k >= 0; k--)
            out[o++] = alphabet[(v >> (k * 5)) & 31];
    }
    out[o] = '\0';
}

enum pb_totp_result
pb_totp_verify(const unsigned char *secret, size_t secret_len, const char *code, int64_t now,
               int64_t last_step, int64_t *step)
{
    if (code == NULL || strlen(code) != PB_TOTP_DIGITS)
        return PB_TOTP_MALFORMED;
    for (const char *p = code; *p; p++)
        if (*p < '0' || *p > '9')
            return PB_TOTP_MALFORMED;
    int pos = 0;
    uint64_t counter = 0;
    int rc = oath_totp_validate4((const char *)secret, secret_len, (time_t)now, PB_TOTP_STEP, 0, 1,
                                 &pos, &counter, 0, code);
    if (rc < 0)
        return PB_TOTP_WRONG;
    if ((int64_t)counter <= last_step)
        return PB_TOTP_REPLAYED;
    *step = (int64_t)counter;
    return PB_TOTP_OK;
}

enum pb_err
pb_totp_generate(const unsigned char *secret, size_t secret_len, int64_t now, unsigned digits,
                 int sha, char *out)
{
    int flags = sha == 256 ? OATH_TOTP_HMAC_SHA256 : sha == 512 ? OATH_TOTP_HMAC_SHA512 : 0;
    int rc = oath_totp_generate2((const char *)secret, secret_len, (time_t)now, PB_TOTP_STEP, 0,
                                 digits, flags, out);
    return rc == OATH_OK ? PB_ERR_OK : PB_ERR_INVALID;
}

/* Percent-encodes everything but RFC 3986 unreserved characters. */
static enum pb_err
append_encoded(struct pb_buf *b, const char *s)
{
    enum pb_err err = PB_ERR_OK;
    for (const unsigned char *p = (const unsigned char *)s; *p && err == PB_ERR_OK; p++) {
        if ((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') ||
            *p == '-' || *p == '.' || *p == '_' || *p == '~')
            err = pb_buf_append(b, p, 1);
        else
            err = pb_buf_printf(b, "%%%02X", *p);
    }
    return err;
}

char *
pb_totp_uri(const char *issuer, const char *label, const char *secret_b32)
{
    struct pb_buf b;
    pb_buf_init(&b, 4096);
    if (pb_buf_append_str(&b, "otpauth://totp/") || append_encoded(&b, issuer) ||
        pb_buf_append_str(&b, ":") || append_encoded(&b, label) ||
        pb_buf_printf(&b, "?secret=%s&issuer=", secret_b32) || append_encoded(&b, issuer) ||
        pb_buf_printf(&b, "&algorithm=SHA1&digits=%d&period=%d", PB_TOTP_DIGITS, PB_TOTP_STEP)) {
        pb_buf_release(&b, 1);
        return NULL;
    }
    return b.data;
}

char *
pb_totp_qr_svg(const char *text)
{
    QRcode *qr = QRcode_encodeString(text, 0, QR_ECLEVEL_M, QR_MODE_8, 1);
    if (qr == NULL)
        return NULL;
    enum { QUIET = 4 }; /* the quiet zone readers need around the code */
    int size = qr->width + 2 * QUIET;
    struct pb_buf b;
    pb_buf_init(&b, 1 << 20);
    enum pb_err err =
        pb_buf_printf(&b,
                      "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 %d %d\" "
                      "shape-rendering=\"crispEdges\" role=\"img\" aria-label=\"QR code\">"
                      "<rect width=\"%d\" height=\"%d\" fill=\"#fff\"/><path fill=\"#000\" d=\"",
                      size, size, size, size);
    /* One path of unit squares: compact, and valid without any style attribute. */
    for (int y = 0; y < qr->width && err == PB_ERR_OK; y++)
        for (int x = 0; x < qr->width && err == PB_ERR_OK; x++)
            if (qr->data[y * qr->width + x] & 1)
                err = pb_buf_printf(&b, "M%d %dh1v1h-1z", x + QUIET, y + QUIET);
    if (err == PB_ERR_OK)
        err = pb_buf_append_str(&b, "\"/></svg>");
    QRcode_free(qr);
    if (err != PB_ERR_OK) {
        pb_buf_release(&b, 0);
        return NULL;
    }
    return b.data;
}
