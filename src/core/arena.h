/*
 * A per-request arena: many small allocations, freed together when the
 * request ends. Every arena has a byte limit; an allocation past it fails
 * (returns NULL) instead of growing without bound.
 */
#ifndef PB_CORE_ARENA_H
#define PB_CORE_ARENA_H

#include <stddef.h>

struct pb_arena;

/* Creates an arena that will hand out at most `limit` bytes in total. */
struct pb_arena *
pb_arena_new(size_t limit);

void
pb_arena_free(struct pb_arena *arena);

/* Overwrites every byte handed out, before freeing an arena that held personal data. */
void
pb_arena_wipe(struct pb_arena *arena);

/* Zeroed, max_align_t-aligned memory, or NULL past the limit. */
void *
pb_arena_alloc(struct pb_arena *arena, size_t size);

/* A copy of `len` bytes of `s` plus a terminating NUL, or NULL. */
char *
pb_arena_strndup(struct pb_arena *arena, const char *s, size_t len);

char *
pb_arena_strdup(struct pb_arena *arena, const char *s);

char *
pb_arena_printf(struct pb_arena *arena, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Bytes handed out so far (including alignment padding). */
size_t
pb_arena_used(const struct pb_arena *arena);

#endif
