/* Creating the self-signed ECDSA P-256 certificate for localhost (GnuTLS). */
#include "crypto/cert.h"

#include <arpa/inet.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <gnutls/gnutls.h>
#include <gnutls/x509.h>
#include <sodium.h>

#include "core/file.h"

enum { VALID_DAYS = 365 };

static enum pb_err
fail(char why[PB_WHY_MAX], const char *what, int rc)
{
    snprintf(why, PB_WHY_MAX, "cannot create the TLS certificate: %s: %s", what,
             gnutls_strerror(rc));
    return PB_ERR_CERT_CREATE;
}

/* Fills in the certificate for `key`: names, validity, usage; then self-signs it. */
static enum pb_err
build(gnutls_x509_crt_t crt, gnutls_x509_privkey_t key, char why[PB_WHY_MAX])
{
    int rc;
    unsigned char serial[16];
    randombytes_buf(serial, sizeof(serial));
    serial[0] &= 0x7f; /* a positive serial number */
    unsigned char v4[4], v6[16];
    inet_pton(AF_INET, "127.0.0.1", v4);
    inet_pton(AF_INET6, "::1", v6);
    time_t now = time(NULL);

    if ((rc = gnutls_x509_crt_set_version(crt, 3)) < 0)
        return fail(why, "version", rc);
    if ((rc = gnutls_x509_crt_set_serial(crt, serial, sizeof(serial))) < 0)
        return fail(why, "serial", rc);
    if ((rc = gnutls_x509_crt_set_activation_time(crt, now - 60)) < 0 ||
        (rc = gnutls_x509_crt_set_expiration_time(crt, now + VALID_DAYS * 86400L)) < 0)
        return fail(why, "validity", rc);
    if ((rc = gnutls_x509_crt_set_dn(crt, "CN=localhost,O=Postbode self-signed", NULL)) < 0)
        return fail(why, "subject", rc);
    if ((rc = gnutls_x509_crt_set_subject_alt_name(crt, GNUTLS_SAN_DNSNAME, "localhost", 9,
                                                   GNUTLS_FSAN_APPEND)) < 0 ||
        (rc = gnutls_x509_crt_set_subject_alt_name(crt, GNUTLS_SAN_IPADDRESS, v4, sizeof(v4),
                                                   GNUTLS_FSAN_APPEND)) < 0 ||
        (rc = gnutls_x509_crt_set_subject_alt_name(crt, GNUTLS_SAN_IPADDRESS, v6, sizeof(v6),
                                                   GNUTLS_FSAN_APPEND)) < 0)
        return fail(why, "subject alternative names", rc);
    if ((rc = gnutls_x509_crt_set_basic_constraints(crt, 0, -1)) < 0)
        return fail(why, "basic constraints", rc);
    if ((rc = gnutls_x509_crt_set_key_usage(crt, GNUTLS_KEY_DIGITAL_SIGNATURE)) < 0)
        return fail(why, "key usage", rc);
    if ((rc = gnutls_x509_crt_set_key_purpose_oid(crt, GNUTLS_KP_TLS_WWW_SERVER, 0)) < 0)
        return fail(why, "key purpose", rc);
    if ((rc = gnutls_x509_crt_set_key(crt, key)) < 0)
        return fail(why, "public key", rc);
    unsigned char kid[64];
    size_t kid_len = sizeof(kid);
    if ((rc = gnutls_x509_crt_get_key_id(crt, GNUTLS_KEYID_USE_SHA1, kid, &kid_len)) < 0 ||
        (rc = gnutls_x509_crt_set_subject_key_id(crt, kid, kid_len)) < 0)
        return fail(why, "key id", rc);
    if ((rc = gnutls_x509_crt_sign2(crt, crt, key, GNUTLS_DIG_SHA256, 0)) < 0)
        return fail(why, "signature", rc);
    return PB_ERR_OK;
}

enum pb_err
pb_cert_create_self_signed(const char *cert_path, const char *key_path, char why[PB_WHY_MAX])
{
    enum pb_err err = PB_ERR_CERT_CREATE;
    gnutls_x509_privkey_t key = NULL;
    gnutls_x509_crt_t crt = NULL;
    gnutls_datum_t key_pem = {NULL, 0}, crt_pem = {NULL, 0};
    int rc;

    if (pb_file_exists(cert_path) || pb_file_exists(key_path)) {
        snprintf(why, PB_WHY_MAX, "%s or %s already exists; not overwriting it", cert_path,
                 key_path);
        return PB_ERR_CERT_CREATE;
    }
    char dir[PATH_MAX];
    snprintf(dir, sizeof(dir), "%s", cert_path);
    if ((err = pb_file_mkdirs(dirname(dir), 0700, why)) != PB_ERR_OK)
        return err;
    snprintf(dir, sizeof(dir), "%s", key_path);
    if ((err = pb_file_mkdirs(dirname(dir), 0700, why)) != PB_ERR_OK)
        return err;

    err = PB_ERR_CERT_CREATE;
    if ((rc = gnutls_x509_privkey_init(&key)) < 0 ||
        (rc = gnutls_x509_privkey_generate(
             key, GNUTLS_PK_ECDSA, GNUTLS_CURVE_TO_BITS(GNUTLS_ECC_CURVE_SECP256R1), 0)) < 0) {
        fail(why, "key generation", rc);
        goto out;
    }
    if ((rc = gnutls_x509_crt_init(&crt)) < 0) {
        fail(why, "init", rc);
        goto out;
    }
    if ((err = build(crt, key, why)) != PB_ERR_OK)
        goto out;
    err = PB_ERR_CERT_CREATE;
    if ((rc = gnutls_x509_privkey_export2(key, GNUTLS_X509_FMT_PEM, &key_pem)) < 0 ||
        (rc = gnutls_x509_crt_export2(crt, GNUTLS_X509_FMT_PEM, &crt_pem)) < 0) {
        fail(why, "export", rc);
        goto out;
    }
    /* The key first: a certificate without its key would be useless. */
    if ((err = pb_file_write_new(key_path, key_pem.data, key_pem.size, 0600, why)) != PB_ERR_OK)
        goto out;
    if ((err = pb_file_write_new(cert_path, crt_pem.data, crt_pem.size, 0644, why)) != PB_ERR_OK) {
        remove(key_path);
        goto out;
    }
    err = PB_ERR_OK;
out:
    if (key_pem.data != NULL) {
        sodium_memzero(key_pem.data, key_pem.size);
        gnutls_free(key_pem.data);
    }
    gnutls_free(crt_pem.data);
    if (crt != NULL)
        gnutls_x509_crt_deinit(crt);
    if (key != NULL)
        gnutls_x509_privkey_deinit(key);
    return err;
}
