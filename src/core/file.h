/*
 * Small filesystem helpers for the data directory: creating directories,
 * writing a new file atomically without ever replacing an existing one,
 * and reading a small file whole.
 */
#ifndef PB_CORE_FILE_H
#define PB_CORE_FILE_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "core/err.h"

/* Creates `path` and its missing parents with `mode`; fine if it exists as a directory. */
enum pb_err
pb_file_mkdirs(const char *path, mode_t mode, char why[PB_WHY_MAX]);

/*
 * Writes `len` bytes to a new file `path` with `mode`: written to a
 * temporary file beside it, synced, then linked into place, so the file
 * appears whole or not at all. PB_ERR_CONFLICT when `path` already exists.
 */
enum pb_err
pb_file_write_new(const char *path, const void *data, size_t len, mode_t mode,
                  char why[PB_WHY_MAX]);

/* Reads a whole file of at most `max` bytes into a malloc'd, NUL-terminated buffer. */
enum pb_err
pb_file_read_small(const char *path, size_t max, char **out, size_t *len, char why[PB_WHY_MAX]);

bool
pb_file_exists(const char *path);

/* Whether the directory `path` is missing or holds no entries. */
bool
pb_file_dir_empty(const char *path);

#endif
