/*
 * The DKIM signer (RFC 6376, RFC 8463): key generation and loading, the
 * relaxed and simple canonicalisations, and the DKIM-Signature field.
 *
 * Canonical text is never built whole: the body is hashed straight from
 * the message wherever its canonical form is the same bytes (the usual
 * case), and what the canonicalisation rewrites goes through a small stack
 * buffer (struct sink) into SHA-256. Signing allocates nothing but the
 * hash contexts, GnuTLS's RSA signature and the output's growth.
 */
#include "mail/dkim.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <gnutls/abstract.h>
#include <gnutls/crypto.h>
#include <gnutls/gnutls.h>
#include <gnutls/x509.h>
#include <sodium.h>

enum {
    FOLD_AT = 78,       /* RFC 5322 2.1.1: lines SHOULD be at most 78 characters */
    LABEL_MAX = 63,     /* a DNS label */
    DNS_NAME_MAX = 253, /* a DNS name, without the root's dot */
    SINK_SIZE = 4096,
    RSA_MIN_BITS = 1024, /* RFC 8301: shorter keys are not verified */
    RSA_MAX_BITS = 4096, /* RFC 8301: verifiers need not take longer ones */
    RSA_GEN_BITS = 2048,
    KEY_FILE_MAX = 64 * 1024,
    SIG_MAX = RSA_MAX_BITS / 8,
};

#define DOMAINKEY "._domainkey."
#define SIG_NAME  "DKIM-Signature"

struct pb_dkim_key {
    enum pb_dkim_alg alg;
    gnutls_privkey_t rsa;                            /* PB_DKIM_RSA_SHA256 */
    unsigned char ed_sk[crypto_sign_SECRETKEYBYTES]; /* PB_DKIM_ED25519_SHA256: seed || public */
    char domain[DNS_NAME_MAX + 1];
    char selector[DNS_NAME_MAX + 1];
};

/* The header fields signed when present, in the order h= lists them. From is required. */
static const struct {
    const char *name;
    size_t len;
} signed_fields[] = {
    {"From", 4},
    {"To", 2},
    {"Subject", 7},
    {"Date", 4},
    {"Message-ID", 10},
    {"List-Unsubscribe", 16},
    {"List-Unsubscribe-Post", 21},
    {"Reply-To", 8},
    {"MIME-Version", 12},
    {"Content-Type", 12},
};
#define NSIGNED (sizeof(signed_fields) / sizeof(signed_fields[0]))

/* One header field of the message: [p, p + len) without its final line break. */
struct field {
    const char *p;
    size_t len;
    size_t name_len;  /* the name, without spaces before the colon */
    size_t value_off; /* just after the colon */
};

static bool
is_wsp(unsigned char c)
{
    return c == ' ' || c == '\t';
}

/* ---- sink: canonical text into a hash or a buffer, through a stack buffer ---- */

struct sink {
    enum pb_err (*flush)(void *ctx, const char *p, size_t n);
    void *ctx;
    enum pb_err err; /* the first error; later writes do nothing */
    size_t n;
    char buf[SINK_SIZE];
};

static enum pb_err
flush_hash(void *ctx, const char *p, size_t n)
{
    return gnutls_hash(*(gnutls_hash_hd_t *)ctx, p, n) < 0 ? PB_ERR_INTERNAL : PB_ERR_OK;
}

static enum pb_err
flush_buf(void *ctx, const char *p, size_t n)
{
    return pb_buf_append(ctx, p, n);
}

static void
sink_init(struct sink *s, enum pb_err (*flush)(void *, const char *, size_t), void *ctx)
{
    s->flush = flush;
    s->ctx = ctx;
    s->err = PB_ERR_OK;
    s->n = 0;
}

static enum pb_err
sink_flush(struct sink *s)
{
    if (s->err == PB_ERR_OK && s->n > 0)
        s->err = s->flush(s->ctx, s->buf, s->n);
    s->n = 0;
    return s->err;
}

/* Makes room for `need` (at most SINK_SIZE) bytes. */
static bool
sink_room(struct sink *s, size_t need)
{
    if (SINK_SIZE - s->n < need)
        sink_flush(s);
    return s->err == PB_ERR_OK;
}

static void
sink_put(struct sink *s, const char *p, size_t n)
{
    while (n > 0 && s->err == PB_ERR_OK) {
        if (s->n == SINK_SIZE)
            sink_flush(s);
        size_t k = SINK_SIZE - s->n < n ? SINK_SIZE - s->n : n;
        memcpy(s->buf + s->n, p, k);
        s->n += k;
        p += k;
        n -= k;
    }
}

static void
sink_byte(struct sink *s, char c)
{
    if (sink_room(s, 1))
        s->buf[s->n++] = c;
}

/* ---- canonicalisation ---------------------------------------------------- */

/*
 * Finds the line starting at p: its content ends at *e, the next line starts
 * at *next. CRLF, LF alone and CR alone all end a line, since the SMTP
 * client (mail/smtp) sends each of them as CRLF: what is signed is what
 * goes on the wire.
 */
static void
line_end(const char *p, const char *end, const char **e, const char **next)
{
    const char *nl = memchr(p, '\n', (size_t)(end - p));
    const char *stop = nl != NULL ? nl : end;
    const char *cr = memchr(p, '\r', (size_t)(stop - p));
    if (cr == NULL) {
        *e = stop;
        *next = nl != NULL ? nl + 1 : end;
    } else {
        *e = cr;
        *next = cr + 1 < end && cr[1] == '\n' ? cr + 2 : cr + 1;
    }
}

/* Bytes to or from the sink's target without copying; short ones are copied. */
static void
sink_direct(struct sink *s, const char *p, size_t n)
{
    if (n < 256) {
        sink_put(s, p, n);
        return;
    }
    if (sink_flush(s) == PB_ERR_OK)
        s->err = s->flush(s->ctx, p, n);
}

/* Runs of WSP in [p, e) as one SP, without a branch per byte: every byte is
 * written, and the write position only moves past a byte that is not a WSP
 * following a WSP. */
static void
collapse(struct sink *s, const char *p, const char *e)
{
    bool ws = false;
    while (p < e) {
        size_t n = (size_t)(e - p) < SINK_SIZE ? (size_t)(e - p) : SINK_SIZE;
        if (!sink_room(s, n))
            return;
        char *o = s->buf + s->n;
        const char *o0 = o;
        for (size_t i = 0; i < n; i++) {
            unsigned char c = (unsigned char)p[i];
            bool w = c == ' ' || c == '\t';
            *o = w ? ' ' : (char)c;
            o += !(w && ws);
            ws = w;
        }
        s->n += (size_t)(o - o0);
        p += n;
    }
}

/*
 * Whether the relaxed form changes something at p[k] of a body of `end`
 * bytes: a tab; a space followed by a space, a tab, a line end or the end
 * (a run or trailing whitespace); a CR alone; an LF alone.
 */
static bool
is_special(const char *p, size_t k, size_t end)
{
    switch (p[k]) {
    case '\t':
        return true;
    case ' ':
        return k + 1 == end || p[k + 1] == ' ' || p[k + 1] == '\t' || p[k + 1] == '\r' ||
               p[k + 1] == '\n';
    case '\r':
        return k + 1 == end || p[k + 1] != '\n';
    case '\n':
        return k == 0 || p[k - 1] != '\r';
    default:
        return false;
    }
}

/* 16 bytes at a time (GCC/Clang vector extensions: SSE2 on x86-64, NEON on ARM). */
typedef unsigned char pb_v16 __attribute__((vector_size(16)));

static pb_v16
load16(const char *p)
{
    pb_v16 v;
    memcpy(&v, p, sizeof(v));
    return v;
}

/* The first k >= i where is_special(p, k, end), or end. */
static size_t
next_special(const char *p, size_t i, size_t end)
{
    if (i == 0 && end > 0) {
        if (is_special(p, 0, end))
            return 0;
        i = 1;
    }
    /* Needs p[i - 1] .. p[i + 16]; the scalar loop below finds the byte. */
    for (; i + 17 <= end; i += 16) {
        pb_v16 c = load16(p + i), nx = load16(p + i + 1), pv = load16(p + i - 1);
        pb_v16 ws_next = (pb_v16)((nx == ' ') | (nx == '\t') | (nx == '\r') | (nx == '\n'));
        pb_v16 m = (pb_v16)((c == '\t') | ((c == ' ') & (pb_v16)ws_next) |
                            ((c == '\r') & (nx != '\n')) | ((c == '\n') & (pv != '\r')));
        uint64_t lo, hi;
        memcpy(&lo, &m, 8);
        memcpy(&hi, (const char *)&m + 8, 8);
        if ((lo | hi) != 0)
            break;
    }
    for (; i < end; i++)
        if (is_special(p, i, end))
            return i;
    return end;
}

/*
 * The relaxed body (RFC 6376 3.4.4). Whatever follows the last byte that is
 * not whitespace or a line end is dropped first (trailing whitespace and
 * empty lines), then the body goes to the sink as it is up to the first
 * byte the relaxed form changes (next_special), whose line is rewritten,
 * and so on: the usual body (CRLF line ends, no runs of whitespace) is
 * hashed straight from the message, never copied.
 */
static enum pb_err
canon_body_relaxed(struct sink *s, const char *p, size_t len)
{
    size_t end = len;
    while (end > 0 &&
           (is_wsp((unsigned char)p[end - 1]) || p[end - 1] == '\r' || p[end - 1] == '\n'))
        end--;
    if (end == 0)
        return sink_flush(s); /* an empty body stays empty */
    /* Keep the last line's trailing whitespace: next_special sees and drops it. */
    while (end < len && p[end] != '\r' && p[end] != '\n')
        end++;
    size_t span = 0;
    while (span < end && s->err == PB_ERR_OK) {
        size_t q = next_special(p, span, end);
        if (q == end)
            break;
        sink_direct(s, p + span, q - span);
        /* The rest of q's line: no whitespace at its end, runs as one space, then CRLF. */
        const char *e, *next;
        line_end(p + q, p + end, &e, &next);
        while (e > p + q && is_wsp((unsigned char)e[-1]))
            e--;
        collapse(s, p + q, e);
        sink_put(s, "\r\n", 2);
        span = (size_t)(next - p);
    }
    if (span < end) {
        sink_direct(s, p + span, end - span);
        sink_put(s, "\r\n", 2); /* the last line's end, added if it had none */
    }
    return sink_flush(s);
}

/*
 * The simple body (RFC 6376 3.4.3), line by line: empty lines are only
 * counted until a non-empty line shows they are not at the end.
 */
static enum pb_err
canon_body_simple(struct sink *s, const char *body, size_t len)
{
    const char *p = body, *end = body + len;
    size_t empty = 0;
    bool any = false;
    while (p < end && s->err == PB_ERR_OK) {
        const char *e, *next;
        line_end(p, end, &e, &next);
        if (e == p) {
            empty++;
            p = next;
            continue;
        }
        for (; empty > 0; empty--)
            sink_put(s, "\r\n", 2);
        sink_put(s, p, (size_t)(e - p));
        sink_put(s, "\r\n", 2);
        any = true;
        p = next;
    }
    if (!any)
        sink_put(s, "\r\n", 2); /* an empty body is one CRLF */
    return sink_flush(s);
}

/* A header field in the relaxed form (RFC 6376 3.4.2), with a final CRLF when `crlf`. */
static void
canon_header(struct sink *s, const struct field *f, bool crlf)
{
    for (size_t i = 0; i < f->name_len; i++) {
        char c = f->p[i];
        sink_byte(s, c >= 'A' && c <= 'Z' ? (char)(c + 32) : c);
    }
    sink_byte(s, ':');
    bool pending = false, started = false;
    for (size_t i = f->value_off; i < f->len; i++) {
        unsigned char c = (unsigned char)f->p[i];
        if (c == '\r' || c == '\n')
            continue; /* unfolding */
        if (is_wsp(c)) {
            pending = true;
            continue;
        }
        if (pending && started)
            sink_byte(s, ' ');
        pending = false;
        started = true;
        sink_byte(s, (char)c);
    }
    if (crlf)
        sink_put(s, "\r\n", 2);
}

/* Splits one header field into name and value; false when it is not "name: value". */
static bool
parse_field(const char *p, size_t len, struct field *f)
{
    const char *colon = memchr(p, ':', len);
    if (colon == NULL)
        return false;
    size_t n = (size_t)(colon - p);
    while (n > 0 && is_wsp((unsigned char)p[n - 1]))
        n--;
    if (n == 0)
        return false;
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)p[i] < 33 || (unsigned char)p[i] > 126)
            return false; /* RFC 5322 ftext */
    f->p = p;
    f->len = len;
    f->name_len = n;
    f->value_off = (size_t)(colon - p) + 1;
    return true;
}

/*
 * Walks the header section: the last instance of each signed field goes to
 * found[] (NULL p when absent) and *body_off is where the body starts
 * (len when there is no empty line).
 */
static enum pb_err
scan_headers(const char *msg, size_t len, struct field found[NSIGNED], size_t *body_off)
{
    for (size_t j = 0; j < NSIGNED; j++)
        found[j].p = NULL;
    const char *p = msg, *end = msg + len;
    while (p < end) {
        const char *e, *next;
        line_end(p, end, &e, &next);
        if (e == p) { /* the empty line */
            *body_off = (size_t)(next - msg);
            return PB_ERR_OK;
        }
        if (is_wsp((unsigned char)*p))
            return PB_ERR_INVALID; /* a continuation line without a field */
        const char *start = p;
        while (next < end && is_wsp((unsigned char)*next)) /* folded */
            line_end(next, end, &e, &next);
        struct field f;
        if (!parse_field(start, (size_t)(e - start), &f))
            return PB_ERR_INVALID;
        for (size_t j = 0; j < NSIGNED; j++)
            if (f.name_len == signed_fields[j].len &&
                strncasecmp(f.p, signed_fields[j].name, f.name_len) == 0) {
                found[j] = f; /* a later instance replaces an earlier one */
                break;
            }
        p = next;
    }
    *body_off = len;
    return PB_ERR_OK;
}

enum pb_err
pb_dkim_canon_header_relaxed(const char *name_value, size_t len, struct pb_buf *out)
{
    struct sink s;
    struct field f;
    if (len > 0 && name_value[len - 1] == '\n')
        len--;
    if (len > 0 && name_value[len - 1] == '\r')
        len--;
    if (!parse_field(name_value, len, &f))
        return PB_ERR_INVALID;
    sink_init(&s, flush_buf, out);
    canon_header(&s, &f, true);
    return sink_flush(&s);
}

enum pb_err
pb_dkim_canon_body_relaxed(const char *body, size_t len, struct pb_buf *out)
{
    struct sink s;
    sink_init(&s, flush_buf, out);
    return canon_body_relaxed(&s, body, len);
}

enum pb_err
pb_dkim_canon_body_simple(const char *body, size_t len, struct pb_buf *out)
{
    struct sink s;
    sink_init(&s, flush_buf, out);
    return canon_body_simple(&s, body, len);
}

/* SHA-256 of the relaxed canonical body. */
static enum pb_err
hash_body(const char *body, size_t len, unsigned char hash[PB_DKIM_HASH_LEN])
{
    gnutls_hash_hd_t h;
    struct sink s;
    if (gnutls_hash_init(&h, GNUTLS_DIG_SHA256) < 0)
        return PB_ERR_INTERNAL;
    sink_init(&s, flush_hash, &h);
    enum pb_err err = canon_body_relaxed(&s, body, len);
    gnutls_hash_deinit(h, hash);
    return err;
}

enum pb_err
pb_dkim_body_hash(const char *msg, size_t len, unsigned char hash[PB_DKIM_HASH_LEN])
{
    struct field found[NSIGNED];
    size_t body_off;
    enum pb_err err = scan_headers(msg, len, found, &body_off);
    if (err != PB_ERR_OK)
        return err;
    return hash_body(msg + body_off, len - body_off, hash);
}

/* ---- names and keys ------------------------------------------------------ */

/* Dot-separated LDH labels of 1 to 63 characters, at least `min_labels` of them. */
static bool
ldh_name(const char *s, size_t min_labels)
{
    if (s == NULL)
        return false;
    size_t n = strnlen(s, DNS_NAME_MAX + 1), labels = 0, run = 0;
    if (n == 0 || n > DNS_NAME_MAX)
        return false;
    for (size_t i = 0; i <= n; i++) {
        char c = i < n ? s[i] : '.';
        if (c == '.') {
            if (run == 0 || run > LABEL_MAX || s[i - 1] == '-')
                return false;
            labels++;
            run = 0;
        } else if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) {
            run++;
        } else if (c == '-' && run > 0) {
            run++;
        } else {
            return false;
        }
    }
    return labels >= min_labels;
}

/* Checks a domain and a selector, and that the record's name fits in DNS. */
static bool
names_ok(const char *domain, const char *selector, char why[PB_WHY_MAX])
{
    if (!ldh_name(domain, 2)) {
        snprintf(why, PB_WHY_MAX,
                 "the DKIM domain is not a domain name: at least two dot-separated labels of "
                 "letters, digits and inner hyphens, 1 to 63 characters each");
        return false;
    }
    if (!ldh_name(selector, 1)) {
        snprintf(why, PB_WHY_MAX,
                 "the DKIM selector is not valid: dot-separated labels of letters, digits and "
                 "inner hyphens, 1 to 63 characters each");
        return false;
    }
    if (strlen(selector) + strlen(DOMAINKEY) + strlen(domain) > DNS_NAME_MAX) {
        snprintf(why, PB_WHY_MAX,
                 "the DKIM record's name (selector._domainkey.domain) is longer than 253 "
                 "characters");
        return false;
    }
    return true;
}

/* A malloc'd base64 (with padding) of [p, p + n); NULL when out of memory. */
static char *
b64_new(const unsigned char *p, size_t n)
{
    size_t size = sodium_base64_ENCODED_LEN(n, sodium_base64_VARIANT_ORIGINAL);
    char *s = malloc(size);
    if (s != NULL)
        sodium_bin2base64(s, size, p, n, sodium_base64_VARIANT_ORIGINAL);
    return s;
}

/* The base64 DER SubjectPublicKeyInfo of an RSA private key's public half. */
static enum pb_err
rsa_public(gnutls_privkey_t key, char **pub_b64)
{
    gnutls_pubkey_t pub = NULL;
    gnutls_datum_t der = {NULL, 0};
    enum pb_err err = PB_ERR_INTERNAL;
    if (gnutls_pubkey_init(&pub) < 0)
        return PB_ERR_NOMEM;
    if (gnutls_pubkey_import_privkey(pub, key, 0, 0) < 0 ||
        gnutls_pubkey_export2(pub, GNUTLS_X509_FMT_DER, &der) < 0)
        goto out;
    *pub_b64 = b64_new(der.data, der.size);
    err = *pub_b64 != NULL ? PB_ERR_OK : PB_ERR_NOMEM;
out:
    gnutls_free(der.data);
    gnutls_pubkey_deinit(pub);
    return err;
}

static enum pb_err
generate_rsa(unsigned char **priv, size_t *priv_len, char **pub_b64)
{
    gnutls_x509_privkey_t x = NULL;
    gnutls_privkey_t key = NULL;
    gnutls_datum_t pem = {NULL, 0};
    enum pb_err err = PB_ERR_INTERNAL;
    if (gnutls_x509_privkey_init(&x) < 0)
        return PB_ERR_NOMEM;
    if (gnutls_x509_privkey_generate(x, GNUTLS_PK_RSA, RSA_GEN_BITS, 0) < 0 ||
        gnutls_x509_privkey_export2_pkcs8(x, GNUTLS_X509_FMT_PEM, NULL, GNUTLS_PKCS_PLAIN, &pem) <
            0 ||
        gnutls_privkey_init(&key) < 0)
        goto out;
    if (gnutls_privkey_import_x509(key, x, GNUTLS_PRIVKEY_IMPORT_AUTO_RELEASE) < 0)
        goto out;
    x = NULL; /* owned by key now */
    if ((err = rsa_public(key, pub_b64)) != PB_ERR_OK)
        goto out;
    err = PB_ERR_NOMEM;
    if ((*priv = malloc(pem.size + 1)) == NULL) {
        free(*pub_b64);
        *pub_b64 = NULL;
        goto out;
    }
    memcpy(*priv, pem.data, pem.size);
    (*priv)[pem.size] = '\0';
    *priv_len = pem.size;
    err = PB_ERR_OK;
out:
    if (pem.data != NULL) {
        sodium_memzero(pem.data, pem.size);
        gnutls_free(pem.data);
    }
    gnutls_privkey_deinit(key);
    gnutls_x509_privkey_deinit(x);
    return err;
}

static enum pb_err
generate_ed25519(unsigned char **priv, size_t *priv_len, char **pub_b64)
{
    unsigned char pk[crypto_sign_PUBLICKEYBYTES], sk[crypto_sign_SECRETKEYBYTES];
    enum pb_err err = PB_ERR_NOMEM;
    if (crypto_sign_keypair(pk, sk) != 0) {
        err = PB_ERR_INTERNAL;
        goto out;
    }
    if ((*priv = malloc(PB_DKIM_ED25519_SEED_LEN)) == NULL)
        goto out;
    if ((*pub_b64 = b64_new(pk, sizeof(pk))) == NULL) {
        free(*priv);
        *priv = NULL;
        goto out;
    }
    crypto_sign_ed25519_sk_to_seed(*priv, sk);
    *priv_len = PB_DKIM_ED25519_SEED_LEN;
    err = PB_ERR_OK;
out:
    sodium_memzero(sk, sizeof(sk));
    return err;
}

enum pb_err
pb_dkim_generate(enum pb_dkim_alg alg, unsigned char **priv, size_t *priv_len, char **pub_b64)
{
    *priv = NULL;
    *priv_len = 0;
    *pub_b64 = NULL;
    if (sodium_init() < 0)
        return PB_ERR_CRYPTO_INIT;
    switch (alg) {
    case PB_DKIM_RSA_SHA256:
        return generate_rsa(priv, priv_len, pub_b64);
    case PB_DKIM_ED25519_SHA256:
        return generate_ed25519(priv, priv_len, pub_b64);
    }
    return PB_ERR_INVALID;
}

/* Parses an RSA private key (PEM or DER; PKCS#1 or unencrypted PKCS#8) of 1024 to 4096 bits. */
static enum pb_err
load_rsa(struct pb_dkim_key *k, const unsigned char *priv, size_t len, char why[PB_WHY_MAX])
{
    gnutls_x509_privkey_t x = NULL;
    enum pb_err err = PB_ERR_INVALID;
    unsigned bits = 0;
    int rc;
    gnutls_datum_t d = {(unsigned char *)priv, (unsigned)len};
    size_t lead = 0;
    while (lead < len &&
           (priv[lead] == ' ' || priv[lead] == '\t' || priv[lead] == '\r' || priv[lead] == '\n'))
        lead++;
    bool pem = len - lead >= 5 && memcmp(priv + lead, "-----", 5) == 0; /* DER starts 0x30 */
    if ((rc = gnutls_x509_privkey_init(&x)) < 0)
        return PB_ERR_NOMEM;
    rc = gnutls_x509_privkey_import2(x, &d, pem ? GNUTLS_X509_FMT_PEM : GNUTLS_X509_FMT_DER, NULL,
                                     GNUTLS_PKCS_PLAIN);
    if (rc < 0) {
        snprintf(why, PB_WHY_MAX,
                 "the DKIM key is not an unencrypted RSA private key in PEM or DER: %s",
                 gnutls_strerror(rc));
        goto out;
    }
    if (gnutls_x509_privkey_get_pk_algorithm2(x, &bits) != GNUTLS_PK_RSA) {
        snprintf(why, PB_WHY_MAX, "the DKIM key is not an RSA key");
        goto out;
    }
    if (bits < RSA_MIN_BITS || bits > RSA_MAX_BITS) {
        snprintf(why, PB_WHY_MAX, "the DKIM RSA key has %u bits; DKIM takes %d to %d (RFC 8301)",
                 bits, RSA_MIN_BITS, RSA_MAX_BITS);
        goto out;
    }
    if ((rc = gnutls_x509_privkey_verify_params(x)) < 0) {
        snprintf(why, PB_WHY_MAX, "the DKIM RSA key is inconsistent: %s", gnutls_strerror(rc));
        goto out;
    }
    err = PB_ERR_NOMEM;
    if (gnutls_privkey_init(&k->rsa) < 0)
        goto out;
    err = PB_ERR_INTERNAL;
    if ((rc = gnutls_privkey_import_x509(k->rsa, x, GNUTLS_PRIVKEY_IMPORT_AUTO_RELEASE)) < 0) {
        snprintf(why, PB_WHY_MAX, "the DKIM RSA key cannot be used: %s", gnutls_strerror(rc));
        goto out;
    }
    x = NULL; /* owned by k->rsa now */
    err = PB_ERR_OK;
out:
    gnutls_x509_privkey_deinit(x);
    return err;
}

static enum pb_err
load_ed25519(struct pb_dkim_key *k, const unsigned char *seed, size_t len, char why[PB_WHY_MAX])
{
    unsigned char pk[crypto_sign_PUBLICKEYBYTES];
    if (len != PB_DKIM_ED25519_SEED_LEN) {
        snprintf(why, PB_WHY_MAX, "an Ed25519 DKIM key is its %d-byte seed, not %zu bytes",
                 PB_DKIM_ED25519_SEED_LEN, len);
        return PB_ERR_INVALID;
    }
    if (crypto_sign_seed_keypair(pk, k->ed_sk, seed) != 0)
        return PB_ERR_INTERNAL;
    return PB_ERR_OK;
}

enum pb_err
pb_dkim_key_load(enum pb_dkim_alg alg, const char *domain, const char *selector,
                 const unsigned char *priv, size_t len, struct pb_dkim_key **out,
                 char why[PB_WHY_MAX])
{
    struct pb_dkim_key *k = NULL;
    enum pb_err err = PB_ERR_INVALID;
    *out = NULL;
    why[0] = '\0';
    if (sodium_init() < 0) {
        snprintf(why, PB_WHY_MAX, "libsodium failed to start");
        return PB_ERR_CRYPTO_INIT;
    }
    if (!names_ok(domain, selector, why))
        return PB_ERR_INVALID;
    if (priv == NULL || len == 0 || len > KEY_FILE_MAX) {
        snprintf(why, PB_WHY_MAX, "the DKIM key is empty or longer than %d bytes", KEY_FILE_MAX);
        return PB_ERR_INVALID;
    }
    /* Guarded memory, wiped when freed, for the Ed25519 secret. */
    if ((k = sodium_malloc(sizeof(*k))) == NULL)
        return PB_ERR_NOMEM;
    memset(k, 0, sizeof(*k));
    k->alg = alg;
    memcpy(k->domain, domain, strlen(domain) + 1);
    memcpy(k->selector, selector, strlen(selector) + 1);
    switch (alg) {
    case PB_DKIM_RSA_SHA256:
        err = load_rsa(k, priv, len, why);
        break;
    case PB_DKIM_ED25519_SHA256:
        err = load_ed25519(k, priv, len, why);
        break;
    default:
        snprintf(why, PB_WHY_MAX, "unknown DKIM algorithm");
        goto out;
    }
    if (err != PB_ERR_OK)
        goto out;
    *out = k;
    k = NULL;
out:
    pb_dkim_key_free(k);
    return err;
}

void
pb_dkim_key_free(struct pb_dkim_key *k)
{
    if (k == NULL)
        return;
    if (k->rsa != NULL)
        gnutls_privkey_deinit(k->rsa); /* GnuTLS wipes the key's numbers */
    sodium_free(k);                    /* wipes ed_sk */
}

enum pb_err
pb_dkim_key_public(const struct pb_dkim_key *k, char **pub_b64)
{
    *pub_b64 = NULL;
    if (k->alg == PB_DKIM_RSA_SHA256)
        return rsa_public(k->rsa, pub_b64);
    unsigned char pk[crypto_sign_PUBLICKEYBYTES];
    crypto_sign_ed25519_sk_to_pk(pk, k->ed_sk);
    *pub_b64 = b64_new(pk, sizeof(pk));
    return *pub_b64 != NULL ? PB_ERR_OK : PB_ERR_NOMEM;
}

/* Whether `b64` is the p= value of a public key of `alg`. */
static bool
public_ok(enum pb_dkim_alg alg, const char *b64)
{
    unsigned char bin[2048];
    size_t n = 0;
    if (b64 == NULL || b64[0] == '\0' ||
        sodium_base642bin(bin, sizeof(bin), b64, strlen(b64), NULL, &n, NULL,
                          sodium_base64_VARIANT_ORIGINAL) != 0)
        return false;
    if (alg == PB_DKIM_ED25519_SHA256)
        return n == crypto_sign_PUBLICKEYBYTES;
    gnutls_pubkey_t pub = NULL;
    gnutls_datum_t d = {bin, (unsigned)n};
    bool ok = gnutls_pubkey_init(&pub) >= 0 &&
              gnutls_pubkey_import(pub, &d, GNUTLS_X509_FMT_DER) >= 0 &&
              gnutls_pubkey_get_pk_algorithm(pub, NULL) == GNUTLS_PK_RSA;
    gnutls_pubkey_deinit(pub);
    return ok;
}

enum pb_err
pb_dkim_dns_record(enum pb_dkim_alg alg, const char *selector, const char *domain,
                   const char *pub_b64, char **name, char **value)
{
    char why[PB_WHY_MAX];
    struct pb_buf n, v;
    enum pb_err err = PB_ERR_INVALID;
    *name = NULL;
    *value = NULL;
    if (!names_ok(domain, selector, why) ||
        (alg != PB_DKIM_RSA_SHA256 && alg != PB_DKIM_ED25519_SHA256) || !public_ok(alg, pub_b64))
        return PB_ERR_INVALID;
    pb_buf_init(&n, DNS_NAME_MAX);
    pb_buf_init(&v, 4096);
    if ((err = pb_buf_printf(&n, "%s" DOMAINKEY "%s", selector, domain)) != PB_ERR_OK ||
        (err = pb_buf_printf(&v, "v=DKIM1; k=%s; p=%s",
                             alg == PB_DKIM_RSA_SHA256 ? "rsa" : "ed25519", pub_b64)) != PB_ERR_OK)
        goto out;
    *name = n.data;
    *value = v.data;
    n.data = v.data = NULL;
out:
    pb_buf_release(&n, 0);
    pb_buf_release(&v, 0);
    return err;
}

/* ---- signing --------------------------------------------------------------- */

/* Writes tags folded at FOLD_AT columns. */
struct fold {
    struct pb_buf *b;
    size_t col;
    enum pb_err err;
};

static void
fold_break(struct fold *f)
{
    if (f->err == PB_ERR_OK)
        f->err = pb_buf_append(f->b, "\r\n ", 3);
    f->col = 1;
}

/* Appends `s`, after a space when `space`; folds first when it would pass the limit. */
static void
fold_add(struct fold *f, const char *s, size_t n, bool space)
{
    if (f->err != PB_ERR_OK)
        return;
    if (f->col + n + space > FOLD_AT && f->col > 1) {
        fold_break(f);
    } else if (space) {
        f->err = pb_buf_append(f->b, " ", 1);
        f->col++;
    }
    if (f->err == PB_ERR_OK)
        f->err = pb_buf_append(f->b, s, n);
    f->col += n;
}

/* Appends "NAME=VALUE;". */
static void
fold_tag(struct fold *f, const char *name, const char *value)
{
    char tag[DNS_NAME_MAX + 8];
    int n = snprintf(tag, sizeof(tag), "%s=%s;", name, value);
    fold_add(f, tag, (size_t)n, true);
}

/* The field up to "b=" (whose value is what is being signed): tags, folded. */
static enum pb_err
write_unsigned(struct fold *f, const struct pb_dkim_key *k, int64_t now,
               const struct field found[NSIGNED], const unsigned char bh[PB_DKIM_HASH_LEN])
{
    char num[24], hb64[sodium_base64_ENCODED_LEN(PB_DKIM_HASH_LEN, sodium_base64_VARIANT_ORIGINAL)];
    f->err = pb_buf_append(f->b, SIG_NAME ":", sizeof(SIG_NAME));
    f->col = sizeof(SIG_NAME);
    fold_add(f, "v=1;", 4, true);
    if (k->alg == PB_DKIM_RSA_SHA256)
        fold_add(f, "a=rsa-sha256;", 13, true);
    else
        fold_add(f, "a=ed25519-sha256;", 17, true);
    fold_add(f, "c=relaxed/relaxed;", 18, true);
    fold_tag(f, "d", k->domain);
    fold_tag(f, "s", k->selector);
    snprintf(num, sizeof(num), "%lld", (long long)now);
    fold_tag(f, "t", num);
    /* h=: a fold may follow any colon (RFC 6376 3.5: FWS around the colons). */
    size_t last = 0;
    for (size_t j = 0; j < NSIGNED; j++)
        if (found[j].p != NULL)
            last = j;
    bool first = true;
    for (size_t j = 0; j < NSIGNED; j++) {
        if (found[j].p == NULL)
            continue;
        char piece[40];
        int n = snprintf(piece, sizeof(piece), "%s%.*s%c", first ? "h=" : "",
                         (int)found[j].name_len, found[j].p, j == last ? ';' : ':');
        fold_add(f, piece, (size_t)n, first);
        first = false;
    }
    sodium_bin2base64(hb64, sizeof(hb64), bh, PB_DKIM_HASH_LEN, sodium_base64_VARIANT_ORIGINAL);
    fold_tag(f, "bh", hb64);
    /* "b=" and at least one character of its value on one line. */
    if (f->col + 4 > FOLD_AT)
        fold_break(f);
    fold_add(f, "b=", 2, f->col > 1);
    return f->err;
}

/* The signature of the header hash, base64 into b64. */
static enum pb_err
sign_digest(const struct pb_dkim_key *k, const unsigned char digest[PB_DKIM_HASH_LEN], char *b64,
            size_t b64_size)
{
    unsigned char sig[SIG_MAX];
    size_t sig_len = 0;
    if (k->alg == PB_DKIM_RSA_SHA256) {
        gnutls_datum_t d = {(unsigned char *)digest, PB_DKIM_HASH_LEN}, s = {NULL, 0};
        if (gnutls_privkey_sign_hash(k->rsa, GNUTLS_DIG_SHA256, 0, &d, &s) < 0)
            return PB_ERR_INTERNAL;
        bool fits = s.size <= sizeof(sig);
        if (fits) {
            memcpy(sig, s.data, s.size);
            sig_len = s.size;
        }
        gnutls_free(s.data);
        if (!fits)
            return PB_ERR_INTERNAL;
    } else {
        unsigned long long n = 0;
        if (crypto_sign_detached(sig, &n, digest, PB_DKIM_HASH_LEN, k->ed_sk) != 0)
            return PB_ERR_INTERNAL;
        sig_len = (size_t)n;
    }
    sodium_bin2base64(b64, b64_size, sig, sig_len, sodium_base64_VARIANT_ORIGINAL);
    return PB_ERR_OK;
}

/* SHA-256 over the signed fields, then the DKIM-Signature field so far (b= empty), no CRLF. */
static enum pb_err
hash_headers(const struct field found[NSIGNED], const char *sig, size_t sig_len,
             unsigned char digest[PB_DKIM_HASH_LEN])
{
    gnutls_hash_hd_t h;
    struct sink s;
    if (gnutls_hash_init(&h, GNUTLS_DIG_SHA256) < 0)
        return PB_ERR_INTERNAL;
    sink_init(&s, flush_hash, &h);
    for (size_t j = 0; j < NSIGNED; j++)
        if (found[j].p != NULL)
            canon_header(&s, &found[j], true);
    struct field self = {sig, sig_len, sizeof(SIG_NAME) - 1, sizeof(SIG_NAME)};
    canon_header(&s, &self, false);
    enum pb_err err = sink_flush(&s);
    gnutls_hash_deinit(h, digest);
    return err;
}

/* Appends b='s value, cut at the line ends (FWS may sit anywhere in it), and the final CRLF. */
static enum pb_err
write_b(struct fold *f, const char *b64)
{
    size_t left = strlen(b64);
    while (left > 0 && f->err == PB_ERR_OK) {
        size_t room = FOLD_AT > f->col ? FOLD_AT - f->col : 0;
        if (room == 0) {
            fold_break(f);
            continue;
        }
        size_t n = left < room ? left : room;
        fold_add(f, b64, n, false);
        b64 += n;
        left -= n;
    }
    if (f->err == PB_ERR_OK)
        f->err = pb_buf_append(f->b, "\r\n", 2);
    return f->err;
}

enum pb_err
pb_dkim_sign(const struct pb_dkim_key *k, const char *msg, size_t len, int64_t now,
             const unsigned char *body_hash, struct pb_buf *out)
{
    struct field found[NSIGNED];
    unsigned char bh[PB_DKIM_HASH_LEN], digest[PB_DKIM_HASH_LEN];
    char b64[sodium_base64_ENCODED_LEN(SIG_MAX, sodium_base64_VARIANT_ORIGINAL)];
    size_t body_off, start = out->len;
    struct fold f = {out, 0, PB_ERR_OK};
    enum pb_err err;

    if (now < 0)
        return PB_ERR_INVALID;
    if ((err = scan_headers(msg, len, found, &body_off)) != PB_ERR_OK)
        return err;
    if (found[0].p == NULL)
        return PB_ERR_INVALID; /* no From */
    if (body_hash != NULL)
        memcpy(bh, body_hash, sizeof(bh));
    else if ((err = hash_body(msg + body_off, len - body_off, bh)) != PB_ERR_OK)
        return err;
    if ((err = write_unsigned(&f, k, now, found, bh)) != PB_ERR_OK ||
        (err = hash_headers(found, out->data + start, out->len - start, digest)) != PB_ERR_OK ||
        (err = sign_digest(k, digest, b64, sizeof(b64))) != PB_ERR_OK)
        goto out;
    err = write_b(&f, b64);
out:
    if (err != PB_ERR_OK && out->data != NULL) {
        out->len = start;
        out->data[start] = '\0';
    }
    return err;
}
