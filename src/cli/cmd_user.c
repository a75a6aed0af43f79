/*
 * postbode user create: the first owner of an account (or any user), with a
 * password read from standard input, or a one-time set-password link.
 */
#include "cli/cli.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <sodium.h>

#include "model/user.h"

/* Reads one line (the password) from standard input, without its newline. */
static int
read_password(char *out, size_t size)
{
    if (fgets(out, (int)size, stdin) == NULL)
        return -1;
    size_t len = strlen(out);
    if (len > 0 && out[len - 1] == '\n')
        out[--len] = '\0';
    else if (!feof(stdin))
        return -2; /* longer than the buffer */
    if (len > 0 && out[len - 1] == '\r')
        out[--len] = '\0';
    return 0;
}

static int
user_create(int argc, char **argv)
{
    static const char usage[] = "postbode user create --account ID --role owner|admin|author "
                                "EMAIL [--password-stdin]";
    struct pb_cli_common common;
    struct pb_config config;
    const char *account = NULL, *role = NULL, *email = NULL;
    bool password_stdin = false;
    const struct pb_cli_opt opts[] = {
        {"--account", "ID", &account, NULL},
        {"--role", "owner|admin|author", &role, NULL},
        {"--password-stdin", NULL, NULL, &password_stdin},
        {0},
    };
    int rc = pb_cli_parse("user create", usage, argc, argv, &common, opts, &email, 1, 1);
    if (rc != PB_EXIT_OK)
        return rc < 0 ? PB_EXIT_OK : rc;
    if (account == NULL || role == NULL) {
        pb_cli_error("user create", "--account and --role are required (usage: %s)", usage);
        return PB_EXIT_USAGE;
    }
    char password[1024];
    if (password_stdin) {
        int r = read_password(password, sizeof(password));
        if (r != 0) {
            pb_cli_error("user create", "%s",
                         r == -1 ? "no password on standard input"
                                 : "the password on standard input is too long");
            return PB_EXIT_FAIL;
        }
    }
    if ((rc = pb_cli_load_config("user create", &common, NULL, &config)) != PB_EXIT_OK)
        goto out;
    struct pb_cli_app cli;
    if ((rc = pb_cli_open_app("user create", &config, &cli)) != PB_EXIT_OK)
        goto out;

    char why[PB_WHY_MAX] = "", link[1024] = "";
    struct pb_user user;
    struct pb_user_new req = {account, email, role, password_stdin ? password : NULL, false};
    enum pb_err err = pb_user_create(&cli.app, &req, NULL, NULL, &user, link, why);
    pb_cli_close_app(&cli);
    if (err != PB_ERR_OK) {
        pb_cli_error("user create", "%s",
                     err == PB_ERR_NOT_FOUND ? "no account with that id" : why);
        rc = PB_EXIT_FAIL;
        goto out;
    }
    if (common.json) {
        json_t *o =
            json_pack("{s:s, s:s, s:s}", "id", user.id, "email", user.email, "role", user.role);
        if (link[0] != '\0')
            json_object_set_new(o, "set_password_link", json_string(link));
        char *text = json_dumps(o, JSON_COMPACT);
        printf("%s\n", text ? text : "{}");
        free(text);
        json_decref(o);
    } else if (link[0] != '\0') {
        printf("%s\nSet-password link (works once, for 7 days):\n%s\n", user.id, link);
    } else {
        printf("%s\n", user.id);
    }
    sodium_memzero(link, sizeof(link));
    rc = PB_EXIT_OK;
out:
    sodium_memzero(password, sizeof(password));
    return rc;
}

int
pb_cmd_user(int argc, char **argv)
{
    if (argc >= 2 && strcmp(argv[1], "create") == 0)
        return user_create(argc - 1, argv + 1);
    pb_cli_error("user", "unknown or missing subcommand%s%s (try: postbode user create)",
                 argc >= 2 ? " " : "", argc >= 2 ? argv[1] : "");
    return PB_EXIT_USAGE;
}
