/*
 * Evidence images for consent statements, checked by their content.
 *
 * A screenshot is accepted only if its bytes are a well-formed PNG, JPEG or
 * WebP file: the type comes from the bytes (never from a declared type), the
 * container structure is walked to its end (chunk lengths, PNG CRCs, JPEG
 * segments, RIFF sizes), nothing may follow the end of the image, and files
 * that carry markup or a PDF header anywhere are refused as possible
 * polyglots. Pure functions: no allocation, no I/O.
 */
#ifndef PB_MODEL_EVIDENCE_CHECK_H
#define PB_MODEL_EVIDENCE_CHECK_H

#include <stddef.h>

#include "core/err.h"

/* The largest evidence file accepted (the HTTP layer refuses larger bodies with 413 first). */
#define PB_EVIDENCE_MAX_BYTES (10 * 1024 * 1024)

/* The largest image accepted, in pixels (width x height). */
#define PB_EVIDENCE_MAX_PIXELS 100000000ULL

/* Room for the type written by pb_evidence_check ("image/jpeg" and a NUL fit). */
#define PB_EVIDENCE_TYPE_MAX 16

/*
 * Checks that `data` is one well-formed PNG, JPEG or WebP image and nothing
 * else. On success writes "image/png", "image/jpeg" or "image/webp" to
 * `type_out`, empties `why` and returns PB_ERR_OK. Otherwise empties
 * `type_out`, writes a one-line reason to `why` ("bytes after the end of the
 * image", "contains '<script': refused as a possible polyglot", ...) and
 * returns PB_ERR_TOO_LARGE (over PB_EVIDENCE_MAX_BYTES) or PB_ERR_INVALID.
 * `type_out` and `why` may be NULL.
 */
enum pb_err
pb_evidence_check(const unsigned char *data, size_t len, char type_out[PB_EVIDENCE_TYPE_MAX],
                  char why[PB_WHY_MAX]);

/* SHA-256 of the file, the key evidence is deduplicated by. */
void
pb_evidence_sha256(const unsigned char *data, size_t len, unsigned char out[32]);

#endif
