/* Filesystem helpers for the data directory. */
#include "core/file.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

enum pb_err
pb_file_mkdirs(const char *path, mode_t mode, char why[PB_WHY_MAX])
{
    char tmp[PATH_MAX];
    if (strlen(path) >= sizeof(tmp)) {
        snprintf(why, PB_WHY_MAX, "path too long: %s", path);
        return PB_ERR_DATA_DIR;
    }
    snprintf(tmp, sizeof(tmp), "%s", path);
    for (char *p = tmp + 1;; p++) {
        char saved = *p;
        if (saved != '/' && saved != '\0')
            continue;
        *p = '\0';
        if (mkdir(tmp, mode) != 0 && errno != EEXIST) {
            snprintf(why, PB_WHY_MAX, "cannot create directory %s: %s", tmp, strerror(errno));
            return PB_ERR_DATA_DIR;
        }
        *p = saved;
        if (saved == '\0')
            break;
    }
    struct stat st;
    if (stat(path, &st) != 0 || !S_ISDIR(st.st_mode)) {
        snprintf(why, PB_WHY_MAX, "%s exists but is not a directory", path);
        return PB_ERR_DATA_DIR;
    }
    return PB_ERR_OK;
}

enum pb_err
pb_file_write_new(const char *path, const void *data, size_t len, mode_t mode, char why[PB_WHY_MAX])
{
    char tmp[PATH_MAX];
    unsigned char rnd[8];
    char hex[17];
    randombytes_buf(rnd, sizeof(rnd));
    sodium_bin2hex(hex, sizeof(hex), rnd, sizeof(rnd));
    if (snprintf(tmp, sizeof(tmp), "%s.%s.tmp", path, hex) >= (int)sizeof(tmp)) {
        snprintf(why, PB_WHY_MAX, "path too long: %s", path);
        return PB_ERR_IO;
    }
    int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
    if (fd < 0) {
        snprintf(why, PB_WHY_MAX, "cannot create %s: %s", path, strerror(errno));
        return PB_ERR_IO;
    }
    enum pb_err err = PB_ERR_OK;
    const unsigned char *p = data;
    size_t left = len;
    while (left > 0) {
        ssize_t n = write(fd, p, left);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            snprintf(why, PB_WHY_MAX, "cannot write %s: %s", path, strerror(errno));
            err = PB_ERR_IO;
            break;
        }
        p += n;
        left -= (size_t)n;
    }
    if (err == PB_ERR_OK && fsync(fd) != 0) {
        snprintf(why, PB_WHY_MAX, "cannot sync %s: %s", path, strerror(errno));
        err = PB_ERR_IO;
    }
    close(fd);
    /* link() never replaces an existing file, unlike rename(). */
    if (err == PB_ERR_OK && link(tmp, path) != 0) {
        if (errno == EEXIST) {
            snprintf(why, PB_WHY_MAX, "%s already exists; not overwriting it", path);
            err = PB_ERR_CONFLICT;
        } else {
            snprintf(why, PB_WHY_MAX, "cannot create %s: %s", path, strerror(errno));
            err = PB_ERR_IO;
        }
    }
    unlink(tmp);
    return err;
}

enum pb_err
pb_file_read_small(const char *path, size_t max, char **out, size_t *len, char why[PB_WHY_MAX])
{
    *out = NULL;
    *len = 0;
    FILE *f = fopen(path, "rb");
    if (f == NULL) {
        snprintf(why, PB_WHY_MAX, "cannot read %s: %s", path, strerror(errno));
        return PB_ERR_IO;
    }
    char *data = malloc(max + 1);
    if (data == NULL) {
        fclose(f);
        return PB_ERR_NOMEM;
    }
    size_t n = fread(data, 1, max + 1, f);
    int failed = ferror(f);
    fclose(f);
    if (failed) {
        snprintf(why, PB_WHY_MAX, "cannot read %s", path);
        free(data);
        return PB_ERR_IO;
    }
    if (n > max) {
        snprintf(why, PB_WHY_MAX, "%s is larger than %zu bytes", path, max);
        free(data);
        return PB_ERR_TOO_LARGE;
    }
    data[n] = '\0';
    *out = data;
    *len = n;
    return PB_ERR_OK;
}

bool
pb_file_exists(const char *path)
{
    return access(path, F_OK) == 0;
}

bool
pb_file_dir_empty(const char *path)
{
    DIR *d = opendir(path);
    if (d == NULL)
        return errno == ENOENT;
    bool empty = true;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0) {
            empty = false;
            break;
        }
    }
    closedir(d);
    return empty;
}
