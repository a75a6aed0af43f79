/*
 * The mailer worker: a thread of `postbode serve` that delivers the system
 * mail outbox (password resets, invitations) every few seconds, so requests
 * never wait for the relay and a dead relay only delays mail.
 */
#ifndef PB_JOBS_MAILER_H
#define PB_JOBS_MAILER_H

#include "model/app.h"

struct pb_mailer;

enum pb_err
pb_mailer_start(struct pb_app *app, int interval_seconds, struct pb_mailer **out);

/* Asks the thread to stop, waits for it, frees everything. */
void
pb_mailer_stop(struct pb_mailer *mailer);

#endif
