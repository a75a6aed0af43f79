/* Option parsing for every command: --opt VALUE, --opt=VALUE, switches, "--". */
#include "cli/cli.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

void
pb_cli_error(const char *command, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "postbode %s: ", command);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
}

static const char common_usage[] = "common options:\n"
                                   "  --config FILE     configuration file (default "
                                   "DATA_DIR/postbode.conf when present)\n"
                                   "  --data-dir DIR    data directory (default ./data)\n"
                                   "  --json            machine-readable output\n"
                                   "  --help            this text\n";

/* Finds the option named by `arg` (up to '=' if any), or NULL. */
static const struct pb_cli_opt *
find_opt(const struct pb_cli_opt *opts, const char *arg, size_t name_len)
{
    for (const struct pb_cli_opt *o = opts; o != NULL && o->name != NULL; o++)
        if (strlen(o->name) == name_len && strncmp(o->name, arg, name_len) == 0)
            return o;
    return NULL;
}

int
pb_cli_parse(const char *command, const char *usage, int argc, char **argv,
             struct pb_cli_common *common, const struct pb_cli_opt *opts, const char **pos,
             int min_pos, int max_pos)
{
    const struct pb_cli_opt builtin[] = {
        {"--config", "FILE", &common->config_file, NULL},
        {"--data-dir", "DIR", &common->data_dir, NULL},
        {"--json", NULL, NULL, &common->json},
        {0},
    };
    int npos = 0;
    bool only_pos = false;
    memset(common, 0, sizeof(*common));

    for (int i = 1; i < argc; i++) {
        const char *arg = argv[i];
        if (!only_pos && strcmp(arg, "--") == 0) {
            only_pos = true;
            continue;
        }
        if (!only_pos && (strcmp(arg, "--help") == 0 || strcmp(arg, "-h") == 0)) {
            printf("usage: %s\n\n%s", usage, common_usage);
            return -1;
        }
        if (!only_pos && arg[0] == '-' && arg[1] != '\0') {
            const char *eq = strchr(arg, '=');
            size_t name_len = eq ? (size_t)(eq - arg) : strlen(arg);
            const struct pb_cli_opt *o = find_opt(builtin, arg, name_len);
            if (o == NULL)
                o = find_opt(opts, arg, name_len);
            if (o == NULL) {
                pb_cli_error(command, "unknown option %.*s (see postbode %s --help)", (int)name_len,
                             arg, command);
                return PB_EXIT_USAGE;
            }
            if (o->metavar == NULL) {
                if (eq != NULL) {
                    pb_cli_error(command, "option %s takes no value", o->name);
                    return PB_EXIT_USAGE;
                }
                *o->flag = true;
                continue;
            }
            const char *value = eq ? eq + 1 : (i + 1 < argc ? argv[++i] : NULL);
            if (value == NULL || value[0] == '\0') {
                pb_cli_error(command, "option %s needs a value: %s %s", o->name, o->name,
                             o->metavar);
                return PB_EXIT_USAGE;
            }
            *o->value = value;
            continue;
        }
        if (npos >= max_pos) {
            pb_cli_error(command, "unexpected argument \"%s\" (usage: %s)", arg, usage);
            return PB_EXIT_USAGE;
        }
        pos[npos++] = arg;
    }
    if (npos < min_pos) {
        pb_cli_error(command, "missing argument (usage: %s)", usage);
        return PB_EXIT_USAGE;
    }
    return PB_EXIT_OK;
}
