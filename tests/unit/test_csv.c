/* Unit tests for model/csv: record boundaries, line numbers and offsets, problems, resuming,
 * limits.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/err.h"
#include "model/csv.h"

/* Current heap use, to check that a huge line is never held whole. */
#if defined(__SANITIZE_ADDRESS__)
#define TEST_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define TEST_ASAN 1
#endif
#endif
#ifdef TEST_ASAN
size_t
__sanitizer_get_current_allocated_bytes(void);

static size_t
heap_now(void)
{
    return __sanitizer_get_current_allocated_bytes();
}
#else
#include <malloc.h>

static size_t
heap_now(void)
{
    struct mallinfo2 mi = mallinfo2();
    return mi.uordblks + mi.hblkhd;
}
#endif

#define MIB (1024 * 1024)

/* A source over bytes in memory, handing out at most `chunk` bytes a call (0: as many as asked). */
struct mem_src {
    const unsigned char *data;
    size_t len, pos, chunk;
    bool fails; /* a read error once fail_at bytes were handed out */
    size_t fail_at;
};

static ssize_t
mem_read(void *cls, unsigned char *buf, size_t cap, char why[PB_WHY_MAX])
{
    struct mem_src *m = cls;
    size_t end = m->fails ? m->fail_at : m->len;
    size_t n = end - m->pos;

    if (m->fails && m->pos == m->fail_at) {
        snprintf(why, PB_WHY_MAX, "disk on fire");
        return -1;
    }
    if (n > cap)
        n = cap;
    if (m->chunk && n > m->chunk)
        n = m->chunk;
    memcpy(buf, m->data + m->pos, n);
    m->pos += n;
    return (ssize_t)n;
}

/* Appends a cell to `f` with line breaks, NULs and non-ASCII bytes escaped, so a record is one
 * line. */
static void
put_cell(FILE *f, const char *s, size_t len)
{
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '\n')
            fputs("\\n", f);
        else if (c == '\r')
            fputs("\\r", f);
        else if (c < 0x20 || c >= 0x7f)
            fprintf(f, "\\x%02x", c);
        else
            fputc(c, f);
    }
}

/* Everything a reader gives for a file: one line per record, then how reading ended. */
struct run {
    char *text;
    int n;
    int64_t ends[64], end_lines[64];
    char delim;
};

static void
run_reader(struct run *out, const void *data, size_t len, int64_t offset, int64_t line, char delim,
           size_t chunk)
{
    struct mem_src m = {.data = data, .len = len, .chunk = chunk};
    struct pb_csv_reader *r;
    struct pb_csv_record rec;
    char why[PB_WHY_MAX];
    size_t size;
    FILE *f = open_memstream(&out->text, &size);
    enum pb_err err;

    assert_non_null(f);
    out->n = 0;
    assert_int_equal(pb_csv_reader_new(mem_read, &m, offset, line, delim, &r), PB_ERR_OK);
    while ((err = pb_csv_next(r, &rec, why)) == PB_ERR_OK) {
        assert_true(out->n < 64);
        out->ends[out->n] = rec.end_offset;
        out->end_lines[out->n] = rec.end_line;
        out->n++;
        fprintf(f, "%" PRId64 " %" PRId64 " %" PRId64 " %d:", rec.line, rec.end_offset,
                rec.end_line, rec.ncells);
        for (int i = 0; i < rec.ncells; i++) {
            assert_int_equal(rec.cells[i][rec.lens[i]], '\0');
            fputc(i ? '|' : ' ', f);
            put_cell(f, rec.cells[i], rec.lens[i]);
        }
        if (rec.problem)
            fprintf(f, " !%s", rec.problem);
        fputc('\n', f);
    }
    fprintf(f, "END %s", pb_err_name(err));
    if (err != PB_ERR_NOT_FOUND)
        fprintf(f, " %s", why);
    fputc('\n', f);
    out->delim = pb_csv_delimiter(r);
    pb_csv_reader_free(r);
    fclose(f);
}

/* The text of a whole file read with the delimiter detected. */
static char *
read_text(const char *data, size_t len, size_t chunk)
{
    struct run run;
    run_reader(&run, data, len, 0, 1, 0, chunk);
    return run.text;
}

#define CHECK_TEXT(data, expected)                                                                 \
    do {                                                                                           \
        char *text_ = read_text(data, sizeof(data) - 1, 0);                                        \
        assert_string_equal(text_, expected);                                                      \
        free(text_);                                                                               \
    } while (0)

static void
simple_file_gives_cells_lines_and_offsets(void **state)
{
    (void)state;
    CHECK_TEXT("email,name\na@example.be,Ann\nb@example.be,Bob\n", "1 11 2 2: email|name\n"
                                                                   "2 28 3 2: a@example.be|Ann\n"
                                                                   "3 45 4 2: b@example.be|Bob\n"
                                                                   "END NOT_FOUND\n");
    /* The last record without a line break, and an empty cell at either end. */
    CHECK_TEXT("a,b\n,x,\nlast", "1 4 2 2: a|b\n"
                                 "2 8 3 3: |x|\n"
                                 "3 12 3 1: last\n"
                                 "END NOT_FOUND\n");
}

static void
semicolon_detected_when_more_frequent(void **state)
{
    (void)state;
    struct run run;
    static const char semi[] = "email;name;note\na@x.be;Ann;\"1,5\"\n";
    run_reader(&run, semi, sizeof(semi) - 1, 0, 1, 0, 0);
    assert_int_equal(run.delim, ';');
    assert_string_equal(run.text, "1 16 2 3: email|name|note\n"
                                  "2 33 3 3: a@x.be|Ann|1,5\n"
                                  "END NOT_FOUND\n");
    free(run.text);

    /* A tie is a comma; delimiters inside quotes do not count. */
    static const char tie[] = "a;b,c\n";
    run_reader(&run, tie, sizeof(tie) - 1, 0, 1, 0, 0);
    assert_int_equal(run.delim, ',');
    assert_string_equal(run.text, "1 6 2 2: a;b|c\nEND NOT_FOUND\n");
    free(run.text);
    static const char quoted[] = "\"a;b;c\",d\n";
    run_reader(&run, quoted, sizeof(quoted) - 1, 0, 1, 0, 0);
    assert_int_equal(run.delim, ',');
    assert_string_equal(run.text, "1 10 2 2: a;b;c|d\nEND NOT_FOUND\n");
    free(run.text);

    /* Only the first record counts; a given delimiter is kept. */
    static const char later[] = "a,b\nc;d;e\n";
    run_reader(&run, later, sizeof(later) - 1, 0, 1, 0, 0);
    assert_int_equal(run.delim, ',');
    free(run.text);
    run_reader(&run, later, sizeof(later) - 1, 0, 1, ';', 0);
    assert_int_equal(run.delim, ';');
    assert_string_equal(run.text, "1 4 2 1: a,b\n2 10 3 3: c|d|e\nEND NOT_FOUND\n");
    free(run.text);

    struct pb_csv_reader *r = (struct pb_csv_reader *)1;
    struct mem_src m = {0};
    assert_int_equal(pb_csv_reader_new(mem_read, &m, 0, 1, '\t', &r), PB_ERR_INVALID);
    assert_null(r);
    assert_int_equal(pb_csv_reader_new(mem_read, &m, -1, 1, ',', &r), PB_ERR_INVALID);
    assert_int_equal(pb_csv_reader_new(mem_read, &m, 0, 0, ',', &r), PB_ERR_INVALID);
}

static void
bom_skipped_only_at_offset_zero(void **state)
{
    (void)state;
    static const char bom[] = "\xef\xbb\xbf"
                              "email\nx\n";
    /* Skipped, but still counted in the byte offsets; also when read a byte at a time. */
    for (size_t chunk = 0; chunk <= 2; chunk++) {
        char *text = read_text(bom, sizeof(bom) - 1, chunk);
        assert_string_equal(text, "1 9 2 1: email\n2 11 3 1: x\nEND NOT_FOUND\n");
        free(text);
    }
    /* Elsewhere the same bytes are content. */
    struct run run;
    run_reader(&run, bom, sizeof(bom) - 1, 100, 5, ',', 0);
    assert_string_equal(run.text, "5 109 6 1: \\xef\\xbb\\xbfemail\n6 111 7 1: x\nEND NOT_FOUND\n");
    free(run.text);
    /* A file of just a BOM, or of half a BOM. */
    CHECK_TEXT("\xef\xbb\xbf", "END NOT_FOUND\n");
    CHECK_TEXT("\xef\xbb", "1 2 1 1: \\xef\\xbb !not UTF-8 (byte 0xEF in cell 1)\nEND NOT_FOUND\n");
}

static void
quoted_cells_keep_delimiters_quotes_and_line_breaks(void **state)
{
    (void)state;
    CHECK_TEXT("\"a,b\",\"say \"\"hi\"\"\",\"two\nlines\"\nnext,\"\"\n"
               "\"crlf\r\ninside\",\"cr\rinside\"\nlast,\"\"\"\"\n",
               "1 31 3 3: a,b|say \"hi\"|two\\nlines\n"
               "3 39 4 2: next|\n"
               "4 66 7 2: crlf\\r\\ninside|cr\\rinside\n"
               "7 76 8 2: last|\"\n"
               "END NOT_FOUND\n");
}

static void
crlf_and_lone_cr_end_records(void **state)
{
    (void)state;
    static const char data[] = "a,b\r\nc,d\r\ne\rf\r\r\ng\r";
    static const char *expected = "1 5 2 2: a|b\n"
                                  "2 10 3 2: c|d\n"
                                  "3 12 4 1: e\n"
                                  "4 14 5 1: f\n"
                                  "6 18 7 1: g\n"
                                  "END NOT_FOUND\n";
    /* The CR LF pair may be split between reads: the LF is looked for in the next one. */
    for (size_t chunk = 0; chunk <= 4; chunk++) {
        char *text = read_text(data, sizeof(data) - 1, chunk);
        assert_string_equal(text, expected);
        free(text);
    }
}

static void
blank_lines_are_skipped_but_counted(void **state)
{
    (void)state;
    CHECK_TEXT("\n\na\n\r\n\nb\n\n\r\r\n  \t \nc\n\n", "3 4 4 1: a\n"
                                                       "6 9 7 1: b\n"
                                                       "11 20 12 1: c\n"
                                                       "END NOT_FOUND\n");
    CHECK_TEXT("\n\r\n\r   \n", "END NOT_FOUND\n");
    /* Spaces around unquoted cells and quotes go (libcsv), inside quotes they stay; one comma is
     * two empty cells. */
    CHECK_TEXT(" a , b ,\" c \" \n,\n", "1 15 2 3: a|b| c \n2 17 3 2: |\nEND NOT_FOUND\n");
}

static void
ragged_rows_are_returned_as_they_are(void **state)
{
    (void)state;
    CHECK_TEXT("a,b,c\n1,2\n3,4,5,6\n7\n", "1 6 2 3: a|b|c\n"
                                           "2 10 3 2: 1|2\n"
                                           "3 18 4 4: 3|4|5|6\n"
                                           "4 20 5 1: 7\n"
                                           "END NOT_FOUND\n");
}

static void
nul_byte_is_a_record_problem(void **state)
{
    (void)state;
    static const char data[] = "a,b\nc\0d,e\n\"f\0\",g\nh\n";
    char *text = read_text(data, sizeof(data) - 1, 0);
    assert_string_equal(text, "1 4 2 2: a|b\n"
                              "2 10 3 2: c\\x00d|e !contains a NUL byte\n"
                              "3 17 4 2: f\\x00|g !contains a NUL byte\n"
                              "4 19 5 1: h\n"
                              "END NOT_FOUND\n");
    free(text);
}

static void
latin1_is_flagged_with_its_cell(void **state)
{
    (void)state;
    CHECK_TEXT("name,city\nRen\xe9"
               "e,Li\xe8ge\nok,\"Li\xc3\xa8ge\"\nx,Jos\xe9\n",
               "1 10 2 2: name|city\n"
               "2 22 3 2: Ren\\xe9e|Li\\xe8ge !not UTF-8 (byte 0xE9 in cell 1)\n"
               "3 34 4 2: ok|Li\\xc3\\xa8ge\n"
               "4 41 5 2: x|Jos\\xe9 !not UTF-8 (byte 0xE9 in cell 2)\n"
               "END NOT_FOUND\n");
}

static void
stray_quotes_are_flagged_and_do_not_desynchronise(void **state)
{
    (void)state;
    /* A quote inside an unquoted cell, junk after a closing quote, a quote after spaces after a
     * closing one: each a problem of its record only; the next line is a record again. */
    CHECK_TEXT("a,b\"c,d\nx,y\n5\" screen,\"ok\"\n\"ab\"cd,e\nz\n\"q\" \"r\",s\nlast\n",
               "1 8 2 1: a !a quote inside an unquoted cell\n"
               "2 12 3 2: x|y\n"
               "3 27 4 0: !a quote inside an unquoted cell\n"
               "4 36 5 0: !a quote inside an unquoted cell\n"
               "5 38 6 1: z\n"
               "6 48 7 0: !a quote inside an unquoted cell\n"
               "7 53 8 1: last\n"
               "END NOT_FOUND\n");
}

static void
unterminated_quote_is_a_file_error_naming_its_line(void **state)
{
    (void)state;
    CHECK_TEXT("a,b\n\nc,\"open\nmore\nstuff\n",
               "1 4 2 2: a|b\nEND INVALID line 3: a quote that is never closed\n");
    CHECK_TEXT("\"", "END INVALID line 1: a quote that is never closed\n");
    /* Closed just before the end of the file is fine. */
    CHECK_TEXT("a,\"b\nc\"", "1 7 2 2: a|b\\nc\nEND NOT_FOUND\n");
}

/* A source of a huge record (a prefix, then `total` bytes of 'x', quoted with line breaks or not).
 */
struct gen {
    const char *prefix;
    uint64_t total, given;
    bool quoted;
    size_t peak;
};

static ssize_t
gen_read(void *cls, unsigned char *buf, size_t cap, char why[PB_WHY_MAX])
{
    struct gen *g = cls;
    size_t plen = strlen(g->prefix), n = 0;
    size_t now = heap_now();

    (void)why;
    if (now > g->peak)
        g->peak = now;
    for (; n < cap && g->given < g->total; n++, g->given++) {
        uint64_t at = g->given;
        if (at < plen)
            buf[n] = (unsigned char)g->prefix[at];
        else if (g->quoted && at == plen)
            buf[n] = '"';
        else if (g->quoted && at % 80 == 79)
            buf[n] = '\n';
        else
            buf[n] = 'x';
    }
    return (ssize_t)n;
}

static void
huge_line_is_refused_without_holding_it(void **state)
{
    (void)state;
    for (int quoted = 0; quoted <= 1; quoted++) {
        struct gen g = {
            .prefix = "email\na@b.be\n", .total = (uint64_t)100 * MIB + 13, .quoted = quoted};
        struct pb_csv_reader *r;
        struct pb_csv_record rec;
        char why[PB_WHY_MAX];
        size_t base = heap_now();

        assert_int_equal(pb_csv_reader_new(gen_read, &g, 0, 1, 0, &r), PB_ERR_OK);
        assert_int_equal(pb_csv_next(r, &rec, why), PB_ERR_OK);
        assert_int_equal(pb_csv_next(r, &rec, why), PB_ERR_OK);
        assert_string_equal(rec.cells[0], "a@b.be");
        assert_int_equal(pb_csv_next(r, &rec, why), PB_ERR_INVALID);
        assert_string_equal(why, "line 3: a record longer than 1 MiB; is this a CSV file?");
        /* It stopped reading soon after the limit and held about a record and a read buffer. */
        assert_true(g.given <= PB_CSV_RECORD_MAX + 3 * 64 * 1024);
        assert_true(g.peak - base < 3 * MIB);
        /* The error stays: the file cannot be trusted past it. */
        uint64_t given = g.given;
        why[0] = '\0';
        assert_int_equal(pb_csv_next(r, &rec, why), PB_ERR_INVALID);
        assert_string_equal(why, "line 3: a record longer than 1 MiB; is this a CSV file?");
        assert_int_equal(g.given, given);
        pb_csv_reader_free(r);
    }
}

static void
record_limit_is_exactly_one_mib(void **state)
{
    (void)state;
    for (size_t extra = 0; extra <= 1; extra++) {
        size_t len = PB_CSV_RECORD_MAX + extra;
        char *data = malloc(len + 6);
        assert_non_null(data);
        memset(data, 'y', len);
        memcpy(data + len, "\nnext\n", 6);
        struct run run;
        run_reader(&run, data, len + 6, 0, 1, ',', 0);
        char *nl = strchr(run.text, '\n');
        assert_non_null(nl);
        if (extra == 0) {
            assert_int_equal(run.n, 2);
            assert_int_equal(run.ends[0], PB_CSV_RECORD_MAX + 1);
            assert_non_null(strstr(run.text, " !cell 1 is longer than 4000 bytes\n"));
            assert_string_equal(strstr(run.text, "\n2 "), "\n2 1048582 3 1: next\nEND NOT_FOUND\n");
        } else {
            assert_string_equal(
                run.text, "END INVALID line 1: a record longer than 1 MiB; is this a CSV file?\n");
        }
        free(run.text);
        free(data);
    }
}

static void
cell_count_and_length_limits_are_record_problems(void **state)
{
    (void)state;
    char *data = malloc(8 * 1024);
    assert_non_null(data);
    struct run run;
    size_t n;

    /* 256 cells are fine, 257 are not. */
    for (int cells = 256; cells <= 257; cells++) {
        n = 0;
        for (int i = 0; i < cells; i++)
            n += (size_t)sprintf(data + n, "%s%d", i ? "," : "", i);
        n += (size_t)sprintf(data + n, "\nok\n");
        run_reader(&run, data, n, 0, 1, ',', 0);
        assert_int_equal(run.n, 2);
        char *first_end = strchr(run.text, '\n');
        if (cells == 256) {
            assert_non_null(strstr(run.text, " 256: 0|1|2|"));
            assert_null(memchr(run.text, '!', (size_t)(first_end - run.text)));
        } else {
            assert_non_null(strstr(run.text, " 256: 0|1|2|"));
            assert_memory_equal(first_end - 21, " !more than 256 cells", 21);
        }
        assert_non_null(strstr(run.text, " 1: ok\nEND NOT_FOUND\n"));
        free(run.text);
    }

    /* A cell of 4000 bytes is fine, 4001 are not; the quotes around it do not count. */
    for (size_t len = 4000; len <= 4001; len++) {
        n = (size_t)sprintf(data, "a,b,\"");
        memset(data + n, 'z', len);
        n += len;
        n += (size_t)sprintf(data + n, "\",d\n");
        run_reader(&run, data, n, 0, 1, ',', 0);
        assert_int_equal(run.n, 1);
        if (len == 4000)
            assert_null(strchr(run.text, '!'));
        else
            assert_non_null(strstr(run.text, "zzz|d !cell 3 is longer than 4000 bytes\n"));
        free(run.text);
    }
    free(data);
}

/* A source that fails after handing out part of the file. */
static void
source_error_is_passed_on(void **state)
{
    (void)state;
    static const char data[] = "a,b\nc,d\ne,f\n";
    struct mem_src m = {
        .data = (const unsigned char *)data, .len = sizeof(data) - 1, .fails = true, .fail_at = 6};
    struct pb_csv_reader *r;
    struct pb_csv_record rec;
    char why[PB_WHY_MAX];

    assert_int_equal(pb_csv_reader_new(mem_read, &m, 0, 1, 0, &r), PB_ERR_OK);
    assert_int_equal(pb_csv_next(r, &rec, why), PB_ERR_OK);
    assert_string_equal(rec.cells[1], "b");
    assert_int_equal(pb_csv_next(r, &rec, why), PB_ERR_IO);
    assert_string_equal(why, "disk on fire");
    assert_int_equal(pb_csv_next(r, &rec, why), PB_ERR_IO);
    pb_csv_reader_free(r);

    /* A source failing at once, before the byte order mark could be looked at. */
    m.pos = 0;
    m.fail_at = 0;
    assert_int_equal(pb_csv_reader_new(mem_read, &m, 0, 1, 0, &r), PB_ERR_OK);
    assert_int_equal(pb_csv_next(r, &rec, why), PB_ERR_IO);
    assert_string_equal(why, "disk on fire");
    pb_csv_reader_free(r);
}

/* Files with every kind of record, for resuming and for tiny reads. */
static const char rich_comma[] = "\xef\xbb\xbf"
                                 "email,name,note\r\n"
                                 "a@x.be,\"Ann, the first\",\"two\r\nlines\"\r\n"
                                 "\r\n"
                                 "b@x.be,Bob\r\n"
                                 "c@x.be,\"Cé \"\"C\"\"\",\"cr\rin quotes\"\r"
                                 "d@x.be,D\"oh,x\n"
                                 "\n\n"
                                 "e@x.be,Ren\xe9,\n"
                                 "f@x.be,\"f\0\",z\n"
                                 "=cmd|' /C calc'!A0,\"multi\n\n\nline\"\n"
                                 "last,\"\"";
static const char rich_semi[] = "email;name;amount\n"
                                "a@x.be;Ann;\"1,5\"\n"
                                "b@x.be;\"B;b\";2,0\r"
                                "c@x.be;\"\"\"\";\"\n\"\n"
                                "\n"
                                "d@x.be;d\n";
static const char rich_broken[] = "a,b\nc,\"d\ne\"\nf,g\nh,\"never\nclosed\n";

/* Reads `data` whole, then again from every record's end with a fresh reader, and compares. */
static void
check_resume(const char *data, size_t len, char delim, int records)
{
    struct run whole;
    run_reader(&whole, data, len, 0, 1, 0, 0);
    assert_int_equal(whole.delim, delim);
    assert_int_equal(whole.n, records);
    const char *tail = whole.text;
    for (int k = 0; k < whole.n; k++) {
        tail = strchr(tail, '\n') + 1;
        size_t off = (size_t)whole.ends[k];
        for (size_t chunk = 0; chunk <= 3; chunk += 3) {
            struct run part;
            run_reader(&part, data + off, len - off, whole.ends[k], whole.end_lines[k], delim,
                       chunk);
            assert_string_equal(part.text, tail);
            free(part.text);
        }
    }
    free(whole.text);
}

static void
resume_from_every_record_end_gives_the_same_records(void **state)
{
    (void)state;
    check_resume(rich_comma, sizeof(rich_comma) - 1, ',', 9);
    check_resume(rich_semi, sizeof(rich_semi) - 1, ';', 5);
    check_resume(rich_broken, sizeof(rich_broken) - 1, ',', 3);

    /* What the rich file gives, for the record. */
    char *text = read_text(rich_comma, sizeof(rich_comma) - 1, 0);
    assert_string_equal(text, "1 20 2 3: email|name|note\n"
                              "2 58 4 3: a@x.be|Ann, the first|two\\r\\nlines\n"
                              "5 72 6 2: b@x.be|Bob\n"
                              "6 106 8 3: c@x.be|C\\xc3\\xa9 \"C\"|cr\\rin quotes\n"
                              "8 120 9 1: d@x.be !a quote inside an unquoted cell\n"
                              "11 135 12 3: e@x.be|Ren\\xe9| !not UTF-8 (byte 0xE9 in cell 2)\n"
                              "12 149 13 3: f@x.be|f\\x00|z !contains a NUL byte\n"
                              "13 183 17 2: =cmd|' /C calc'!A0|multi\\n\\n\\nline\n"
                              "17 190 17 2: last|\n"
                              "END NOT_FOUND\n");
    free(text);
}

static void
tiny_reads_give_the_same_records(void **state)
{
    (void)state;
    static const struct {
        const char *data;
        size_t len;
    } files[] = {
        {rich_comma, sizeof(rich_comma) - 1},
        {rich_semi, sizeof(rich_semi) - 1},
        {rich_broken, sizeof(rich_broken) - 1},
    };
    for (size_t f = 0; f < sizeof(files) / sizeof(files[0]); f++) {
        char *whole = read_text(files[f].data, files[f].len, 0);
        for (size_t chunk = 1; chunk <= 8; chunk++) {
            char *tiny = read_text(files[f].data, files[f].len, chunk);
            assert_string_equal(tiny, whole);
            free(tiny);
        }
        free(whole);
    }
}

static void
empty_file_has_no_record(void **state)
{
    (void)state;
    struct mem_src m = {.data = (const unsigned char *)"", .len = 0};
    struct pb_csv_reader *r;
    struct pb_csv_record rec;
    char why[PB_WHY_MAX];

    assert_int_equal(pb_csv_reader_new(mem_read, &m, 0, 1, 0, &r), PB_ERR_OK);
    assert_int_equal(pb_csv_next(r, &rec, why), PB_ERR_NOT_FOUND);
    assert_int_equal(pb_csv_next(r, &rec, why), PB_ERR_NOT_FOUND);
    assert_int_equal(pb_csv_delimiter(r), 0);
    pb_csv_reader_free(r);
    pb_csv_reader_free(NULL);
}

static void
injection_payloads_are_returned_verbatim(void **state)
{
    (void)state;
    CHECK_TEXT("=cmd|' /C calc'!A0,+1+1,-2,@SUM(A1:A9)\n"
               "\"=HYPERLINK(\"\"http://evil.example\"\",\"\"x\"\")\",\"\t=1+2\"\n",
               "1 39 2 4: =cmd|' /C calc'!A0|+1+1|-2|@SUM(A1:A9)\n"
               "2 91 3 2: =HYPERLINK(\"http://evil.example\",\"x\")|\\x09=1+2\n"
               "END NOT_FOUND\n");
}

static void
utf8_validation_is_strict(void **state)
{
    (void)state;
    static const struct {
        const char *s;
        size_t bad_at; /* SIZE_MAX: valid */
    } cases[] = {
        {"", SIZE_MAX},
        {"plain ASCII text, longer than eight bytes", SIZE_MAX},
        {"Li\xc3\xa8ge \xe2\x82\xac \xf0\x9f\x93\xa7", SIZE_MAX},
        {"\xed\x9f\xbf\xee\x80\x80", SIZE_MAX}, /* U+D7FF, U+E000 around the surrogates */
        {"\xf4\x8f\xbf\xbf", SIZE_MAX},         /* U+10FFFF */
        {"\xc2\x80\xe0\xa0\x80\xf0\x90\x80\x80", SIZE_MAX}, /* smallest of each length */
        {"abc\xe9", 3},                                     /* Latin-1 */
        {"12345678\xe9xyz", 8},                             /* after a whole ASCII word */
        {"\x80", 0},                                        /* a lone continuation byte */
        {"\xc0\xaf", 0},                                    /* overlong '/' */
        {"\xc1\xbf", 0},
        {"a\xe0\x80\xaf", 1},    /* overlong, three bytes */
        {"\xf0\x80\x80\xaf", 0}, /* overlong, four bytes */
        {"ok\xed\xa0\x80", 2},   /* U+D800 */
        {"\xed\xbf\xbf", 0},     /* U+DFFF */
        {"\xf4\x90\x80\x80", 0}, /* U+110000 */
        {"\xf5\x80\x80\x80", 0},
        {"\xff", 0},
        {"\xc3", 0}, /* cut short at the end */
        {"\xe2\x82", 0},
        {"x\xf0\x9f\x93", 1},
        {"\xe2\x28\xa1", 0}, /* a bad continuation */
        {"\xf0\x9f\x28\xa7", 0},
        {"\xc3\xa8\xc3", 2},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        size_t at = 12345;
        bool ok = pb_csv_utf8_valid(cases[i].s, strlen(cases[i].s), &at);
        if (cases[i].bad_at == SIZE_MAX) {
            assert_true(ok);
            assert_int_equal(at, 12345);
        } else {
            assert_false(ok);
            assert_int_equal(at, cases[i].bad_at);
        }
        assert_int_equal(pb_csv_utf8_valid(cases[i].s, strlen(cases[i].s), NULL), ok);
    }
    /* The length counts, not a NUL; a NUL itself is valid UTF-8. */
    assert_true(pb_csv_utf8_valid("ab\xe9", 2, NULL));
    assert_true(pb_csv_utf8_valid("a\0b", 3, NULL));
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(simple_file_gives_cells_lines_and_offsets),
        cmocka_unit_test(semicolon_detected_when_more_frequent),
        cmocka_unit_test(bom_skipped_only_at_offset_zero),
        cmocka_unit_test(quoted_cells_keep_delimiters_quotes_and_line_breaks),
        cmocka_unit_test(crlf_and_lone_cr_end_records),
        cmocka_unit_test(blank_lines_are_skipped_but_counted),
        cmocka_unit_test(ragged_rows_are_returned_as_they_are),
        cmocka_unit_test(nul_byte_is_a_record_problem),
        cmocka_unit_test(latin1_is_flagged_with_its_cell),
        cmocka_unit_test(stray_quotes_are_flagged_and_do_not_desynchronise),
        cmocka_unit_test(unterminated_quote_is_a_file_error_naming_its_line),
        cmocka_unit_test(huge_line_is_refused_without_holding_it),
        cmocka_unit_test(record_limit_is_exactly_one_mib),
        cmocka_unit_test(cell_count_and_length_limits_are_record_problems),
        cmocka_unit_test(source_error_is_passed_on),
        cmocka_unit_test(resume_from_every_record_end_gives_the_same_records),
        cmocka_unit_test(tiny_reads_give_the_same_records),
        cmocka_unit_test(empty_file_has_no_record),
        cmocka_unit_test(injection_payloads_are_returned_verbatim),
        cmocka_unit_test(utf8_validation_is_strict),
    };
    return cmocka_run_group_tests_name("csv", tests, NULL, NULL);
}
