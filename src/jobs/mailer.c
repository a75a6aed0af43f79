/* The mailer worker thread. */
#include "jobs/mailer.h"

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <time.h>

#include "core/log.h"
#include "model/outbox.h"

enum { BATCH = 50 };

struct pb_mailer {
    struct pb_app *app;
    int interval;
    pthread_t thread;
    pthread_mutex_t lock;
    pthread_cond_t wake;
    bool stopping;
};

static void *
run(void *arg)
{
    struct pb_mailer *m = arg;
    pthread_mutex_lock(&m->lock);
    while (!m->stopping) {
        pthread_mutex_unlock(&m->lock);
        int sent = 0, failed = 0;
        enum pb_err err = pb_outbox_deliver_due(m->app, BATCH, &sent, &failed);
        if (err != PB_ERR_OK)
            pb_warn("mailer: %s", pb_err_hint(err));
        else if (sent + failed > 0)
            pb_info("mailer: %d system mails sent, %d to retry later", sent, failed);
        pthread_mutex_lock(&m->lock);
        /* A full batch suggests more are due: go on at once. */
        if (sent + failed >= BATCH)
            continue;
        struct timespec until;
        clock_gettime(CLOCK_REALTIME, &until);
        until.tv_sec += m->interval;
        while (!m->stopping && pthread_cond_timedwait(&m->wake, &m->lock, &until) != ETIMEDOUT)
            ;
    }
    pthread_mutex_unlock(&m->lock);
    return NULL;
}

enum pb_err
pb_mailer_start(struct pb_app *app, int interval_seconds, struct pb_mailer **out)
{
    struct pb_mailer *m = calloc(1, sizeof(*m));
    if (m == NULL)
        return PB_ERR_NOMEM;
    m->app = app;
    m->interval = interval_seconds > 0 ? interval_seconds : 1;
    pthread_mutex_init(&m->lock, NULL);
    pthread_cond_init(&m->wake, NULL);
    if (pthread_create(&m->thread, NULL, run, m) != 0) {
        pthread_cond_destroy(&m->wake);
        pthread_mutex_destroy(&m->lock);
        free(m);
        return PB_ERR_NOMEM;
    }
    *out = m;
    return PB_ERR_OK;
}

void
pb_mailer_stop(struct pb_mailer *mailer)
{
    if (mailer == NULL)
        return;
    pthread_mutex_lock(&mailer->lock);
    mailer->stopping = true;
    pthread_cond_signal(&mailer->wake);
    pthread_mutex_unlock(&mailer->lock);
    pthread_join(mailer->thread, NULL);
    pthread_cond_destroy(&mailer->wake);
    pthread_mutex_destroy(&mailer->lock);
    free(mailer);
}
