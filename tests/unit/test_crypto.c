/* Unit tests for crypto/: the master key file and the self-signed certificate. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <gnutls/gnutls.h>
#include <gnutls/x509.h>
#include <sodium.h>

#include "core/file.h"
#include "crypto/cert.h"
#include "crypto/keys.h"
#include "support/tmpdir.h"

static void
master_key_is_created_once_with_mode_0600(void **state)
{
    (void)state;
    char dir[PATH_MAX], path[PATH_MAX + 16], why[PB_WHY_MAX];
    pb_test_tmpdir(dir);
    snprintf(path, sizeof(path), "%s/master.key", dir);
    bool created = false;
    assert_int_equal(pb_keys_create_master(path, &created, why), PB_ERR_OK);
    assert_true(created);
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
    assert_int_equal(st.st_size, 65);

    char *first = NULL, *second = NULL;
    size_t len;
    assert_int_equal(pb_file_read_small(path, 100, &first, &len, why), PB_ERR_OK);
    assert_int_equal(pb_keys_create_master(path, &created, why), PB_ERR_OK);
    assert_false(created); /* never overwritten */
    assert_int_equal(pb_file_read_small(path, 100, &second, &len, why), PB_ERR_OK);
    assert_string_equal(first, second);
    free(first);
    free(second);

    struct pb_keys *keys = NULL;
    unsetenv("POSTBODE_MASTER_KEY");
    assert_int_equal(pb_keys_load(path, &keys, why), PB_ERR_OK);
    assert_non_null(keys);
    pb_keys_free(keys);
    pb_test_rmtree(dir);
}

static void
master_key_load_refuses_bad_keys(void **state)
{
    (void)state;
    char dir[PATH_MAX], path[PATH_MAX + 16], why[PB_WHY_MAX];
    pb_test_tmpdir(dir);
    snprintf(path, sizeof(path), "%s/master.key", dir);
    struct pb_keys *keys = NULL;
    unsetenv("POSTBODE_MASTER_KEY");

    assert_int_equal(pb_keys_load(path, &keys, why), PB_ERR_MASTER_KEY); /* missing */
    assert_non_null(strstr(why, path));

    assert_int_equal(pb_file_write_new(path, "abcd\n", 5, 0600, why), PB_ERR_OK);
    assert_int_equal(pb_keys_load(path, &keys, why), PB_ERR_MASTER_KEY); /* too short */
    assert_non_null(strstr(why, "64 hexadecimal"));
    remove(path);

    const char good[] = "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff\n";
    assert_int_equal(pb_file_write_new(path, good, sizeof(good) - 1, 0644, why), PB_ERR_OK);
    assert_int_equal(pb_keys_load(path, &keys, why), PB_ERR_MASTER_KEY); /* world-readable */
    assert_non_null(strstr(why, "chmod 600"));
    assert_null(keys);

    /* The environment wins over the file. */
    setenv("POSTBODE_MASTER_KEY", "zz", 1);
    assert_int_equal(pb_keys_load(path, &keys, why), PB_ERR_MASTER_KEY);
    assert_non_null(strstr(why, "POSTBODE_MASTER_KEY"));
    setenv("POSTBODE_MASTER_KEY",
           "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff", 1);
    assert_int_equal(pb_keys_load("/nonexistent", &keys, why), PB_ERR_OK);
    pb_keys_free(keys);
    unsetenv("POSTBODE_MASTER_KEY");
    pb_test_rmtree(dir);
}

static void
self_signed_certificate_is_ecdsa_for_localhost(void **state)
{
    (void)state;
    char dir[PATH_MAX], cert[PATH_MAX + 16], key[PATH_MAX + 16], why[PB_WHY_MAX];
    pb_test_tmpdir(dir);
    snprintf(cert, sizeof(cert), "%s/tls/cert.pem", dir);
    snprintf(key, sizeof(key), "%s/tls/key.pem", dir);
    assert_int_equal(pb_cert_create_self_signed(cert, key, why), PB_ERR_OK);

    struct stat st;
    assert_int_equal(stat(key, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);

    gnutls_datum_t pem;
    assert_int_equal(gnutls_load_file(cert, &pem), 0);
    gnutls_x509_crt_t crt;
    gnutls_x509_crt_init(&crt);
    assert_int_equal(gnutls_x509_crt_import(crt, &pem, GNUTLS_X509_FMT_PEM), 0);
    unsigned bits = 0;
    assert_int_equal(gnutls_x509_crt_get_pk_algorithm(crt, &bits), GNUTLS_PK_ECDSA);
    assert_int_equal(bits, 256);
    assert_true(gnutls_x509_crt_check_hostname(crt, "localhost"));
    assert_true(gnutls_x509_crt_check_ip(crt, (const unsigned char *)"\x7f\x00\x00\x01", 4, 0));
    assert_false(gnutls_x509_crt_check_hostname(crt, "example.org"));
    assert_true(gnutls_x509_crt_get_expiration_time(crt) > time(NULL) + 300 * 86400);
    /* It verifies against itself as the only trust anchor. */
    unsigned status = 1;
    assert_int_equal(gnutls_x509_crt_list_verify(&crt, 1, &crt, 1, NULL, 0, 0, &status), 0);
    assert_int_equal(status, 0);
    gnutls_x509_crt_deinit(crt);
    gnutls_free(pem.data);

    /* A second call never replaces the files. */
    assert_int_equal(pb_cert_create_self_signed(cert, key, why), PB_ERR_CERT_CREATE);
    assert_non_null(strstr(why, "not overwriting"));
    pb_test_rmtree(dir);
}

static bool
contains(const unsigned char *hay, size_t len, const char *needle)
{
    size_t n = strlen(needle);
    for (size_t i = 0; i + n <= len; i++)
        if (memcmp(hay + i, needle, n) == 0)
            return true;
    return false;
}

static struct pb_keys *
test_keys(void)
{
    char why[PB_WHY_MAX];
    struct pb_keys *keys = NULL;
    setenv("POSTBODE_MASTER_KEY",
           "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff", 1);
    assert_int_equal(pb_keys_load("/nonexistent", &keys, why), PB_ERR_OK);
    unsetenv("POSTBODE_MASTER_KEY");
    return keys;
}

static void
data_keys_wrap_under_the_master_key_and_bind_to_their_account(void **state)
{
    (void)state;
    struct pb_keys *keys = test_keys();
    unsigned char *wrapped = NULL;
    size_t wrapped_len = 0;
    assert_int_equal(pb_keys_new_data_key(keys, "ACCOUNT1", &wrapped, &wrapped_len), PB_ERR_OK);
    struct pb_data_key *dk = NULL;
    assert_int_equal(pb_keys_open_data_key(keys, "ACCOUNT1", wrapped, wrapped_len, &dk), PB_ERR_OK);
    /* The same wrapped key under another account's name does not open. */
    struct pb_data_key *other = NULL;
    assert_int_equal(pb_keys_open_data_key(keys, "ACCOUNT2", wrapped, wrapped_len, &other),
                     PB_ERR_MASTER_KEY);
    assert_null(other);
    /* Nor under another master key. */
    char why[PB_WHY_MAX];
    struct pb_keys *keys2 = NULL;
    setenv("POSTBODE_MASTER_KEY",
           "ff112233445566778899aabbccddeeff00112233445566778899aabbccddeeff", 1);
    assert_int_equal(pb_keys_load("/nonexistent", &keys2, why), PB_ERR_OK);
    unsetenv("POSTBODE_MASTER_KEY");
    assert_int_equal(pb_keys_open_data_key(keys2, "ACCOUNT1", wrapped, wrapped_len, &other),
                     PB_ERR_MASTER_KEY);
    pb_keys_free(keys2);

    /* Seal, open; the place binds the value. */
    const char secret[] = "Jan Peeters, BE71 0961 2345 6769";
    unsigned char sealed[256], opened[256];
    size_t sealed_len = pb_sealed_len(sizeof(secret)), opened_len = 0;
    pb_data_key_seal(dk, "contact_field:A:C1:iban", secret, sizeof(secret), sealed);
    assert_false(contains(sealed, sealed_len, "Peeters"));
    assert_int_equal(
        pb_data_key_open(dk, "contact_field:A:C1:iban", sealed, sealed_len, opened, &opened_len),
        PB_ERR_OK);
    assert_int_equal(opened_len, sizeof(secret));
    assert_memory_equal(opened, secret, sizeof(secret));
    assert_int_equal(
        pb_data_key_open(dk, "contact_field:A:C2:iban", sealed, sealed_len, opened, &opened_len),
        PB_ERR_INVALID);
    /* Any flipped bit, header included, is detected. */
    for (size_t i = 0; i < sealed_len; i += 7) {
        sealed[i] ^= 0x01;
        assert_int_equal(pb_data_key_open(dk, "contact_field:A:C1:iban", sealed, sealed_len, opened,
                                          &opened_len),
                         PB_ERR_INVALID);
        sealed[i] ^= 0x01;
    }
    assert_int_equal(pb_data_key_open(dk, "x", sealed, 10, opened, &opened_len), PB_ERR_INVALID);

    /* Blind indexes: deterministic per key and domain, different across domains. */
    unsigned char a[32], b[32], c[32];
    pb_data_key_blind_index(dk, "email", "jan@example.be", 14, a);
    pb_data_key_blind_index(dk, "email", "jan@example.be", 14, b);
    pb_data_key_blind_index(dk, "suppression", "jan@example.be", 14, c);
    assert_memory_equal(a, b, 32);
    assert_memory_not_equal(a, c, 32);

    pb_data_key_free(dk);
    free(wrapped);
    pb_keys_free(keys);
}

int
main(void)
{
    if (sodium_init() < 0)
        return 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(master_key_is_created_once_with_mode_0600),
        cmocka_unit_test(master_key_load_refuses_bad_keys),
        cmocka_unit_test(self_signed_certificate_is_ecdsa_for_localhost),
        cmocka_unit_test(data_keys_wrap_under_the_master_key_and_bind_to_their_account),
    };
    return cmocka_run_group_tests_name("crypto", tests, NULL, NULL);
}
