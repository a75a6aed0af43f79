/* The bounded growable array. */
#include "core/vec.h"

#include <stdlib.h>
#include <string.h>

void
pb_vec_init(struct pb_vec *vec, size_t item_size, size_t max)
{
    memset(vec, 0, sizeof(*vec));
    vec->item_size = item_size;
    vec->max = max;
}

void
pb_vec_push(struct pb_vec *vec, const void *item)
{
    if (vec->err != PB_ERR_OK)
        return;
    if (vec->count >= vec->max) {
        vec->err = PB_ERR_TOO_LARGE;
        return;
    }
    if (vec->count == vec->cap) {
        size_t cap = vec->cap ? vec->cap * 2 : 8;
        if (cap > vec->max)
            cap = vec->max;
        unsigned char *grown = realloc(vec->items, cap * vec->item_size);
        if (grown == NULL) {
            vec->err = PB_ERR_NOMEM;
            return;
        }
        vec->items = grown;
        vec->cap = cap;
    }
    memcpy(vec->items + vec->count * vec->item_size, item, vec->item_size);
    vec->count++;
}

void
pb_vec_clear(struct pb_vec *vec)
{
    vec->count = 0;
    vec->err = PB_ERR_OK;
}

void *
pb_vec_at(const struct pb_vec *vec, size_t i)
{
    return vec->items + i * vec->item_size;
}

void
pb_vec_release(struct pb_vec *vec)
{
    free(vec->items);
    vec->items = NULL;
    vec->count = vec->cap = 0;
}
