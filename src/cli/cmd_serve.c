/*
 * postbode serve: the HTTPS server and, unless --no-workers, the workers
 * (the system mailer for now). Initialises an empty data dir first, then
 * serves until SIGINT or SIGTERM, letting requests in flight finish.
 */
#include "cli/cli.h"

#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <unistd.h>

#include "core/file.h"
#include "core/log.h"
#include "crypto/totp.h"
#include "http/server.h"
#include "jobs/kinds.h"
#include <sodium.h>

#include "jobs/mailer.h"
#include "jobs/sender.h"

enum { MAILER_INTERVAL_SECONDS = 5, JOB_THREADS = 2 };

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
    if (pb_totp_init() != PB_ERR_OK) {
        pb_cli_error("serve", "%s", pb_err_hint(PB_ERR_CRYPTO_INIT));
        return PB_EXIT_FAIL;
    }

    char why[PB_WHY_MAX] = "";
    struct pb_cli_app cli;
    struct pb_server *server = NULL;
    struct pb_mailer *mailer = NULL;
    struct pb_runner *runner = NULL;
    struct pb_sender *sender = NULL;
    if ((rc = pb_cli_open_app("serve", &config, &cli)) != PB_EXIT_OK)
        return rc;
    rc = PB_EXIT_FAIL;

    /*
     * Block the stop signals before any thread starts, so the threads inherit
     * the mask and only sigwait() below sees them.
     */
    sigset_t stop;
    sigemptyset(&stop);
    sigaddset(&stop, SIGINT);
    sigaddset(&stop, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &stop, NULL);
    signal(SIGPIPE, SIG_IGN);

    if (pb_server_start(&cli.app, &server, why) != PB_ERR_OK) {
        pb_cli_error("serve", "%s", why);
        goto out;
    }
    if (!no_workers && pb_mailer_start(&cli.app, MAILER_INTERVAL_SECONDS, &mailer) != PB_ERR_OK) {
        pb_cli_error("serve", "cannot start the mailer worker");
        goto out;
    }
    /*
     * Each node names itself, so that the leases of its jobs and recipients
     * say whose they are; the random part tells nodes on two hosts apart.
     */
    char node[64];
    snprintf(node, sizeof(node), "node-%d-%04x", (int)getpid(),
             (unsigned)randombytes_uniform(0x10000));
    if (!no_workers && (pb_job_kinds_register() != PB_ERR_OK ||
                        pb_runner_start(&cli.app, node, JOB_THREADS, &runner) != PB_ERR_OK)) {
        pb_cli_error("serve", "cannot start the job runner");
        goto out;
    }
    if (!no_workers && pb_sender_start(&cli.app, node, config.send_threads, &sender) != PB_ERR_OK) {
        pb_cli_error("serve", "cannot start the sender threads");
        goto out;
    }
    pb_info("serving %s on port %d (store %s%s)", config.public_url, pb_server_port(server),
            pb_store_get_ops(cli.control)->name, no_workers ? ", no workers" : "");
    printf("Postbode is serving %s (listening on port %d). Stop with Ctrl-C.\n", config.public_url,
           pb_server_port(server));
    fflush(stdout);

    int sig = 0;
    sigwait(&stop, &sig);
    pb_info("received %s: stopping after requests in flight (at most %d s)",
            sig == SIGINT ? "SIGINT" : "SIGTERM", config.shutdown_grace_seconds);
    rc = PB_EXIT_OK;
out:
    if (server != NULL)
        pb_server_stop(server, config.shutdown_grace_seconds);
    pb_sender_stop(sender);
    pb_runner_stop(runner);
    pb_mailer_stop(mailer);
    pb_cli_close_app(&cli);
    if (rc == PB_EXIT_OK)
        pb_info("stopped");
    return rc;
}
