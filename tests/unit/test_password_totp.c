/* Unit tests for crypto/password.c and crypto/totp.c: policy, hashing, RFC vectors, replay. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "crypto/password.h"
#include "crypto/totp.h"

static void
policy_refuses_short_long_and_common_passwords(void **state)
{
    (void)state;
    assert_int_equal(pb_password_check("correct horse battery"), PB_PASSWORD_OK);
    assert_int_equal(pb_password_check("elf tekens!"), PB_PASSWORD_TOO_SHORT); /* 11 */
    assert_int_equal(pb_password_check("twaalf teken"), PB_PASSWORD_OK);       /* 12 */
    /* Characters, not bytes: 12 accented letters pass, 11 do not. */
    assert_int_equal(pb_password_check("ééééééééééé"), PB_PASSWORD_TOO_SHORT);
    assert_int_equal(pb_password_check("éééééééééééé"), PB_PASSWORD_OK);
    char long_pw[200];
    memset(long_pw, 'x', 128);
    long_pw[128] = '\0';
    long_pw[0] = 'Q';
    assert_int_equal(pb_password_check(long_pw), PB_PASSWORD_OK);
    long_pw[128] = 'y';
    long_pw[129] = '\0';
    assert_int_equal(pb_password_check(long_pw), PB_PASSWORD_TOO_LONG);
    char huge[4000];
    memset(huge, 'z', sizeof(huge) - 1);
    huge[sizeof(huge) - 1] = '\0';
    assert_int_equal(pb_password_check(huge), PB_PASSWORD_TOO_LONG);
    assert_int_equal(pb_password_check("with\nnewline1234"), PB_PASSWORD_NOT_TEXT);
    assert_int_equal(pb_password_check("bad utf8 \xff\xfe here"), PB_PASSWORD_NOT_TEXT);
    /* From the shipped list: the first, one deep inside, and case variants. */
    assert_int_equal(pb_password_check("123qweasdzxc"), PB_PASSWORD_COMMON);
    assert_int_equal(pb_password_check("1qaz2wsx3edc"), PB_PASSWORD_COMMON);
    assert_int_equal(pb_password_check("Q1W2E3R4T5Y6"), PB_PASSWORD_COMMON);
    assert_int_equal(pb_password_check("passwordpassword"), PB_PASSWORD_COMMON);
    assert_true(strlen(pb_password_verdict_text(PB_PASSWORD_COMMON)) > 10);
}

static void
hashes_are_argon2id_salted_and_verifiable(void **state)
{
    (void)state;
    char h1[PB_PASSWORD_HASH_MAX], h2[PB_PASSWORD_HASH_MAX];
    assert_int_equal(pb_password_hash("correct horse battery", h1), PB_ERR_OK);
    assert_int_equal(pb_password_hash("correct horse battery", h2), PB_ERR_OK);
    assert_true(strncmp(h1, "$argon2id$", 10) == 0);
    assert_string_not_equal(h1, h2); /* salted */
    assert_non_null(strstr(h1, "m=65536,t=2"));
    assert_null(strstr(h1, "correct"));
    assert_true(pb_password_verify(h1, "correct horse battery"));
    assert_false(pb_password_verify(h1, "correct horse batterY"));
    assert_false(pb_password_verify("garbage", "correct horse battery"));
    assert_false(pb_password_needs_rehash(h1));

    /* A hash at the OWASP floor (19 MiB, t=2) is below today's parameters. */
    char weak[crypto_pwhash_STRBYTES];
    assert_int_equal(crypto_pwhash_str(weak, "pw", 2, 2, 19u << 20), 0);
    assert_true(pb_password_needs_rehash(weak));
    pb_password_verify_dummy("anything at all");
}

/* RFC 4226 Appendix D: HOTP of "12345678901234567890" for counters 0..9. */
static void
rfc4226_hotp_vectors(void **state)
{
    (void)state;
    static const char *const expect[] = {"755224", "287082", "359152", "969429", "338314",
                                         "254676", "287922", "162583", "399871", "520489"};
    const unsigned char *secret = (const unsigned char *)"12345678901234567890";
    for (int c = 0; c < 10; c++) {
        char code[16];
        /* TOTP at time c*30 is HOTP at counter c. */
        assert_int_equal(pb_totp_generate(secret, 20, (int64_t)c * 30, 6, 1, code), PB_ERR_OK);
        assert_string_equal(code, expect[c]);
    }
}

/* RFC 6238 Appendix B: 8-digit codes for SHA-1, SHA-256 and SHA-512. */
static void
rfc6238_totp_vectors(void **state)
{
    (void)state;
    static const struct {
        int64_t t;
        const char *sha1, *sha256, *sha512;
    } v[] = {
        {59, "94287082", "46119246", "90693936"},
        {1111111109, "07081804", "68084774", "25091201"},
        {1111111111, "14050471", "67062674", "99943326"},
        {1234567890, "89005924", "91819424", "93441116"},
        {2000000000, "69279037", "90698825", "38618901"},
        {20000000000, "65353130", "77737706", "47863826"},
    };
    const unsigned char *k1 = (const unsigned char *)"12345678901234567890";
    const unsigned char *k256 = (const unsigned char *)"12345678901234567890123456789012";
    const unsigned char *k512 = (const unsigned char *)"1234567890123456789012345678901234567890"
                                                       "123456789012345678901234";
    for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
        char code[16];
        assert_int_equal(pb_totp_generate(k1, 20, v[i].t, 8, 1, code), PB_ERR_OK);
        assert_string_equal(code, v[i].sha1);
        assert_int_equal(pb_totp_generate(k256, 32, v[i].t, 8, 256, code), PB_ERR_OK);
        assert_string_equal(code, v[i].sha256);
        assert_int_equal(pb_totp_generate(k512, 64, v[i].t, 8, 512, code), PB_ERR_OK);
        assert_string_equal(code, v[i].sha512);
    }
}

static void
verify_accepts_one_step_either_way_and_never_twice(void **state)
{
    (void)state;
    unsigned char secret[PB_TOTP_SECRET_BYTES];
    pb_totp_secret_new(secret);
    int64_t now = 1800000000; /* a step boundary: 1800000000 / 30 = 60000000 */
    char code[16];
    int64_t step = 0;

    assert_int_equal(pb_totp_generate(secret, sizeof(secret), now, 6, 1, code), PB_ERR_OK);
    assert_int_equal(pb_totp_verify(secret, sizeof(secret), code, now, -1, &step), PB_TOTP_OK);
    assert_int_equal(step, now / 30);
    /* The same code again, even a few seconds later: replay. */
    assert_int_equal(pb_totp_verify(secret, sizeof(secret), code, now + 5, step, &step),
                     PB_TOTP_REPLAYED);

    /* The previous step's code is still accepted (clock drift)... */
    assert_int_equal(pb_totp_generate(secret, sizeof(secret), now - 30, 6, 1, code), PB_ERR_OK);
    assert_int_equal(pb_totp_verify(secret, sizeof(secret), code, now, -1, &step), PB_TOTP_OK);
    assert_int_equal(step, now / 30 - 1);
    /* ...but not after a later step was used. */
    assert_int_equal(pb_totp_verify(secret, sizeof(secret), code, now, now / 30, &step),
                     PB_TOTP_REPLAYED);
    /* The next step's code works; two steps away does not. */
    assert_int_equal(pb_totp_generate(secret, sizeof(secret), now + 30, 6, 1, code), PB_ERR_OK);
    assert_int_equal(pb_totp_verify(secret, sizeof(secret), code, now, -1, &step), PB_TOTP_OK);
    assert_int_equal(pb_totp_generate(secret, sizeof(secret), now + 90, 6, 1, code), PB_ERR_OK);
    assert_int_equal(pb_totp_verify(secret, sizeof(secret), code, now, -1, &step), PB_TOTP_WRONG);
    assert_int_equal(pb_totp_generate(secret, sizeof(secret), now - 90, 6, 1, code), PB_ERR_OK);
    assert_int_equal(pb_totp_verify(secret, sizeof(secret), code, now, -1, &step), PB_TOTP_WRONG);

    assert_int_equal(pb_totp_verify(secret, sizeof(secret), "12345", now, -1, &step),
                     PB_TOTP_MALFORMED);
    assert_int_equal(pb_totp_verify(secret, sizeof(secret), "12 456", now, -1, &step),
                     PB_TOTP_MALFORMED);
    assert_int_equal(pb_totp_verify(secret, sizeof(secret), "12a456", now, -1, &step),
                     PB_TOTP_MALFORMED);
    assert_int_equal(pb_totp_verify(secret, sizeof(secret), NULL, now, -1, &step),
                     PB_TOTP_MALFORMED);
}

static void
enrolment_material_is_well_formed(void **state)
{
    (void)state;
    const unsigned char secret[PB_TOTP_SECRET_BYTES] = "12345678901234567890";
    char b32[PB_TOTP_SECRET_B32LEN + 1];
    pb_totp_secret_base32(secret, b32);
    assert_string_equal(b32, "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ"); /* RFC 4648 base32 */
    char *uri = pb_totp_uri("Postbode", "anna@example.be", b32);
    assert_string_equal(uri, "otpauth://totp/Postbode:anna%40example.be?secret="
                             "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ&issuer=Postbode&algorithm=SHA1&"
                             "digits=6&period=30");
    char *svg = pb_totp_qr_svg(uri);
    assert_non_null(svg);
    assert_true(strncmp(svg, "<svg xmlns=\"http://www.w3.org/2000/svg\"", 39) == 0);
    assert_non_null(strstr(svg, "</svg>"));
    assert_null(strstr(svg, "style"));
    assert_null(strstr(svg, "<script"));
    free(svg);
    free(uri);
}

int
main(void)
{
    if (sodium_init() < 0 || pb_totp_init() != PB_ERR_OK)
        return 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(policy_refuses_short_long_and_common_passwords),
        cmocka_unit_test(hashes_are_argon2id_salted_and_verifiable),
        cmocka_unit_test(rfc4226_hotp_vectors),
        cmocka_unit_test(rfc6238_totp_vectors),
        cmocka_unit_test(verify_accepts_one_step_either_way_and_never_twice),
        cmocka_unit_test(enrolment_material_is_well_formed),
    };
    return cmocka_run_group_tests_name("password and totp", tests, NULL, NULL);
}
