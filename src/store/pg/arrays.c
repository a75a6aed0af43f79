/*
 * PostgreSQL: the parameters of a batch statement, built in one growing
 * buffer: text scalars, binary blobs, and one-dimensional arrays in the
 * server's binary array format (no escaping, no hex, no allocation per
 * element), which the statement unnests.
 */
#include "store/pg/pg_internal.h"

#include <stdlib.h>
#include <string.h>

#include "core/log.h"

/* A parameter's bytes at most: PostgreSQL refuses a value of 1 GB and more. */
#define PARAM_BYTES_MAX (512u * 1024 * 1024)

void
pb_pg_params_init(struct pb_pg_params *p, size_t hint)
{
    memset(p, 0, sizeof(*p));
    if (hint == 0)
        return;
    p->buf = malloc(hint);
    p->cap = p->buf != NULL ? hint : 0;
    p->failed = p->buf == NULL;
}

static void
params_free(struct pb_pg_params *p)
{
    free(p->buf);
    p->buf = NULL;
}

/* Room for `more` bytes at the end of buf. */
static bool
reserve(struct pb_pg_params *p, size_t more)
{
    if (p->failed)
        return false;
    if (more > PARAM_BYTES_MAX - p->len) {
        p->failed = true;
        return false;
    }
    if (p->len + more <= p->cap)
        return true;
    size_t cap = p->cap ? p->cap : 4096;
    while (cap < p->len + more)
        cap *= 2;
    unsigned char *buf = realloc(p->buf, cap);
    if (buf == NULL) {
        p->failed = true;
        return false;
    }
    p->buf = buf;
    p->cap = cap;
    return true;
}

static inline void
put32(unsigned char *dst, uint32_t v)
{
    dst[0] = (unsigned char)(v >> 24);
    dst[1] = (unsigned char)(v >> 16);
    dst[2] = (unsigned char)(v >> 8);
    dst[3] = (unsigned char)v;
}

static bool
slot(struct pb_pg_params *p)
{
    if (p->n == PB_PG_PARAMS_MAX) {
        p->failed = true;
        return false;
    }
    return true;
}

/* A text parameter (NULL: SQL NULL), borrowed until the statement has run. */
void
pb_pg_param_text(struct pb_pg_params *p, const char *s)
{
    if (!slot(p))
        return;
    p->at[p->n] = SIZE_MAX;
    p->values[p->n] = s;
    p->lengths[p->n] = 0;
    p->formats[p->n] = 0;
    p->n++;
}

/* A binary parameter (a bytea), borrowed until the statement has run. */
void
pb_pg_param_blob(struct pb_pg_params *p, const unsigned char *data, size_t len)
{
    if (!slot(p))
        return;
    if (len > PARAM_BYTES_MAX) {
        p->failed = true;
        return;
    }
    p->at[p->n] = SIZE_MAX;
    p->values[p->n] = (const char *)data;
    p->lengths[p->n] = (int)len;
    p->formats[p->n] = 1;
    p->n++;
}

/* Starts a one-dimensional array of `count` elements of type `oid`. */
void
pb_pg_array_begin(struct pb_pg_params *p, uint32_t oid, int count)
{
    if (!slot(p) || !reserve(p, 20))
        return;
    p->at[p->n] = p->len;
    p->expected = count;
    p->written = 0;
    unsigned char *h = p->buf + p->len;
    put32(h, 1);       /* dimensions */
    put32(h + 4, 0);   /* flags (whether there are NULLs: the server ignores it) */
    put32(h + 8, oid); /* element type */
    put32(h + 12, (uint32_t)count);
    put32(h + 16, 1); /* lower bound */
    p->len += 20;
}

void
pb_pg_array_end(struct pb_pg_params *p)
{
    if (p->written != p->expected)
        p->failed = true; /* the header would lie: the server would misread the rest */
    if (p->failed)
        return;
    p->values[p->n] = NULL; /* set by params_ready: buf may still move */
    p->lengths[p->n] = (int)(p->len - p->at[p->n]);
    p->formats[p->n] = 1;
    p->n++;
}

static inline void
elem_null(struct pb_pg_params *p)
{
    if (!reserve(p, 4))
        return;
    put32(p->buf + p->len, UINT32_MAX); /* length -1 */
    p->len += 4;
    p->written++;
}

void
pb_pg_elem_bytes(struct pb_pg_params *p, const void *data, size_t len)
{
    if (len > PARAM_BYTES_MAX) {
        p->failed = true;
        return;
    }
    if (!reserve(p, 4 + len))
        return;
    put32(p->buf + p->len, (uint32_t)len);
    if (len > 0)
        memcpy(p->buf + p->len + 4, data, len);
    p->len += 4 + len;
    p->written++;
}

/* A text element of at most `max` bytes (NULL: SQL NULL). */
void
pb_pg_elem_text(struct pb_pg_params *p, const char *s, size_t max)
{
    if (s == NULL)
        elem_null(p);
    else
        pb_pg_elem_bytes(p, s, strnlen(s, max));
}

/* A text element, "" being SQL NULL. */
void
pb_pg_elem_opt(struct pb_pg_params *p, const char *s, size_t max)
{
    pb_pg_elem_text(p, s != NULL && *s != '\0' ? s : NULL, max);
}

/* A bytea element, an empty one being SQL NULL. */
void
pb_pg_elem_blob(struct pb_pg_params *p, const unsigned char *data, size_t len)
{
    if (data == NULL || len == 0)
        elem_null(p);
    else
        pb_pg_elem_bytes(p, data, len);
}

void
pb_pg_elem_int8(struct pb_pg_params *p, int64_t v)
{
    if (!reserve(p, 12))
        return;
    unsigned char *e = p->buf + p->len;
    uint64_t u = (uint64_t)v;
    put32(e, 8);
    put32(e + 4, (uint32_t)(u >> 32));
    put32(e + 8, (uint32_t)u);
    p->len += 12;
    p->written++;
}

/* Points the array parameters into the finished buffer; false when building failed. */
static bool
params_ready(struct pb_pg_params *p, const char *what)
{
    if (p->failed) {
        pb_error("postgres: %s: out of memory or too large a batch", what);
        return false;
    }
    for (int i = 0; i < p->n; i++)
        if (p->at[i] != SIZE_MAX)
            p->values[i] = (const char *)p->buf + p->at[i];
    return true;
}

/* Runs a prepared statement with the parameters built; clears `p`. */
enum pb_qs
pb_pg_params_exec(struct pb_pg_conn *c, enum pb_pg_stmt id, const char *name, const char *sql,
                  struct pb_pg_params *p, int result_format, PGresult **out)
{
    *out = NULL;
    enum pb_qs qs = params_ready(p, name)
                        ? pb_pg_exec_params(c, id, name, sql, p->n, p->values, p->lengths,
                                            p->formats, result_format, out)
                        : PB_QS_HARD_ERROR;
    params_free(p);
    return qs;
}

/* Runs a statement returning no rows; NONE/ONE/N from the rows changed. */
enum pb_qs
pb_pg_params_exec_change(struct pb_pg_conn *c, enum pb_pg_stmt id, const char *name,
                         const char *sql, struct pb_pg_params *p)
{
    PGresult *res;
    enum pb_qs qs = pb_pg_params_exec(c, id, name, sql, p, 0, &res);
    if (qs < 0)
        return qs;
    qs = pb_pg_changes(res);
    PQclear(res);
    return qs;
}
