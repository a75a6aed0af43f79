/*
 * postbode serve: the HTTPS server. Initialises an empty data dir first,
 * then serves until SIGINT or SIGTERM, letting requests in flight finish.
 */
#include "cli/cli.h"

#include <pthread.h>
#include <signal.h>
#include <stdio.h>

#include "core/file.h"
#include "core/log.h"
#include "crypto/keys.h"
#include "http/server.h"
#include "store/placement.h"

int
pb_cmd_serve(int argc, char **argv)
{
    struct pb_cli_common common;
    struct pb_config config;
    const char *listen = NULL;
    bool no_workers = false;
    const struct pb_cli_opt opts[] = {
        {"--listen", "HOST:PORT", &listen, NULL},
        {"--no-workers", NULL, NULL, &no_workers},
        {0},
    };
    int rc = pb_cli_parse("serve",
                          "postbode serve [--config FILE] [--data-dir DIR] [--listen HOST:PORT] "
                          "[--no-workers]",
                          argc, argv, &common, opts, NULL, 0, 0);
    if (rc != PB_EXIT_OK)
        return rc < 0 ? PB_EXIT_OK : rc;
    const char *flags[] = {"server.listen", listen, NULL};
    if ((rc = pb_cli_load_config("serve", &common, listen ? flags : NULL, &config)) != PB_EXIT_OK)
        return rc;

    if (pb_file_dir_empty(config.data_dir) &&
        (rc = pb_cli_init_data_dir("serve", &config, false)) != PB_EXIT_OK)
        return rc;

    char why[PB_WHY_MAX] = "";
    struct pb_keys *keys = NULL;
    struct pb_store *control = NULL;
    struct pb_placement *placement = NULL;
    struct pb_server *server = NULL;
    rc = PB_EXIT_FAIL;

    if (pb_keys_load(config.master_key_file, &keys, why) != PB_ERR_OK) {
        pb_cli_error("serve", "%s", why);
        goto out;
    }
    if (pb_cli_open_control("serve", &config, &control) != PB_EXIT_OK)
        goto out;
    if (pb_placement_new(control, config.store_pool_size, &placement) != PB_ERR_OK) {
        pb_cli_error("serve", "out of memory");
        goto out;
    }

    /*
     * Block the stop signals before the server starts its threads, so they
     * inherit the mask and only sigwait() below sees them.
     */
    sigset_t stop;
    sigemptyset(&stop);
    sigaddset(&stop, SIGINT);
    sigaddset(&stop, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &stop, NULL);
    signal(SIGPIPE, SIG_IGN);

    struct pb_app app = {&config, control, placement};
    if (pb_server_start(&app, &server, why) != PB_ERR_OK) {
        pb_cli_error("serve", "%s", why);
        goto out;
    }
    pb_info("serving %s on port %d (store %s%s)", config.public_url, pb_server_port(server),
            pb_store_get_ops(control)->name, no_workers ? ", no workers" : "");
    printf("Postbode is serving %s (listening on port %d). Stop with Ctrl-C.\n", config.public_url,
           pb_server_port(server));
    fflush(stdout);

    int sig = 0;
    sigwait(&stop, &sig);
    pb_info("received %s: stopping after requests in flight (at most %d s)",
            sig == SIGINT ? "SIGINT" : "SIGTERM", config.shutdown_grace_seconds);
    pb_server_stop(server, config.shutdown_grace_seconds);
    server = NULL;
    pb_info("stopped");
    rc = PB_EXIT_OK;
out:
    pb_placement_free(placement);
    pb_store_close(control);
    pb_keys_free(keys);
    return rc;
}
