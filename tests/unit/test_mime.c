/*
 * Unit tests for mail/mime.c: every message shape the builder makes is
 * parsed by an independent parser (Python's email module, policy.default)
 * and compared with what went in; line lengths, Message-ID uniqueness,
 * header injection and pb_mime_address_check.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <sodium.h>

#include "core/buf.h"
#include "mail/mime.h"
#include "support/tmpdir.h"

#define JAN_1_2026 1767225600 /* a Thursday */

/*
 * Prints what Python's email module makes of the message file argv[1], as
 * JSON. No single quote in it: it goes to the shell in single quotes.
 */
static const char python_parser[] =
    "import sys, json, base64, email, email.policy\n"
    "raw = open(sys.argv[1], \"rb\").read()\n"
    "m = email.message_from_bytes(raw, policy=email.policy.default)\n"
    "def addr(h):\n"
    "    v = m[h]\n"
    "    if v is None:\n"
    "        return None\n"
    "    a = v.addresses\n"
    "    return [a[0].display_name, a[0].addr_spec, len(a)]\n"
    "o = {\"headers\": list(m.keys()), \"defects\": [type(d).__name__ for d in m.defects]}\n"
    "for h in (\"Date\", \"To\", \"Subject\", \"Message-ID\", \"MIME-Version\",\n"
    "          \"List-Unsubscribe\", \"List-Unsubscribe-Post\", \"Feedback-ID\"):\n"
    "    v = m[h]\n"
    "    o[h] = None if v is None else str(v)\n"
    "o[\"From\"] = addr(\"From\")\n"
    "o[\"Reply-To\"] = addr(\"Reply-To\")\n"
    "o[\"type\"] = m.get_content_type()\n"
    "o[\"parts\"] = []\n"
    "for p in m.iter_parts():\n"
    "    o[\"defects\"] += [type(d).__name__ for d in p.defects]\n"
    "    o[\"parts\"].append({\"type\": p.get_content_type(), \"charset\": "
    "p.get_content_charset(),\n"
    "        \"cte\": p.get(\"Content-Transfer-Encoding\"),\n"
    "        \"body\": base64.b64encode(p.get_payload(decode=True)).decode()})\n"
    "print(json.dumps(o))\n";

/* Parses `msg` with Python; the JSON is the caller's (json_decref). */
static json_t *
python_parse(const char *msg, size_t len)
{
    char dir[PATH_MAX], file[PATH_MAX + 16];
    pb_test_tmpdir(dir);
    snprintf(file, sizeof(file), "%s/msg.eml", dir);
    FILE *f = fopen(file, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(msg, 1, len, f), len);
    assert_int_equal(fclose(f), 0);

    size_t cmd_len = sizeof(python_parser) + strlen(file) + 64;
    char *cmd = malloc(cmd_len);
    assert_non_null(cmd);
    snprintf(cmd, cmd_len, "/usr/bin/python3 -c '%s' '%s'", python_parser, file);
    FILE *p = popen(cmd, "r");
    assert_non_null(p);
    struct pb_buf out;
    pb_buf_init(&out, 16 << 20);
    char chunk[8192];
    size_t n;
    while ((n = fread(chunk, 1, sizeof(chunk), p)) > 0)
        assert_int_equal(pb_buf_append(&out, chunk, n), PB_ERR_OK);
    int rc = pclose(p);
    free(cmd);
    pb_test_rmtree(dir);
    if (rc != 0)
        fail_msg("python3 failed (%d) on the message:\n%s", rc, msg);
    json_error_t jerr;
    json_t *root = json_loadb(out.data, out.len, 0, &jerr);
    if (root == NULL)
        fail_msg("python's output is not JSON: %s", jerr.text);
    pb_buf_release(&out, 0);
    return root;
}

static const char *
jstr(json_t *o, const char *key)
{
    json_t *v = json_object_get(o, key);
    return json_is_string(v) ? json_string_value(v) : NULL;
}

/* The decoded body of part i, as bytes. */
static void
assert_part(json_t *root, size_t i, const char *type, const char *want, size_t want_len)
{
    json_t *part = json_array_get(json_object_get(root, "parts"), i);
    assert_non_null(part);
    assert_string_equal(jstr(part, "type"), type);
    assert_string_equal(jstr(part, "charset"), "utf-8");
    assert_string_equal(jstr(part, "cte"), "quoted-printable");
    const char *b64 = jstr(part, "body");
    assert_non_null(b64);
    size_t cap = strlen(b64) + 1, got_len = 0;
    unsigned char *got = malloc(cap);
    assert_non_null(got);
    assert_int_equal(sodium_base642bin(got, cap, b64, strlen(b64), NULL, &got_len, NULL,
                                       sodium_base64_VARIANT_ORIGINAL),
                     0);
    if (got_len != want_len || memcmp(got, want, want_len) != 0) {
        size_t k = 0;
        while (k < got_len && k < want_len && got[k] == (unsigned char)want[k])
            k++;
        fail_msg("%s part differs at byte %zu (got %zu bytes, want %zu)", type, k, got_len,
                 want_len);
    }
    free(got);
}

/* Line rules: CRLF only, header lines <= 998, body lines (QP) <= 76. */
static void
assert_lines(const char *msg, size_t len)
{
    size_t start = 0;
    bool body = false;
    for (size_t i = 0; i < len; i++) {
        if (msg[i] == '\n')
            fail_msg("a bare LF at byte %zu", i);
        if (msg[i] != '\r')
            continue;
        if (i + 1 >= len || msg[i + 1] != '\n')
            fail_msg("a bare CR at byte %zu", i);
        size_t line = i - start;
        if (line > 998)
            fail_msg("a line of %zu octets at byte %zu", line, start);
        if (body && line > 76)
            fail_msg("a body line of %zu octets at byte %zu: %.80s", line, start, msg + start);
        if (line == 0)
            body = true;
        start = i + 2;
        i++;
    }
    assert_int_equal(start, len); /* the message ends with CRLF */
}

static void
msg_init(struct pb_mime_msg *m)
{
    memset(m, 0, sizeof(*m));
    m->from = "news@example.org";
    m->to = "ann@example.net";
    m->subject = "Spring sale";
    m->text = "Hello Ann,\r\nour spring sale starts today.\r\n";
    m->text_len = strlen(m->text);
    m->html = "<p>Hello Ann,</p>\r\n<p>our spring sale starts today.</p>\r\n";
    m->html_len = strlen(m->html);
    m->list_unsubscribe_url = "https://mail.example.org/u/TOKEN123";
    m->date = JAN_1_2026;
}

/* Builds the message, checks its lines and parses it with Python. */
static json_t *
build_and_parse(const struct pb_mime_msg *m, struct pb_buf *b)
{
    pb_buf_reset(b);
    assert_int_equal(pb_mime_build(m, b), PB_ERR_OK);
    assert_lines(b->data, b->len);
    json_t *root = python_parse(b->data, b->len);
    assert_int_equal(json_array_size(json_object_get(root, "defects")), 0);
    assert_string_equal(jstr(root, "type"), "multipart/alternative");
    assert_int_equal(json_array_size(json_object_get(root, "parts")), 2);
    return root;
}

static void
assert_address(json_t *root, const char *header, const char *name, const char *addr)
{
    json_t *a = json_object_get(root, header);
    assert_true(json_is_array(a));
    assert_string_equal(json_string_value(json_array_get(a, 0)), name);
    assert_string_equal(json_string_value(json_array_get(a, 1)), addr);
    assert_int_equal(json_integer_value(json_array_get(a, 2)), 1);
}

static void
simple_message_has_every_header_in_order(void **state)
{
    (void)state;
    struct pb_mime_msg m;
    struct pb_buf b;
    msg_init(&m);
    pb_buf_init(&b, 1 << 20);
    json_t *root = build_and_parse(&m, &b);
    static const char *const order[] = {"Date",
                                        "From",
                                        "To",
                                        "Subject",
                                        "Message-ID",
                                        "MIME-Version",
                                        "List-Unsubscribe",
                                        "List-Unsubscribe-Post",
                                        "Content-Type"};
    json_t *headers = json_object_get(root, "headers");
    assert_int_equal(json_array_size(headers), sizeof(order) / sizeof(order[0]));
    for (size_t i = 0; i < sizeof(order) / sizeof(order[0]); i++)
        assert_string_equal(json_string_value(json_array_get(headers, i)), order[i]);
    assert_string_equal(jstr(root, "Date"), "Thu, 01 Jan 2026 00:00:00 +0000");
    assert_address(root, "From", "", "news@example.org");
    assert_null(jstr(root, "Reply-To"));
    assert_string_equal(jstr(root, "To"), "ann@example.net");
    assert_string_equal(jstr(root, "Subject"), "Spring sale");
    assert_string_equal(jstr(root, "MIME-Version"), "1.0");
    assert_string_equal(jstr(root, "List-Unsubscribe"), "<https://mail.example.org/u/TOKEN123>");
    assert_string_equal(jstr(root, "List-Unsubscribe-Post"), "List-Unsubscribe=One-Click");
    assert_null(jstr(root, "Feedback-ID"));
    /* "<ULID.RANDOM@from-domain>" */
    const char *id = jstr(root, "Message-ID");
    assert_non_null(id);
    assert_int_equal(strlen(id), 1 + 26 + 1 + 16 + strlen("@example.org>"));
    assert_int_equal(id[0], '<');
    assert_int_equal(id[27], '.');
    assert_string_equal(id + 44, "@example.org>");
    assert_part(root, 0, "text/plain", m.text, m.text_len);
    assert_part(root, 1, "text/html", m.html, m.html_len);
    json_decref(root);
    /* The boundary is quoted and starts with "=_". */
    assert_non_null(strstr(b.data, "Content-Type: multipart/alternative; boundary=\"=_"));
    pb_buf_release(&b, 0);
}

/* A body with everything quoted-printable has to get right. */
static char *
awkward_body(size_t size, bool crlf)
{
    static const char *const lines[] = {
        "Plain line.",
        ".a line starting with a dot",
        ".",
        "From the start: a line starting with From",
        "trailing space ",
        "trailing tab\t",
        "equals = signs == and =3D and =\r=",
        "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x9a\x80 na\xc3\xafve",
        "a lone CR\rinside",
        "",
        "",
        "<a href=\"https://shop.example/?a=1&b=2\">link</a>",
        "  indented",
    };
    char *s = malloc(size + 1);
    assert_non_null(s);
    size_t n = 0, k = 0;
    while (n < size) {
        const char *l = lines[k++ % (sizeof(lines) / sizeof(lines[0]))];
        char tmp[8000];
        size_t tl;
        if (k % 17 == 0) {
            /* A long line: no break for 5,000 bytes, multibyte characters on the way. */
            tl = 0;
            while (tl < 5000) {
                const char *piece = tl % 7 == 0 ? "\xc3\xa9" : "xyz ";
                memcpy(tmp + tl, piece, strlen(piece));
                tl += strlen(piece);
            }
        } else {
            tl = strlen(l);
            memcpy(tmp, l, tl);
        }
        memcpy(tmp + tl, crlf ? "\r\n" : "\n", crlf ? 2 : 1);
        tl += crlf ? 2 : 1;
        if (tl > size - n)
            tl = size - n;
        memcpy(s + n, tmp, tl);
        n += tl;
    }
    s[n] = '\0';
    return s;
}

/* `s` with each LF not after CR turned into CRLF. */
static char *
to_crlf(const char *s, size_t *len)
{
    char *o = malloc(2 * strlen(s) + 1);
    assert_non_null(o);
    size_t w = 0;
    for (size_t i = 0; s[i]; i++) {
        if (s[i] == '\n' && (i == 0 || s[i - 1] != '\r'))
            o[w++] = '\r';
        o[w++] = s[i];
    }
    o[w] = '\0';
    *len = w;
    return o;
}

static void
every_shape_decodes_to_its_input(void **state)
{
    (void)state;
    struct pb_buf b;
    pb_buf_init(&b, 4 << 20);
    char long_ascii[960], long_ascii_raw[801];
    memset(long_ascii, 'a', sizeof(long_ascii) - 1);
    long_ascii[sizeof(long_ascii) - 1] = '\0';
    for (size_t i = 5; i < sizeof(long_ascii) - 1; i += 6)
        long_ascii[i] = ' ';
    memcpy(long_ascii_raw, long_ascii, 800);
    long_ascii_raw[800] = '\0';
    char long_utf8[700] = "";
    while (strlen(long_utf8) < 600)
        strcat(long_utf8, "Lente-uitverkoop \xe2\x80\x94 caf\xc3\xa9 \xf0\x9f\x8c\xb7 ");

    static const struct {
        const char *from, *from_name, *from_addr;
        const char *reply_to, *reply_name, *reply_addr;
    } people[] = {
        {"news@example.org", "", "news@example.org", NULL, NULL, NULL},
        {"\xc3\x89lise M\xc3\xbcller-\xc3\x85ngstr\xc3\xb6m \xf0\x9f\x9a\x80 <Elise@B\xc3\xbc"
         "cher.example>",
         "\xc3\x89lise M\xc3\xbcller-\xc3\x85ngstr\xc3\xb6m \xf0\x9f\x9a\x80",
         "Elise@xn--bcher-kva.example", "\"Doe, John \\\"JD\\\"\" <john@example.com>",
         "Doe, John \"JD\"", "john@example.com"},
        {"Shop & Co. (BE) <shop@example.be>", "Shop & Co. (BE)", "shop@example.be",
         "Support Team <help@example.be>", "Support Team", "help@example.be"},
        {"=?utf-8?q?not_decoded?= <a@example.org>", "=?utf-8?q?not_decoded?=", "a@example.org",
         NULL, NULL, NULL},
        {"<bare@example.org>", "", "bare@example.org", NULL, NULL, NULL},
    };
    const char *subjects[] = {
        "",
        "Spring sale",
        "\xc3\x89t\xc3\xa9: 20% korting op alles \xe2\x80\x94 \xf0\x9f\x8c\x9e",
        long_utf8,
        long_ascii,     /* ASCII but past 900 bytes: encoded words, folded */
        long_ascii_raw, /* ASCII, 800 bytes: as it is, on one line under 998 */
        "=?utf-8?B?Zm9v?= is not an encoded word here",
        "Tabs\tand\ttrailing space ",
    };
    char *html = awkward_body(20000, true);
    char *text = awkward_body(7000, true);
    char *lf_text = awkward_body(3000, false);
    size_t lf_as_crlf_len;
    char *lf_as_crlf = to_crlf(lf_text, &lf_as_crlf_len);

    int builds = 0;
    for (size_t p = 0; p < sizeof(people) / sizeof(people[0]); p++) {
        for (size_t s = 0; s < sizeof(subjects) / sizeof(subjects[0]); s++) {
            struct pb_mime_msg m;
            msg_init(&m);
            m.from = people[p].from;
            m.reply_to = people[p].reply_to;
            m.subject = subjects[s];
            if (s % 2 == 0) {
                m.html = html;
                m.html_len = strlen(html);
                m.text = text;
                m.text_len = strlen(text);
            }
            if (p % 2 == 1) {
                m.list_unsubscribe_mailto = "unsubscribe@example.org?subject=unsubscribe-TOKEN";
                m.feedback_id = "campaign-42:account-7:postbode";
                m.message_id = "<given.id.1@example.org>";
            }
            if (s == 3) {
                /* LF line ends are sent as CRLF; an empty text part stays empty. */
                m.text = lf_text;
                m.text_len = strlen(lf_text);
                m.html = "";
                m.html_len = 0;
            }
            json_t *root = build_and_parse(&m, &b);
            builds++;
            assert_address(root, "From", people[p].from_name, people[p].from_addr);
            if (people[p].reply_to != NULL)
                assert_address(root, "Reply-To", people[p].reply_name, people[p].reply_addr);
            else
                assert_true(json_is_null(json_object_get(root, "Reply-To")));
            char want[1024];
            snprintf(want, sizeof(want), "%s", subjects[s]);
            for (char *t = want; *t; t++)
                *t = *t == '\t' ? ' ' : *t; /* a control character: a space */
            if (strcmp(jstr(root, "Subject"), want) != 0)
                fail_msg("subject %zu: got \"%s\"", s, jstr(root, "Subject"));
            if (m.list_unsubscribe_mailto != NULL) {
                assert_string_equal(jstr(root, "List-Unsubscribe"),
                                    "<https://mail.example.org/u/TOKEN123>, "
                                    "<mailto:unsubscribe@example.org?subject=unsubscribe-TOKEN>");
                assert_string_equal(jstr(root, "Feedback-ID"), "campaign-42:account-7:postbode");
                assert_string_equal(jstr(root, "Message-ID"), "<given.id.1@example.org>");
            } else {
                assert_string_equal(jstr(root, "List-Unsubscribe"),
                                    "<https://mail.example.org/u/TOKEN123>");
            }
            assert_string_equal(jstr(root, "List-Unsubscribe-Post"), "List-Unsubscribe=One-Click");
            if (s == 3)
                assert_part(root, 0, "text/plain", lf_as_crlf, lf_as_crlf_len);
            else
                assert_part(root, 0, "text/plain", m.text, m.text_len);
            assert_part(root, 1, "text/html", m.html, m.html_len);
            json_decref(root);
        }
    }
    assert_int_equal(builds, 40);

    /* Bodies without a final line break, or ending in a blank, decode exactly. */
    static const char *const ends[] = {
        "no final newline", "ends with a blank ", "tab\t", "=", ".", "From here", "\r\n", "x\r"};
    for (size_t e = 0; e < sizeof(ends) / sizeof(ends[0]); e++) {
        struct pb_mime_msg m;
        msg_init(&m);
        m.text = ends[e];
        m.text_len = strlen(ends[e]);
        m.html = ends[(e + 1) % 8];
        m.html_len = strlen(m.html);
        json_t *root = build_and_parse(&m, &b);
        assert_part(root, 0, "text/plain", m.text, m.text_len);
        assert_part(root, 1, "text/html", m.html, m.html_len);
        json_decref(root);
    }
    free(html);
    free(text);
    free(lf_text);
    free(lf_as_crlf);
    pb_buf_release(&b, 0);
}

/* Decodes quoted-printable s[0, n) as RFC 2045 says, strictly: a bad escape fails the test. */
static size_t
qp_decode(const char *s, size_t n, char *out)
{
    size_t w = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] != '=') {
            out[w++] = s[i];
            continue;
        }
        if (i + 2 < n && s[i + 1] == '\r' && s[i + 2] == '\n') {
            i += 2;
            continue;
        }
        const char *hexd = "0123456789ABCDEF";
        const char *hi = i + 2 < n ? strchr(hexd, s[i + 1]) : NULL;
        const char *lo = i + 2 < n ? strchr(hexd, s[i + 2]) : NULL;
        if (hi == NULL || lo == NULL || s[i + 1] == '\0' || s[i + 2] == '\0')
            fail_msg("a bad escape at %zu: %.10s", i, s + i);
        out[w++] = (char)((hi - hexd) * 16 + (lo - hexd));
        i += 2;
    }
    return w;
}

/* Part k (0 text, 1 html) of a built message, quoted-printable as sent. */
static void
part_body(const char *msg, int k, const char **body, size_t *len)
{
    const char *b = strstr(msg, "boundary=\"");
    assert_non_null(b);
    b += strlen("boundary=\"");
    char delim[64];
    int bl = (int)strcspn(b, "\"");
    snprintf(delim, sizeof(delim), "\r\n--%.*s", bl, b);
    const char *p = msg;
    for (int i = 0; i <= k; i++) {
        p = strstr(p, delim);
        assert_non_null(p);
        p += strlen(delim);
    }
    p = strstr(p, "\r\n\r\n");
    assert_non_null(p);
    p += 4;
    const char *end = strstr(p - 2, delim); /* an empty body: the delimiter follows at once */
    assert_non_null(end);
    *body = p;
    *len = end >= p ? (size_t)(end - p) : 0;
}

static void
random_bodies_round_trip(void **state)
{
    (void)state;
    /* Pieces that quoted-printable must handle, in every order and at every column. */
    static const char *const pieces[] = {
        " ",  "\t",       "\r\n", "\n",   "\r",   "=",      ".", "From ",           "F", "x", "yz",
        "=_", "\xc3\xa9", "\xff", "\x00", "  \n", "\t\r\n", "-", "abcdefghijklmnop"};
    enum { ROUNDS = 3000, MAXLEN = 600 };
    struct pb_buf b;
    pb_buf_init(&b, 1 << 20);
    char body[MAXLEN + 32], want[2 * MAXLEN + 64], got[2 * MAXLEN + 64];
    uint32_t seed = 12345;
    for (int r = 0; r < ROUNDS; r++) {
        size_t n = 0, target = (size_t)(r % MAXLEN);
        while (n < target) {
            seed = seed * 1103515245u + 12345u;
            const char *p = pieces[(seed >> 16) % (sizeof(pieces) / sizeof(pieces[0]))];
            size_t pl = p[0] == '\0' ? 1 : strlen(p);
            memcpy(body + n, p, pl);
            n += pl;
        }
        /* What the part must decode to: every LF not after a CR becomes CRLF. */
        size_t wl = 0;
        for (size_t i = 0; i < n; i++) {
            if (body[i] == '\n' && (i == 0 || body[i - 1] != '\r'))
                want[wl++] = '\r';
            want[wl++] = body[i];
        }
        struct pb_mime_msg m;
        msg_init(&m);
        m.text = body;
        m.text_len = n;
        m.html = body;
        m.html_len = n / 2;
        pb_buf_reset(&b);
        assert_int_equal(pb_mime_build(&m, &b), PB_ERR_OK);
        assert_lines(b.data, b.len);
        const char *qp;
        size_t ql;
        part_body(b.data, 0, &qp, &ql);
        assert_null(memchr(qp, '\0', ql));
        size_t gl = qp_decode(qp, ql, got);
        if (gl != wl || memcmp(got, want, wl) != 0)
            fail_msg("round %d: the text part does not decode to its body", r);
        for (size_t i = 0; i + 1 < ql; i++) {
            /* No blank before a line break, no "=_", no risky line start. */
            if ((qp[i] == ' ' || qp[i] == '\t') && qp[i + 1] == '\r')
                fail_msg("round %d: a blank ends a line", r);
            if (qp[i] == '=' && qp[i + 1] == '_')
                fail_msg("round %d: \"=_\" in the body", r);
            if ((i == 0 || qp[i - 1] == '\n') && (qp[i] == '.' || strncmp(qp + i, "From ", 5) == 0))
                fail_msg("round %d: a line starts with '.' or \"From \"", r);
        }
        if (ql > 0 && (qp[ql - 1] == ' ' || qp[ql - 1] == '\t'))
            fail_msg("round %d: the body ends with a blank", r);
        /* Now and then, the independent parser too. */
        if (r % 500 == 499) {
            json_t *root = python_parse(b.data, b.len);
            assert_part(root, 0, "text/plain", want, wl);
            json_decref(root);
        }
    }
    pb_buf_release(&b, 0);
}

static int
compare_strings(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static void
message_ids_are_unique(void **state)
{
    (void)state;
    enum { N = 1000 };
    struct pb_mime_msg m;
    struct pb_buf b;
    msg_init(&m);
    pb_buf_init(&b, 1 << 20);
    char **ids = calloc(N, sizeof(*ids));
    assert_non_null(ids);
    for (int i = 0; i < N; i++) {
        pb_buf_reset(&b);
        assert_int_equal(pb_mime_build(&m, &b), PB_ERR_OK);
        const char *h = strstr(b.data, "\r\nMessage-ID: <");
        assert_non_null(h);
        h += strlen("\r\nMessage-ID: ");
        size_t n = strcspn(h, "\r");
        assert_true(n > 0 && h[n - 1] == '>');
        ids[i] = strndup(h, n);
        assert_non_null(ids[i]);
        assert_non_null(strstr(ids[i], "@example.org>"));
    }
    qsort(ids, N, sizeof(*ids), compare_strings);
    for (int i = 1; i < N; i++)
        if (strcmp(ids[i - 1], ids[i]) == 0)
            fail_msg("Message-ID %s came twice", ids[i]);
    for (int i = 0; i < N; i++)
        free(ids[i]);
    free(ids);
    pb_buf_release(&b, 0);
}

static void
header_injection_is_impossible(void **state)
{
    (void)state;
    struct pb_mime_msg m;
    struct pb_buf b;
    pb_buf_init(&b, 1 << 20);

    /* In the subject, control characters become spaces: no new header, no early body. */
    msg_init(&m);
    m.subject = "Hi\r\nBcc: victim@example.com\r\n\r\n<b>evil</b>\x7f\x01";
    json_t *root = build_and_parse(&m, &b);
    json_t *headers = json_object_get(root, "headers");
    assert_int_equal(json_array_size(headers), 9);
    for (size_t i = 0; i < json_array_size(headers); i++)
        assert_string_not_equal(json_string_value(json_array_get(headers, i)), "Bcc");
    assert_string_equal(jstr(root, "Subject"), "Hi  Bcc: victim@example.com    <b>evil</b>  ");
    assert_part(root, 0, "text/plain", m.text, m.text_len);
    json_decref(root);
    assert_null(strstr(b.data, "\r\nBcc:"));

    /* Bytes that are not UTF-8 become U+FFFD; a C1 control (U+0085, NEL) a space. */
    m.subject = "a\xff"
                "b\xc3(c\xc2\x85"
                "d";
    root = build_and_parse(&m, &b);
    assert_string_equal(jstr(root, "Subject"), "a\xef\xbf\xbd"
                                               "b\xef\xbf\xbd(c d");
    json_decref(root);

    /* Everywhere else, a control character refuses the message and writes nothing. */
    static const struct {
        int field;
        const char *value;
    } bad[] = {
        {0, "News <news@example.org>\r\nBcc: victim@example.com"},
        {0, "News\r\nBcc: victim@example.com <news@example.org>"},
        {0, "News\t<news@example.org>"},
        {0, "no-domain"},
        {1, "ann@example.net\r\nBcc: victim@example.com"},
        {1, "ann@example.net\n"},
        {1, "ann@example.net, victim@example.com"},
        {1, "Ann <ann@example.net>"},
        {1, "no-at-sign"},
        {2, "reply@example.org\r\nBcc: victim@example.com"},
        {3, "<id@example.org>\r\nBcc: victim@example.com"},
        {3, "<id with space@example.org>"},
        {3, "<no-at-sign>"},
        {4, "fid\r\nBcc: victim@example.com"},
        {5, "https://mail.example.org/u/T\r\nBcc: victim@example.com"},
        {5, "https://mail.example.org/u/T>, <https://evil.example/"},
        {5, "https://mail.example.org/u/a b"},
        {5, "http://mail.example.org/u/T"}, /* RFC 8058: HTTPS only */
        {5, NULL},                          /* required */
        {6, "unsubscribe@example.org\r\nBcc: victim@example.com"},
        {6, "unsubscribe@example.org>, <mailto:evil@example.com"},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        msg_init(&m);
        const char **field[] = {&m.from,
                                &m.to,
                                &m.reply_to,
                                &m.message_id,
                                &m.feedback_id,
                                &m.list_unsubscribe_url,
                                &m.list_unsubscribe_mailto};
        *field[bad[i].field] = bad[i].value;
        pb_buf_reset(&b);
        assert_int_equal(pb_buf_append_str(&b, "kept"), PB_ERR_OK);
        enum pb_err err = pb_mime_build(&m, &b);
        if (err != PB_ERR_INVALID)
            fail_msg("case %zu (\"%s\"): got %d, want INVALID", i, bad[i].value, err);
        assert_int_equal(b.len, 4);
        assert_string_equal(b.data, "kept");
    }
    pb_buf_release(&b, 0);
}

static void
limits_leave_the_buffer_as_it_was(void **state)
{
    (void)state;
    struct pb_mime_msg m;
    struct pb_buf b;
    msg_init(&m);
    /* A buffer too small for the message. */
    pb_buf_init(&b, 600);
    assert_int_equal(pb_buf_append_str(&b, "kept"), PB_ERR_OK);
    assert_int_equal(pb_mime_build(&m, &b), PB_ERR_TOO_LARGE);
    assert_string_equal(b.data, "kept");
    pb_buf_release(&b, 0);
    pb_buf_init(&b, 1 << 20);
    /* A subject past its limit; a URI past its limit. */
    char *big = malloc(PB_MIME_SUBJECT_MAX + 2);
    assert_non_null(big);
    memset(big, 's', PB_MIME_SUBJECT_MAX + 1);
    big[PB_MIME_SUBJECT_MAX + 1] = '\0';
    m.subject = big;
    assert_int_equal(pb_mime_build(&m, &b), PB_ERR_TOO_LARGE);
    assert_int_equal(b.len, 0);
    big[PB_MIME_SUBJECT_MAX] = '\0';
    assert_int_equal(pb_mime_build(&m, &b), PB_ERR_OK);
    assert_lines(b.data, b.len);
    msg_init(&m);
    char url[PB_MIME_URI_MAX + 2] = "https://x.example/";
    memset(url + strlen(url), 'u', sizeof(url) - 1 - strlen(url));
    url[sizeof(url) - 1] = '\0';
    m.list_unsubscribe_url = url;
    pb_buf_reset(&b);
    assert_int_equal(pb_mime_build(&m, &b), PB_ERR_TOO_LARGE);
    url[PB_MIME_URI_MAX] = '\0';
    m.list_unsubscribe_mailto = "u@example.org";
    assert_int_equal(pb_mime_build(&m, &b), PB_ERR_OK);
    assert_lines(b.data, b.len);
    free(big);
    pb_buf_release(&b, 0);
}

static void
address_check_accepts_good_values(void **state)
{
    (void)state;
    static const struct {
        const char *value, *addr, *domain;
    } good[] = {
        {"news@example.org", "news@example.org", "example.org"},
        {"  Example News <News@Example.ORG>  ", "News@example.org", "example.org"},
        {"\"Doe, John\" <j.doe+tag@mail.example.co.uk>", "j.doe+tag@mail.example.co.uk",
         "mail.example.co.uk"},
        {"\xc3\x89lise <e@B\xc3\xbc"
         "cher.example>",
         "e@xn--bcher-kva.example", "xn--bcher-kva.example"},
        {"<a@b.example>", "a@b.example", "b.example"},
        {"x!#$%&'*+-/=?^_`{|}~@x-1.example", "x!#$%&'*+-/=?^_`{|}~@x-1.example", "x-1.example"},
    };
    for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
        char addr[255], domain[254], why[PB_WHY_MAX] = "";
        enum pb_err err = pb_mime_address_check(good[i].value, addr, domain, why);
        if (err != PB_ERR_OK)
            fail_msg("\"%s\" refused: %s", good[i].value, why);
        assert_string_equal(addr, good[i].addr);
        assert_string_equal(domain, good[i].domain);
    }
}

static void
address_check_refuses_bad_values_saying_why(void **state)
{
    (void)state;
    char name201[260];
    memset(name201, 'n', 201);
    snprintf(name201 + 201, sizeof(name201) - 201, " <a@example.org>");
    char local65[100];
    memset(local65, 'l', 65);
    snprintf(local65 + 65, sizeof(local65) - 65, "@example.org");
    const struct {
        const char *value, *says;
    } bad[] = {
        {"", "the address is empty"},
        {"news", "the address has no domain"},
        {"News <news@>", "the address has no domain"},
        {"@example.org", "the part before @ must be 1 to 64"},
        {"a..b@example.org", "may hold only ASCII letters"},
        {".a@example.org", "cannot start or end with a dot"},
        {"a b@example.org", "may hold only ASCII letters"},
        {"j\xc3\xb6rg@example.org", "may hold only ASCII letters"},
        {"a@localhost", "the domain needs a dot"},
        {"a@-x.example", "starting or ending with a dash"},
        {"a@x..example", "empty label"},
        {"a@exa_mple.org", "only letters, digits, dashes and dots"},
        {"a@\xe2\x98\x83\xe2\x98\x83..example", "not a valid internationalised domain"},
        {"Name <a@example.org", "write the address as Name <local@domain>"},
        {"Name a@example.org>", "write the address as Name <local@domain>"},
        {"Name <a@<b>.example>", "write the address as Name <local@domain>"},
        {"Name\r\nBcc: x@y.example <a@example.org>", "control characters"},
        {"Name \x01 <a@example.org>", "control characters"},
        {"Name \xff <a@example.org>", "not UTF-8"},
        {name201, "the display name is longer than 200 bytes"},
        {local65, "the part before @ must be 1 to 64"},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        char addr[255], domain[254], why[PB_WHY_MAX] = "";
        enum pb_err err = pb_mime_address_check(bad[i].value, addr, domain, why);
        if (err != PB_ERR_INVALID)
            fail_msg("\"%s\" accepted", bad[i].value);
        if (strstr(why, bad[i].says) == NULL)
            fail_msg("\"%s\": \"%s\" does not say \"%s\"", bad[i].value, why, bad[i].says);
    }
    char addr[255], domain[254], why[PB_WHY_MAX] = "";
    assert_int_equal(pb_mime_address_check(NULL, addr, domain, why), PB_ERR_INVALID);
}

int
main(void)
{
    if (sodium_init() < 0)
        return 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(simple_message_has_every_header_in_order),
        cmocka_unit_test(every_shape_decodes_to_its_input),
        cmocka_unit_test(random_bodies_round_trip),
        cmocka_unit_test(message_ids_are_unique),
        cmocka_unit_test(header_injection_is_impossible),
        cmocka_unit_test(limits_leave_the_buffer_as_it_was),
        cmocka_unit_test(address_check_accepts_good_values),
        cmocka_unit_test(address_check_refuses_bad_values_saying_why),
    };
    return cmocka_run_group_tests_name("mime", tests, NULL, NULL);
}
