/*
 * The operator's command line: option parsing shared by every command,
 * configuration and store set-up, and the commands themselves (one file
 * each). Commands print human text, or JSON with --json; errors go to
 * stderr as one line, with exit status 1 (2 for a usage error).
 */
#ifndef PB_CLI_CLI_H
#define PB_CLI_CLI_H

#include <stdbool.h>

#include "core/config.h"
#include "model/app.h"
#include "store/store.h"

enum { PB_EXIT_OK = 0, PB_EXIT_FAIL = 1, PB_EXIT_USAGE = 2 };

/* The options every command accepts. */
struct pb_cli_common {
    const char *config_file;
    const char *data_dir;
    bool json;
};

/* One command-specific option: a value (`metavar` set) or a switch. */
struct pb_cli_opt {
    const char *name;    /* "--plan" */
    const char *metavar; /* "NAME"; NULL for a switch */
    const char **value;  /* where a value goes */
    bool *flag;          /* where a switch goes */
};

/*
 * Parses argv (argv[0] is the command word) into `common`, the command's
 * options (`opts`, terminated by a {0} entry, may be NULL) and up to
 * `max_pos` positional arguments. Returns -1 when --help was printed,
 * PB_EXIT_USAGE after printing an error, else PB_EXIT_OK.
 */
int
pb_cli_parse(const char *command, const char *usage, int argc, char **argv,
             struct pb_cli_common *common, const struct pb_cli_opt *opts, const char **pos,
             int min_pos, int max_pos);

/* Prints "postbode <command>: <message>" on stderr. */
void
pb_cli_error(const char *command, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/*
 * Loads the configuration for a command (defaults < file < environment <
 * flags); `flags` holds extra "section.key", value pairs, NULL-terminated.
 */
int
pb_cli_load_config(const char *command, const struct pb_cli_common *common,
                   const char *const *flags, struct pb_config *config);

/*
 * Creates what the data dir lacks: the directory (0700), the master key
 * (0600), the self-signed certificate when TLS is on and none is
 * configured, the database with every migration, and the region "local".
 * Never overwrites anything. Prints what it created unless `quiet`.
 */
int
pb_cli_init_data_dir(const char *command, const struct pb_config *config, bool quiet);

/*
 * Opens the control store of an initialised data dir and brings its schema
 * up to date. A missing SQLite database is an error (run init), not a new file.
 */
int
pb_cli_open_control(const char *command, const struct pb_config *config, struct pb_store **out);

/* Everything a command that acts on accounts needs: keys, stores, the app. */
struct pb_cli_app {
    struct pb_keys *keys;
    struct pb_store *control;
    struct pb_placement *placement;
    struct pb_app app;
};

/* Loads the master key and opens the stores (see pb_cli_open_control); prints errors. */
int
pb_cli_open_app(const char *command, const struct pb_config *config, struct pb_cli_app *out);

void
pb_cli_close_app(struct pb_cli_app *cli_app);

int
pb_cmd_init(int argc, char **argv);
int
pb_cmd_serve(int argc, char **argv);
int
pb_cmd_migrate(int argc, char **argv);
int
pb_cmd_account(int argc, char **argv);
int
pb_cmd_region(int argc, char **argv);
int
pb_cmd_user(int argc, char **argv);
int
pb_cmd_consent(int argc, char **argv);
int
pb_cmd_verify_log(int argc, char **argv);
int
pb_cmd_import(int argc, char **argv);
int
pb_cmd_export(int argc, char **argv);
int
pb_cmd_forget(int argc, char **argv);

#endif
