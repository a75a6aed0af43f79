/*
 * postbode export --account ID --list ID [--format csv|json]: the members
 * of a list on stdout, streamed like the API's export (model/export.h), with
 * addresses and sensitive values in clear (the operator holds the master
 * key) and an audit entry with actor "cli".
 */
#include "cli/cli.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include <sodium.h>

#include "model/account.h"
#include "model/export.h"

enum { CHUNK = 64 * 1024 };

int
pb_cmd_export(int argc, char **argv)
{
    static const char usage[] = "postbode export --account ID --list ID [--format csv|json]";
    static char buf[CHUNK];
    struct pb_cli_common common;
    struct pb_config config;
    const char *account = NULL, *list = NULL, *format_name = NULL;
    const struct pb_cli_opt opts[] = {{"--account", "ID", &account, NULL},
                                      {"--list", "ID", &list, NULL},
                                      {"--format", "csv|json", &format_name, NULL},
                                      {0}};
    int rc = pb_cli_parse("export", usage, argc, argv, &common, opts, NULL, 0, 0);
    if (rc != PB_EXIT_OK)
        return rc < 0 ? PB_EXIT_OK : rc;
    if (account == NULL || list == NULL) {
        pb_cli_error("export", "--account and --list are required (usage: %s)", usage);
        return PB_EXIT_USAGE;
    }
    enum pb_export_format format = PB_EXPORT_CSV;
    if (format_name != NULL && pb_export_format_parse(format_name, &format) != PB_ERR_OK) {
        pb_cli_error("export", "--format is csv or json, not \"%s\"", format_name);
        return PB_EXIT_USAGE;
    }
    if ((rc = pb_cli_load_config("export", &common, NULL, &config)) != PB_EXIT_OK)
        return rc;
    struct pb_cli_app cli;
    if ((rc = pb_cli_open_app("export", &config, &cli)) != PB_EXIT_OK)
        return rc;

    struct pb_account acc;
    struct pb_export *x = NULL;
    enum pb_err err = pb_account_get(&cli.app, account, &acc);
    if (err == PB_ERR_NOT_FOUND) {
        pb_cli_error("export", "no account with that id");
        goto fail;
    }
    struct pb_export_params params = {
        .account_id = account,
        .list_id = list,
        .format = format,
        .reveal = true,
        .actor = "cli",
    };
    if (err == PB_ERR_OK)
        err = pb_export_open(&cli.app, &params, &x);
    if (err == PB_ERR_NOT_FOUND) {
        pb_cli_error("export", "no list with that id in this account");
        goto fail;
    }
    if (err != PB_ERR_OK) {
        pb_cli_error("export", "%s", pb_err_hint(err));
        goto fail;
    }

    /* A closed pipe (| head) must end the export audited, not kill the process. */
    signal(SIGPIPE, SIG_IGN);
    int write_errno = 0;
    for (;;) {
        size_t got = 0;
        if ((err = pb_export_read(x, buf, sizeof(buf), &got)) != PB_ERR_OK || got == 0)
            break;
        /* Flushed as it goes, so a failed write ends the export as incomplete. */
        if (fwrite(buf, 1, got, stdout) != got || fflush(stdout) != 0) {
            write_errno = errno;
            break;
        }
    }
    sodium_memzero(buf, sizeof(buf)); /* it held addresses and values */
    int64_t rows = 0;
    bool complete = false;
    enum pb_err audit = pb_export_close(x, &rows, &complete);
    pb_cli_close_app(&cli);
    if (write_errno != 0) {
        pb_cli_error("export", "cannot write the export to stdout: %s (%lld rows written)",
                     strerror(write_errno), (long long)rows);
        return PB_EXIT_FAIL;
    }
    if (err != PB_ERR_OK) {
        pb_cli_error("export", "the export stopped after %lld rows: %s", (long long)rows,
                     pb_err_hint(err));
        return PB_EXIT_FAIL;
    }
    if (audit != PB_ERR_OK) {
        pb_cli_error("export", "the export was written but its audit entry was not: %s",
                     pb_err_hint(audit));
        return PB_EXIT_FAIL;
    }
    return PB_EXIT_OK;
fail:
    pb_cli_close_app(&cli);
    return PB_EXIT_FAIL;
}
