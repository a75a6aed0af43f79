/* The master key: creation, loading, and its guarded memory. */
#include "crypto/keys.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#include "core/file.h"
#include "crypto/aead.h"

enum { HEX_LEN = PB_MASTER_KEY_BYTES * 2, MASTER_KEY_ID = 1, DATA_KEY_ID = 1 };

struct pb_keys {
    unsigned char *master; /* sodium_malloc'd: the master key, then the system key; read-only */
};

enum { SYSTEM_KEY_ID = 2 };

struct pb_data_key {
    unsigned char *secret; /* sodium_malloc'd: seal key, blind-index key, chain key (32 each) */
};

enum pb_err
pb_keys_create_master(const char *path, bool *created, char why[PB_WHY_MAX])
{
    *created = false;
    if (pb_file_exists(path))
        return PB_ERR_OK;
    unsigned char key[PB_MASTER_KEY_BYTES];
    char text[HEX_LEN + 2];
    randombytes_buf(key, sizeof(key));
    sodium_bin2hex(text, sizeof(text), key, sizeof(key));
    text[HEX_LEN] = '\n';
    text[HEX_LEN + 1] = '\0';
    enum pb_err err = pb_file_write_new(path, text, HEX_LEN + 1, 0600, why);
    sodium_memzero(key, sizeof(key));
    sodium_memzero(text, sizeof(text));
    if (err == PB_ERR_CONFLICT) /* created meanwhile by another process: keep theirs */
        return PB_ERR_OK;
    if (err != PB_ERR_OK)
        return err == PB_ERR_IO ? PB_ERR_MASTER_KEY : err;
    *created = true;
    return PB_ERR_OK;
}

/* Decodes exactly 64 hex characters (an optional trailing newline allowed). */
static enum pb_err
decode(const char *text, size_t len, unsigned char *key, const char *source, char why[PB_WHY_MAX])
{
    while (len > 0 && (text[len - 1] == '\n' || text[len - 1] == '\r'))
        len--;
    size_t bin_len = 0;
    if (len != HEX_LEN ||
        sodium_hex2bin(key, PB_MASTER_KEY_BYTES, text, len, NULL, &bin_len, NULL) != 0 ||
        bin_len != PB_MASTER_KEY_BYTES) {
        snprintf(why, PB_WHY_MAX, "%s must hold exactly 64 hexadecimal characters (32 bytes)",
                 source);
        return PB_ERR_MASTER_KEY;
    }
    return PB_ERR_OK;
}

static enum pb_err
read_key_file(const char *path, unsigned char *key, char why[PB_WHY_MAX])
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        snprintf(why, PB_WHY_MAX, "cannot read master key %s: %s (run postbode init)", path,
                 strerror(errno));
        return PB_ERR_MASTER_KEY;
    }
    struct stat st;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        close(fd);
        snprintf(why, PB_WHY_MAX, "master key %s is not a regular file", path);
        return PB_ERR_MASTER_KEY;
    }
    if ((st.st_mode & 077) != 0) {
        close(fd);
        snprintf(why, PB_WHY_MAX,
                 "master key %s is readable by others (mode %03o); run chmod 600 on it", path,
                 (unsigned)(st.st_mode & 0777));
        return PB_ERR_MASTER_KEY;
    }
    char text[HEX_LEN + 8];
    ssize_t n = read(fd, text, sizeof(text));
    close(fd);
    enum pb_err err;
    if (n < 0) {
        snprintf(why, PB_WHY_MAX, "cannot read master key %s: %s", path, strerror(errno));
        err = PB_ERR_MASTER_KEY;
    } else {
        char source[PB_WHY_MAX / 2];
        snprintf(source, sizeof(source), "master key %s", path);
        err = decode(text, (size_t)n, key, source, why);
    }
    sodium_memzero(text, sizeof(text));
    return err;
}

enum pb_err
pb_keys_load(const char *path, struct pb_keys **out, char why[PB_WHY_MAX])
{
    *out = NULL;
    struct pb_keys *keys = calloc(1, sizeof(*keys));
    if (keys == NULL)
        return PB_ERR_NOMEM;
    keys->master = sodium_malloc(2 * PB_MASTER_KEY_BYTES);
    if (keys->master == NULL) {
        free(keys);
        return PB_ERR_NOMEM;
    }
    const char *env = getenv("POSTBODE_MASTER_KEY");
    enum pb_err err = env != NULL
                          ? decode(env, strlen(env), keys->master, "POSTBODE_MASTER_KEY", why)
                          : read_key_file(path, keys->master, why);
    if (err != PB_ERR_OK) {
        pb_keys_free(keys);
        return err;
    }
    /* The system key: derived, so that the master key itself only ever wraps keys. */
    crypto_kdf_derive_from_key(keys->master + PB_MASTER_KEY_BYTES, PB_MASTER_KEY_BYTES, 2,
                               "pb_systm", keys->master);
    sodium_mprotect_readonly(keys->master);
    *out = keys;
    return PB_ERR_OK;
}

void
pb_keys_free(struct pb_keys *keys)
{
    if (keys == NULL)
        return;
    sodium_free(keys->master); /* wipes before freeing */
    free(keys);
}

void
pb_keys_seal_system(const struct pb_keys *keys, const char *place, const void *plain, size_t len,
                    unsigned char *out)
{
    pb_aead_seal(keys->master + PB_MASTER_KEY_BYTES, SYSTEM_KEY_ID, place, plain, len, out);
}

void
pb_keys_mac_system(const struct pb_keys *keys, const char *domain, const void *data, size_t len,
                   unsigned char *out, size_t outlen)
{
    crypto_generichash_state st;
    pb_keys_mac_system_init(keys, domain, &st, outlen);
    crypto_generichash_update(&st, data, len);
    crypto_generichash_final(&st, out, outlen);
    sodium_memzero(&st, sizeof(st));
}

void
pb_keys_mac_system_init(const struct pb_keys *keys, const char *domain,
                        crypto_generichash_state *st, size_t outlen)
{
    crypto_generichash_init(st, keys->master + PB_MASTER_KEY_BYTES, PB_MASTER_KEY_BYTES, outlen);
    /* The domain with its terminating NUL, so that no domain is a prefix of another's input. */
    crypto_generichash_update(st, (const unsigned char *)domain, strlen(domain) + 1);
}

enum pb_err
pb_keys_open_system(const struct pb_keys *keys, const char *place, const unsigned char *sealed,
                    size_t len, unsigned char *out, size_t *out_len)
{
    uint32_t key_id;
    *out_len = 0;
    if (pb_aead_key_id(sealed, len, &key_id) != PB_ERR_OK || key_id != SYSTEM_KEY_ID)
        return PB_ERR_INVALID;
    enum pb_err err = pb_aead_open(keys->master + PB_MASTER_KEY_BYTES, place, sealed, len, out);
    if (err == PB_ERR_OK)
        *out_len = len - PB_AEAD_OVERHEAD;
    return err;
}

/* What a wrapped data key is bound to: its account. */
static void
data_key_place(const char *account_id, char place[96])
{
    snprintf(place, 96, "account_data_key:%s", account_id);
}

enum pb_err
pb_keys_new_data_key(const struct pb_keys *keys, const char *account_id, unsigned char **wrapped,
                     size_t *wrapped_len)
{
    unsigned char fresh[PB_AEAD_KEYBYTES];
    char place[96];
    *wrapped = malloc(PB_AEAD_KEYBYTES + PB_AEAD_OVERHEAD);
    if (*wrapped == NULL)
        return PB_ERR_NOMEM;
    randombytes_buf(fresh, sizeof(fresh));
    data_key_place(account_id, place);
    pb_aead_seal(keys->master, MASTER_KEY_ID, place, fresh, sizeof(fresh), *wrapped);
    sodium_memzero(fresh, sizeof(fresh));
    *wrapped_len = PB_AEAD_KEYBYTES + PB_AEAD_OVERHEAD;
    return PB_ERR_OK;
}

enum pb_err
pb_keys_open_data_key(const struct pb_keys *keys, const char *account_id,
                      const unsigned char *wrapped, size_t wrapped_len, struct pb_data_key **out)
{
    *out = NULL;
    if (wrapped_len != PB_AEAD_KEYBYTES + PB_AEAD_OVERHEAD)
        return PB_ERR_MASTER_KEY;
    struct pb_data_key *key = calloc(1, sizeof(*key));
    if (key == NULL)
        return PB_ERR_NOMEM;
    key->secret = sodium_malloc(3 * PB_AEAD_KEYBYTES);
    if (key->secret == NULL) {
        free(key);
        return PB_ERR_NOMEM;
    }
    char place[96];
    data_key_place(account_id, place);
    if (pb_aead_open(keys->master, place, wrapped, wrapped_len, key->secret) != PB_ERR_OK) {
        pb_data_key_free(key);
        return PB_ERR_MASTER_KEY;
    }
    /* A separate key for blind indexes, so an index never reveals anything about sealing. */
    crypto_kdf_derive_from_key(key->secret + PB_AEAD_KEYBYTES, PB_AEAD_KEYBYTES, 1, "pb_blind",
                               key->secret);
    crypto_kdf_derive_from_key(key->secret + 2 * PB_AEAD_KEYBYTES, PB_AEAD_KEYBYTES, 2, "pb_chain",
                               key->secret);
    sodium_mprotect_readonly(key->secret);
    *out = key;
    return PB_ERR_OK;
}

void
pb_data_key_free(struct pb_data_key *key)
{
    if (key == NULL)
        return;
    sodium_free(key->secret);
    free(key);
}

size_t
pb_sealed_len(size_t plain_len)
{
    return plain_len + PB_AEAD_OVERHEAD;
}

void
pb_data_key_seal(const struct pb_data_key *key, const char *place, const void *plain, size_t len,
                 unsigned char *out)
{
    pb_aead_seal(key->secret, DATA_KEY_ID, place, plain, len, out);
}

enum pb_err
pb_data_key_open(const struct pb_data_key *key, const char *place, const unsigned char *sealed,
                 size_t len, unsigned char *out, size_t *out_len)
{
    uint32_t key_id;
    if (pb_aead_key_id(sealed, len, &key_id) != PB_ERR_OK || key_id != DATA_KEY_ID)
        return PB_ERR_INVALID;
    enum pb_err err = pb_aead_open(key->secret, place, sealed, len, out);
    *out_len = err == PB_ERR_OK ? len - PB_AEAD_OVERHEAD : 0;
    return err;
}

void
pb_data_key_blind_index(const struct pb_data_key *key, const char *domain, const void *value,
                        size_t len, unsigned char out[32])
{
    crypto_generichash_state st;
    crypto_generichash_init(&st, key->secret + PB_AEAD_KEYBYTES, PB_AEAD_KEYBYTES, 32);
    /* The domain and a separator first, so equal values in different uses differ. */
    crypto_generichash_update(&st, (const unsigned char *)domain, strlen(domain) + 1);
    crypto_generichash_update(&st, value, len);
    crypto_generichash_final(&st, out, 32);
}

void
pb_data_key_chain_init(const struct pb_data_key *key, crypto_generichash_state *st, size_t outlen)
{
    crypto_generichash_init(st, key->secret + 2 * PB_AEAD_KEYBYTES, PB_AEAD_KEYBYTES, outlen);
}
