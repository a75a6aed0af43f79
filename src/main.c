/* postbode: command dispatch only. */
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include <sodium.h>

#include "cli/cli.h"

struct command {
    const char *name;
    int (*run)(int argc, char **argv);
    const char *summary;
};

static const struct command commands[] = {
    {"init", pb_cmd_init, "create the data directory: master key, TLS certificate, database"},
    {"serve", pb_cmd_serve, "run the HTTPS server (web UI, REST API, public pages)"},
    {"migrate", pb_cmd_migrate, "bring the database schema up to date"},
    {"account", pb_cmd_account, "account create NAME [--plan P] [--region R]"},
    {"region", pb_cmd_region, "region list | add NAME URL"},
    {"user", pb_cmd_user, "user create --account ID --role ROLE EMAIL [--password-stdin]"},
    {"consent", pb_cmd_consent, "consent search --account ID EMAIL: one person's history"},
    {"verify-log", pb_cmd_verify_log, "verify-log --account ID: check the consent log's chain"},
    {"import", pb_cmd_import, "import --account ID --list ID --basis B --source TEXT FILE.csv"},
    {"export", pb_cmd_export, "export --account ID --list ID [--format csv|json]: to stdout"},
    {"forget", pb_cmd_forget, "forget --account ID EMAIL: erase a person, print the receipt"},
};

static void
usage(FILE *out)
{
    fprintf(out, "usage: postbode COMMAND [OPTIONS]\n\ncommands:\n");
    for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
        fprintf(out, "  %-9s %s\n", commands[i].name, commands[i].summary);
    fprintf(out, "\nEvery command accepts --data-dir DIR, --config FILE, --json and --help.\n");
}

int
main(int argc, char **argv)
{
    if (argc < 2) {
        usage(stderr);
        return PB_EXIT_USAGE;
    }
    if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ||
        strcmp(argv[1], "help") == 0) {
        usage(stdout);
        return PB_EXIT_OK;
    }
    /* Everything Postbode creates (database, WAL, keys, evidence) is the operator's alone. */
    umask(077);
    if (sodium_init() < 0) {
        fprintf(stderr, "postbode: the cryptographic library (libsodium) failed to start\n");
        return PB_EXIT_FAIL;
    }
    for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
        if (strcmp(argv[1], commands[i].name) == 0)
            return commands[i].run(argc - 1, argv + 1);
    fprintf(stderr, "postbode: unknown command \"%s\" (see postbode --help)\n", argv[1]);
    return PB_EXIT_USAGE;
}
