/*
 * Evidence images checked by content (see evidence_check.h): walkers for the
 * PNG, JPEG and WebP container structures, and a scan of the whole file for
 * markup or a PDF header that would make it a polyglot.
 */
#include "model/evidence_check.h"

#include <stdarg.h>
#include <stdbool.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <sodium.h>

/* CRC-32 (ISO 3309, reflected polynomial 0xEDB88320), as PNG uses it. */
static const uint32_t crc_table[256] = {
    0x00000000u, 0x77073096u, 0xee0e612cu, 0x990951bau, 0x076dc419u, 0x706af48fu, 0xe963a535u,
    0x9e6495a3u, 0x0edb8832u, 0x79dcb8a4u, 0xe0d5e91eu, 0x97d2d988u, 0x09b64c2bu, 0x7eb17cbdu,
    0xe7b82d07u, 0x90bf1d91u, 0x1db71064u, 0x6ab020f2u, 0xf3b97148u, 0x84be41deu, 0x1adad47du,
    0x6ddde4ebu, 0xf4d4b551u, 0x83d385c7u, 0x136c9856u, 0x646ba8c0u, 0xfd62f97au, 0x8a65c9ecu,
    0x14015c4fu, 0x63066cd9u, 0xfa0f3d63u, 0x8d080df5u, 0x3b6e20c8u, 0x4c69105eu, 0xd56041e4u,
    0xa2677172u, 0x3c03e4d1u, 0x4b04d447u, 0xd20d85fdu, 0xa50ab56bu, 0x35b5a8fau, 0x42b2986cu,
    0xdbbbc9d6u, 0xacbcf940u, 0x32d86ce3u, 0x45df5c75u, 0xdcd60dcfu, 0xabd13d59u, 0x26d930acu,
    0x51de003au, 0xc8d75180u, 0xbfd06116u, 0x21b4f4b5u, 0x56b3c423u, 0xcfba9599u, 0xb8bda50fu,
    0x2802b89eu, 0x5f058808u, 0xc60cd9b2u, 0xb10be924u, 0x2f6f7c87u, 0x58684c11u, 0xc1611dabu,
    0xb6662d3du, 0x76dc4190u, 0x01db7106u, 0x98d220bcu, 0xefd5102au, 0x71b18589u, 0x06b6b51fu,
    0x9fbfe4a5u, 0xe8b8d433u, 0x7807c9a2u, 0x0f00f934u, 0x9609a88eu, 0xe10e9818u, 0x7f6a0dbbu,
    0x086d3d2du, 0x91646c97u, 0xe6635c01u, 0x6b6b51f4u, 0x1c6c6162u, 0x856530d8u, 0xf262004eu,
    0x6c0695edu, 0x1b01a57bu, 0x8208f4c1u, 0xf50fc457u, 0x65b0d9c6u, 0x12b7e950u, 0x8bbeb8eau,
    0xfcb9887cu, 0x62dd1ddfu, 0x15da2d49u, 0x8cd37cf3u, 0xfbd44c65u, 0x4db26158u, 0x3ab551ceu,
    0xa3bc0074u, 0xd4bb30e2u, 0x4adfa541u, 0x3dd895d7u, 0xa4d1c46du, 0xd3d6f4fbu, 0x4369e96au,
    0x346ed9fcu, 0xad678846u, 0xda60b8d0u, 0x44042d73u, 0x33031de5u, 0xaa0a4c5fu, 0xdd0d7cc9u,
    0x5005713cu, 0x270241aau, 0xbe0b1010u, 0xc90c2086u, 0x5768b525u, 0x206f85b3u, 0xb966d409u,
    0xce61e49fu, 0x5edef90eu, 0x29d9c998u, 0xb0d09822u, 0xc7d7a8b4u, 0x59b33d17u, 0x2eb40d81u,
    0xb7bd5c3bu, 0xc0ba6cadu, 0xedb88320u, 0x9abfb3b6u, 0x03b6e20cu, 0x74b1d29au, 0xead54739u,
    0x9dd277afu, 0x04db2615u, 0x73dc1683u, 0xe3630b12u, 0x94643b84u, 0x0d6d6a3eu, 0x7a6a5aa8u,
    0xe40ecf0bu, 0x9309ff9du, 0x0a00ae27u, 0x7d079eb1u, 0xf00f9344u, 0x8708a3d2u, 0x1e01f268u,
    0x6906c2feu, 0xf762575du, 0x806567cbu, 0x196c3671u, 0x6e6b06e7u, 0xfed41b76u, 0x89d32be0u,
    0x10da7a5au, 0x67dd4accu, 0xf9b9df6fu, 0x8ebeeff9u, 0x17b7be43u, 0x60b08ed5u, 0xd6d6a3e8u,
    0xa1d1937eu, 0x38d8c2c4u, 0x4fdff252u, 0xd1bb67f1u, 0xa6bc5767u, 0x3fb506ddu, 0x48b2364bu,
    0xd80d2bdau, 0xaf0a1b4cu, 0x36034af6u, 0x41047a60u, 0xdf60efc3u, 0xa867df55u, 0x316e8eefu,
    0x4669be79u, 0xcb61b38cu, 0xbc66831au, 0x256fd2a0u, 0x5268e236u, 0xcc0c7795u, 0xbb0b4703u,
    0x220216b9u, 0x5505262fu, 0xc5ba3bbeu, 0xb2bd0b28u, 0x2bb45a92u, 0x5cb36a04u, 0xc2d7ffa7u,
    0xb5d0cf31u, 0x2cd99e8bu, 0x5bdeae1du, 0x9b64c2b0u, 0xec63f226u, 0x756aa39cu, 0x026d930au,
    0x9c0906a9u, 0xeb0e363fu, 0x72076785u, 0x05005713u, 0x95bf4a82u, 0xe2b87a14u, 0x7bb12baeu,
    0x0cb61b38u, 0x92d28e9bu, 0xe5d5be0du, 0x7cdcefb7u, 0x0bdbdf21u, 0x86d3d2d4u, 0xf1d4e242u,
    0x68ddb3f8u, 0x1fda836eu, 0x81be16cdu, 0xf6b9265bu, 0x6fb077e1u, 0x18b74777u, 0x88085ae6u,
    0xff0f6a70u, 0x66063bcau, 0x11010b5cu, 0x8f659effu, 0xf862ae69u, 0x616bffd3u, 0x166ccf45u,
    0xa00ae278u, 0xd70dd2eeu, 0x4e048354u, 0x3903b3c2u, 0xa7672661u, 0xd06016f7u, 0x4969474du,
    0x3e6e77dbu, 0xaed16a4au, 0xd9d65adcu, 0x40df0b66u, 0x37d83bf0u, 0xa9bcae53u, 0xdebb9ec5u,
    0x47b2cf7fu, 0x30b5ffe9u, 0xbdbdf21cu, 0xcabac28au, 0x53b39330u, 0x24b4a3a6u, 0xbad03605u,
    0xcdd70693u, 0x54de5729u, 0x23d967bfu, 0xb3667a2eu, 0xc4614ab8u, 0x5d681b02u, 0x2a6f2b94u,
    0xb40bbe37u, 0xc30c8ea1u, 0x5a05df1bu, 0x2d02ef8du};

static uint32_t
png_crc32(const unsigned char *p, size_t n)
{
    uint32_t c = 0xffffffffu;
    for (size_t i = 0; i < n; i++)
        c = crc_table[(c ^ p[i]) & 0xff] ^ (c >> 8);
    return c ^ 0xffffffffu;
}

static uint32_t
be16(const unsigned char *p)
{
    return (uint32_t)p[0] << 8 | p[1];
}

static uint32_t
be32(const unsigned char *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static uint32_t
le16(const unsigned char *p)
{
    return (uint32_t)p[1] << 8 | p[0];
}

static uint32_t
le24(const unsigned char *p)
{
    return (uint32_t)p[2] << 16 | (uint32_t)p[1] << 8 | p[0];
}

static uint32_t
le32(const unsigned char *p)
{
    return (uint32_t)p[3] << 24 | (uint32_t)p[2] << 16 | (uint32_t)p[1] << 8 | p[0];
}

static enum pb_err
refuse(char *why, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static enum pb_err
refuse(char *why, const char *fmt, ...)
{
    if (why) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(why, PB_WHY_MAX, fmt, ap);
        va_end(ap);
    }
    return PB_ERR_INVALID;
}

/* A chunk type or FourCC made printable for messages. */
static void
fourcc_name(const unsigned char *p, char out[5])
{
    for (int i = 0; i < 4; i++)
        out[i] = (p[i] >= 0x20 && p[i] < 0x7f) ? (char)p[i] : '?';
    out[4] = '\0';
}

/* Refuses dimensions over PB_EVIDENCE_MAX_PIXELS. */
static enum pb_err
check_pixels(const char *what, uint32_t w, uint32_t h, char *why)
{
    if ((uint64_t)w * h > PB_EVIDENCE_MAX_PIXELS)
        return refuse(
            why, "%s is %" PRIu32 "x%" PRIu32 " pixels: images over 100 megapixels are refused",
            what, w, h);
    return PB_ERR_OK;
}

/* ---- PNG ---------------------------------------------------------------- */

static const unsigned char png_signature[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};

static bool
png_depth_valid(unsigned colour, unsigned depth)
{
    switch (colour) {
    case 0: /* greyscale */
        return depth == 1 || depth == 2 || depth == 4 || depth == 8 || depth == 16;
    case 3: /* palette */
        return depth == 1 || depth == 2 || depth == 4 || depth == 8;
    case 2: /* truecolour */
    case 4: /* greyscale with alpha */
    case 6: /* truecolour with alpha */
        return depth == 8 || depth == 16;
    default:
        return false;
    }
}

static enum pb_err
check_png_ihdr(const unsigned char *b, unsigned *colour, char *why)
{
    uint32_t w = be32(b), h = be32(b + 4);
    unsigned depth = b[8], ctype = b[9];
    if (w == 0 || h == 0)
        return refuse(why, "PNG header gives a %" PRIu32 "x%" PRIu32 " image", w, h);
    if (w > 65535 || h > 65535)
        return refuse(
            why, "PNG is %" PRIu32 "x%" PRIu32 " pixels: a width or height over 65535 is refused",
            w, h);
    enum pb_err err = check_pixels("PNG", w, h, why);
    if (err != PB_ERR_OK)
        return err;
    if (!png_depth_valid(ctype, depth))
        return refuse(why, "PNG header has an invalid bit depth %u for colour type %u", depth,
                      ctype);
    if (b[10] != 0 || b[11] != 0)
        return refuse(why, "PNG header names an unknown compression or filter method");
    if (b[12] > 1)
        return refuse(why, "PNG header names an unknown interlace method %u", b[12]);
    *colour = ctype;
    return PB_ERR_OK;
}

static enum pb_err
check_png(const unsigned char *d, size_t len, char *why)
{
    size_t pos = sizeof(png_signature);
    bool seen_ihdr = false, seen_plte = false, seen_idat = false, idat_done = false;
    unsigned colour = 0;
    char name[5];

    while (pos < len) {
        if (len - pos < 12)
            return refuse(why, "PNG chunk at byte %zu is cut short (truncated?)", pos);
        uint32_t clen = be32(d + pos);
        const unsigned char *type = d + pos + 4;
        const unsigned char *body = type + 4;
        fourcc_name(type, name);
        for (int i = 0; i < 4; i++) {
            unsigned c = type[i] | 0x20u;
            if (c < 'a' || c > 'z')
                return refuse(why, "PNG chunk at byte %zu has an invalid type '%s'", pos, name);
        }
        if (clen > 0x7fffffffu)
            return refuse(why, "PNG chunk %s declares a length over 2^31-1", name);
        if (clen > len - pos - 12)
            return refuse(why, "PNG chunk %s runs past the end of the file (truncated?)", name);
        if (png_crc32(type, (size_t)clen + 4) != be32(body + clen))
            return refuse(why, "PNG chunk %s has a wrong CRC (corrupted or edited)", name);

        bool is_idat = memcmp(type, "IDAT", 4) == 0;
        if (seen_idat && !is_idat)
            idat_done = true;
        if (!seen_ihdr) {
            if (memcmp(type, "IHDR", 4) != 0)
                return refuse(why, "PNG does not start with an IHDR chunk (found %s)", name);
            if (clen != 13)
                return refuse(why, "PNG IHDR chunk has length %" PRIu32 ", not 13", clen);
            enum pb_err err = check_png_ihdr(body, &colour, why);
            if (err != PB_ERR_OK)
                return err;
            seen_ihdr = true;
        } else if (memcmp(type, "IHDR", 4) == 0) {
            return refuse(why, "PNG has a second IHDR chunk");
        } else if (memcmp(type, "IEND", 4) == 0) {
            if (clen != 0)
                return refuse(why, "PNG IEND chunk is not empty");
            if (!seen_idat)
                return refuse(why, "PNG has no IDAT (image data) chunk");
            if (colour == 3 && !seen_plte)
                return refuse(why, "PNG with a palette has no PLTE chunk");
            pos += 12;
            if (pos != len)
                return refuse(why,
                              "bytes after the end of the image (%zu after the PNG IEND chunk)",
                              len - pos);
            return PB_ERR_OK;
        } else if (memcmp(type, "PLTE", 4) == 0) {
            if (seen_plte || seen_idat)
                return refuse(why, "PNG PLTE chunk is repeated or comes after the image data");
            if (clen == 0 || clen % 3 != 0 || clen > 768)
                return refuse(why, "PNG PLTE chunk has an invalid length %" PRIu32, clen);
            if (colour == 0 || colour == 4)
                return refuse(why, "PNG PLTE chunk in a greyscale image");
            seen_plte = true;
        } else if (is_idat) {
            if (idat_done)
                return refuse(why, "PNG IDAT chunks are not consecutive");
            seen_idat = true;
        } else if ((type[0] & 0x20u) == 0) {
            return refuse(why, "PNG has an unknown critical chunk %s", name);
        }
        pos += (size_t)clen + 12;
    }
    return refuse(why, "PNG ends without an IEND chunk (truncated?)");
}

/* ---- JPEG --------------------------------------------------------------- */

static bool
jpeg_is_sof(unsigned m)
{
    /* C4 is DHT, C8 is reserved (JPG), CC is DAC. */
    return m >= 0xc0 && m <= 0xcf && m != 0xc4 && m != 0xc8 && m != 0xcc;
}

/* Skips entropy-coded data from `*pos` to the next marker (which it leaves `*pos` on). */
static enum pb_err
jpeg_skip_scan(const unsigned char *d, size_t len, size_t *pos, char *why)
{
    size_t p = *pos;
    for (;;) {
        const unsigned char *ff = p < len ? memchr(d + p, 0xff, len - p) : NULL;
        if (!ff || (size_t)(ff - d) + 1 >= len)
            return refuse(why, "JPEG scan data runs past the end of the file (truncated?)");
        p = (size_t)(ff - d);
        unsigned n = d[p + 1];
        if (n == 0x00 || (n >= 0xd0 && n <= 0xd7)) /* stuffed byte, restart marker */
            p += 2;
        else if (n == 0xff) /* fill byte */
            p += 1;
        else
            break;
    }
    *pos = p;
    return PB_ERR_OK;
}

static enum pb_err
check_jpeg(const unsigned char *d, size_t len, char *why)
{
    size_t pos = 2; /* after SOI */
    bool sof = false, sos = false;

    for (;;) {
        if (pos >= len)
            return refuse(why, "JPEG ends before its EOI marker (truncated?)");
        if (d[pos] != 0xff)
            return refuse(why, "JPEG has byte 0x%02x where a marker was expected (at byte %zu)",
                          d[pos], pos);
        while (pos < len && d[pos] == 0xff)
            pos++;
        if (pos >= len)
            return refuse(why, "JPEG ends before its EOI marker (truncated?)");
        unsigned m = d[pos++];

        if (m == 0xd9) { /* EOI */
            if (!sof)
                return refuse(why, "JPEG has no frame header (SOF)");
            if (!sos)
                return refuse(why, "JPEG has no scan (SOS)");
            if (pos != len)
                return refuse(why,
                              "bytes after the end of the image (%zu after the JPEG EOI marker)",
                              len - pos);
            return PB_ERR_OK;
        }
        if (m == 0x01 || (m >= 0xd0 && m <= 0xd7)) /* TEM, RSTn: no length */
            continue;
        if (m == 0xd8)
            return refuse(why, "JPEG has a second SOI marker at byte %zu", pos - 2);
        if (m < 0xc0)
            return refuse(why, "JPEG has an invalid marker FF%02X at byte %zu", m, pos - 2);

        if (len - pos < 2)
            return refuse(why, "JPEG segment FF%02X runs past the end of the file (truncated?)", m);
        size_t slen = be16(d + pos);
        if (slen < 2)
            return refuse(why, "JPEG segment FF%02X has an invalid length %zu", m, slen);
        if (slen > len - pos)
            return refuse(why, "JPEG segment FF%02X runs past the end of the file (truncated?)", m);
        const unsigned char *p = d + pos + 2;
        size_t plen = slen - 2;

        if (jpeg_is_sof(m)) {
            if (plen < 6 || p[5] == 0 || plen != 6 + 3 * (size_t)p[5])
                return refuse(why, "JPEG frame header FF%02X has an invalid length", m);
            uint32_t h = be16(p + 1), w = be16(p + 3);
            if (w == 0 || h == 0)
                return refuse(why, "JPEG frame header gives a %" PRIu32 "x%" PRIu32 " image", w, h);
            enum pb_err err = check_pixels("JPEG", w, h, why);
            if (err != PB_ERR_OK)
                return err;
            sof = true;
        } else if (m == 0xda) {
            if (!sof)
                return refuse(why, "JPEG scan (SOS) comes before the frame header (SOF)");
            if (plen < 1 || p[0] == 0 || p[0] > 4 || plen != 4 + 2 * (size_t)p[0])
                return refuse(why, "JPEG scan header (SOS) has an invalid length");
            sos = true;
            pos += slen;
            enum pb_err err = jpeg_skip_scan(d, len, &pos, why);
            if (err != PB_ERR_OK)
                return err;
            continue;
        }
        pos += slen;
    }
}

/* ---- WebP --------------------------------------------------------------- */

/*
 * Reads the RIFF chunk at `*pos` within [.., end): its FourCC, payload and
 * size, and moves `*pos` past it and its padding byte.
 */
static enum pb_err
riff_chunk(const unsigned char *d, size_t end, size_t *pos, const unsigned char **fourcc,
           const unsigned char **body, size_t *blen, char *why)
{
    char name[5];
    if (end - *pos < 8)
        return refuse(why, "WebP chunk at byte %zu is cut short (truncated?)", *pos);
    *fourcc = d + *pos;
    fourcc_name(*fourcc, name);
    size_t size = le32(d + *pos + 4);
    size_t room = end - *pos - 8;
    if (size > room || (size % 2 == 1 && size == room))
        return refuse(why, "WebP chunk %s runs past the end of the file (truncated?)", name);
    *body = d + *pos + 8;
    *blen = size;
    *pos += 8 + size + size % 2;
    return PB_ERR_OK;
}

static enum pb_err
check_vp8(const unsigned char *b, size_t n, char *why)
{
    if (n < 10)
        return refuse(why, "WebP VP8 chunk is too short for a frame header");
    uint32_t tag = le24(b);
    if (tag & 1)
        return refuse(why, "WebP VP8 data does not start with a key frame");
    if (((tag >> 1) & 7) > 3)
        return refuse(why, "WebP VP8 frame has an unknown version");
    if ((tag >> 5) > n - 10)
        return refuse(why, "WebP VP8 first partition runs past its chunk (truncated?)");
    if (b[3] != 0x9d || b[4] != 0x01 || b[5] != 0x2a)
        return refuse(why, "WebP VP8 key frame lacks its start code 9d 01 2a");
    uint32_t w = le16(b + 6) & 0x3fff, h = le16(b + 8) & 0x3fff;
    if (w == 0 || h == 0)
        return refuse(why, "WebP VP8 frame gives a %" PRIu32 "x%" PRIu32 " image", w, h);
    return check_pixels("WebP", w, h, why);
}

static enum pb_err
check_vp8l(const unsigned char *b, size_t n, char *why)
{
    if (n < 5)
        return refuse(why, "WebP VP8L chunk is too short for its header");
    if (b[0] != 0x2f)
        return refuse(why, "WebP VP8L chunk lacks its signature byte 0x2f");
    uint32_t bits = le32(b + 1);
    if (bits >> 29)
        return refuse(why, "WebP VP8L header has an unknown version");
    return check_pixels("WebP", 1 + (bits & 0x3fff), 1 + ((bits >> 14) & 0x3fff), why);
}

static enum pb_err
check_webp_image(const unsigned char *fourcc, const unsigned char *b, size_t n, char *why)
{
    if (memcmp(fourcc, "VP8 ", 4) == 0)
        return check_vp8(b, n, why);
    return check_vp8l(b, n, why);
}

static bool
is_image_chunk(const unsigned char *fourcc)
{
    return memcmp(fourcc, "VP8 ", 4) == 0 || memcmp(fourcc, "VP8L", 4) == 0;
}

/* The sub-chunks of an ANMF frame: optional ALPH, then one VP8 or VP8L. */
static enum pb_err
check_anmf(const unsigned char *d, size_t start, size_t end, char *why)
{
    size_t pos = start;
    int images = 0;
    while (pos < end) {
        const unsigned char *fourcc, *body;
        size_t blen;
        char name[5];
        enum pb_err err = riff_chunk(d, end, &pos, &fourcc, &body, &blen, why);
        if (err != PB_ERR_OK)
            return err;
        if (is_image_chunk(fourcc)) {
            if ((err = check_webp_image(fourcc, body, blen, why)) != PB_ERR_OK)
                return err;
            images++;
        } else if (memcmp(fourcc, "ALPH", 4) != 0) {
            fourcc_name(fourcc, name);
            return refuse(why, "WebP animation frame has an unexpected chunk %s", name);
        }
    }
    if (images != 1)
        return refuse(why, "WebP animation frame does not hold exactly one image");
    return PB_ERR_OK;
}

static enum pb_err
check_webp(const unsigned char *d, size_t len, char *why)
{
    uint32_t riff = le32(d + 4);
    if ((size_t)riff != len - 8)
        return refuse(why,
                      "WebP RIFF header says %" PRIu32
                      " bytes follow it but the file has %zu (truncated or altered?)",
                      riff, len - 8);
    size_t pos = 12;
    if (pos == len)
        return refuse(why, "WebP file has no chunks (truncated?)");

    const unsigned char *fourcc, *body;
    size_t blen;
    char name[5];
    enum pb_err err = riff_chunk(d, len, &pos, &fourcc, &body, &blen, why);
    if (err != PB_ERR_OK)
        return err;
    fourcc_name(fourcc, name);

    if (is_image_chunk(fourcc)) { /* simple format: one image chunk and nothing else */
        if ((err = check_webp_image(fourcc, body, blen, why)) != PB_ERR_OK)
            return err;
        if (pos != len) {
            if (len - pos < 4)
                return refuse(why, "WebP has %zu stray bytes after its image", len - pos);
            fourcc_name(d + pos, name);
            return refuse(why, "WebP has an unexpected chunk %s after its image", name);
        }
        return PB_ERR_OK;
    }
    if (memcmp(fourcc, "VP8X", 4) != 0)
        return refuse(why, "WebP starts with an unknown chunk %s", name);

    /* Extended format. */
    if (blen < 10)
        return refuse(why, "WebP VP8X chunk is too short");
    err = check_pixels("WebP", 1 + le24(body + 4), 1 + le24(body + 7), why);
    if (err != PB_ERR_OK)
        return err;
    int images = 0, frames = 0;
    while (pos < len) {
        size_t at = pos;
        if ((err = riff_chunk(d, len, &pos, &fourcc, &body, &blen, why)) != PB_ERR_OK)
            return err;
        fourcc_name(fourcc, name);
        if (is_image_chunk(fourcc)) {
            if ((err = check_webp_image(fourcc, body, blen, why)) != PB_ERR_OK)
                return err;
            images++;
        } else if (memcmp(fourcc, "ANMF", 4) == 0) {
            if (blen < 16)
                return refuse(why, "WebP ANMF chunk is too short");
            size_t sub = at + 8 + 16;
            if ((err = check_anmf(d, sub, at + 8 + blen, why)) != PB_ERR_OK)
                return err;
            frames++;
        } else if (memcmp(fourcc, "ALPH", 4) != 0 && memcmp(fourcc, "ANIM", 4) != 0 &&
                   memcmp(fourcc, "ICCP", 4) != 0 && memcmp(fourcc, "EXIF", 4) != 0 &&
                   memcmp(fourcc, "XMP ", 4) != 0) {
            return refuse(why, "WebP has an unexpected chunk %s", name);
        }
    }
    if (images + frames == 0)
        return refuse(why, "WebP has no image data (no VP8, VP8L or ANMF chunk)");
    if (images > 1 || (images && frames))
        return refuse(why, "WebP holds more than one image");
    return PB_ERR_OK;
}

/* ---- Polyglots ---------------------------------------------------------- */

/*
 * What makes a browser, a PDF reader or an XML parser treat the file as
 * something else. "<svg" alone would appear by chance in about 2% of 10 MiB
 * compressed images (4 bytes, 3 of them letters of either case), so it counts
 * only when the tag name ends there, as an HTML or XML parser would read it
 * (whitespace, '>', '/', ':' or the end of the file); the longer markers are
 * matched as they are.
 */
static const char *const polyglot_markers[] = {
    "<script", "<html", "<svg", "<?xml", "%pdf-", "<!doctype", "javascript:",
};

static bool
tag_ends(const unsigned char *d, size_t len, size_t at)
{
    if (at >= len)
        return true;
    unsigned char c = d[at];
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '>' || c == '/' ||
           c == ':';
}

static unsigned char
lower(unsigned char c)
{
    return (c >= 'A' && c <= 'Z') ? (unsigned char)(c | 0x20) : c;
}

/* The first marker found in the file (only `only` if not NULL), or NULL. */
static const char *
find_polyglot_marker(const unsigned char *d, size_t len, const char *only)
{
    for (size_t i = 0; i < len; i++) {
        unsigned char c = lower(d[i]);
        if (c != '<' && c != '%' && c != 'j')
            continue;
        for (size_t k = 0; k < sizeof(polyglot_markers) / sizeof(polyglot_markers[0]); k++) {
            const char *m = polyglot_markers[k];
            size_t n = strlen(m);
            if ((unsigned char)m[0] != c || len - i < n || (only && strcmp(m, only) != 0))
                continue;
            size_t j = 1;
            while (j < n && lower(d[i + j]) == (unsigned char)m[j])
                j++;
            if (j < n)
                continue;
            if (strcmp(m, "<svg") == 0 && !tag_ends(d, len, i + n))
                continue;
            return m;
        }
    }
    return NULL;
}

/* ---- Entry points ------------------------------------------------------- */

/* What a file that is not one of the three formats looks like, for the message. */
static const char *
guess_other(const unsigned char *d, size_t len)
{
    if (len >= 6 && (memcmp(d, "GIF87a", 6) == 0 || memcmp(d, "GIF89a", 6) == 0))
        return " (it is a GIF image)";
    if (len >= 5 && memcmp(d, "%PDF-", 5) == 0)
        return " (it is a PDF document)";
    if (len >= 12 && memcmp(d + 4, "ftyp", 4) == 0)
        return " (it looks like a HEIF/AVIF image or a video; convert it to PNG or JPEG)";
    if (len >= 4 && (memcmp(d, "II*\0", 4) == 0 || memcmp(d, "MM\0*", 4) == 0))
        return " (it is a TIFF image)";
    if (len >= 12 && memcmp(d, "RIFF", 4) == 0)
        return " (it is a RIFF file of another kind)";
    if (len >= 2 && memcmp(d, "BM", 2) == 0)
        return " (it looks like a BMP image)";
    size_t head = len < 4096 ? len : 4096;
    if (find_polyglot_marker(d, head, "<svg"))
        return " (it is an SVG image)";
    if (find_polyglot_marker(d, head, "<html") || find_polyglot_marker(d, head, "<!doctype") ||
        find_polyglot_marker(d, head, "<script"))
        return " (it is an HTML page)";
    if (find_polyglot_marker(d, head, "<?xml"))
        return " (it is an XML document)";
    return "";
}

enum pb_err
pb_evidence_check(const unsigned char *data, size_t len, char type_out[PB_EVIDENCE_TYPE_MAX],
                  char why[PB_WHY_MAX])
{
    const char *type;
    enum pb_err err;

    if (type_out)
        type_out[0] = '\0';
    if (why)
        why[0] = '\0';
    if (len > PB_EVIDENCE_MAX_BYTES) {
        if (why)
            snprintf(why, PB_WHY_MAX, "the file has %zu bytes, over the limit of %d", len,
                     PB_EVIDENCE_MAX_BYTES);
        return PB_ERR_TOO_LARGE;
    }
    if (len == 0 || data == NULL)
        return refuse(why, "the file is empty");

    if (len >= sizeof(png_signature) && memcmp(data, png_signature, sizeof(png_signature)) == 0) {
        type = "image/png";
        err = check_png(data, len, why);
    } else if (len >= 2 && data[0] == 0xff && data[1] == 0xd8) {
        type = "image/jpeg";
        err = check_jpeg(data, len, why);
    } else if (len >= 12 && memcmp(data, "RIFF", 4) == 0 && memcmp(data + 8, "WEBP", 4) == 0) {
        type = "image/webp";
        err = check_webp(data, len, why);
    } else {
        return refuse(why, "not a PNG, JPEG or WebP image%s", guess_other(data, len));
    }
    if (err != PB_ERR_OK)
        return err;

    const char *marker = find_polyglot_marker(data, len, NULL);
    if (marker) {
        char shown[16];
        snprintf(shown, sizeof(shown), "%s", marker);
        if (strcmp(marker, "%pdf-") == 0)
            snprintf(shown, sizeof(shown), "%%PDF-");
        return refuse(why, "contains '%s': refused as a possible polyglot", shown);
    }
    if (type_out)
        snprintf(type_out, PB_EVIDENCE_TYPE_MAX, "%s", type);
    return PB_ERR_OK;
}

void
pb_evidence_sha256(const unsigned char *data, size_t len, unsigned char out[32])
{
    crypto_hash_sha256(out, data, (unsigned long long)len);
}
