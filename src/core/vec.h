/*
 * A growable array of fixed-size items with a maximum count. Used to collect
 * rows inside a transaction and hand them out after it committed, so that a
 * retried transaction never delivers a row twice.
 */
#ifndef PB_CORE_VEC_H
#define PB_CORE_VEC_H

#include <stddef.h>

#include "core/err.h"

struct pb_vec {
    unsigned char *items;
    size_t item_size;
    size_t count;
    size_t cap;
    size_t max;
    enum pb_err err; /* the first failed push, kept so callbacks need not report it */
};

void
pb_vec_init(struct pb_vec *vec, size_t item_size, size_t max);

/* Copies one item in; past `max` or out of memory it records the error and drops the item. */
void
pb_vec_push(struct pb_vec *vec, const void *item);

/* Empties the vector (keeping its memory) and clears the error. */
void
pb_vec_clear(struct pb_vec *vec);

void *
pb_vec_at(const struct pb_vec *vec, size_t i);

void
pb_vec_release(struct pb_vec *vec);

#endif
