/*
 * Unit tests for evidence images checked by content (model/evidence_check.c).
 * The images are generated here, byte by byte: a minimal PNG encoder (stored
 * zlib block, real CRC-32 and Adler-32), a hand-built baseline JPEG, lossless
 * (VP8L), lossy (VP8) and extended (VP8X) WebP files. No external tools.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "model/evidence_check.h"

/* ---- A growable byte buffer -------------------------------------------- */

struct buf {
    unsigned char *p;
    size_t n, cap;
};

static void
put(struct buf *b, const void *data, size_t n)
{
    if (b->n + n > b->cap) {
        size_t cap = b->cap ? b->cap : 256;
        while (cap < b->n + n)
            cap *= 2;
        b->p = realloc(b->p, cap);
        assert_non_null(b->p);
        b->cap = cap;
    }
    if (n)
        memcpy(b->p + b->n, data, n);
    b->n += n;
}

static void
put_str(struct buf *b, const char *s)
{
    put(b, s, strlen(s));
}

static void
put_u8(struct buf *b, unsigned x)
{
    unsigned char c = (unsigned char)x;
    put(b, &c, 1);
}

static void
put_be16(struct buf *b, uint32_t x)
{
    put_u8(b, x >> 8);
    put_u8(b, x);
}

static void
put_be32(struct buf *b, uint32_t x)
{
    put_be16(b, x >> 16);
    put_be16(b, x);
}

static void
put_le16(struct buf *b, uint32_t x)
{
    put_u8(b, x);
    put_u8(b, x >> 8);
}

static void
put_le32(struct buf *b, uint32_t x)
{
    put_le16(b, x);
    put_le16(b, x >> 16);
}

static void
buf_free(struct buf *b)
{
    free(b->p);
    memset(b, 0, sizeof(*b));
}

/* Runs the check and keeps the type and reason for assertions. */
struct verdict {
    enum pb_err err;
    char type[PB_EVIDENCE_TYPE_MAX];
    char why[PB_WHY_MAX];
};

static struct verdict
check(const unsigned char *p, size_t n)
{
    struct verdict v;
    memset(&v, 0x55, sizeof(v));
    v.err = pb_evidence_check(p, n, v.type, v.why);
    return v;
}

static struct verdict
check_buf(const struct buf *b)
{
    return check(b->p, b->n);
}

static void
assert_refused(struct verdict v, const char *why_part)
{
    assert_int_equal(v.err, PB_ERR_INVALID);
    assert_string_equal(v.type, "");
    if (why_part && !strstr(v.why, why_part))
        fail_msg("why '%s' does not contain '%s'", v.why, why_part);
}

static void
assert_accepted(struct verdict v, const char *type)
{
    if (v.err != PB_ERR_OK)
        fail_msg("refused (%d): %s", v.err, v.why);
    assert_string_equal(v.type, type);
    assert_string_equal(v.why, "");
}

/* ---- A minimal PNG encoder ---------------------------------------------- */

/* Bitwise CRC-32, independent of the table in the code under test. */
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

static uint32_t
adler32(const unsigned char *p, size_t n)
{
    uint32_t a = 1, b = 0;
    for (size_t i = 0; i < n; i++) {
        a = (a + p[i]) % 65521;
        b = (b + a) % 65521;
    }
    return b << 16 | a;
}

static void
png_chunk(struct buf *b, const char *type, const void *data, size_t n)
{
    put_be32(b, (uint32_t)n);
    size_t start = b->n;
    put(b, type, 4);
    put(b, data, n);
    put_be32(b, crc32_bitwise(b->p + start, n + 4));
}

struct png_opts {
    uint32_t w, h;
    unsigned depth, colour;
    const char *extra_type; /* a chunk inserted before IDAT, or NULL */
    const void *extra;
    size_t extra_len;
    bool no_iend;
};

/*
 * IHDR, an optional extra chunk, a PLTE for palette images, one IDAT holding
 * a zlib stream with one stored block of black rows, IEND. Images too big for
 * one stored block get a token IDAT (the check does not inflate).
 */
static void
make_png_opts(struct buf *b, const struct png_opts *o)
{
    static const unsigned char sig[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
    put(b, sig, 8);

    struct buf ihdr = {0};
    put_be32(&ihdr, o->w);
    put_be32(&ihdr, o->h);
    put_u8(&ihdr, o->depth);
    put_u8(&ihdr, o->colour);
    put_u8(&ihdr, 0);
    put_u8(&ihdr, 0);
    put_u8(&ihdr, 0);
    png_chunk(b, "IHDR", ihdr.p, ihdr.n);
    buf_free(&ihdr);

    if (o->extra_type)
        png_chunk(b, o->extra_type, o->extra, o->extra_len);
    if (o->colour == 3) {
        static const unsigned char plte[6] = {0, 0, 0, 255, 255, 255};
        png_chunk(b, "PLTE", plte, sizeof(plte));
    }

    struct buf raw = {0};
    unsigned channels[7] = {1, 0, 3, 1, 2, 0, 4};
    uint64_t row = 1 + ((uint64_t)o->w * o->depth * channels[o->colour % 7] + 7) / 8;
    uint64_t rows = row * o->h;
    if (rows > 60000)
        rows = 16; /* token data */
    for (uint64_t i = 0; i < rows; i++)
        put_u8(&raw, 0);

    struct buf z = {0};
    put_u8(&z, 0x78); /* deflate, 32 KiB window */
    put_u8(&z, 0x01); /* no preset dictionary, fastest; 0x7801 % 31 == 0 */
    put_u8(&z, 0x01); /* final stored block */
    put_le16(&z, (uint32_t)raw.n);
    put_le16(&z, (uint32_t)~raw.n & 0xffff);
    put(&z, raw.p, raw.n);
    put_be32(&z, adler32(raw.p, raw.n));
    png_chunk(b, "IDAT", z.p, z.n);
    buf_free(&z);
    buf_free(&raw);

    if (!o->no_iend)
        png_chunk(b, "IEND", NULL, 0);
}

static void
make_png(struct buf *b, uint32_t w, uint32_t h)
{
    struct png_opts o = {.w = w, .h = h, .depth = 8, .colour = 0};
    make_png_opts(b, &o);
}

static void
make_png_text(struct buf *b, const char *text)
{
    struct buf t = {0};
    put(&t, "Comment", 8); /* keyword and its NUL */
    put_str(&t, text);
    struct png_opts o = {.w = 2,
                         .h = 2,
                         .depth = 8,
                         .colour = 2,
                         .extra_type = "tEXt",
                         .extra = t.p,
                         .extra_len = t.n};
    make_png_opts(b, &o);
    buf_free(&t);
}

/* ---- A minimal baseline JPEG -------------------------------------------- */

/*
 * 1x1 greyscale baseline JPEG: SOI, APP0 JFIF, DQT, SOF0, DHT (DC and AC,
 * one 1-bit code each), SOS, entropy data, EOI. The entropy byte 0x3f is
 * "DC diff 0, EOB" padded with ones, so the file even decodes.
 */
static void
make_jpeg_with(struct buf *b, const unsigned char *entropy, size_t entropy_len, const char *comment)
{
    put_be16(b, 0xffd8);

    put_be16(b, 0xffe0);
    put_be16(b, 16);
    put(b, "JFIF", 5);
    put_u8(b, 1);
    put_u8(b, 1);
    put_u8(b, 0);
    put_be16(b, 1);
    put_be16(b, 1);
    put_u8(b, 0);
    put_u8(b, 0);

    if (comment) {
        put_be16(b, 0xfffe);
        put_be16(b, (uint32_t)(2 + strlen(comment)));
        put_str(b, comment);
    }

    put_be16(b, 0xffdb);
    put_be16(b, 67);
    put_u8(b, 0); /* 8-bit table 0 */
    for (int i = 0; i < 64; i++)
        put_u8(b, 1);

    put_be16(b, 0xffc0);
    put_be16(b, 11);
    put_u8(b, 8);    /* precision */
    put_be16(b, 1);  /* height */
    put_be16(b, 1);  /* width */
    put_u8(b, 1);    /* components */
    put_u8(b, 1);    /* id */
    put_u8(b, 0x11); /* sampling */
    put_u8(b, 0);    /* quantisation table */

    for (unsigned cls = 0; cls < 2; cls++) {
        put_be16(b, 0xffc4);
        put_be16(b, 20);
        put_u8(b, cls << 4); /* class, table 0 */
        put_u8(b, 1);        /* one code of length 1 */
        for (int i = 1; i < 16; i++)
            put_u8(b, 0);
        put_u8(b, 0); /* symbol: DC category 0, or AC EOB */
    }

    put_be16(b, 0xffda);
    put_be16(b, 8);
    put_u8(b, 1);    /* components in scan */
    put_u8(b, 1);    /* component id */
    put_u8(b, 0x00); /* DC/AC tables */
    put_u8(b, 0);    /* Ss */
    put_u8(b, 63);   /* Se */
    put_u8(b, 0);    /* Ah/Al */
    put(b, entropy, entropy_len);

    put_be16(b, 0xffd9);
}

static void
make_jpeg(struct buf *b)
{
    static const unsigned char entropy[] = {0x3f};
    make_jpeg_with(b, entropy, sizeof(entropy), NULL);
}

/* ---- WebP --------------------------------------------------------------- */

static void
riff_chunk(struct buf *b, const char *fourcc, const void *data, size_t n)
{
    put(b, fourcc, 4);
    put_le32(b, (uint32_t)n);
    put(b, data, n);
    if (n % 2)
        put_u8(b, 0);
}

/* Wraps chunks (already encoded in `body`) in RIFF/WEBP with the right size. */
static void
riff_wrap(struct buf *b, const struct buf *body)
{
    put_str(b, "RIFF");
    put_le32(b, (uint32_t)(4 + body->n));
    put_str(b, "WEBP");
    put(b, body->p, body->n);
}

static void
vp8l_payload(struct buf *p, uint32_t w, uint32_t h)
{
    put_u8(p, 0x2f);
    put_le32(p, (w - 1) | (h - 1) << 14);                         /* no alpha hint, version 0 */
    static const unsigned char data[] = {0x07, 0x00, 0x00, 0x00}; /* odd total: padded */
    put(p, data, sizeof(data));
}

static void
vp8_payload(struct buf *p, uint32_t w, uint32_t h)
{
    /* Frame tag: key frame (bit 0 clear), version 0, shown, first partition of 4 bytes. */
    uint32_t tag = 0 | 0 << 1 | 1 << 4 | 4u << 5;
    put_u8(p, tag);
    put_u8(p, tag >> 8);
    put_u8(p, tag >> 16);
    static const unsigned char start[] = {0x9d, 0x01, 0x2a};
    put(p, start, 3);
    put_le16(p, w);
    put_le16(p, h);
    static const unsigned char data[] = {0x00, 0x00, 0x00, 0x00, 0x00, 0x00};
    put(p, data, sizeof(data));
}

static void
make_webp_lossless(struct buf *b, uint32_t w, uint32_t h)
{
    struct buf p = {0}, body = {0};
    vp8l_payload(&p, w, h);
    riff_chunk(&body, "VP8L", p.p, p.n);
    riff_wrap(b, &body);
    buf_free(&p);
    buf_free(&body);
}

static void
make_webp_lossy(struct buf *b, uint32_t w, uint32_t h)
{
    struct buf p = {0}, body = {0};
    vp8_payload(&p, w, h);
    riff_chunk(&body, "VP8 ", p.p, p.n);
    riff_wrap(b, &body);
    buf_free(&p);
    buf_free(&body);
}

/* VP8X with EXIF metadata, then a VP8L image; `extra` names one more chunk or NULL. */
static void
make_webp_extended(struct buf *b, const char *extra, const char *exif)
{
    struct buf x = {0}, p = {0}, body = {0};
    put_u8(&x, 0x08); /* EXIF flag */
    put_u8(&x, 0);
    put_u8(&x, 0);
    put_u8(&x, 0);
    put_u8(&x, 3); /* canvas width - 1, 24 bits */
    put_u8(&x, 0);
    put_u8(&x, 0);
    put_u8(&x, 2); /* canvas height - 1 */
    put_u8(&x, 0);
    put_u8(&x, 0);
    riff_chunk(&body, "VP8X", x.p, x.n);
    vp8l_payload(&p, 4, 3);
    riff_chunk(&body, "VP8L", p.p, p.n);
    riff_chunk(&body, "EXIF", exif, strlen(exif));
    if (extra)
        riff_chunk(&body, extra, "abc", 3);
    riff_wrap(b, &body);
    buf_free(&x);
    buf_free(&p);
    buf_free(&body);
}

/* ---- Tests -------------------------------------------------------------- */

static void
test_helpers_are_right(void **state)
{
    (void)state;
    /* Known CRC-32 of an IEND chunk's type, and the check value of CRC-32. */
    assert_int_equal(crc32_bitwise((const unsigned char *)"IEND", 4), 0xae426082u);
    assert_int_equal(crc32_bitwise((const unsigned char *)"123456789", 9), 0xcbf43926u);
    assert_int_equal(adler32((const unsigned char *)"Wikipedia", 9), 0x11e60398u);
}

static void
valid_pngs_are_accepted(void **state)
{
    (void)state;
    static const struct {
        uint32_t w, h;
        unsigned depth, colour;
    } cases[] = {
        {1, 1, 8, 0}, {31, 7, 8, 2}, {5, 5, 1, 0}, {3, 3, 16, 6}, {8, 2, 4, 3}, {2, 9, 8, 4},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct buf b = {0};
        struct png_opts o = {cases[i].w, cases[i].h, cases[i].depth, cases[i].colour, NULL,
                             NULL,       0,          false};
        make_png_opts(&b, &o);
        assert_accepted(check_buf(&b), "image/png");
        buf_free(&b);
    }
    /* A harmless text chunk is fine. */
    struct buf b = {0};
    make_png_text(&b, "Screenshot of the sign-up form, 2024-05-01");
    assert_accepted(check_buf(&b), "image/png");
    buf_free(&b);
}

static void
type_comes_from_content_not_from_a_declaration(void **state)
{
    (void)state;
    /* An upload declared as image/jpeg (name shot.jpg) whose bytes are a PNG. */
    const char *declared = "image/jpeg";
    struct buf png = {0}, jpeg = {0}, webp = {0};
    make_png(&png, 4, 4);
    make_jpeg(&jpeg);
    make_webp_lossless(&webp, 4, 4);
    struct verdict v = check_buf(&png);
    assert_accepted(v, "image/png");
    assert_string_not_equal(v.type, declared);
    assert_accepted(check_buf(&jpeg), "image/jpeg");
    assert_accepted(check_buf(&webp), "image/webp");

    /* NULL out-parameters are allowed. */
    assert_int_equal(pb_evidence_check(png.p, png.n, NULL, NULL), PB_ERR_OK);
    assert_int_equal(pb_evidence_check(png.p, 3, NULL, NULL), PB_ERR_INVALID);
    buf_free(&png);
    buf_free(&jpeg);
    buf_free(&webp);
}

static void
valid_jpegs_are_accepted(void **state)
{
    (void)state;
    struct buf b = {0};
    make_jpeg(&b);
    assert_accepted(check_buf(&b), "image/jpeg");
    buf_free(&b);

    /* Stuffed FF 00, a restart marker and fill bytes inside the entropy data. */
    static const unsigned char entropy[] = {0x3f, 0xff, 0x00, 0x12, 0xff, 0xd0, 0x3f, 0xff, 0xff};
    make_jpeg_with(&b, entropy, sizeof(entropy), "made by hand");
    assert_accepted(check_buf(&b), "image/jpeg");
    buf_free(&b);
}

static void
valid_webps_are_accepted(void **state)
{
    (void)state;
    struct buf b = {0};
    make_webp_lossless(&b, 1, 1);
    assert_accepted(check_buf(&b), "image/webp");
    buf_free(&b);
    make_webp_lossless(&b, 16384, 3); /* 14-bit dimensions at their maximum */
    assert_accepted(check_buf(&b), "image/webp");
    buf_free(&b);
    make_webp_lossy(&b, 640, 480);
    assert_accepted(check_buf(&b), "image/webp");
    buf_free(&b);
    make_webp_extended(&b, NULL, "Exif\0\0 camera");
    assert_accepted(check_buf(&b), "image/webp");
    buf_free(&b);
    make_webp_extended(&b, "XMP ", "Exif");
    assert_accepted(check_buf(&b), "image/webp");
    buf_free(&b);
}

/* Every proper prefix of a valid image is refused. */
static void
assert_every_prefix_refused(const struct buf *b)
{
    for (size_t n = 0; n < b->n; n++) {
        struct verdict v = check(b->p, n);
        if (v.err != PB_ERR_INVALID)
            fail_msg("prefix of %zu of %zu bytes accepted", n, b->n);
    }
}

static void
truncated_images_are_refused(void **state)
{
    (void)state;
    struct buf png = {0}, jpeg = {0}, webp = {0}, lossy = {0};
    make_png(&png, 3, 3);
    make_jpeg(&jpeg);
    make_webp_lossless(&webp, 3, 3);
    make_webp_lossy(&lossy, 3, 3);
    assert_every_prefix_refused(&png);
    assert_every_prefix_refused(&jpeg);
    assert_every_prefix_refused(&webp);
    assert_every_prefix_refused(&lossy);

    /* The messages say what is wrong. */
    size_t idat_cut = 8 + 25 + 8 + 10; /* inside IDAT's data */
    assert_refused(check(png.p, idat_cut),
                   "PNG chunk IDAT runs past the end of the file (truncated?)");
    assert_refused(check(png.p, png.n - 12), "without an IEND");
    assert_refused(check(jpeg.p, jpeg.n - 2), "JPEG scan data runs past the end");
    assert_refused(check(jpeg.p, 30), "runs past the end of the file (truncated?)");

    /* A truncated WebP whose RIFF size was fixed up to match. */
    struct buf cut = {0};
    put(&cut, webp.p, webp.n - 4);
    cut.p[4] = (unsigned char)(cut.n - 8);
    assert_refused(check_buf(&cut), "VP8L runs past the end of the file (truncated?)");
    buf_free(&cut);

    buf_free(&png);
    buf_free(&jpeg);
    buf_free(&webp);
    buf_free(&lossy);
}

static void
wrong_crc_is_refused(void **state)
{
    (void)state;
    struct buf b = {0};
    make_png(&b, 3, 3);
    /* Flip one bit of the last CRC (IEND's), of IHDR's, then one bit of IDAT's data. */
    b.p[b.n - 1] ^= 0x01;
    assert_refused(check_buf(&b), "PNG chunk IEND has a wrong CRC");
    b.p[b.n - 1] ^= 0x01;
    assert_accepted(check_buf(&b), "image/png");
    b.p[8 + 8 + 13] ^= 0x80;
    assert_refused(check_buf(&b), "PNG chunk IHDR has a wrong CRC");
    b.p[8 + 8 + 13] ^= 0x80;
    b.p[8 + 25 + 8 + 3] ^= 0x10;
    assert_refused(check_buf(&b), "PNG chunk IDAT has a wrong CRC (corrupted or edited)");
    buf_free(&b);
}

static void
trailing_data_is_refused(void **state)
{
    (void)state;
    static const char *const tails[] = {"\0", "x", "PK\003\004 a zip after the image"};
    for (size_t i = 0; i < sizeof(tails) / sizeof(tails[0]); i++) {
        size_t n = i == 0 ? 1 : strlen(tails[i]);
        struct buf png = {0}, jpeg = {0};
        make_png(&png, 2, 2);
        make_jpeg(&jpeg);
        put(&png, tails[i], n);
        put(&jpeg, tails[i], n);
        assert_refused(check_buf(&png), "bytes after the end of the image");
        assert_refused(check_buf(&jpeg), "bytes after the end of the image");
        buf_free(&png);
        buf_free(&jpeg);
    }
    /* WebP: bytes past the RIFF size lie about it; bytes inside it form an unexpected chunk. */
    struct buf w = {0};
    make_webp_lossless(&w, 2, 2);
    put_str(&w, "junk");
    assert_refused(check_buf(&w), "RIFF header says");
    w.p[4] += 4;
    assert_refused(check_buf(&w), NULL);
    buf_free(&w);
}

static void
active_content_inside_an_image_is_refused(void **state)
{
    (void)state;
    static const struct {
        const char *text, *marker;
    } cases[] = {
        {"hello <script>alert(1)</script>", "'<script'"},
        {"<HTML><body>", "'<html'"},
        {"<svg xmlns='http://www.w3.org/2000/svg'>", "'<svg'"},
        {"x<SvG>", "'<svg'"},
        {"<?xml version='1.0'?>", "'<?xml'"},
        {"%PDF-1.7 hidden", "'%PDF-'"},
        {"<!DOCTYPE html>", "'<!doctype'"},
        {"click JavaScript:alert(1)", "'javascript:'"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct buf b = {0};
        make_png_text(&b, cases[i].text);
        struct verdict v = check_buf(&b);
        assert_refused(v, "refused as a possible polyglot");
        assert_refused(v, cases[i].marker);
        buf_free(&b);
    }
    struct buf b = {0};
    make_png_text(&b, "<script>");
    assert_refused(check_buf(&b), "contains '<script': refused as a possible polyglot");
    buf_free(&b);

    /* In a JPEG comment and in WebP EXIF too. */
    static const unsigned char entropy[] = {0x3f};
    make_jpeg_with(&b, entropy, sizeof(entropy), "<script src=//evil>");
    assert_refused(check_buf(&b), "'<script'");
    buf_free(&b);
    make_webp_extended(&b, NULL, "Exif <html>");
    assert_refused(check_buf(&b), "'<html'");
    buf_free(&b);

    /* "<svg" counts only as a tag name (see polyglot_markers in the code). */
    make_png_text(&b, "<svgfoo is not a tag");
    assert_accepted(check_buf(&b), "image/png");
    buf_free(&b);
}

static void
other_files_are_refused(void **state)
{
    (void)state;
#define CASE(lit, why)                                                                             \
    {                                                                                              \
        lit, sizeof(lit) - 1, why                                                                  \
    }
    static const struct {
        const char *data;
        size_t len;
        const char *why;
    } cases[] = {
        CASE("<svg xmlns=\"http://www.w3.org/2000/svg\"><circle r=\"5\"/></svg>", "SVG"),
        CASE("<?xml version=\"1.0\"?>\n<svg xmlns=\"http://www.w3.org/2000/svg\"/>", "SVG"),
        CASE("<!DOCTYPE html><html><body>hi</body></html>", "HTML"),
        CASE("%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj", "PDF"),
        CASE("GIF89a\x01\x00\x01\x00\x00\x00\x00;", "GIF"),
        CASE("\x07\xa1\x3c\x99\x10\xfe\x42", "not a PNG, JPEG or WebP image"),
        CASE("RIFF\x04\x00\x00\x00WAVE", "RIFF file of another kind"),
        CASE("\x89PNG", "not a PNG, JPEG or WebP image"),
    };
#undef CASE
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct verdict v = check((const unsigned char *)cases[i].data, cases[i].len);
        assert_refused(v, "not a PNG, JPEG or WebP image");
        assert_refused(v, cases[i].why);
    }
    assert_int_equal(cases[5].len, 7); /* the 7 random bytes */
    assert_refused(check((const unsigned char *)"", 0), "empty");
    assert_refused(check(NULL, 0), "empty");
}

static void
webp_whose_riff_size_lies_is_refused(void **state)
{
    (void)state;
    struct buf b = {0};
    make_webp_lossless(&b, 5, 5);
    assert_accepted(check_buf(&b), "image/webp");
    b.p[4] += 2;
    assert_refused(check_buf(&b), "WebP RIFF header says");
    b.p[4] -= 4;
    assert_refused(check_buf(&b), "WebP RIFF header says");
    b.p[4] += 2;
    b.p[7] = 0x80; /* 2 GiB */
    assert_refused(check_buf(&b), "WebP RIFF header says");
    buf_free(&b);
}

static void
malformed_headers_are_refused(void **state)
{
    (void)state;
    struct buf b = {0};
    struct png_opts o = {.w = 0, .h = 5, .depth = 8, .colour = 0};
    make_png_opts(&b, &o);
    assert_refused(check_buf(&b), "0x5 image");
    buf_free(&b);
    o.w = 70000;
    o.h = 1;
    make_png_opts(&b, &o);
    assert_refused(check_buf(&b), "over 65535");
    buf_free(&b);
    o.w = 20000;
    o.h = 20000;
    make_png_opts(&b, &o);
    assert_refused(check_buf(&b), "images over 100 megapixels are refused");
    buf_free(&b);
    o.w = 10000; /* exactly 100 megapixels: allowed */
    o.h = 10000;
    make_png_opts(&b, &o);
    assert_accepted(check_buf(&b), "image/png");
    buf_free(&b);
    o = (struct png_opts){.w = 2, .h = 2, .depth = 16, .colour = 3};
    make_png_opts(&b, &o);
    assert_refused(check_buf(&b), "invalid bit depth 16 for colour type 3");
    buf_free(&b);
    o = (struct png_opts){.w = 2, .h = 2, .depth = 8, .colour = 5};
    make_png_opts(&b, &o);
    assert_refused(check_buf(&b), "invalid bit depth");
    buf_free(&b);
    o = (struct png_opts){.w = 2, .h = 2, .depth = 8, .colour = 0, .extra_type = "ZZZZ"};
    make_png_opts(&b, &o);
    assert_refused(check_buf(&b), "unknown critical chunk ZZZZ");
    buf_free(&b);
    o = (struct png_opts){.w = 2, .h = 2, .depth = 8, .colour = 0, .extra_type = "zz1z"};
    make_png_opts(&b, &o);
    assert_refused(check_buf(&b), "invalid type");
    buf_free(&b);
    o = (struct png_opts){.w = 2, .h = 2, .depth = 8, .colour = 0, .no_iend = true};
    make_png_opts(&b, &o);
    assert_refused(check_buf(&b), "without an IEND");
    buf_free(&b);

    /* JPEG: zero width, missing SOF, a second SOI. */
    make_jpeg(&b);
    size_t sof = 2 + 18 + 69;
    assert_int_equal(b.p[sof + 1], 0xc0);
    b.p[sof + 7] = 0;
    b.p[sof + 8] = 0;
    assert_refused(check_buf(&b), "JPEG frame header gives a 0x1 image");
    b.p[sof + 1] = 0xe1; /* the SOF becomes an APP1 segment */
    assert_refused(check_buf(&b), "before the frame header");
    b.p[2] = 0xff;
    b.p[3] = 0xd8;
    assert_refused(check_buf(&b), NULL);
    buf_free(&b);
    static const unsigned char not_jpeg[] = {0xff, 0xd8, 0x00, 0x00};
    assert_refused(check(not_jpeg, sizeof(not_jpeg)), "where a marker was expected");

    /* WebP: VP8 without its start code, VP8L with a wrong signature, an unknown chunk. */
    make_webp_lossy(&b, 8, 8);
    b.p[20 + 3] = 0x9c;
    assert_refused(check_buf(&b), "start code 9d 01 2a");
    buf_free(&b);
    make_webp_lossy(&b, 0, 8);
    assert_refused(check_buf(&b), "0x8 image");
    buf_free(&b);
    make_webp_lossless(&b, 8, 8);
    b.p[20] = 0x2e;
    assert_refused(check_buf(&b), "signature byte 0x2f");
    buf_free(&b);
    make_webp_extended(&b, "JUNK", "Exif");
    assert_refused(check_buf(&b), "unexpected chunk JUNK");
    buf_free(&b);
}

static void
size_limit(void **state)
{
    (void)state;
    size_t n = PB_EVIDENCE_MAX_BYTES + 1;
    unsigned char *big = calloc(1, n);
    assert_non_null(big);
    struct buf png = {0};
    make_png(&png, 1, 1);
    memcpy(big, png.p, png.n);
    struct verdict v = check(big, n);
    assert_int_equal(v.err, PB_ERR_TOO_LARGE);
    assert_string_equal(v.type, "");
    assert_non_null(strstr(v.why, "over the limit"));
    /* At exactly the limit the size is fine and the content decides. */
    v = check(big, n - 1);
    assert_refused(v, "bytes after the end of the image");
    free(big);
    buf_free(&png);
}

/* Random damage never crashes the checker nor slips a lie past it unnoticed by ASan. */
static void
mutations_do_not_crash(void **state)
{
    (void)state;
    struct buf imgs[5] = {{0}};
    make_png(&imgs[0], 4, 4);
    make_jpeg(&imgs[1]);
    make_webp_lossless(&imgs[2], 4, 4);
    make_webp_lossy(&imgs[3], 4, 4);
    make_webp_extended(&imgs[4], NULL, "Exif");
    uint32_t seed = 12345;
    for (int round = 0; round < 20000; round++) {
        struct buf *src = &imgs[round % 5];
        unsigned char *copy = malloc(src->n);
        assert_non_null(copy);
        memcpy(copy, src->p, src->n);
        for (int k = 0; k < 1 + round % 4; k++) {
            seed = seed * 1103515245u + 12345u;
            copy[(seed >> 8) % src->n] = (unsigned char)(seed >> 24);
        }
        seed = seed * 1103515245u + 12345u;
        size_t n = (round % 3 == 0) ? (seed >> 8) % (src->n + 1) : src->n;
        struct verdict v = check(copy, n);
        assert_true(v.err == PB_ERR_OK || v.err == PB_ERR_INVALID);
        if (v.err == PB_ERR_INVALID)
            assert_true(v.why[0] != '\0');
        free(copy);
    }
    for (int i = 0; i < 5; i++)
        buf_free(&imgs[i]);
}

static void
sha256_of_evidence(void **state)
{
    (void)state;
    static const unsigned char abc_sha256[32] = {
        0xba, 0x78, 0x16, 0xbf, 0x8f, 0x01, 0xcf, 0xea, 0x41, 0x41, 0x40,
        0xde, 0x5d, 0xae, 0x22, 0x23, 0xb0, 0x03, 0x61, 0xa3, 0x96, 0x17,
        0x7a, 0x9c, 0xb4, 0x10, 0xff, 0x61, 0xf2, 0x00, 0x15, 0xad,
    };
    unsigned char out[32];
    pb_evidence_sha256((const unsigned char *)"abc", 3, out);
    assert_memory_equal(out, abc_sha256, 32);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_helpers_are_right),
        cmocka_unit_test(valid_pngs_are_accepted),
        cmocka_unit_test(type_comes_from_content_not_from_a_declaration),
        cmocka_unit_test(valid_jpegs_are_accepted),
        cmocka_unit_test(valid_webps_are_accepted),
        cmocka_unit_test(truncated_images_are_refused),
        cmocka_unit_test(wrong_crc_is_refused),
        cmocka_unit_test(trailing_data_is_refused),
        cmocka_unit_test(active_content_inside_an_image_is_refused),
        cmocka_unit_test(other_files_are_refused),
        cmocka_unit_test(webp_whose_riff_size_lies_is_refused),
        cmocka_unit_test(malformed_headers_are_refused),
        cmocka_unit_test(size_limit),
        cmocka_unit_test(mutations_do_not_crash),
        cmocka_unit_test(sha256_of_evidence),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
