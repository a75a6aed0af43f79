/*
 * Keys (design section 5): the master key lives outside every database, in
 * DATA_DIR/master.key (mode 0600) or the POSTBODE_MASTER_KEY environment
 * variable (64 hex characters). It only wraps other keys. This module is
 * the only one that ever sees raw key bytes; they sit in locked,
 * guarded memory (sodium_malloc) and are wiped when freed.
 */
#ifndef PB_CRYPTO_KEYS_H
#define PB_CRYPTO_KEYS_H

#include <stdbool.h>
#include <stddef.h>

#include <sodium.h>

#include "core/err.h"

#define PB_MASTER_KEY_BYTES 32

struct pb_keys;

/*
 * Creates a new random master key file at `path` (mode 0600) unless one
 * exists; `*created` tells which. Never overwrites.
 */
enum pb_err
pb_keys_create_master(const char *path, bool *created, char why[PB_WHY_MAX]);

/*
 * Loads the master key from POSTBODE_MASTER_KEY when set, else from `path`.
 * A key file readable by group or others is refused, as ssh does.
 */
enum pb_err
pb_keys_load(const char *path, struct pb_keys **out, char why[PB_WHY_MAX]);

void
pb_keys_free(struct pb_keys *keys);

/*
 * Seals and opens the platform's own secrets (queued system mails with reset
 * links) under a key derived from the master key. Same envelope and place
 * binding as pb_data_key_seal.
 */
void
pb_keys_seal_system(const struct pb_keys *keys, const char *place, const void *plain, size_t len,
                    unsigned char *out);

enum pb_err
pb_keys_open_system(const struct pb_keys *keys, const char *place, const unsigned char *sealed,
                    size_t len, unsigned char *out, size_t *out_len);

/*
 * A MAC under the system key (keyed BLAKE2b, `outlen` 16..64 bytes) over
 * `domain` and `data`: for tokens that must be checked without a database
 * lookup (unsubscribe and tracking links). `domain` separates the uses.
 */
void
pb_keys_mac_system(const struct pb_keys *keys, const char *domain, const void *data, size_t len,
                   unsigned char *out, size_t outlen);

/*
 * The same MAC with the key and `domain` absorbed into `st`, for a caller
 * that makes many: copy `st`, update it with the data, finalise it.
 */
void
pb_keys_mac_system_init(const struct pb_keys *keys, const char *domain,
                        crypto_generichash_state *st, size_t outlen);

/*
 * An account's data key (sealing sensitive values, TOTP seeds, SMTP
 * passwords, DKIM keys, evidence) and its derived blind-index key, in
 * guarded memory. The control store keeps the data key only wrapped
 * (sealed under the master key, bound to the account id).
 */
struct pb_data_key;

/* A new random data key for `account_id`, wrapped; `*wrapped` is malloc'd. */
enum pb_err
pb_keys_new_data_key(const struct pb_keys *keys, const char *account_id, unsigned char **wrapped,
                     size_t *wrapped_len);

/* Unwraps an account's data key; PB_ERR_MASTER_KEY when it was not wrapped by this master key. */
enum pb_err
pb_keys_open_data_key(const struct pb_keys *keys, const char *account_id,
                      const unsigned char *wrapped, size_t wrapped_len, struct pb_data_key **out);

void
pb_data_key_free(struct pb_data_key *key);

/* The size of a sealed value of `plain_len` bytes. */
size_t
pb_sealed_len(size_t plain_len);

/*
 * Seals `len` bytes into `out` (pb_sealed_len(len) bytes). `place` names
 * where the value lives ("contact_field:ACCOUNT:CONTACT:FIELD"): opening it
 * under any other place fails.
 */
void
pb_data_key_seal(const struct pb_data_key *key, const char *place, const void *plain, size_t len,
                 unsigned char *out);

/* Opens a sealed value into `out` (len - overhead bytes); PB_ERR_INVALID when it does not open. */
enum pb_err
pb_data_key_open(const struct pb_data_key *key, const char *place, const unsigned char *sealed,
                 size_t len, unsigned char *out, size_t *out_len);

/*
 * Starts a BLAKE2b hash keyed with the account's consent-chain key, so that
 * only a holder of the master key can compute (and so forge) chain hashes.
 */
void
pb_data_key_chain_init(const struct pb_data_key *key, crypto_generichash_state *st, size_t outlen);

/*
 * The keyed BLAKE2b blind index of a normalised value, for exact lookups
 * without storing the value: `domain` separates uses ("email", "suppression").
 */
void
pb_data_key_blind_index(const struct pb_data_key *key, const char *domain, const void *value,
                        size_t len, unsigned char out[32]);

#endif
