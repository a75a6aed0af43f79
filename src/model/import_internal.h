/*
 * What the parts of the import model share: reading a stored upload back as
 * a byte stream (for the CSV reader), and the import's parameters and
 * checkpoint as the job keeps them.
 */
#ifndef PB_MODEL_IMPORT_INTERNAL_H
#define PB_MODEL_IMPORT_INTERNAL_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "crypto/keys.h"
#include "model/app.h"
#include "model/csv.h"
#include "model/import.h"

/* ---- reading an upload back ---- */

/* A stored upload read from a byte offset on, one opened chunk at a time. */
struct pb_import_source {
    struct pb_app *app;
    const char *account_id;
    const char *import_id;
    const struct pb_data_key *key;
    int64_t next_chunk; /* the chunk to load when `plain` is used up */
    size_t skip;        /* bytes of that chunk before the offset asked for */
    size_t pos;         /* next byte of `plain` to hand out */
    size_t len;         /* bytes in `plain` */
    bool at_end;        /* the last chunk is loaded (or there is none) */
    unsigned char plain[PB_IMPORT_CHUNK_BYTES];
    unsigned char sealed[PB_IMPORT_CHUNK_SEALED_MAX];
};

/* Positions `src` (caller's memory: it is large) at byte `offset` of the upload. */
enum pb_err
pb_import_source_init(struct pb_import_source *src, struct pb_app *app, const char *account_id,
                      const char *import_id, int64_t offset);

/* A pb_csv_read_fn over a pb_import_source. */
ssize_t
pb_import_source_read(void *cls, unsigned char *buf, size_t cap, char why[PB_WHY_MAX]);

/* Wipes the plain bytes it holds. */
void
pb_import_source_wipe(struct pb_import_source *src);

/* Stores the last, partial chunk of an upload (once it is complete). */
enum pb_err
pb_import_upload_finish(struct pb_import_upload *up);

/* Deletes the stored chunks of an upload (when its job ends, or it is refused). */
enum pb_err
pb_import_chunks_delete(struct pb_app *app, const char *account_id, const char *import_id);

/* Where chunk `n` of an upload is sealed: opening it elsewhere fails. */
void
pb_import_chunk_place(const char *account_id, const char *import_id, int64_t n, char place[128]);

/* ---- the job's parameters and checkpoint ---- */

#define PB_IMPORT_COLUMNS_MAX PB_CSV_CELLS_MAX

/* The job's parameters, fixed when it is queued. */
struct pb_import_params {
    char lists[PB_CONTACT_LISTS_MAX][PB_ID_LEN + 1];
    int list_count;
    char statement_id[PB_ID_LEN + 1]; /* "" : none (no public list) */
    bool upsert;
    bool override_suppression; /* new addresses on the suppression list are added (owner) */
    char actor[PB_ACTOR_MAX + 1];
    char channel[16];
    char delimiter;
    int64_t header_end;  /* byte offset after the header record */
    int64_t header_line; /* line number at header_end */
    int ncolumns;
    /* per column: "email", a field key, or "" (left out) */
    char columns[PB_IMPORT_COLUMNS_MAX][PB_FIELD_KEY_MAX + 1];
};

/* The checkpoint: where the job is and what it counted so far. */
struct pb_import_cursor {
    bool importing; /* false: still checking the file */
    int64_t offset; /* next byte to read */
    int64_t line;   /* its line number */
    int64_t rows;   /* data rows checked (checking) or processed (importing) */
    int64_t added, updated, skipped, invalid, duplicates, suppressed;
    int64_t rejects_kept; /* rejected lines recorded (at most PB_IMPORT_REJECTS_KEPT) */
};

/* As JSON text for job->params; PB_ERR_TOO_LARGE when it exceeds PB_JOB_PARAMS_MAX. */
enum pb_err
pb_import_params_encode(const struct pb_import_params *p, char out[PB_JOB_PARAMS_MAX + 1]);

enum pb_err
pb_import_params_decode(const char *text, struct pb_import_params *p);

void
pb_import_cursor_encode(const struct pb_import_cursor *c, char out[PB_JOB_CURSOR_MAX + 1]);

/* "" gives the start: checking, from the header's end (the caller sets offset and line). */
enum pb_err
pb_import_cursor_decode(const char *text, struct pb_import_cursor *c);

/* The counts of a cursor as a JSON object. */
json_t *
pb_import_counts_json(const struct pb_import_cursor *c);

#endif
