/*
 * The sealed-value envelope (design section 5): XChaCha20-Poly1305 with
 *   version (1 byte) | key id (4 bytes, big-endian) | nonce (24) | ciphertext | tag (16)
 * and associated data that binds the value to its place (account, table,
 * column, row): a value copied elsewhere fails to open.
 *
 * Only crypto/keys.c calls these: it holds the keys and passes them in.
 * Everyone else seals and opens through a key handle from keys.h.
 */
#ifndef PB_CRYPTO_AEAD_H
#define PB_CRYPTO_AEAD_H

#include <stddef.h>
#include <stdint.h>

#include "core/err.h"

#define PB_AEAD_VERSION  1
#define PB_AEAD_KEYBYTES 32
#define PB_AEAD_OVERHEAD (1 + 4 + 24 + 16)

/* `out` must hold len + PB_AEAD_OVERHEAD bytes. */
void
pb_aead_seal(const unsigned char key[PB_AEAD_KEYBYTES], uint32_t key_id, const char *ad,
             const unsigned char *plain, size_t len, unsigned char *out);

/* The key id an envelope names, to pick the key; PB_ERR_INVALID when malformed. */
enum pb_err
pb_aead_key_id(const unsigned char *sealed, size_t len, uint32_t *key_id);

/*
 * Opens an envelope; `out` must hold len - PB_AEAD_OVERHEAD bytes.
 * PB_ERR_INVALID when malformed, tampered with, or bound to another place.
 */
enum pb_err
pb_aead_open(const unsigned char key[PB_AEAD_KEYBYTES], const char *ad, const unsigned char *sealed,
             size_t len, unsigned char *out);

#endif
