/*
 * The import job's steps. First the whole file is checked (its records
 * found, UTF-8 everywhere, no file-level problem) without writing anything,
 * so a bad file fails before a single address is imported. Then batches:
 * each batch is read and checked row by row, then written in ONE
 * transaction that also moves the job's checkpoint, so that a crash between
 * batches neither loses nor repeats a row.
 */
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "core/arena.h"
#include "core/clock.h"
#include "core/strutil.h"
#include "model/contact.h"
#include "model/delivery.h"
#include "model/email.h"
#include "model/field.h"
#include "model/import_internal.h"
#include "model/job.h"
#include "model/tenant.h"

enum {
    BATCH_ROWS = 2000,                  /* rows per transaction, at most */
    BATCH_EVENTS = 8000,                /* events per transaction, at most (rows x lists) */
    BATCH_BYTES = 4 * 1024 * 1024,      /* cell bytes kept per batch, at most */
    CHECK_BYTES = 64 * 1024 * 1024,     /* bytes checked per step while checking */
    BATCH_ARENA = 40 * 1024 * 1024,     /* what one batch may allocate (retries seal again) */
    FIELDS_MAX = PB_IMPORT_COLUMNS_MAX, /* fields known to one step */
    SEEN_SLOTS = 4096                   /* the batch's address set: a power of 2, > 2 x rows */
};

/* A set at most half full keeps its probes short, and a free slot always ends one. */
_Static_assert(SEEN_SLOTS >= 2 * BATCH_ROWS && (SEEN_SLOTS & (SEEN_SLOTS - 1)) == 0,
               "SEEN_SLOTS: a power of 2, at least twice BATCH_ROWS");

/* A value of a row: the field (index into the step's fields) and its checked text. */
struct row_value {
    int field;
    const char *text;
};

/* ROW_SUPPRESSED: a new address on the suppression list (erased or bounced before). */
enum row_state { ROW_NEW, ROW_EXISTING, ROW_DUPLICATE, ROW_SUPPRESSED };

struct row {
    int64_t line;
    const char *email; /* normalised, local part's case kept */
    unsigned char bidx[PB_BIDX_MAX];
    unsigned char suppression[PB_HASH_BYTES]; /* the address's suppression hash */
    struct row_value *values;
    int nvalues;
    enum row_state state;
};

/* Everything one step works with; malloc'd once per step (it is large). */
struct step {
    struct pb_app *app;
    struct pb_job *job;
    const struct pb_data_key *key;
    struct pb_import_params params;
    struct pb_import_cursor cursor; /* as committed before this batch */
    struct pb_import_cursor next;   /* after it */
    struct pb_field fields[FIELDS_MAX];
    int nfields;
    int column_field[PB_IMPORT_COLUMNS_MAX]; /* per column: field index, -1 email, -2 none */
    char ref[PB_EVENT_REF_MAX + 1];
    struct pb_arena *arena;

    /* The batch as read. */
    struct row rows[BATCH_ROWS];
    int nrows;
    uint16_t seen[SEEN_SLOTS];                   /* blind index -> row index + 1; 0: empty */
    struct pb_import_reject rejects[BATCH_ROWS]; /* found while reading */
    int nrejects;

    /* What the transaction builds (reset on every try). */
    unsigned char bidx[BATCH_ROWS][PB_BIDX_MAX];
    pb_id_text found[BATCH_ROWS];
    pb_id_text existing_ids[BATCH_ROWS];
    int existing_row[BATCH_ROWS];
    bool has_ref[BATCH_ROWS];
    unsigned char suppression[BATCH_ROWS][PB_HASH_BYTES]; /* of the new rows */
    int suppression_row[BATCH_ROWS];
    bool suppressed[BATCH_ROWS];
    pb_id_text ids[BATCH_ROWS]; /* contact id per row */
    pb_id_text kept_ids[BATCH_ROWS];
    int kept_row[BATCH_ROWS];
    bool changed[BATCH_ROWS];
    bool row_changed[BATCH_ROWS];
    struct pb_contact contacts[BATCH_ROWS];
    struct pb_value_ref *values;
    int nvalues_cap;
    struct pb_consent_event events[BATCH_EVENTS];
    int nevents;
    struct pb_import_reject tx_rejects[BATCH_ROWS];
    char cursor_text[PB_JOB_CURSOR_MAX + 1];
    char why[PB_WHY_MAX];
};

static void
reject(struct pb_import_reject *list, int *n, int64_t line, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static void
reject(struct pb_import_reject *list, int *n, int64_t line, const char *fmt, ...)
{
    struct pb_import_reject *r = &list[(*n)++];
    r->line = line;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(r->reason, sizeof(r->reason), fmt, ap);
    va_end(ap);
}

/* ---- the account's fields, and which column is which ---- */

static void
collect_field(void *cls, const struct pb_field *f)
{
    struct step *s = cls;
    if (s->nfields < FIELDS_MAX)
        s->fields[s->nfields++] = *f;
}

static enum pb_qs
fields_tx(struct pb_tx *tx, void *cls)
{
    struct step *s = cls;
    s->nfields = 0;
    return tx->ops->field_list(tx->conn, s->job->account_id, collect_field, s);
}

static enum pb_err
map_fields(struct step *s, char why[PB_WHY_MAX])
{
    enum pb_err err = pb_tenant_tx(s->app, s->job->account_id, PB_TX_READ, fields_tx, s);
    if (err != PB_ERR_OK)
        return err;
    for (int c = 0; c < s->params.ncolumns; c++) {
        const char *target = s->params.columns[c];
        s->column_field[c] = target[0] == '\0' ? -2 : strcmp(target, "email") == 0 ? -1 : -3;
        for (int f = 0; s->column_field[c] == -3 && f < s->nfields; f++)
            if (strcmp(s->fields[f].key, target) == 0)
                s->column_field[c] = f;
        if (s->column_field[c] == -3) {
            snprintf(why, PB_WHY_MAX, "the field \"%s\" was deleted during the import", target);
            return PB_ERR_CONFLICT;
        }
    }
    return PB_ERR_OK;
}

/* ---- checking the whole file first ---- */

static enum pb_err
check_step(struct step *s, struct pb_csv_reader *reader, bool *finished, char why[PB_WHY_MAX])
{
    struct pb_import_cursor *c = &s->next;
    int64_t start = c->offset;
    struct pb_csv_record rec;
    for (;;) {
        enum pb_err err = pb_csv_next(reader, &rec, why);
        if (err == PB_ERR_NOT_FOUND)
            break;
        if (err != PB_ERR_OK) {
            *finished = true;
            return err;
        }
        if (rec.problem != NULL && strstr(rec.problem, "UTF-8") != NULL) {
            snprintf(why, PB_WHY_MAX,
                     "line %lld: %s; Postbode reads UTF-8 only: save the file as UTF-8 "
                     "(\"CSV UTF-8\" in a spreadsheet)",
                     (long long)rec.line, rec.problem);
            *finished = true;
            return PB_ERR_INVALID;
        }
        c->rows++;
        c->offset = rec.end_offset;
        c->line = rec.end_line;
        if (c->offset - start >= CHECK_BYTES)
            return PB_ERR_OK; /* more next step */
    }
    if (c->rows == 0) {
        snprintf(why, PB_WHY_MAX, "the file has a header but no rows");
        *finished = true;
        return PB_ERR_INVALID;
    }
    /* Checked: import from the first row. */
    s->job->progress_total = c->rows;
    s->job->progress_done = 0;
    c->importing = true;
    c->rows = 0;
    c->offset = s->params.header_end;
    c->line = s->params.header_line;
    return PB_ERR_OK;
}

/* ---- reading a batch ---- */

enum row_outcome { ROW_KEPT, ROW_INVALID, ROW_REPEATED };

/* Checks one record into a row, or a reject. */
static enum row_outcome
read_row(struct step *s, const struct pb_csv_record *rec, size_t *bytes)
{
    int *nrej = &s->nrejects;
    if (rec->problem != NULL) {
        reject(s->rejects, nrej, rec->line, "%s", rec->problem);
        return ROW_INVALID;
    }
    if (rec->ncells != s->params.ncolumns) {
        reject(s->rejects, nrej, rec->line, "%d cells where the header has %d", rec->ncells,
               s->params.ncolumns);
        return ROW_INVALID;
    }
    struct row *row = &s->rows[s->nrows];
    memset(row, 0, sizeof(*row));
    row->line = rec->line;
    row->values = pb_arena_alloc(s->arena, (size_t)rec->ncells * sizeof(row->values[0]));
    if (row->values == NULL) {
        reject(s->rejects, nrej, rec->line, "out of memory for this row");
        return ROW_INVALID;
    }
    for (int c = 0; c < rec->ncells; c++) {
        int f = s->column_field[c];
        if (f == -2)
            continue;
        char why[PB_WHY_MAX];
        if (f == -1) {
            char email[PB_EMAIL_MAX + 1], lower[PB_EMAIL_MAX + 1];
            if (pb_email_normalize(rec->cells[c], PB_EMAIL_KEEP_LOCAL_CASE, email, why) !=
                    PB_ERR_OK ||
                pb_email_normalize(rec->cells[c], PB_EMAIL_LOWER_ALL, lower, why) != PB_ERR_OK) {
                reject(s->rejects, nrej, rec->line, "not a valid address: %s", why);
                return ROW_INVALID;
            }
            pb_data_key_blind_index(s->key, "email", lower, strlen(lower), row->bidx);
            if (pb_suppression_hash(s->app, s->job->account_id, lower, row->suppression) !=
                PB_ERR_OK) {
                sodium_memzero(email, sizeof(email));
                sodium_memzero(lower, sizeof(lower));
                reject(s->rejects, nrej, rec->line, "the address cannot be checked now");
                return ROW_INVALID;
            }
            row->email = pb_arena_strdup(s->arena, email);
            sodium_memzero(email, sizeof(email));
            sodium_memzero(lower, sizeof(lower));
            continue;
        }
        if (rec->lens[c] == 0)
            continue; /* an empty cell sets nothing (and clears nothing) */
        char text[PB_VALUE_MAX + 1];
        if (pb_field_value_check(&s->fields[f], rec->cells[c], text, why) != PB_ERR_OK) {
            reject(s->rejects, nrej, rec->line, "column \"%s\": %s", s->fields[f].key, why);
            return ROW_INVALID;
        }
        struct row_value *v = &row->values[row->nvalues++];
        v->field = f;
        v->text = pb_arena_strdup(s->arena, text);
        *bytes += strlen(text);
        sodium_memzero(text, sizeof(text));
    }
    if (row->email == NULL) {
        reject(s->rejects, nrej, rec->line, "out of memory for this row");
        return ROW_INVALID;
    }
    /*
     * The same address twice in one batch: the first one counts. A hash set
     * of the batch's blind indexes (already uniformly random: their first
     * bytes are the hash), probed linearly; slots hold row index + 1.
     */
    uint32_t slot;
    memcpy(&slot, row->bidx, sizeof(slot));
    for (slot &= SEEN_SLOTS - 1; s->seen[slot] != 0; slot = (slot + 1) & (SEEN_SLOTS - 1)) {
        const struct row *earlier = &s->rows[s->seen[slot] - 1];
        if (memcmp(earlier->bidx, row->bidx, PB_BIDX_MAX) == 0) {
            reject(s->rejects, nrej, rec->line, "the same address as line %lld",
                   (long long)earlier->line);
            return ROW_REPEATED;
        }
    }
    s->seen[slot] = (uint16_t)(s->nrows + 1);
    s->nrows++;
    *bytes += strlen(row->email);
    return ROW_KEPT;
}

/* Reads the next batch of rows; `*at_end` when the file is done. */
static enum pb_err
read_batch(struct step *s, struct pb_csv_reader *reader, bool *at_end, char why[PB_WHY_MAX])
{
    size_t bytes = 0;
    int max_rows = BATCH_EVENTS / (s->params.list_count + 1);
    if (max_rows > BATCH_ROWS)
        max_rows = BATCH_ROWS;
    *at_end = false;
    while (s->nrows + s->nrejects < max_rows && bytes < BATCH_BYTES) {
        struct pb_csv_record rec;
        enum pb_err err = pb_csv_next(reader, &rec, why);
        if (err == PB_ERR_NOT_FOUND) {
            *at_end = true;
            return PB_ERR_OK;
        }
        if (err != PB_ERR_OK)
            return err; /* checked before: only a read error can land here */
        s->next.rows++;
        enum row_outcome o = read_row(s, &rec, &bytes);
        s->next.invalid += o == ROW_INVALID;
        s->next.duplicates += o == ROW_REPEATED;
        s->next.offset = rec.end_offset;
        s->next.line = rec.end_line;
    }
    return PB_ERR_OK;
}

/* ---- writing a batch ---- */

static struct pb_consent_event *
add_event(struct step *s, const char *type, const char *contact_id, const char *list_id,
          int64_t now)
{
    struct pb_consent_event *e = &s->events[s->nevents++];
    memset(e, 0, sizeof(*e));
    pb_strlcpy(e->account_id, s->job->account_id, sizeof(e->account_id));
    pb_id_new(e->id);
    pb_strlcpy(e->type, type, sizeof(e->type));
    pb_strlcpy(e->contact_id, contact_id, sizeof(e->contact_id));
    pb_strlcpy(e->list_id, list_id ? list_id : "", sizeof(e->list_id));
    pb_strlcpy(e->statement_id, s->params.statement_id, sizeof(e->statement_id));
    pb_strlcpy(e->channel, s->params.channel, sizeof(e->channel));
    pb_strlcpy(e->actor, s->params.actor, sizeof(e->actor));
    pb_strlcpy(e->ref, s->ref, sizeof(e->ref));
    e->at = now;
    return e;
}

/* Which rows' addresses are contacts already, and which of those this import wrote before. */
static enum pb_qs
find_existing_tx(struct pb_tx *tx, struct step *s)
{
    const char *account = s->job->account_id;
    for (int i = 0; i < s->nrows; i++)
        memcpy(s->bidx[i], s->rows[i].bidx, PB_BIDX_MAX);
    enum pb_qs qs = tx->ops->contact_find_many(
        tx->conn, account, (const unsigned char(*)[PB_BIDX_MAX])s->bidx, s->nrows, s->found);
    if (qs < 0)
        return qs;
    int nexisting = 0;
    for (int i = 0; i < s->nrows; i++) {
        s->rows[i].state = s->found[i][0] ? ROW_EXISTING : ROW_NEW;
        if (s->found[i][0]) {
            memcpy(s->existing_ids[nexisting], s->found[i], sizeof(pb_id_text));
            s->existing_row[nexisting++] = i;
        }
    }
    if (nexisting == 0)
        return PB_QS_ONE;
    /* A contact this import already touched: the address came earlier in the file. */
    qs = tx->ops->event_ref_exists_many(tx->conn, account, s->ref,
                                        (const pb_id_text *)s->existing_ids, nexisting, s->has_ref);
    if (qs < 0)
        return qs;
    for (int k = 0; k < nexisting; k++)
        if (s->has_ref[k])
            s->rows[s->existing_row[k]].state = ROW_DUPLICATE;
    return PB_QS_ONE;
}

/*
 * Which new addresses are on the suppression list, in one query: those
 * become ROW_SUPPRESSED, or, when the owner overrides, lose their
 * suppression and are added like any new address.
 */
static enum pb_qs
check_suppressed_tx(struct pb_tx *tx, struct step *s)
{
    const char *account = s->job->account_id;
    int n = 0;
    for (int i = 0; i < s->nrows; i++)
        if (s->rows[i].state == ROW_NEW) {
            memcpy(s->suppression[n], s->rows[i].suppression, PB_HASH_BYTES);
            s->suppression_row[n++] = i;
        }
    if (n == 0)
        return PB_QS_ONE;
    enum pb_qs qs = tx->ops->suppression_exists_many(
        tx->conn, account, (const unsigned char(*)[PB_HASH_BYTES])s->suppression, n, s->suppressed);
    if (qs < 0)
        return qs;
    for (int k = 0; k < n; k++) {
        if (!s->suppressed[k])
            continue;
        if (!s->params.override_suppression)
            s->rows[s->suppression_row[k]].state = ROW_SUPPRESSED;
        else if ((qs = tx->ops->suppression_delete(tx->conn, account, s->suppression[k])) < 0)
            return qs;
    }
    return PB_QS_ONE;
}

/* New contacts: their ids, sealed addresses, inserted. */
static enum pb_qs
insert_new_tx(struct pb_tx *tx, struct step *s, int64_t now)
{
    int n = 0;
    for (int i = 0; i < s->nrows; i++) {
        struct row *row = &s->rows[i];
        if (row->state == ROW_SUPPRESSED) {
            s->ids[i][0] = '\0';
            continue;
        }
        if (row->state == ROW_EXISTING || row->state == ROW_DUPLICATE) {
            memcpy(s->ids[i], s->found[i], sizeof(pb_id_text));
            continue;
        }
        struct pb_contact *c = &s->contacts[n++];
        pb_id_new(c->id);
        memcpy(s->ids[i], c->id, sizeof(pb_id_text));
        pb_strlcpy(c->account_id, s->job->account_id, sizeof(c->account_id));
        char place[PB_CONTACT_PLACE_MAX];
        size_t len = strlen(row->email);
        pb_contact_email_place(c->account_id, c->id, place);
        pb_data_key_seal(s->key, place, row->email, len, c->email_sealed);
        c->email_sealed_len = pb_sealed_len(len);
        memcpy(c->email_bidx, row->bidx, PB_BIDX_MAX);
        c->email_bidx_len = PB_BIDX_MAX;
        pb_strlcpy(c->status, "active", sizeof(c->status));
        c->pseudonym[0] = '\0';
        c->created_at = c->updated_at = now;
    }
    return n > 0 ? tx->ops->contact_insert_many(tx->conn, s->contacts, n) : PB_QS_ONE;
}

/* Values of new rows, and of existing ones when upserting; sealed where the field is sensitive. */
static enum pb_qs
write_values_tx(struct pb_tx *tx, struct step *s)
{
    int n = 0;
    for (int i = 0; i < s->nrows; i++) {
        struct row *row = &s->rows[i];
        bool write = row->state == ROW_NEW || (row->state == ROW_EXISTING && s->params.upsert);
        s->row_changed[i] = write && row->nvalues > 0 && row->state == ROW_EXISTING;
        for (int k = 0; write && k < row->nvalues; k++) {
            if (n == s->nvalues_cap) {
                int cap = s->nvalues_cap ? s->nvalues_cap * 2 : 4096;
                struct pb_value_ref *v = realloc(s->values, (size_t)cap * sizeof(*v));
                if (v == NULL)
                    return pb_tx_abort(tx, PB_ERR_NOMEM);
                s->values = v;
                s->nvalues_cap = cap;
            }
            const struct pb_field *f = &s->fields[row->values[k].field];
            struct pb_value_ref *v = &s->values[n++];
            v->contact_id = s->ids[i];
            v->field_key = f->key;
            v->text = row->values[k].text;
            v->sealed = NULL;
            v->sealed_len = 0;
            if (f->sensitive) {
                char place[PB_CONTACT_PLACE_MAX];
                size_t len = strlen(v->text);
                unsigned char *sealed = pb_arena_alloc(s->arena, pb_sealed_len(len));
                if (sealed == NULL)
                    return pb_tx_abort(tx, PB_ERR_NOMEM);
                pb_contact_value_place(s->job->account_id, s->ids[i], f->key, place);
                pb_data_key_seal(s->key, place, v->text, len, sealed);
                v->sealed = sealed;
                v->sealed_len = pb_sealed_len(len);
                v->text = NULL;
            }
        }
    }
    return n > 0 ? tx->ops->value_put_many(tx->conn, s->job->account_id, s->values, n) : PB_QS_ONE;
}

/* Subscribes the batch's contacts to every list, an `imported` event where one was not. */
static enum pb_qs
subscribe_tx(struct pb_tx *tx, struct step *s, int64_t now)
{
    int n = 0;
    for (int i = 0; i < s->nrows; i++)
        if (s->rows[i].state != ROW_DUPLICATE && s->rows[i].state != ROW_SUPPRESSED) {
            memcpy(s->kept_ids[n], s->ids[i], sizeof(pb_id_text));
            s->kept_row[n++] = i;
        }
    for (int l = 0; l < s->params.list_count && n > 0; l++) {
        enum pb_qs qs = tx->ops->membership_subscribe_many(
            tx->conn, s->job->account_id, s->params.lists[l], (const pb_id_text *)s->kept_ids, n,
            s->params.statement_id[0] ? s->params.statement_id : NULL, now, s->changed);
        if (qs < 0)
            return qs;
        for (int k = 0; k < n; k++)
            if (s->changed[k]) {
                add_event(s, "imported", s->kept_ids[k], s->params.lists[l], now);
                s->row_changed[s->kept_row[k]] = true;
            }
    }
    return PB_QS_ONE;
}

/* Chains the batch's events after the account's newest one and appends them. */
static enum pb_qs
append_events_tx(struct pb_tx *tx, struct step *s)
{
    if (s->nevents == 0)
        return PB_QS_ONE;
    int64_t seq = 0;
    unsigned char prev[PB_EVENT_HASH_BYTES] = {0};
    enum pb_qs qs = tx->ops->event_last(tx->conn, s->job->account_id, &seq, prev);
    if (qs < 0)
        return qs;
    if (qs == PB_QS_NONE) {
        seq = 0;
        memset(prev, 0, sizeof(prev));
    }
    for (int i = 0; i < s->nevents; i++) {
        struct pb_consent_event *e = &s->events[i];
        e->seq = ++seq;
        memcpy(e->prev_hash, prev, sizeof(prev));
        pb_consent_event_hash(s->key, e);
        memcpy(prev, e->hash, sizeof(prev));
    }
    return tx->ops->event_append_many(tx->conn, s->events, s->nevents);
}

/* Records rejected lines, up to PB_IMPORT_REJECTS_KEPT for the whole import. */
static enum pb_qs
record_rejects_tx(struct pb_tx *tx, struct step *s, struct pb_import_reject *list, int n)
{
    int64_t room = PB_IMPORT_REJECTS_KEPT - s->next.rejects_kept;
    if (room <= 0 || n == 0)
        return PB_QS_ONE;
    if (n > room)
        n = (int)room;
    s->next.rejects_kept += n;
    return tx->ops->import_reject_insert_many(tx->conn, s->job->account_id, s->job->id, list, n);
}

/*
 * The batch in one transaction, with the job's checkpoint: either all of it
 * and the cursor past it, or none of it and the cursor where it was.
 */
static enum pb_qs
batch_tx(struct pb_tx *tx, void *cls)
{
    struct step *s = cls;
    /* A retry starts again from what was counted before the transaction. */
    struct pb_import_cursor read_counts = s->next;
    int64_t now = pb_clock_now();
    s->nevents = 0;
    int ntx_rejects = 0;
    enum pb_qs qs = PB_QS_ONE;
    if (s->nrows > 0 &&
        ((qs = find_existing_tx(tx, s)) < 0 || (qs = check_suppressed_tx(tx, s)) < 0 ||
         (qs = insert_new_tx(tx, s, now)) < 0 || (qs = write_values_tx(tx, s)) < 0 ||
         (qs = subscribe_tx(tx, s, now)) < 0))
        goto undo;
    for (int i = 0; i < s->nrows; i++) {
        struct row *row = &s->rows[i];
        if (row->state == ROW_DUPLICATE) {
            reject(s->tx_rejects, &ntx_rejects, row->line, "the same address as an earlier line");
            s->next.duplicates++;
        } else if (row->state == ROW_SUPPRESSED) {
            reject(s->tx_rejects, &ntx_rejects, row->line,
                   "suppressed: this address was erased or bounced before");
            s->next.suppressed++;
        } else if (row->state == ROW_NEW) {
            s->next.added++;
        } else if (s->row_changed[i]) {
            s->next.updated++;
            if (row->nvalues > 0 && s->params.upsert)
                add_event(s, "field_changed", s->ids[i], NULL, now);
        } else {
            s->next.skipped++;
        }
    }
    if ((qs = append_events_tx(tx, s)) < 0 ||
        (qs = record_rejects_tx(tx, s, s->rejects, s->nrejects)) < 0 ||
        (qs = record_rejects_tx(tx, s, s->tx_rejects, ntx_rejects)) < 0)
        goto undo;
    pb_import_cursor_encode(&s->next, s->cursor_text);
    qs = tx->ops->job_checkpoint(tx->conn, now, s->job->id, s->job->lease_owner, s->cursor_text,
                                 s->next.rows, s->job->progress_total,
                                 now + pb_job_lease_seconds(s->app));
    if (qs == PB_QS_NONE)
        qs = pb_tx_abort(tx, PB_ERR_CONFLICT); /* the lease is lost: another node has the job */
    if (qs >= 0)
        return qs;
undo:
    s->next = read_counts;
    return qs;
}

/* ---- the step ---- */

static enum pb_err
import_step(struct step *s, struct pb_csv_reader *reader, bool *finished, char why[PB_WHY_MAX])
{
    bool at_end = false;
    enum pb_err err = read_batch(s, reader, &at_end, why);
    if (err != PB_ERR_OK) {
        *finished = true;
        return err;
    }
    err = pb_tenant_tx(s->app, s->job->account_id, PB_TX_WRITE, batch_tx, s);
    if (err == PB_ERR_CONFLICT) {
        /* Lost the lease: leave the job as the database has it; the runner drops it. */
        s->next = s->cursor;
        return PB_ERR_OK;
    }
    if (err != PB_ERR_OK) {
        snprintf(why, PB_WHY_MAX, "a batch could not be written: %s", pb_err_hint(err));
        s->next = s->cursor;
        return err;
    }
    *finished = at_end;
    return PB_ERR_OK;
}

enum pb_err
pb_import_step(struct pb_app *app, struct pb_job *job, bool *finished, char why[PB_WHY_MAX])
{
    *finished = false;
    struct step *s = calloc(1, sizeof(*s));
    struct pb_import_source *src = malloc(sizeof(*src));
    struct pb_csv_reader *reader = NULL;
    enum pb_err err = s == NULL || src == NULL ? PB_ERR_NOMEM : PB_ERR_OK;
    if (err != PB_ERR_OK)
        goto out;
    s->app = app;
    s->job = job;
    snprintf(s->ref, sizeof(s->ref), "job:%s", job->id);
    if (pb_import_params_decode(job->params, &s->params) != PB_ERR_OK ||
        pb_import_cursor_decode(job->cursor, &s->cursor) != PB_ERR_OK) {
        snprintf(why, PB_WHY_MAX, "the import's parameters or checkpoint are unreadable");
        err = PB_ERR_INTERNAL;
        *finished = true;
        goto out;
    }
    if (job->cursor[0] == '\0') {
        s->cursor.offset = s->params.header_end;
        s->cursor.line = s->params.header_line;
    }
    s->next = s->cursor;
    if ((err = pb_app_data_key(app, job->account_id, &s->key)) != PB_ERR_OK ||
        (err = map_fields(s, why)) != PB_ERR_OK) {
        *finished = err == PB_ERR_CONFLICT;
        goto out;
    }
    s->arena = pb_arena_new(BATCH_ARENA);
    if (s->arena == NULL ||
        (err = pb_import_source_init(src, app, job->account_id, job->id, s->next.offset)) !=
            PB_ERR_OK ||
        (err = pb_csv_reader_new(pb_import_source_read, src, s->next.offset, s->next.line,
                                 s->params.delimiter, &reader)) != PB_ERR_OK) {
        err = err == PB_ERR_OK ? PB_ERR_NOMEM : err;
        goto out;
    }
    err = s->next.importing ? import_step(s, reader, finished, why)
                            : check_step(s, reader, finished, why);
    pb_import_cursor_encode(&s->next, job->cursor);
    job->progress_done = s->next.importing ? s->next.rows : 0;
    if (*finished && err == PB_ERR_OK)
        pb_strlcpy(job->result, job->cursor, sizeof(job->result));
    if (*finished) /* the upload goes with the job, done or failed */
        (void)pb_import_chunks_delete(app, job->account_id, job->id);
out:
    pb_csv_reader_free(reader);
    if (src != NULL)
        pb_import_source_wipe(src);
    free(src);
    if (s != NULL) {
        /* the batch's addresses and values, in plain */
        pb_arena_wipe(s->arena);
        pb_arena_free(s->arena);
        free(s->values);
        sodium_memzero(s, sizeof(*s));
    }
    free(s);
    return err;
}
