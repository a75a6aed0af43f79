/*
 * The CSV reader of imports: record boundaries found here with a small RFC
 * 4180 state machine (so the byte offset and line after every record are
 * exact, for resuming), cells split and unquoted by libcsv in strict mode.
 */
#include "model/csv.h"

#include <csv.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define READ_SIZE   (64 * 1024) /* bytes asked of the source at a time */
#define REC_INITIAL 4096        /* first size of the record buffer */
#define CSV_OPTIONS (CSV_STRICT | CSV_STRICT_FINI | CSV_APPEND_NULL)

/* Classes of bytes that matter to the splitter, as bits of reader->klass[]. */
#define K_DELIM 0x01
#define K_QUOTE 0x02
#define K_LF    0x04
#define K_CR    0x08
#define K_SPACE 0x10 /* space and tab: libcsv drops them before a cell */

/*
 * Where the splitter is inside a record: at the start of a cell (spaces
 * skipped), in an unquoted cell (a quote there is a literal), in a quoted
 * cell, in a quoted cell just after a CR (a LF then is the same line break),
 * or just after a quote in a quoted cell (a second quote escapes it).
 */
enum split_state { S_START, S_PLAIN, S_QUOTED, S_QUOTED_CR, S_QUOTE_SEEN };

struct pb_csv_reader {
    pb_csv_read_fn source;
    void *cls;
    int64_t base;  /* absolute offset of rbuf[0] */
    int64_t line;  /* line of the byte at base + rpos */
    char delim;    /* ',' or ';'; 0 until detected from the first record */
    bool skip_bom; /* started at offset 0 and the BOM is not looked at yet */
    bool eof;      /* the source said 0: never asked again */

    enum pb_err failed; /* a file-level error, returned again by every later call */
    char failed_why[PB_WHY_MAX];

    struct csv_parser parser;
    unsigned char klass[256];

    /* The current record's bytes, without its line break; cells are written back over it. */
    unsigned char *rec;
    size_t len, cap;

    /* While libcsv splits a record. */
    struct pb_csv_record *out;
    size_t wpos;   /* where the next cell goes in rec */
    bool too_many; /* more than PB_CSV_CELLS_MAX cells */
    bool bad_row;  /* libcsv saw a row end inside the record: splitter and libcsv disagree */
    int long_cell; /* first cell (from 1) longer than PB_CSV_CELL_MAX, or 0 */
    char problem[64];

    size_t rpos, rlen;
    unsigned char rbuf[READ_SIZE];
};

/* Sets the delimiter (0: both ',' and ';' split cells until one is chosen). */
static void
set_delimiter(struct pb_csv_reader *r, char delim)
{
    r->delim = delim;
    memset(r->klass, 0, sizeof(r->klass));
    r->klass['"'] = K_QUOTE;
    r->klass['\n'] = K_LF;
    r->klass['\r'] = K_CR;
    r->klass[' '] = K_SPACE;
    r->klass['\t'] = K_SPACE;
    if (delim != 0) {
        r->klass[(unsigned char)delim] = K_DELIM;
        csv_set_delim(&r->parser, (unsigned char)delim);
    } else {
        r->klass[','] = K_DELIM;
        r->klass[';'] = K_DELIM;
    }
}

enum pb_err
pb_csv_reader_new(pb_csv_read_fn source, void *cls, int64_t offset, int64_t line, char delimiter,
                  struct pb_csv_reader **out)
{
    struct pb_csv_reader *r;

    *out = NULL;
    if (source == NULL || offset < 0 || line < 1 ||
        (delimiter != 0 && delimiter != ',' && delimiter != ';'))
        return PB_ERR_INVALID;
    if ((r = calloc(1, sizeof(*r))) == NULL)
        return PB_ERR_NOMEM;
    r->source = source;
    r->cls = cls;
    r->base = offset;
    r->line = line;
    r->skip_bom = offset == 0;
    r->failed = PB_ERR_OK;
    if (csv_init(&r->parser, CSV_OPTIONS) != 0) {
        free(r);
        return PB_ERR_NOMEM;
    }
    set_delimiter(r, delimiter);
    *out = r;
    return PB_ERR_OK;
}

void
pb_csv_reader_free(struct pb_csv_reader *reader)
{
    if (reader == NULL)
        return;
    csv_free(&reader->parser);
    free(reader->rec);
    free(reader);
}

char
pb_csv_delimiter(const struct pb_csv_reader *reader)
{
    return reader->delim;
}

/*
 * Keeps the unread bytes of the read buffer and asks the source for more.
 * At the end of the file r->eof is set and nothing is added.
 */
static enum pb_err
fill(struct pb_csv_reader *r, char why[PB_WHY_MAX])
{
    size_t keep = r->rlen - r->rpos;
    ssize_t n;

    if (r->rpos > 0) {
        memmove(r->rbuf, r->rbuf + r->rpos, keep);
        r->base += (int64_t)r->rpos;
        r->rpos = 0;
        r->rlen = keep;
    }
    why[0] = '\0';
    n = r->source(r->cls, r->rbuf + keep, sizeof(r->rbuf) - keep, why);
    if (n < 0) {
        if (why[0] == '\0')
            snprintf(why, PB_WHY_MAX, "the file could not be read");
        return PB_ERR_IO;
    }
    if ((size_t)n > sizeof(r->rbuf) - keep) {
        snprintf(why, PB_WHY_MAX, "the file's source returned more bytes than asked");
        return PB_ERR_INTERNAL;
    }
    if (n == 0)
        r->eof = true;
    r->rlen += (size_t)n;
    return PB_ERR_OK;
}

/* Skips a UTF-8 byte order mark at the start of the file, reading up to its three bytes. */
static enum pb_err
skip_bom(struct pb_csv_reader *r, char why[PB_WHY_MAX])
{
    enum pb_err err;

    while (r->rlen - r->rpos < 3 && !r->eof)
        if ((err = fill(r, why)) != PB_ERR_OK)
            return err;
    if (r->rlen - r->rpos >= 3 && memcmp(r->rbuf + r->rpos, "\xef\xbb\xbf", 3) == 0)
        r->rpos += 3;
    r->skip_bom = false;
    return PB_ERR_OK;
}

/*
 * Adds bytes to the current record, refusing to hold more than
 * PB_CSV_RECORD_MAX (one more byte of room is kept for the last cell's NUL).
 */
static enum pb_err
append(struct pb_csv_reader *r, const unsigned char *p, size_t n, int64_t start,
       char why[PB_WHY_MAX])
{
    if (n == 0)
        return PB_ERR_OK;
    if (n > PB_CSV_RECORD_MAX - r->len) {
        snprintf(why, PB_WHY_MAX,
                 "line %" PRId64 ": a record longer than %d MiB; is this a CSV file?", start,
                 PB_CSV_RECORD_MAX / (1024 * 1024));
        return PB_ERR_INVALID;
    }
    if (r->len + n + 1 > r->cap) {
        size_t cap = r->cap ? r->cap : REC_INITIAL;
        unsigned char *p2;

        while (cap < r->len + n + 1)
            cap *= 2;
        if (cap > PB_CSV_RECORD_MAX + 1)
            cap = PB_CSV_RECORD_MAX + 1;
        if ((p2 = realloc(r->rec, cap)) == NULL) {
            snprintf(why, PB_WHY_MAX, "line %" PRId64 ": out of memory", start);
            return PB_ERR_NOMEM;
        }
        r->rec = p2;
        r->cap = cap;
    }
    memcpy(r->rec + r->len, p, n);
    r->len += n;
    return PB_ERR_OK;
}

/*
 * Finds the next record that is not blank and copies its bytes, without its
 * line break, to r->rec; `start` gets its first line and `semis`/`seps` how
 * many ';' and delimiters it has outside quotes (for detection). A record
 * ends at a LF or CR outside quotes, CR LF being one line break. Line breaks
 * inside quotes are counted too. A quote inside an unquoted cell is taken
 * as a literal, as libcsv's non-strict mode would, so that one stray quote
 * cannot make the rest of the file one record; libcsv flags it afterwards.
 * A line of nothing but spaces and tabs is blank: libcsv gives no cell for it.
 */
static enum pb_err
split(struct pb_csv_reader *r, int64_t *start, size_t *seps_out, size_t *semis_out,
      char why[PB_WHY_MAX])
{
    const unsigned char *k = r->klass;
    enum split_state st = S_START;
    size_t seps = 0, semis = 0;
    bool cr_pending = false; /* the record ended at a CR that was the last byte read */
    enum pb_err err;

    r->len = 0;
    *start = r->line;
    for (;;) {
        if (r->rpos == r->rlen && !r->eof && (err = fill(r, why)) != PB_ERR_OK)
            return err;
        if (cr_pending) {
            if (r->rpos < r->rlen && r->rbuf[r->rpos] == '\n')
                r->rpos++;
            cr_pending = false;
        } else if (r->rpos == r->rlen) {
            if (st == S_QUOTED || st == S_QUOTED_CR) {
                snprintf(why, PB_WHY_MAX, "line %" PRId64 ": a quote that is never closed", *start);
                return PB_ERR_INVALID;
            }
            if (st == S_START && seps == 0)
                return PB_ERR_NOT_FOUND;
            /* The last record, without a line break. */
        } else {
            const unsigned char *b = r->rbuf;
            size_t i = r->rpos, n = r->rlen;
            unsigned char c = 0;

            while (i < n) {
                c = b[i];
                switch (st) {
                case S_START:
                    if (k[c] & (K_LF | K_CR))
                        goto eol;
                    if (c == '"') {
                        st = S_QUOTED;
                    } else if (k[c] & K_DELIM) {
                        seps++;
                        semis += c == ';';
                    } else if (!(k[c] & K_SPACE)) {
                        st = S_PLAIN;
                    }
                    i++;
                    break;
                case S_PLAIN:
                    while (i < n && !(k[b[i]] & (K_DELIM | K_LF | K_CR)))
                        i++;
                    if (i == n)
                        break;
                    c = b[i];
                    if (!(k[c] & K_DELIM))
                        goto eol;
                    seps++;
                    semis += c == ';';
                    st = S_START;
                    i++;
                    break;
                case S_QUOTED:
                    while (i < n && !(k[b[i]] & (K_QUOTE | K_LF | K_CR)))
                        i++;
                    if (i == n)
                        break;
                    c = b[i++];
                    if (c == '"') {
                        st = S_QUOTE_SEEN;
                    } else {
                        r->line++;
                        if (c == '\r')
                            st = S_QUOTED_CR;
                    }
                    break;
                case S_QUOTED_CR:
                    if (c == '\n')
                        i++;
                    st = S_QUOTED;
                    break;
                case S_QUOTE_SEEN:
                    if (k[c] & (K_LF | K_CR))
                        goto eol;
                    if (c == '"') {
                        st = S_QUOTED;
                    } else if (k[c] & K_DELIM) {
                        seps++;
                        semis += c == ';';
                        st = S_START;
                    } else {
                        st = S_PLAIN; /* junk after the closing quote: libcsv flags it */
                    }
                    i++;
                    break;
                }
            }
            /* No line break in what was read: keep it all and read on. */
            if ((err = append(r, b + r->rpos, n - r->rpos, *start, why)) != PB_ERR_OK)
                return err;
            r->rpos = n;
            continue;
        eol:
            if ((err = append(r, b + r->rpos, i - r->rpos, *start, why)) != PB_ERR_OK)
                return err;
            r->line++;
            r->rpos = i + 1;
            if (c == '\r') {
                if (r->rpos == n) {
                    cr_pending = true;
                    continue;
                }
                if (b[r->rpos] == '\n')
                    r->rpos++;
            }
        }
        if (st == S_START && seps == 0) {
            /* A blank line: counted, not returned. */
            r->len = 0;
            *start = r->line;
            continue;
        }
        *seps_out = seps;
        *semis_out = semis;
        return PB_ERR_OK;
    }
}

/*
 * libcsv's cell callback: stores the unquoted cell back into the record
 * buffer. That is safe because unquoting never lengthens a cell and libcsv
 * calls this only once it has read the delimiter after the cell, so the
 * bytes written over (the cell, its delimiter as the NUL) are already read.
 */
static void
on_cell(void *s, size_t len, void *data)
{
    struct pb_csv_reader *r = data;
    struct pb_csv_record *rec = r->out;
    unsigned char *dst;

    if (rec->ncells == PB_CSV_CELLS_MAX) {
        r->too_many = true;
        return;
    }
    if (len + 1 > r->len + 1 - r->wpos) {
        r->bad_row = true; /* cannot happen, see above; never write past the record */
        return;
    }
    if (len > PB_CSV_CELL_MAX && r->long_cell == 0)
        r->long_cell = rec->ncells + 1;
    dst = r->rec + r->wpos;
    memcpy(dst, s, len);
    dst[len] = '\0';
    rec->cells[rec->ncells] = (const char *)dst;
    rec->lens[rec->ncells] = len;
    rec->ncells++;
    r->wpos += len + 1;
}

/* libcsv's row callback: csv_fini ends the row with -1; a real line break means disagreement. */
static void
on_row(int c, void *data)
{
    struct pb_csv_reader *r = data;

    if (c != -1)
        r->bad_row = true;
}

/*
 * Makes sure libcsv's cell buffer holds the whole record, so that it grows
 * at most once per record and geometrically (libcsv adds blk_size at a time).
 */
static void
size_parser(struct pb_csv_reader *r)
{
    size_t have = csv_get_buffer_size(&r->parser), need = r->len + 2, want;

    if (have >= need)
        return;
    want = have * 2;
    if (want > PB_CSV_RECORD_MAX + 2)
        want = PB_CSV_RECORD_MAX + 2;
    if (want < need)
        want = need;
    csv_set_blk_size(&r->parser, want - have);
}

/* Puts libcsv back at the start of a row after it stopped on an error. */
static void
reset_parser(struct pb_csv_reader *r)
{
    csv_set_opts(&r->parser, 0); /* without STRICT_FINI csv_fini always resets; no callbacks */
    csv_fini(&r->parser, NULL, NULL, NULL);
    csv_set_opts(&r->parser, CSV_OPTIONS);
}

/* Splits r->rec into rec's cells with libcsv and says what is wrong with the record, if anything.
 */
static enum pb_err
parse(struct pb_csv_reader *r, struct pb_csv_record *rec, char why[PB_WHY_MAX])
{
    bool nul = memchr(r->rec, '\0', r->len) != NULL; /* before cells overwrite the bytes */
    bool quote = false;
    size_t bad_at;

    rec->ncells = 0;
    rec->problem = NULL;
    r->out = rec;
    r->wpos = 0;
    r->too_many = false;
    r->bad_row = false;
    r->long_cell = 0;

    size_parser(r);
    if (csv_parse(&r->parser, r->rec, r->len, on_cell, on_row, r) != r->len) {
        if (csv_error(&r->parser) != CSV_EPARSE) {
            reset_parser(r);
            snprintf(why, PB_WHY_MAX, "line %" PRId64 ": out of memory splitting a record",
                     rec->line);
            return PB_ERR_NOMEM;
        }
        quote = true;
        reset_parser(r);
    } else if (csv_fini(&r->parser, on_cell, on_row, r) != 0) {
        quote = true;
        reset_parser(r);
    }
    r->out = NULL;

    if (nul) {
        rec->problem = "contains a NUL byte";
    } else if (quote || r->bad_row) {
        rec->problem = "a quote inside an unquoted cell";
    } else if (r->too_many) {
        snprintf(r->problem, sizeof(r->problem), "more than %d cells", PB_CSV_CELLS_MAX);
        rec->problem = r->problem;
    } else if (r->long_cell != 0) {
        snprintf(r->problem, sizeof(r->problem), "cell %d is longer than %d bytes", r->long_cell,
                 PB_CSV_CELL_MAX);
        rec->problem = r->problem;
    } else {
        for (int i = 0; i < rec->ncells; i++) {
            if (!pb_csv_utf8_valid(rec->cells[i], rec->lens[i], &bad_at)) {
                snprintf(r->problem, sizeof(r->problem), "not UTF-8 (byte 0x%02X in cell %d)",
                         (unsigned char)rec->cells[i][bad_at], i + 1);
                rec->problem = r->problem;
                break;
            }
        }
    }
    return PB_ERR_OK;
}

/* Remembers a file-level error: reading stops there for good. */
static enum pb_err
fail(struct pb_csv_reader *r, enum pb_err err, const char *why)
{
    r->failed = err;
    snprintf(r->failed_why, sizeof(r->failed_why), "%s", why);
    return err;
}

enum pb_err
pb_csv_next(struct pb_csv_reader *r, struct pb_csv_record *rec, char why[PB_WHY_MAX])
{
    size_t seps = 0, semis = 0;
    int64_t start;
    enum pb_err err;

    if (r->failed != PB_ERR_OK) {
        snprintf(why, PB_WHY_MAX, "%s", r->failed_why);
        return r->failed;
    }
    if (r->skip_bom && (err = skip_bom(r, why)) != PB_ERR_OK)
        return fail(r, err, why);
    if ((err = split(r, &start, &seps, &semis, why)) != PB_ERR_OK)
        return err == PB_ERR_NOT_FOUND ? err : fail(r, err, why);
    if (r->delim == 0)
        set_delimiter(r, semis > seps - semis ? ';' : ',');
    rec->line = start;
    rec->end_offset = r->base + (int64_t)r->rpos;
    rec->end_line = r->line;
    if ((err = parse(r, rec, why)) != PB_ERR_OK)
        return fail(r, err, why);
    return PB_ERR_OK;
}

bool
pb_csv_utf8_valid(const char *s, size_t len, size_t *bad_at)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t i = 0;

    while (i < len) {
        unsigned char c, lo = 0x80, hi = 0xbf;
        size_t need;
        uint64_t w;

        /* ASCII, eight bytes at a time, then one at a time. */
        while (len - i >= 8) {
            memcpy(&w, p + i, 8);
            if (w & UINT64_C(0x8080808080808080))
                break;
            i += 8;
        }
        while (i < len && p[i] < 0x80)
            i++;
        if (i == len)
            break;
        /* A sequence: the lead byte fixes its length and the range of its second byte. */
        c = p[i];
        if (c >= 0xc2 && c <= 0xdf) {
            need = 1;
        } else if (c >= 0xe0 && c <= 0xef) {
            need = 2;
            if (c == 0xe0)
                lo = 0xa0; /* overlong below U+0800 */
            else if (c == 0xed)
                hi = 0x9f; /* surrogates U+D800..DFFF */
        } else if (c >= 0xf0 && c <= 0xf4) {
            need = 3;
            if (c == 0xf0)
                lo = 0x90; /* overlong below U+10000 */
            else if (c == 0xf4)
                hi = 0x8f; /* past U+10FFFF */
        } else {
            goto bad; /* a continuation byte, an overlong C0/C1, or F5..FF */
        }
        if (len - i <= need || p[i + 1] < lo || p[i + 1] > hi)
            goto bad;
        for (size_t j = 2; j <= need; j++)
            if ((p[i + j] & 0xc0) != 0x80)
                goto bad;
        i += need + 1;
    }
    return true;
bad:
    if (bad_at != NULL)
        *bad_at = i;
    return false;
}
