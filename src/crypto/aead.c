/* The XChaCha20-Poly1305 envelope for sealed values. */
#include "crypto/aead.h"

#include <string.h>

#include <sodium.h>

enum {
    HEADER = 1 + 4,
    NONCE = crypto_aead_xchacha20poly1305_ietf_NPUBBYTES,
    AD_HASH = crypto_generichash_BYTES,
};

/*
 * The associated data actually authenticated: the envelope's header, so a
 * changed version or key id is detected like any other tampering, followed
 * by a BLAKE2b hash of the caller's place description (any length).
 */
static void
full_ad(const unsigned char header[HEADER], const char *ad, unsigned char out[HEADER + AD_HASH])
{
    memcpy(out, header, HEADER);
    crypto_generichash(out + HEADER, AD_HASH, (const unsigned char *)ad, strlen(ad), NULL, 0);
}

void
pb_aead_seal(const unsigned char key[PB_AEAD_KEYBYTES], uint32_t key_id, const char *ad,
             const unsigned char *plain, size_t len, unsigned char *out)
{
    out[0] = PB_AEAD_VERSION;
    out[1] = (unsigned char)(key_id >> 24);
    out[2] = (unsigned char)(key_id >> 16);
    out[3] = (unsigned char)(key_id >> 8);
    out[4] = (unsigned char)key_id;
    randombytes_buf(out + HEADER, NONCE);
    unsigned char bound[HEADER + AD_HASH];
    full_ad(out, ad, bound);
    crypto_aead_xchacha20poly1305_ietf_encrypt(out + HEADER + NONCE, NULL, plain, len, bound,
                                               sizeof(bound), NULL, out + HEADER, key);
}

enum pb_err
pb_aead_key_id(const unsigned char *sealed, size_t len, uint32_t *key_id)
{
    if (len < PB_AEAD_OVERHEAD || sealed[0] != PB_AEAD_VERSION)
        return PB_ERR_INVALID;
    *key_id = (uint32_t)sealed[1] << 24 | (uint32_t)sealed[2] << 16 | (uint32_t)sealed[3] << 8 |
              (uint32_t)sealed[4];
    return PB_ERR_OK;
}

enum pb_err
pb_aead_open(const unsigned char key[PB_AEAD_KEYBYTES], const char *ad, const unsigned char *sealed,
             size_t len, unsigned char *out)
{
    uint32_t key_id;
    if (pb_aead_key_id(sealed, len, &key_id) != PB_ERR_OK)
        return PB_ERR_INVALID;
    unsigned char bound[HEADER + AD_HASH];
    full_ad(sealed, ad, bound);
    if (crypto_aead_xchacha20poly1305_ietf_decrypt(out, NULL, NULL, sealed + HEADER + NONCE,
                                                   len - HEADER - NONCE, bound, sizeof(bound),
                                                   sealed + HEADER, key) != 0)
        return PB_ERR_INVALID;
    return PB_ERR_OK;
}
