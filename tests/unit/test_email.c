/* Unit tests for model/email.c: normalisation, RFC 5321/5322 limits, masking. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "model/email.h"

static void
normalises_case_space_and_idn(void **state)
{
    (void)state;
    char out[PB_EMAIL_MAX + 1], why[PB_WHY_MAX];
    assert_int_equal(
        pb_email_normalize("  Jan.Peeters@Example.BE \n", PB_EMAIL_KEEP_LOCAL_CASE, out, why),
        PB_ERR_OK);
    assert_string_equal(out, "Jan.Peeters@example.be");
    assert_int_equal(pb_email_normalize("Jan.Peeters@Example.BE", PB_EMAIL_LOWER_ALL, out, why),
                     PB_ERR_OK);
    assert_string_equal(out, "jan.peeters@example.be");
    assert_int_equal(pb_email_normalize("info@bücher.de", PB_EMAIL_KEEP_LOCAL_CASE, out, why),
                     PB_ERR_OK);
    assert_string_equal(out, "info@xn--bcher-kva.de");
    assert_int_equal(pb_email_normalize("INFO@BÜCHER.DE", PB_EMAIL_KEEP_LOCAL_CASE, out, why),
                     PB_ERR_OK);
    assert_string_equal(out, "INFO@xn--bcher-kva.de");
    assert_int_equal(
        pb_email_normalize("a+tag@sub.example.org", PB_EMAIL_KEEP_LOCAL_CASE, out, why), PB_ERR_OK);
    assert_int_equal(
        pb_email_normalize("\"john doe\"@example.org", PB_EMAIL_KEEP_LOCAL_CASE, out, why),
        PB_ERR_OK);
}

static void
refuses_what_is_not_an_address(void **state)
{
    (void)state;
    char out[PB_EMAIL_MAX + 1], why[PB_WHY_MAX];
    static const char *const bad[] = {
        "",
        "   ",
        "plainaddress",
        "@example.org",
        "jan@",
        "jan@localhost",
        "jan..peeters@example.org",
        ".jan@example.org",
        "jan.@example.org",
        "jan peeters@example.org",
        "jan@exa_mple.org",
        "jan@-example.org",
        "jan@example-.org",
        "jan@example..org",
        "jan@example.org\r\nBcc: x@y.z",
        "jan\x01@example.org",
        "\"unterminated@example.org",
        "jan@\xff\xfe.org",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        why[0] = '\0';
        assert_int_equal(pb_email_normalize(bad[i], PB_EMAIL_KEEP_LOCAL_CASE, out, why),
                         PB_ERR_INVALID);
        assert_true(strlen(why) > 5);
    }
}

static void
enforces_length_limits(void **state)
{
    (void)state;
    char out[PB_EMAIL_MAX + 1], why[PB_WHY_MAX], addr[600];
    /* Local part: 64 octets pass, 65 do not. */
    memset(addr, 'a', 64);
    strcpy(addr + 64, "@example.org");
    assert_int_equal(pb_email_normalize(addr, PB_EMAIL_KEEP_LOCAL_CASE, out, why), PB_ERR_OK);
    memset(addr, 'a', 65);
    strcpy(addr + 65, "@example.org");
    assert_int_equal(pb_email_normalize(addr, PB_EMAIL_KEEP_LOCAL_CASE, out, why), PB_ERR_INVALID);
    /* A 64-octet label is too long. */
    strcpy(addr, "a@");
    memset(addr + 2, 'b', 64);
    strcpy(addr + 66, ".org");
    assert_int_equal(pb_email_normalize(addr, PB_EMAIL_KEEP_LOCAL_CASE, out, why), PB_ERR_INVALID);
    /* The whole address: 254 octets pass, 255 do not. */
    char domain[300] = "";
    for (int i = 0; i < 3; i++)
        strcat(domain, "ccccccccccccccccccccccccccccccccccccccccccccccccccccccccccc."); /* 60 */
    strcat(domain, "org");                                                              /* 183 */
    memset(addr, 'a', 64);
    addr[64] = '\0';
    char full[600];
    snprintf(full, sizeof(full), "%s@%s", addr, domain); /* 64+1+183 = 248 */
    assert_int_equal(pb_email_normalize(full, PB_EMAIL_KEEP_LOCAL_CASE, out, why), PB_ERR_OK);
    snprintf(full, sizeof(full), "%s@ddddd.%s", addr, domain); /* 254 */
    assert_int_equal(strlen(full), 254);
    assert_int_equal(pb_email_normalize(full, PB_EMAIL_KEEP_LOCAL_CASE, out, why), PB_ERR_OK);
    snprintf(full, sizeof(full), "%s@dddddd.%s", addr, domain); /* 255 */
    assert_int_equal(pb_email_normalize(full, PB_EMAIL_KEEP_LOCAL_CASE, out, why), PB_ERR_INVALID);
    char huge[5000];
    memset(huge, 'x', sizeof(huge) - 1);
    huge[sizeof(huge) - 1] = '\0';
    assert_int_equal(pb_email_normalize(huge, PB_EMAIL_KEEP_LOCAL_CASE, out, why), PB_ERR_INVALID);
}

static void
masks_as_first_character_and_tld(void **state)
{
    (void)state;
    char out[PB_EMAIL_MAX + 1];
    pb_email_mask("jan.peeters@example.be", out);
    assert_string_equal(out, "j***@***.be");
    pb_email_mask("émile@voorbeeld.co.uk", out);
    assert_string_equal(out, "é***@***.uk");
    pb_email_mask("broken", out);
    assert_string_equal(out, "***");
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(normalises_case_space_and_idn),
        cmocka_unit_test(refuses_what_is_not_an_address),
        cmocka_unit_test(enforces_length_limits),
        cmocka_unit_test(masks_as_first_character_and_tld),
    };
    return cmocka_run_group_tests_name("email", tests, NULL, NULL);
}
