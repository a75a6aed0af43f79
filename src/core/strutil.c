/* String helpers. */
#include "core/strutil.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

bool
pb_strlcpy(char *dst, const char *src, size_t size)
{
    size_t len = strlen(src);
    if (size == 0)
        return false;
    if (len >= size) {
        memcpy(dst, src, size - 1);
        dst[size - 1] = '\0';
        return false;
    }
    memcpy(dst, src, len + 1);
    return true;
}

/* Valid UTF-8 within max_bytes, no NUL; C0 controls refused except, with `text`, TAB CR LF. */
static bool
utf8_check(const char *s, size_t max_bytes, bool text)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t n = 0;
    while (p[n] != '\0') {
        if (n >= max_bytes)
            return false;
        unsigned char c = p[n];
        size_t len;
        unsigned cp;
        if (c < 0x80) {
            if ((c < 0x20 && !(text && (c == '\t' || c == '\n' || c == '\r'))) || c == 0x7f)
                return false;
            n++;
            continue;
        } else if ((c & 0xe0) == 0xc0) {
            len = 2;
            cp = c & 0x1f;
        } else if ((c & 0xf0) == 0xe0) {
            len = 3;
            cp = c & 0x0f;
        } else if ((c & 0xf8) == 0xf0) {
            len = 4;
            cp = c & 0x07;
        } else {
            return false;
        }
        for (size_t i = 1; i < len; i++) {
            if ((p[n + i] & 0xc0) != 0x80)
                return false;
            cp = (cp << 6) | (p[n + i] & 0x3f);
        }
        /* Refuse overlong forms, surrogates and values past U+10FFFF. */
        if ((len == 2 && cp < 0x80) || (len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) ||
            (cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff)
            return false;
        n += len;
    }
    return n <= max_bytes;
}

bool
pb_str_clean_utf8(const char *s, size_t max_bytes)
{
    return utf8_check(s, max_bytes, false);
}

bool
pb_str_text_utf8(const char *s, size_t max_bytes)
{
    return utf8_check(s, max_bytes, true);
}

bool
pb_str_starts_with(const char *s, const char *prefix)
{
    return strncmp(s, prefix, strlen(prefix)) == 0;
}

bool
pb_str_to_long(const char *s, long min, long max, long *out)
{
    if (s == NULL || *s == '\0')
        return false;
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno != 0 || *end != '\0' || v < min || v > max)
        return false;
    *out = v;
    return true;
}

size_t
pb_str_utf8_chars(const char *s)
{
    size_t n = 0;
    for (; *s; s++)
        n += ((unsigned char)*s & 0xc0) != 0x80;
    return n;
}
