/*
 * The DKIM signer (RFC 6376; ed25519-sha256 from RFC 8463): keys are parsed
 * once into a struct pb_dkim_key and then sign any number of messages, from
 * any number of threads at once (signing never writes to the key).
 * Signatures are c=relaxed/relaxed over a fixed list of headers; the body
 * is canonicalised and hashed streaming, without a canonical copy.
 */
#ifndef PB_MAIL_DKIM_H
#define PB_MAIL_DKIM_H

#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"
#include "core/err.h"

/* The size of a body hash (SHA-256). */
#define PB_DKIM_HASH_LEN 32

/* An Ed25519 private key is serialised as its 32-byte seed. */
#define PB_DKIM_ED25519_SEED_LEN 32

enum pb_dkim_alg {
    PB_DKIM_RSA_SHA256,     /* a=rsa-sha256, k=rsa: RSA 1024 to 4096 bits (2048 generated) */
    PB_DKIM_ED25519_SHA256, /* a=ed25519-sha256, k=ed25519 (RFC 8463) */
};

/* A parsed private key with its domain (d=) and selector (s=). */
struct pb_dkim_key;

/*
 * Generates a new key pair. *priv (malloc'd, *priv_len bytes; the caller
 * wipes and frees it) is the private key: for RSA an unencrypted PKCS#8 PEM
 * text (2048 bits), for Ed25519 the 32-byte seed. *pub_b64 (malloc'd) is the
 * value of the DNS record's p= tag: for RSA the base64 of the DER
 * SubjectPublicKeyInfo, for Ed25519 the base64 of the raw 32-byte public key.
 */
enum pb_err
pb_dkim_generate(enum pb_dkim_alg alg, unsigned char **priv, size_t *priv_len, char **pub_b64);

/*
 * Parses a private key once (RSA: PEM, PKCS#1 or unencrypted PKCS#8, or the
 * same as DER; Ed25519: the 32-byte seed). The domain and the selector are
 * dot-separated LDH labels (letters, digits, inner hyphens; 1 to 63
 * characters each; internationalised names as A-labels, "xn--..."); the
 * domain has at least two labels. PB_ERR_INVALID with a reason for a bad
 * key, domain or selector.
 */
enum pb_err
pb_dkim_key_load(enum pb_dkim_alg alg, const char *domain, const char *selector,
                 const unsigned char *priv, size_t len, struct pb_dkim_key **out,
                 char why[PB_WHY_MAX]);

/* Frees the key, wiping the secret; NULL is allowed. */
void
pb_dkim_key_free(struct pb_dkim_key *k);

/* The p= value of a loaded key's public half (malloc'd), as pb_dkim_generate gives it. */
enum pb_err
pb_dkim_key_public(const struct pb_dkim_key *k, char **pub_b64);

/*
 * The TXT record to publish: *name "SELECTOR._domainkey.DOMAIN" and *value
 * "v=DKIM1; k=rsa; p=..." (k=ed25519 for Ed25519), both malloc'd. A TXT
 * string holds at most 255 bytes: a zone file writes a longer value (any RSA
 * key) as several quoted strings, which DNS joins back. PB_ERR_INVALID for a
 * bad selector or domain, or a p= value that is not base64.
 */
enum pb_err
pb_dkim_dns_record(enum pb_dkim_alg alg, const char *selector, const char *domain,
                   const char *pub_b64, char **name, char **value);

/*
 * The body hash (bh=) of a whole message: SHA-256 over the relaxed
 * canonical body. Both algorithms use the same one, so a caller signing
 * twice (RSA and Ed25519) computes it once and hands it to both calls.
 * PB_ERR_INVALID when the message's header section is malformed.
 */
enum pb_err
pb_dkim_body_hash(const char *msg, size_t len, unsigned char hash[PB_DKIM_HASH_LEN]);

/*
 * Signs a complete message (header fields, an empty line, the body) and
 * appends one "DKIM-Signature: ...\r\n" header field to `out`, which the
 * caller puts before the message. Line ends may be CRLF, LF or CR alone:
 * all are taken as CRLF, as the SMTP client sends them, so what is signed
 * is what goes on the wire. The field is folded to lines of at most 78
 * characters (only a domain or selector of over 74 characters, which
 * cannot be folded, makes a longer one). c=relaxed/relaxed, t=now, no l=,
 * no x=. h= lists, spelt as in the message, those of From, To, Subject,
 * Date, Message-ID, List-Unsubscribe, List-Unsubscribe-Post, Reply-To,
 * MIME-Version and Content-Type that the message has; of a repeated field
 * the last one is signed (verifiers take them bottom-up). `body_hash` is
 * pb_dkim_body_hash's result for this message, or NULL to compute it here.
 * Any number of threads may sign with one key at once.
 *
 * PB_ERR_INVALID when the message has no From or a malformed header section
 * (a line without a colon, a continuation line first); PB_ERR_TOO_LARGE
 * when `out` is full; PB_ERR_INTERNAL when the signing itself fails. On
 * error `out` is as it was.
 */
enum pb_err
pb_dkim_sign(const struct pb_dkim_key *k, const char *msg, size_t len, int64_t now,
             const unsigned char *body_hash, struct pb_buf *out);

/*
 * The canonicalisations, exported for tests. A header field ("Name: value",
 * folded or not, with or without its final line break) in the relaxed form
 * of RFC 6376 3.4.2, followed by CRLF: the name lower-cased, the value
 * unfolded, runs of spaces and tabs as one space, none at the end of the
 * value nor around the colon. PB_ERR_INVALID without a colon.
 */
enum pb_err
pb_dkim_canon_header_relaxed(const char *name_value, size_t len, struct pb_buf *out);

/*
 * A body in the relaxed form (RFC 6376 3.4.4; lines end as for
 * pb_dkim_sign): each line without spaces and tabs at its end and with runs
 * of them as one space, empty lines at the end dropped, CRLF after the last
 * line; an empty body stays empty.
 */
enum pb_err
pb_dkim_canon_body_relaxed(const char *body, size_t len, struct pb_buf *out);

/* A body in the simple form (RFC 6376 3.4.3): empty lines at the end dropped; empty is CRLF. */
enum pb_err
pb_dkim_canon_body_simple(const char *body, size_t len, struct pb_buf *out);

#endif
