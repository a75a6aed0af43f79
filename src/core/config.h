/*
 * Configuration: built-in defaults < INI file < POSTBODE_<SECTION>_<KEY>
 * environment variables < command-line flags. Every key has a type and
 * limits; unknown keys and bad values are refused with a message naming them.
 */
#ifndef PB_CORE_CONFIG_H
#define PB_CORE_CONFIG_H

#include <limits.h>
#include <stdbool.h>

#include "core/err.h"

struct pb_config {
    /* [server] */
    char data_dir[PATH_MAX];
    char listen[256];
    char public_url[512];
    char tls_cert[PATH_MAX];
    char tls_key[PATH_MAX];
    bool tls;
    int threads;
    int max_connections;
    int shutdown_grace_seconds;
    /* [store] */
    char store_url[2048];
    int store_pool_size;
    /* [mail] */
    char mail_relay[512];
    char mail_tls[16];
    char mail_user[256];
    char mail_password[256];
    char mail_from[512];
    /* [keys] */
    char master_key_file[PATH_MAX];
    /* [log] */
    char log_level[16];
    /* [jobs] */
    int jobs_lease_seconds; /* a job whose lease is this old is taken over by another runner */
    /* [send] */
    int send_threads;         /* sender threads of a serve node (0: this node sends nothing) */
    int send_retry_seconds;   /* the first retry of a temporarily failing recipient; doubles */
    int send_batch;           /* recipients a sender thread claims at once */
    int send_timeout_seconds; /* the longest wait for a relay's answer (data: twice that) */
    /* [privacy] */
    int privacy_sweep_seconds; /* how often an account's storage limits are applied */
};

/* Fills in the built-in defaults (data dir ./data, listen 127.0.0.1:8443, ...). */
void
pb_config_defaults(struct pb_config *config);

/* Sets one key, as from a file, the environment or a flag. */
enum pb_err
pb_config_set(struct pb_config *config, const char *section, const char *key, const char *value,
              char why[PB_WHY_MAX]);

/* Reads an INI file; a missing file is an error (the caller decides whether it is optional). */
enum pb_err
pb_config_load_file(struct pb_config *config, const char *path, char why[PB_WHY_MAX]);

/* Applies every POSTBODE_<SECTION>_<KEY> variable of the environment. */
enum pb_err
pb_config_load_env(struct pb_config *config, char why[PB_WHY_MAX]);

/*
 * Derives what was left empty from the data dir (TLS files, store URL,
 * master key file, public URL) and checks that the whole is consistent.
 */
enum pb_err
pb_config_finish(struct pb_config *config, char why[PB_WHY_MAX]);

/*
 * The usual sequence for a command: defaults, the data dir from the flag or
 * the environment, the file (`config_file`, or DATA_DIR/postbode.conf when
 * present), the environment, then the command's own flags (`flags`, pairs of
 * "section.key", value, NULL-terminated), then finish.
 */
enum pb_err
pb_config_load(struct pb_config *config, const char *config_file, const char *const *flags,
               char why[PB_WHY_MAX]);

#endif
