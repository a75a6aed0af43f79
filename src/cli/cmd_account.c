/* postbode account create: a new customer account, placed in a region. */
#include "cli/cli.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "model/account.h"

static int
account_create(int argc, char **argv)
{
    struct pb_cli_common common;
    struct pb_config config;
    const char *plan = NULL, *region = NULL, *name = NULL;
    const struct pb_cli_opt opts[] = {
        {"--plan", "standard|enterprise", &plan, NULL},
        {"--region", "NAME", &region, NULL},
        {0},
    };
    int rc =
        pb_cli_parse("account create",
                     "postbode account create NAME [--plan standard|enterprise] [--region NAME]",
                     argc, argv, &common, opts, &name, 1, 1);
    if (rc != PB_EXIT_OK)
        return rc < 0 ? PB_EXIT_OK : rc;
    if ((rc = pb_cli_load_config("account create", &common, NULL, &config)) != PB_EXIT_OK)
        return rc;
    struct pb_cli_app cli;
    if ((rc = pb_cli_open_app("account create", &config, &cli)) != PB_EXIT_OK)
        return rc;

    char why[PB_WHY_MAX] = "";
    struct pb_account account;
    enum pb_err err = pb_account_create(&cli.app, name, plan, region, &account, why);
    pb_cli_close_app(&cli);
    if (err != PB_ERR_OK) {
        pb_cli_error("account create", "%s", why);
        return PB_EXIT_FAIL;
    }
    if (common.json) {
        json_t *out = json_pack("{s:s, s:s, s:s, s:s}", "id", account.id, "name", account.name,
                                "plan", account.plan, "region", region ? region : "local");
        char *text = out ? json_dumps(out, JSON_COMPACT) : NULL;
        if (text == NULL) {
            json_decref(out);
            pb_cli_error("account create", "out of memory");
            return PB_EXIT_FAIL;
        }
        printf("%s\n", text);
        free(text);
        json_decref(out);
    } else {
        printf("%s\n", account.id);
    }
    return PB_EXIT_OK;
}

int
pb_cmd_account(int argc, char **argv)
{
    if (argc >= 2 && strcmp(argv[1], "create") == 0)
        return account_create(argc - 1, argv + 1);
    if (argc >= 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
        printf("usage: postbode account create NAME [--plan standard|enterprise] [--region "
               "NAME]\n");
        return PB_EXIT_OK;
    }
    pb_cli_error("account", "unknown or missing subcommand%s%s (try: postbode account create)",
                 argc >= 2 ? " " : "", argc >= 2 ? argv[1] : "");
    return PB_EXIT_USAGE;
}
