/*
 * Unit tests for the cell encoders of model/export.c: CSV cells (RFC 4180
 * quoting, the OWASP guard against formulas) and JSON strings (escapes,
 * bytes that are not UTF-8), with their size limits.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model/export.h"

/* A cell encoded with room to spare, as a C string (static: valid until the next call). */
static const char *
csv(const char *s)
{
    static char out[1024];
    ssize_t n = pb_export_csv_cell(s, strlen(s), out, sizeof(out) - 1);
    assert_true(n >= 0);
    out[n] = '\0';
    return out;
}

static const char *
json(const char *s, size_t len)
{
    static char out[1024];
    ssize_t n = pb_export_json_string(s, len, out, sizeof(out) - 1);
    assert_true(n >= 0);
    out[n] = '\0';
    return out;
}

static void
csv_plain_cells_stay_as_they_are(void **state)
{
    (void)state;
    assert_string_equal(csv(""), "");
    assert_string_equal(csv("Gent"), "Gent");
    assert_string_equal(csv("jan.peeters@example.be"), "jan.peeters@example.be");
    assert_string_equal(csv("Ça va, très bien"), "\"Ça va, très bien\"");
    assert_string_equal(csv("Zoë"), "Zoë");
    /* Characters that are only dangerous at the start stay inside. */
    assert_string_equal(csv("a=b+c-d@e"), "a=b+c-d@e");
    assert_string_equal(csv("12"), "12");
    assert_string_equal(csv("3.5"), "3.5");
}

static void
csv_quotes_what_rfc4180_needs(void **state)
{
    (void)state;
    assert_string_equal(csv("a,b"), "\"a,b\"");
    assert_string_equal(csv("say \"hi\""), "\"say \"\"hi\"\"\"");
    assert_string_equal(csv("\""), "\"\"\"\"");
    assert_string_equal(csv("line 1\nline 2"), "\"line 1\nline 2\"");
    assert_string_equal(csv("a\r\nb"), "\"a\r\nb\"");
    assert_string_equal(csv("Peeters, \"Jan\"\nGent"), "\"Peeters, \"\"Jan\"\"\nGent\"");
    /* A tab inside is no reason to quote. */
    assert_string_equal(csv("a\tb"), "a\tb");
}

static void
csv_neutralises_formulas(void **state)
{
    (void)state;
    assert_string_equal(csv("=1+1"), "'=1+1");
    assert_string_equal(csv("+32 9 123 45 67"), "'+32 9 123 45 67");
    assert_string_equal(csv("-5"), "'-5");
    assert_string_equal(csv("@SUM(A1:A9)"), "'@SUM(A1:A9)");
    assert_string_equal(csv("\tcmd"), "'\tcmd");
    assert_string_equal(csv("\rcmd"), "\"'\rcmd\"");
    assert_string_equal(csv("=HYPERLINK(\"http://x\")"), "\"'=HYPERLINK(\"\"http://x\"\")\"");
    assert_string_equal(csv("=cmd|' /C calc'!A0,x"), "\"'=cmd|' /C calc'!A0,x\"");
    assert_string_equal(csv("="), "'=");
    assert_string_equal(csv("'already"), "'already");
}

static void
csv_respects_the_room_given(void **state)
{
    (void)state;
    char out[16];
    /* "a,b" needs 5 bytes with its quotes. */
    assert_int_equal(pb_export_csv_cell("a,b", 3, out, 4), -1);
    assert_int_equal(pb_export_csv_cell("a,b", 3, out, 5), 5);
    assert_memory_equal(out, "\"a,b\"", 5);
    /* "=x" needs 3 with its guard. */
    assert_int_equal(pb_export_csv_cell("=x", 2, out, 2), -1);
    assert_int_equal(pb_export_csv_cell("=x", 2, out, 3), 3);
    assert_int_equal(pb_export_csv_cell("", 0, out, 0), 0);
    /* The worst case stays within 2 * len + 3. */
    char worst[8] = "=\"\"\"\"\"\"";
    char big[2 * 7 + 3];
    ssize_t n = pb_export_csv_cell(worst, 7, big, sizeof(big));
    assert_true(n > 0 && (size_t)n <= sizeof(big));
    /* Bytes after a NUL count: the length is what is given. */
    assert_int_equal(pb_export_csv_cell("a\0,", 3, out, sizeof(out)), 5);
}

static void
json_escapes(void **state)
{
    (void)state;
    assert_string_equal(json("", 0), "\"\"");
    assert_string_equal(json("Gent", 4), "\"Gent\"");
    assert_string_equal(json("say \"hi\" \\o/", 12), "\"say \\\"hi\\\" \\\\o/\"");
    assert_string_equal(json("a\nb\rc\td", 7), "\"a\\nb\\rc\\td\"");
    assert_string_equal(json("\x01\x1f\x7f", 3), "\"\\u0001\\u001f\\u007f\"");
    assert_string_equal(json("Zoë → €", strlen("Zoë → €")), "\"Zoë → €\"");
    assert_string_equal(json("\xF0\x9F\x93\xA7", 4), "\"\xF0\x9F\x93\xA7\"");
    assert_string_equal(json("=HYPERLINK(\"http://x\")", 22), "\"=HYPERLINK(\\\"http://x\\\")\"");
    /* A NUL inside is escaped, not an end. */
    assert_string_equal(json("a\0b", 3), "\"a\\u0000b\"");
}

static void
json_replaces_what_is_not_utf8(void **state)
{
    (void)state;
    /* A lone Latin-1 byte, a truncated sequence, an overlong, a surrogate, past U+10FFFF. */
    assert_string_equal(json("caf\xE9", 4), "\"caf\xEF\xBF\xBD\"");
    assert_string_equal(json("\xE2\x82", 2), "\"\xEF\xBF\xBD\xEF\xBF\xBD\"");
    assert_string_equal(json("\xC0\xAF", 2), "\"\xEF\xBF\xBD\xEF\xBF\xBD\"");
    assert_string_equal(json("\xED\xA0\x80", 3), "\"\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD\"");
    assert_string_equal(json("\xF4\x90\x80\x80", 4),
                        "\"\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD\"");
}

static void
json_respects_the_room_given(void **state)
{
    (void)state;
    char out[16];
    assert_int_equal(pb_export_json_string("ab", 2, out, 3), -1);
    assert_int_equal(pb_export_json_string("ab", 2, out, 4), 4);
    assert_memory_equal(out, "\"ab\"", 4);
    assert_int_equal(pb_export_json_string("", 0, out, 1), -1);
    assert_int_equal(pb_export_json_string("\x01", 1, out, 7), -1);
    assert_int_equal(pb_export_json_string("\x01", 1, out, 8), 8);
    /* The worst case stays within 6 * len + 2. */
    char worst[10];
    memset(worst, 0x01, sizeof(worst));
    char big[6 * 10 + 2];
    assert_int_equal(pb_export_json_string(worst, sizeof(worst), big, sizeof(big)), 62);
}

static void
formats_parse(void **state)
{
    (void)state;
    enum pb_export_format f = PB_EXPORT_JSON;
    assert_int_equal(pb_export_format_parse("csv", &f), PB_ERR_OK);
    assert_int_equal(f, PB_EXPORT_CSV);
    assert_int_equal(pb_export_format_parse("json", &f), PB_ERR_OK);
    assert_int_equal(f, PB_EXPORT_JSON);
    assert_int_equal(pb_export_format_parse("CSV", &f), PB_ERR_INVALID);
    assert_int_equal(pb_export_format_parse("xlsx", &f), PB_ERR_INVALID);
    assert_int_equal(pb_export_format_parse("", &f), PB_ERR_INVALID);
    assert_int_equal(pb_export_format_parse(NULL, &f), PB_ERR_INVALID);
    assert_string_equal(pb_export_format_name(PB_EXPORT_CSV), "csv");
    assert_string_equal(pb_export_format_name(PB_EXPORT_JSON), "json");
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(csv_plain_cells_stay_as_they_are),
        cmocka_unit_test(csv_quotes_what_rfc4180_needs),
        cmocka_unit_test(csv_neutralises_formulas),
        cmocka_unit_test(csv_respects_the_room_given),
        cmocka_unit_test(json_escapes),
        cmocka_unit_test(json_replaces_what_is_not_utf8),
        cmocka_unit_test(json_respects_the_room_given),
        cmocka_unit_test(formats_parse),
    };
    return cmocka_run_group_tests_name("export", tests, NULL, NULL);
}
