/* Test support: tiny PNG files (see png.h). */
#include "support/png.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void
pb_test_png_append(struct pb_test_png *b, const void *data, size_t n)
{
    if (b->n + n > sizeof(b->p)) {
        fprintf(stderr, "pb_test_png_append: %zu bytes do not fit\n", n);
        abort();
    }
    memcpy(b->p + b->n, data, n);
    b->n += n;
}

static void
append_be32(struct pb_test_png *b, uint32_t x)
{
    unsigned char q[4] = {(unsigned char)(x >> 24), (unsigned char)(x >> 16),
                          (unsigned char)(x >> 8), (unsigned char)x};
    pb_test_png_append(b, q, 4);
}

static uint32_t
crc32_bitwise(const unsigned char *p, size_t n)
{
    uint32_t c = 0xffffffffu;
    for (size_t i = 0; i < n; i++) {
        c ^= p[i];
        for (int k = 0; k < 8; k++)
            c = (c & 1) ? 0xedb88320u ^ (c >> 1) : c >> 1;
    }
    return ~c;
}

static void
chunk(struct pb_test_png *b, const char *type, const unsigned char *data, size_t n)
{
    append_be32(b, (uint32_t)n);
    size_t start = b->n;
    pb_test_png_append(b, type, 4);
    if (n > 0)
        pb_test_png_append(b, data, n);
    append_be32(b, crc32_bitwise(b->p + start, n + 4));
}

void
pb_test_png_make(struct pb_test_png *b, unsigned char shade)
{
    static const unsigned char sig[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
    memset(b, 0, sizeof(*b));
    pb_test_png_append(b, sig, 8);
    const unsigned char ihdr[13] = {0, 0, 0, 2, 0, 0, 0, 2, 8, 0, 0, 0, 0};
    chunk(b, "IHDR", ihdr, sizeof(ihdr));
    /* Two rows: filter byte 0 and two pixels each, in one stored (uncompressed) deflate block. */
    const unsigned char raw[6] = {0, shade, shade, 0, shade, shade};
    uint32_t a = 1, s = 0;
    for (size_t i = 0; i < sizeof(raw); i++) {
        a = (a + raw[i]) % 65521;
        s = (s + a) % 65521;
    }
    uint32_t adler = s << 16 | a;
    unsigned char z[2 + 5 + sizeof(raw) + 4] = {
        0x78, 0x01, 0x01, sizeof(raw), 0, (unsigned char)~sizeof(raw), 0xff};
    memcpy(z + 7, raw, sizeof(raw));
    z[13] = (unsigned char)(adler >> 24);
    z[14] = (unsigned char)(adler >> 16);
    z[15] = (unsigned char)(adler >> 8);
    z[16] = (unsigned char)adler;
    chunk(b, "IDAT", z, sizeof(z));
    chunk(b, "IEND", NULL, 0);
}
