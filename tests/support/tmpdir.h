/* Test support: temporary directories removed with everything in them. */
#ifndef PB_TEST_TMPDIR_H
#define PB_TEST_TMPDIR_H

#include <limits.h>

/* Creates a fresh directory under $TMPDIR (or /tmp) into `out`; aborts on failure. */
void
pb_test_tmpdir(char out[PATH_MAX]);

/* Removes the directory and everything below it. */
void
pb_test_rmtree(const char *path);

#endif
