/*
 * CSV imports (mission feature 3 for its biggest channel): an uploaded file
 * is stored sealed, in chunks, in the account's database; a job checks the
 * whole file first (so that a file-level problem leaves nothing imported),
 * then imports it in batches, each batch one transaction that also moves
 * the job's checkpoint, so that a crash or a restart resumes exactly where
 * the last committed batch ended. Every address subscribed to a list gets an
 * `imported` consent event naming the import's statement, the job and the
 * actor. Rejected lines are recorded with their line number and the reason.
 */
#ifndef PB_MODEL_IMPORT_H
#define PB_MODEL_IMPORT_H

#include <stdbool.h>
#include <stdint.h>

#include <jansson.h>

#include "model/app.h"
#include "model/auth.h"
#include "model/consent.h"
#include "model/contact.h"
#include "store/store.h"

#define PB_IMPORT_UPLOAD_MAX   ((size_t)2 * 1024 * 1024 * 1024) /* bytes of one uploaded file */
#define PB_IMPORT_KIND         "import"                         /* the job kind */
#define PB_IMPORT_REJECTS_KEPT 10000 /* rejected lines recorded per import (all are counted) */

/* ---- uploading ---- */

struct pb_import_upload;

/* Starts storing a file for `account_id`; its id becomes the import's id. */
enum pb_err
pb_import_upload_begin(struct pb_app *app, const char *account_id, struct pb_import_upload **out);

/* Appends bytes, sealing and storing every full chunk. PB_ERR_TOO_LARGE past PB_IMPORT_UPLOAD_MAX.
 */
enum pb_err
pb_import_upload_write(struct pb_import_upload *up, const void *data, size_t len,
                       char why[PB_WHY_MAX]);

const char *
pb_import_upload_id(const struct pb_import_upload *up);

/* Bytes written so far. */
int64_t
pb_import_upload_size(const struct pb_import_upload *up);

/*
 * Frees the upload; with `discard`, first deletes what was stored (an
 * upload that will not be imported: refused, or cut off).
 */
void
pb_import_upload_free(struct pb_import_upload *up, bool discard);

/* ---- starting and following an import ---- */

/* What the caller asks for, besides the file. */
struct pb_import_request {
    const char *list_ids[PB_CONTACT_LISTS_MAX];
    int list_count;
    const struct pb_consent_input *consent; /* NULL: none given */
    const char *mode;                       /* "add" (NULL: the default) or "upsert" */
    /*
     * NULL, or a JSON object mapping header names to "email", a field key,
     * or null to leave that column out. Unmapped columns are matched to
     * "email" and field keys by name (case-insensitive); a column that
     * matches nothing is refused, so nothing is dropped silently.
     */
    json_t *columns;
    const char *client_ip; /* the caller's address, for the audit log (NULL: none) */
    /*
     * Add new addresses even when they are on the suppression list (erased
     * or bounced before), lifting their suppression: owners only, with a
     * fresh statement (`consent` with basis and description). Without it,
     * such lines are rejected and counted as `suppressed`.
     */
    bool override_suppression;
};

/*
 * Stores the rest of the upload, checks the request (lists of the account,
 * a statement when a list is public, the mode) and the file's header (UTF-8,
 * a delimiter, an email column, every column mapped), creates the statement
 * when a new one is given, and queues the import job (its id into `id`).
 * Errors name the bad part in `field` ("file", "list_ids", "consent",
 * "consent.basis", "mode", "columns", ...) with `why`; PB_ERR_FORBIDDEN
 * ("override_suppression") when someone other than an owner asks for the
 * override, PB_ERR_CONSENT_REQUIRED ("consent") when the override comes
 * without a fresh statement. On any error the caller frees the upload with
 * discard.
 */
enum pb_err
pb_import_start(struct pb_app *app, const struct pb_principal *who, struct pb_import_upload *up,
                const struct pb_import_request *in, const struct pb_consent_origin *origin,
                char id[PB_ID_LEN + 1], const char **field, char why[PB_WHY_MAX]);

/*
 * An import as JSON: {id, state, rows_done, rows_total, counts: {added,
 * updated, skipped, invalid, duplicates, suppressed}, lists, mode,
 * statement_id, error, rejects: [{line, reason}] (after line `after_line`,
 * at most `limit`), next_cursor, created_at, updated_at}.
 * PB_ERR_NOT_FOUND for an id that is not an import of the account.
 */
enum pb_err
pb_import_get_json(struct pb_app *app, const char *account_id, const char *id, int64_t after_line,
                   int limit, json_t **out);

/*
 * One bounded step of the import job `job` (called by the jobs runner):
 * moves job->cursor and progress on. `*finished` when the job is over:
 * PB_ERR_OK and job->result set, or an error with `why` (the job failed;
 * nothing of the file was imported when it failed while checking it).
 */
enum pb_err
pb_import_step(struct pb_app *app, struct pb_job *job, bool *finished, char why[PB_WHY_MAX]);

#endif
