/*
 * Random identifiers and tokens from libsodium's CSPRNG.
 *
 * Ids are ULIDs (26 characters of Crockford base32: 48 bits of milliseconds,
 * then 80 random bits): unguessable, yet sorted by creation time, which keeps
 * index inserts local and gives keyset pagination a natural order.
 * Tokens are 256 random bits in unpadded base64url (43 characters).
 */
#ifndef PB_CORE_ID_H
#define PB_CORE_ID_H

#include <stdbool.h>
#include <stddef.h>

#define PB_ID_LEN    26
#define PB_TOKEN_LEN 43
#define PB_ID_BYTES  16 /* an id packed into binary */

void
pb_id_new(char out[PB_ID_LEN + 1]);

/* Whether `s` has the shape of an id (26 Crockford base32 characters). */
bool
pb_id_valid(const char *s);

/* An id as 16 bytes (for compact tokens); false when `id` is not one. */
bool
pb_id_pack(const char *id, unsigned char out[PB_ID_BYTES]);

void
pb_id_unpack(const unsigned char raw[PB_ID_BYTES], char out[PB_ID_LEN + 1]);

void
pb_token_new(char out[PB_TOKEN_LEN + 1]);

#endif
