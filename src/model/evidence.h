/*
 * Evidence images on consent statements (mission feature 4): PNG, JPEG or
 * WebP checked by content (model/evidence_check.c), at most 10 MiB, stored
 * sealed under the account's data key, deduplicated by SHA-256.
 */
#ifndef PB_MODEL_EVIDENCE_H
#define PB_MODEL_EVIDENCE_H

#include <stdbool.h>
#include <stddef.h>

#include "model/app.h"
#include "model/auth.h"

/*
 * Stores an image; `*existed` tells whether the account had it already (then
 * `out` is that one). Errors: PB_ERR_INVALID (not an accepted image: `why`),
 * PB_ERR_TOO_LARGE.
 */
enum pb_err
pb_evidence_store(struct pb_app *app, const struct pb_principal *who, const unsigned char *data,
                  size_t len, struct pb_evidence *out, bool *existed, char why[PB_WHY_MAX]);

/* The image, opened: `*data` is malloc'd (the caller frees it). PB_ERR_NOT_FOUND otherwise. */
enum pb_err
pb_evidence_read(struct pb_app *app, const struct pb_principal *who, const char *id,
                 struct pb_evidence *out, unsigned char **data, size_t *len);

#endif
