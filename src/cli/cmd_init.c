/* postbode init: create the data directory, keys, certificate and database. */
#include "cli/cli.h"

#include <stdio.h>

int
pb_cmd_init(int argc, char **argv)
{
    struct pb_cli_common common;
    struct pb_config config;
    int rc = pb_cli_parse("init", "postbode init [--data-dir DIR]", argc, argv, &common, NULL, NULL,
                          0, 0);
    if (rc != PB_EXIT_OK)
        return rc < 0 ? PB_EXIT_OK : rc;
    if ((rc = pb_cli_load_config("init", &common, NULL, &config)) != PB_EXIT_OK)
        return rc;
    if ((rc = pb_cli_init_data_dir("init", &config, common.json)) != PB_EXIT_OK)
        return rc;
    if (common.json)
        printf("{\"data_dir\":\"%s\",\"ok\":true}\n", config.data_dir);
    return PB_EXIT_OK;
}
