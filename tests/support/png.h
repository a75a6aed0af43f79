/*
 * Test support: tiny, valid PNG files built byte by byte (for evidence
 * uploads), so that tests need no image files and each shade is a
 * different image (a different sha256).
 */
#ifndef PB_TEST_PNG_H
#define PB_TEST_PNG_H

#include <stddef.h>

struct pb_test_png {
    unsigned char p[512];
    size_t n;
};

/* A 2x2 8-bit greyscale PNG whose pixels are `shade`. */
void
pb_test_png_make(struct pb_test_png *b, unsigned char shade);

/* Appends raw bytes (to build a polyglot or a damaged file); aborts when they do not fit. */
void
pb_test_png_append(struct pb_test_png *b, const void *data, size_t n);

#endif
