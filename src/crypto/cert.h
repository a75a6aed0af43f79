/*
 * The self-signed TLS certificate made on first start when none is
 * configured (mission feature 9): ECDSA P-256, for localhost, 127.0.0.1
 * and ::1, valid for one year, key file mode 0600.
 */
#ifndef PB_CRYPTO_CERT_H
#define PB_CRYPTO_CERT_H

#include "core/err.h"

/*
 * Writes a new key and certificate to `key_path` and `cert_path` (PEM),
 * creating their directory. Refuses (PB_ERR_CERT_CREATE) to overwrite
 * an existing file.
 */
enum pb_err
pb_cert_create_self_signed(const char *cert_path, const char *key_path, char why[PB_WHY_MAX]);

#endif
