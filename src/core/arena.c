/* The per-request arena: a chain of chunks, released at once. */
#include "core/arena.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { CHUNK_SIZE = 8192, ALIGN = _Alignof(max_align_t) };

struct chunk {
    struct chunk *next;
    size_t size;
    size_t used;
    _Alignas(max_align_t) unsigned char data[];
};

struct pb_arena {
    struct chunk *head;
    size_t limit;
    size_t used;
};

struct pb_arena *
pb_arena_new(size_t limit)
{
    struct pb_arena *arena = calloc(1, sizeof(*arena));
    if (arena != NULL)
        arena->limit = limit;
    return arena;
}

void
pb_arena_free(struct pb_arena *arena)
{
    if (arena == NULL)
        return;
    struct chunk *c = arena->head;
    while (c != NULL) {
        struct chunk *next = c->next;
        free(c);
        c = next;
    }
    free(arena);
}

void
pb_arena_wipe(struct pb_arena *arena)
{
    for (struct chunk *c = arena != NULL ? arena->head : NULL; c != NULL; c = c->next)
        explicit_bzero(c->data, c->used);
}

void *
pb_arena_alloc(struct pb_arena *arena, size_t size)
{
    if (size == 0)
        size = 1;
    if (size > SIZE_MAX - ALIGN)
        return NULL;
    size_t rounded = (size + ALIGN - 1) & ~(size_t)(ALIGN - 1);
    if (rounded > arena->limit - arena->used)
        return NULL;

    struct chunk *c = arena->head;
    if (c == NULL || c->size - c->used < rounded) {
        size_t want = rounded > CHUNK_SIZE ? rounded : CHUNK_SIZE;
        c = malloc(sizeof(*c) + want);
        if (c == NULL)
            return NULL;
        c->size = want;
        c->used = 0;
        /* A big block gets its own chunk behind the head, so the head keeps its free room. */
        if (rounded > CHUNK_SIZE && arena->head != NULL) {
            c->next = arena->head->next;
            arena->head->next = c;
        } else {
            c->next = arena->head;
            arena->head = c;
        }
    }
    void *p = c->data + c->used;
    c->used += rounded;
    arena->used += rounded;
    memset(p, 0, size);
    return p;
}

char *
pb_arena_strndup(struct pb_arena *arena, const char *s, size_t len)
{
    if (len == SIZE_MAX)
        return NULL;
    char *p = pb_arena_alloc(arena, len + 1);
    if (p != NULL) {
        memcpy(p, s, len);
        p[len] = '\0';
    }
    return p;
}

char *
pb_arena_strdup(struct pb_arena *arena, const char *s)
{
    return pb_arena_strndup(arena, s, strlen(s));
}

char *
pb_arena_printf(struct pb_arena *arena, const char *fmt, ...)
{
    va_list ap, ap2;
    va_start(ap, fmt);
    va_copy(ap2, ap);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    char *p = NULL;
    if (n >= 0 && (p = pb_arena_alloc(arena, (size_t)n + 1)) != NULL)
        vsnprintf(p, (size_t)n + 1, fmt, ap2);
    va_end(ap2);
    return p;
}

size_t
pb_arena_used(const struct pb_arena *arena)
{
    return arena->used;
}
