/* Unit tests for core/: arena and buffer limits, the error registry, configuration precedence, ids.
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

#include "core/arena.h"
#include "core/buf.h"
#include "core/config.h"
#include "core/err.h"
#include "core/file.h"
#include "core/id.h"
#include "core/strutil.h"
#include "support/tmpdir.h"

static void
arena_hands_out_zeroed_aligned_memory(void **state)
{
    (void)state;
    struct pb_arena *a = pb_arena_new(1 << 20);
    for (int i = 1; i < 200; i++) {
        unsigned char *p = pb_arena_alloc(a, (size_t)i * 7);
        assert_non_null(p);
        assert_int_equal((uintptr_t)p % _Alignof(max_align_t), 0);
        for (int j = 0; j < i * 7; j++)
            assert_int_equal(p[j], 0);
        memset(p, 0xab, (size_t)i * 7);
    }
    char *s = pb_arena_printf(a, "%s-%d", "req", 42);
    assert_string_equal(s, "req-42");
    assert_string_equal(pb_arena_strndup(a, "abcdef", 3), "abc");
    pb_arena_free(a);
}

static void
arena_wipe_overwrites_what_it_handed_out(void **state)
{
    (void)state;
    struct pb_arena *a = pb_arena_new(1 << 20);
    char *small = pb_arena_strdup(a, "jan.peeters@example.be");
    char *big = pb_arena_alloc(a, 20000); /* a chunk of its own */
    memset(big, 'x', 20000);
    pb_arena_wipe(a);
    for (size_t i = 0; i < sizeof("jan.peeters@example.be"); i++)
        assert_int_equal(small[i], 0);
    for (size_t i = 0; i < 20000; i++)
        assert_int_equal(big[i], 0);
    pb_arena_free(a);
}

static void
arena_refuses_past_its_limit(void **state)
{
    (void)state;
    struct pb_arena *a = pb_arena_new(1000);
    assert_non_null(pb_arena_alloc(a, 900));
    size_t used = pb_arena_used(a);
    assert_null(pb_arena_alloc(a, 200));
    assert_int_equal(pb_arena_used(a), used); /* a refusal takes nothing */
    assert_null(pb_arena_alloc(a, SIZE_MAX));
    assert_null(pb_arena_alloc(a, SIZE_MAX - 8));
    pb_arena_free(a);

    /* A block larger than a chunk works when the limit allows it. */
    a = pb_arena_new(1 << 20);
    char *big = pb_arena_alloc(a, 100000);
    assert_non_null(big);
    char *small = pb_arena_alloc(a, 16);
    assert_non_null(small);
    pb_arena_free(a);
}

static void
buf_grows_up_to_its_maximum_and_not_beyond(void **state)
{
    (void)state;
    struct pb_buf b;
    pb_buf_init(&b, 10);
    assert_int_equal(pb_buf_append_str(&b, "hello"), PB_ERR_OK);
    assert_int_equal(pb_buf_printf(&b, "%d", 12345), PB_ERR_OK);
    assert_int_equal(b.len, 10);
    assert_string_equal(b.data, "hello12345");
    /* Full: one more byte is refused and the content stays as it was. */
    assert_int_equal(pb_buf_append(&b, "x", 1), PB_ERR_TOO_LARGE);
    assert_int_equal(pb_buf_printf(&b, "%s", "y"), PB_ERR_TOO_LARGE);
    assert_int_equal(b.len, 10);
    assert_string_equal(b.data, "hello12345");
    assert_true(b.cap <= 11);
    pb_buf_reset(&b);
    assert_int_equal(b.len, 0);
    assert_string_equal(b.data, "");
    assert_int_equal(pb_buf_append(&b, "0123456789A", 11), PB_ERR_TOO_LARGE);
    assert_int_equal(pb_buf_append(&b, "x", SIZE_MAX), PB_ERR_TOO_LARGE);
    pb_buf_release(&b, 1);
    assert_null(b.data);
}

static void
buf_handles_large_content(void **state)
{
    (void)state;
    struct pb_buf b;
    pb_buf_init(&b, 1 << 20);
    char chunk[1000];
    memset(chunk, 'z', sizeof(chunk));
    for (int i = 0; i < 1048; i++)
        assert_int_equal(pb_buf_append(&b, chunk, sizeof(chunk)), PB_ERR_OK);
    assert_int_equal(b.len, 1048000);
    assert_int_equal(pb_buf_append(&b, chunk, sizeof(chunk)), PB_ERR_TOO_LARGE);
    pb_buf_release(&b, 0);
}

static void
error_registry_is_consistent(void **state)
{
    (void)state;
    static const int codes[] = {
#define PB_ERR(name, code, status, hint) code,
#include "core/err.def"
#undef PB_ERR
    };
    size_t n = sizeof(codes) / sizeof(codes[0]);
    assert_true(n > 30);
    for (size_t i = 0; i < n; i++) {
        for (size_t j = i + 1; j < n; j++)
            assert_int_not_equal(codes[i], codes[j]); /* never two names for one code */
        int status = pb_err_status((enum pb_err)codes[i]);
        assert_true(status >= 200 && status <= 599);
        assert_true(strlen(pb_err_hint((enum pb_err)codes[i])) > 5);
        assert_true(pb_err_known(codes[i]));
    }
    assert_int_equal(pb_err_status(PB_ERR_NOT_FOUND), 404);
    assert_int_equal(pb_err_status(PB_ERR_BODY_TOO_LARGE), 413);
    assert_int_equal(pb_err_status(PB_ERR_METHOD_NOT_ALLOWED), 405);
    assert_int_equal(pb_err_status(PB_ERR_BAD_JSON), 400);
    assert_string_equal(pb_err_name(PB_ERR_NOT_FOUND), "NOT_FOUND");
    assert_false(pb_err_known(99999));
    assert_int_equal(pb_err_status((enum pb_err)99999), 500);
}

static void
write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

static void
config_precedence_is_file_then_env_then_flag(void **state)
{
    (void)state;
    char dir[PATH_MAX], conf[PATH_MAX + 32], why[PB_WHY_MAX];
    pb_test_tmpdir(dir);
    snprintf(conf, sizeof(conf), "%s/postbode.conf", dir);
    write_file(conf, "[server]\nlisten = 127.0.0.1:1111\nthreads = 3\n"
                     "public_url = https://file.example\n[log]\nlevel = warn\n");
    struct pb_config c;

    /* Defaults alone. */
    unsetenv("POSTBODE_SERVER_LISTEN");
    unsetenv("POSTBODE_SERVER_DATA_DIR");
    assert_int_equal(pb_config_load(&c, "/nonexistent/none.conf", NULL, why),
                     PB_ERR_CONFIG_UNREADABLE);
    assert_non_null(strstr(why, "/nonexistent/none.conf"));
    const char *dir_flag[] = {"server.data_dir", dir, NULL};
    assert_int_equal(pb_config_load(&c, NULL, dir_flag, why), PB_ERR_OK);
    /* DATA_DIR/postbode.conf was found and read. */
    assert_string_equal(c.listen, "127.0.0.1:1111");
    assert_int_equal(c.threads, 3);
    assert_string_equal(c.log_level, "warn");

    /* The environment beats the file. */
    setenv("POSTBODE_SERVER_LISTEN", "127.0.0.1:2222", 1);
    assert_int_equal(pb_config_load(&c, conf, NULL, why), PB_ERR_OK);
    assert_string_equal(c.listen, "127.0.0.1:2222");
    assert_int_equal(c.threads, 3);

    /* A flag beats the environment. */
    const char *flags[] = {"server.listen", "127.0.0.1:3333", NULL};
    assert_int_equal(pb_config_load(&c, conf, flags, why), PB_ERR_OK);
    assert_string_equal(c.listen, "127.0.0.1:3333");
    assert_string_equal(c.public_url, "https://file.example");
    unsetenv("POSTBODE_SERVER_LISTEN");

    /* Derived defaults follow the data dir. */
    assert_int_equal(pb_config_load(&c, NULL, dir_flag, why), PB_ERR_OK);
    char expect[PATH_MAX + 64];
    snprintf(expect, sizeof(expect), "sqlite:%s/postbode.db", dir);
    assert_string_equal(c.store_url, expect);
    snprintf(expect, sizeof(expect), "%s/master.key", dir);
    assert_string_equal(c.master_key_file, expect);
    snprintf(expect, sizeof(expect), "%s/tls/cert.pem", dir);
    assert_string_equal(c.tls_cert, expect);
    pb_test_rmtree(dir);
}

static void
config_refuses_bad_input_naming_it(void **state)
{
    (void)state;
    char dir[PATH_MAX], conf[PATH_MAX + 32], why[PB_WHY_MAX];
    pb_test_tmpdir(dir);
    snprintf(conf, sizeof(conf), "%s/bad.conf", dir);
    struct pb_config c;

    write_file(conf, "[server]\nlisten = 127.0.0.1:1\nbogus = 1\n");
    assert_int_equal(pb_config_load(&c, conf, NULL, why), PB_ERR_CONFIG_UNKNOWN_KEY);
    assert_non_null(strstr(why, "bogus"));
    assert_non_null(strstr(why, ":3:")); /* the line number */

    write_file(conf, "[server]\nthreads = many\n");
    assert_int_equal(pb_config_load(&c, conf, NULL, why), PB_ERR_CONFIG_VALUE);
    assert_non_null(strstr(why, "threads"));

    write_file(conf, "[server]\nthreads = 100000\n");
    assert_int_equal(pb_config_load(&c, conf, NULL, why), PB_ERR_CONFIG_VALUE);

    write_file(conf, "[server\nlisten = x\n");
    assert_int_equal(pb_config_load(&c, conf, NULL, why), PB_ERR_CONFIG_SYNTAX);
    assert_non_null(strstr(why, "syntax"));

    write_file(conf, "[server]\ntls = maybe\n");
    assert_int_equal(pb_config_load(&c, conf, NULL, why), PB_ERR_CONFIG_VALUE);
    assert_non_null(strstr(why, "tls"));

    write_file(conf, "[server]\nlisten = nowhere\n");
    assert_int_equal(pb_config_load(&c, conf, NULL, why), PB_ERR_CONFIG_VALUE);
    assert_non_null(strstr(why, "listen"));

    setenv("POSTBODE_SERVER_THREADS", "-4", 1);
    assert_int_equal(pb_config_load(&c, NULL, NULL, why), PB_ERR_CONFIG_VALUE);
    assert_non_null(strstr(why, "POSTBODE_SERVER_THREADS"));
    unsetenv("POSTBODE_SERVER_THREADS");

    char longval[3000];
    memset(longval, 'a', sizeof(longval) - 1);
    longval[sizeof(longval) - 1] = '\0';
    assert_int_equal(pb_config_set(&c, "store", "url", longval, why), PB_ERR_CONFIG_VALUE);
    assert_int_equal(pb_config_set(&c, "mail", "from", "a\nb", why), PB_ERR_CONFIG_VALUE);
    pb_test_rmtree(dir);
}

static void
ids_are_unique_sorted_and_well_formed(void **state)
{
    (void)state;
    char prev[PB_ID_LEN + 1] = "";
    for (int i = 0; i < 1000; i++) {
        char id[PB_ID_LEN + 1];
        pb_id_new(id);
        assert_int_equal(strlen(id), PB_ID_LEN);
        assert_true(pb_id_valid(id));
        assert_string_not_equal(id, prev);
        /* The time prefix orders ids across milliseconds. */
        assert_true(strncmp(prev, id, 10) <= 0);
        memcpy(prev, id, sizeof(id));
    }
    assert_false(pb_id_valid("not-an-id"));
    assert_false(pb_id_valid("0000000000000000000000000U")); /* U is not Crockford */
    assert_false(pb_id_valid(NULL));

    char t1[PB_TOKEN_LEN + 1], t2[PB_TOKEN_LEN + 1];
    pb_token_new(t1);
    pb_token_new(t2);
    assert_int_equal(strlen(t1), PB_TOKEN_LEN);
    assert_string_not_equal(t1, t2);
    assert_null(strpbrk(t1, "+/="));
}

static void
utf8_validation_refuses_malformed_text(void **state)
{
    (void)state;
    assert_true(pb_str_clean_utf8("Brasserie Ça Va – Gent", 100));
    assert_false(pb_str_clean_utf8("tab\there", 100));
    assert_false(pb_str_clean_utf8("\xc3", 100));         /* truncated sequence */
    assert_false(pb_str_clean_utf8("\xc0\xaf", 100));     /* overlong '/' */
    assert_false(pb_str_clean_utf8("\xed\xa0\x80", 100)); /* surrogate */
    assert_false(pb_str_clean_utf8("\xf4\x90\x80\x80", 100));
    assert_false(pb_str_clean_utf8("abcdef", 5));
    assert_true(pb_str_clean_utf8("abcde", 5));
    long v;
    assert_true(pb_str_to_long("42", 0, 100, &v));
    assert_int_equal(v, 42);
    assert_false(pb_str_to_long("42x", 0, 100, &v));
    assert_false(pb_str_to_long("101", 0, 100, &v));
    assert_false(pb_str_to_long("", 0, 100, &v));
}

static void
write_new_never_overwrites(void **state)
{
    (void)state;
    char dir[PATH_MAX], path[PATH_MAX + 16], why[PB_WHY_MAX];
    pb_test_tmpdir(dir);
    snprintf(path, sizeof(path), "%s/a/b/c", dir);
    assert_int_equal(pb_file_mkdirs(path, 0700, why), PB_ERR_OK);
    snprintf(path, sizeof(path), "%s/a/f", dir);
    assert_int_equal(pb_file_write_new(path, "one", 3, 0600, why), PB_ERR_OK);
    assert_int_equal(pb_file_write_new(path, "two", 3, 0600, why), PB_ERR_CONFLICT);
    char *data = NULL;
    size_t len = 0;
    assert_int_equal(pb_file_read_small(path, 100, &data, &len, why), PB_ERR_OK);
    assert_string_equal(data, "one");
    free(data);
    assert_int_equal(pb_file_read_small(path, 2, &data, &len, why), PB_ERR_TOO_LARGE);
    assert_false(pb_file_dir_empty(dir));
    snprintf(path, sizeof(path), "%s/a/b", dir);
    assert_false(pb_file_dir_empty(path));
    snprintf(path, sizeof(path), "%s/a/b/c", dir);
    assert_true(pb_file_dir_empty(path));
    pb_test_rmtree(dir);
}

int
main(void)
{
    if (sodium_init() < 0)
        return 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(arena_hands_out_zeroed_aligned_memory),
        cmocka_unit_test(arena_wipe_overwrites_what_it_handed_out),
        cmocka_unit_test(arena_refuses_past_its_limit),
        cmocka_unit_test(buf_grows_up_to_its_maximum_and_not_beyond),
        cmocka_unit_test(buf_handles_large_content),
        cmocka_unit_test(error_registry_is_consistent),
        cmocka_unit_test(config_precedence_is_file_then_env_then_flag),
        cmocka_unit_test(config_refuses_bad_input_naming_it),
        cmocka_unit_test(ids_are_unique_sorted_and_well_formed),
        cmocka_unit_test(utf8_validation_refuses_malformed_text),
        cmocka_unit_test(write_new_never_overwrites),
    };
    return cmocka_run_group_tests_name("core", tests, NULL, NULL);
}
