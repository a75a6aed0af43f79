/*
 * Exporting the members of a list as CSV or JSON (mission feature 5), pull
 * style: the caller opens an export, reads bytes from it as fast as its
 * sink takes them (an HTTP connection, stdout), and closes it.
 *
 * Memory stays the same whatever the size of the list: contacts are fetched
 * 500 at a time (keyset pagination on contact id, one short read
 * transaction per batch, values of the whole batch in one query), and only
 * the encoded text of one batch is held, in a buffer of fixed size. Sealed
 * values are opened in memory only and every buffer that held plain text
 * is wiped.
 *
 * Closing writes one audit entry "contacts.exported" (list, format, rows
 * handed out, whether the export ran to its end), also for an export cut
 * short (a client that went away).
 */
#ifndef PB_MODEL_EXPORT_H
#define PB_MODEL_EXPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "model/app.h"

#define PB_EXPORT_BATCH 500 /* contacts per read transaction */

enum pb_export_format { PB_EXPORT_CSV, PB_EXPORT_JSON };

/* Parses "csv" or "json"; PB_ERR_INVALID otherwise. */
enum pb_err
pb_export_format_parse(const char *name, enum pb_export_format *out);

/* "csv" or "json". */
const char *
pb_export_format_name(enum pb_export_format format);

/* What to export, for whom; the strings are copied by pb_export_open. */
struct pb_export_params {
    const char *account_id;
    const char *list_id;
    enum pb_export_format format;
    /*
     * Whether the caller may see addresses and sensitive values
     * (contacts.view_addresses): without it addresses are masked and
     * sensitive fields are no columns at all.
     */
    bool reveal;
    const char *actor_user_id; /* the user for the audit entry; NULL or "" for none (CLI) */
    const char *actor;         /* "user:ID", "api_key:ID" or "cli", in the entry's detail */
    const char *client_ip;     /* NULL for none */
};

struct pb_export;

/*
 * Starts an export: checks that the list is the account's (PB_ERR_NOT_FOUND
 * otherwise), reads the account's fields once for the columns (email, then
 * the field keys in key order) and prepares the header. The export is
 * self-contained (it borrows only `app`), so it may be read and closed on
 * another thread and after the caller's memory is gone.
 */
enum pb_err
pb_export_open(struct pb_app *app, const struct pb_export_params *params, struct pb_export **out);

/*
 * Copies the next bytes of the export, at most `cap` (> 0), into `buf`;
 * `*got` is 0 at the end. An error (the store failing) ends the export: it stays
 * incomplete.
 */
enum pb_err
pb_export_read(struct pb_export *x, char *buf, size_t cap, size_t *got);

/*
 * Ends an export, writes its audit entry and frees it. `rows` (may be NULL)
 * gets the rows handed out whole, `complete` (may be NULL) whether every
 * byte was read. Returns the error of writing the audit entry, if any (it
 * is logged too).
 */
enum pb_err
pb_export_close(struct pb_export *x, int64_t *rows, bool *complete);

/* Frees an export that was never read, without an audit entry (a HEAD request). */
void
pb_export_discard(struct pb_export *x);

/*
 * One CSV cell (RFC 4180) of `len` bytes at `s` into `out`: quoted when it
 * holds a comma, a quote, CR or LF (quotes doubled); a cell starting with
 * =, +, -, @, TAB or CR gets a ' in front, so that a spreadsheet never
 * takes it for a formula (OWASP, CSV injection). Returns the bytes written
 * (no NUL), or -1 when they would not fit in `cap`. At most 2 * len + 3.
 */
ssize_t
pb_export_csv_cell(const char *s, size_t len, char *out, size_t cap);

/*
 * A JSON string (with its quotes) of `len` bytes at `s` into `out`: ", \
 * and control characters escaped, bytes that are not UTF-8 replaced with
 * U+FFFD. Returns the bytes written, or -1 when they would not fit in `cap`.
 * At most 6 * len + 2.
 */
ssize_t
pb_export_json_string(const char *s, size_t len, char *out, size_t cap);

#endif
