/*
 * An import's upload: the file is sealed in chunks of PB_IMPORT_CHUNK_BYTES
 * under the account's data key and stored in the account's database as it
 * arrives, so it is never held whole in memory, never lies in plain on a
 * disk, is there for whichever node runs the job, and goes when the job ends.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "core/strutil.h"
#include "model/import_internal.h"
#include "model/tenant.h"

struct pb_import_upload {
    struct pb_app *app;
    char account_id[PB_ID_LEN + 1];
    char id[PB_ID_LEN + 1];
    const struct pb_data_key *key;
    int64_t chunks; /* stored so far */
    int64_t size;   /* bytes written */
    size_t fill;    /* bytes waiting in `plain` */
    unsigned char plain[PB_IMPORT_CHUNK_BYTES];
    unsigned char sealed[PB_IMPORT_CHUNK_SEALED_MAX];
};

void
pb_import_chunk_place(const char *account_id, const char *import_id, int64_t n, char place[128])
{
    snprintf(place, 128, "import_chunk:%s:%s:%lld", account_id, import_id, (long long)n);
}

enum pb_err
pb_import_upload_begin(struct pb_app *app, const char *account_id, struct pb_import_upload **out)
{
    *out = NULL;
    struct pb_import_upload *up = calloc(1, sizeof(*up));
    if (up == NULL)
        return PB_ERR_NOMEM;
    enum pb_err err = pb_app_data_key(app, account_id, &up->key);
    if (err != PB_ERR_OK) {
        free(up);
        return err;
    }
    up->app = app;
    pb_strlcpy(up->account_id, account_id, sizeof(up->account_id));
    pb_id_new(up->id);
    *out = up;
    return PB_ERR_OK;
}

struct chunk_put {
    const struct pb_import_upload *up;
    size_t sealed_len;
};

static enum pb_qs
chunk_put_tx(struct pb_tx *tx, void *cls)
{
    struct chunk_put *c = cls;
    return tx->ops->import_chunk_put(tx->conn, c->up->account_id, c->up->id, c->up->chunks,
                                     c->up->sealed, c->sealed_len);
}

/* Seals and stores what waits in `plain` as the next chunk. */
static enum pb_err
flush(struct pb_import_upload *up)
{
    char place[128];
    pb_import_chunk_place(up->account_id, up->id, up->chunks, place);
    pb_data_key_seal(up->key, place, up->plain, up->fill, up->sealed);
    struct chunk_put c = {up, pb_sealed_len(up->fill)};
    enum pb_err err = pb_tenant_tx(up->app, up->account_id, PB_TX_WRITE, chunk_put_tx, &c);
    sodium_memzero(up->plain, up->fill);
    if (err == PB_ERR_OK) {
        up->chunks++;
        up->fill = 0;
    }
    return err;
}

enum pb_err
pb_import_upload_write(struct pb_import_upload *up, const void *data, size_t len,
                       char why[PB_WHY_MAX])
{
    const unsigned char *p = data;
    if (len > PB_IMPORT_UPLOAD_MAX - (size_t)up->size) {
        snprintf(why, PB_WHY_MAX, "a file to import is at most %zu MiB",
                 PB_IMPORT_UPLOAD_MAX / (1024 * 1024));
        return PB_ERR_TOO_LARGE;
    }
    while (len > 0) {
        size_t n = PB_IMPORT_CHUNK_BYTES - up->fill;
        if (n > len)
            n = len;
        memcpy(up->plain + up->fill, p, n);
        up->fill += n;
        up->size += (int64_t)n;
        p += n;
        len -= n;
        /* Every chunk but the last is full, so that offset / CHUNK finds a byte's chunk. */
        if (up->fill == PB_IMPORT_CHUNK_BYTES) {
            enum pb_err err = flush(up);
            if (err != PB_ERR_OK) {
                snprintf(why, PB_WHY_MAX, "the upload could not be stored: %s", pb_err_hint(err));
                return err;
            }
        }
    }
    return PB_ERR_OK;
}

enum pb_err
pb_import_upload_finish(struct pb_import_upload *up)
{
    return up->fill > 0 ? flush(up) : PB_ERR_OK;
}

const char *
pb_import_upload_id(const struct pb_import_upload *up)
{
    return up->id;
}

int64_t
pb_import_upload_size(const struct pb_import_upload *up)
{
    return up->size;
}

struct chunks_delete {
    const char *account_id;
    const char *id;
};

static enum pb_qs
chunks_delete_tx(struct pb_tx *tx, void *cls)
{
    struct chunks_delete *d = cls;
    return tx->ops->import_chunks_delete(tx->conn, d->account_id, d->id);
}

enum pb_err
pb_import_chunks_delete(struct pb_app *app, const char *account_id, const char *import_id)
{
    struct chunks_delete d = {account_id, import_id};
    return pb_tenant_tx(app, account_id, PB_TX_WRITE, chunks_delete_tx, &d);
}

void
pb_import_upload_free(struct pb_import_upload *up, bool discard)
{
    if (up == NULL)
        return;
    if (discard && up->chunks > 0)
        (void)pb_import_chunks_delete(up->app, up->account_id, up->id);
    sodium_memzero(up->plain, sizeof(up->plain));
    free(up);
}

/* ---- reading it back ---- */

enum pb_err
pb_import_source_init(struct pb_import_source *src, struct pb_app *app, const char *account_id,
                      const char *import_id, int64_t offset)
{
    src->app = app;
    src->account_id = account_id;
    src->import_id = import_id;
    src->next_chunk = offset / PB_IMPORT_CHUNK_BYTES;
    src->skip = (size_t)(offset % PB_IMPORT_CHUNK_BYTES);
    src->pos = src->len = 0;
    src->at_end = false;
    return pb_app_data_key(app, account_id, &src->key);
}

struct chunk_get {
    struct pb_import_source *src;
    size_t sealed_len;
};

static enum pb_qs
chunk_get_tx(struct pb_tx *tx, void *cls)
{
    struct chunk_get *g = cls;
    return tx->ops->import_chunk_get(tx->conn, g->src->account_id, g->src->import_id,
                                     g->src->next_chunk, g->src->sealed, &g->sealed_len);
}

/* Loads and opens the next chunk into `plain`; `at_end` once the last one is in. */
static enum pb_err
load_next(struct pb_import_source *src, char why[PB_WHY_MAX])
{
    struct chunk_get g = {src, 0};
    enum pb_err err = pb_tenant_tx(src->app, src->account_id, PB_TX_READ, chunk_get_tx, &g);
    if (err == PB_ERR_OK && g.sealed_len == 0) {
        /* No such chunk: the file ended exactly at a chunk's end. */
        src->at_end = true;
        src->pos = src->len = 0;
        return PB_ERR_OK;
    }
    if (err != PB_ERR_OK) {
        snprintf(why, PB_WHY_MAX, "cannot read the uploaded file: %s", pb_err_hint(err));
        return err;
    }
    char place[128];
    size_t len = 0;
    pb_import_chunk_place(src->account_id, src->import_id, src->next_chunk, place);
    if (pb_data_key_open(src->key, place, src->sealed, g.sealed_len, src->plain, &len) !=
        PB_ERR_OK) {
        snprintf(why, PB_WHY_MAX, "chunk %lld of the uploaded file does not open (tampered with?)",
                 (long long)src->next_chunk);
        return PB_ERR_INTERNAL;
    }
    src->next_chunk++;
    src->len = len;
    src->pos = src->skip < len ? src->skip : len;
    src->skip = 0;
    /* Every chunk but the last is full. */
    src->at_end = len < PB_IMPORT_CHUNK_BYTES;
    return PB_ERR_OK;
}

ssize_t
pb_import_source_read(void *cls, unsigned char *buf, size_t cap, char why[PB_WHY_MAX])
{
    struct pb_import_source *src = cls;
    while (src->pos >= src->len) {
        if (src->at_end)
            return 0;
        if (load_next(src, why) != PB_ERR_OK)
            return -1;
    }
    size_t n = src->len - src->pos;
    if (n > cap)
        n = cap;
    memcpy(buf, src->plain + src->pos, n);
    src->pos += n;
    return (ssize_t)n;
}

void
pb_import_source_wipe(struct pb_import_source *src)
{
    sodium_memzero(src->plain, sizeof(src->plain));
}
