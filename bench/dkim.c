/*
 * Benchmark (issue 6): the DKIM signer against its bare signing primitive.
 *
 *   build/release/bench/dkim [SECONDS]
 *
 * Single-threaded, SECONDS (default 2) per measurement, taken in rounds
 * alternating with the measurement it is compared with. For each algorithm:
 * the baseline, the primitive alone on a 32-byte digest (GnuTLS
 * gnutls_privkey_sign_hash for RSA-2048, libsodium crypto_sign_detached for
 * Ed25519), then pb_dkim_sign on a ~20 KB campaign message with the 10
 * signed header fields (body hash included), and the ratio of the two
 * (the sending pipeline's target: at least 0.80 with DKIM). Then the body
 * hash alone and dual signing (RSA + Ed25519, the body hashed once).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <gnutls/abstract.h>
#include <gnutls/gnutls.h>
#include <sodium.h>

#include "core/buf.h"
#include "mail/dkim.h"

#define TARGET_RATIO 0.80

static double seconds = 2.0;

static void
die(const char *what, const char *why)
{
    fprintf(stderr, "bench/dkim: %s: %s\n", what, why);
    exit(1);
}

static double
now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* What one measurement runs, `n` times. */
struct job {
    int kind;
    gnutls_privkey_t rsa;
    unsigned char ed_sk[crypto_sign_SECRETKEYBYTES];
    const struct pb_dkim_key *key, *key2;
    const char *msg;
    size_t len;
    struct pb_buf out;
};

enum { RSA_PRIMITIVE, ED_PRIMITIVE, SIGN, BODY_HASH, DUAL };

static void
run(struct job *j, long n)
{
    unsigned char digest[32], bh[PB_DKIM_HASH_LEN];
    randombytes_buf(digest, sizeof(digest));
    for (long i = 0; i < n; i++) {
        switch (j->kind) {
        case RSA_PRIMITIVE: {
            gnutls_datum_t d = {digest, sizeof(digest)}, sig = {NULL, 0};
            if (gnutls_privkey_sign_hash(j->rsa, GNUTLS_DIG_SHA256, 0, &d, &sig) < 0)
                die("gnutls_privkey_sign_hash", "failed");
            gnutls_free(sig.data);
            break;
        }
        case ED_PRIMITIVE: {
            unsigned char sig[crypto_sign_BYTES];
            crypto_sign_detached(sig, NULL, digest, sizeof(digest), j->ed_sk);
            break;
        }
        case SIGN:
            pb_buf_reset(&j->out);
            if (pb_dkim_sign(j->key, j->msg, j->len, 1700000000 + i, NULL, &j->out) != PB_ERR_OK)
                die("pb_dkim_sign", "failed");
            break;
        case BODY_HASH:
            if (pb_dkim_body_hash(j->msg, j->len, bh) != PB_ERR_OK)
                die("pb_dkim_body_hash", "failed");
            break;
        case DUAL:
            pb_buf_reset(&j->out);
            if (pb_dkim_body_hash(j->msg, j->len, bh) != PB_ERR_OK ||
                pb_dkim_sign(j->key, j->msg, j->len, 1700000000 + i, bh, &j->out) != PB_ERR_OK ||
                pb_dkim_sign(j->key2, j->msg, j->len, 1700000000 + i, bh, &j->out) != PB_ERR_OK)
                die("dual signing", "failed");
            break;
        }
    }
}

/* Runs `j` for about `budget` seconds, adding to *done and *spent. */
static void
measure(struct job *j, double budget, long *done, double *spent)
{
    long batch = 1, n = 0;
    double t0 = now_s(), t;
    while ((t = now_s() - t0) < budget) {
        run(j, batch);
        n += batch;
        if (batch < 1024 && (now_s() - t0) < budget / 8)
            batch *= 2;
    }
    *done += n;
    *spent += t;
}

enum { ROUNDS = 10 };

/*
 * Operations per second of `a` and of `b`, `seconds` each, in alternating
 * rounds, so that both see the same machine (other load comes and goes).
 */
static void
rates(struct job *a, int kind_a, struct job *b, int kind_b, double *ra, double *rb)
{
    long na = 0, nb = 0;
    double ta = 0, tb = 0;
    a->kind = kind_a;
    run(a, 2); /* warm up */
    b->kind = kind_b;
    run(b, 2);
    for (int r = 0; r < ROUNDS; r++) {
        a->kind = kind_a;
        measure(a, seconds / ROUNDS, &na, &ta);
        b->kind = kind_b;
        measure(b, seconds / ROUNDS, &nb, &tb);
    }
    *ra = (double)na / ta;
    *rb = (double)nb / tb;
}

/* A campaign-like message: the ten signed fields, multipart text + HTML, quoted-printable. */
static void
build_message(struct pb_buf *m)
{
    enum pb_err err = pb_buf_append_str(
        m,
        "From: Example News <news@example.com>\r\n"
        "To: Jane Doe <jane.doe@example.org>\r\n"
        "Subject: =?utf-8?Q?Our_March_newsletter:_spring_offers_=E2=9C=93?=\r\n"
        "Date: Mon, 02 Mar 2026 10:00:00 +0000\r\n"
        "Message-ID: <01JNB6Q7Z3K2M8X4V5W6Y7Z8A9@example.com>\r\n"
        "List-Unsubscribe: <https://news.example.com/u/AbCdEfGhIjKlMnOpQrStUvWxYz0123456789>,\r\n"
        " <mailto:unsubscribe@example.com?subject=AbCdEfGhIjKlMnOpQrStUvWxYz>\r\n"
        "List-Unsubscribe-Post: List-Unsubscribe=One-Click\r\n"
        "Reply-To: Example Support <support@example.com>\r\n"
        "MIME-Version: 1.0\r\n"
        "Content-Type: multipart/alternative; boundary=\"=_pb_0123456789abcdef\"\r\n"
        "\r\n"
        "--=_pb_0123456789abcdef\r\n"
        "Content-Type: text/plain; charset=utf-8\r\n"
        "Content-Transfer-Encoding: quoted-printable\r\n"
        "\r\n");
    for (int i = 0; err == PB_ERR_OK && m->len < 6000; i++)
        err = pb_buf_printf(m,
                            "Dear Jane, this is paragraph %d of our newsletter. Spring =\r\n"
                            "offers: 20%% off everything in the garden section, see =\r\n"
                            "https://news.example.com/c/AbCdEfGh/%d for details.\r\n\r\n",
                            i, i);
    if (err == PB_ERR_OK)
        err =
            pb_buf_append_str(m, "--=_pb_0123456789abcdef\r\n"
                                 "Content-Type: text/html; charset=utf-8\r\n"
                                 "Content-Transfer-Encoding: quoted-printable\r\n"
                                 "\r\n"
                                 "<!DOCTYPE html><html><body style=3D\"margin:0;padding:0\">\r\n");
    for (int i = 0; err == PB_ERR_OK && m->len < 20000; i++)
        err = pb_buf_printf(
            m,
            "<table role=3D\"presentation\" width=3D\"100%%\"><tr><td style=3D\"padding:=\r\n"
            "16px;font-family:Arial,sans-serif\">Paragraph %d: spring offers, 20%% off =\r\n"
            "in the <a href=3D\"https://news.example.com/c/AbCdEfGh/%d\">garden</a> sect=\r\n"
            "ion.</td></tr></table>\r\n",
            i, i);
    if (err == PB_ERR_OK)
        err = pb_buf_append_str(m, "</body></html>\r\n--=_pb_0123456789abcdef--\r\n");
    if (err != PB_ERR_OK)
        die("message", "does not fit");
}

int
main(int argc, char **argv)
{
    char why[PB_WHY_MAX];
    if (argc > 1 && (seconds = atof(argv[1])) <= 0)
        die("usage", "build/release/bench/dkim [SECONDS]");
    if (sodium_init() < 0)
        die("libsodium", "cannot start");

    unsigned char *rsa_priv, *ed_priv;
    size_t rsa_len, ed_len;
    char *rsa_pub, *ed_pub;
    struct pb_dkim_key *rsa, *ed;
    if (pb_dkim_generate(PB_DKIM_RSA_SHA256, &rsa_priv, &rsa_len, &rsa_pub) != PB_ERR_OK ||
        pb_dkim_generate(PB_DKIM_ED25519_SHA256, &ed_priv, &ed_len, &ed_pub) != PB_ERR_OK)
        die("key generation", "failed");
    if (pb_dkim_key_load(PB_DKIM_RSA_SHA256, "example.com", "rsa1", rsa_priv, rsa_len, &rsa, why) !=
            PB_ERR_OK ||
        pb_dkim_key_load(PB_DKIM_ED25519_SHA256, "example.com", "ed1", ed_priv, ed_len, &ed, why) !=
            PB_ERR_OK)
        die("key load", why);

    struct job j;
    memset(&j, 0, sizeof(j));
    pb_buf_init(&j.out, 64 * 1024);
    gnutls_datum_t pem = {rsa_priv, (unsigned)rsa_len};
    if (gnutls_privkey_init(&j.rsa) < 0 ||
        gnutls_privkey_import_x509_raw(j.rsa, &pem, GNUTLS_X509_FMT_PEM, NULL, 0) < 0)
        die("gnutls", "cannot import the RSA key");
    unsigned char ed_pk[crypto_sign_PUBLICKEYBYTES];
    crypto_sign_seed_keypair(ed_pk, j.ed_sk, ed_priv);

    struct pb_buf msg;
    pb_buf_init(&msg, 1 << 20);
    build_message(&msg);
    j.msg = msg.data;
    j.len = msg.len;

    printf("DKIM signing, 1 thread, %.0f s per measurement, a %zu-byte message with 10 signed "
           "header fields\n",
           seconds, msg.len);
    struct {
        const char *name;
        int primitive;
        const struct pb_dkim_key *key;
    } algs[] = {{"rsa-sha256 (2048)", RSA_PRIMITIVE, rsa}, {"ed25519-sha256", ED_PRIMITIVE, ed}};
    for (int a = 0; a < 2; a++) {
        double base, ours;
        j.key = algs[a].key;
        rates(&j, algs[a].primitive, &j, SIGN, &base, &ours);
        printf("  %-18s primitive %8.0f sig/s   pb_dkim_sign %8.0f sig/s   ratio %.2f "
               "(target >= %.2f)\n",
               algs[a].name, base, ours, ours / base, TARGET_RATIO);
    }
    double bh, dual;
    j.key = rsa;
    j.key2 = ed;
    rates(&j, BODY_HASH, &j, DUAL, &bh, &dual);
    printf("  body hash alone: %.1f µs a message (%.0f MB/s)\n", 1e6 / bh,
           bh * (double)msg.len / 1e6);
    printf("  dual signing (rsa + ed25519, body hashed once): %.0f messages/s\n", dual);

    pb_buf_release(&msg, 0);
    pb_buf_release(&j.out, 0);
    gnutls_privkey_deinit(j.rsa);
    sodium_memzero(j.ed_sk, sizeof(j.ed_sk));
    pb_dkim_key_free(rsa);
    pb_dkim_key_free(ed);
    sodium_memzero(rsa_priv, rsa_len);
    sodium_memzero(ed_priv, ed_len);
    free(rsa_priv);
    free(ed_priv);
    free(rsa_pub);
    free(ed_pub);
    return 0;
}
