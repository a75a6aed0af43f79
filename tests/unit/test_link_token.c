/*
 * Unit tests of the signed tokens of campaign links (model/link_token) and
 * of packing ids into binary (core/id): round trips, and that a token
 * changed anywhere, of another kind, or signed under another master key is
 * no token at all.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "core/id.h"
#include "crypto/keys.h"
#include "model/link_token.h"

/* Keys from a master key of 64 hex characters given in the environment. */
static struct pb_keys *
keys_with(const char *hex)
{
    setenv("POSTBODE_MASTER_KEY", hex, 1);
    struct pb_keys *keys = NULL;
    char why[PB_WHY_MAX];
    assert_int_equal(pb_keys_load("/nonexistent", &keys, why), PB_ERR_OK);
    unsetenv("POSTBODE_MASTER_KEY");
    return keys;
}

static const char *const key_a = "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff";
static const char *const key_b = "ffeeddccbbaa99887766554433221100ffeeddccbbaa99887766554433221100";

static void
ids_pack_and_unpack(void **state)
{
    (void)state;
    for (int i = 0; i < 1000; i++) {
        char id[PB_ID_LEN + 1], back[PB_ID_LEN + 1];
        unsigned char raw[PB_ID_BYTES];
        pb_id_new(id);
        assert_true(pb_id_pack(id, raw));
        pb_id_unpack(raw, back);
        assert_string_equal(back, id);
    }
    unsigned char raw[PB_ID_BYTES];
    assert_false(pb_id_pack(NULL, raw));
    assert_false(pb_id_pack("", raw));
    assert_false(pb_id_pack("01ARZ3NDEKTSV4RRFFQ69G5FA", raw));   /* 25 characters */
    assert_false(pb_id_pack("01ARZ3NDEKTSV4RRFFQ69G5FAVX", raw)); /* 27 */
    assert_false(pb_id_pack("81ARZ3NDEKTSV4RRFFQ69G5FAV", raw));  /* over 128 bits */
    assert_false(pb_id_pack("01ARZ3NDEKTSV4RRFFQ69G5FAU", raw));  /* U is not a digit */
    assert_false(pb_id_pack("01arz3ndektsv4rrffq69g5fav", raw));  /* lower case */
    assert_true(pb_id_pack("7ZZZZZZZZZZZZZZZZZZZZZZZZZ", raw));
    for (int i = 0; i < PB_ID_BYTES; i++)
        assert_int_equal(raw[i], 0xff);
}

static void
tokens_round_trip_and_refuse_changes(void **state)
{
    (void)state;
    struct pb_keys *keys = keys_with(key_a);
    struct pb_link_signer signer;
    pb_link_signer_init(&signer, keys);
    struct pb_link_token t = {.kind = PB_LINK_CLICK, .link = 513};
    pb_id_new(t.account_id);
    pb_id_new(t.campaign_id);
    pb_id_new(t.contact_id);
    char token[PB_LINK_TOKEN_MAX];
    assert_int_equal(pb_link_token_make(&signer, &t, token), PB_ERR_OK);
    assert_int_equal(strlen(token), 91);

    struct pb_link_token got;
    assert_int_equal(pb_link_token_parse(keys, PB_LINK_CLICK, token, &got), PB_ERR_OK);
    assert_string_equal(got.account_id, t.account_id);
    assert_string_equal(got.campaign_id, t.campaign_id);
    assert_string_equal(got.contact_id, t.contact_id);
    assert_int_equal(got.link, 513);
    /* The token holds ids, never an address: nothing readable but base64url. */
    assert_int_equal(strspn(token, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
                                   "0123456789-_"),
                     strlen(token));

    /* Of another kind: refused (an open token cannot unsubscribe). */
    assert_int_equal(pb_link_token_parse(keys, PB_LINK_UNSUBSCRIBE, token, &got), PB_ERR_NOT_FOUND);
    /* Any character changed: refused. */
    for (size_t i = 0; i < strlen(token); i++) {
        char bent[PB_LINK_TOKEN_MAX];
        memcpy(bent, token, sizeof(bent));
        bent[i] = bent[i] == 'A' ? 'B' : 'A';
        assert_int_equal(pb_link_token_parse(keys, PB_LINK_CLICK, bent, &got), PB_ERR_NOT_FOUND);
    }
    /* Cut, lengthened, empty: refused. */
    char cut[PB_LINK_TOKEN_MAX];
    snprintf(cut, sizeof(cut), "%.*s", 90, token);
    assert_int_equal(pb_link_token_parse(keys, PB_LINK_CLICK, cut, &got), PB_ERR_NOT_FOUND);
    char longer[PB_LINK_TOKEN_MAX + 8];
    snprintf(longer, sizeof(longer), "%sAAAA", token);
    assert_int_equal(pb_link_token_parse(keys, PB_LINK_CLICK, longer, &got), PB_ERR_NOT_FOUND);
    assert_int_equal(pb_link_token_parse(keys, PB_LINK_CLICK, "", &got), PB_ERR_NOT_FOUND);
    assert_int_equal(pb_link_token_parse(keys, PB_LINK_CLICK, NULL, &got), PB_ERR_NOT_FOUND);

    /* Under another master key: refused. */
    struct pb_keys *other = keys_with(key_b);
    assert_int_equal(pb_link_token_parse(other, PB_LINK_CLICK, token, &got), PB_ERR_NOT_FOUND);

    /* No recipient (aggregate tracking): parsed back as "". */
    t.kind = PB_LINK_OPEN;
    t.contact_id[0] = '\0';
    t.link = 0;
    assert_int_equal(pb_link_token_make(&signer, &t, token), PB_ERR_OK);
    assert_int_equal(pb_link_token_parse(keys, PB_LINK_OPEN, token, &got), PB_ERR_OK);
    assert_string_equal(got.contact_id, "");
    /* Bad input to make: an id that is not one, a link number out of range. */
    pb_id_new(t.contact_id);
    t.link = 70000;
    assert_int_equal(pb_link_token_make(&signer, &t, token), PB_ERR_INVALID);
    t.link = 0;
    snprintf(t.account_id, sizeof(t.account_id), "not an id");
    assert_int_equal(pb_link_token_make(&signer, &t, token), PB_ERR_INVALID);

    pb_link_signer_wipe(&signer);
    pb_keys_free(other);
    pb_keys_free(keys);
}

int
main(void)
{
    if (sodium_init() < 0)
        return 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(ids_pack_and_unpack),
        cmocka_unit_test(tokens_round_trip_and_refuse_changes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
