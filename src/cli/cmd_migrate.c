/* postbode migrate: bring the control store's schema up to date. */
#include "cli/cli.h"

#include <stdio.h>

int
pb_cmd_migrate(int argc, char **argv)
{
    struct pb_cli_common common;
    struct pb_config config;
    int rc = pb_cli_parse("migrate", "postbode migrate [--config FILE]", argc, argv, &common, NULL,
                          NULL, 0, 0);
    if (rc != PB_EXIT_OK)
        return rc < 0 ? PB_EXIT_OK : rc;
    if ((rc = pb_cli_load_config("migrate", &common, NULL, &config)) != PB_EXIT_OK)
        return rc;

    char why[PB_WHY_MAX] = "";
    struct pb_store *store = NULL;
    if (pb_store_open(config.store_url, 1, &store, why) != PB_ERR_OK) {
        pb_cli_error("migrate", "%s", why);
        return PB_EXIT_FAIL;
    }
    int from = 0, to = 0;
    enum pb_err err = pb_store_migrate(store, &from, &to, why);
    pb_store_close(store);
    if (err != PB_ERR_OK) {
        pb_cli_error("migrate", "%s", why);
        return PB_EXIT_FAIL;
    }
    if (common.json)
        printf("{\"from\":%d,\"to\":%d}\n", from, to);
    else if (from == to)
        printf("schema is up to date (version %d)\n", to);
    else
        printf("migrated the schema from version %d to %d\n", from, to);
    return PB_EXIT_OK;
}
