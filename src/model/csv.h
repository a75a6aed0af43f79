/*
 * Reading an uploaded CSV file record by record (RFC 4180), for imports.
 *
 * The reader pulls bytes from a source, finds where each record ends (a
 * line break outside quotes) and hands the record to libcsv to split into
 * cells. Because it knows the exact byte offset after every record, an
 * import can checkpoint there and resume after a crash from that offset.
 *
 * Memory is bounded whatever the file: one read buffer and one record of at
 * most PB_CSV_RECORD_MAX bytes.
 *
 * Problems come in two sizes. A record-level problem (a NUL byte, a stray
 * quote, bytes that are not UTF-8, too many cells, a cell too long) is
 * reported in the record's `problem` and reading goes on. A file-level
 * problem (a record longer than PB_CSV_RECORD_MAX, a quote never closed, a
 * read error) ends reading: the file cannot be trusted past it.
 *
 * Like libcsv, spaces and tabs around unquoted cells and around quotes are
 * dropped (inside quotes they stay), and a line of nothing but spaces and
 * tabs is blank.
 */
#ifndef PB_MODEL_CSV_H
#define PB_MODEL_CSV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "core/err.h"

#define PB_CSV_RECORD_MAX (1024 * 1024) /* bytes of one record, quoted line breaks included */
#define PB_CSV_CELLS_MAX  256           /* cells of one record */
#define PB_CSV_CELL_MAX   4000          /* bytes of one cell (PB_VALUE_MAX) */

/*
 * A source of bytes: copies up to `cap` bytes into `buf` and returns how
 * many, 0 at the end, or -1 on error with `why` set.
 */
typedef ssize_t (*pb_csv_read_fn)(void *cls, unsigned char *buf, size_t cap, char why[PB_WHY_MAX]);

struct pb_csv_reader;

struct pb_csv_record {
    int64_t line;       /* line number (from 1) where the record starts */
    int64_t end_offset; /* absolute byte offset just past the record: resume here */
    int64_t end_line;   /* line number of the byte at end_offset */
    int ncells;
    /* The cells, unquoted and NUL-terminated; valid until the next pb_csv_next(). */
    const char *cells[PB_CSV_CELLS_MAX];
    size_t lens[PB_CSV_CELLS_MAX];
    /*
     * NULL, or what is wrong with this record, in words fit for a report
     * (never the record's content): "contains a NUL byte", "not UTF-8 (byte
     * 0xE9 in cell 2)", "a quote inside an unquoted cell", "more than 256
     * cells", "cell 3 is longer than 4000 bytes". Cells are then unreliable.
     */
    const char *problem;
};

/*
 * A reader of the source `read`/`cls`, which is positioned at absolute byte
 * `offset` of the file, that byte being on line `line` (0 and 1 for the
 * start). At offset 0 a UTF-8 byte order mark is skipped. `delimiter` is ','
 * or ';', or 0 to detect it from the first record (the header): the one of
 * the two that occurs more often outside quotes, ',' on a tie.
 * PB_ERR_NOMEM, or PB_ERR_INVALID for a bad delimiter.
 */
enum pb_err
pb_csv_reader_new(pb_csv_read_fn read, void *cls, int64_t offset, int64_t line, char delimiter,
                  struct pb_csv_reader **out);

void
pb_csv_reader_free(struct pb_csv_reader *reader);

/*
 * The next record that is not blank (blank lines are skipped, but counted
 * in line numbers). PB_ERR_OK with `rec` filled; PB_ERR_NOT_FOUND at the end
 * of the file; otherwise a file-level problem: PB_ERR_INVALID with `why`
 * naming the line ("line 7: a record longer than 1 MiB; is this a CSV
 * file?", "line 3: a quote that is never closed"), or PB_ERR_IO with the
 * source's `why` when it fails. After a file-level problem every later call
 * returns it again.
 */
enum pb_err
pb_csv_next(struct pb_csv_reader *reader, struct pb_csv_record *rec, char why[PB_WHY_MAX]);

/* The delimiter in use (detected with the first record when it was 0; 0 until then). */
char
pb_csv_delimiter(const struct pb_csv_reader *reader);

/*
 * Whether `len` bytes at `s` are valid UTF-8 (no overlongs, no surrogates,
 * nothing past U+10FFFF); if not, `bad_at` (may be NULL) gets the offset of
 * the first byte of the first bad sequence.
 */
bool
pb_csv_utf8_valid(const char *s, size_t len, size_t *bad_at);

#endif
