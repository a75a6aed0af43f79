/*
 * Test support for the HTTP suites: a request whose reply must have a
 * given status, and the shape of an error reply ({code, hint, detail,
 * field}). Failures go through cmocka, with the reply freed first.
 */
#ifndef PB_TEST_CALLS_H
#define PB_TEST_CALLS_H

#include "support/testapp.h"

/* A request whose reply must have `status`; the reply is kept in `r` (free it). */
void
pb_test_call(struct pb_testapp *t, struct pb_http_client *c, const char *method, const char *path,
             const char *body, long status, struct pb_http_reply *r);

/* The same, dropping the reply. */
void
pb_test_call_ok(struct pb_testapp *t, struct pb_http_client *c, const char *method,
                const char *path, const char *body, long status);

/*
 * An error reply: status, code (0: any) and field (NULL: none, "*": any),
 * and a detail that says something.
 */
void
pb_test_expect_error(struct pb_testapp *t, struct pb_http_client *c, const char *method,
                     const char *path, const char *body, long status, int code, const char *field);

/* Checks an error reply already received, as pb_test_expect_error does. */
void
pb_test_check_error(struct pb_http_reply *r, const char *what, long status, int code,
                    const char *field);

#endif
