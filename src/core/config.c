/* Loading and validating the configuration (libinih for the INI file). */
#include "core/config.h"

#include <ctype.h>
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <ini.h>

#include "core/log.h"

enum key_type { KEY_STRING, KEY_INT, KEY_BOOL };

struct key_spec {
    const char *section;
    const char *key;
    enum key_type type;
    size_t offset;
    size_t size; /* for strings: the field's capacity */
    long min, max;
};

#define STR(sec, k, field)                                                                         \
    {                                                                                              \
        sec, k, KEY_STRING, offsetof(struct pb_config, field),                                     \
            sizeof(((struct pb_config *)0)->field), 0, 0                                           \
    }
#define INT(sec, k, field, lo, hi)                                                                 \
    {                                                                                              \
        sec, k, KEY_INT, offsetof(struct pb_config, field), sizeof(int), lo, hi                    \
    }
#define BOOL(sec, k, field)                                                                        \
    {                                                                                              \
        sec, k, KEY_BOOL, offsetof(struct pb_config, field), sizeof(bool), 0, 1                    \
    }

static const struct key_spec keys[] = {
    STR("server", "data_dir", data_dir),
    STR("server", "listen", listen),
    STR("server", "public_url", public_url),
    STR("server", "tls_cert", tls_cert),
    STR("server", "tls_key", tls_key),
    BOOL("server", "tls", tls),
    INT("server", "threads", threads, 1, 256),
    INT("server", "max_connections", max_connections, 16, 100000),
    INT("server", "shutdown_grace_seconds", shutdown_grace_seconds, 0, 600),
    STR("store", "url", store_url),
    INT("store", "pool_size", store_pool_size, 1, 256),
    STR("mail", "relay", mail_relay),
    STR("mail", "tls", mail_tls),
    STR("mail", "user", mail_user),
    STR("mail", "password", mail_password),
    STR("mail", "from", mail_from),
    STR("keys", "master_key_file", master_key_file),
    STR("log", "level", log_level),
    INT("jobs", "lease_seconds", jobs_lease_seconds, 5, 3600),
    INT("send", "threads", send_threads, 0, 64),
    INT("send", "retry_seconds", send_retry_seconds, 1, 86400),
    INT("send", "batch", send_batch, 1, 200),
    INT("send", "timeout_seconds", send_timeout_seconds, 1, 600),
    INT("privacy", "sweep_seconds", privacy_sweep_seconds, 1, 86400),
};

void
pb_config_defaults(struct pb_config *config)
{
    memset(config, 0, sizeof(*config));
    snprintf(config->data_dir, sizeof(config->data_dir), "./data");
    snprintf(config->listen, sizeof(config->listen), "127.0.0.1:8443");
    config->tls = true;
    config->threads = 8;
    config->max_connections = 1024;
    config->shutdown_grace_seconds = 10;
    config->store_pool_size = 8;
    snprintf(config->mail_tls, sizeof(config->mail_tls), "required");
    snprintf(config->mail_from, sizeof(config->mail_from), "Postbode <no-reply@localhost>");
    snprintf(config->log_level, sizeof(config->log_level), "info");
    config->jobs_lease_seconds = 60;
    config->send_threads = 4;
    config->send_retry_seconds = 60;
    config->send_batch = 100;
    config->send_timeout_seconds = 30;
    config->privacy_sweep_seconds = 3600;
}

static const struct key_spec *
find_key(const char *section, const char *key)
{
    for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
        if (strcmp(keys[i].section, section) == 0 && strcmp(keys[i].key, key) == 0)
            return &keys[i];
    return NULL;
}

enum pb_err
pb_config_set(struct pb_config *config, const char *section, const char *key, const char *value,
              char why[PB_WHY_MAX])
{
    const struct key_spec *spec = find_key(section, key);
    if (spec == NULL) {
        snprintf(why, PB_WHY_MAX, "unknown configuration key [%s] %s", section, key);
        return PB_ERR_CONFIG_UNKNOWN_KEY;
    }
    char *field = (char *)config + spec->offset;
    switch (spec->type) {
    case KEY_STRING:
        if (strlen(value) >= spec->size) {
            snprintf(why, PB_WHY_MAX, "[%s] %s is longer than %zu characters", section, key,
                     spec->size - 1);
            return PB_ERR_CONFIG_VALUE;
        }
        for (const char *p = value; *p; p++) {
            if ((unsigned char)*p < 0x20 || *p == 0x7f) {
                snprintf(why, PB_WHY_MAX, "[%s] %s contains a control character", section, key);
                return PB_ERR_CONFIG_VALUE;
            }
        }
        memcpy(field, value, strlen(value) + 1);
        return PB_ERR_OK;
    case KEY_INT: {
        char *end;
        errno = 0;
        long n = strtol(value, &end, 10);
        if (errno != 0 || end == value || *end != '\0' || n < spec->min || n > spec->max) {
            snprintf(why, PB_WHY_MAX, "[%s] %s must be a whole number from %ld to %ld, not \"%s\"",
                     section, key, spec->min, spec->max, value);
            return PB_ERR_CONFIG_VALUE;
        }
        *(int *)(void *)field = (int)n;
        return PB_ERR_OK;
    }
    case KEY_BOOL:
        if (strcmp(value, "on") == 0 || strcmp(value, "true") == 0 || strcmp(value, "yes") == 0 ||
            strcmp(value, "1") == 0) {
            *(bool *)(void *)field = true;
        } else if (strcmp(value, "off") == 0 || strcmp(value, "false") == 0 ||
                   strcmp(value, "no") == 0 || strcmp(value, "0") == 0) {
            *(bool *)(void *)field = false;
        } else {
            snprintf(why, PB_WHY_MAX, "[%s] %s must be on or off, not \"%s\"", section, key, value);
            return PB_ERR_CONFIG_VALUE;
        }
        return PB_ERR_OK;
    }
    return PB_ERR_INTERNAL;
}

struct file_state {
    struct pb_config *config;
    enum pb_err err;
    char *why;
};

static int
on_ini_entry(void *user, const char *section, const char *name, const char *value)
{
    struct file_state *st = user;
    if (st->err != PB_ERR_OK)
        return 0;
    st->err = pb_config_set(st->config, section, name, value, st->why);
    return st->err == PB_ERR_OK;
}

static int
accept_any(void *user, const char *section, const char *name, const char *value)
{
    (void)user;
    (void)section;
    (void)name;
    (void)value;
    return 1;
}

enum pb_err
pb_config_load_file(struct pb_config *config, const char *path, char why[PB_WHY_MAX])
{
    FILE *f = fopen(path, "r");
    if (f == NULL) {
        snprintf(why, PB_WHY_MAX, "cannot read configuration file %s: %s", path, strerror(errno));
        return PB_ERR_CONFIG_UNREADABLE;
    }
    /*
     * inih goes on after a malformed line, so a key under a broken section
     * header would be reported as unknown. A first pass that accepts every
     * key finds syntax errors alone; the second applies the keys.
     */
    int line = ini_parse_file(f, accept_any, NULL);
    if (line != 0) {
        fclose(f);
        snprintf(why, PB_WHY_MAX, "%s:%d: syntax error (expected [section] or key = value)", path,
                 line);
        return PB_ERR_CONFIG_SYNTAX;
    }
    rewind(f);
    struct file_state st = {config, PB_ERR_OK, why};
    line = ini_parse_file(f, on_ini_entry, &st);
    fclose(f);
    if (st.err != PB_ERR_OK) {
        /* Prefix the key's message with the file and line it came from. */
        char inner[PB_WHY_MAX];
        snprintf(inner, sizeof(inner), "%s", why);
        snprintf(why, PB_WHY_MAX, "%s:%d: %s", path, line, inner);
        return st.err;
    }
    if (line != 0) {
        snprintf(why, PB_WHY_MAX, "%s:%d: syntax error (expected [section] or key = value)", path,
                 line);
        return PB_ERR_CONFIG_SYNTAX;
    }
    return PB_ERR_OK;
}

enum pb_err
pb_config_load_env(struct pb_config *config, char why[PB_WHY_MAX])
{
    for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
        char name[128];
        int n = snprintf(name, sizeof(name), "POSTBODE_%s_%s", keys[i].section, keys[i].key);
        for (int j = 0; j < n; j++)
            name[j] = (char)toupper((unsigned char)name[j]);
        const char *value = getenv(name);
        if (value == NULL)
            continue;
        enum pb_err err = pb_config_set(config, keys[i].section, keys[i].key, value, why);
        if (err != PB_ERR_OK) {
            char inner[PB_WHY_MAX];
            snprintf(inner, sizeof(inner), "%s", why);
            snprintf(why, PB_WHY_MAX, "environment variable %s: %s", name, inner);
            return err;
        }
    }
    return PB_ERR_OK;
}

static enum pb_err
derive(char *field, size_t size, const char *prefix, const char *data_dir, const char *suffix,
       char why[PB_WHY_MAX])
{
    if (field[0] != '\0')
        return PB_ERR_OK;
    int n = snprintf(field, size, "%s%s%s", prefix, data_dir, suffix);
    if (n < 0 || (size_t)n >= size) {
        snprintf(why, PB_WHY_MAX, "data dir path is too long: %s", data_dir);
        return PB_ERR_CONFIG_VALUE;
    }
    return PB_ERR_OK;
}

/* Checks "HOST:PORT" (or "[v6]:PORT") with a port from 0 to 65535. */
static int
valid_listen(const char *listen)
{
    const char *colon = strrchr(listen, ':');
    if (colon == NULL || colon == listen || colon[1] == '\0')
        return 0;
    char *end;
    errno = 0;
    long port = strtol(colon + 1, &end, 10);
    return errno == 0 && *end == '\0' && port >= 0 && port <= 65535;
}

enum pb_err
pb_config_finish(struct pb_config *config, char why[PB_WHY_MAX])
{
    enum pb_err err;
    const char *dir = config->data_dir;
    if (dir[0] == '\0') {
        snprintf(why, PB_WHY_MAX, "[server] data_dir must not be empty");
        return PB_ERR_CONFIG_VALUE;
    }
    if ((err = derive(config->tls_cert, sizeof(config->tls_cert), "", dir, "/tls/cert.pem", why)) ||
        (err = derive(config->tls_key, sizeof(config->tls_key), "", dir, "/tls/key.pem", why)) ||
        (err = derive(config->store_url, sizeof(config->store_url), "sqlite:", dir, "/postbode.db",
                      why)) ||
        (err = derive(config->master_key_file, sizeof(config->master_key_file), "", dir,
                      "/master.key", why)))
        return err;
    if (!valid_listen(config->listen)) {
        snprintf(why, PB_WHY_MAX, "[server] listen must be HOST:PORT, not \"%s\"", config->listen);
        return PB_ERR_CONFIG_VALUE;
    }
    if (config->public_url[0] == '\0') {
        const char *colon = strrchr(config->listen, ':');
        const char *host = "localhost";
        if (strncmp(config->listen, "127.0.0.1:", 10) != 0 &&
            strncmp(config->listen, "localhost:", 10) != 0)
            host = NULL;
        if (host != NULL)
            snprintf(config->public_url, sizeof(config->public_url), "%s://%s%s",
                     config->tls ? "https" : "http", host, colon);
        else
            snprintf(config->public_url, sizeof(config->public_url), "%s://%s",
                     config->tls ? "https" : "http", config->listen);
    }
    if (strcmp(config->mail_tls, "required") != 0 && strcmp(config->mail_tls, "none") != 0) {
        snprintf(why, PB_WHY_MAX, "[mail] tls must be required or none, not \"%s\"",
                 config->mail_tls);
        return PB_ERR_CONFIG_VALUE;
    }
    enum pb_log_level level;
    if (pb_log_parse_level(config->log_level, &level) != 0) {
        snprintf(why, PB_WHY_MAX, "[log] level must be debug, info, warn or error, not \"%s\"",
                 config->log_level);
        return PB_ERR_CONFIG_VALUE;
    }
    return PB_ERR_OK;
}

enum pb_err
pb_config_load(struct pb_config *config, const char *config_file, const char *const *flags,
               char why[PB_WHY_MAX])
{
    enum pb_err err;
    pb_config_defaults(config);

    /* The data dir decides where the default config file is, so settle it first. */
    const char *dir_env = getenv("POSTBODE_SERVER_DATA_DIR");
    const char *dir_flag = NULL;
    for (const char *const *f = flags; f != NULL && f[0] != NULL; f += 2)
        if (strcmp(f[0], "server.data_dir") == 0)
            dir_flag = f[1];
    const char *dir = dir_flag ? dir_flag : dir_env;
    if (dir != NULL && (err = pb_config_set(config, "server", "data_dir", dir, why)) != PB_ERR_OK)
        return err;

    if (config_file != NULL) {
        if ((err = pb_config_load_file(config, config_file, why)) != PB_ERR_OK)
            return err;
    } else {
        char path[PATH_MAX + 16];
        snprintf(path, sizeof(path), "%s/postbode.conf", config->data_dir);
        if (access(path, F_OK) == 0 && (err = pb_config_load_file(config, path, why)) != PB_ERR_OK)
            return err;
    }
    if ((err = pb_config_load_env(config, why)) != PB_ERR_OK)
        return err;
    for (const char *const *f = flags; f != NULL && f[0] != NULL; f += 2) {
        char section[32];
        const char *dot = strchr(f[0], '.');
        if (dot == NULL || (size_t)(dot - f[0]) >= sizeof(section))
            return PB_ERR_INTERNAL;
        memcpy(section, f[0], (size_t)(dot - f[0]));
        section[dot - f[0]] = '\0';
        if ((err = pb_config_set(config, section, dot + 1, f[1], why)) != PB_ERR_OK)
            return err;
    }
    return pb_config_finish(config, why);
}
