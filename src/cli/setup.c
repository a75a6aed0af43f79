/* What commands share: loading the configuration, initialising and opening the store. */
#include "cli/cli.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/file.h"
#include "core/log.h"
#include "core/strutil.h"
#include "crypto/cert.h"
#include "crypto/keys.h"
#include "store/placement.h"

int
pb_cli_load_config(const char *command, const struct pb_cli_common *common,
                   const char *const *flags, struct pb_config *config)
{
    const char *all[32];
    size_t n = 0;
    if (common->data_dir != NULL) {
        all[n++] = "server.data_dir";
        all[n++] = common->data_dir;
    }
    for (const char *const *f = flags; f != NULL && *f != NULL && n + 3 < 32; f++)
        all[n++] = *f;
    all[n] = NULL;

    char why[PB_WHY_MAX] = "";
    if (pb_config_load(config, common->config_file, all, why) != PB_ERR_OK) {
        pb_cli_error(command, "%s", why);
        return PB_EXIT_FAIL;
    }
    enum pb_log_level level;
    if (pb_log_parse_level(config->log_level, &level) == 0)
        pb_log_set_level(level);
    return PB_EXIT_OK;
}

/* The SQLite file behind a "sqlite:PATH" URL, or NULL for other stores. */
static const char *
sqlite_path(const char *url)
{
    return pb_str_starts_with(url, "sqlite:") ? url + strlen("sqlite:") : NULL;
}

static int
open_and_migrate(const char *command, const struct pb_config *config, struct pb_store **out,
                 int *from, int *to)
{
    char why[PB_WHY_MAX] = "";
    struct pb_store *store = NULL;
    if (pb_store_open(config->store_url, config->store_pool_size, &store, why) != PB_ERR_OK) {
        pb_cli_error(command, "%s", why);
        return PB_EXIT_FAIL;
    }
    if (pb_store_migrate(store, from, to, why) != PB_ERR_OK) {
        pb_cli_error(command, "%s", why);
        pb_store_close(store);
        return PB_EXIT_FAIL;
    }
    enum pb_err err = pb_placement_ensure_local(store);
    if (err != PB_ERR_OK) {
        pb_cli_error(command, "cannot record the region \"local\": %s", pb_err_hint(err));
        pb_store_close(store);
        return PB_EXIT_FAIL;
    }
    *out = store;
    return PB_EXIT_OK;
}

int
pb_cli_init_data_dir(const char *command, const struct pb_config *config, bool quiet)
{
    char why[PB_WHY_MAX] = "";
    const char *dir = config->data_dir;

    /* Check that the directory can be written before creating anything in it. */
    if (pb_file_exists(dir) && access(dir, W_OK | X_OK) != 0) {
        pb_cli_error(command, "data directory %s is not writable: %s", dir, strerror(errno));
        return PB_EXIT_FAIL;
    }
    if (pb_file_mkdirs(dir, 0700, why) != PB_ERR_OK) {
        pb_cli_error(command, "%s", why);
        return PB_EXIT_FAIL;
    }

    bool key_created = false;
    if (getenv("POSTBODE_MASTER_KEY") == NULL &&
        pb_keys_create_master(config->master_key_file, &key_created, why) != PB_ERR_OK) {
        pb_cli_error(command, "%s", why);
        return PB_EXIT_FAIL;
    }

    bool cert_created = false;
    if (config->tls) {
        bool have_cert = pb_file_exists(config->tls_cert);
        bool have_key = pb_file_exists(config->tls_key);
        if (have_cert != have_key) {
            pb_cli_error(command, "found %s but not %s; give both or neither",
                         have_cert ? config->tls_cert : config->tls_key,
                         have_cert ? config->tls_key : config->tls_cert);
            return PB_EXIT_FAIL;
        }
        if (!have_cert) {
            if (pb_cert_create_self_signed(config->tls_cert, config->tls_key, why) != PB_ERR_OK) {
                pb_cli_error(command, "%s", why);
                return PB_EXIT_FAIL;
            }
            cert_created = true;
        }
    }

    const char *db = sqlite_path(config->store_url);
    bool db_created = db != NULL && !pb_file_exists(db);
    struct pb_store *store = NULL;
    int from = 0, to = 0;
    int rc = open_and_migrate(command, config, &store, &from, &to);
    if (rc != PB_EXIT_OK)
        return rc;
    pb_store_close(store);

    if (!quiet) {
        printf("data directory: %s\n", dir);
        printf("master key:     %s (%s)\n",
               getenv("POSTBODE_MASTER_KEY") ? "from POSTBODE_MASTER_KEY" : config->master_key_file,
               key_created ? "created" : "kept");
        if (config->tls)
            printf("certificate:    %s (%s)\n", config->tls_cert,
                   cert_created ? "created, self-signed" : "kept");
        printf("database:       %s (%s, schema version %d)\n", db ? db : "PostgreSQL",
               db_created ? "created" : "kept", to);
    }
    return PB_EXIT_OK;
}

int
pb_cli_open_control(const char *command, const struct pb_config *config, struct pb_store **out)
{
    const char *db = sqlite_path(config->store_url);
    if (db != NULL && !pb_file_exists(db)) {
        pb_cli_error(command, "no database at %s (run postbode init --data-dir %s first)", db,
                     config->data_dir);
        return PB_EXIT_FAIL;
    }
    int from = 0, to = 0;
    return open_and_migrate(command, config, out, &from, &to);
}

int
pb_cli_open_app(const char *command, const struct pb_config *config, struct pb_cli_app *out)
{
    char why[PB_WHY_MAX] = "";
    memset(out, 0, sizeof(*out));
    if (pb_keys_load(config->master_key_file, &out->keys, why) != PB_ERR_OK) {
        pb_cli_error(command, "%s", why);
        return PB_EXIT_FAIL;
    }
    int rc = pb_cli_open_control(command, config, &out->control);
    if (rc != PB_EXIT_OK) {
        pb_cli_close_app(out);
        return rc;
    }
    if (pb_placement_new(out->control, config->store_pool_size, &out->placement) != PB_ERR_OK ||
        pb_app_init(&out->app, config, out->control, out->placement, out->keys) != PB_ERR_OK) {
        pb_cli_error(command, "out of memory");
        pb_cli_close_app(out);
        return PB_EXIT_FAIL;
    }
    return PB_EXIT_OK;
}

void
pb_cli_close_app(struct pb_cli_app *cli_app)
{
    pb_app_release(&cli_app->app);
    pb_placement_free(cli_app->placement);
    pb_store_close(cli_app->control);
    pb_keys_free(cli_app->keys);
    memset(cli_app, 0, sizeof(*cli_app));
}
