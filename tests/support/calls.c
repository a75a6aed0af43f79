/* Requests that must get a status, and error replies' shape, for the HTTP suites. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "support/calls.h"

/* The message of a failed assertion; the reply is freed first, so that a failure leaks nothing. */
static char failure[8192];

void
pb_test_call(struct pb_testapp *t, struct pb_http_client *c, const char *method, const char *path,
             const char *body, long status, struct pb_http_reply *r)
{
    pb_test_http(t, c, method, path, body, r);
    if (r->status != status) {
        snprintf(failure, sizeof(failure), "%s %s: expected %ld, got %ld: %s", method, path, status,
                 r->status, r->body);
        pb_http_reply_free(r);
        fail_msg("%s", failure);
    }
}

void
pb_test_call_ok(struct pb_testapp *t, struct pb_http_client *c, const char *method,
                const char *path, const char *body, long status)
{
    struct pb_http_reply r;
    pb_test_call(t, c, method, path, body, status, &r);
    pb_http_reply_free(&r);
}

void
pb_test_check_error(struct pb_http_reply *r, const char *what, long status, int code,
                    const char *field)
{
    json_t *got_code = json_object_get(r->json, "code");
    const char *got = json_string_value(json_object_get(r->json, "field"));
    const char *detail = json_string_value(json_object_get(r->json, "detail"));
    const char *wrong = NULL;
    if (r->status != status)
        wrong = "status";
    else if (!json_is_integer(got_code) || (code != 0 && json_integer_value(got_code) != code))
        wrong = "code";
    else if (field == NULL && got != NULL)
        wrong = "field (none expected)";
    else if (field != NULL && strcmp(field, "*") != 0 && (got == NULL || strcmp(got, field) != 0))
        wrong = "field";
    else if (detail == NULL || detail[0] == '\0')
        wrong = "detail (empty)";
    if (wrong != NULL) {
        snprintf(failure, sizeof(failure),
                 "%s: wrong %s (expected %ld, code %d, field \"%s\"): %ld %s", what, wrong, status,
                 code, field != NULL ? field : "", r->status, r->body);
        pb_http_reply_free(r);
        fail_msg("%s", failure);
    }
}

void
pb_test_expect_error(struct pb_testapp *t, struct pb_http_client *c, const char *method,
                     const char *path, const char *body, long status, int code, const char *field)
{
    struct pb_http_reply r;
    pb_test_call(t, c, method, path, body, status, &r);
    char what[512];
    snprintf(what, sizeof(what), "%s %s", method, path);
    pb_test_check_error(&r, what, status, code, field);
    pb_http_reply_free(&r);
}
