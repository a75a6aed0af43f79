/*
 * List exports as CSV or JSON, read in pieces: a batch of contacts is
 * fetched only when the text of the previous one has been handed out, and
 * rendered into one buffer of fixed size (see export.h).
 */
#include "model/export.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <sodium.h>

#include "core/clock.h"
#include "core/log.h"
#include "core/strutil.h"
#include "core/vec.h"
#include "model/audit.h"
#include "model/contact.h"
#include "model/email.h"
#include "model/tenant.h"

/* The text of one batch; grown to one row's worst case when rows can be larger. */
#define OUT_MIN (1024 * 1024)
/* The plain text of one value, at most (an opened seal is never longer than the seal). */
#define CELL_MAX PB_VALUE_SEALED_MAX
/* Fields of an account read for the columns, at most (far beyond any real account). */
#define COLUMNS_MAX 10000

struct column {
    char key[PB_FIELD_KEY_MAX + 1];
};

/* A column found by key (sorted by key for bsearch, whatever order the store uses). */
struct column_index {
    const char *key;
    int col;
};

/* What a batch keeps of a contact until its row is rendered. */
struct batch_contact {
    char id[PB_ID_LEN + 1];
    bool erased;
    int64_t created_at;
    unsigned char email_sealed[PB_EMAIL_SEALED_MAX];
    size_t email_sealed_len;
};

struct pb_export {
    struct pb_app *app;
    const struct pb_data_key *key; /* borrowed from the app's cache */
    char account_id[PB_ID_LEN + 1];
    char list_id[PB_ID_LEN + 1];
    enum pb_export_format format;
    bool reveal;
    char actor_user_id[PB_ID_LEN + 1];
    char actor[PB_ACTOR_MAX + 1];
    char client_ip[64];

    struct pb_vec columns; /* struct column, in the store's key order */
    struct column_index *index;
    int ncols;

    /* The batch being rendered (inside its transaction). */
    struct batch_contact *batch;
    int nbatch;
    pb_id_text *ids; /* the batch's contacts that are not erased, for value_list_many */
    int nids;
    int cur;        /* the contact whose values are being gathered; -1: none yet */
    int next;       /* the first contact not rendered yet */
    bool full;      /* the buffer is full: the rest of the batch waits for the next one */
    bool disorder;  /* the store broke its order promise */
    char *row_text; /* the current contact's values: ncols slots of CELL_MAX bytes */
    size_t *cell_len;
    bool *cell_set;

    /* The text handed out by pb_export_read. */
    char *out;
    size_t out_cap, len, pos;
    size_t row_end[PB_EXPORT_BATCH]; /* where each row of the buffer ends */
    int nrow_ends, next_row_end;
    bool any_row; /* JSON: an object was written (a comma before the next) */
    char after[PB_ID_LEN + 1];
    bool more;     /* batches remain to be fetched */
    bool finished; /* the last byte (the JSON trailer) is in the buffer */
    enum pb_err failed;
    int64_t rows; /* rows handed out whole */
};

enum pb_err
pb_export_format_parse(const char *name, enum pb_export_format *out)
{
    if (name != NULL && strcmp(name, "csv") == 0)
        *out = PB_EXPORT_CSV;
    else if (name != NULL && strcmp(name, "json") == 0)
        *out = PB_EXPORT_JSON;
    else
        return PB_ERR_INVALID;
    return PB_ERR_OK;
}

const char *
pb_export_format_name(enum pb_export_format format)
{
    return format == PB_EXPORT_JSON ? "json" : "csv";
}

/* ---- encoding ---- */

ssize_t
pb_export_csv_cell(const char *s, size_t len, char *out, size_t cap)
{
    /* A formula trigger first: the ' makes spreadsheets read the cell as text. */
    bool guard = len > 0 && strchr("=+-@\t\r", s[0]) != NULL;
    bool quote = false;
    size_t need = len + (guard ? 1 : 0);
    for (size_t i = 0; i < len; i++) {
        if (s[i] == '"')
            need++;
        if (s[i] == ',' || s[i] == '"' || s[i] == '\r' || s[i] == '\n')
            quote = true;
    }
    if (quote)
        need += 2;
    if (need > cap)
        return -1;
    size_t n = 0;
    if (quote)
        out[n++] = '"';
    if (guard)
        out[n++] = '\'';
    for (size_t i = 0; i < len; i++) {
        if (s[i] == '"')
            out[n++] = '"';
        out[n++] = s[i];
    }
    if (quote)
        out[n++] = '"';
    return (ssize_t)n;
}

/* The length of the valid UTF-8 sequence at s (no overlongs, surrogates or > U+10FFFF), or 0. */
static size_t
utf8_seq(const unsigned char *s, size_t len)
{
    unsigned char c = s[0];
    size_t n;
    unsigned long cp;
    if (c < 0x80)
        return 1;
    if (c >= 0xC2 && c <= 0xDF)
        n = 2, cp = c & 0x1F;
    else if (c >= 0xE0 && c <= 0xEF)
        n = 3, cp = c & 0x0F;
    else if (c >= 0xF0 && c <= 0xF4)
        n = 4, cp = c & 0x07;
    else
        return 0;
    if (len < n)
        return 0;
    for (size_t i = 1; i < n; i++) {
        if ((s[i] & 0xC0) != 0x80)
            return 0;
        cp = (cp << 6) | (s[i] & 0x3F);
    }
    if ((n == 3 && (cp < 0x800 || (cp >= 0xD800 && cp <= 0xDFFF))) ||
        (n == 4 && (cp < 0x10000 || cp > 0x10FFFF)))
        return 0;
    return n;
}

ssize_t
pb_export_json_string(const char *s, size_t len, char *out, size_t cap)
{
    static const char hex[] = "0123456789abcdef";
    const unsigned char *u = (const unsigned char *)s;
    size_t n = 0;
    if (cap < 2)
        return -1;
    out[n++] = '"';
    for (size_t i = 0; i < len;) {
        char esc[8];
        const char *piece = esc;
        size_t plen;
        size_t seq = utf8_seq(u + i, len - i);
        if (seq == 0) {
            piece = "\xEF\xBF\xBD"; /* U+FFFD for a byte that is not UTF-8 */
            plen = 3;
            seq = 1;
        } else if (u[i] == '"' || u[i] == '\\') {
            esc[0] = '\\';
            esc[1] = (char)u[i];
            plen = 2;
        } else if (u[i] == '\n' || u[i] == '\r' || u[i] == '\t') {
            esc[0] = '\\';
            esc[1] = u[i] == '\n' ? 'n' : u[i] == '\r' ? 'r' : 't';
            plen = 2;
        } else if (u[i] < 0x20 || u[i] == 0x7F) {
            memcpy(esc, "\\u00", 4);
            esc[4] = hex[u[i] >> 4];
            esc[5] = hex[u[i] & 0x0F];
            plen = 6;
        } else {
            piece = s + i;
            plen = seq;
        }
        if (n + plen + 1 > cap)
            return -1;
        memcpy(out + n, piece, plen);
        n += plen;
        i += seq;
    }
    out[n++] = '"';
    return (ssize_t)n;
}

/* Appends raw bytes to the buffer; -1 when they do not fit. */
static int
put(struct pb_export *x, const char *s, size_t len)
{
    if (len > x->out_cap - x->len)
        return -1;
    memcpy(x->out + x->len, s, len);
    x->len += len;
    return 0;
}

static int
put_str(struct pb_export *x, const char *s)
{
    return put(x, s, strlen(s));
}

/* Appends a cell in the export's format (a CSV cell or a JSON string). */
static int
put_cell(struct pb_export *x, const char *s, size_t len)
{
    ssize_t n = x->format == PB_EXPORT_CSV
                    ? pb_export_csv_cell(s, len, x->out + x->len, x->out_cap - x->len)
                    : pb_export_json_string(s, len, x->out + x->len, x->out_cap - x->len);
    if (n < 0)
        return -1;
    x->len += (size_t)n;
    return 0;
}

/* The address as the caller may see it (masked unless reveal); "" when it does not open. */
static void
open_email(const struct pb_export *x, const struct batch_contact *c, char out[PB_EMAIL_MAX + 1])
{
    unsigned char plain[PB_EMAIL_SEALED_MAX];
    char place[PB_CONTACT_PLACE_MAX], email[PB_EMAIL_MAX + 1];
    size_t len = 0;
    out[0] = '\0';
    if (c->email_sealed_len == 0)
        return;
    pb_contact_email_place(x->account_id, c->id, place);
    if (pb_data_key_open(x->key, place, c->email_sealed, c->email_sealed_len, plain, &len) ==
            PB_ERR_OK &&
        len <= PB_EMAIL_MAX) {
        memcpy(email, plain, len);
        email[len] = '\0';
        if (x->reveal)
            memcpy(out, email, len + 1);
        else
            pb_email_mask(email, out);
    }
    sodium_memzero(plain, sizeof(plain));
    sodium_memzero(email, sizeof(email));
}

/* ---- rendering ---- */

static int
render_header(struct pb_export *x)
{
    if (x->format == PB_EXPORT_JSON)
        return put_str(x, "[");
    if (put_cell(x, "email", 5) != 0)
        return -1;
    for (int i = 0; i < x->ncols; i++) {
        const struct column *c = pb_vec_at(&x->columns, (size_t)i);
        if (put_str(x, ",") != 0 || put_cell(x, c->key, strlen(c->key)) != 0)
            return -1;
    }
    return put_str(x, "\r\n");
}

static int
render_csv_row(struct pb_export *x, const char *email, bool with_cells)
{
    if (put_cell(x, email, strlen(email)) != 0)
        return -1;
    for (int i = 0; i < x->ncols; i++) {
        if (put_str(x, ",") != 0)
            return -1;
        if (with_cells && x->cell_set[i] &&
            put_cell(x, x->row_text + (size_t)i * CELL_MAX, x->cell_len[i]) != 0)
            return -1;
    }
    return put_str(x, "\r\n");
}

static int
render_json_row(struct pb_export *x, const struct batch_contact *c, const char *email,
                bool with_cells)
{
    char created[21];
    pb_clock_format_rfc3339(c->created_at, created);
    if (put_str(x, x->any_row ? ",\n{\"id\":" : "\n{\"id\":") != 0 ||
        put_cell(x, c->id, strlen(c->id)) != 0 || put_str(x, ",\"email\":") != 0 ||
        put_cell(x, email, strlen(email)) != 0 || put_str(x, ",\"fields\":{") != 0)
        return -1;
    bool first = true;
    for (int i = 0; with_cells && i < x->ncols; i++) {
        if (!x->cell_set[i])
            continue;
        const struct column *col = pb_vec_at(&x->columns, (size_t)i);
        if ((!first && put_str(x, ",") != 0) || put_cell(x, col->key, strlen(col->key)) != 0 ||
            put_str(x, ":") != 0 ||
            put_cell(x, x->row_text + (size_t)i * CELL_MAX, x->cell_len[i]) != 0)
            return -1;
        first = false;
    }
    if (put_str(x, "},\"created_at\":") != 0 || put_cell(x, created, strlen(created)) != 0 ||
        put_str(x, "}") != 0)
        return -1;
    x->any_row = true;
    return 0;
}

/* Forgets (and wipes) the values gathered for the current contact. */
static void
clear_cells(struct pb_export *x)
{
    for (int i = 0; i < x->ncols; i++) {
        if (x->cell_set[i])
            sodium_memzero(x->row_text + (size_t)i * CELL_MAX, x->cell_len[i]);
        x->cell_set[i] = false;
        x->cell_len[i] = 0;
    }
}

/*
 * Renders the row of batch contact `i` (nothing for an erased one), with
 * the gathered values when it is the current contact. A row that does not
 * fit is taken back whole and the buffer marked full.
 */
static void
render_row(struct pb_export *x, int i)
{
    const struct batch_contact *c = &x->batch[i];
    if (c->erased)
        return;
    size_t start = x->len;
    bool any_row = x->any_row;
    char email[PB_EMAIL_MAX + 1];
    open_email(x, c, email);
    bool with_cells = i == x->cur;
    int rc = x->format == PB_EXPORT_CSV ? render_csv_row(x, email, with_cells)
                                        : render_json_row(x, c, email, with_cells);
    sodium_memzero(email, sizeof(email));
    if (rc != 0) {
        sodium_memzero(x->out + start, x->len - start);
        x->len = start;
        x->any_row = any_row;
        x->full = true;
        return;
    }
    x->row_end[x->nrow_ends++] = x->len;
}

/* Renders the rows of the batch before contact `upto`, until the buffer is full. */
static void
render_until(struct pb_export *x, int upto)
{
    while (x->next < upto && !x->full) {
        render_row(x, x->next);
        if (!x->full)
            x->next++;
    }
}

/* ---- fetching a batch ---- */

static void
on_contact(void *cls, const struct pb_contact *contact)
{
    struct pb_export *x = cls;
    if (x->nbatch == PB_EXPORT_BATCH)
        return;
    struct batch_contact *c = &x->batch[x->nbatch++];
    pb_strlcpy(c->id, contact->id, sizeof(c->id));
    c->erased = strcmp(contact->status, "erased") == 0;
    c->created_at = contact->created_at;
    c->email_sealed_len = contact->email_sealed_len <= sizeof(c->email_sealed)
                              ? contact->email_sealed_len
                              : 0; /* cannot be a seal we made: shows as no address */
    memcpy(c->email_sealed, contact->email_sealed, c->email_sealed_len);
    if (!c->erased)
        pb_strlcpy(x->ids[x->nids++], contact->id, sizeof(x->ids[0]));
}

static int
index_cmp(const void *a, const void *b)
{
    return strcmp(((const struct column_index *)a)->key, ((const struct column_index *)b)->key);
}

/* The column of a field key, or -1 (a sensitive field hidden from the caller, a new field). */
static int
column_of(const struct pb_export *x, const char *key)
{
    struct column_index probe = {key, -1};
    const struct column_index *hit =
        bsearch(&probe, x->index, (size_t)x->ncols, sizeof(*x->index), index_cmp);
    return hit != NULL ? hit->col : -1;
}

/* The batch index of a contact at or after `from`, or -1. */
static int
contact_at(const struct pb_export *x, int from, const char *id)
{
    for (int i = from < 0 ? 0 : from; i < x->nbatch; i++)
        if (strcmp(x->batch[i].id, id) == 0)
            return i;
    return -1;
}

static void
on_value(void *cls, const struct pb_contact_value *v)
{
    struct pb_export *x = cls;
    if (x->full || x->disorder)
        return;
    if (x->cur < 0 || strcmp(x->batch[x->cur].id, v->contact_id) != 0) {
        /* Values come in contact order: a new contact ends the rows before it. */
        int j = contact_at(x, x->cur + 1, v->contact_id);
        if (j < 0) {
            x->disorder = true;
            return;
        }
        render_until(x, j);
        if (x->full)
            return;
        clear_cells(x);
        x->cur = j;
    }
    int col = column_of(x, v->field_key);
    if (col < 0)
        return;
    char *cell = x->row_text + (size_t)col * CELL_MAX;
    size_t len = 0;
    if (v->value_sealed_len > 0) {
        /* Sealed values are opened here, in memory only, and wiped with the row. */
        char place[PB_CONTACT_PLACE_MAX];
        pb_contact_value_place(x->account_id, v->contact_id, v->field_key, place);
        if (v->value_sealed_len > PB_VALUE_SEALED_MAX ||
            pb_data_key_open(x->key, place, v->value_sealed, v->value_sealed_len,
                             (unsigned char *)cell, &len) != PB_ERR_OK) {
            pb_warn("export: a value of field %s does not open; left empty", v->field_key);
            sodium_memzero(cell, CELL_MAX);
            return;
        }
    } else {
        len = strnlen(v->value_text, sizeof(v->value_text));
        memcpy(cell, v->value_text, len);
    }
    x->cell_set[col] = true;
    x->cell_len[col] = len;
}

/* Empties the text buffer (wiped: it holds addresses and values). */
static void
reset_out(struct pb_export *x)
{
    sodium_memzero(x->out, x->len);
    x->len = x->pos = 0;
    x->nrow_ends = x->next_row_end = 0;
}

struct batch_ctx {
    struct pb_export *x;
    bool any_row; /* as it was before the batch, for a retried transaction */
};

static enum pb_qs
batch_tx(struct pb_tx *tx, void *cls)
{
    struct batch_ctx *b = cls;
    struct pb_export *x = b->x;
    /* A retried transaction starts over. */
    reset_out(x);
    clear_cells(x);
    sodium_memzero(x->batch, sizeof(*x->batch) * PB_EXPORT_BATCH);
    x->any_row = b->any_row;
    x->nbatch = x->nids = 0;
    x->cur = -1;
    x->next = 0;
    x->full = x->disorder = false;
    enum pb_qs qs = tx->ops->contact_list(tx->conn, x->account_id, x->list_id, x->after,
                                          PB_EXPORT_BATCH, on_contact, x);
    if (qs < 0 || x->nids == 0)
        return qs;
    qs = tx->ops->value_list_many(tx->conn, x->account_id, (const pb_id_text *)x->ids, x->nids,
                                  on_value, x);
    if (qs < 0)
        return qs;
    if (x->disorder) {
        pb_error("export: the store gave values out of contact order");
        return PB_QS_HARD_ERROR;
    }
    render_until(x, x->nbatch);
    return PB_QS_ONE;
}

/* Fetches and renders the next batch into the (empty) buffer. */
static enum pb_err
fetch(struct pb_export *x)
{
    struct batch_ctx b = {x, x->any_row};
    enum pb_err err = pb_tenant_tx(x->app, x->account_id, PB_TX_READ, batch_tx, &b);
    clear_cells(x);
    if (err != PB_ERR_OK) {
        reset_out(x);
        return err;
    }
    /* A row that does not fit an empty buffer would be fetched again and again. */
    if (x->full && x->nrow_ends == 0) {
        pb_error("export: one row does not fit in %zu bytes", x->out_cap);
        reset_out(x);
        return PB_ERR_TOO_LARGE;
    }
    pb_debug("export of list %s: %d contacts fetched, %d rows rendered%s", x->list_id, x->nbatch,
             x->nrow_ends, x->full ? ", the buffer full" : "");
    /* The next batch starts after the last contact rendered (or skipped). */
    if (x->next > 0)
        pb_strlcpy(x->after, x->batch[x->next - 1].id, sizeof(x->after));
    x->more = x->full || x->nbatch == PB_EXPORT_BATCH;
    sodium_memzero(x->batch, sizeof(*x->batch) * PB_EXPORT_BATCH);
    return PB_ERR_OK;
}

/* ---- the life of an export ---- */

static void
collect_column(void *cls, const struct pb_field *field)
{
    struct pb_export *x = cls;
    if (field->sensitive && !x->reveal)
        return; /* not even the column: its name may say too much */
    struct column c;
    memset(&c, 0, sizeof(c));
    pb_strlcpy(c.key, field->key, sizeof(c.key));
    pb_vec_push(&x->columns, &c);
}

static enum pb_qs
open_tx(struct pb_tx *tx, void *cls)
{
    struct pb_export *x = cls;
    struct pb_list list;
    pb_vec_clear(&x->columns);
    enum pb_qs qs = tx->ops->list_get(tx->conn, x->account_id, x->list_id, &list);
    if (qs < 0)
        return qs;
    if (qs == PB_QS_NONE)
        return pb_tx_abort(tx, PB_ERR_NOT_FOUND);
    return tx->ops->field_list(tx->conn, x->account_id, collect_column, x);
}

static void
export_free(struct pb_export *x)
{
    if (x == NULL)
        return;
    if (x->out != NULL) {
        sodium_memzero(x->out, x->out_cap);
        free(x->out);
    }
    if (x->row_text != NULL) {
        sodium_memzero(x->row_text, (size_t)x->ncols * CELL_MAX);
        free(x->row_text);
    }
    if (x->batch != NULL) {
        sodium_memzero(x->batch, sizeof(*x->batch) * PB_EXPORT_BATCH);
        free(x->batch);
    }
    free(x->ids);
    free(x->cell_len);
    free(x->cell_set);
    free(x->index);
    pb_vec_release(&x->columns);
    free(x);
}

/* The buffer size that holds the worst row of `ncols` columns, or OUT_MIN. */
static size_t
out_size(int ncols)
{
    size_t cell = 6 * (size_t)CELL_MAX + 6 * PB_FIELD_KEY_MAX + 16;
    size_t row = ((size_t)ncols + 3) * cell + 256;
    return row > OUT_MIN ? row : OUT_MIN;
}

enum pb_err
pb_export_open(struct pb_app *app, const struct pb_export_params *p, struct pb_export **out)
{
    *out = NULL;
    if (p->account_id == NULL || p->list_id == NULL || !pb_id_valid(p->list_id))
        return PB_ERR_NOT_FOUND;
    struct pb_export *x = calloc(1, sizeof(*x));
    if (x == NULL)
        return PB_ERR_NOMEM;
    x->app = app;
    pb_strlcpy(x->account_id, p->account_id, sizeof(x->account_id));
    pb_strlcpy(x->list_id, p->list_id, sizeof(x->list_id));
    x->format = p->format;
    x->reveal = p->reveal;
    pb_strlcpy(x->actor_user_id, p->actor_user_id ? p->actor_user_id : "",
               sizeof(x->actor_user_id));
    pb_strlcpy(x->actor, p->actor ? p->actor : "", sizeof(x->actor));
    pb_strlcpy(x->client_ip, p->client_ip ? p->client_ip : "", sizeof(x->client_ip));
    x->more = true;
    pb_vec_init(&x->columns, sizeof(struct column), COLUMNS_MAX);

    enum pb_err err = pb_app_data_key(app, x->account_id, &x->key);
    if (err == PB_ERR_OK)
        err = pb_tenant_tx(app, x->account_id, PB_TX_READ, open_tx, x);
    if (err == PB_ERR_OK)
        err = x->columns.err;
    if (err != PB_ERR_OK)
        goto fail;

    x->ncols = (int)x->columns.count;
    size_t slots = x->ncols > 0 ? (size_t)x->ncols : 1;
    x->out_cap = out_size(x->ncols);
    x->out = malloc(x->out_cap);
    x->batch = calloc(PB_EXPORT_BATCH, sizeof(*x->batch));
    x->ids = calloc(PB_EXPORT_BATCH, sizeof(*x->ids));
    x->row_text = calloc(slots, CELL_MAX);
    x->cell_len = calloc(slots, sizeof(*x->cell_len));
    x->cell_set = calloc(slots, sizeof(*x->cell_set));
    x->index = calloc(slots, sizeof(*x->index));
    if (x->out == NULL || x->batch == NULL || x->ids == NULL || x->row_text == NULL ||
        x->cell_len == NULL || x->cell_set == NULL || x->index == NULL) {
        err = PB_ERR_NOMEM;
        goto fail;
    }
    for (int i = 0; i < x->ncols; i++) {
        const struct column *c = pb_vec_at(&x->columns, (size_t)i);
        x->index[i].key = c->key;
        x->index[i].col = i;
    }
    qsort(x->index, (size_t)x->ncols, sizeof(*x->index), index_cmp);
    if (render_header(x) != 0) {
        err = PB_ERR_TOO_LARGE;
        goto fail;
    }
    *out = x;
    return PB_ERR_OK;
fail:
    export_free(x);
    return err;
}

enum pb_err
pb_export_read(struct pb_export *x, char *buf, size_t cap, size_t *got)
{
    *got = 0;
    if (x->failed != PB_ERR_OK)
        return x->failed;
    while (x->pos == x->len) {
        reset_out(x);
        if (x->finished)
            return PB_ERR_OK;
        if (x->more) {
            enum pb_err err = fetch(x);
            if (err != PB_ERR_OK) {
                x->failed = err;
                return err;
            }
        } else {
            if (x->format == PB_EXPORT_JSON && put_str(x, x->any_row ? "\n]\n" : "]\n") != 0)
                return x->failed = PB_ERR_INTERNAL;
            x->finished = true;
        }
    }
    size_t n = x->len - x->pos < cap ? x->len - x->pos : cap;
    memcpy(buf, x->out + x->pos, n);
    x->pos += n;
    while (x->next_row_end < x->nrow_ends && x->row_end[x->next_row_end] <= x->pos) {
        x->next_row_end++;
        x->rows++;
    }
    *got = n;
    return PB_ERR_OK;
}

enum pb_err
pb_export_close(struct pb_export *x, int64_t *rows, bool *complete)
{
    bool done = x->failed == PB_ERR_OK && x->finished && x->pos == x->len;
    if (rows != NULL)
        *rows = x->rows;
    if (complete != NULL)
        *complete = done;
    enum pb_err err = PB_ERR_NOMEM;
    json_t *detail = json_pack("{s:s, s:s, s:I, s:b, s:s}", "list_id", x->list_id, "format",
                               pb_export_format_name(x->format), "rows", (json_int_t)x->rows,
                               "complete", done, "actor", x->actor);
    char *text = detail != NULL ? json_dumps(detail, JSON_COMPACT) : NULL;
    if (text != NULL)
        err = pb_audit_record(x->app, x->account_id, x->actor_user_id, "contacts.exported",
                              x->client_ip[0] != '\0' ? x->client_ip : NULL, text);
    if (err != PB_ERR_OK)
        pb_error("export of list %s: the audit entry cannot be written (%s)", x->list_id,
                 pb_err_hint(err));
    free(text);
    json_decref(detail);
    export_free(x);
    return err;
}

void
pb_export_discard(struct pb_export *x)
{
    export_free(x);
}
