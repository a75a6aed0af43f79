/*
 * Tests of the DKIM signer (mail/dkim): the canonicalisations against RFC
 * 6376's own example and a naive reference, and signatures of messages of
 * many shapes, each verified by libopendkim (the independent verifier) with
 * its keys read from a file instead of DNS; tampered messages must fail.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <limits.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <time.h>

#include <gnutls/abstract.h>
#include <gnutls/gnutls.h>
#include <gnutls/x509.h>
#include <opendkim/dkim.h>
#include <sodium.h>

#include "core/buf.h"
#include "mail/dkim.h"
#include "support/tmpdir.h"

#define DOMAIN  "example.com"
#define SEL_RSA "rsa1"
#define SEL_ED  "ed1"
#define OUT_MAX (64 * 1024)

/* Keys made once for the whole run (RSA generation is slow). */
static struct {
    char dir[PATH_MAX];
    char keyfile[PATH_MAX + 16];
    unsigned char *rsa_priv, *ed_priv;
    size_t rsa_len, ed_len;
    char *rsa_pub, *ed_pub;
    struct pb_dkim_key *rsa, *ed;
} g;

/* ---- helpers ---------------------------------------------------------------- */

/*
 * The message as the SMTP client (mail/smtp) puts it on the wire: CRLF, LF
 * alone and CR alone as CRLF, and a CRLF after a last line without one.
 */
static char *
crlf_copy(const char *m, size_t len, size_t *out_len)
{
    char *c = malloc(2 * len + 3);
    assert_non_null(c);
    size_t n = 0;
    bool bol = true;
    for (size_t i = 0; i < len; i++) {
        if (m[i] == '\r' || m[i] == '\n') {
            if (m[i] == '\r' && i + 1 < len && m[i + 1] == '\n')
                i++;
            c[n++] = '\r';
            c[n++] = '\n';
            bol = true;
        } else {
            c[n++] = m[i];
            bol = false;
        }
    }
    if (!bol) {
        c[n++] = '\r';
        c[n++] = '\n';
    }
    c[n] = '\0';
    *out_len = n;
    return c;
}

struct vres {
    DKIM_STAT eom;
    int sigs;        /* DKIM-Signature fields libopendkim found */
    int passed;      /* of which verified, body hash included */
    int bh_mismatch; /* of which had a wrong body hash */
};

/* Verifies every signature of `msg` with libopendkim, the keys' records read from `keyfile`. */
static struct vres
verify_with(const char *keyfile, const char *msg, size_t len)
{
    struct vres r = {0, 0, 0, 0};
    size_t mlen;
    char *m = crlf_copy(msg, len, &mlen);
    DKIM_LIB *lib = dkim_init(NULL, NULL);
    assert_non_null(lib);
    dkim_query_t qm = DKIM_QUERY_FILE;
    assert_int_equal(dkim_options(lib, DKIM_OP_SETOPT, DKIM_OPTS_QUERYMETHOD, &qm, sizeof(qm)),
                     DKIM_STAT_OK);
    assert_int_equal(
        dkim_options(lib, DKIM_OP_SETOPT, DKIM_OPTS_QUERYINFO, (void *)keyfile, strlen(keyfile)),
        DKIM_STAT_OK);
    DKIM_STAT st;
    DKIM *d = dkim_verify(lib, (const unsigned char *)"test", NULL, &st);
    assert_non_null(d);
    size_t i = 0;
    while (i < mlen) {
        if (m[i] == '\r' && i + 1 < mlen && m[i + 1] == '\n') {
            i += 2;
            break;
        }
        size_t start = i, end;
        for (;;) {
            char *crlf = strstr(m + i, "\r\n");
            if (crlf == NULL) {
                end = i = mlen;
                break;
            }
            end = (size_t)(crlf - m);
            i = end + 2;
            if (i < mlen && (m[i] == ' ' || m[i] == '\t'))
                continue;
            break;
        }
        st = dkim_header(d, (u_char *)m + start, end - start);
        assert_int_equal(st, DKIM_STAT_OK);
    }
    st = dkim_eoh(d);
    if (st == DKIM_STAT_OK && i < mlen)
        st = dkim_body(d, (u_char *)m + i, mlen - i);
    r.eom = st == DKIM_STAT_OK ? dkim_eom(d, NULL) : st;
    DKIM_SIGINFO **sigs = NULL;
    int n = 0;
    if (dkim_getsiglist(d, &sigs, &n) == DKIM_STAT_OK) {
        r.sigs = n;
        for (int j = 0; j < n; j++) {
            if (DKIM_SIG_CHECK(sigs[j]))
                r.passed++;
            if (dkim_sig_getbh(sigs[j]) == DKIM_SIGBH_MISMATCH)
                r.bh_mismatch++;
        }
    }
    dkim_free(d);
    dkim_close(lib);
    free(m);
    return r;
}

static struct vres
verify(const char *msg, size_t len)
{
    return verify_with(g.keyfile, msg, len);
}

/* Signs with both keys (the body hashed once) and returns sig(RSA) sig(Ed25519) message. */
static char *
sign_both(const char *msg, size_t len, size_t *out_len)
{
    unsigned char bh[PB_DKIM_HASH_LEN];
    struct pb_buf out;
    pb_buf_init(&out, OUT_MAX + len);
    assert_int_equal(pb_dkim_body_hash(msg, len, bh), PB_ERR_OK);
    int64_t now = (int64_t)time(NULL);
    assert_int_equal(pb_dkim_sign(g.rsa, msg, len, now, bh, &out), PB_ERR_OK);
    assert_int_equal(pb_dkim_sign(g.ed, msg, len, now, bh, &out), PB_ERR_OK);
    assert_int_equal(pb_buf_append(&out, msg, len), PB_ERR_OK);
    *out_len = out.len;
    return out.data;
}

/* Replaces the first `from` after `after` in a malloc'd copy of `m`. */
static char *
replace(const char *m, const char *after, const char *from, const char *to)
{
    const char *a = strstr(m, after);
    assert_non_null(a);
    const char *p = strstr(a, from);
    assert_non_null(p);
    size_t head = (size_t)(p - m), fl = strlen(from), tl = strlen(to), ml = strlen(m);
    char *c = malloc(ml - fl + tl + 1);
    assert_non_null(c);
    memcpy(c, m, head);
    memcpy(c + head, to, tl);
    memcpy(c + head + tl, p + fl, ml - head - fl + 1);
    return c;
}

/* Unfolds the first DKIM-Signature field of `m` into `out` (CRLF removed). */
static void
sig_unfolded(const char *m, char *out, size_t size)
{
    assert_true(strncmp(m, "DKIM-Signature: ", 16) == 0);
    size_t n = 0;
    for (const char *p = m;; p++) {
        if (p[0] == '\r' && p[1] == '\n') {
            if (p[2] != ' ' && p[2] != '\t')
                break;
            p++;
            continue;
        }
        assert_true(n + 1 < size);
        out[n++] = *p;
    }
    out[n] = '\0';
}

/* The h= value of the first signature, spaces removed. */
static void
sig_h(const char *m, char *out, size_t size)
{
    char sig[4096];
    sig_unfolded(m, sig, sizeof(sig));
    const char *h = strstr(sig, " h=");
    assert_non_null(h);
    size_t n = 0;
    for (h += 3; *h != ';' && *h != '\0'; h++)
        if (*h != ' ' && *h != '\t' && n + 1 < size)
            out[n++] = *h;
    out[n] = '\0';
}

/* Every line of the signature fields at the start of `m` is at most 78 characters. */
static void
assert_folded(const char *m)
{
    int fields = 0;
    const char *p = m;
    while (strncmp(p, "DKIM-Signature: ", 16) == 0) {
        fields++;
        for (;;) {
            const char *e = strstr(p, "\r\n");
            assert_non_null(e);
            assert_true(e - p <= 78);
            assert_null(memchr(p, '\n', (size_t)(e - p))); /* no bare LF */
            p = e + 2;
            if (*p != ' ')
                break;
        }
    }
    assert_true(fields >= 1);
}

static void
assert_both_pass(const char *msg, const char *want_h)
{
    size_t len;
    char *s = sign_both(msg, strlen(msg), &len);
    assert_folded(s);
    struct vres r = verify(s, len);
    if (r.sigs != 2 || r.passed != 2)
        fail_msg("libopendkim: %d of %d signatures verified (eom %d) for:\n%s", r.passed, r.sigs,
                 r.eom, s);
    assert_int_equal(r.eom, DKIM_STAT_OK);
    if (want_h != NULL) {
        char h[512];
        sig_h(s, h, sizeof(h));
        assert_string_equal(h, want_h);
    }
    free(s);
}

/* ---- set-up ------------------------------------------------------------------- */

static int
setup(void **state)
{
    (void)state;
    char why[PB_WHY_MAX];
    pb_test_tmpdir(g.dir);
    snprintf(g.keyfile, sizeof(g.keyfile), "%s/keys", g.dir);
    if (pb_dkim_generate(PB_DKIM_RSA_SHA256, &g.rsa_priv, &g.rsa_len, &g.rsa_pub) != PB_ERR_OK ||
        pb_dkim_generate(PB_DKIM_ED25519_SHA256, &g.ed_priv, &g.ed_len, &g.ed_pub) != PB_ERR_OK ||
        pb_dkim_key_load(PB_DKIM_RSA_SHA256, DOMAIN, SEL_RSA, g.rsa_priv, g.rsa_len, &g.rsa, why) !=
            PB_ERR_OK ||
        pb_dkim_key_load(PB_DKIM_ED25519_SHA256, DOMAIN, SEL_ED, g.ed_priv, g.ed_len, &g.ed, why) !=
            PB_ERR_OK)
        return -1;
    /* libopendkim's test "DNS": one "NAME VALUE" line per key. */
    char *name, *value;
    FILE *f = fopen(g.keyfile, "w");
    if (f == NULL)
        return -1;
    if (pb_dkim_dns_record(PB_DKIM_RSA_SHA256, SEL_RSA, DOMAIN, g.rsa_pub, &name, &value) !=
        PB_ERR_OK)
        return -1;
    fprintf(f, "%s %s\n", name, value);
    free(name);
    free(value);
    if (pb_dkim_dns_record(PB_DKIM_ED25519_SHA256, SEL_ED, DOMAIN, g.ed_pub, &name, &value) !=
        PB_ERR_OK)
        return -1;
    fprintf(f, "%s %s\n", name, value);
    free(name);
    free(value);
    return fclose(f) == 0 ? 0 : -1;
}

static int
teardown(void **state)
{
    (void)state;
    pb_dkim_key_free(g.rsa);
    pb_dkim_key_free(g.ed);
    sodium_memzero(g.rsa_priv, g.rsa_len);
    free(g.rsa_priv);
    free(g.ed_priv);
    free(g.rsa_pub);
    free(g.ed_pub);
    pb_test_rmtree(g.dir);
    return 0;
}

/* ---- canonicalisation ---------------------------------------------------------- */

static void
canon_header(const char *in, const char *want)
{
    struct pb_buf b;
    pb_buf_init(&b, 4096);
    assert_int_equal(pb_dkim_canon_header_relaxed(in, strlen(in), &b), PB_ERR_OK);
    assert_non_null(b.data);
    assert_string_equal(b.data, want);
    pb_buf_release(&b, 0);
}

static void
canon_body_n(bool relaxed, const char *in, size_t len, const char *want)
{
    struct pb_buf b;
    pb_buf_init(&b, 1 << 20);
    enum pb_err err =
        relaxed ? pb_dkim_canon_body_relaxed(in, len, &b) : pb_dkim_canon_body_simple(in, len, &b);
    assert_int_equal(err, PB_ERR_OK);
    assert_int_equal(b.len, strlen(want));
    assert_memory_equal(b.len ? b.data : "", want, b.len);
    pb_buf_release(&b, 0);
}

static void
canon_body(bool relaxed, const char *in, const char *want)
{
    canon_body_n(relaxed, in, strlen(in), want);
}

/* RFC 6376 3.4.5, byte for byte. */
static void
rfc6376_example(void **state)
{
    (void)state;
    /* The example's header fields: "A: <SP> X", "B <SP> : <SP> Y <HTAB> / <HTAB> Z <SP><SP>". */
    canon_header("A: X\r\n", "a:X\r\n");
    canon_header("B : Y\t\r\n\tZ  \r\n", "b:Y Z\r\n");
    /* Simple header canonicalisation changes nothing (RFC 6376 3.4.1): the
     * signer never uses it, so there is no function to test. */
    const char body[] = " C \r\nD \t E\r\n\r\n\r\n";
    canon_body(true, body, " C\r\nD E\r\n");
    canon_body(false, body, " C \r\nD \t E\r\n");
}

static void
canon_edge_cases(void **state)
{
    (void)state;
    /* An empty body: nothing in the relaxed form (RFC 6376 3.4.4 and errata), CRLF in simple. */
    canon_body_n(true, "", 0, "");
    canon_body_n(false, "", 0, "\r\n");
    canon_body(true, "\r\n\r\n", "");
    canon_body(false, "\r\n\r\n", "\r\n");
    /* Only whitespace lines: all empty in relaxed, kept in simple. */
    canon_body(true, " \r\n\t\t\r\n", "");
    canon_body(false, " \r\n\t\t\r\n\r\n", " \r\n\t\t\r\n");
    /* No final line break: one is added. */
    canon_body(true, "abc", "abc\r\n");
    canon_body(false, "abc", "abc\r\n");
    canon_body(true, "abc \t", "abc\r\n");
    /* LF alone is a line break. */
    canon_body(true, "a  b \nc\n\n\n", "a b\r\nc\r\n");
    canon_body(false, "a  b \nc\n\n", "a  b \r\nc\r\n");
    /* Inner empty lines stay; UTF-8 passes untouched. */
    canon_body(true, "x\r\n\r\n \r\ny\r\n", "x\r\n\r\n\r\ny\r\n");
    canon_body(true,
               "Gr\xc3\xbc\xc3\x9f"
               "e\t\t\xe2\x9c\x93\r\n",
               "Gr\xc3\xbc\xc3\x9f"
               "e \xe2\x9c\x93\r\n");
    /* Headers: the name lower-cased, WSP around the colon gone, inner runs as one SP. */
    canon_header("Subject:\r\n  Hello \t  World\t", "subject:Hello World\r\n");
    canon_header("X-Empty:   \r\n", "x-empty:\r\n");
    canon_header("Content-Type: text/plain;\n\tcharset=utf-8\n",
                 "content-type:text/plain; charset=utf-8\r\n");
    canon_header("To:a@example.org", "to:a@example.org\r\n");
    struct pb_buf b;
    pb_buf_init(&b, 100);
    assert_int_equal(pb_dkim_canon_header_relaxed("no colon", 8, &b), PB_ERR_INVALID);
    assert_int_equal(pb_dkim_canon_header_relaxed(": no name", 9, &b), PB_ERR_INVALID);
    assert_int_equal(b.len, 0);
    /* The buffer's maximum holds. */
    assert_int_equal(pb_dkim_canon_body_relaxed("0123456789\r\n0123456789\r\n", 24, &b), PB_ERR_OK);
    pb_buf_release(&b, 0);
    pb_buf_init(&b, 10);
    assert_int_equal(pb_dkim_canon_body_relaxed("0123456789\r\n", 12, &b), PB_ERR_TOO_LARGE);
    pb_buf_release(&b, 0);
}

/* The relaxed body form written the obvious way: line by line (CRLF, LF or CR ending a
 * line), cut after the last non-empty one. */
static char *
naive_relaxed(const char *in, size_t len, size_t *out_len)
{
    char *out = malloc(2 * len + 3);
    assert_non_null(out);
    size_t n = 0, keep = 0, i = 0;
    while (i < len) {
        size_t e = i;
        while (e < len && in[e] != '\n' && in[e] != '\r')
            e++;
        size_t next = e + (e + 1 < len && in[e] == '\r' && in[e + 1] == '\n' ? 2 : 1);
        size_t line = n;
        bool ws = false;
        for (size_t j = i; j < e; j++) {
            bool w = in[j] == ' ' || in[j] == '\t';
            if (!w && ws)
                out[n++] = ' ';
            if (!w)
                out[n++] = in[j];
            ws = w;
        }
        bool empty = n == line;
        out[n++] = '\r';
        out[n++] = '\n';
        if (!empty)
            keep = n;
        i = next;
    }
    *out_len = keep;
    return out;
}

/* A random body: dense in whitespace and line ends, or text with a rare one. */
static char *
random_body(int round, size_t *len)
{
    static const char dense[] = {' ', ' ', '\t', 'a', 'b', '\r', '\n', '\n', 'z', '\xc3'};
    static const char rare[] = {'\t', '\r', '\n', ' '};
    size_t n = randombytes_uniform(round < 100 ? 40 : 20000);
    char *in = malloc(n + 1);
    assert_non_null(in);
    for (size_t i = 0; i < n; i++) {
        if (round % 2 == 0) {
            in[i] = dense[randombytes_uniform(sizeof(dense))];
        } else {
            /* Text with single spaces and CRLF every ~70 bytes; now and then a special byte. */
            uint32_t r = randombytes_uniform(1000);
            in[i] = r < 120 ? ' ' : (char)('a' + r % 26);
            if (r < 3)
                in[i] = rare[randombytes_uniform(sizeof(rare))];
            if (i % 70 == 68 && i + 1 < n) {
                in[i++] = '\r';
                in[i] = '\n';
            }
        }
    }
    *len = n;
    return in;
}

/* Random bodies against the naive form, long enough to cross the signer's internal buffer. */
static void
canon_matches_reference(void **state)
{
    (void)state;
    struct pb_buf b;
    pb_buf_init(&b, 1 << 20);
    for (int round = 0; round < 600; round++) {
        size_t len;
        char *in = random_body(round, &len);
        size_t want_len;
        char *want = naive_relaxed(in, len, &want_len);
        pb_buf_reset(&b);
        assert_int_equal(pb_dkim_canon_body_relaxed(in, len, &b), PB_ERR_OK);
        assert_int_equal(b.len, want_len);
        assert_memory_equal(b.len ? b.data : "", want, want_len);
        /* The streamed body hash is SHA-256 of the same bytes. */
        unsigned char h1[PB_DKIM_HASH_LEN], h2[crypto_hash_sha256_BYTES];
        char *msg = malloc(len + 32);
        assert_non_null(msg);
        memcpy(msg, "From: a@example.com\r\n\r\n", 23);
        memcpy(msg + 23, in, len);
        assert_int_equal(pb_dkim_body_hash(msg, len + 23, h1), PB_ERR_OK);
        crypto_hash_sha256(h2, (const unsigned char *)want, want_len);
        assert_memory_equal(h1, h2, sizeof(h1));
        free(msg);
        free(want);
        free(in);
    }
    pb_buf_release(&b, 0);
}

/* ---- signing and verifying with libopendkim ------------------------------------ */

#define DATE "Date: Mon, 02 Mar 2026 10:00:00 +0000\r\n"

static void
opendkim_verifies_ed25519(void **state)
{
    (void)state;
    DKIM_LIB *lib = dkim_init(NULL, NULL);
    assert_non_null(lib);
    /* If this fails, the Ed25519 signatures below are not independently checked. */
    assert_true(dkim_libfeature(lib, DKIM_FEATURE_ED25519));
    dkim_close(lib);
}

static void
sign_basic(void **state)
{
    (void)state;
    assert_both_pass("From: Alice <alice@example.com>\r\n"
                     "To: bob@example.org\r\n"
                     "Subject: Hello\r\n" DATE "Message-ID: <1@example.com>\r\n"
                     "MIME-Version: 1.0\r\n"
                     "Content-Type: text/plain; charset=utf-8\r\n"
                     "\r\n"
                     "Hello Bob.\r\n",
                     "From:To:Subject:Date:Message-ID:MIME-Version:Content-Type");
}

/* The ten fields, some twice, odd spellings, unsigned fields around them. */
static const char all_fields[] =
    "Received: from a.example by b.example; Mon, 02 Mar 2026 10:00:01 +0000\r\n"
    "Received: from c.example by a.example\r\n"
    "FROM: News <news@example.com>\r\n"
    "To: one@example.org\r\n"
    "To: two@example.org\r\n"
    "Subject: first\r\n"
    "subject:   Second   subject\t \r\n"
    "Reply-To: help@example.com\r\n" DATE "Message-Id: <2@example.com>\r\n"
    "List-Unsubscribe: <https://example.com/u/abc>, <mailto:u@example.com?subject=unsubscribe>\r\n"
    "List-Unsubscribe-Post: List-Unsubscribe=One-Click\r\n"
    "Mime-Version: 1.0\r\n"
    "Content-Type: multipart/alternative; boundary=\"b1\"\r\n"
    "X-Campaign: 42\r\n"
    "\r\n"
    "--b1\r\n"
    "Content-Type: text/plain; charset=utf-8\r\n"
    "\r\n"
    "Text  part.\r\n"
    "--b1\r\n"
    "Content-Type: text/html; charset=utf-8\r\n"
    "\r\n"
    "<p>HTML part.</p>\r\n"
    "--b1--\r\n";

static void
sign_all_fields_repeated(void **state)
{
    (void)state;
    assert_both_pass(all_fields, "FROM:To:subject:Date:Message-Id:List-Unsubscribe:"
                                 "List-Unsubscribe-Post:Reply-To:Mime-Version:Content-Type");
}

static void
sign_folded_headers(void **state)
{
    (void)state;
    assert_both_pass("From: \"A Sender With A Rather Long Display Name\"\r\n"
                     " <sender@example.com>\r\n"
                     "To: a@example.org,\r\n\tb@example.org,\r\n    c@example.org\r\n"
                     "Subject: =?utf-8?B?R3LDvMOfZSBhdXMgS8O2bG4=?=\r\n"
                     " =?utf-8?B?4pyT?=\r\n" DATE "Content-Type: text/plain;\r\n"
                     "\tcharset=\"utf-8\"\r\n"
                     "Date : Tue, 03 Mar 2026 10:00:00 +0000\r\n"
                     "\r\n"
                     "Body.\r\n",
                     "From:To:Subject:Date:Content-Type");
}

static void
sign_long_lines(void **state)
{
    (void)state;
    size_t cap = 64 * 1024;
    char *m = malloc(cap);
    assert_non_null(m);
    int n = snprintf(m, cap, "From: a@example.com\r\nList-Unsubscribe: <https://example.com/u/");
    for (int i = 0; i < 900; i++)
        m[n++] = (char)('a' + i % 26);
    n += snprintf(m + n, cap - (size_t)n, ">\r\nSubject: long\r\n\r\n");
    /* A 10,000-character line with runs of spaces and tabs at the 4 KiB marks. */
    for (int i = 0; i < 10000; i++)
        m[n++] = (i % 4096) > 4090 ? ' ' : (i % 7 == 0 ? '\t' : (char)('A' + i % 26));
    n += snprintf(m + n, cap - (size_t)n, "  \r\nshort line\r\n");
    assert_both_pass(m, "From:Subject:List-Unsubscribe");
    free(m);
}

static void
sign_empty_bodies(void **state)
{
    (void)state;
    assert_both_pass("From: a@example.com\r\nSubject: empty\r\n\r\n", "From:Subject");
    assert_both_pass("From: a@example.com\r\nSubject: no body at all\r\n", "From:Subject");
    assert_both_pass("From: a@example.com\r\n\r\n\r\n\r\n \r\n", "From");
}

static void
sign_trailing_empty_lines_and_whitespace(void **state)
{
    (void)state;
    assert_both_pass("From: a@example.com\r\nTo: b@example.org\r\n\r\n"
                     "a  \t b\t\r\n\r\n   \r\nc\r\n\r\n \r\n\t\r\n\r\n",
                     "From:To");
    /* No line break at the end (the SMTP client adds one; libopendkim wants it). */
    assert_both_pass("From: a@example.com\r\n\r\nno line break at the end", "From");
    /* CR alone ends a line, in the body and in a folded header, as on the wire. */
    assert_both_pass("From: a@example.com\rSubject: cr\r alone\r\n\r\none\rtwo \r\r",
                     "From:Subject");
}

static void
sign_utf8(void **state)
{
    (void)state;
    assert_both_pass("From: =?utf-8?Q?J=C3=BCrgen?= <j@example.com>\r\n"
                     "To: \xc3\xa9lise@example.org\r\n"
                     "Subject: Gr\xc3\xbc\xc3\x9f"
                     "e \xe2\x9c\x93\r\n"
                     "Content-Type: text/plain; charset=utf-8\r\n"
                     "Content-Transfer-Encoding: 8bit\r\n"
                     "\r\n"
                     "Gr\xc3\xbc\xc3\x9f"
                     "e aus K\xc3\xb6ln \xe2\x80\x94 \xe6\x97\xa5\xe6\x9c\xac\r\n",
                     "From:To:Subject:Content-Type");
}

static void
sign_lf_only(void **state)
{
    (void)state;
    const char lf[] = "From: a@example.com\nTo: b@example.org\nSubject: lf\n  folded\n\n"
                      "line one  \nline two\n\n\n";
    assert_both_pass(lf, "From:To:Subject");
    /* The same as its CRLF form: same body hash, same Ed25519 signature (deterministic). */
    size_t clen;
    char *crlf = crlf_copy(lf, strlen(lf), &clen);
    struct pb_buf a, b;
    pb_buf_init(&a, OUT_MAX);
    pb_buf_init(&b, OUT_MAX);
    assert_int_equal(pb_dkim_sign(g.ed, lf, strlen(lf), 1700000000, NULL, &a), PB_ERR_OK);
    assert_int_equal(pb_dkim_sign(g.ed, crlf, clen, 1700000000, NULL, &b), PB_ERR_OK);
    assert_string_equal(a.data, b.data);
    free(crlf);
    pb_buf_release(&a, 0);
    pb_buf_release(&b, 0);
}

/* A message the size of a campaign's: multipart, quoted-printable, ~20 KB. */
static void
sign_large(void **state)
{
    (void)state;
    struct pb_buf m;
    pb_buf_init(&m, 1 << 20);
    assert_int_equal(pb_buf_append_str(&m, all_fields), PB_ERR_OK);
    m.len -= strlen("--b1--\r\n");
    for (int i = 0; m.len < 20000; i++)
        assert_int_equal(pb_buf_printf(&m,
                                       "<p style=3D\"margin:0\">Paragraph %d with some text =\r\n"
                                       "and a link <a href=3D\"https://example.com/l/%d\">here</a> "
                                       "</p>\r\n",
                                       i, i),
                         PB_ERR_OK);
    assert_int_equal(pb_buf_append_str(&m, "--b1--\r\n"), PB_ERR_OK);
    assert_both_pass(m.data, NULL);
    pb_buf_release(&m, 0);
}

/* The base64 characters of b='s value (the spaces of folds left out). */
static size_t
b_len(const char *unfolded_sig)
{
    const char *b = strstr(unfolded_sig, " b=");
    assert_non_null(b);
    size_t n = 0;
    for (b += 3; *b != '\0'; b++)
        if (*b != ' ')
            n++;
    return n;
}

/* The signature's tags, and what it refuses to sign. */
static void
sign_tags_and_errors(void **state)
{
    (void)state;
    const char msg[] = "From: a@example.com\r\nSubject: s\r\n\r\nx\r\n";
    struct pb_buf out;
    char sig[4096];
    pb_buf_init(&out, OUT_MAX);
    assert_int_equal(pb_dkim_sign(g.rsa, msg, strlen(msg), 1700000000, NULL, &out), PB_ERR_OK);
    sig_unfolded(out.data, sig, sizeof(sig));
    const char prefix[] = "DKIM-Signature: v=1; a=rsa-sha256; c=relaxed/relaxed; d=example.com; "
                          "s=rsa1; t=1700000000; h=From:Subject; bh=";
    assert_true(strncmp(sig, prefix, strlen(prefix)) == 0);
    assert_null(strstr(sig, " l="));
    assert_null(strstr(sig, " x="));
    /* bh= of "x\r\n" */
    unsigned char h[crypto_hash_sha256_BYTES];
    char b64[64];
    crypto_hash_sha256(h, (const unsigned char *)"x\r\n", 3);
    sodium_bin2base64(b64, sizeof(b64), h, sizeof(h), sodium_base64_VARIANT_ORIGINAL);
    char want[80];
    snprintf(want, sizeof(want), " bh=%s; b=", b64);
    assert_non_null(strstr(sig, want));
    /* RSA-2048: 256 bytes, 344 base64 characters (folding spaces apart). */
    assert_int_equal(b_len(sig), 344);

    pb_buf_reset(&out);
    assert_int_equal(pb_dkim_sign(g.ed, msg, strlen(msg), 1700000000, NULL, &out), PB_ERR_OK);
    sig_unfolded(out.data, sig, sizeof(sig));
    assert_non_null(strstr(sig, " a=ed25519-sha256; "));
    assert_non_null(strstr(sig, " s=ed1; "));
    assert_int_equal(b_len(sig), 88);

    /* Refused, and `out` left as it was. */
    pb_buf_reset(&out);
    assert_int_equal(pb_buf_append_str(&out, "kept"), PB_ERR_OK);
    static const char *const bad[] = {
        "To: b@example.org\r\nSubject: no From\r\n\r\nx\r\n",
        " From: a@example.com\r\n\r\nx\r\n",
        "From: a@example.com\r\nthis line has no colon\r\n\r\nx\r\n",
        "From a@example.com Mon Mar  2 10:00:00 2026\r\nFrom: a@example.com\r\n\r\n",
        "",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        assert_int_equal(pb_dkim_sign(g.rsa, bad[i], strlen(bad[i]), 1700000000, NULL, &out),
                         PB_ERR_INVALID);
        assert_string_equal(out.data, "kept");
    }
    assert_int_equal(pb_dkim_sign(g.ed, msg, strlen(msg), -1, NULL, &out), PB_ERR_INVALID);
    pb_buf_release(&out, 0);
    /* Too small an output buffer. */
    pb_buf_init(&out, 200);
    assert_int_equal(pb_buf_append_str(&out, "kept"), PB_ERR_OK);
    assert_int_equal(pb_dkim_sign(g.rsa, msg, strlen(msg), 1700000000, NULL, &out),
                     PB_ERR_TOO_LARGE);
    assert_string_equal(out.data, "kept");
    assert_int_equal(out.len, 4);
    pb_buf_release(&out, 0);
}

/* Changes the verifier must notice, and changes it must not mind. */
static void
tampering(void **state)
{
    (void)state;
    size_t len;
    char *s = sign_both(all_fields, strlen(all_fields), &len);
    struct vres r = verify(s, len);
    assert_int_equal(r.passed, 2);

    /* The body: one character. */
    char *t = replace(s, "\r\n\r\n", "Text  part.", "Text  parT.");
    r = verify(t, strlen(t));
    assert_int_equal(r.sigs, 2);
    assert_int_equal(r.passed, 0);
    assert_int_equal(r.bh_mismatch, 2);
    assert_int_not_equal(r.eom, DKIM_STAT_OK);
    free(t);

    /* The signed (last) Subject. */
    t = replace(s, "subject:", "Second", "Third");
    r = verify(t, strlen(t));
    assert_int_equal(r.sigs, 2);
    assert_int_equal(r.passed, 0);
    assert_int_equal(r.bh_mismatch, 0);
    assert_int_not_equal(r.eom, DKIM_STAT_OK);
    free(t);

    /* A From added below the signed one: verifiers take the last, so it fails. */
    t = replace(s, "X-Campaign: 42\r\n", "\r\n\r\n", "\r\nFrom: evil@example.net\r\n\r\n");
    r = verify(t, strlen(t));
    assert_int_equal(r.passed, 0);
    free(t);

    /* The earlier, unsigned Subject; an added unsigned field; whitespace in a signed one. */
    t = replace(s, "Subject: first", "first", "changed");
    r = verify(t, strlen(t));
    assert_int_equal(r.passed, 2);
    free(t);
    t = replace(s, "X-Campaign: 42\r\n", "\r\n", "\r\nX-Added: yes\r\n");
    r = verify(t, strlen(t));
    assert_int_equal(r.passed, 2);
    free(t);
    t = replace(s, "To: two", "To: two@example.org", "To:\r\n\t  two@example.org   ");
    r = verify(t, strlen(t));
    assert_int_equal(r.passed, 2);
    free(t);
    /* Trailing whitespace and empty lines added to the body (relaxed). */
    t = replace(s, "\r\n\r\n", "Text  part.\r\n", "Text \t part. \t\r\n");
    char *t2 = malloc(strlen(t) + 8);
    assert_non_null(t2);
    snprintf(t2, strlen(t) + 8, "%s\r\n\r\n", t);
    r = verify(t2, strlen(t2));
    assert_int_equal(r.passed, 2);
    free(t2);
    free(t);
    free(s);
}

/* ---- several threads, one key --------------------------------------------------- */

enum { THREADS = 4, PER_THREAD = 40 };

struct worker {
    pthread_t th;
    enum pb_err err;
    struct pb_buf out; /* the last signatures: RSA then Ed25519 */
};

static void *
work(void *arg)
{
    struct worker *w = arg;
    pb_buf_init(&w->out, OUT_MAX);
    w->err = PB_ERR_OK;
    for (int i = 0; i < PER_THREAD && w->err == PB_ERR_OK; i++) {
        pb_buf_reset(&w->out);
        w->err = pb_dkim_sign(g.rsa, all_fields, strlen(all_fields), 1700000000, NULL, &w->out);
        if (w->err == PB_ERR_OK)
            w->err = pb_dkim_sign(g.ed, all_fields, strlen(all_fields), 1700000000, NULL, &w->out);
    }
    return NULL;
}

static void
threads_share_keys(void **state)
{
    (void)state;
    struct worker w[THREADS];
    for (int i = 0; i < THREADS; i++)
        assert_int_equal(pthread_create(&w[i].th, NULL, work, &w[i]), 0);
    for (int i = 0; i < THREADS; i++)
        assert_int_equal(pthread_join(w[i].th, NULL), 0);
    for (int i = 0; i < THREADS; i++) {
        assert_int_equal(w[i].err, PB_ERR_OK);
        /* Identical input: identical signatures (RSA PKCS#1 v1.5 and Ed25519 are deterministic). */
        assert_string_equal(w[i].out.data, w[0].out.data);
    }
    assert_int_equal(pb_buf_append_str(&w[0].out, all_fields), PB_ERR_OK);
    struct vres r = verify(w[0].out.data, w[0].out.len);
    assert_int_equal(r.passed, 2);
    for (int i = 0; i < THREADS; i++)
        pb_buf_release(&w[i].out, 0);
}

/* ---- keys ------------------------------------------------------------------------ */

static void
load_ok(enum pb_dkim_alg alg, const unsigned char *priv, size_t len, const char *want_pub)
{
    char why[PB_WHY_MAX], *pub;
    struct pb_dkim_key *k = NULL;
    assert_int_equal(pb_dkim_key_load(alg, "mail.example.co.uk", "s2026-03.eu", priv, len, &k, why),
                     PB_ERR_OK);
    assert_int_equal(pb_dkim_key_public(k, &pub), PB_ERR_OK);
    assert_string_equal(pub, want_pub);
    free(pub);
    pb_dkim_key_free(k);
}

static void
load_bad(enum pb_dkim_alg alg, const char *domain, const char *selector, const void *priv,
         size_t len, const char *why_has)
{
    char why[PB_WHY_MAX];
    struct pb_dkim_key *k = (struct pb_dkim_key *)1;
    assert_int_equal(pb_dkim_key_load(alg, domain, selector, priv, len, &k, why), PB_ERR_INVALID);
    assert_null(k);
    if (strstr(why, why_has) == NULL)
        fail_msg("why \"%s\" does not mention \"%s\"", why, why_has);
}

static void
keys_round_trip(void **state)
{
    (void)state;
    /* RSA: PKCS#8 PEM of 2048 bits, p= a DER SubjectPublicKeyInfo. */
    assert_true(strncmp((const char *)g.rsa_priv, "-----BEGIN PRIVATE KEY-----", 27) == 0);
    unsigned char der[1024];
    size_t der_len;
    assert_int_equal(sodium_base642bin(der, sizeof(der), g.rsa_pub, strlen(g.rsa_pub), NULL,
                                       &der_len, NULL, sodium_base64_VARIANT_ORIGINAL),
                     0);
    gnutls_pubkey_t pub;
    unsigned bits = 0;
    gnutls_datum_t d = {der, (unsigned)der_len};
    assert_int_equal(gnutls_pubkey_init(&pub), 0);
    assert_int_equal(gnutls_pubkey_import(pub, &d, GNUTLS_X509_FMT_DER), 0);
    assert_int_equal(gnutls_pubkey_get_pk_algorithm(pub, &bits), GNUTLS_PK_RSA);
    assert_int_equal(bits, 2048);
    gnutls_pubkey_deinit(pub);
    load_ok(PB_DKIM_RSA_SHA256, g.rsa_priv, g.rsa_len, g.rsa_pub);

    /* The same key as PKCS#1 PEM and as DER. */
    gnutls_x509_privkey_t x;
    gnutls_datum_t in = {g.rsa_priv, (unsigned)g.rsa_len}, out = {NULL, 0};
    assert_int_equal(gnutls_x509_privkey_init(&x), 0);
    assert_int_equal(gnutls_x509_privkey_import(x, &in, GNUTLS_X509_FMT_PEM), 0);
    assert_int_equal(gnutls_x509_privkey_export2(x, GNUTLS_X509_FMT_PEM, &out), 0);
    assert_non_null(strstr((char *)out.data, "BEGIN RSA PRIVATE KEY"));
    load_ok(PB_DKIM_RSA_SHA256, out.data, out.size, g.rsa_pub);
    gnutls_free(out.data);
    assert_int_equal(gnutls_x509_privkey_export2(x, GNUTLS_X509_FMT_DER, &out), 0);
    load_ok(PB_DKIM_RSA_SHA256, out.data, out.size, g.rsa_pub);
    /* A key cut short. */
    load_bad(PB_DKIM_RSA_SHA256, DOMAIN, SEL_RSA, out.data, out.size / 2, "not an unencrypted RSA");
    gnutls_free(out.data);
    /* Encrypted PKCS#8. */
    assert_int_equal(gnutls_x509_privkey_export2_pkcs8(x, GNUTLS_X509_FMT_PEM, "secret",
                                                       GNUTLS_PKCS_PBES2_AES_256, &out),
                     0);
    load_bad(PB_DKIM_RSA_SHA256, DOMAIN, SEL_RSA, out.data, out.size, "not an unencrypted RSA");
    gnutls_free(out.data);
    gnutls_x509_privkey_deinit(x);

    /* Ed25519: the 32-byte seed, p= the raw 32-byte public key. */
    assert_int_equal(g.ed_len, 32);
    assert_int_equal(strlen(g.ed_pub), 44);
    load_ok(PB_DKIM_ED25519_SHA256, g.ed_priv, g.ed_len, g.ed_pub);

    /* generate -> load -> sign -> verify, for keys made here. */
    const char msg[] = "From: a@example.com\r\nSubject: round trip\r\n\r\nHi\r\n";
    for (int alg = 0; alg < 2; alg++) {
        unsigned char *priv;
        size_t plen;
        char *pb, *name, *value, why[PB_WHY_MAX];
        struct pb_dkim_key *k;
        struct pb_buf o;
        assert_int_equal(pb_dkim_generate((enum pb_dkim_alg)alg, &priv, &plen, &pb), PB_ERR_OK);
        assert_int_equal(
            pb_dkim_key_load((enum pb_dkim_alg)alg, "example.net", "new", priv, plen, &k, why),
            PB_ERR_OK);
        assert_int_equal(
            pb_dkim_dns_record((enum pb_dkim_alg)alg, "new", "example.net", pb, &name, &value),
            PB_ERR_OK);
        /* The record goes to a key file of its own, read by libopendkim. */
        char path[PATH_MAX + 16];
        snprintf(path, sizeof(path), "%s/keys%d", g.dir, alg);
        FILE *f = fopen(path, "w");
        assert_non_null(f);
        fprintf(f, "%s %s\n", name, value);
        fclose(f);
        pb_buf_init(&o, OUT_MAX);
        assert_int_equal(pb_dkim_sign(k, msg, strlen(msg), (int64_t)time(NULL), NULL, &o),
                         PB_ERR_OK);
        assert_int_equal(pb_buf_append_str(&o, msg), PB_ERR_OK);
        struct vres r = verify_with(path, o.data, o.len);
        assert_int_equal(r.sigs, 1);
        assert_int_equal(r.passed, 1);
        pb_buf_release(&o, 0);
        pb_dkim_key_free(k);
        sodium_memzero(priv, plen);
        free(priv);
        free(pb);
        free(name);
        free(value);
    }
}

static void
keys_refused(void **state)
{
    (void)state;
    /* Not a key; the wrong kind of key; the wrong size. */
    load_bad(PB_DKIM_RSA_SHA256, DOMAIN, SEL_RSA, "hello", 5, "not an unencrypted RSA");
    load_bad(PB_DKIM_RSA_SHA256, DOMAIN, SEL_RSA, "", 0, "empty");
    load_bad(PB_DKIM_RSA_SHA256, DOMAIN, SEL_RSA, g.ed_priv, g.ed_len, "not an unencrypted RSA");
    load_bad(PB_DKIM_ED25519_SHA256, DOMAIN, SEL_ED, g.rsa_priv, g.rsa_len, "32-byte seed");
    load_bad(PB_DKIM_ED25519_SHA256, DOMAIN, SEL_ED, g.ed_priv, 31, "32-byte seed");
    load_bad((enum pb_dkim_alg)7, DOMAIN, SEL_ED, g.ed_priv, 32, "algorithm");

    gnutls_x509_privkey_t x;
    gnutls_datum_t pem = {NULL, 0};
    assert_int_equal(gnutls_x509_privkey_init(&x), 0);
    assert_int_equal(gnutls_x509_privkey_generate(
                         x, GNUTLS_PK_ECDSA, GNUTLS_CURVE_TO_BITS(GNUTLS_ECC_CURVE_SECP256R1), 0),
                     0);
    assert_int_equal(
        gnutls_x509_privkey_export2_pkcs8(x, GNUTLS_X509_FMT_PEM, NULL, GNUTLS_PKCS_PLAIN, &pem),
        0);
    load_bad(PB_DKIM_RSA_SHA256, DOMAIN, SEL_RSA, pem.data, pem.size, "not an RSA key");
    gnutls_free(pem.data);
    gnutls_x509_privkey_deinit(x);

    assert_int_equal(gnutls_x509_privkey_init(&x), 0);
    assert_int_equal(gnutls_x509_privkey_generate(x, GNUTLS_PK_RSA, 768, 0), 0);
    assert_int_equal(
        gnutls_x509_privkey_export2_pkcs8(x, GNUTLS_X509_FMT_PEM, NULL, GNUTLS_PKCS_PLAIN, &pem),
        0);
    load_bad(PB_DKIM_RSA_SHA256, DOMAIN, SEL_RSA, pem.data, pem.size, "768 bits");
    gnutls_free(pem.data);
    gnutls_x509_privkey_deinit(x);

    /* Domains and selectors. */
    static const char *const domains[] = {
        "",
        "com",
        "-a.example",
        "a-.example",
        "a..example",
        "a_b.example",
        "exa mple.com",
        "example.com.",
        ".example.com",
        "ex\xc3\xa4mple.com",
        "a.example\n",
        "example.com;",
        "x.example/y",
        "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.example", /* 64 */
    };
    for (size_t i = 0; i < sizeof(domains) / sizeof(domains[0]); i++)
        load_bad(PB_DKIM_ED25519_SHA256, domains[i], SEL_ED, g.ed_priv, 32, "domain");
    load_bad(PB_DKIM_ED25519_SHA256, NULL, SEL_ED, g.ed_priv, 32, "domain");
    static const char *const selectors[] = {
        "",
        "a_b",
        "sel.",
        ".sel",
        "-s",
        "s-",
        "s;k=x",
        "s\r\n",
        "ssssssssssssssssssssssssssssssssssssssssssssssssssssssssssssssss", /* 64 */
    };
    for (size_t i = 0; i < sizeof(selectors) / sizeof(selectors[0]); i++)
        load_bad(PB_DKIM_ED25519_SHA256, DOMAIN, selectors[i], g.ed_priv, 32, "selector");
    load_bad(PB_DKIM_ED25519_SHA256, DOMAIN, NULL, g.ed_priv, 32, "selector");
    /* Valid labels, but a record name over 253 characters. */
    char longdom[260];
    memset(longdom, 'a', sizeof(longdom));
    for (int i = 63; i < 250; i += 64)
        longdom[i] = '.';
    longdom[250] = '\0';
    load_bad(PB_DKIM_ED25519_SHA256, longdom, "sel", g.ed_priv, 32, "longer than 253");
    /* At the limits: 63-character labels, a one-label selector, digits, xn-- labels. */
    char why[PB_WHY_MAX];
    struct pb_dkim_key *k;
    assert_int_equal(
        pb_dkim_key_load(
            PB_DKIM_ED25519_SHA256,
            "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.xn--bcher-kva.de",
            "2026", g.ed_priv, 32, &k, why),
        PB_ERR_OK);
    pb_dkim_key_free(k);
    pb_dkim_key_free(NULL);
}

static void
dns_records(void **state)
{
    (void)state;
    char *name, *value;
    assert_int_equal(
        pb_dkim_dns_record(PB_DKIM_RSA_SHA256, SEL_RSA, DOMAIN, g.rsa_pub, &name, &value),
        PB_ERR_OK);
    assert_string_equal(name, "rsa1._domainkey.example.com");
    assert_true(strncmp(value, "v=DKIM1; k=rsa; p=", 18) == 0);
    assert_string_equal(value + 18, g.rsa_pub);
    free(name);
    free(value);
    assert_int_equal(pb_dkim_dns_record(PB_DKIM_ED25519_SHA256, "s1.eu", "mail.example.org",
                                        g.ed_pub, &name, &value),
                     PB_ERR_OK);
    assert_string_equal(name, "s1.eu._domainkey.mail.example.org");
    assert_true(strncmp(value, "v=DKIM1; k=ed25519; p=", 22) == 0);
    assert_string_equal(value + 22, g.ed_pub);
    free(name);
    free(value);

    /* Refused: a p= of the other algorithm, not base64, bad names. */
    name = value = (char *)1;
    assert_int_equal(
        pb_dkim_dns_record(PB_DKIM_ED25519_SHA256, SEL_ED, DOMAIN, g.rsa_pub, &name, &value),
        PB_ERR_INVALID);
    assert_null(name);
    assert_null(value);
    assert_int_equal(
        pb_dkim_dns_record(PB_DKIM_RSA_SHA256, SEL_RSA, DOMAIN, g.ed_pub, &name, &value),
        PB_ERR_INVALID);
    assert_int_equal(
        pb_dkim_dns_record(PB_DKIM_RSA_SHA256, SEL_RSA, DOMAIN, "not base64!", &name, &value),
        PB_ERR_INVALID);
    assert_int_equal(pb_dkim_dns_record(PB_DKIM_RSA_SHA256, SEL_RSA, DOMAIN, "", &name, &value),
                     PB_ERR_INVALID);
    assert_int_equal(
        pb_dkim_dns_record(PB_DKIM_ED25519_SHA256, "a_b", DOMAIN, g.ed_pub, &name, &value),
        PB_ERR_INVALID);
    assert_int_equal(
        pb_dkim_dns_record(PB_DKIM_ED25519_SHA256, SEL_ED, "localhost", g.ed_pub, &name, &value),
        PB_ERR_INVALID);
    assert_int_equal(
        pb_dkim_dns_record((enum pb_dkim_alg)9, SEL_ED, DOMAIN, g.ed_pub, &name, &value),
        PB_ERR_INVALID);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(rfc6376_example),
        cmocka_unit_test(canon_edge_cases),
        cmocka_unit_test(canon_matches_reference),
        cmocka_unit_test(opendkim_verifies_ed25519),
        cmocka_unit_test(sign_basic),
        cmocka_unit_test(sign_all_fields_repeated),
        cmocka_unit_test(sign_folded_headers),
        cmocka_unit_test(sign_long_lines),
        cmocka_unit_test(sign_empty_bodies),
        cmocka_unit_test(sign_trailing_empty_lines_and_whitespace),
        cmocka_unit_test(sign_utf8),
        cmocka_unit_test(sign_lf_only),
        cmocka_unit_test(sign_large),
        cmocka_unit_test(sign_tags_and_errors),
        cmocka_unit_test(tampering),
        cmocka_unit_test(threads_share_keys),
        cmocka_unit_test(keys_round_trip),
        cmocka_unit_test(keys_refused),
        cmocka_unit_test(dns_records),
    };
    if (sodium_init() < 0)
        return 1;
    return cmocka_run_group_tests(tests, setup, teardown);
}
