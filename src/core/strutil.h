/* Small string helpers used across modules. */
#ifndef PB_CORE_STRUTIL_H
#define PB_CORE_STRUTIL_H

#include <stdbool.h>
#include <stddef.h>

/* snprintf that reports truncation: returns false when `src` did not fit. */
bool
pb_strlcpy(char *dst, const char *src, size_t size);

/* Whether `s` is valid UTF-8 of at most `max_bytes` bytes, without NUL or C0 controls. */
bool
pb_str_clean_utf8(const char *s, size_t max_bytes);

/* pb_str_clean_utf8 for multi-line text: tabs and line breaks allowed. */
bool
pb_str_text_utf8(const char *s, size_t max_bytes);

/* The characters (code points) of a UTF-8 string: its bytes that do not continue a character. */
size_t
pb_str_utf8_chars(const char *s);

/* Whether `s` begins with `prefix`. */
bool
pb_str_starts_with(const char *s, const char *prefix);

/* Parses a whole decimal number within [min, max]; false on anything else. */
bool
pb_str_to_long(const char *s, long min, long max, long *out);

#endif
