/*
 * A growable byte buffer with a hard maximum: appending past the maximum
 * fails with PB_ERR_TOO_LARGE and leaves the buffer as it was. The content
 * is always followed by a NUL byte (not counted in len), so text can be
 * used as a C string.
 */
#ifndef PB_CORE_BUF_H
#define PB_CORE_BUF_H

#include <stddef.h>

#include "core/err.h"

struct pb_buf {
    char *data; /* NULL until the first append */
    size_t len;
    size_t cap;
    size_t max; /* the most bytes of content the buffer may hold */
};

/* Initialises an empty buffer that may hold up to `max` bytes. */
void
pb_buf_init(struct pb_buf *buf, size_t max);

/* Frees the memory; with `wipe`, overwrites it first (for secrets). */
void
pb_buf_release(struct pb_buf *buf, int wipe);

enum pb_err
pb_buf_append(struct pb_buf *buf, const void *data, size_t len);

enum pb_err
pb_buf_append_str(struct pb_buf *buf, const char *s);

enum pb_err
pb_buf_printf(struct pb_buf *buf, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Empties the buffer, keeping its memory. */
void
pb_buf_reset(struct pb_buf *buf);

#endif
