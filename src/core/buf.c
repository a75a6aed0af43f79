/* The bounded growable buffer. */
#include "core/buf.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

void
pb_buf_init(struct pb_buf *buf, size_t max)
{
    buf->data = NULL;
    buf->len = 0;
    buf->cap = 0;
    buf->max = max;
}

void
pb_buf_release(struct pb_buf *buf, int wipe)
{
    if (buf->data != NULL && wipe)
        sodium_memzero(buf->data, buf->cap);
    free(buf->data);
    buf->data = NULL;
    buf->len = 0;
    buf->cap = 0;
}

/* Makes room for `extra` more bytes of content plus the trailing NUL. */
static enum pb_err
reserve(struct pb_buf *buf, size_t extra)
{
    if (extra > buf->max || buf->len > buf->max - extra)
        return PB_ERR_TOO_LARGE;
    size_t need = buf->len + extra + 1;
    if (need <= buf->cap)
        return PB_ERR_OK;
    size_t cap = buf->cap ? buf->cap : 64;
    while (cap < need)
        cap = cap > (SIZE_MAX / 2) ? need : cap * 2;
    if (cap > buf->max + 1)
        cap = buf->max + 1;
    char *p = realloc(buf->data, cap);
    if (p == NULL)
        return PB_ERR_NOMEM;
    buf->data = p;
    buf->cap = cap;
    return PB_ERR_OK;
}

enum pb_err
pb_buf_append(struct pb_buf *buf, const void *data, size_t len)
{
    enum pb_err err = reserve(buf, len);
    if (err != PB_ERR_OK)
        return err;
    if (len > 0)
        memcpy(buf->data + buf->len, data, len);
    buf->len += len;
    buf->data[buf->len] = '\0';
    return PB_ERR_OK;
}

enum pb_err
pb_buf_append_str(struct pb_buf *buf, const char *s)
{
    return pb_buf_append(buf, s, strlen(s));
}

enum pb_err
pb_buf_printf(struct pb_buf *buf, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0)
        return PB_ERR_INVALID;
    enum pb_err err = reserve(buf, (size_t)n);
    if (err != PB_ERR_OK)
        return err;
    va_start(ap, fmt);
    vsnprintf(buf->data + buf->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    buf->len += (size_t)n;
    return PB_ERR_OK;
}

void
pb_buf_reset(struct pb_buf *buf)
{
    buf->len = 0;
    if (buf->data != NULL)
        buf->data[0] = '\0';
}
